//! Decide, pure: from a conversion, what its commission was loaded with and the time, the
//! lines as they are stored — the engine's ([`compute_lines_in`]) with ids, status, hold
//! and the conversion's story in their explanations — and the counter deltas. No store,
//! no clock: a redelivered conversion decides the same lines, which the store's
//! conditions keep single.

use std::collections::BTreeMap;

use crate::clock::Timestamp;
use crate::commission::{CommissionLine, LineDraft, LineStatus, Rule, compute_lines_in, line_id};
use crate::conversion::Conversion;
use crate::ids::PartnerId;
use crate::money::{Money, format_minor};
use crate::partner::PartnerStatus;
use crate::store::counters;
use crate::terms::{Cap, TermsSource};

use super::load::Inputs;

/// Counter deltas per partner, merged by counter name.
pub(super) type PerPartner = BTreeMap<PartnerId, BTreeMap<&'static str, i64>>;

/// What each of the converting partner's sub-id rows gets.
pub(super) type PerSub = [(&'static str, i64); 3];

/// Everything a conversion's commission writes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Commission {
    /// The partner's line (level 0) first, then one per paid upline level.
    pub lines: Vec<CommissionLine>,
    /// Counter deltas on the conversion's day (history as it was reported), per partner:
    /// the converting partner's conversion and revenue, every earner's commission.
    pub counters: PerPartner,
    /// What each of the converting partner's sub-id rows gets: the conversion, its
    /// revenue and their own commission.
    pub sub_counters: PerSub,
    /// The partner's commission when the conversion is paid (neither capped nor
    /// unqualified): the conversion then counts against its caps, with this amount.
    pub cap_use: Option<i64>,
}

/// The commission of `conversion` on `inputs`, decided at `now`.
pub(super) fn decide(conversion: &Conversion, inputs: &Inputs, now: Timestamp) -> Commission {
    let usage_of = |cap: &Cap| {
        inputs
            .caps
            .get(&cap.period)
            .map(|read| read.usage)
            .unwrap_or_default()
    };
    let drafts = compute_lines_in(
        &conversion.sale(),
        &inputs.terms,
        &inputs.plan,
        &conversion.partner_id,
        &inputs.upline,
        &usage_of,
        inputs.volume,
    );
    let drafts = unpaid_unless_approved(drafts, inputs.partner_status);
    let hold_until = now.plus_days(i64::from(inputs.hold_days));
    let lines: Vec<CommissionLine> = drafts
        .into_iter()
        .map(|d| stored_line(conversion, &inputs.terms_source, d, hold_until, now))
        .collect();
    let cap_use = lines
        .first()
        .filter(|l| !matches!(l.explanation.rule, Rule::Capped | Rule::NotQualified))
        .map(|direct| direct.amount.minor());
    let (counters, sub_counters) = counter_deltas(conversion, &lines);
    Commission {
        lines,
        counters,
        sub_counters,
        cap_use,
    }
}

/// A suspended (or otherwise not approved) partner's conversion is recorded but earns
/// nothing, for them or their upline: one zero line says why. A partner not on record
/// is paid as the engine says.
fn unpaid_unless_approved(drafts: Vec<LineDraft>, status: Option<PartnerStatus>) -> Vec<LineDraft> {
    let status = match status {
        Some(PartnerStatus::Approved) | None => return drafts,
        Some(status) => status,
    };
    drafts
        .into_iter()
        .filter(|d| d.level == 0)
        .map(|mut d| {
            let reason = format!("the partner was {status} when the conversion came in");
            d.explanation.summary = format!("Not paid: {reason}.");
            d.explanation.not_paid_because = Some(reason);
            d.explanation.rule = Rule::NotQualified;
            d.explanation.parts.clear();
            d.amount = Money::zero(d.amount.currency());
            d
        })
        .collect()
}

/// The line `draft` is stored as: id `<conversion>:<level>`, pending until `hold_until`,
/// its explanation saying how the conversion was credited, how a sale in another
/// currency was converted and, on the partner's own line, which terms applied when not
/// the campaign's.
fn stored_line(
    conversion: &Conversion,
    terms_source: &TermsSource,
    mut draft: LineDraft,
    hold_until: Timestamp,
    now: Timestamp,
) -> CommissionLine {
    draft.explanation.exchange = conversion.original.as_ref().map(|o| {
        format!(
            "{} {} at {} = {}",
            format_minor(o.amount.minor(), o.amount.currency()),
            o.amount.currency(),
            o.rate,
            conversion.amounts.sale
        )
    });
    draft.explanation.attribution = Some(conversion.attribution.describe());
    if draft.level == 0 && *terms_source != TermsSource::Campaign {
        draft.explanation.terms = Some(terms_source.to_string());
    }
    CommissionLine {
        id: line_id(&conversion.id, draft.level),
        conversion_id: conversion.id.clone(),
        partner_id: draft.partner_id,
        campaign_id: conversion.campaign_id.clone(),
        level: draft.level,
        amount: draft.amount,
        status: LineStatus::Pending,
        hold_until,
        explanation: draft.explanation,
        created_at: now,
        reverses: None,
        payout_id: None,
        held_for: None,
    }
}

/// Counter deltas: the converting partner gets the conversion and its revenue; every
/// earning partner gets their commission, merged per partner. The converting partner's
/// sub-id rows get the conversion, its revenue and their own commission.
fn counter_deltas(conversion: &Conversion, lines: &[CommissionLine]) -> (PerPartner, PerSub) {
    let sale = conversion.amounts.sale.minor();
    let mut per_partner = PerPartner::new();
    let own = per_partner
        .entry(conversion.partner_id.clone())
        .or_default();
    *own.entry(counters::CONVERSIONS).or_default() += 1;
    *own.entry(counters::REVENUE).or_default() += sale;
    for line in lines {
        *per_partner
            .entry(line.partner_id.clone())
            .or_default()
            .entry(counters::COMMISSION)
            .or_default() += line.amount.minor();
    }
    let own: i64 = lines
        .iter()
        .filter(|l| l.partner_id == conversion.partner_id)
        .map(|l| l.amount.minor())
        .sum();
    let per_sub = [
        (counters::CONVERSIONS, 1),
        (counters::REVENUE, sale),
        (counters::COMMISSION, own),
    ];
    (per_partner, per_sub)
}
