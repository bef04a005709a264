//! The API function: the operator's admin API (`/v1/admin/*`, admin key) and the partner
//! area (`/v1/me/*`, partner key). Every route parses, calls one use case, renders.

mod config;
pub use config::Config;

mod answers;
mod views;

use axum::Router;
use axum::routing::{delete, get, post, put};
use upline_domain::services::Services;

mod audit;
mod campaigns;
mod conversions;
mod email_templates;
mod links;
mod me;
mod my_payouts;
mod operators;
mod partners;
mod payouts;
mod program;
mod reports;
mod stores;
mod tracking;
mod unsubscribe;

/// The body of the routes that act for a reason (rejecting or suspending a partner,
/// rejecting a conversion, marking a payout failed), checked by `parse_reason`.
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ReasonRequest {
    pub(crate) reason: Option<String>,
}

pub fn router(services: Services) -> Router {
    // Every route of the function, by path; handlers live in one file per resource.
    let router = Router::new()
        .route("/health", get(|| async { "ok" }))
        // The operator's admin API.
        .route(
            "/v1/admin/program",
            get(program::get_program).put(program::put_program),
        )
        .route(
            "/v1/admin/exchange-rates",
            get(program::list_exchange_rates),
        )
        .route(
            "/v1/admin/exchange-rates/{currency}",
            put(program::put_exchange_rate),
        )
        .route("/v1/admin/campaigns", get(campaigns::list_campaigns))
        .route("/v1/admin/campaigns/{id}", put(campaigns::put_campaign))
        .route(
            "/v1/admin/campaigns/{id}/partner-terms/{partner_id}",
            put(campaigns::put_partner_terms).delete(campaigns::delete_partner_terms),
        )
        .route(
            "/v1/admin/campaigns/{id}/group-terms/{group}",
            put(campaigns::put_group_terms).delete(campaigns::delete_group_terms),
        )
        .route("/v1/admin/partners", get(partners::list_partners))
        .route(
            "/v1/admin/partners/{id}/approve",
            post(partners::approve_partner),
        )
        .route("/v1/admin/partners/{id}/reject", post(partners::reject))
        .route("/v1/admin/partners/{id}/suspend", post(partners::suspend))
        .route(
            "/v1/admin/partners/{id}/reinstate",
            post(partners::reinstate),
        )
        .route(
            "/v1/admin/partners/{id}/api-key",
            post(partners::rotate_partner_key),
        )
        .route(
            "/v1/admin/partners/{id}/recruiter",
            put(partners::set_recruiter),
        )
        .route("/v1/admin/partners/{id}/group", put(partners::set_group))
        .route("/v1/admin/links", post(links::create_link))
        .route(
            "/v1/admin/promo-codes",
            get(tracking::list_promo_codes).post(tracking::assign_promo_code),
        )
        .route(
            "/v1/admin/promo-codes/{code}",
            delete(tracking::withdraw_promo_code),
        )
        .route("/v1/admin/conversions", get(conversions::list_conversions))
        .route(
            "/v1/admin/conversions/{id}/approve",
            post(conversions::approve_conversion),
        )
        .route(
            "/v1/admin/conversions/{id}/reject",
            post(conversions::reject_conversion),
        )
        .route("/v1/admin/commissions", get(conversions::list_commissions))
        .route("/v1/admin/reports", get(reports::program_report))
        .route(
            "/v1/admin/payout-runs",
            get(payouts::list_runs).post(payouts::start_run),
        )
        .route("/v1/admin/payout-runs/{id}", get(payouts::show_run))
        .route(
            "/v1/admin/payout-runs/{id}/export",
            get(payouts::export_run),
        )
        .route("/v1/admin/payouts/{id}", get(payouts::show_payout))
        .route("/v1/admin/payouts/{id}/paid", post(payouts::mark_paid))
        .route("/v1/admin/payouts/{id}/failed", post(payouts::mark_failed))
        .route(
            "/v1/admin/email-templates",
            get(email_templates::list_templates),
        )
        .route(
            "/v1/admin/email-templates/{name}",
            get(email_templates::show_template)
                .put(email_templates::save_template)
                .delete(email_templates::reset_template),
        )
        .route("/v1/admin/operators", get(operators::list_operators))
        .route(
            "/v1/admin/operators/{email}",
            put(operators::put_operator).delete(operators::delete_operator),
        )
        .route("/v1/admin/stores", get(stores::list_stores))
        .route(
            "/v1/admin/stores/{id}",
            get(stores::show_store)
                .put(stores::put_store)
                .delete(stores::delete_store),
        )
        .route(
            "/v1/admin/stores/{id}/deliveries",
            get(stores::store_deliveries),
        )
        .route("/v1/admin/audit-log", get(audit::list_audit_log))
        // The partner area.
        .route("/v1/me", get(me::me).patch(me::update_profile))
        .route("/v1/me/api-key", post(me::rotate_my_key))
        .route("/v1/me/links", get(me::my_links).post(me::create_my_link))
        .route("/v1/me/commissions", get(me::my_commissions))
        .route("/v1/me/stats", get(me::my_stats))
        .route("/v1/me/downline", get(me::my_downline))
        .route("/v1/me/promo-codes", get(tracking::my_promo_codes))
        .route(
            "/v1/me/postback",
            get(tracking::my_postback)
                .put(tracking::set_my_postback)
                .delete(tracking::remove_my_postback),
        )
        .route(
            "/v1/me/postback/deliveries",
            get(tracking::my_postback_deliveries),
        )
        .route("/v1/me/balance", get(my_payouts::my_balance))
        .route("/v1/me/payouts", get(my_payouts::my_payouts))
        .route("/v1/me/payouts/{id}", get(my_payouts::my_payout))
        .route(
            "/v1/me/payout-details",
            put(my_payouts::set_my_payout_details).get(my_payouts::my_payout_details),
        )
        // Public: the unsubscribe link of partner emails.
        .route(
            "/v1/unsubscribe",
            get(unsubscribe::unsubscribe_page).post(unsubscribe::unsubscribe),
        );
    let router = upline_http::idempotent(
        router,
        &services,
        upline_http::idempotency::Callers::ApiKeys,
    );
    upline_http::edge(router, upline_http::limits::API).with_state(services)
}

pub(crate) use upline_http::auth::{Admin, CallingPartner};
