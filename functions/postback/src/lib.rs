//! The postback function: `POST /v1/postbacks` (and its URL form, `GET /v1/postbacks`) and
//! `POST /v1/refunds` from storefronts, and `POST /v1/stores/{id}/webhook` from connected
//! Shopify, WooCommerce, Stripe and Paddle stores. Postbacks authenticate with the
//! program's postback secret (HMAC signature or bearer), then record the conversion once
//! per campaign and order id. 201 for a new conversion, 200 with the same id for a repeat,
//! and a problem document naming the field for anything wrong — logged for the operator
//! too, because a silent postback failure is the most common way programs lose sales.

mod config;
mod query_postback;
mod stores;
pub use config::Config;

use axum::Router;
use axum::extract::{Request, State};
use axum::http::{StatusCode, header};
use axum::response::Response;
use axum::routing::post;
use serde::Serialize;
use upline_domain::error::AppError;
use upline_domain::ids::ConversionId;
use upline_domain::postback_auth;
use upline_domain::services::Services;
use upline_domain::usecases::admin::require_program;
use upline_domain::usecases::input::parse_json;
use upline_domain::usecases::postback::{ConversionView, PostbackRequest, record_postback};
use upline_domain::usecases::rate_limits::after_failed_auth;
use upline_domain::usecases::refunds::{RefundRequest, refund_conversion};
use upline_http::auth::client_address;
use upline_http::{ApiError, bearer, correlation_id, json, read_json_bytes};

pub fn router(services: Services) -> Router {
    let router = Router::new()
        .route("/v1/postbacks", post(postback).get(postback_url))
        .route("/v1/refunds", post(refund));
    let router = upline_http::idempotent(
        router,
        &services,
        upline_http::idempotency::Callers::Addresses,
    );
    // Store webhooks dedupe on the platform's own ids, and carry whole orders.
    let stores = Router::new().route("/v1/stores/{id}/webhook", post(stores::webhook));
    upline_http::edge(router, upline_http::limits::POSTBACK)
        .merge(upline_http::edge(
            stores,
            upline_http::limits::STORE_WEBHOOK,
        ))
        .with_state(services)
}

/// Checks the storefront's credentials (signature or bearer secret) over the raw body.
async fn authenticate(
    services: &Services,
    headers: &axum::http::HeaderMap,
    client: Option<&str>,
    body: &[u8],
) -> Result<(), AppError> {
    let program = require_program(&services.store).await?;
    let signature = headers
        .get("upline-signature")
        .and_then(|v| v.to_str().ok());
    let bearer_token = if headers.contains_key(header::AUTHORIZATION) {
        Some(bearer(headers).unwrap_or_default())
    } else {
        None
    };
    let checked = postback_auth::authenticate(
        &program.postback_secret,
        signature,
        bearer_token,
        body,
        services.now(),
    );
    match checked {
        Ok(()) => Ok(()),
        Err(e) => {
            Err(after_failed_auth(services, client, AppError::Unauthorized(e.to_string())).await)
        }
    }
}

/// The postback as a URL: its query authenticated (`sig` or `secret`), read into the same
/// request as the JSON form, and answered the same way.
async fn postback_url(
    State(services): State<Services>,
    req: Request,
) -> Result<Response, ApiError> {
    let client = client_address(req.headers(), req.extensions());
    let raw = req.uri().query().unwrap_or_default().to_string();
    let correlation = correlation_id(req.headers(), || services.new_id());
    let credentials = query_postback::credentials(&raw);
    let result = async {
        let program = require_program(&services.store).await?;
        let checked = postback_auth::authenticate(
            &program.postback_secret,
            credentials.signature.as_deref(),
            credentials.secret.as_deref(),
            credentials.signed_text.as_bytes(),
            services.now(),
        );
        if let Err(e) = checked {
            return Err(after_failed_auth(
                &services,
                client.as_deref(),
                AppError::Unauthorized(e.to_string()),
            )
            .await);
        }
        record_postback(&services, query_postback::request(&raw), &correlation).await
    }
    .await;
    answer_postback(result, &correlation)
}

async fn refund(State(services): State<Services>, req: Request) -> Result<Response, ApiError> {
    let client = client_address(req.headers(), req.extensions());
    let (body, headers) = read_json_bytes(req, &()).await?;
    let correlation = correlation_id(&headers, || services.new_id());
    let result = async {
        authenticate(&services, &headers, client.as_deref(), &body).await?;
        let request: RefundRequest = parse_json(&body)?;
        refund_conversion(&services, request).await
    }
    .await;
    match result {
        Ok(outcome) => {
            let status = if outcome.created {
                StatusCode::CREATED
            } else {
                StatusCode::OK
            };
            Ok(json(status, &outcome))
        }
        Err(e) => {
            tracing::warn!(reason = %e.describe(), correlation_id = %correlation, "refund refused");
            Err(ApiError(e))
        }
    }
}

#[derive(Serialize)]
struct PostbackResponse {
    conversion_id: ConversionId,
    /// False when this postback repeated one already recorded.
    created: bool,
    conversion: ConversionView,
}

async fn postback(State(services): State<Services>, req: Request) -> Result<Response, ApiError> {
    let client = client_address(req.headers(), req.extensions());
    let (body, headers) = read_json_bytes(req, &()).await?;
    let correlation = correlation_id(&headers, || services.new_id());
    let result = async {
        authenticate(&services, &headers, client.as_deref(), &body).await?;
        let request: PostbackRequest = parse_json(&body)?;
        record_postback(&services, request, &correlation).await
    }
    .await;
    answer_postback(result, &correlation)
}

fn answer_postback(
    result: Result<upline_domain::usecases::postback::PostbackOutcome, AppError>,
    correlation: &str,
) -> Result<Response, ApiError> {
    match result {
        Ok(outcome) => {
            let c = &outcome.conversion;
            tracing::info!(conversion_id = %c.id, campaign_id = %c.campaign_id, created = outcome.created, correlation_id = %correlation, "postback accepted");
            let status = if outcome.created {
                StatusCode::CREATED
            } else {
                StatusCode::OK
            };
            Ok(json(
                status,
                &PostbackResponse {
                    conversion_id: c.id.clone(),
                    created: outcome.created,
                    conversion: ConversionView::of(c),
                },
            ))
        }
        Err(e) => {
            // The operator's log says exactly why a storefront's postback was refused.
            tracing::warn!(reason = %e.describe(), correlation_id = %correlation, "postback refused");
            Err(ApiError(e))
        }
    }
}
