//! The console function: the operator console's pages, rendered on the server from the
//! same use cases the admin API calls. Operators sign in by emailed link through the
//! console's own door (a partner's session opens nothing here); each page reads the
//! operator's current role, hides what the role may not do and refuses it when posted.
//! Every change is audited under the operator's email. Pages work without JavaScript and
//! load nothing from other hosts.

mod applications;
mod audit;
mod auth;
mod campaigns;
mod config;
mod conversions;
mod emails;
mod form;
mod names;
mod operators;
mod overview;
mod pages;
mod partners;
mod payouts;
mod problem;
mod reports;
mod session;
mod settings;

pub use config::Config;
pub use session::COOKIE;

use axum::Router;
use axum::routing::{get, post};
use problem::Console;
use upline_domain::services::Services;
use upline_web::sign_in_pages;

/// Every route of the console, by path.
pub fn router(services: Services) -> Router {
    let router = Router::new()
        .route("/console", get(overview::overview))
        .route("/console/", get(overview::overview))
        .route(
            "/console/login",
            get(sign_in_pages::login_page::<Console>).post(sign_in_pages::request_link::<Console>),
        )
        .route(
            "/console/auth",
            get(sign_in_pages::auth_page::<Console>).post(sign_in_pages::sign_in::<Console>),
        )
        .route("/console/logout", post(auth::sign_out))
        .route(
            "/console/applications",
            get(applications::applications_page).post(applications::decide),
        )
        .route("/console/partners", get(partners::partners_page))
        .route(
            "/console/partners/{id}",
            get(partners::partner_page).post(partners::act),
        )
        .route(
            "/console/campaigns",
            get(campaigns::campaigns_page).post(campaigns::create),
        )
        .route(
            "/console/campaigns/{id}",
            get(campaigns::campaign_page).post(campaigns::update),
        )
        .route("/console/conversions", get(conversions::conversions_page))
        .route(
            "/console/conversions/{id}",
            get(conversions::conversion_page).post(conversions::act),
        )
        .route(
            "/console/payouts",
            get(payouts::payouts_page).post(payouts::start_run),
        )
        .route("/console/payouts/runs/{id}", get(payouts::run_page))
        .route(
            "/console/payouts/runs/{id}/export.csv",
            get(payouts::export),
        )
        .route(
            "/console/payouts/{id}",
            get(payouts::statement_page).post(payouts::settle),
        )
        .route("/console/reports", get(reports::reports_page))
        .route("/console/reports.csv", get(reports::reports_csv))
        .route("/console/audit", get(audit::audit_page))
        .route(
            "/console/settings",
            get(settings::settings_page).post(settings::save),
        )
        .route(
            "/console/settings/postback-secret",
            post(settings::rotate_secret),
        )
        .route("/console/settings/exchange-rates", post(settings::set_rate))
        .route("/console/settings/emails", get(emails::emails_page))
        .route(
            "/console/settings/emails/{name}",
            get(emails::email_page).post(emails::change),
        )
        .route(
            "/console/settings/emails/{name}/preview.html",
            get(emails::html_preview),
        )
        .route(
            "/console/settings/operators",
            get(operators::operators_page).post(operators::change),
        )
        .route("/console/assets/console.css", get(pages::stylesheet))
        // Not a fallback: the local host merges every function's routes into one router.
        .route("/console/{*rest}", get(problem::not_found_page));
    upline_http::edge(router, upline_http::limits::CONSOLE).with_state(services)
}
