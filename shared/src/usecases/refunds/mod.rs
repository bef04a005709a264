//! Refunds and chargebacks: a storefront reports money given back on an order, and every
//! line the conversion paid — the partner's and each upline level's — gets a reversing
//! line for its share. Nothing is edited in place; a reversal after a payout leaves the
//! partner a negative balance that their next payout absorbs.
//!
//! Idempotent on the storefront's refund id; concurrent refunds of one conversion are
//! serialised by a condition on the conversion's refunded total.
//!
//! One module per step: `parse` reads the request, `load` reads what the refund is
//! decided on, `decide` says what it does (pure, unit-tested in `tests`), `write`
//! commits it and sends the notices.

mod decide;
mod load;
mod parked;
mod parse;
mod wire;
mod write;

#[cfg(test)]
mod tests;

use crate::conversion::{Conversion, Refund};
use crate::error::AppError;
use crate::money::format_minor;
use crate::services::Services;
use crate::usecases::admin::require_program;

use decide::Decision;
pub use parked::{apply_parked, drop_parked_hold, park, park_hold};
pub use wire::{RefundOutcome, RefundRequest, ReversalView};

/// How often a refund that lost a race with another refund of the same conversion is
/// tried again, on fresh state, before the caller is asked to resend.
const REFUND_ATTEMPTS: usize = 64;

/// Records a refund. Refunds of one conversion are serialised by a condition on its
/// refunded total; one that loses that race is recomputed from the new total and tried
/// again here, so concurrent refunds each land (or are refused for exceeding what is
/// left) instead of answering 503.
#[tracing::instrument(skip_all, fields(refund_id = ?req.refund_id.as_ref().map(|r| &r.0)))]
pub async fn refund_conversion(
    services: &Services,
    req: RefundRequest,
) -> Result<RefundOutcome, AppError> {
    for _ in 1..REFUND_ATTEMPTS {
        match refund_once(services, req.clone()).await? {
            Attempt::Done(outcome) => return Ok(outcome),
            Attempt::Raced => continue,
        }
    }
    match refund_once(services, req).await? {
        Attempt::Done(outcome) => Ok(outcome),
        Attempt::Raced => Err(AppError::Unavailable(
            "other refunds of this conversion kept landing first; send it again".into(),
        )),
    }
}

enum Attempt {
    Done(RefundOutcome),
    /// Another refund of the conversion changed its refunded total first.
    Raced,
}

/// One try: parse, load, decide, write. Everything it reads is read afresh, so a try
/// after a lost race decides on the state that won it.
async fn refund_once(services: &Services, req: RefundRequest) -> Result<Attempt, AppError> {
    require_program(&services.store).await?;
    let mut parsed = parse::parse(&req);
    let conversion = match &parsed.target {
        Some(target) => load::find_conversion(services, target, &mut parsed.errors).await?,
        None => None,
    };
    let (command, conversion) = parsed.finish(conversion)?;
    let earlier = load::earlier_refund(services, &conversion, &command.refund_id).await?;
    let lines = load::lines(services, &conversion).await?;
    let decision = decide::decide(
        &conversion,
        &lines,
        earlier.as_ref(),
        &command,
        services.now(),
    )?;
    match decision {
        Decision::Repeat(earlier) => outcome(services, &conversion, &earlier, false)
            .await
            .map(Attempt::Done),
        Decision::Record(plan) => write::write(services, &conversion, &plan).await,
    }
}

/// The answer for `refund` on `conversion`, read back from the store: the conversion's
/// refunded total as it stands and the reversing lines the refund wrote.
async fn outcome(
    services: &Services,
    conversion: &Conversion,
    refund: &Refund,
    created: bool,
) -> Result<RefundOutcome, AppError> {
    let conversion = services
        .store
        .conversion(&conversion.id)
        .await?
        .unwrap_or_else(|| conversion.clone());
    let lines = services.store.lines_of_conversion(&conversion.id).await?;
    let currency = conversion.amounts.currency();
    Ok(RefundOutcome {
        refund_id: refund.refund_id.clone(),
        conversion_id: conversion.id.to_string(),
        kind: refund.kind,
        amount: format_minor(refund.amount.minor(), currency),
        currency,
        refunded_total: format_minor(conversion.amounts.refunded.minor(), currency),
        created,
        reversals: lines
            .iter()
            .filter(|l| l.reverses.as_deref() == Some(refund.refund_id.as_str()))
            .map(|l| ReversalView {
                partner_id: l.partner_id.to_string(),
                level: l.level,
                amount: format_minor(l.amount.minor(), currency),
            })
            .collect(),
    })
}
