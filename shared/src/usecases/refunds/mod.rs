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
mod parse;
mod write;

#[cfg(test)]
mod tests;

use serde::{Deserialize, Serialize};

use crate::conversion::{Conversion, Refund, RefundKind};
use crate::error::AppError;
use crate::money::{Currency, format_minor};
use crate::services::Services;
use crate::usecases::admin::require_program;
use crate::usecases::input::{DecimalText, IdText};

use decide::Decision;

/// Unknown fields are ignored, as on postbacks.
#[derive(Debug, Deserialize, Default, Clone)]
pub struct RefundRequest {
    /// The storefront's id for this refund; repeats with the same id change nothing.
    pub refund_id: Option<IdText>,
    /// Which conversion: its id, or the order id (with the campaign when several
    /// campaigns could have it).
    pub conversion_id: Option<String>,
    pub order_id: Option<IdText>,
    pub campaign_id: Option<String>,
    /// How much was given back; everything not yet refunded when absent.
    pub amount: Option<DecimalText>,
    pub currency: Option<String>,
    /// `refund` (default) or `chargeback`.
    pub kind: Option<String>,
    pub reason: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct RefundOutcome {
    pub refund_id: String,
    pub conversion_id: String,
    pub kind: RefundKind,
    pub amount: String,
    pub currency: Currency,
    /// The conversion's refunded total after this refund.
    pub refunded_total: String,
    /// False when this repeated a refund already recorded.
    pub created: bool,
    /// The reversing lines written, level by level.
    pub reversals: Vec<ReversalView>,
}

#[derive(Debug, Serialize)]
pub struct ReversalView {
    pub partner_id: String,
    pub level: u8,
    pub amount: String,
}

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
