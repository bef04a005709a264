//! The signup function: `POST /v1/partners`, the public partner application.

/// The variables the function reads (the SAM template sets each, a test holds the two
/// together): the table, the emails queue, the public address, the secrets key.
pub use upline_lambda::config::EmailingConfig as Config;

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::post;
use upline_domain::services::Services;
use upline_domain::usecases::admin::require_program;
use upline_domain::usecases::rate_limits;
use upline_domain::usecases::signup::{PartnerView, SignupRequest, apply as apply_to_program};
use upline_http::auth::ClientAddress;
use upline_http::{ApiError, JsonBody, correlation_id, json};

pub fn router(services: Services) -> Router {
    let router = Router::new().route("/v1/partners", post(apply));
    let router = upline_http::idempotent(
        router,
        &services,
        upline_http::idempotency::Callers::Addresses,
    );
    upline_http::edge(router, upline_http::limits::SIGNUP).with_state(services)
}

async fn apply(
    State(services): State<Services>,
    ClientAddress(client): ClientAddress,
    headers: HeaderMap,
    JsonBody(req): JsonBody<SignupRequest>,
) -> Result<Response, ApiError> {
    // Each application sends an email: a client address may apply a few times an hour.
    if let Some(client) = &client {
        rate_limits::count(&services, &services.rate_limits.signups, client).await?;
    }
    let correlation = correlation_id(&headers, || services.new_id());
    let program = require_program(&services.store).await?;
    let application = req.parse(&program.signup.form, &services.store).await?;
    let (partner, key) = apply_to_program(&services, &program, application, &correlation).await?;
    tracing::info!(partner_id = %partner.id, correlation_id = %correlation, approved = key.is_some(), "partner applied");
    Ok(json(
        StatusCode::CREATED,
        &Applied {
            partner: PartnerView::of(&partner),
            api_key: key.map(|k| k.secret),
        },
    ))
}

/// The new partner; with the program's automatic approval, also their API key (shown
/// this once).
#[derive(serde::Serialize)]
struct Applied {
    #[serde(flatten)]
    partner: PartnerView,
    #[serde(skip_serializing_if = "Option::is_none")]
    api_key: Option<String>,
}
