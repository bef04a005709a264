//! The HTTP side of the host: every function's routes on one router, the tracking
//! settings the redirect takes from the configuration, and a `/health` that also speaks
//! for the background consumers.

use axum::Router;
use upline_domain::services::Services;

use crate::HostConfig;
use crate::consumers;

/// Every HTTP route of every function, on one router.
pub fn router(services: &Services, tracking: upline_redirect::TrackingSettings) -> Router {
    Router::new()
        .merge(upline_redirect::router(upline_redirect::state(
            services.clone(),
            tracking,
        )))
        .merge(upline_postback::router(services.clone()))
        .merge(upline_signup::router(services.clone()))
        .merge(upline_api::router(services.clone()))
        .merge(upline_portal::router(services.clone()))
        .merge(upline_console::router(services.clone()))
        .fallback(upline_http::not_found)
}

/// The redirect's settings as this deployment configures them.
pub(crate) fn tracking_settings(
    config: &HostConfig,
    base_url: &str,
) -> upline_redirect::TrackingSettings {
    let defaults = upline_redirect::TrackingSettings::default();
    upline_redirect::TrackingSettings {
        country_header: config
            .country_header
            .as_deref()
            .map_or(defaults.country_header, |h| h.trim().to_ascii_lowercase()),
        cookie_domain: config.cookie_domain.clone(),
        // Browsers drop Secure cookies set over plain HTTP (except on localhost).
        secure_cookie: base_url.starts_with("https://"),
        ..defaults
    }
}

/// `/health` on the local host also answers for the background consumers: `503` naming
/// the queues whose consumer is down, so a supervisor or a person sees it at once.
pub(crate) async fn health_of_the_host(
    axum::extract::State(health): axum::extract::State<consumers::ConsumerHealth>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    if request.uri().path() != "/health" {
        return next.run(request).await;
    }
    let down = health.down();
    if down.is_empty() {
        return next.run(request).await;
    }
    let text: Vec<String> = down
        .iter()
        .map(|(queue, why)| format!("the {queue} consumer is down: {why}"))
        .collect();
    (axum::http::StatusCode::SERVICE_UNAVAILABLE, text.join("\n")).into_response()
}
