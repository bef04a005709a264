//! Typed query strings: a handler names the struct its route's parameters parse into
//! (`Params<ReportQuery>`), and paged listings take [`Paging`], so no handler reads a
//! string map by key. A query that does not parse is a problem answer like any other.

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
        Query::<T>::try_from_uri(&parts.uri)
            .map(|Query(q)| Params(q))
            .map_err(|e| {
                ApiError(AppError::Malformed(format!(
                    "the query string: {}",
                    e.body_text()
                )))
            })
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
