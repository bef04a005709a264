//! Decide, pure: from the conversion, its lines, a refund recorded earlier under the same
//! id, the refund asked for and the time, what the refund records — or why it records
//! nothing. No store, no clock: the same inputs always give the same decision, which is
//! what lets a refund that lost a race be decided again on fresh state.

use std::collections::BTreeMap;

use rust_decimal::Decimal;

use crate::clock::Timestamp;
use crate::commission::{CommissionLine, Explanation, LineStatus, Rule, reversal_amounts};
use crate::conversion::{Conversion, ConversionStatus, OriginalAmount, Refund, RefundKind};
use crate::error::AppError;
use crate::ids::{LineId, PartnerId};
use crate::money::{Currency, Money};
use crate::store::counters;

use super::parse::RefundCommand;

/// What a refund does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Decision {
    /// The refund id was recorded before, for this amount or with none given: the answer
    /// is that refund, and nothing changes.
    Repeat(Refund),
    /// A new refund, to be written as planned (boxed: it is most of the decision's size).
    Record(Box<RefundPlan>),
}

/// Everything a new refund writes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct RefundPlan {
    pub refund: Refund,
    /// One reversing line per line the refund takes something back from, level by level.
    pub reversals: Vec<CommissionLine>,
    /// The conversion with the refund added to what it had refunded.
    pub updated: Conversion,
    /// Counter deltas per partner, on the day of the refund (history stays as it was
    /// reported): the revenue off the converting partner, each reversal's commission off
    /// its partner.
    pub counters: BTreeMap<PartnerId, BTreeMap<&'static str, i64>>,
}

/// A refund's amount in the conversion's currency, and what it takes back of the
/// original amount when the sale was converted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Amount {
    minor: i64,
    original_delta: i64,
}

/// Decides `command` against `conversion` as it stands now, with its `lines` and the
/// refund `earlier` recorded under the same id, if any. Refusals are the errors the
/// caller answers with, checked in this order: the currency and amount as sent, a
/// different amount under an id already used, a commission still being computed, nothing
/// left to refund, more than what is left.
pub(super) fn decide(
    conversion: &Conversion,
    lines: &[CommissionLine],
    earlier: Option<&Refund>,
    command: &RefundCommand,
    now: Timestamp,
) -> Result<Decision, AppError> {
    let currency = conversion.amounts.currency();
    // A refund whose amount depends on what was refunded before (the rest, a total, at
    // most what is left) repeats as it was recorded, whatever has happened since.
    if let Some(earlier) = earlier
        && (command.amount.is_none() || command.up_to_rest)
    {
        return Ok(Decision::Repeat(earlier.clone()));
    }
    let amount = refund_amount(conversion, command)?;
    // A repeat of a refund already recorded answers with it.
    if let Some(earlier) = earlier {
        if earlier.amount.minor() != amount.minor && command.amount.is_some() {
            return Err(AppError::Conflict {
                field: Some("refund_id".into()),
                detail: format!(
                    "refund {} was recorded for {}; a different amount needs a new refund id",
                    command.refund_id,
                    Money::from_minor(earlier.amount.minor(), currency)
                ),
            });
        }
        return Ok(Decision::Repeat(earlier.clone()));
    }
    if conversion.status == ConversionStatus::Recorded {
        return Err(AppError::Unavailable(
            "the conversion's commission is still being computed; send the refund again shortly"
                .into(),
        ));
    }
    let remaining = remaining(conversion);
    // A capped refund never takes back more than the sale has left, also when an earlier
    // refund in the program's currency left its original-currency count behind.
    let mut amount = amount;
    if (command.up_to_rest || command.refunded_total.is_some()) && amount.minor > remaining {
        amount.minor = remaining;
    }
    if amount.minor == 0 {
        return Err(AppError::field(
            "amount",
            "the conversion is already fully refunded",
        ));
    }
    if amount.minor > remaining {
        return Err(AppError::field(
            "amount",
            format!(
                "exceeds the {} not yet refunded on this conversion",
                Money::from_minor(remaining, currency)
            ),
        ));
    }
    let refund = Refund {
        refund_id: command.refund_id.clone(),
        conversion_id: conversion.id.clone(),
        kind: command.kind,
        amount: Money::from_minor(amount.minor, currency),
        reason: command.reason.clone(),
        at: now,
    };
    let reversals = reversal_lines(conversion, lines, &refund);
    let mut updated = conversion.clone();
    updated.amounts.refunded =
        Money::from_minor(conversion.amounts.refunded.minor() + amount.minor, currency);
    updated.refunded_original_minor += amount.original_delta;
    let counters = counter_deltas(conversion, amount.minor, &reversals);
    Ok(Decision::Record(Box::new(RefundPlan {
        refund,
        reversals,
        updated,
        counters,
    })))
}

/// What is left to refund, in the conversion's currency.
fn remaining(conversion: &Conversion) -> i64 {
    conversion.amounts.sale.minor() - conversion.amounts.refunded.minor()
}

/// The amount `command` refunds: everything left when it gives none, else its amount in
/// its currency — the conversion's, or the original one of a converted sale (the
/// default for those: refunds come in the currency the sale came in).
fn refund_amount(conversion: &Conversion, command: &RefundCommand) -> Result<Amount, AppError> {
    let currency = conversion.amounts.currency();
    let original = conversion.original.as_ref();
    let refund_currency = match &command.currency {
        Some(c) => Currency::from_code(c).map_err(|e| AppError::field("currency", e))?,
        None => original.map_or(currency, |o| o.amount.currency()),
    };
    // What is left, and what was refunded, in the refund's currency.
    let (left, before) = match original {
        Some(o) if refund_currency == o.amount.currency() => (
            o.amount.minor() - conversion.refunded_original_minor,
            conversion.refunded_original_minor,
        ),
        _ => (remaining(conversion), conversion.amounts.refunded.minor()),
    };
    let m = match (&command.amount, &command.refunded_total) {
        (None, None) => {
            return Ok(Amount {
                minor: remaining(conversion),
                original_delta: original
                    .map_or(0, |o| o.amount.minor() - conversion.refunded_original_minor),
            });
        }
        (_, Some(total)) => {
            let total = Money::parse(total, refund_currency)
                .map_err(|e| AppError::field("refunded_total", e))?;
            if total.minor() <= before {
                return Err(AppError::field(
                    "refunded_total",
                    format!(
                        "is not more than the {} already refunded",
                        Money::from_minor(before, refund_currency)
                    ),
                ));
            }
            // Never past the sale: a total beyond it takes back what is left.
            Money::from_minor((total.minor() - before).min(left), refund_currency)
        }
        (Some(text), None) => {
            let m =
                Money::parse(text, refund_currency).map_err(|e| AppError::field("amount", e))?;
            if command.up_to_rest && m.minor() > left {
                Money::from_minor(left, refund_currency)
            } else {
                m
            }
        }
    };
    if m.minor() <= 0 {
        let why = if left <= 0 {
            "the conversion is already fully refunded"
        } else {
            "must be more than zero"
        };
        return Err(AppError::field("amount", why));
    }
    match original {
        Some(o) if refund_currency == o.amount.currency() => {
            in_original(o, conversion.refunded_original_minor, m.minor())
        }
        _ if refund_currency == currency => Ok(Amount {
            minor: m.minor(),
            original_delta: 0,
        }),
        _ => {
            let sent = original.map_or(String::new(), |o| {
                format!(" (sent in {})", o.amount.currency())
            });
            Err(AppError::field(
                "currency",
                format!("the conversion is in {currency}{sent}"),
            ))
        }
    }
}

/// A refund of `minor` in the original currency of a converted sale, of which `before`
/// was refunded already. The cumulative original refund is converted, so refunds that
/// add up to the original amount add up to the converted amount exactly.
fn in_original(o: &OriginalAmount, before: i64, minor: i64) -> Result<Amount, AppError> {
    let left = o.amount.minor().saturating_sub(before);
    if minor > left {
        return Err(AppError::field(
            "amount",
            format!(
                "exceeds the {} not yet refunded on this conversion",
                Money::from_minor(left, o.amount.currency())
            ),
        ));
    }
    let converted = |minor: i64| {
        o.rate.convert(minor).ok_or_else(|| {
            AppError::Internal(
                format!("the stored rate {} no longer converts {minor}", o.rate).into(),
            )
        })
    };
    Ok(Amount {
        minor: converted(before + minor)? - converted(before)?,
        original_delta: minor,
    })
}

/// The reversing lines of `refund`: each line the conversion paid (not a reversal, not
/// rejected) gives back its share, as [`reversal_amounts`] reckons it; lines with nothing
/// to give back get no reversal.
fn reversal_lines(
    conversion: &Conversion,
    lines: &[CommissionLine],
    refund: &Refund,
) -> Vec<CommissionLine> {
    let originals: Vec<&CommissionLine> = lines
        .iter()
        .filter(|l| l.reverses.is_none() && l.status != LineStatus::Rejected)
        .collect();
    let amounts: Vec<i64> = originals.iter().map(|l| l.amount.minor()).collect();
    let reversed = reversal_amounts(
        &amounts,
        conversion.amounts.sale.minor(),
        conversion.amounts.refunded.minor(),
        refund.amount.minor(),
    );
    originals
        .iter()
        .zip(&reversed)
        .filter(|(_, r)| **r > 0)
        .map(|(line, r)| reversal_line(conversion, line, refund, *r))
        .collect()
}

/// The line reversing `reversed` of `line` for `refund`.
fn reversal_line(
    conversion: &Conversion,
    line: &CommissionLine,
    refund: &Refund,
    reversed: i64,
) -> CommissionLine {
    let currency = conversion.amounts.currency();
    let now = refund.at;
    // A reversal of a line still in its hold is held with it; of an approved or paid
    // line, it counts at once.
    let (status, hold_until) = match line.status {
        LineStatus::Pending => (LineStatus::Pending, line.hold_until),
        _ => (LineStatus::Approved, now),
    };
    let share = Decimal::from(refund.amount.minor()) * Decimal::ONE_HUNDRED
        / Decimal::from(conversion.amounts.sale.minor().max(1));
    let summary = format!(
        "{} {} of {} ({}% of the sale) reverses {} of this {} line",
        if refund.kind == RefundKind::Refund {
            "Refund"
        } else {
            "Chargeback"
        },
        refund.refund_id,
        refund.amount,
        share.round_dp(2).normalize(),
        Money::from_minor(reversed, currency),
        Money::from_minor(line.amount.minor(), currency),
    );
    CommissionLine {
        id: LineId::new(format!(
            "{}:{}:{}",
            line.id,
            refund.kind.as_str(),
            refund.refund_id
        )),
        conversion_id: conversion.id.clone(),
        partner_id: line.partner_id.clone(),
        campaign_id: line.campaign_id.clone(),
        level: line.level,
        amount: Money::from_minor(-reversed, currency),
        status,
        hold_until,
        explanation: Explanation::new(Rule::Reversal, line.level, line.amount.minor(), summary),
        created_at: now,
        reverses: Some(refund.refund_id.clone()),
        payout_id: None,
        held_for: None,
    }
}

/// The counter deltas of a refund of `amount`: the revenue off the converting partner,
/// each reversal's (negative) commission onto its partner, merged per partner.
fn counter_deltas(
    conversion: &Conversion,
    amount: i64,
    reversals: &[CommissionLine],
) -> BTreeMap<PartnerId, BTreeMap<&'static str, i64>> {
    let mut per_partner: BTreeMap<PartnerId, BTreeMap<&'static str, i64>> = BTreeMap::new();
    *per_partner
        .entry(conversion.partner_id.clone())
        .or_default()
        .entry(counters::REVENUE)
        .or_default() -= amount;
    for r in reversals {
        *per_partner
            .entry(r.partner_id.clone())
            .or_default()
            .entry(counters::COMMISSION)
            .or_default() += r.amount.minor();
    }
    per_partner
}
