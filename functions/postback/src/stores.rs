//! `POST /v1/stores/{id}/webhook`: a connected store's platform delivering an event. The
//! raw body is handed to the receiver untouched (its signature covers those bytes), with
//! the headers looked up by lower-case name. Answers `200` with the outcome for anything
//! signed and readable — also for events Upline does not use, so platforms keep the
//! webhook enabled.

use axum::extract::{Path, Request, State};
use axum::http::StatusCode;
use axum::response::Response;
use upline_domain::error::AppError;
use upline_domain::services::Services;
use upline_domain::storefronts::store::parse_store_id;
use upline_domain::usecases::rate_limits::after_failed_auth;
use upline_domain::usecases::stores;
use upline_http::auth::client_address;
use upline_http::{ApiError, correlation_id, json};

pub(crate) async fn webhook(
    State(services): State<Services>,
    Path(id): Path<String>,
    req: Request,
) -> Result<Response, ApiError> {
    let id = parse_store_id(&id)
        .map_err(|_| ApiError(AppError::NotFound(format!("no store {id:?} is connected"))))?;
    let client = client_address(req.headers(), req.extensions());
    let limit = req
        .extensions()
        .get::<upline_http::edge::BodyLimit>()
        .map(|l| l.0);
    let headers = req.headers().clone();
    let body = axum::body::to_bytes(req.into_body(), limit.unwrap_or(usize::MAX))
        .await
        .map_err(|_| {
            ApiError(AppError::TooLarge {
                limit_bytes: limit.unwrap_or(0),
            })
        })?;
    let correlation = correlation_id(&headers, || services.new_id());
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    };
    match stores::receive(&services, &id, &header, &body, &correlation).await {
        Ok(receipt) => {
            tracing::info!(store = %id, outcome = receipt.outcome().as_str(), correlation_id = %correlation, "store delivery received");
            Ok(json(StatusCode::OK, &receipt))
        }
        Err(e @ AppError::Unauthorized(_)) => {
            tracing::warn!(store = %id, reason = %e, correlation_id = %correlation, "store delivery refused");
            Err(ApiError(
                after_failed_auth(&services, client.as_deref(), e).await,
            ))
        }
        // A signed body that does not read is the platform's request that cannot be
        // read: 400, naming the field.
        Err(AppError::Invalid(fields)) => {
            let why = upline_domain::error::describe_fields(&fields);
            tracing::warn!(store = %id, reason = %why, correlation_id = %correlation, "store delivery unreadable");
            Err(ApiError(AppError::Malformed(why)))
        }
        Err(e) => {
            tracing::warn!(store = %id, reason = %e, correlation_id = %correlation, "store delivery not taken");
            Err(ApiError(e))
        }
    }
}
