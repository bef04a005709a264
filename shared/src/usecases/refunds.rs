//! Refunds and chargebacks: a storefront reports money given back on an order, and every
//! line the conversion paid — the partner's and each upline level's — gets a reversing
//! line for its share. Nothing is edited in place; a reversal after a payout leaves the
//! partner a negative balance that their next payout absorbs.
//!
//! Idempotent on the storefront's refund id; concurrent refunds of one conversion are
//! serialised by a condition on the conversion's refunded total.

use crate::ids::{CampaignId, ConversionId, LineId, PartnerId};
use crate::messages::PostbackStatus;
use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::commission::{CommissionLine, Explanation, LineStatus, Rule, reversal_amounts};
use crate::conversion::{Conversion, ConversionStatus, Refund, RefundKind, parse_order_id};
use crate::error::{AppError, FieldErrors};
use crate::money::{Currency, Money, format_minor};
use crate::ports::{Attr, Condition, TableError, TxOp};
use crate::services::Services;
use crate::store::{Store, counters, decode, encode, keys};
use crate::usecases::admin::require_program;
use crate::usecases::input::{DecimalText, IdText};

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

async fn find_conversion(
    services: &Services,
    req: &RefundRequest,
    errors: &mut FieldErrors,
) -> Result<Option<Conversion>, AppError> {
    let store = &services.store;
    if let Some(id) = &req.conversion_id {
        let found = store.conversion(&ConversionId::from(id)).await?;
        if found.is_none() {
            errors.push("conversion_id", format!("no conversion {id}"));
        }
        return Ok(found);
    }
    let Some(order) = req.order_id.as_ref() else {
        errors.push("order_id", "is required (or give conversion_id)");
        return Ok(None);
    };
    let Some(order) = errors.take("order_id", parse_order_id(&order.0)) else {
        return Ok(None);
    };
    let campaigns: Vec<CampaignId> = match &req.campaign_id {
        Some(c) => vec![CampaignId::from(c)],
        None => store.campaigns().await?.into_iter().map(|c| c.id).collect(),
    };
    let mut found = Vec::new();
    for campaign in &campaigns {
        if let Some(id) = store.conversion_id_for_order(campaign, &order).await? {
            found.push((campaign.clone(), id));
        }
    }
    match found.as_slice() {
        [] => {
            errors.push(
                "order_id",
                format!("no conversion was recorded for order {order}"),
            );
            Ok(None)
        }
        [(_, id)] => store.conversion(id).await,
        many => {
            let names: Vec<&str> = many.iter().map(|(c, _)| c.as_str()).collect();
            errors.push(
                "campaign_id",
                format!(
                    "order {order} exists in campaigns {}: say which",
                    names.join(", ")
                ),
            );
            Ok(None)
        }
    }
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

async fn refund_once(services: &Services, req: RefundRequest) -> Result<Attempt, AppError> {
    require_program(&services.store).await?;
    let mut errors = FieldErrors::default();
    let refund_id = errors
        .required("refund_id", req.refund_id.clone())
        .and_then(|r| {
            let r = r.0.trim().to_string();
            let ok = !r.is_empty() && r.len() <= 64 && r.chars().all(|c| c.is_ascii_graphic());
            errors.take(
                "refund_id",
                if ok {
                    Ok(r)
                } else {
                    Err("must be 1 to 64 printable characters without spaces")
                },
            )
        });
    let kind = match req.kind.as_deref() {
        None | Some("refund") => Some(RefundKind::Refund),
        Some("chargeback") => Some(RefundKind::Chargeback),
        Some(other) => {
            errors.push(
                "kind",
                format!("must be refund or chargeback, got {other:?}"),
            );
            None
        }
    };
    let conversion = find_conversion(services, &req, &mut errors).await?;
    let (refund_id, kind, conversion) = errors.finish((refund_id, kind, conversion))?;
    let currency = conversion.amounts.currency();
    let remaining = conversion.amounts.sale.minor() - conversion.amounts.refunded.minor();
    // Refunds come in the currency the sale came in unless they say otherwise.
    let original = conversion.original.as_ref();
    let refund_currency = match &req.currency {
        Some(c) => Currency::from_code(c).map_err(|e| AppError::field("currency", e))?,
        None => original.map_or(currency, |o| o.amount.currency()),
    };
    let mut original_delta = 0;
    let amount = match &req.amount {
        None => {
            original_delta =
                original.map_or(0, |o| o.amount.minor() - conversion.refunded_original_minor);
            remaining
        }
        Some(a) => {
            let m =
                Money::parse(&a.0, refund_currency).map_err(|e| AppError::field("amount", e))?;
            if m.minor() <= 0 {
                return Err(AppError::field("amount", "must be more than zero"));
            }
            match original {
                Some(o) if refund_currency == o.amount.currency() => {
                    // Convert the cumulative original refund, so refunds that add up to
                    // the original amount add up to the converted amount exactly.
                    let before = conversion.refunded_original_minor;
                    let left = o.amount.minor().saturating_sub(before);
                    if m.minor() > left {
                        return Err(AppError::field(
                            "amount",
                            format!(
                                "exceeds the {} not yet refunded on this conversion",
                                Money::from_minor(left, o.amount.currency())
                            ),
                        ));
                    }
                    original_delta = m.minor();
                    let converted = |minor: i64| {
                        o.rate.convert(minor).ok_or_else(|| {
                            AppError::Internal(
                                format!("the stored rate {} no longer converts {minor}", o.rate)
                                    .into(),
                            )
                        })
                    };
                    converted(before + m.minor())? - converted(before)?
                }
                _ if refund_currency == currency => m.minor(),
                _ => {
                    let sent = original.map_or(String::new(), |o| {
                        format!(" (sent in {})", o.amount.currency())
                    });
                    return Err(AppError::field(
                        "currency",
                        format!("the conversion is in {currency}{sent}"),
                    ));
                }
            }
        }
    };

    // A repeat of a refund already recorded answers with it.
    let refund_key = keys::refund(&conversion.id, &refund_id);
    if let Some(item) = services.store.table().get(&refund_key).await? {
        let earlier: Refund = decode(&item)?;
        if earlier.amount.minor() != amount && req.amount.is_some() {
            return Err(AppError::Conflict {
                field: Some("refund_id".into()),
                detail: format!(
                    "refund {refund_id} was recorded for {}; a different amount needs a new refund id",
                    Money::from_minor(earlier.amount.minor(), currency)
                ),
            });
        }
        return outcome(services, &conversion, &earlier, false)
            .await
            .map(Attempt::Done);
    }
    if conversion.status == ConversionStatus::Recorded {
        return Err(AppError::Unavailable(
            "the conversion's commission is still being computed; send the refund again shortly"
                .into(),
        ));
    }
    if amount == 0 {
        return Err(AppError::field(
            "amount",
            "the conversion is already fully refunded",
        ));
    }
    if amount > remaining {
        return Err(AppError::field(
            "amount",
            format!(
                "exceeds the {} not yet refunded on this conversion",
                Money::from_minor(remaining, currency)
            ),
        ));
    }

    let lines = services.store.lines_of_conversion(&conversion.id).await?;
    let originals: Vec<&CommissionLine> = lines
        .iter()
        .filter(|l| l.reverses.is_none() && l.status != LineStatus::Rejected)
        .collect();
    let amounts: Vec<i64> = originals.iter().map(|l| l.amount.minor()).collect();
    let reversed = reversal_amounts(
        &amounts,
        conversion.amounts.sale.minor(),
        conversion.amounts.refunded.minor(),
        amount,
    );
    let now = services.now();
    let refund = Refund {
        refund_id: refund_id.clone(),
        conversion_id: conversion.id.clone(),
        kind,
        amount: Money::from_minor(amount, currency),
        reason: req.reason.map(|r| r.chars().take(500).collect()),
        at: now,
    };
    let share = rust_decimal::Decimal::from(amount) * rust_decimal::Decimal::ONE_HUNDRED
        / rust_decimal::Decimal::from(conversion.amounts.sale.minor().max(1));
    let mut reversals = Vec::new();
    for (line, r) in originals.iter().zip(&reversed).filter(|(_, r)| **r > 0) {
        // A reversal of a line still in its hold is held with it; of an approved or paid
        // line, it counts at once.
        let (status, hold_until) = match line.status {
            LineStatus::Pending => (LineStatus::Pending, line.hold_until),
            _ => (LineStatus::Approved, now),
        };
        reversals.push(CommissionLine {
            id: LineId::new(format!("{}:{}:{}", line.id, kind.as_str(), refund_id)),
            conversion_id: conversion.id.clone(),
            partner_id: line.partner_id.clone(),
            campaign_id: line.campaign_id.clone(),
            level: line.level,
            amount: Money::from_minor(-r, currency),
            status,
            hold_until,
            explanation: Explanation {
                rule: Rule::Reversal,
                level: line.level,
                base_minor: line.amount.minor(),
                rate: None,
                cpa_minor: None,
                parts: vec![],
                not_paid_because: None,
                exchange: None,
                terms: None,
                tier: None,
                renewal: None,
                attribution: None,
                summary: format!(
                    "{} {refund_id} of {} ({}% of the sale) reverses {} of this {} line",
                    if kind == RefundKind::Refund {
                        "Refund"
                    } else {
                        "Chargeback"
                    },
                    Money::from_minor(amount, currency),
                    share.round_dp(2).normalize(),
                    Money::from_minor(*r, currency),
                    Money::from_minor(line.amount.minor(), currency),
                ),
            },
            created_at: now,
            reverses: Some(refund_id.clone()),
            payout_id: None,
        });
    }

    let mut updated = conversion.clone();
    updated.amounts.refunded =
        Money::from_minor(conversion.amounts.refunded.minor() + amount, currency);
    updated.refunded_original_minor += original_delta;
    let mut ops = vec![
        Store::conversion_put(
            &updated,
            Condition::AttrEquals(
                "refunded_minor".into(),
                Attr::N(conversion.amounts.refunded.minor()),
            ),
        ),
        TxOp::Put(encode(refund_key.clone(), &refund), Condition::NotExists),
    ];
    ops.extend(reversals.iter().map(Store::line_put));
    // Counters on the day of the refund: history stays as it was reported.
    let mut per_partner: BTreeMap<&PartnerId, Vec<(&str, i64)>> = BTreeMap::new();
    per_partner
        .entry(&conversion.partner_id)
        .or_default()
        .push((counters::REVENUE, -amount));
    for r in &reversals {
        per_partner
            .entry(&r.partner_id)
            .or_default()
            .push((counters::COMMISSION, r.amount.minor()));
    }
    for (partner, deltas) in per_partner {
        let mut merged: BTreeMap<&str, i64> = BTreeMap::new();
        for (k, v) in deltas {
            *merged.entry(k).or_default() += v;
        }
        let merged: Vec<_> = merged.into_iter().collect();
        ops.push(Store::stats_add(
            now.day(),
            &conversion.campaign_id,
            partner,
            &merged,
        ));
    }
    match services.store.table().transact(ops).await {
        Ok(()) => {}
        Err(TableError::TransactionCancelled { .. }) => {
            // Another refund of this conversion, or this one, landed first: say which.
            if let Some(item) = services.store.table().get(&refund_key).await? {
                let earlier: Refund = decode(&item)?;
                return outcome(services, &conversion, &earlier, false)
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
        &conversion,
        PostbackStatus::Reversed,
        Some(&refund_id),
        &refund_id,
    )
    .await;
    tracing::info!(conversion_id = %conversion.id, %refund_id, amount, kind = kind.as_str(), "refund recorded");
    outcome(services, &updated, &refund, true)
        .await
        .map(Attempt::Done)
}

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
