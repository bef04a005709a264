//! Settled days' counters, summed and kept in memory: what the console's overview and
//! reports read instead of every (day, campaign, partner) row on every view. A day is
//! settled two days after it ends — clicks and conversions are counted on their own day
//! within seconds (minutes behind a backlog), and later changes (refunds, rejections)
//! count on the day they happen — so a settled day's summary is read once and then kept
//! for ten minutes. Something that does reach a settled day late (a dead-letter redrive)
//! shows within those ten minutes. Recent days are always read afresh.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use super::{StatsRow, Store};
use crate::clock::{Day, Timestamp};
use crate::error::AppError;

/// Days before this many whole days ago are settled.
pub const SETTLED_AFTER_DAYS: i32 = 2;

/// How long a settled day's summary is kept before it is read again.
pub const KEEP_SECS: i64 = 600;

/// Summaries kept at most (a 90-day overview compares two periods: 180 days).
const MAX_DAYS_KEPT: usize = 400;

/// Partner rows kept at most over all days: about 40 MB at some 130 bytes a row (an
/// estimate from the row's fields, not a measurement). A program with more active
/// partners a day keeps fewer days and reads the rest.
const MAX_ROWS_KEPT: usize = 300_000;

/// One day's counters summed three ways.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DaySummary {
    pub day: Day,
    /// The whole program (`day` set, no campaign or partner).
    pub total: StatsRow,
    /// Per partner, over every campaign (`partner_id` set), by partner id.
    pub by_partner: Vec<StatsRow>,
    /// Per campaign, over every partner (`campaign_id` set), by campaign id.
    pub by_campaign: Vec<StatsRow>,
}

impl StatsRow {
    /// Adds `other`'s counters to these.
    pub fn add(&mut self, other: &StatsRow) {
        self.clicks += other.clicks;
        self.unique_clicks += other.unique_clicks;
        self.bot_clicks += other.bot_clicks;
        self.rejected_clicks += other.rejected_clicks;
        self.rejected_country += other.rejected_country;
        self.rejected_device += other.rejected_device;
        self.rejected_os += other.rejected_os;
        self.impressions += other.impressions;
        self.conversions += other.conversions;
        self.revenue_minor += other.revenue_minor;
        self.commission_minor += other.commission_minor;
    }
}

impl DaySummary {
    /// The summary of `day` from its counter rows.
    pub fn of(day: Day, rows: &[StatsRow]) -> Self {
        let mut total = StatsRow {
            day: day.to_string(),
            ..StatsRow::default()
        };
        let mut partners: HashMap<&str, StatsRow> = HashMap::new();
        let mut campaigns: HashMap<&str, StatsRow> = HashMap::new();
        for r in rows {
            total.add(r);
            partners
                .entry(&r.partner_id)
                .or_insert_with(|| StatsRow {
                    day: r.day.clone(),
                    partner_id: r.partner_id.clone(),
                    ..StatsRow::default()
                })
                .add(r);
            campaigns
                .entry(&r.campaign_id)
                .or_insert_with(|| StatsRow {
                    day: r.day.clone(),
                    campaign_id: r.campaign_id.clone(),
                    ..StatsRow::default()
                })
                .add(r);
        }
        let mut by_partner: Vec<StatsRow> = partners.into_values().collect();
        by_partner.sort_by(|a, b| a.partner_id.cmp(&b.partner_id));
        let mut by_campaign: Vec<StatsRow> = campaigns.into_values().collect();
        by_campaign.sort_by(|a, b| a.campaign_id.cmp(&b.campaign_id));
        DaySummary {
            day,
            total,
            by_partner,
            by_campaign,
        }
    }
}

/// The summaries a store keeps: (when read, summary) by day.
#[derive(Default)]
pub(crate) struct Summaries(Mutex<HashMap<Day, (Timestamp, Arc<DaySummary>)>>);

impl Summaries {
    fn kept(&self, day: Day, now: Timestamp) -> Option<Arc<DaySummary>> {
        let kept = self.0.lock().unwrap_or_else(|e| e.into_inner());
        kept.get(&day)
            .filter(|(read_at, _)| now.secs() - read_at.secs() < KEEP_SECS)
            .map(|(_, s)| s.clone())
    }

    fn keep(&self, summary: Arc<DaySummary>, now: Timestamp) {
        let mut kept = self.0.lock().unwrap_or_else(|e| e.into_inner());
        kept.retain(|_, (read_at, _)| now.secs() - read_at.secs() < KEEP_SECS);
        let rows: usize = kept.values().map(|(_, s)| s.by_partner.len()).sum();
        if kept.len() >= MAX_DAYS_KEPT || rows + summary.by_partner.len() > MAX_ROWS_KEPT {
            return;
        }
        kept.insert(summary.day, (now, summary));
    }
}

impl Store {
    /// The summaries of `days` as of `now`: settled days from memory when read in the last
    /// ten minutes, every other day from its counter rows.
    pub async fn day_summaries(
        &self,
        days: &[Day],
        now: Timestamp,
    ) -> Result<Vec<Arc<DaySummary>>, AppError> {
        let settled_before = Day(now.day().0 - SETTLED_AFTER_DAYS);
        let mut out = Vec::with_capacity(days.len());
        for &day in days {
            let settled = day < settled_before;
            if settled && let Some(s) = self.summaries.kept(day, now) {
                out.push(s);
                continue;
            }
            let rows = self.stats_on_days(&[day]).await?;
            let summary = Arc::new(DaySummary::of(day, &rows));
            if settled {
                self.summaries.keep(summary.clone(), now);
            }
            out.push(summary);
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(partner: &str, campaign: &str, clicks: i64, commission_minor: i64) -> StatsRow {
        StatsRow {
            day: "2026-11-02".into(),
            partner_id: partner.into(),
            campaign_id: campaign.into(),
            clicks,
            commission_minor,
            ..StatsRow::default()
        }
    }

    #[test]
    fn a_day_is_summed_for_the_program_each_partner_and_each_campaign() {
        let day = Day::parse("2026-11-02").unwrap();
        let s = DaySummary::of(
            day,
            &[
                row("p-a", "c-1", 3, 100),
                row("p-a", "c-2", 2, 50),
                row("p-b", "c-1", 1, 0),
            ],
        );
        assert_eq!((s.total.clicks, s.total.commission_minor), (6, 150));
        let partners: Vec<_> = s
            .by_partner
            .iter()
            .map(|r| (r.partner_id.as_str(), r.clicks, r.commission_minor))
            .collect();
        assert_eq!(partners, [("p-a", 5, 150), ("p-b", 1, 0)]);
        let campaigns: Vec<_> = s
            .by_campaign
            .iter()
            .map(|r| (r.campaign_id.as_str(), r.clicks))
            .collect();
        assert_eq!(campaigns, [("c-1", 4), ("c-2", 2)]);
    }

    #[test]
    fn a_settled_summary_is_kept_for_ten_minutes_only() {
        let cache = Summaries::default();
        let now = Timestamp(1_795_262_400_000);
        let day = Day(now.day().0 - 5);
        cache.keep(Arc::new(DaySummary::of(day, &[])), now);
        assert!(cache.kept(day, now.plus_secs(KEEP_SECS - 1)).is_some());
        assert!(cache.kept(day, now.plus_secs(KEEP_SECS)).is_none());
    }
}
