//! Disputes (chargebacks a store reports as opened): the sale's pending commission lines
//! are held — not approved, whatever their hold period — until the dispute closes. Won,
//! the hold ends, and lines whose hold period has passed meanwhile are approved at once
//! (the approval sweep does not go back to their day). Lost, the hold ends too and the
//! refund use case reverses what is left as a chargeback, so held lines and their
//! reversals are approved together and net to zero.
//!
//! A dispute opened before the conversion's lines exist is parked beside it
//! (`refunds::parked`) and held as soon as the commission stage writes them.

use crate::commission::LineStatus;
use crate::conversion::{Conversion, ConversionStatus};
use crate::error::AppError;
use crate::ids::ConversionId;
use crate::ports::TableError;
use crate::services::Services;
use crate::store::{Store, status_is};
use crate::usecases::conversion_lifecycle::approve_line_if_due;

/// What a hold or release changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HoldChange {
    /// This many pending lines are now held (or released).
    Lines(usize),
    /// The lines do not exist yet: the hold waits beside the conversion.
    Parked,
}

/// Holds the conversion's pending lines for `dispute_id`, or parks the hold until they
/// exist.
pub async fn hold(
    services: &Services,
    conversion: &Conversion,
    dispute_id: &str,
) -> Result<HoldChange, AppError> {
    if conversion.status == ConversionStatus::Recorded {
        crate::usecases::refunds::park_hold(services, &conversion.id, dispute_id).await?;
        // The stage may have written the lines meanwhile; then hold them here.
        let now = services.store.conversion(&conversion.id).await?;
        if now.is_none_or(|c| c.status == ConversionStatus::Recorded) {
            return Ok(HoldChange::Parked);
        }
        crate::usecases::refunds::apply_parked(services, &conversion.id).await?;
    }
    hold_lines(services, &conversion.id, dispute_id)
        .await
        .map(HoldChange::Lines)
}

/// Sets `held_for` on every pending line of the conversion.
pub(crate) async fn hold_lines(
    services: &Services,
    conversion_id: &ConversionId,
    dispute_id: &str,
) -> Result<usize, AppError> {
    let lines = services.store.lines_of_conversion(conversion_id).await?;
    let ops: Vec<_> = lines
        .iter()
        .filter(|l| l.status == LineStatus::Pending && l.held_for.as_deref() != Some(dispute_id))
        .map(|l| {
            let mut held = l.clone();
            held.held_for = Some(dispute_id.to_string());
            Store::line_write(&held, status_is(LineStatus::Pending.as_str()))
        })
        .collect();
    commit(services, ops).await
}

/// Ends the hold of `dispute_id`: its parked hold is dropped, its lines released, and the
/// sale's free lines past their hold period approved now.
pub async fn release(
    services: &Services,
    conversion: &Conversion,
    dispute_id: &str,
) -> Result<HoldChange, AppError> {
    crate::usecases::refunds::drop_parked_hold(services, &conversion.id, dispute_id).await?;
    let lines = services.store.lines_of_conversion(&conversion.id).await?;
    let released: Vec<_> = lines
        .iter()
        .filter(|l| l.status == LineStatus::Pending && l.held_for.as_deref() == Some(dispute_id))
        .map(|l| {
            let mut line = l.clone();
            line.held_for = None;
            line
        })
        .collect();
    let ops = released
        .iter()
        .map(|l| {
            // Still held by this dispute (not another opened since).
            let still_held = crate::ports::Condition::All(vec![
                status_is(LineStatus::Pending.as_str()),
                crate::ports::Condition::AttrEquals(
                    "held_for".into(),
                    crate::ports::Attr::S(dispute_id.to_string()),
                ),
            ]);
            Store::line_write(l, still_held)
        })
        .collect();
    let count = commit(services, ops).await?;
    // Every line of the sale now free and past its hold is approved here: the released
    // ones, and the reversals a lost dispute's chargeback just wrote (created today, the
    // sweep would reach them only a hold period later), so the two go through together.
    let now = services.now();
    for line in services.store.lines_of_conversion(&conversion.id).await? {
        if line.status == LineStatus::Pending && line.held_for.is_none() {
            approve_line_if_due(services, line, now).await?;
        }
    }
    Ok(HoldChange::Lines(count))
}

async fn commit(services: &Services, ops: Vec<crate::ports::TxOp>) -> Result<usize, AppError> {
    let count = ops.len();
    if count == 0 {
        return Ok(0);
    }
    match services.store.table().transact(ops).await {
        Ok(()) => Ok(count),
        // A line changed meanwhile (approved, refunded): the platform's retry decides again.
        Err(TableError::TransactionCancelled { .. }) => Err(AppError::Unavailable(
            "the sale's lines changed while the dispute was applied; send it again".into(),
        )),
        Err(e) => Err(e.into()),
    }
}
