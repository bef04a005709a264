//! The sweep that hands conversions stored but never queued to the commission stage.

use super::*;

/// How long a conversion may stay `recorded` before the sweep hands it to the commission
/// stage again: far longer than a queue hand-off takes, short enough that a partner's
/// sale shows up the same hour.
pub const STUCK_AFTER_MILLIS: i64 = 5 * 60 * 1000;

/// The most conversions one sweep re-queues from each partition of the open index; the
/// next hourly sweep takes the rest.
pub(super) const SWEEP_BATCH: usize = 200;

/// How many times the sweep re-queues one conversion before it gives up: one that the
/// commission stage dead-letters every time (a missing campaign, a bug) would otherwise
/// come back every hour and keep its dead-letter alarm ringing.
pub const MAX_SWEEPS: i64 = 3;

/// Hands conversions that were stored but never reached the commission stage (the
/// process died between the two, or the queue refused the hand-off and the storefront
/// never retried) to the stage again. Safe to repeat: the stage is idempotent on the
/// conversion id. A conversion re-queued [`MAX_SWEEPS`] times is moved out of the sweep's
/// way (to `AWAITING#GAVE_UP`) with an error in the log. Returns how many were re-queued.
#[tracing::instrument(skip_all)]
pub async fn requeue_stuck_conversions(services: &Services) -> Result<usize, AppError> {
    let before = Timestamp(services.now().millis() - STUCK_AFTER_MILLIS);
    let stuck = services
        .store
        .conversions_awaiting_commission(before, SWEEP_BATCH)
        .await?;
    let table = services.store.table();
    let still_recorded = || {
        Condition::AttrEquals(
            "status".into(),
            crate::ports::Attr::S(ConversionStatus::Recorded.as_str().into()),
        )
    };
    let mut messages = Vec::new();
    for (conversion, sweeps) in stuck {
        if conversion.status != ConversionStatus::Recorded {
            continue;
        }
        let key = keys::conversion(&conversion.id);
        let update = if sweeps >= MAX_SWEEPS {
            tracing::error!(conversion_id = %conversion.id, sweeps, "a conversion never reached its commission lines; the sweep gave up on it (see the conversions dead-letter queue)");
            crate::ports::Update::default().set("gsi3pk", keys::GAVE_UP_AWAITING)
        } else {
            crate::ports::Update::default().add("sweeps", 1)
        };
        match table.update(&key, update, still_recorded()).await {
            Ok(_) if sweeps < MAX_SWEEPS => messages.push(Message::ConversionRecorded {
                conversion_id: conversion.id.clone(),
            }),
            Ok(_) | Err(TableError::ConditionFailed) => {}
            Err(e) => {
                tracing::warn!(conversion_id = %conversion.id, error = %e, "a stuck conversion was not re-queued this time");
            }
        }
    }
    if !messages.is_empty() {
        tracing::warn!(
            count = messages.len(),
            "conversions found stuck in recorded; re-queued"
        );
        services
            .publish(QueueName::Conversions, &messages, "sweep")
            .await?;
    }
    Ok(messages.len())
}
