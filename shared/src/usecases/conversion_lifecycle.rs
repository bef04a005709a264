//! Commission lifecycle over time: lines move from pending to approved once their hold
//! period has passed. Run by the schedule; safe to run twice at once or to re-run, because
//! each approval is conditional on the line still being pending.

use crate::clock::Day;
use crate::commission::{CommissionLine, LineStatus};
use crate::emails::EmailTemplate;
use crate::error::AppError;
use crate::ids::ConversionId;
use crate::ids::PartnerId;
use crate::messages::PostbackStatus;
use crate::ports::{Index, Item, SortKeyCondition, TableError};
use crate::services::Services;
use crate::store::{Store, decode, keys, status_is};
use crate::usecases::partner_postbacks;

/// How far back a sweep looks at most: the first when no commission has recorded the
/// sweep's start yet (`Store::record_sweep_start`).
const FIRST_SWEEP_DAYS: i32 = 366;

/// Approves every pending line whose hold has ended. Lines are found through the per-day
/// line index, from the day after the last fully swept day up to the last day that can
/// hold due lines; returns how many lines were approved.
#[tracing::instrument(skip_all)]
pub async fn approve_due_lines(services: &Services) -> Result<usize, AppError> {
    let store = &services.store;
    let Some(program) = store.program().await? else {
        return Ok(0);
    };
    let now = services.now();
    // Lines created at or before this instant have passed their hold.
    let cutoff = now.plus_days(-i64::from(program.hold_days));
    let sweep = store.table().get(&keys::approval_sweep()).await?;
    // Never further back than a year: a sweep that has not run for longer than that
    // (the schedule runs hourly) leaves older lines to an operator's decision.
    let earliest = cutoff.day().0 - FIRST_SWEEP_DAYS;
    let from = Day(sweep
        .as_ref()
        .and_then(|i| i.n("approved_through_day"))
        .and_then(|d| i32::try_from(d.saturating_add(1)).ok())
        .map_or(earliest, |d| d.max(earliest)));
    let mut approved = 0;
    for day in from.0..=cutoff.day().0 {
        // The order of a day's lines does not matter here, so its shards are read one
        // after another rather than merged.
        for partition in keys::lines_of_day(Day(day)) {
            let mut cursor: Option<String> = None;
            loop {
                let page = store
                    .table()
                    .query(
                        Index::Gsi2,
                        &partition,
                        &SortKeyCondition::All,
                        true,
                        200,
                        cursor.as_deref(),
                    )
                    .await?;
                for item in &page.items {
                    approved += usize::from(approve_if_due(services, item, now).await?);
                }
                match page.next {
                    Some(c) => cursor = Some(c),
                    None => break,
                }
            }
        }
    }
    // Days before the cutoff's day are done for good; the cutoff's own day is swept again.
    let done_through = cutoff.day().0 - 1;
    if done_through >= from.0 {
        let marker =
            Item::new(keys::approval_sweep()).with("approved_through_day", i64::from(done_through));
        store
            .table()
            .put(marker, crate::ports::Condition::None)
            .await?;
    }
    Ok(approved)
}

async fn approve_if_due(
    services: &Services,
    item: &Item,
    now: crate::clock::Timestamp,
) -> Result<bool, AppError> {
    approve_line_if_due(services, decode(item)?, now).await
}

/// Approves `line` if it is pending, its hold has passed and no dispute holds it: what
/// the sweep does for each line it lists, and what a released dispute does at once for
/// lines whose day the sweep has already passed.
pub(crate) async fn approve_line_if_due(
    services: &Services,
    mut line: CommissionLine,
    now: crate::clock::Timestamp,
) -> Result<bool, AppError> {
    let store = &services.store;
    // A line held for an open dispute waits for the dispute, not the clock.
    if line.status != LineStatus::Pending || line.hold_until > now || line.held_for.is_some() {
        return Ok(false);
    }
    line.status = LineStatus::Approved;
    // Still pending, and not held by a dispute opened since it was read.
    let still_free = crate::ports::Condition::All(vec![
        status_is(LineStatus::Pending.as_str()),
        crate::ports::Condition::AttrMissing("held_for".into()),
    ]);
    let mut ops = vec![Store::line_write(&line, still_free)];
    // An approved partner line counts toward the partner's tiers for this month.
    let conversion = if line.level == 0 && line.reverses.is_none() {
        store.conversion(&line.conversion_id).await?
    } else {
        None
    };
    if let Some(c) = &conversion {
        ops.push(Store::tier_volume_add(c, now));
    }
    match store.table().transact(ops).await {
        Ok(()) => {
            if let Some(c) = &conversion {
                partner_postbacks::notify_after_commit(
                    services,
                    c,
                    PostbackStatus::Approved,
                    None,
                    &c.id,
                )
                .await;
            }
            announce_approved(services, std::slice::from_ref(&line), &line.id).await;
            Ok(true)
        }
        // Changed since it was listed (approved by a concurrent run, or rejected): leave it.
        Err(TableError::TransactionCancelled { .. }) => Ok(false),
        Err(e) => Err(e.into()),
    }
}

/// Queues the "commission approved" notification of each approved line that pays
/// something (the email stage drops it for partners who turned it off).
async fn announce_approved(services: &Services, lines: &[CommissionLine], correlation_id: &str) {
    let Ok(Some(program)) = services.store.program().await else {
        return;
    };
    let emails: Vec<crate::messages::Message> = lines
        .iter()
        .filter(|l| l.amount.minor() > 0 && l.reverses.is_none())
        .map(|l| {
            crate::messages::Message::EmailRequested(crate::messages::EmailRequest {
                email_id: format!("commission-approved:{}", l.id),
                partner_id: l.partner_id.clone(),
                template: EmailTemplate::CommissionApproved,
                data: serde_json::json!({
                    "program_name": program.name,
                    "conversion_id": l.conversion_id,
                    "amount": crate::commission::display_amount(l.amount.minor(), l.amount.currency()),
                    "level": l.level,
                    "summary": l.explanation.summary,
                }),
            })
        })
        .collect();
    if emails.is_empty() {
        return;
    }
    if let Err(e) = services
        .publish(crate::ports::QueueName::Emails, &emails, correlation_id)
        .await
    {
        tracing::warn!(error = %e, "commission approved emails not queued");
    }
}

/// What the operator decides about a conversion.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Approve its pending lines now, without waiting for the hold to end.
    Approve,
    /// Reject it: its pending lines are rejected and earn nothing.
    Reject { reason: String },
}

/// Applies the operator's decision to a conversion and its pending lines, in one
/// transaction. Lines already approved or paid cannot be rejected: a refund reverses them.
#[tracing::instrument(skip_all, fields(conversion_id = %conversion_id))]
pub async fn decide_conversion(
    services: &Services,
    conversion_id: &ConversionId,
    decision: Decision,
) -> Result<Vec<CommissionLine>, AppError> {
    let store = &services.store;
    let conversion = store
        .conversion(conversion_id)
        .await?
        .ok_or_else(|| AppError::NotFound(format!("no conversion {conversion_id}")))?;
    if conversion.status == crate::conversion::ConversionStatus::Rejected {
        return Err(AppError::Conflict {
            field: Some("status".into()),
            detail: "the conversion is already rejected".into(),
        });
    }
    if conversion.status == crate::conversion::ConversionStatus::Recorded {
        return Err(AppError::Unavailable(
            "the conversion's commission is still being computed; try again shortly".into(),
        ));
    }
    let lines = store.lines_of_conversion(conversion_id).await?;
    let now = services.now();
    let mut changed = Vec::new();
    match &decision {
        Decision::Approve => {
            for line in lines.iter().filter(|l| l.status == LineStatus::Pending) {
                let mut l = line.clone();
                l.status = LineStatus::Approved;
                l.hold_until = now;
                changed.push(l);
            }
        }
        Decision::Reject { reason } => {
            let settled = lines
                .iter()
                .filter(|l| {
                    l.reverses.is_none()
                        && matches!(l.status, LineStatus::Approved | LineStatus::Paid)
                })
                .count();
            if settled > 0 {
                return Err(AppError::Conflict {
                    field: Some("status".into()),
                    detail: format!(
                        "{settled} of its lines are already approved or paid; refund the conversion instead"
                    ),
                });
            }
            for line in lines.iter().filter(|l| l.status == LineStatus::Pending) {
                let mut l = line.clone();
                l.status = LineStatus::Rejected;
                l.explanation.not_paid_because =
                    Some(format!("rejected by the operator: {reason}"));
                changed.push(l);
            }
        }
    }
    let mut ops: Vec<crate::ports::TxOp> = changed
        .iter()
        .map(|l| Store::line_write(l, status_is(LineStatus::Pending.as_str())))
        .collect();
    if decision == Decision::Approve && changed.iter().any(|l| l.level == 0 && l.reverses.is_none())
    {
        ops.push(Store::tier_volume_add(&conversion, now));
    }
    if let Decision::Reject { .. } = decision {
        let mut rejected = conversion.clone();
        rejected.status = crate::conversion::ConversionStatus::Rejected;
        ops.push(Store::conversion_put(
            &rejected,
            status_is(conversion.status.as_str()),
        ));
        // Take the rejected conversion out of the counters, on the day of the decision.
        let mut per_partner: std::collections::BTreeMap<&PartnerId, Vec<(&str, i64)>> =
            Default::default();
        per_partner
            .entry(&conversion.partner_id)
            .or_default()
            .extend([
                (crate::store::counters::CONVERSIONS, -1),
                (
                    crate::store::counters::REVENUE,
                    -(conversion.amounts.sale.minor() - conversion.amounts.refunded.minor()),
                ),
            ]);
        for l in &changed {
            per_partner
                .entry(&l.partner_id)
                .or_default()
                .push((crate::store::counters::COMMISSION, -l.amount.minor()));
        }
        for (partner, deltas) in per_partner {
            let mut merged: std::collections::BTreeMap<&str, i64> = Default::default();
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
    }
    if ops.is_empty() {
        return Ok(vec![]);
    }
    match store.table().transact(ops).await {
        Ok(()) => {
            let status = match decision {
                Decision::Approve => PostbackStatus::Approved,
                Decision::Reject { .. } => PostbackStatus::Rejected,
            };
            if decision == Decision::Approve {
                announce_approved(services, &changed, &conversion.id).await;
            }
            if changed.iter().any(|l| l.level == 0 && l.reverses.is_none()) {
                partner_postbacks::notify_after_commit(
                    services,
                    &conversion,
                    status,
                    None,
                    &conversion.id,
                )
                .await;
            }
            Ok(changed)
        }
        Err(TableError::TransactionCancelled { .. }) => Err(AppError::Conflict {
            field: None,
            detail: "the conversion changed while the decision was applied; reload and try again"
                .into(),
        }),
        Err(e) => Err(e.into()),
    }
}
