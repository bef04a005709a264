//! The program at a glance, as the console's overview shows it: the period's clicks,
//! conversions, revenue, commission and EPC against the period before, day by day, and
//! the partners and campaigns that brought the most. Everything comes from the daily
//! counters (one partition per day, settled days summed once and kept: `DaySummary`),
//! never from raw clicks or conversions.

use std::collections::BTreeMap;

use rust_decimal::{Decimal, RoundingStrategy};
use serde::Serialize;

use std::sync::Arc;

use super::{DayFigures, days, epc};
use crate::clock::{Day, Timestamp};
use crate::error::AppError;
use crate::money::{Currency, format_minor};
use crate::store::{DaySummary, StatsRow, Store};

/// How many partners and campaigns the overview ranks.
pub const TOP: usize = 5;

/// A period's totals: counts, and money in minor units of the program currency.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Totals {
    pub clicks: i64,
    pub conversions: i64,
    pub revenue_minor: i64,
    pub commission_minor: i64,
}

impl Totals {
    fn add(&mut self, r: &StatsRow) {
        self.clicks = self.clicks.saturating_add(r.clicks);
        self.conversions = self.conversions.saturating_add(r.conversions);
        self.revenue_minor = self.revenue_minor.saturating_add(r.revenue_minor);
        self.commission_minor = self.commission_minor.saturating_add(r.commission_minor);
    }

    fn of<'a>(rows: impl IntoIterator<Item = &'a StatsRow>) -> Self {
        let mut t = Totals::default();
        rows.into_iter().for_each(|r| t.add(r));
        t
    }
}

/// One figure of the period beside the period before, as shown.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Compared {
    pub name: &'static str,
    pub now: String,
    pub before: String,
    /// The change in percent, signed, one decimal (`"+12.5 %"`); `"new"` from nothing,
    /// `"–"` when both are nothing.
    pub change: String,
    /// `up`, `down` or `flat`, for the page's styling (not the only cue: the sign is in
    /// the text).
    pub direction: &'static str,
}

/// One of the partners or campaigns that earned the most commission in the period.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Ranked {
    pub id: String,
    pub clicks: i64,
    pub conversions: i64,
    pub revenue: String,
    pub commission: String,
}

#[derive(Debug, Serialize)]
pub struct Overview {
    pub from: Day,
    pub to: Day,
    pub previous_from: Day,
    pub previous_to: Day,
    pub figures: Vec<Compared>,
    pub days: Vec<DayFigures>,
    pub top_partners: Vec<Ranked>,
    pub top_campaigns: Vec<Ranked>,
}

/// The overview of the `length` days ending `to`, against the `length` days before, as
/// of `now` (settled days' summaries come from memory).
pub async fn program_overview(
    store: &Store,
    to: Day,
    length: i32,
    currency: Currency,
    now: Timestamp,
) -> Result<Overview, AppError> {
    let from = Day(to.0 - (length - 1));
    let previous_to = Day(from.0 - 1);
    let previous_from = Day(previous_to.0 - (length - 1));
    let current = store.day_summaries(&days(from, to), now).await?;
    let previous = store
        .day_summaries(&days(previous_from, previous_to), now)
        .await?;
    let totals = |summaries: &[Arc<DaySummary>]| Totals::of(summaries.iter().map(|s| &s.total));
    Ok(Overview {
        from,
        to,
        previous_from,
        previous_to,
        figures: compare(totals(&current), totals(&previous), currency),
        days: current
            .iter()
            .map(|s| DayFigures {
                day: s.day,
                clicks: s.total.clicks,
                conversions: s.total.conversions,
                commission_minor: s.total.commission_minor,
            })
            .collect(),
        top_partners: top(
            current.iter().flat_map(|s| &s.by_partner),
            |r| &r.partner_id,
            currency,
        ),
        top_campaigns: top(
            current.iter().flat_map(|s| &s.by_campaign),
            |r| &r.campaign_id,
            currency,
        ),
    })
}

/// The five figures side by side.
pub fn compare(now: Totals, before: Totals, currency: Currency) -> Vec<Compared> {
    let money = |m| format_minor(m, currency);
    let epc_minor = |t: Totals| epc(t.commission_minor, t.clicks, currency);
    vec![
        compared(
            "Clicks",
            now.clicks,
            before.clicks,
            now.clicks.to_string(),
            before.clicks.to_string(),
        ),
        compared(
            "Conversions",
            now.conversions,
            before.conversions,
            now.conversions.to_string(),
            before.conversions.to_string(),
        ),
        compared(
            "Revenue",
            now.revenue_minor,
            before.revenue_minor,
            money(now.revenue_minor),
            money(before.revenue_minor),
        ),
        compared(
            "Commission",
            now.commission_minor,
            before.commission_minor,
            money(now.commission_minor),
            money(before.commission_minor),
        ),
        // EPC compares per-click commission exactly: commission × other clicks, cross-wise.
        {
            let (a, b) = (
                i128::from(now.commission_minor) * i128::from(before.clicks.max(1)),
                i128::from(before.commission_minor) * i128::from(now.clicks.max(1)),
            );
            let (a, b) = match (now.clicks > 0, before.clicks > 0) {
                (true, true) => (a, b),
                (true, false) => (a.signum(), 0),
                (false, true) => (0, b.signum()),
                (false, false) => (0, 0),
            };
            Compared {
                change: change(a, b),
                direction: direction(a, b),
                ..compared("EPC", 0, 0, epc_minor(now), epc_minor(before))
            }
        },
    ]
}

fn compared(
    name: &'static str,
    now: i64,
    before: i64,
    shown: String,
    shown_before: String,
) -> Compared {
    let (a, b) = (i128::from(now), i128::from(before));
    Compared {
        name,
        now: shown,
        before: shown_before,
        change: change(a, b),
        direction: direction(a, b),
    }
}

fn direction(now: i128, before: i128) -> &'static str {
    match now.cmp(&before) {
        std::cmp::Ordering::Greater => "up",
        std::cmp::Ordering::Less => "down",
        std::cmp::Ordering::Equal => "flat",
    }
}

/// The change from `before` to `now` in percent, exact until the one rounding.
fn change(now: i128, before: i128) -> String {
    if before == 0 {
        return if now == 0 { "–".into() } else { "new".into() };
    }
    let (Ok(now), Ok(before)) = (i64::try_from(now), i64::try_from(before)) else {
        return "–".into();
    };
    let pct = ((Decimal::from(now) - Decimal::from(before)) * Decimal::ONE_HUNDRED
        / Decimal::from(before).abs())
    .round_dp_with_strategy(1, RoundingStrategy::MidpointAwayFromZero);
    if pct > Decimal::ZERO {
        format!("+{pct:.1} %")
    } else {
        format!("{pct:.1} %")
    }
}

fn top<'a>(
    rows: impl IntoIterator<Item = &'a StatsRow>,
    key: fn(&StatsRow) -> &String,
    currency: Currency,
) -> Vec<Ranked> {
    let mut by: BTreeMap<&str, Totals> = BTreeMap::new();
    for r in rows {
        by.entry(key(r).as_str()).or_default().add(r);
    }
    let mut ranked: Vec<(&str, Totals)> = by.into_iter().collect();
    // Most commission first, then most revenue; ids keep ties in a stable order.
    ranked.sort_by(|(a_id, a), (b_id, b)| {
        (b.commission_minor, b.revenue_minor, a_id).cmp(&(
            a.commission_minor,
            a.revenue_minor,
            b_id,
        ))
    });
    ranked
        .into_iter()
        // An upline partner earns on others' sales: commission without clicks counts.
        .filter(|(_, t)| *t != Totals::default())
        .take(TOP)
        .map(|(id, t)| Ranked {
            id: id.to_string(),
            clicks: t.clicks,
            conversions: t.conversions,
            revenue: format_minor(t.revenue_minor, currency),
            commission: format_minor(t.commission_minor, currency),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn usd() -> Currency {
        Currency::from_code("USD").unwrap()
    }

    #[test]
    fn changes_are_exact_signed_and_say_when_there_was_nothing_before() {
        assert_eq!(change(150, 100), "+50.0 %");
        assert_eq!(change(100, 150), "-33.3 %");
        assert_eq!(change(100, 100), "0.0 %");
        assert_eq!(change(7, 0), "new");
        assert_eq!(change(0, 0), "–");
        assert_eq!(change(2, 3), "-33.3 %");
    }

    #[test]
    fn epc_is_compared_per_click_not_in_total() {
        // 10.00 over 10 clicks (1.00 a click) against 10.00 over 20 clicks (0.50).
        let now = Totals {
            clicks: 10,
            commission_minor: 1000,
            ..Default::default()
        };
        let before = Totals {
            clicks: 20,
            commission_minor: 1000,
            ..Default::default()
        };
        let figures = compare(now, before, usd());
        let epc = figures.iter().find(|f| f.name == "EPC").unwrap();
        assert_eq!((epc.now.as_str(), epc.before.as_str()), ("1.00", "0.50"));
        assert_eq!((epc.change.as_str(), epc.direction), ("+100.0 %", "up"));
        let commission = figures.iter().find(|f| f.name == "Commission").unwrap();
        assert_eq!(
            (commission.change.as_str(), commission.direction),
            ("0.0 %", "flat")
        );
    }

    #[test]
    fn the_top_earners_come_first_and_idle_ones_not_at_all() {
        let row = |partner: &str, clicks, commission_minor| StatsRow {
            partner_id: partner.into(),
            campaign_id: "c".into(),
            clicks,
            commission_minor,
            ..Default::default()
        };
        let rows = [
            row("p-a", 5, 100),
            row("p-b", 1, 900),
            row("p-a", 5, 100),
            row("p-z", 0, 0),
        ];
        let ranked = top(&rows, |r| &r.partner_id, usd());
        let ids: Vec<_> = ranked
            .iter()
            .map(|r| (r.id.as_str(), r.clicks, r.commission.as_str()))
            .collect();
        assert_eq!(ids, [("p-b", 1, "9.00"), ("p-a", 10, "2.00")]);
    }
}
