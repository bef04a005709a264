//! Write: a decided refund's transaction — the conversion under a condition on its
//! refunded total, the refund record under its id, the reversing lines and the counters —
//! then, once it committed, the best-effort notices.

use crate::conversion::Conversion;
use crate::error::AppError;
use crate::messages::PostbackStatus;
use crate::ports::{Attr, Condition, TableError, TxOp};
use crate::services::Services;
use crate::store::{Store, encode, keys};

use super::decide::RefundPlan;
use super::{Attempt, load, outcome};

/// Writes `plan`, decided on `conversion` as read. A transaction cancelled because this
/// refund id landed meanwhile answers with that refund; one that lost to another refund
/// of the conversion is [`Attempt::Raced`], to be decided again on fresh state.
pub(super) async fn write(
    services: &Services,
    conversion: &Conversion,
    plan: &RefundPlan,
) -> Result<Attempt, AppError> {
    let refund = &plan.refund;
    match services.store.table().transact(ops(conversion, plan)).await {
        Ok(()) => {}
        Err(TableError::TransactionCancelled { .. }) => {
            // Another refund of this conversion, or this one, landed first: say which.
            if let Some(earlier) =
                load::earlier_refund(services, conversion, &refund.refund_id).await?
            {
                return outcome(services, conversion, &earlier, false)
                    .await
                    .map(Attempt::Done);
            }
            return Ok(Attempt::Raced);
        }
        // DynamoDB's answer when two transactions touch the item at the same moment.
        Err(TableError::TransactionConflict) => return Ok(Attempt::Raced),
        Err(e) => return Err(e.into()),
    }
    crate::usecases::partner_postbacks::notify_after_commit(
        services,
        conversion,
        PostbackStatus::Reversed,
        Some(&refund.refund_id),
        &refund.refund_id,
    )
    .await;
    tracing::info!(
        conversion_id = %conversion.id,
        refund_id = %refund.refund_id,
        amount = refund.amount.minor(),
        kind = refund.kind.as_str(),
        "refund recorded"
    );
    outcome(services, &plan.updated, refund, true)
        .await
        .map(Attempt::Done)
}

/// The transaction of `plan`. The condition on the refunded total `conversion` was read
/// with serialises refunds of one conversion; the one on the refund's key keeps it single.
fn ops(conversion: &Conversion, plan: &RefundPlan) -> Vec<TxOp> {
    let refund = &plan.refund;
    let mut ops = vec![
        Store::conversion_put(
            &plan.updated,
            Condition::AttrEquals(
                "refunded_minor".into(),
                Attr::N(conversion.amounts.refunded.minor()),
            ),
        ),
        TxOp::Put(
            encode(keys::refund(&conversion.id, &refund.refund_id), refund),
            Condition::NotExists,
        ),
    ];
    ops.extend(plan.reversals.iter().map(Store::line_put));
    // Counters on the day of the refund: history stays as it was reported.
    ops.extend(plan.counters.iter().map(|(partner, deltas)| {
        let deltas: Vec<(&str, i64)> = deltas.iter().map(|(k, v)| (*k, *v)).collect();
        Store::stats_add(refund.at.day(), &conversion.campaign_id, partner, &deltas)
    }));
    ops
}
