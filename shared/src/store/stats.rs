//! Counters: the per-day stats rows reports read.

use super::*;
use crate::ids::{CampaignId, PartnerId};

impl Store {
    /// Adds to the counters of one (day, campaign, partner) row, creating it if needed.
    pub fn stats_add(
        day: Day,
        campaign_id: &CampaignId,
        partner_id: &PartnerId,
        deltas: &[(&str, i64)],
    ) -> TxOp {
        let mut update = Update::default()
            .set("day", day.to_string())
            .set("campaign_id", campaign_id)
            .set("partner_id", partner_id)
            .set("gsi1pk", keys::partner_stats(partner_id))
            .set("gsi1sk", format!("{day}#{campaign_id}"));
        for (name, delta) in deltas {
            update = update.add(name, *delta);
        }
        TxOp::Update(
            keys::stats(day, campaign_id, partner_id),
            update,
            Condition::None,
        )
    }

    /// Adds to a partner's counters for one sub-id value (`sub` is `sub1`..`sub5`).
    pub fn sub_stats_add(
        day: Day,
        partner_id: &PartnerId,
        campaign_id: &CampaignId,
        sub: &str,
        value: &str,
        deltas: &[(&str, i64)],
    ) -> TxOp {
        let mut update = Update::default()
            .set("day", day.to_string())
            .set("campaign_id", campaign_id)
            .set("partner_id", partner_id)
            .set("sub", sub)
            .set("sub_value", value);
        for (name, delta) in deltas {
            update = update.add(name, *delta);
        }
        TxOp::Update(
            keys::sub_stats(partner_id, day, campaign_id, sub, value),
            update,
            Condition::None,
        )
    }

    /// A partner's sub-id counter rows between two days, inclusive.
    pub async fn sub_stats_of_partner(
        &self,
        partner_id: &PartnerId,
        from: Day,
        to: Day,
    ) -> Result<Vec<StatsRow>, AppError> {
        let range = SortKeyCondition::Between(format!("{from}#"), format!("{to}#\u{10ffff}"));
        let items = self
            .query_all(Index::Primary, &format!("SUBSTATS#{partner_id}"), &range)
            .await?;
        Ok(items.iter().map(stats_row).collect())
    }

    /// Every counter row of the given days.
    pub async fn stats_on_days(&self, days: &[Day]) -> Result<Vec<StatsRow>, AppError> {
        let mut rows = Vec::new();
        for day in days {
            let items = self
                .query_all(
                    Index::Primary,
                    &format!("STATS#{day}"),
                    &SortKeyCondition::All,
                )
                .await?;
            rows.extend(items.iter().map(stats_row));
        }
        Ok(rows)
    }

    /// A partner's counter rows between two days, inclusive.
    pub async fn stats_of_partner(
        &self,
        partner_id: &PartnerId,
        from: Day,
        to: Day,
    ) -> Result<Vec<StatsRow>, AppError> {
        let range = SortKeyCondition::Between(format!("{from}#"), format!("{to}#\u{10ffff}"));
        let items = self
            .query_all(Index::Gsi1, &keys::partner_stats(partner_id), &range)
            .await?;
        Ok(items.iter().map(stats_row).collect())
    }
}
