//! The portal function: the partner portal's pages, rendered on the server from the same
//! use cases the JSON API calls. Sign-in is by emailed link; a session lives in a cookie.
//! Pages work without JavaScript and load nothing from other hosts.

mod auth;
mod config;
mod dashboard;
mod pages;
mod problem;
mod session;

pub use config::Config;
pub use session::COOKIE;

use axum::Router;
use axum::routing::{get, post};
use upline_domain::services::Services;

/// Every route of the portal, by path.
pub fn router(services: Services) -> Router {
    let router = Router::new()
        .route("/portal", get(dashboard::dashboard))
        .route("/portal/", get(dashboard::dashboard))
        .route(
            "/portal/login",
            get(auth::login_page).post(auth::request_link),
        )
        .route("/portal/auth", get(auth::auth_page).post(auth::sign_in))
        .route("/portal/logout", post(auth::sign_out))
        .route("/portal/assets/portal.css", get(pages::stylesheet))
        // Not a fallback: the local host merges every function's routes into one router.
        .route("/portal/{*rest}", get(problem::not_found_page));
    upline_http::edge(router, upline_http::limits::PORTAL).with_state(services)
}
