//! A partner's performance over a period as their dashboard shows it: the report by day,
//! with the two ratios partners judge a program by — conversion rate and earnings per
//! click (EPC) — worked out exactly from the counters.

use rust_decimal::{Decimal, RoundingStrategy};
use serde::Serialize;

use super::{GroupBy, Report, summarise};
use crate::clock::Day;
use crate::error::AppError;
use crate::ids::PartnerId;
use crate::money::{Currency, format_minor};
use crate::store::Store;

#[derive(Debug, Serialize)]
pub struct Performance {
    pub report: Report,
    /// Conversions per 100 clicks, one decimal (`"2.5 %"`); `"–"` without clicks.
    pub conversion_rate: String,
    /// Commission per click in the program currency, rounded half away from zero to the
    /// minor unit; `"–"` without clicks.
    pub epc: String,
    /// Every day of the range, oldest first, days without activity included: what a
    /// chart of the period draws.
    pub days: Vec<DayFigures>,
}

/// One day's clicks, conversions and commission (minor units of the program currency).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct DayFigures {
    pub day: Day,
    pub clicks: i64,
    pub conversions: i64,
    pub commission_minor: i64,
}

/// The figures of each day from `from` to `to`, zero where no counter row exists.
pub fn day_by_day(stats: &[crate::store::StatsRow], from: Day, to: Day) -> Vec<DayFigures> {
    let mut days = Vec::new();
    let mut day = from;
    while day <= to {
        let name = day.to_string();
        let rows = stats.iter().filter(|r| r.day == name);
        let mut figures = DayFigures {
            day,
            clicks: 0,
            conversions: 0,
            commission_minor: 0,
        };
        for r in rows {
            figures.clicks += r.clicks;
            figures.conversions += r.conversions;
            figures.commission_minor += r.commission_minor;
        }
        days.push(figures);
        day = day.next();
    }
    days
}

pub async fn partner_performance(
    store: &Store,
    partner_id: &PartnerId,
    from: Day,
    to: Day,
    currency: Currency,
) -> Result<Performance, AppError> {
    let stats = store.stats_of_partner(partner_id, from, to).await?;
    let clicks: i64 = stats.iter().map(|r| r.clicks).sum();
    let conversions: i64 = stats.iter().map(|r| r.conversions).sum();
    let commission: i64 = stats.iter().map(|r| r.commission_minor).sum();
    Ok(Performance {
        report: summarise(&stats, from, to, GroupBy::Day, currency),
        days: day_by_day(&stats, from, to),
        conversion_rate: conversion_rate(conversions, clicks),
        epc: epc(commission, clicks, currency),
    })
}

pub fn conversion_rate(conversions: i64, clicks: i64) -> String {
    if clicks <= 0 {
        return "–".into();
    }
    let rate = (Decimal::from(conversions) * Decimal::ONE_HUNDRED / Decimal::from(clicks))
        .round_dp_with_strategy(1, RoundingStrategy::MidpointAwayFromZero);
    format!("{rate:.1} %")
}

pub fn epc(commission_minor: i64, clicks: i64, currency: Currency) -> String {
    if clicks <= 0 {
        return "–".into();
    }
    let per_click = (Decimal::from(commission_minor) / Decimal::from(clicks))
        .round_dp_with_strategy(0, RoundingStrategy::MidpointAwayFromZero);
    let minor = i64::try_from(per_click).expect("a quotient of an i64 by at least 1 fits");
    format_minor(minor, currency)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_day_of_the_range_has_its_figures() {
        let row = |day: &str, clicks, commission_minor| crate::store::StatsRow {
            day: day.into(),
            clicks,
            commission_minor,
            ..Default::default()
        };
        let stats = [
            row("2026-11-02", 3, 150),
            row("2026-11-02", 1, 50),
            row("2026-11-04", 7, 0),
        ];
        let from = Day::parse("2026-11-01").unwrap();
        let to = Day::parse("2026-11-04").unwrap();
        let days = day_by_day(&stats, from, to);
        let figures: Vec<_> = days
            .iter()
            .map(|d| (d.day.to_string(), d.clicks, d.commission_minor))
            .collect();
        assert_eq!(
            figures,
            [
                ("2026-11-01".to_string(), 0, 0),
                ("2026-11-02".to_string(), 4, 200),
                ("2026-11-03".to_string(), 0, 0),
                ("2026-11-04".to_string(), 7, 0),
            ]
        );
    }

    #[test]
    fn ratios_are_exact_and_rounded_once() {
        assert_eq!(conversion_rate(1, 3), "33.3 %");
        assert_eq!(conversion_rate(2, 3), "66.7 %");
        assert_eq!(conversion_rate(0, 10), "0.0 %");
        assert_eq!(conversion_rate(5, 0), "–", "no clicks, no rate");
        let usd = Currency::from_code("USD").unwrap();
        // 10.00 over 3 clicks: 333.33… cents, 3.33 a click.
        assert_eq!(epc(1_000, 3, usd), format_minor(333, usd));
        // 0.05 over 2 clicks: 2.5 cents rounds away from zero, both ways.
        assert_eq!(epc(5, 2, usd), format_minor(3, usd));
        assert_eq!(epc(-5, 2, usd), format_minor(-3, usd));
        assert_eq!(epc(100, 0, usd), "–");
        let jpy = Currency::from_code("JPY").unwrap();
        assert_eq!(epc(1_000, 3, jpy), format_minor(333, jpy));
    }
}
