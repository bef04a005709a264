//! HTTP plumbing shared by Upline's HTTP functions: domain errors rendered once as
//! `application/problem+json`, JSON bodies read with field-level errors, bearer tokens,
//! correlation ids, and the 404 for routes that do not exist.

pub mod auth;
pub mod edge;
pub mod idempotency;
pub mod query;

pub use edge::{edge, limits};
pub use query::{Paging, Params, page_limit};

/// `router` with `Idempotency-Key` honoured on its POST routes, keyed by `callers`.
pub fn idempotent<S: Clone + Send + Sync + 'static>(
    router: axum::Router<S>,
    services: &upline_domain::services::Services,
    callers: idempotency::Callers,
) -> axum::Router<S> {
    let scope = idempotency::Scope {
        services: services.clone(),
        callers,
    };
    router.layer(axum::middleware::from_fn_with_state(
        scope,
        idempotency::idempotent,
    ))
}

use axum::extract::FromRequest;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde::de::DeserializeOwned;
use upline_domain::error::{AppError, FieldError};
use upline_domain::usecases::input::parse_json;

/// The header a caller may set to follow one request through every stage's logs.
pub const CORRELATION_HEADER: &str = "x-correlation-id";

/// An RFC 9457 problem document.
#[derive(Debug, Serialize)]
pub struct Problem {
    #[serde(rename = "type")]
    pub kind: String,
    pub title: String,
    pub status: u16,
    pub detail: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldError>,
}

/// A domain error on its way out as an HTTP response.
#[derive(Debug)]
pub struct ApiError(pub AppError);

impl From<AppError> for ApiError {
    fn from(e: AppError) -> Self {
        ApiError(e)
    }
}

fn problem(
    status: StatusCode,
    slug: &str,
    title: &str,
    detail: String,
    errors: Vec<FieldError>,
) -> Problem {
    Problem {
        kind: format!("https://upline.dev/problems/{slug}"),
        title: title.to_string(),
        status: status.as_u16(),
        // Several field errors joined, or a detail quoting a request: bounded either way.
        detail: upline_domain::error::clip(&detail, 1_000),
        errors,
    }
}

impl ApiError {
    pub fn problem(&self) -> Problem {
        match &self.0 {
            AppError::Invalid(errors) => {
                let detail = upline_domain::error::describe_fields(errors);
                problem(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "invalid-fields",
                    "Some fields are invalid",
                    detail,
                    errors.clone(),
                )
            }
            AppError::Malformed(d) => problem(
                StatusCode::BAD_REQUEST,
                "malformed-request",
                "The request cannot be read",
                d.clone(),
                vec![],
            ),
            AppError::TooLarge { limit_bytes } => problem(
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload-too-large",
                "The request body is too large",
                format!("this route takes bodies of at most {limit_bytes} bytes"),
                vec![],
            ),
            AppError::RateLimited { retry_after_secs } => problem(
                StatusCode::TOO_MANY_REQUESTS,
                "rate-limited",
                "Too many requests",
                format!("too many attempts; try again in {retry_after_secs} seconds"),
                vec![],
            ),
            AppError::Unauthorized(d) => problem(
                StatusCode::UNAUTHORIZED,
                "unauthorized",
                "Authentication is needed",
                d.clone(),
                vec![],
            ),
            AppError::Forbidden(d) => problem(
                StatusCode::FORBIDDEN,
                "forbidden",
                "Not allowed with these credentials",
                d.clone(),
                vec![],
            ),
            AppError::NotFound(d) => problem(
                StatusCode::NOT_FOUND,
                "not-found",
                "Not found",
                d.clone(),
                vec![],
            ),
            AppError::Conflict { field, detail } => problem(
                StatusCode::CONFLICT,
                "conflict",
                "The request conflicts with what is stored",
                detail.clone(),
                field
                    .iter()
                    .map(|f| FieldError::new(f.clone(), detail))
                    .collect(),
            ),
            AppError::Unavailable(_) => problem(
                StatusCode::SERVICE_UNAVAILABLE,
                "unavailable",
                "Temporarily unavailable",
                "a dependency is unavailable; nothing was lost, try again shortly".into(),
                vec![],
            ),
            AppError::Internal(_) => problem(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                "Internal error",
                "something went wrong on our side; it has been logged".into(),
                vec![],
            ),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        match &self.0 {
            // Internals go to the log, never to the caller.
            AppError::Internal(m) | AppError::Unavailable(m) => {
                tracing::error!(error = %m, "request failed")
            }
            other => tracing::info!(error = %other, "request refused"),
        }
        let p = self.problem();
        let status = StatusCode::from_u16(p.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut resp = (status, serde_json::to_string(&p).expect("plain data")).into_response();
        resp.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        if let AppError::RateLimited { retry_after_secs } = &self.0 {
            resp.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(*retry_after_secs));
        }
        if status == StatusCode::UNAUTHORIZED {
            resp.headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        resp
    }
}

pub type ApiResult<T> = Result<T, ApiError>;

/// A JSON response with a status.
pub fn json<T: Serialize>(status: StatusCode, value: &T) -> Response {
    let body = serde_json::to_string(value).expect("plain data");
    let mut resp = (status, body).into_response();
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    resp
}

/// The token of an `Authorization: Bearer …` header.
pub fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then_some(token.trim())
}

/// The caller's correlation id if it sent a sensible one, else a fresh one.
pub fn correlation_id(headers: &HeaderMap, fresh: impl FnOnce() -> String) -> String {
    headers
        .get(CORRELATION_HEADER)
        .and_then(|v| v.to_str().ok())
        .filter(|v| !v.is_empty() && v.len() <= 128 && v.bytes().all(|b| b.is_ascii_graphic()))
        .map_or_else(fresh, str::to_string)
}

/// A JSON request body parsed into `T`, with problems named by field. Rejects other
/// content types up front, since a form-encoded postback is a common misconfiguration.
pub struct JsonBody<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for JsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(req: axum::extract::Request, state: &S) -> Result<Self, Self::Rejection> {
        let (bytes, _) = read_json_bytes(req, state).await?;
        Ok(JsonBody(parse_json(&bytes).map_err(ApiError)?))
    }
}

/// The raw bytes of a JSON body (for signatures) with the request's headers.
pub async fn read_json_bytes<S: Send + Sync>(
    req: axum::extract::Request,
    state: &S,
) -> Result<(bytes::Bytes, HeaderMap), ApiError> {
    if let Some(ct) = req.headers().get(header::CONTENT_TYPE) {
        let ct = ct.to_str().unwrap_or_default().to_ascii_lowercase();
        if !ct.starts_with("application/json") && !ct.contains("+json") {
            return Err(ApiError(AppError::Malformed(format!(
                "Content-Type must be application/json, got {ct:?}"
            ))));
        }
    }
    let headers = req.headers().clone();
    let limit = req.extensions().get::<edge::BodyLimit>().map(|l| l.0);
    let bytes = bytes::Bytes::from_request(req, state).await.map_err(|e| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError(AppError::TooLarge {
                limit_bytes: limit.unwrap_or(0),
            })
        } else {
            ApiError(AppError::Malformed(format!("the body cannot be read: {e}")))
        }
    })?;
    Ok((bytes, headers))
}

/// The answer for paths no function serves.
pub async fn not_found() -> ApiError {
    ApiError(AppError::NotFound("no such route".into()))
}

/// A listing page: its items and the cursor for the next page, if any.
#[derive(Debug, Serialize)]
pub struct Listing<T: Serialize> {
    pub items: Vec<T>,
    pub next_cursor: Option<String>,
}
