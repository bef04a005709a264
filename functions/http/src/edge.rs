//! What every HTTP function puts between the network and its routes: a body limit per
//! route group (answered `413` as a problem document, before the body is read when its
//! length is declared), headers that keep browsers from sniffing or framing what we
//! serve, and a panic in a handler turned into a `500` problem instead of a dropped
//! connection.

use axum::Router;
use axum::extract::{DefaultBodyLimit, Request};
use axum::http::{HeaderValue, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use futures::StreamExt;
use tower_http::catch_panic::CatchPanicLayer;
use upline_domain::error::AppError;

use crate::ApiError;

/// The body limit in force for a request, for the `413` problem to name.
#[derive(Clone, Copy, Debug)]
pub struct BodyLimit(pub usize);

/// Bodies over the limit up to this size are read and dropped before the 413 is sent.
const DRAIN_AT_MOST: u64 = 4 * 1024 * 1024;

/// Documented body limits (docs/security.md).
pub mod limits {
    /// Postbacks and refunds: an order with a hundred line items fits in a few KiB.
    pub const POSTBACK: usize = 64 * 1024;
    /// Store webhooks: a platform's whole order, with every line item, customer and
    /// address field it carries.
    pub const STORE_WEBHOOK: usize = 1024 * 1024;
    /// Partner applications: the program's form answers.
    pub const SIGNUP: usize = 16 * 1024;
    /// Direct-link click registrations from the landing-page snippet.
    pub const CLICK: usize = 4 * 1024;
    /// The portal's forms: a sign-in email, an application, payout details.
    pub const PORTAL: usize = 16 * 1024;
    /// The operator console's forms: campaigns with their terms, email templates.
    pub const CONSOLE: usize = 256 * 1024;
    /// The admin and partner API: email templates are the largest bodies.
    pub const API: usize = 256 * 1024;
}

/// `router` behind the edge: `limit` bytes of body at most, security headers, panics
/// contained.
pub fn edge<S: Clone + Send + Sync + 'static>(router: Router<S>, limit: usize) -> Router<S> {
    router
        .layer(middleware::from_fn(move |req: Request, next: Next| {
            declared_length_within(req, next, limit)
        }))
        .layer(DefaultBodyLimit::max(limit))
        .layer(middleware::map_response(security_headers))
        .layer(CatchPanicLayer::custom(
            |_panic: Box<dyn std::any::Any + Send>| {
                tracing::error!("a request handler panicked");
                ApiError(AppError::Internal("a request handler panicked".into())).into_response()
            },
        ))
}

/// Refuses a body whose declared length is over the limit without reading it, and tells
/// the body reader the limit for its own `413` (a body sent without a length).
async fn declared_length_within(mut req: Request, next: Next, limit: usize) -> Response {
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if let Some(n) = declared.filter(|n| *n > limit as u64) {
        // A client that writes its whole body before reading the answer would see the
        // connection reset instead of the 413 if the body were left unread; a body of a
        // size a mistake makes is read and dropped, a larger one is not worth reading.
        if n <= DRAIN_AT_MOST {
            let mut data = req.into_body().into_data_stream();
            while let Some(Ok(_)) = data.next().await {}
        }
        return ApiError(AppError::TooLarge { limit_bytes: limit }).into_response();
    }
    req.extensions_mut().insert(BodyLimit(limit));
    next.run(req).await
}

/// `nosniff` on everything; on HTML, a policy that loads nothing from elsewhere and lets
/// no other site frame the page (clickjacking an unsubscribe button, say).
async fn security_headers(mut resp: Response) -> Response {
    let headers = resp.headers_mut();
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    let html = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/html"));
    // A page may bring a policy of its own: the console's preview of an email's HTML is
    // sandboxed, with the inline styles emails need.
    if html && !headers.contains_key(header::CONTENT_SECURITY_POLICY) {
        headers.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(
                "default-src 'none'; style-src 'self'; img-src 'self' data:; script-src 'self'; \
                 form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
            ),
        );
    }
    if html {
        headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
        // A page may ask for a less strict policy (the portal's forms need browsers to
        // name their origin, which `no-referrer` hides).
        if !headers.contains_key(header::REFERRER_POLICY) {
            headers.insert(
                header::REFERRER_POLICY,
                HeaderValue::from_static("no-referrer"),
            );
        }
    }
    resp
}
