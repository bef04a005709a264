//! The payout stage's first job: turn a recorded conversion into commission lines — the
//! converting partner's and one per paid upline level — written with the conversion's
//! status change and the counters in one transaction, then announce them by email.
//!
//! Idempotent on the conversion: a redelivered message finds the conversion commissioned
//! (or the transaction cancelled by the lines' conditions) and only re-queues the emails,
//! whose ids are stable so the email stage sends each once.
//!
//! One module per step: `load` reads what the commission is decided on, `decide` says
//! what it is (pure, unit-tested in `tests`), `write` commits it and announces it;
//! `preview` decides a sale that did not happen and writes nothing.

mod decide;
mod load;
mod preview;
mod write;

#[cfg(test)]
mod tests;

pub use load::upline_of;
pub use preview::{PreviewRequest, preview};

use crate::commission::CommissionLine;
use crate::conversion::ConversionStatus;
use crate::error::AppError;
use crate::ids::ConversionId;
use crate::services::Services;
use crate::usecases::admin::require_program;

/// Computes and stores the lines of one conversion. Returns the lines as stored.
#[tracing::instrument(skip_all, fields(conversion_id = %conversion_id, correlation_id = %correlation_id))]
pub async fn commission_conversion(
    services: &Services,
    conversion_id: &ConversionId,
    correlation_id: &str,
) -> Result<Vec<CommissionLine>, AppError> {
    let store = &services.store;
    let conversion = store
        .conversion(conversion_id)
        .await?
        .ok_or_else(|| AppError::NotFound(format!("conversion {conversion_id}")))?;
    let program = require_program(store).await?;
    if matches!(
        conversion.status,
        ConversionStatus::Rejected | ConversionStatus::Unattributed
    ) {
        // Rejected before its commission was computed, or credited to nobody: no lines.
        return Ok(vec![]);
    }
    if conversion.status == ConversionStatus::Commissioned {
        let lines = store.lines_of_conversion(conversion_id).await?;
        write::announce(services, &program, &conversion, &lines, correlation_id).await?;
        // A redelivery also finishes refunds parked before the first delivery failed.
        crate::usecases::refunds::apply_parked(services, conversion_id).await?;
        return Ok(lines);
    }
    let inputs = load::inputs(services, &program, &conversion).await?;
    let commission = decide::decide(&conversion, &inputs, services.now());
    let lines = write::write(
        services,
        &program,
        &conversion,
        &inputs.caps,
        commission,
        correlation_id,
    )
    .await?;
    // Refunds that arrived while the lines were being computed reverse them now.
    if crate::usecases::refunds::apply_parked(services, conversion_id).await? > 0 {
        return store.lines_of_conversion(conversion_id).await;
    }
    Ok(lines)
}
