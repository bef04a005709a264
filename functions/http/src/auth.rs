//! Who is calling, as extractors: a handler that takes [`Admin`] or [`CallingPartner`]
//! cannot forget to check, and — since axum runs these before the body extractor — an
//! unauthenticated caller is refused before a byte of its body is parsed, so it learns
//! nothing about the body's rules. Failed attempts count against the client address's
//! rate limit.

use std::net::SocketAddr;
use upline_domain::ids::PartnerId;

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{Extensions, HeaderMap};
use upline_domain::error::AppError;
use upline_domain::services::Services;
use upline_domain::usecases::auth::{require_admin, require_partner};
use upline_domain::usecases::rate_limits::after_failed_auth;

use crate::{ApiError, bearer};

/// An authenticated operator: the admin key's name.
pub struct Admin(pub String);

/// An authenticated partner: their id.
pub struct CallingPartner(pub PartnerId);

/// The address the request came from: the peer of the connection where the server
/// accepts connections itself (the local host); on Lambda the source address API Gateway
/// records in the request context; failing both, the entry API Gateway appends last to
/// `X-Forwarded-For` (earlier entries are the client's to invent). Behind a CDN this is the
/// CDN's address unless the CDN forwards the viewer's.
pub fn client_address(headers: &HeaderMap, extensions: &Extensions) -> Option<String> {
    if let Some(ConnectInfo(peer)) = extensions.get::<ConnectInfo<SocketAddr>>() {
        return Some(peer.ip().to_string());
    }
    let source_ip = match extensions.get::<lambda_http::request::RequestContext>() {
        Some(lambda_http::request::RequestContext::ApiGatewayV2(ctx)) => {
            ctx.http.source_ip.as_deref().filter(|ip| !ip.is_empty())
        }
        _ => None,
    };
    if let Some(ip) = source_ip {
        return Some(ip.to_string());
    }
    forwarded_for(headers, Forwarded::Last)
}

/// Which `X-Forwarded-For` entry to take.
pub enum Forwarded {
    /// The one the client sent first: what a caller states, never proof.
    First,
    /// The one the last proxy appended.
    Last,
}

/// An entry of `X-Forwarded-For`, if the header has a non-empty one there.
pub fn forwarded_for(headers: &HeaderMap, which: Forwarded) -> Option<String> {
    let list = headers.get("x-forwarded-for")?.to_str().ok()?;
    let entry = match which {
        Forwarded::First => list.split(',').next(),
        Forwarded::Last => list.rsplit(',').next(),
    };
    entry
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(str::to_string)
}

/// The caller's address as an extractor ([`client_address`]).
pub struct ClientAddress(pub Option<String>);

impl<S: Send + Sync> FromRequestParts<S> for ClientAddress {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(ClientAddress(client_address(
            &parts.headers,
            &parts.extensions,
        )))
    }
}

/// `error` as the caller sees it: counted against its address when it is a failed
/// authentication.
pub async fn refused(s: &Services, parts: &Parts, error: AppError) -> ApiError {
    match error {
        AppError::Unauthorized(_) => {
            let client = client_address(&parts.headers, &parts.extensions);
            ApiError(after_failed_auth(s, client.as_deref(), error).await)
        }
        other => ApiError(other),
    }
}

impl FromRequestParts<Services> for Admin {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, s: &Services) -> Result<Self, ApiError> {
        match require_admin(&s.store, bearer(&parts.headers)).await {
            Ok(name) => Ok(Admin(name)),
            Err(e) => Err(refused(s, parts, e).await),
        }
    }
}

impl FromRequestParts<Services> for CallingPartner {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, s: &Services) -> Result<Self, ApiError> {
        match require_partner(&s.store, bearer(&parts.headers)).await {
            Ok(id) => Ok(CallingPartner(id)),
            Err(e) => Err(refused(s, parts, e).await),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_forwarded(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert("x-forwarded-for", value.parse().unwrap());
        headers
    }

    #[test]
    fn the_stated_and_the_appended_entries_are_told_apart() {
        let h = with_forwarded("203.0.113.9, 10.0.0.1 , 198.51.100.7");
        assert_eq!(
            forwarded_for(&h, Forwarded::First).as_deref(),
            Some("203.0.113.9")
        );
        assert_eq!(
            forwarded_for(&h, Forwarded::Last).as_deref(),
            Some("198.51.100.7")
        );
        // With no peer and no request context, the address is what the last proxy added.
        assert_eq!(
            client_address(&h, &Extensions::new()).as_deref(),
            Some("198.51.100.7")
        );
        assert_eq!(
            forwarded_for(&with_forwarded(" , "), Forwarded::First),
            None
        );
        assert_eq!(forwarded_for(&HeaderMap::new(), Forwarded::Last), None);
    }
}
