//! The payout stage's first job: turn a recorded conversion into commission lines — the
//! converting partner's and one per paid upline level — written with the conversion's
//! status change and the counters in one transaction, then announce them by email.
//!
//! Idempotent on the conversion: a redelivered message finds the conversion commissioned
//! (or the transaction cancelled by the lines' conditions) and only re-queues the emails,
//! whose ids are stable so the email stage sends each once.

use crate::emails::EmailTemplate;
use crate::ids::{ConversionId, PartnerId};
use crate::messages::PostbackStatus;
use std::collections::BTreeMap;

use std::collections::BTreeSet;

use crate::commission::{
    CommissionLine, LineStatus, Rule, UplineSeat, compute_lines_in, display_amount, line_id,
};
use crate::conversion::{Conversion, ConversionStatus};
use crate::error::AppError;
use crate::messages::{EmailRequest, Message};
use crate::partner::PartnerStatus;
use crate::ports::{Condition, Key, Update};
use crate::ports::{QueueName, TableError, TxOp};
use crate::program::{Program, SkipRule};
use crate::services::Services;
use crate::store::keys;
use crate::store::{Store, counters, status_is};
use crate::terms::{Cap, CapPeriod, CapUsage, TermsSource, TierUsage};
use crate::usecases::admin::require_program;

/// How far up a chain compression looks for approved recruiters.
const MAX_CHAIN_WALK: usize = 100;

/// The recruiters above `partner_id`, nearest first, one entry per paid level up to
/// `depth`: the recruiter, or [`UplineSeat::Forfeited`] for a forfeited level. A recruiter who is not
/// approved either forfeits their level (the chain continues above them at the next
/// level) or, with [`SkipRule::Compress`], is passed over so the next approved recruiter
/// takes the level.
pub async fn upline_of(
    services: &Services,
    partner_id: &PartnerId,
    depth: u8,
    skip: SkipRule,
) -> Result<Vec<UplineSeat>, AppError> {
    let mut chain = Vec::new();
    let mut seen = vec![partner_id.clone()];
    let mut current = services.store.partner(partner_id).await?;
    while chain.len() < usize::from(depth) && seen.len() <= MAX_CHAIN_WALK {
        let Some(recruiter_id) = current.as_ref().and_then(|p| p.recruited_by.clone()) else {
            break;
        };
        if seen.contains(&recruiter_id) {
            // Cycles are refused when recruiters are set; if data says otherwise, stop.
            tracing::error!(
                %partner_id,
                %recruiter_id,
                "recruitment cycle found; upline cut"
            );
            break;
        }
        seen.push(recruiter_id.clone());
        let recruiter = services.store.partner(&recruiter_id).await?;
        let eligible = recruiter
            .as_ref()
            .is_some_and(|r| r.status == PartnerStatus::Approved);
        match (eligible, skip) {
            (true, _) => chain.push(UplineSeat::Earner(recruiter_id)),
            (false, SkipRule::Forfeit) => chain.push(UplineSeat::Forfeited),
            (false, SkipRule::Compress) => {}
        }
        current = recruiter;
    }
    Ok(chain)
}

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
        announce(services, &program, &conversion, &lines, correlation_id).await?;
        return Ok(lines);
    }
    let campaign = store
        .campaign(&conversion.campaign_id)
        .await?
        .ok_or_else(|| AppError::NotFound(format!("campaign {}", conversion.campaign_id)))?;

    // A campaign may pay its upline on its own plan.
    let plan = campaign
        .upline
        .clone()
        .unwrap_or_else(|| program.upline.clone());
    let upline = upline_of(services, &conversion.partner_id, plan.depth, plan.skip).await?;
    let sale = conversion.sale();
    let partner = store.partner(&conversion.partner_id).await?;
    let (terms, terms_source) = store.terms_for(&campaign, partner.as_ref()).await?;
    // What each cap period has used so far, read now and re-checked when writing.
    let periods: BTreeSet<CapPeriod> = terms.caps.iter().map(|c| c.period).collect();
    let mut used: BTreeMap<CapPeriod, (Key, Option<i64>, CapUsage)> = BTreeMap::new();
    for period in periods {
        let key = keys::cap_usage(
            &conversion.partner_id,
            &conversion.campaign_id,
            period,
            conversion.created_at,
        );
        let item = store.table().get(&key).await?;
        let usage = CapUsage {
            conversions: item.as_ref().and_then(|i| i.n("conversions")).unwrap_or(0),
            commission_minor: item
                .as_ref()
                .and_then(|i| i.n("commission_minor"))
                .unwrap_or(0),
        };
        used.insert(
            period,
            (key, item.as_ref().and_then(|i| i.n("conversions")), usage),
        );
    }
    let usage_of = |cap: &Cap| {
        used.get(&cap.period)
            .map(|(_, _, u)| *u)
            .unwrap_or_default()
    };
    // Only terms with tiers need the month's approved volume.
    let volume = if terms.tiers.is_empty() {
        TierUsage::default()
    } else {
        store
            .tier_volume(
                &conversion.partner_id,
                &conversion.campaign_id,
                services.now(),
            )
            .await?
    };
    let drafts = compute_lines_in(
        &sale,
        &terms,
        &plan,
        &conversion.partner_id,
        &upline,
        &usage_of,
        volume,
    );
    // A suspended (or otherwise not approved) partner's conversion is recorded but earns
    // nothing, for them or their upline: one zero line says why.
    let drafts = match partner.as_ref().map(|p| p.status) {
        Some(PartnerStatus::Approved) | None => drafts,
        Some(status) => drafts
            .into_iter()
            .filter(|d| d.level == 0)
            .map(|mut d| {
                let reason = format!("the partner was {status} when the conversion came in");
                d.explanation.summary = format!("Not paid: {reason}.");
                d.explanation.not_paid_because = Some(reason);
                d.explanation.rule = Rule::NotQualified;
                d.explanation.parts.clear();
                d.amount = crate::money::Money::zero(d.amount.currency());
                d
            })
            .collect(),
    };
    let now = services.now();
    let hold_until = now.plus_days(i64::from(program.hold_days));
    let exchange = conversion.original.as_ref().map(|o| {
        format!(
            "{} {} at {} = {}",
            crate::money::format_minor(o.amount.minor(), o.amount.currency()),
            o.amount.currency(),
            o.rate,
            sale.amount
        )
    });
    let lines: Vec<CommissionLine> = drafts
        .into_iter()
        .map(|mut d| {
            d.explanation.exchange = exchange.clone();
            d.explanation.attribution = Some(conversion.attribution.describe());
            if d.level == 0 && terms_source != TermsSource::Campaign {
                d.explanation.terms = Some(terms_source.to_string());
            }
            d
        })
        .map(|d| CommissionLine {
            id: line_id(&conversion.id, d.level),
            conversion_id: conversion.id.clone(),
            partner_id: d.partner_id,
            campaign_id: conversion.campaign_id.clone(),
            level: d.level,
            amount: d.amount,
            status: LineStatus::Pending,
            hold_until,
            explanation: d.explanation,
            created_at: now,
            reverses: None,
            payout_id: None,
        })
        .collect();

    let mut commissioned = conversion.clone();
    commissioned.status = ConversionStatus::Commissioned;
    let mut ops = vec![Store::conversion_put(
        &commissioned,
        status_is(ConversionStatus::Recorded.as_str()),
    )];
    ops.extend(lines.iter().map(Store::line_put));
    ops.extend(counter_updates(&conversion, &lines));
    // A paid conversion uses its caps; the condition on the count read above makes a
    // racing conversion's transaction fail, so two cannot take the last place.
    let paid = lines
        .first()
        .filter(|l| !matches!(l.explanation.rule, Rule::Capped | Rule::NotQualified));
    if let Some(direct) = paid {
        for (key, read, _) in used.values() {
            let condition = match read {
                None => Condition::NotExists,
                Some(n) => Condition::AttrEquals("conversions".into(), crate::ports::Attr::N(*n)),
            };
            let update = Update::default()
                .add("conversions", 1)
                .add("commission_minor", direct.amount.minor());
            ops.push(TxOp::Update(key.clone(), update, condition));
        }
    }
    match store.table().transact(ops).await {
        Ok(()) => {}
        Err(TableError::TransactionCancelled { .. }) => {
            // Another delivery of this message got there first; its lines stand.
            let stored = store.lines_of_conversion(conversion_id).await?;
            if stored.is_empty() {
                return Err(AppError::Unavailable(
                    format!("conversion {conversion_id} changed while being commissioned").into(),
                ));
            }
            announce(services, &program, &conversion, &stored, correlation_id).await?;
            return Ok(stored);
        }
        Err(e) => return Err(e.into()),
    }
    announce(services, &program, &conversion, &lines, correlation_id).await?;
    Ok(lines)
}

/// Counter deltas: the converting partner gets the conversion and its revenue; every
/// earning partner gets their commission. One update per (day, campaign, partner).
fn counter_updates(conversion: &Conversion, lines: &[CommissionLine]) -> Vec<TxOp> {
    let mut per_partner: BTreeMap<&PartnerId, Vec<(&str, i64)>> = BTreeMap::new();
    per_partner
        .entry(&conversion.partner_id)
        .or_default()
        .extend([
            (counters::CONVERSIONS, 1),
            (counters::REVENUE, conversion.amounts.sale.minor()),
        ]);
    for line in lines {
        per_partner
            .entry(&line.partner_id)
            .or_default()
            .push((counters::COMMISSION, line.amount.minor()));
    }
    // The converting partner's sub-id rows get the sale and their own commission.
    let own: i64 = lines
        .iter()
        .filter(|l| l.partner_id == conversion.partner_id)
        .map(|l| l.amount.minor())
        .sum();
    let sub_rows: Vec<TxOp> = conversion
        .subs
        .iter()
        .map(|(sub, value)| {
            Store::sub_stats_add(
                conversion.created_at.day(),
                &conversion.partner_id,
                &conversion.campaign_id,
                sub,
                value,
                &[
                    (counters::CONVERSIONS, 1),
                    (counters::REVENUE, conversion.amounts.sale.minor()),
                    (counters::COMMISSION, own),
                ],
            )
        })
        .collect();
    per_partner
        .into_iter()
        .map(|(partner, deltas)| {
            let mut merged: BTreeMap<&str, i64> = BTreeMap::new();
            for (name, d) in deltas {
                *merged.entry(name).or_default() += d;
            }
            let merged: Vec<_> = merged.into_iter().collect();
            Store::stats_add(
                conversion.created_at.day(),
                &conversion.campaign_id,
                partner,
                &merged,
            )
        })
        .chain(sub_rows)
        .collect()
}

async fn announce(
    services: &Services,
    program: &Program,
    conversion: &Conversion,
    lines: &[CommissionLine],
    correlation_id: &str,
) -> Result<(), AppError> {
    let campaign_name = services
        .store
        .campaign(&conversion.campaign_id)
        .await?
        .map_or_else(|| conversion.campaign_id.to_string(), |c| c.name);
    let emails: Vec<Message> = lines
        .iter()
        .map(|line| {
            Message::EmailRequested(EmailRequest {
                email_id: format!("commission:{}", line.id),
                partner_id: line.partner_id.clone(),
                template: EmailTemplate::CommissionEarned,
                data: serde_json::json!({
                    "program_name": program.name,
                    "campaign_name": campaign_name,
                    "conversion_id": conversion.id,
                    "amount": display_amount(line.amount.minor(), line.amount.currency()),
                    "level": line.level,
                    "summary": line.explanation.summary,
                }),
            })
        })
        .collect();
    services
        .publish(QueueName::Emails, &emails, correlation_id)
        .await?;
    // The partner's own tracker hears of it too (once: the delivery id is stable).
    crate::usecases::partner_postbacks::notify(
        services,
        conversion,
        PostbackStatus::Pending,
        None,
        correlation_id,
    )
    .await
}
