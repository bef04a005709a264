//! The signup function: `POST /v1/partners`, the public partner application.

mod config;
pub use config::Config;

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::post;
use upline_domain::services::Services;
use upline_domain::usecases::signup::{PartnerView, SignupRequest, signup};
use upline_http::{ApiError, JsonBody, correlation_id, json};

pub fn router(services: Services) -> Router {
    Router::new()
        .route("/v1/partners", post(apply))
        .with_state(services)
}

async fn apply(
    State(services): State<Services>,
    headers: HeaderMap,
    JsonBody(req): JsonBody<SignupRequest>,
) -> Result<Response, ApiError> {
    let correlation = correlation_id(&headers, || services.new_id());
    let partner = signup(&services, req, &correlation).await?;
    tracing::info!(partner_id = %partner.id, correlation_id = %correlation, "partner applied");
    Ok(json(StatusCode::CREATED, &PartnerView::of(&partner)))
}
