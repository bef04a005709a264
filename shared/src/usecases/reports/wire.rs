//! The JSON shapes of reports, in one place: a report as the API renders it, each row
//! summed from the daily counters. Reports take no request body; their range and
//! grouping come from the query string (`parse_range`, `GroupBy::parse`).

use std::collections::BTreeMap;

use serde::Serialize;

use crate::clock::Day;
use crate::money::{Currency, format_minor};
use crate::store::StatsRow;

#[derive(Debug, Serialize, PartialEq, Eq)]
pub struct ReportRow {
    pub key: String,
    /// Gross clicks by people (bots and rejected visitors are counted apart).
    pub clicks: i64,
    pub unique_clicks: i64,
    pub bot_clicks: i64,
    pub rejected_clicks: i64,
    /// Rejected clicks by reason: `country`, `device`, `os`.
    pub rejected_by_reason: BTreeMap<&'static str, i64>,
    pub impressions: i64,
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

impl ReportRow {
    /// The row of one group: its counters summed, amounts in `currency`.
    pub(super) fn of(key: String, rows: &[&StatsRow], currency: Currency) -> Self {
        let sum = |f: fn(&StatsRow) -> i64| rows.iter().map(|r| f(r)).sum::<i64>();
        ReportRow {
            key,
            clicks: sum(|r| r.clicks),
            unique_clicks: sum(|r| r.unique_clicks),
            bot_clicks: sum(|r| r.bot_clicks),
            rejected_clicks: sum(|r| r.rejected_clicks),
            rejected_by_reason: [
                ("country", sum(|r| r.rejected_country)),
                ("device", sum(|r| r.rejected_device)),
                ("os", sum(|r| r.rejected_os)),
            ]
            .into_iter()
            .collect(),
            impressions: sum(|r| r.impressions),
            conversions: rows.iter().map(|r| r.conversions).sum(),
            revenue: format_minor(rows.iter().map(|r| r.revenue_minor).sum(), currency),
            commission: format_minor(rows.iter().map(|r| r.commission_minor).sum(), currency),
        }
    }
}
