//! `/portal/commissions`: the partner's commission lines, newest first, filtered by
//! status and in pages, each with why it is this amount.

use std::collections::BTreeMap;

use crate::problem::PageParams;
use axum::extract::State;
use axum::http::StatusCode;
use minijinja::context;
use serde::{Deserialize, Serialize};
use upline_domain::commission::LineStatus;
use upline_domain::money::format_minor;
use upline_domain::services::Services;
use upline_domain::store::PageQuery;
use upline_domain::usecases::partner_area::{LineOnStatement, lines_of_partner};

use crate::pages::render;
use crate::problem::PageResult;
use crate::session::SignedIn;

/// Lines on one page.
const PAGE_SIZE: usize = 25;

const STATUSES: [(&str, &str); 5] = [
    ("", "All"),
    ("pending", "Pending"),
    ("approved", "Approved"),
    ("paid", "Paid"),
    ("rejected", "Rejected"),
];

#[derive(Deserialize, Default)]
pub(crate) struct CommissionsQuery {
    #[serde(default)]
    status: String,
    #[serde(default)]
    cursor: Option<String>,
}

#[derive(Serialize)]
struct Row {
    date: String,
    campaign: String,
    order_id: String,
    level: String,
    amount: String,
    status: &'static str,
    summary: String,
    details: Vec<(String, String)>,
}

fn status_of(text: &str) -> Option<LineStatus> {
    match text {
        "pending" => Some(LineStatus::Pending),
        "approved" => Some(LineStatus::Approved),
        "paid" => Some(LineStatus::Paid),
        "rejected" => Some(LineStatus::Rejected),
        _ => None,
    }
}

fn level_text(level: u8) -> String {
    match level {
        0 => "Your sale".into(),
        1 => "Your recruit's sale".into(),
        n => format!("Level {n} of your team"),
    }
}

fn row(l: &LineOnStatement, campaigns: &BTreeMap<String, String>) -> Row {
    let line = &l.line;
    let e = &line.explanation;
    let currency = line.amount.currency();
    let details = e.details(line.reverses.as_ref());
    Row {
        date: l.converted_at.unwrap_or(line.created_at).day().to_string(),
        campaign: campaigns
            .get(line.campaign_id.as_str())
            .cloned()
            .unwrap_or_else(|| line.campaign_id.to_string()),
        order_id: l.order_id.clone().unwrap_or_default(),
        level: level_text(line.level),
        amount: format!(
            "{} {}",
            format_minor(line.amount.minor(), currency),
            currency
        ),
        status: line.status.as_str(),
        summary: e.summary.clone(),
        details,
    }
}

pub(crate) async fn commissions_page(
    State(s): State<Services>,
    who: SignedIn,
    PageParams { query: q, .. }: PageParams<CommissionsQuery>,
) -> PageResult {
    let status = status_of(&q.status);
    let page = PageQuery {
        limit: PAGE_SIZE,
        cursor: q.cursor.clone().filter(|c| !c.is_empty()),
    };
    let lines = lines_of_partner(&s.store, &who.partner.id, status, &page).await?;
    let campaigns: BTreeMap<String, String> = s
        .store
        .campaigns()
        .await?
        .into_iter()
        .map(|c| (c.id.to_string(), c.name))
        .collect();
    let rows: Vec<Row> = lines.items.iter().map(|l| row(l, &campaigns)).collect();
    let chosen = status.map_or("", |s| s.as_str());
    let next = lines.next.map(|cursor| {
        url::form_urlencoded::Serializer::new(String::new())
            .append_pair("status", chosen)
            .append_pair("cursor", &cursor)
            .finish()
    });
    Ok(render(
        StatusCode::OK,
        "commissions.html",
        &who.layout("commissions"),
        context! {
            rows,
            statuses => STATUSES,
            chosen,
            next,
            paged => page.cursor.is_some(),
        },
    ))
}
