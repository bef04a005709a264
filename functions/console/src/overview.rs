//! `/console`: the program at a glance — the period's figures against the period before,
//! a chart per day, the top partners and campaigns, and what needs someone's attention.

use axum::extract::State;
use axum::http::StatusCode;
use minijinja::context;
use serde::{Deserialize, Serialize};
use upline_domain::partner::PartnerStatus;
use upline_domain::payout::PayoutStatus;
use upline_domain::services::Services;
use upline_domain::store::PageQuery;
use upline_domain::usecases::payouts::{payout_runs, payouts_of_run};
use upline_domain::usecases::reports::{Ranked, program_overview};

use crate::pages::render;
use crate::problem::{PageParams, PageResult};
use crate::session::SignedInOperator;

/// The periods the overview compares, in days.
pub const PERIODS: [i32; 3] = [7, 30, 90];

/// A conversion still waiting for its commission this long needs looking at (the stage
/// takes seconds; its sweep retries after minutes).
const STUCK_AFTER_SECS: i64 = 15 * 60;

/// How many stuck conversions are counted, per shard of the open-work index.
const STUCK_COUNTED: usize = 100;

/// How many of the latest payout runs count for payouts still to send.
const RECENT_RUNS: usize = 3;

#[derive(Deserialize, Default)]
pub(crate) struct OverviewQuery {
    #[serde(default)]
    days: Option<String>,
}

/// A ranked partner or campaign with the name it is shown by.
#[derive(Serialize)]
struct Named {
    name: String,
    #[serde(flatten)]
    ranked: Ranked,
}

pub(crate) async fn overview(
    State(s): State<Services>,
    who: SignedInOperator,
    PageParams { query: q, .. }: PageParams<OverviewQuery>,
) -> PageResult {
    // An unknown period shows the default rather than an error: it comes from a link.
    let days = q
        .days
        .and_then(|d| d.parse::<i32>().ok())
        .filter(|d| PERIODS.contains(d))
        .unwrap_or(30);
    let currency = who.program.currency;
    let today = s.now().day();
    let overview = program_overview(&s.store, today, days, currency, s.now()).await?;
    let chart = upline_web::chart::daily(
        &overview.days,
        currency,
        &format!(
            "Clicks, conversions and commission per day, {} to {}",
            overview.from, overview.to
        ),
    )
    // Our own markup, from numbers and dates only: safe to put in the page as it is.
    .map(minijinja::Value::from_safe_string);
    let mut top_partners = Vec::new();
    for ranked in overview.top_partners {
        let name = crate::names::partner_name(&s, &ranked.id.as_str().into()).await?;
        top_partners.push(Named { name, ranked });
    }
    let mut top_campaigns = Vec::new();
    for ranked in overview.top_campaigns {
        let name = match s.store.campaign(&ranked.id.as_str().into()).await? {
            Some(c) => c.name,
            None => ranked.id.clone(),
        };
        top_campaigns.push(Named { name, ranked });
    }
    let applications = s
        .store
        .all_partners()
        .await?
        .iter()
        .filter(|p| p.status == PartnerStatus::Pending)
        .count();
    let mut payouts_to_send = 0;
    for run in payout_runs(&s.store, &PageQuery::first(RECENT_RUNS))
        .await?
        .items
    {
        payouts_to_send += payouts_of_run(&s.store, &run.id)
            .await?
            .iter()
            .filter(|p| p.status == PayoutStatus::Pending)
            .count();
    }
    // Recorded but not commissioned for a while: the commission stage is behind or stuck.
    let stuck = s
        .store
        .conversions_awaiting_commission(s.now().plus_secs(-STUCK_AFTER_SECS), STUCK_COUNTED)
        .await?
        .len();
    let waiting = s.dead_letters_waiting().await;
    let dead_letters: u64 = waiting.iter().map(|(_, n)| n).sum();
    let dead_letter_queues: Vec<_> = waiting
        .into_iter()
        .filter(|(_, n)| *n > 0)
        .map(|(queue, n)| context! { queue => queue.as_str().replace('_', " "), count => n })
        .collect();
    Ok(render(
        StatusCode::OK,
        "overview.html",
        &who.layout("overview"),
        context! {
            days,
            periods => PERIODS,
            from => overview.from.to_string(),
            to => overview.to.to_string(),
            previous_from => overview.previous_from.to_string(),
            previous_to => overview.previous_to.to_string(),
            figures => overview.figures,
            currency => currency.code(),
            chart,
            top_partners,
            top_campaigns,
            applications,
            payouts_to_send,
            stuck,
            dead_letters,
            dead_letter_queues,
        },
    ))
}
