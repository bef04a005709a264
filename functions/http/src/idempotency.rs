//! `Idempotency-Key` on every POST (Stripe's semantics, see
//! `upline_domain::usecases::idempotency`): the middleware reads the body within the
//! route's limit, claims the key for this caller and request, runs the handler once, and
//! keeps its answer for replay — or replays, refuses a reused key, or says the first
//! request is still running. Answers that a retry should not get back (authentication
//! refusals, rate limits, races, server errors) are not kept: the key is released.

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use upline_domain::error::AppError;
use upline_domain::ids::hash_api_key;
use upline_domain::services::Services;
use upline_domain::usecases::idempotency::{
    Claim, KeptAnswer, claim, complete, fingerprint, parse_key, record_key, release,
};

use crate::auth::client_address;
use crate::edge::BodyLimit;
use crate::{ApiError, bearer, limits};

/// The request header, and the header marking a replayed answer.
pub const HEADER: &str = "idempotency-key";
pub const REPLAYED: &str = "idempotent-replayed";

/// The largest answer kept for replay; a larger one is answered and not kept.
const MAX_KEPT_BYTES: usize = 256 * 1024;

/// The middleware; layer it on a router with its services as state.
pub async fn idempotent(State(s): State<Services>, req: Request, next: Next) -> Response {
    if req.method() != Method::POST {
        return next.run(req).await;
    }
    let Some(raw) = req.headers().get(HEADER) else {
        return next.run(req).await;
    };
    let key = match raw
        .to_str()
        .map_err(|_| ())
        .and_then(|t| parse_key(t).map_err(|_| ()))
    {
        Ok(k) => k.to_string(),
        Err(()) => {
            return ApiError(parse_key("").expect_err("an empty key is refused")).into_response();
        }
    };
    // Keys belong to the caller: its credential, or its address when it has none.
    let caller = match bearer(req.headers()) {
        Some(token) => format!("key:{}", hash_api_key(token)),
        None => format!(
            "address:{}",
            client_address(req.headers(), req.extensions()).unwrap_or_default()
        ),
    };
    let (parts, body) = req.into_parts();
    let limit = parts
        .extensions
        .get::<BodyLimit>()
        .map_or(limits::API, |l| l.0);
    let bytes = match axum::body::to_bytes(body, limit).await {
        Ok(b) => b,
        Err(_) => return ApiError(AppError::TooLarge { limit_bytes: limit }).into_response(),
    };
    let path = parts.uri.path_and_query().map_or("", |p| p.as_str());
    let print = fingerprint(parts.method.as_str(), path, &bytes);
    let record = record_key(&caller, &key);
    match claim(&s, &record, &print).await {
        Err(e) => ApiError(e).into_response(),
        Ok(Claim::Replay(answer)) => replay(answer),
        Ok(Claim::InProgress) => ApiError(AppError::Conflict {
            field: Some("Idempotency-Key".into()),
            detail: "a request with this key is still being processed; retry shortly".into(),
        })
        .into_response(),
        Ok(Claim::Mismatch) => ApiError(AppError::field(
            "Idempotency-Key",
            "was used in the last 24 hours with a different request; use a new key",
        ))
        .into_response(),
        Ok(Claim::Run) => {
            let response = next
                .run(Request::from_parts(parts, Body::from(bytes)))
                .await;
            keep(&s, &record, &print, response).await
        }
    }
}

/// Whether an answer is what a retry with the same key should get again.
fn worth_keeping(status: StatusCode) -> bool {
    let transient = [
        StatusCode::UNAUTHORIZED,
        StatusCode::FORBIDDEN,
        StatusCode::REQUEST_TIMEOUT,
        StatusCode::CONFLICT,
        StatusCode::TOO_MANY_REQUESTS,
    ];
    (status.is_success() || status.is_client_error()) && !transient.contains(&status)
}

async fn keep(
    s: &Services,
    record: &upline_domain::ports::Key,
    print: &str,
    response: Response,
) -> Response {
    if !worth_keeping(response.status()) {
        if let Err(e) = release(s, record).await {
            tracing::warn!(error = %e, "an idempotency key could not be released; it frees itself when its lease ends");
        }
        return response;
    }
    let (parts, body) = response.into_parts();
    let bytes = match axum::body::to_bytes(body, MAX_KEPT_BYTES).await {
        Ok(b) => b,
        Err(_) => {
            let _ = release(s, record).await;
            return ApiError(AppError::Internal(
                "an answer too large to keep for its idempotency key".into(),
            ))
            .into_response();
        }
    };
    let answer = KeptAnswer {
        status: parts.status.as_u16(),
        content_type: parts
            .headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string),
        body: String::from_utf8_lossy(&bytes).into_owned(),
    };
    if let Err(e) = complete(s, record, print, &answer).await {
        // The request did happen; its answer goes out, only a replay cannot be offered.
        tracing::warn!(error = %e, "an answer could not be kept for its idempotency key");
        let _ = release(s, record).await;
    }
    Response::from_parts(parts, Body::from(bytes))
}

fn replay(answer: KeptAnswer) -> Response {
    let status = StatusCode::from_u16(answer.status).unwrap_or(StatusCode::OK);
    let mut response = (status, answer.body).into_response();
    if let Some(ct) = answer
        .content_type
        .and_then(|c| HeaderValue::from_str(&c).ok())
    {
        response.headers_mut().insert(header::CONTENT_TYPE, ct);
    }
    response
        .headers_mut()
        .insert(REPLAYED, HeaderValue::from_static("true"));
    response
}
