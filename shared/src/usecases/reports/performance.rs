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
