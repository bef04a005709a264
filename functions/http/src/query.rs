//! Typed query strings: a handler names the struct its route's parameters parse into
//! (`Params<ReportQuery>`), and paged listings take [`Paging`], so no handler reads a
//! string map by key. A query that does not parse is a problem answer like any other; a
//! parameter given twice counts once, with its last value.

use std::collections::HashMap;

use axum::extract::{FromRequestParts, Query};
use axum::http::request::Parts;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use upline_domain::error::AppError;
use upline_domain::store::PageQuery;

use crate::ApiError;

/// The route's query parameters as `T` (unknown parameters are ignored, as they always
/// were).
pub struct Params<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for Params<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        let malformed = |e: String| ApiError(AppError::Malformed(format!("the query string: {e}")));
        // Read as a map first, as the routes always have: a parameter given twice takes
        // its last value instead of failing the request.
        let Query(map) = Query::<HashMap<String, String>>::try_from_uri(&parts.uri)
            .map_err(|e| malformed(e.body_text()))?;
        let value = serde_json::Value::Object(
            map.into_iter()
                .map(|(k, v)| (k, serde_json::Value::String(v)))
                .collect(),
        );
        serde_json::from_value(value)
            .map(Params)
            .map_err(|e| malformed(e.to_string()))
    }
}

#[derive(Deserialize)]
struct PagingText {
    limit: Option<String>,
    cursor: Option<String>,
}

/// Which page of a listing the caller asks for: `limit` (1 to 200, 50 by default) and the
/// `cursor` the previous page gave.
pub struct Paging(pub PageQuery);

impl<S: Send + Sync> FromRequestParts<S> for Paging {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let Params(text) = Params::<PagingText>::from_request_parts(parts, state).await?;
        Ok(Paging(PageQuery {
            limit: page_limit(text.limit.as_deref())?,
            cursor: text.cursor,
        }))
    }
}

/// Reads `limit` from a query: 1 to 200, 50 by default.
pub fn page_limit(limit: Option<&str>) -> Result<usize, ApiError> {
    match limit {
        None => Ok(PageQuery::DEFAULT_LIMIT),
        Some(l) => match l.parse::<usize>() {
            Ok(n) if (1..=PageQuery::MAX_LIMIT).contains(&n) => Ok(n),
            _ => Err(ApiError(AppError::field(
                "limit",
                "must be a whole number from 1 to 200",
            ))),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Deserialize, Debug, PartialEq)]
    struct Range {
        from: Option<String>,
        to: Option<String>,
    }

    async fn params<T: DeserializeOwned>(uri: &str) -> Result<T, ApiError> {
        let (mut parts, ()) = axum::http::Request::builder()
            .uri(uri)
            .body(())
            .unwrap()
            .into_parts();
        Params::<T>::from_request_parts(&mut parts, &())
            .await
            .map(|Params(t)| t)
    }

    #[tokio::test]
    async fn a_repeated_parameter_counts_once_and_unknown_ones_are_ignored() {
        let r: Range = params("/x?to=2026-11-01&to=2026-11-30&colour=red")
            .await
            .unwrap();
        assert_eq!(
            r,
            Range {
                from: None,
                to: Some("2026-11-30".into())
            }
        );
    }

    #[tokio::test]
    async fn paging_checks_the_limit_and_keeps_the_cursor() {
        let (mut parts, ()) = axum::http::Request::builder()
            .uri("/x?limit=10&cursor=abc")
            .body(())
            .unwrap()
            .into_parts();
        let Paging(page) = Paging::from_request_parts(&mut parts, &()).await.unwrap();
        assert_eq!((page.limit, page.cursor.as_deref()), (10, Some("abc")));
        let (mut parts, ()) = axum::http::Request::builder()
            .uri("/x?limit=500")
            .body(())
            .unwrap()
            .into_parts();
        assert!(Paging::from_request_parts(&mut parts, &()).await.is_err());
    }
}
