//! `/portal`: the partner's dashboard — clicks, conversions, conversion rate, EPC and
//! commission over the last 7, 30 or 90 days, day by day, and their balance.

use crate::problem::PageParams;
use axum::extract::State;
use axum::http::StatusCode;
use minijinja::context;
use serde::Deserialize;
use upline_domain::services::Services;
use upline_domain::usecases::payouts::earnings_since;
use upline_domain::usecases::reports::partner_performance;

use crate::pages::render;
use crate::problem::PageResult;
use crate::session::SignedIn;

/// The periods a partner can look at, in days.
pub const PERIODS: [i64; 3] = [7, 30, 90];

#[derive(Deserialize, Default)]
pub(crate) struct DashboardQuery {
    #[serde(default)]
    days: Option<String>,
}

pub(crate) async fn dashboard(
    State(s): State<Services>,
    who: SignedIn,
    PageParams { query: q, .. }: PageParams<DashboardQuery>,
) -> PageResult {
    // An unknown period shows the default rather than an error: it comes from a link.
    let days = q
        .days
        .and_then(|d| d.parse::<i64>().ok())
        .filter(|d| PERIODS.contains(d))
        .unwrap_or(30);
    let today = s.now().day();
    let from = s.now().plus_days(1 - days).day();
    let currency = who.session.program.currency;
    let performance = partner_performance(&s.store, &who.partner.id, from, today, currency).await?;
    let earnings = earnings_since(&s, &who.partner.id, Some(from.start())).await?;
    // Our own markup, from numbers and dates only: safe to put in the page as it is.
    let chart = upline_web::chart::daily(
        &performance.days,
        currency,
        &format!("Clicks, conversions and commission per day, {from} to {today}"),
    )
    .map(minijinja::Value::from_safe_string);
    let mut rows = performance.report.rows;
    rows.reverse();
    Ok(render(
        StatusCode::OK,
        "dashboard.html",
        &who.layout("dashboard"),
        context! {
            partner_name => who.partner.name,
            days,
            periods => PERIODS,
            from => from.to_string(),
            to => today.to_string(),
            totals => performance.report.totals,
            conversion_rate => performance.conversion_rate,
            epc => performance.epc,
            currency => currency.code(),
            rows,
            earnings,
            chart,
        },
    ))
}
