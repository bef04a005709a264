//! The portal function: the partner portal's pages, rendered on the server from the same
//! use cases the JSON API calls. Sign-in is by emailed link; a session lives in a cookie.
//! Pages work without JavaScript and load nothing from other hosts.

mod auth;
mod commissions;
mod dashboard;
mod join;
mod links;
mod pages;
mod payouts;
mod problem;
mod qr;
mod session;
mod settings;
mod team;

pub use session::COOKIE;
/// The variables the function reads (the SAM template sets each, a test holds the two
/// together): the table, the emails queue, the public address, the secrets key.
pub use upline_lambda::config::EmailingConfig as Config;

use axum::Router;
use axum::routing::{get, post};
use problem::Portal;
use upline_domain::services::Services;
use upline_web::sign_in_pages;

/// Every route of the portal, by path.
pub fn router(services: Services) -> Router {
    let router = Router::new()
        .route("/portal", get(dashboard::dashboard))
        .route("/portal/", get(dashboard::dashboard))
        .route(
            "/portal/login",
            get(sign_in_pages::login_page::<Portal>).post(sign_in_pages::request_link::<Portal>),
        )
        .route(
            "/portal/auth",
            get(sign_in_pages::auth_page::<Portal>).post(sign_in_pages::sign_in::<Portal>),
        )
        .route("/portal/join", get(join::join_page).post(join::submit))
        .route("/portal/logout", post(auth::sign_out))
        .route("/portal/links", get(links::links_page).post(links::create))
        .route("/portal/links/{code}/qr.svg", get(links::qr_code))
        .route("/portal/commissions", get(commissions::commissions_page))
        .route("/portal/team", get(team::team_page))
        .route("/portal/settings", get(settings::settings_page))
        .route("/portal/settings/profile", post(settings::save_profile))
        .route("/portal/settings/postback", post(settings::save_postback))
        .route("/portal/settings/api-key", post(settings::new_api_key))
        .route("/portal/payouts", get(payouts::payouts_page))
        .route("/portal/payout-details", post(payouts::save_details))
        .route("/portal/payouts/{id}", get(payouts::statement_page))
        .route(
            "/portal/payouts/{id}/statement.csv",
            get(payouts::statement_csv),
        )
        .route("/portal/assets/portal.css", get(pages::stylesheet))
        .route("/portal/assets/portal.js", get(pages::script))
        // Not a fallback: the local host merges every function's routes into one router.
        .route("/portal/{*rest}", get(problem::not_found_page));
    upline_http::edge(router, upline_http::limits::PORTAL).with_state(services)
}
