//! `Idempotency-Key` on every POST of a router (Stripe's semantics, see
//! `upline_domain::usecases::idempotency`): the middleware reads the body within the
//! route's limit, claims the key for this caller and request, runs the handler once, and
//! keeps its answer for replay — or replays, refuses a reused key, or says the first
//! request is still running. Answers that a retry should not get back (authentication
//! refusals, rate limits, races, server errors) are not kept: the key is released, also
//! when the request is cut off (a timeout) or its handler panics.
//!
//! Who the caller is decides whose keys these are. On the admin and partner API the
//! caller is the principal of a valid API key — checked before anything else, so a
//! request without one goes straight to its handler's `401` (nothing is read, claimed or
//! replayed for it) and a revoked key can replay nothing. Where callers have no API key
//! (applications, storefront postbacks) the caller is the credential they present, if
//! any, at their address; without a known address there is no idempotency.

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use upline_domain::error::AppError;
use upline_domain::ids::{Principal, hash_api_key};
use upline_domain::ports::Key;
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
/// The largest answer read at all (the API's answers are far smaller).
const MAX_ANSWER_BYTES: usize = 8 * 1024 * 1024;

/// Whose keys a router's idempotency keys are.
#[derive(Clone)]
pub struct Scope {
    pub services: Services,
    pub callers: Callers,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Callers {
    /// The admin and partner API: the principal of a valid API key.
    ApiKeys,
    /// Applications and postbacks: the credential presented, if any, at an address.
    Addresses,
}

/// Who is asking, for keying records; `None` means "no idempotency for this request".
/// (`token` and `address` are taken from the request before this awaits: a request body
/// cannot be held across an await in a future that must be `Send`.)
async fn caller_of(
    scope: &Scope,
    token: Option<String>,
    address: Option<String>,
) -> Option<String> {
    match scope.callers {
        Callers::ApiKeys => {
            let principal = scope
                .services
                .store
                .principal(&hash_api_key(&token?))
                .await
                .ok()??;
            Some(match principal {
                Principal::Admin { name } => format!("admin:{name}"),
                Principal::Partner { partner_id } => format!("partner:{partner_id}"),
            })
        }
        Callers::Addresses => {
            let credential = token.as_deref().map(hash_api_key).unwrap_or_default();
            Some(format!("address:{}:{credential}", address?))
        }
    }
}

/// The middleware; layer it with `from_fn_with_state(scope, idempotent)`.
pub async fn idempotent(State(scope): State<Scope>, req: Request, next: Next) -> Response {
    if req.method() != Method::POST {
        return next.run(req).await;
    }
    let Some(raw) = req.headers().get(HEADER).cloned() else {
        return next.run(req).await;
    };
    let token = bearer(req.headers()).map(str::to_string);
    let address = client_address(req.headers(), req.extensions());
    let Some(caller) = caller_of(&scope, token, address).await else {
        return next.run(req).await;
    };
    // A header that is not text is checked as empty text: the same refusal, naming it.
    let key = match parse_key(raw.to_str().unwrap_or_default()) {
        Ok(k) => k.to_string(),
        Err(e) => return ApiError(e).into_response(),
    };
    let s = &scope.services;
    let (parts, body) = req.into_parts();
    let limit = parts
        .extensions
        .get::<BodyLimit>()
        .map_or(limits::API, |l| l.0);
    let bytes = match axum::body::to_bytes(body, limit).await {
        Ok(b) => b,
        Err(e) => return ApiError(body_error(&e, limit)).into_response(),
    };
    let path = parts.uri.path_and_query().map_or("", |p| p.as_str());
    let print = fingerprint(parts.method.as_str(), path, &bytes);
    let record = record_key(&caller, &key);
    match claim(s, &record, &print).await {
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
            // Released unless an answer is kept: also if this future is dropped (a
            // timeout) or unwinds (a panic in the handler).
            let mut held = Held {
                services: s.clone(),
                record: Some(record),
            };
            let response = next
                .run(Request::from_parts(parts, Body::from(bytes)))
                .await;
            keep(&mut held, &print, response).await
        }
    }
}

/// A length-limit error is the body being too large; anything else is a body that could
/// not be read (cut off, or too slow).
fn body_error(e: &axum::Error, limit: usize) -> AppError {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = source {
        if err.to_string().contains("length limit exceeded") {
            return AppError::TooLarge { limit_bytes: limit };
        }
        source = err.source();
    }
    AppError::Malformed(format!("the body could not be read: {e}"))
}

/// A claimed key that is released when dropped, unless its answer was kept.
struct Held {
    services: Services,
    record: Option<Key>,
}

impl Held {
    fn kept(&mut self) {
        self.record = None;
    }
}

impl Drop for Held {
    fn drop(&mut self) {
        if let Some(record) = self.record.take() {
            let services = self.services.clone();
            // Drop cannot wait; the release runs on its own (a lease that is not released
            // frees itself after a minute anyway).
            if let Ok(runtime) = tokio::runtime::Handle::try_current() {
                runtime.spawn(async move {
                    if let Err(e) = release(&services, &record).await {
                        tracing::warn!(error = %e, "an idempotency key could not be released; it frees itself when its lease ends");
                    }
                });
            }
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

async fn keep(held: &mut Held, print: &str, response: Response) -> Response {
    if !worth_keeping(response.status()) {
        return response; // `held` releases the key
    }
    let (parts, body) = response.into_parts();
    let bytes = match axum::body::to_bytes(body, MAX_ANSWER_BYTES).await {
        Ok(b) => b,
        Err(e) => {
            tracing::error!(error = %e, "an answer could not be read to keep it");
            return ApiError(AppError::Internal("the answer could not be read".into()))
                .into_response();
        }
    };
    if bytes.len() <= MAX_KEPT_BYTES {
        let answer = KeptAnswer {
            status: parts.status.as_u16(),
            content_type: parts
                .headers
                .get(header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string),
            body: String::from_utf8_lossy(&bytes).into_owned(),
        };
        let record = held.record.clone().expect("held until kept");
        match complete(&held.services, &record, print, &answer).await {
            Ok(()) => held.kept(),
            // The request did happen; its answer goes out, only a replay cannot be offered.
            Err(e) => {
                tracing::warn!(error = %e, "an answer could not be kept for its idempotency key")
            }
        }
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
