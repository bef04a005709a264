//! Conversions, their order markers, commission lines and the open-work index.

use super::*;
use crate::ids::{CampaignId, ConversionId, PartnerId};

impl Store {
    pub async fn conversion(&self, id: &ConversionId) -> Result<Option<Conversion>, AppError> {
        self.get_entity(&keys::conversion(id)).await
    }

    /// Conversions still `recorded` that were stored before `before`, oldest first, at
    /// most `limit` from each partition of the open index, each with how many sweeps have
    /// re-queued it already.
    pub async fn conversions_awaiting_commission(
        &self,
        before: Timestamp,
        limit: usize,
    ) -> Result<Vec<(Conversion, i64)>, AppError> {
        let upto = keys::time_ordered(before, "");
        // DynamoDB refuses an empty key value, even as a bound; every time-ordered key
        // starts with a digit, so "0" is below them all.
        let from = "0".to_string();
        let mut out = Vec::new();
        for shard in 0..keys::AWAITING_SHARDS {
            let page = self
                .table
                .query(
                    Index::Gsi3,
                    &keys::awaiting_shard(shard),
                    &SortKeyCondition::Between(from.clone(), upto.clone()),
                    true,
                    limit,
                    None,
                )
                .await?;
            for item in &page.items {
                match decode::<Conversion>(item) {
                    Ok(c) => out.push((c, item.n("sweeps").unwrap_or(0))),
                    // One unreadable item must not stop the sweep of the others.
                    Err(e) => {
                        tracing::error!(key = ?item.key, error = %e, "an awaiting conversion does not decode")
                    }
                }
            }
        }
        Ok(out)
    }

    pub fn conversion_put(conversion: &Conversion, condition: Condition) -> TxOp {
        let sk = keys::time_ordered(conversion.created_at, &conversion.id);
        let mut item = encode(keys::conversion(&conversion.id), conversion)
            .with("status", conversion.status.as_str())
            .with("refunded_minor", conversion.amounts.refunded.minor())
            .with(
                "gsi2pk",
                keys::conversions_on(conversion.created_at.day(), &conversion.id),
            )
            .with("gsi2sk", sk.clone());
        // While its lines are not written, the conversion sits in the open index, where
        // the sweep finds it if the hand-off to the queue never happened.
        if conversion.status == crate::conversion::ConversionStatus::Recorded {
            item = item
                .with("gsi3pk", keys::awaiting_commission(&conversion.id))
                .with("gsi3sk", sk.clone());
        }
        // Unattributed conversions are the operator's record, not the partner's.
        if conversion.status != crate::conversion::ConversionStatus::Unattributed {
            item = item
                .with("gsi1pk", keys::partner_conversions(&conversion.partner_id))
                .with("gsi1sk", sk);
        }
        TxOp::Put(item, condition)
    }

    pub async fn conversion_id_for_order(
        &self,
        campaign_id: &CampaignId,
        order_id: &str,
    ) -> Result<Option<ConversionId>, AppError> {
        Ok(self
            .table
            .get(&keys::order(campaign_id, order_id))
            .await?
            .and_then(|i| i.s("owner").map(ConversionId::from)))
    }

    /// A new line: written once.
    pub fn line_put(line: &CommissionLine) -> TxOp {
        Store::line_write(line, Condition::NotExists)
    }

    /// A line (new or changed in status) under `condition`.
    pub fn line_write(line: &CommissionLine, condition: Condition) -> TxOp {
        let sk = keys::time_ordered(line.created_at, &line.id);
        let key = match &line.reverses {
            None => keys::line(&line.conversion_id, line.level),
            Some(refund_id) => keys::reversal_line(&line.conversion_id, line.level, refund_id),
        };
        let mut item = encode(key, line)
            .with("status", line.status.as_str())
            .with("gsi1pk", keys::partner_lines(&line.partner_id))
            .with("gsi1sk", sk.clone())
            .with(
                "gsi2pk",
                keys::lines_on(line.created_at.day(), &line.conversion_id),
            )
            .with("gsi2sk", sk.clone());
        // A dispute's hold, where conditions can see it: an approval racing a hold fails.
        if let Some(dispute) = &line.held_for {
            item = item.with("held_for", dispute.as_str());
        }
        // The open-lines index: pending lines per partner, and approved lines not yet in a
        // payout in one program-wide partition ordered by partner and currency, which is
        // what a payout run groups by. Every other line leaves the index.
        match (line.status, &line.payout_id) {
            (LineStatus::Pending, _) => {
                item = item
                    .with("gsi3pk", keys::pending_lines(&line.partner_id))
                    .with("gsi3sk", sk);
            }
            (LineStatus::Approved, None) => {
                item = item.with("gsi3pk", keys::PAYABLE_LINES).with(
                    "gsi3sk",
                    keys::payable_line(&line.partner_id, line.amount.currency(), &sk),
                );
            }
            (_, Some(payout_id)) => item = item.with("payout_id", payout_id.as_str()),
            _ => {}
        }
        TxOp::Put(item, condition)
    }

    pub async fn lines_of_conversion(
        &self,
        conversion_id: &ConversionId,
    ) -> Result<Vec<CommissionLine>, AppError> {
        self.query_all(
            Index::Primary,
            &keys::conversion(conversion_id).pk,
            &SortKeyCondition::BeginsWith("LINE#".into()),
        )
        .await?
        .iter()
        .map(decode)
        .collect()
    }

    pub async fn lines_of_partner(
        &self,
        partner_id: &PartnerId,
        page: &PageQuery,
    ) -> Result<PageOf<CommissionLine>, AppError> {
        self.page_of(Index::Gsi1, &keys::partner_lines(partner_id), page)
            .await
    }
}
