//! Reports over the counters: clicks, conversions, revenue and commission grouped by day,
//! partner or campaign, for the operator and for one partner.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::clock::{Day, Timestamp};
use crate::error::AppError;
use crate::money::{Currency, format_minor};
use crate::store::{StatsRow, Store};

/// The longest range one report covers.
pub const MAX_REPORT_DAYS: i32 = 366;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GroupBy {
    Day,
    Partner,
    Campaign,
}

impl GroupBy {
    pub fn parse(text: &str) -> Result<Self, String> {
        match text {
            "day" => Ok(GroupBy::Day),
            "partner" => Ok(GroupBy::Partner),
            "campaign" => Ok(GroupBy::Campaign),
            other => Err(format!("must be day, partner or campaign, got {other:?}")),
        }
    }
}

#[derive(Debug, Serialize, PartialEq, Eq)]
pub struct ReportRow {
    pub key: String,
    pub clicks: i64,
    pub conversions: i64,
    pub revenue: String,
    pub commission: String,
}

#[derive(Debug, Serialize)]
pub struct Report {
    pub from: Day,
    pub to: Day,
    pub currency: Currency,
    pub group_by: &'static str,
    pub rows: Vec<ReportRow>,
    pub totals: ReportRow,
}

/// A date range from optional `from`/`to` query values: the last 30 days by default.
pub fn parse_range(
    from: Option<&str>,
    to: Option<&str>,
    now: Timestamp,
) -> Result<(Day, Day), AppError> {
    let parse = |field: &str, v: &str| {
        Day::parse(v).ok_or_else(|| {
            AppError::field(field, format!("must be a day as YYYY-MM-DD, got {v:?}"))
        })
    };
    let to = match to {
        Some(t) => parse("to", t)?,
        None => now.day(),
    };
    let from = match from {
        Some(f) => parse("from", f)?,
        None => Day(to.0 - 29),
    };
    if from > to {
        return Err(AppError::field("from", "must not be after to"));
    }
    if to.0 - from.0 >= MAX_REPORT_DAYS {
        return Err(AppError::field(
            "from",
            format!("a range covers at most {MAX_REPORT_DAYS} days"),
        ));
    }
    Ok((from, to))
}

pub fn days(from: Day, to: Day) -> Vec<Day> {
    (from.0..=to.0).map(Day).collect()
}

fn row(key: String, rows: &[&StatsRow], currency: Currency) -> ReportRow {
    ReportRow {
        key,
        clicks: rows.iter().map(|r| r.clicks).sum(),
        conversions: rows.iter().map(|r| r.conversions).sum(),
        revenue: format_minor(rows.iter().map(|r| r.revenue_minor).sum(), currency),
        commission: format_minor(rows.iter().map(|r| r.commission_minor).sum(), currency),
    }
}

pub fn summarise(
    stats: &[StatsRow],
    from: Day,
    to: Day,
    group_by: GroupBy,
    currency: Currency,
) -> Report {
    let mut groups: BTreeMap<String, Vec<&StatsRow>> = BTreeMap::new();
    for s in stats {
        let key = match group_by {
            GroupBy::Day => s.day.clone(),
            GroupBy::Partner => s.partner_id.clone(),
            GroupBy::Campaign => s.campaign_id.clone(),
        };
        groups.entry(key).or_default().push(s);
    }
    let all: Vec<&StatsRow> = stats.iter().collect();
    Report {
        from,
        to,
        currency,
        group_by: match group_by {
            GroupBy::Day => "day",
            GroupBy::Partner => "partner",
            GroupBy::Campaign => "campaign",
        },
        rows: groups
            .into_iter()
            .map(|(k, rows)| row(k, &rows, currency))
            .collect(),
        totals: row("total".into(), &all, currency),
    }
}

pub async fn program_report(
    store: &Store,
    from: Day,
    to: Day,
    group_by: GroupBy,
    currency: Currency,
) -> Result<Report, AppError> {
    let stats = store.stats_on_days(&days(from, to)).await?;
    Ok(summarise(&stats, from, to, group_by, currency))
}

pub async fn partner_report(
    store: &Store,
    partner_id: &str,
    from: Day,
    to: Day,
    group_by: GroupBy,
    currency: Currency,
) -> Result<Report, AppError> {
    let stats = store.stats_of_partner(partner_id, from, to).await?;
    Ok(summarise(&stats, from, to, group_by, currency))
}
