//! Reports over the counters: clicks (gross, unique, bots, rejected by reason),
//! impressions, conversions, revenue and commission grouped by day, partner, campaign or
//! (for one partner) sub-id value.

mod overview;
mod performance;
mod wire;

pub use overview::{Compared, Overview, Ranked, Totals, program_overview};

pub use performance::{
    DayFigures, Performance, conversion_rate, day_by_day, epc, partner_performance,
};
pub use wire::{Report, ReportRow};

use crate::error::Invalid;
use crate::ids::PartnerId;
use std::collections::BTreeMap;

use crate::clock::{Day, Timestamp};
use crate::error::AppError;
use crate::money::Currency;
use crate::store::{StatsRow, Store};
use crate::tracking::SUB_IDS;

/// The longest range one report covers.
pub const MAX_REPORT_DAYS: i32 = 366;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GroupBy {
    Day,
    Partner,
    Campaign,
    /// By the value of one sub-id (`sub1`..`sub5`); one partner's report only.
    Sub(&'static str),
}

impl GroupBy {
    pub fn parse(text: &str) -> Result<Self, Invalid> {
        match text {
            "day" => Ok(GroupBy::Day),
            "partner" => Ok(GroupBy::Partner),
            "campaign" => Ok(GroupBy::Campaign),
            other => SUB_IDS
                .iter()
                .find(|s| **s == other)
                .map(|s| GroupBy::Sub(s))
                .ok_or_else(|| {
                    Invalid(format!(
                        "must be day, partner, campaign or sub1 to sub5, got {other:?}"
                    ))
                }),
        }
    }

    fn name(&self) -> &'static str {
        match self {
            GroupBy::Day => "day",
            GroupBy::Partner => "partner",
            GroupBy::Campaign => "campaign",
            GroupBy::Sub(s) => s,
        }
    }
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

pub fn summarise(
    stats: &[StatsRow],
    from: Day,
    to: Day,
    group_by: GroupBy,
    currency: Currency,
) -> Report {
    summarise_rows(stats.iter().collect(), from, to, group_by, currency)
}

/// [`summarise`] over rows held elsewhere (the day summaries).
pub fn summarise_rows(
    stats: Vec<&StatsRow>,
    from: Day,
    to: Day,
    group_by: GroupBy,
    currency: Currency,
) -> Report {
    let mut groups: BTreeMap<String, Vec<&StatsRow>> = BTreeMap::new();
    for &s in &stats {
        let key = match group_by {
            GroupBy::Day => s.day.clone(),
            GroupBy::Partner => s.partner_id.clone(),
            GroupBy::Campaign => s.campaign_id.clone(),
            GroupBy::Sub(_) => s.sub.split_once('=').map_or("", |(_, v)| v).to_string(),
        };
        groups.entry(key).or_default().push(s);
    }
    let all = stats;
    Report {
        from,
        to,
        currency,
        group_by: group_by.name(),
        rows: groups
            .into_iter()
            .map(|(k, rows)| ReportRow::of(k, &rows, currency))
            .collect(),
        totals: ReportRow::of("total".into(), &all, currency),
    }
}

/// The program's report as of `now`, from the day summaries (settled days come from
/// memory): by day it sums each day's total, by partner or campaign each day's rows of
/// that kind.
pub async fn program_report(
    store: &Store,
    from: Day,
    to: Day,
    group_by: GroupBy,
    currency: Currency,
    now: Timestamp,
) -> Result<Report, AppError> {
    if let GroupBy::Sub(_) = group_by {
        return Err(AppError::field(
            "group_by",
            "sub-id reports are per partner: add partner_id to the query",
        ));
    }
    let summaries = store.day_summaries(&days(from, to), now).await?;
    let rows: Vec<&StatsRow> = match group_by {
        GroupBy::Partner => summaries.iter().flat_map(|s| &s.by_partner).collect(),
        GroupBy::Campaign => summaries.iter().flat_map(|s| &s.by_campaign).collect(),
        GroupBy::Day | GroupBy::Sub(_) => summaries.iter().map(|s| &s.total).collect(),
    };
    Ok(summarise_rows(rows, from, to, group_by, currency))
}

pub async fn partner_report(
    store: &Store,
    partner_id: &PartnerId,
    from: Day,
    to: Day,
    group_by: GroupBy,
    currency: Currency,
) -> Result<Report, AppError> {
    let stats = match group_by {
        GroupBy::Sub(sub) => store
            .sub_stats_of_partner(partner_id, from, to)
            .await?
            .into_iter()
            .filter(|r| r.sub.split_once('=').is_some_and(|(k, _)| k == sub))
            .collect(),
        _ => store.stats_of_partner(partner_id, from, to).await?,
    };
    Ok(summarise(&stats, from, to, group_by, currency))
}
