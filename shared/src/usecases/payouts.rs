//! Payout runs: approve what is due, group every payable line per partner and currency,
//! keep balances under the minimum for later, and make one payout per partner with its
//! statement; then the operator's verdicts (paid, failed) and the partner's balance.
//!
//! A run is keyed by its period, so running a period again finds it and creates nothing.
//! Every step is conditional and resumable: a line joins a payout only while it is still
//! in the payable index (`gsi3pk = PAYABLE`), a payout is finished only from `building`,
//! so a run that stopped part-way (a Lambda timeout) is completed by running it again.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::commission::{CommissionLine, LineStatus, display_amount};
use crate::error::AppError;
use crate::messages::{EmailRequest, Message};
use crate::money::{Currency, format_minor};
use crate::payout::{
    ExportFormat, Payout, PayoutRun, PayoutStatus, Period, RunStatus, StatementLine, export_csv,
};
use crate::ports::{Attr, Condition, Index, QueueName, SortKeyCondition, TableError, TxOp};
use crate::services::Services;
use crate::store::{Store, decode, encode, keys, status_is};
use crate::usecases::admin::require_program;
use crate::usecases::lifecycle::approve_due_lines;

/// Lines per claiming transaction: each takes two writes (the line, its statement copy)
/// and DynamoDB allows 100 per transaction.
const CLAIM_CHUNK: usize = 45;
/// Lines per settling transaction (one write each).
const SETTLE_CHUNK: usize = 90;

fn run_put(run: &PayoutRun, condition: Condition) -> TxOp {
    let item = encode(keys::payout_run(&run.id), run)
        .with(
            "status",
            match run.status {
                RunStatus::Running => "running",
                RunStatus::Complete => "complete",
            },
        )
        .with("gsi1pk", keys::payout_runs_listing())
        .with("gsi1sk", keys::time_ordered(run.created_at, &run.id));
    TxOp::Put(item, condition)
}

fn payout_put(payout: &Payout, condition: Condition) -> TxOp {
    let item = encode(keys::payout(&payout.id), payout)
        .with("status", payout.status.as_str())
        .with("gsi1pk", keys::run_payouts(&payout.run_id))
        .with(
            "gsi1sk",
            format!("{}#{}", payout.partner_id, payout.currency.code()),
        )
        .with("gsi2pk", keys::partner_payouts(&payout.partner_id))
        .with("gsi2sk", keys::time_ordered(payout.created_at, &payout.id));
    TxOp::Put(item, condition)
}

async fn write(services: &Services, op: TxOp) -> Result<(), TableError> {
    services.store.table().transact(vec![op]).await
}

pub async fn payout_run(store: &Store, id: &str) -> Result<Option<PayoutRun>, AppError> {
    match store.table().get(&keys::payout_run(id)).await? {
        Some(item) => Ok(Some(decode(&item)?)),
        None => Ok(None),
    }
}

pub async fn payout(store: &Store, id: &str) -> Result<Option<Payout>, AppError> {
    match store.table().get(&keys::payout(id)).await? {
        Some(item) => Ok(Some(decode(&item)?)),
        None => Ok(None),
    }
}

/// Runs, newest first.
pub async fn payout_runs(
    store: &Store,
    limit: usize,
    cursor: Option<&str>,
) -> Result<(Vec<PayoutRun>, Option<String>), AppError> {
    let page = store
        .table()
        .query(
            Index::Gsi1,
            &keys::payout_runs_listing(),
            &SortKeyCondition::All,
            false,
            limit,
            cursor,
        )
        .await?;
    Ok((
        page.items.iter().map(decode).collect::<Result<_, _>>()?,
        page.next,
    ))
}

/// Every payout of a run, by partner.
pub async fn payouts_of_run(store: &Store, run_id: &str) -> Result<Vec<Payout>, AppError> {
    store
        .query_all(
            Index::Gsi1,
            &keys::run_payouts(run_id),
            &SortKeyCondition::All,
        )
        .await?
        .iter()
        .map(decode)
        .collect()
}

/// A partner's payouts, newest first.
pub async fn payouts_of_partner(
    store: &Store,
    partner_id: &str,
    limit: usize,
    cursor: Option<&str>,
) -> Result<(Vec<Payout>, Option<String>), AppError> {
    let page = store
        .table()
        .query(
            Index::Gsi2,
            &keys::partner_payouts(partner_id),
            &SortKeyCondition::All,
            false,
            limit,
            cursor,
        )
        .await?;
    Ok((
        page.items.iter().map(decode).collect::<Result<_, _>>()?,
        page.next,
    ))
}

/// The lines a payout took, oldest first.
pub async fn statement_lines(
    store: &Store,
    payout_id: &str,
) -> Result<Vec<CommissionLine>, AppError> {
    let mut lines: Vec<CommissionLine> = store
        .query_all(
            Index::Primary,
            &keys::payout(payout_id).pk,
            &SortKeyCondition::BeginsWith("LINE#".into()),
        )
        .await?
        .iter()
        .map(decode)
        .collect::<Result<_, _>>()?;
    lines.sort_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
    Ok(lines)
}

impl StatementLine {
    pub fn of(line: &CommissionLine) -> Self {
        StatementLine {
            line_id: line.id.clone(),
            conversion_id: line.conversion_id.clone(),
            campaign_id: line.campaign_id.clone(),
            level: line.level,
            amount_minor: line.amount_minor,
            summary: line.explanation.summary.clone(),
            created_at: line.created_at,
        }
    }
}

/// Runs (or finishes, or finds) the payout run of `period`. Returns the run and whether
/// this call started it.
#[tracing::instrument(skip_all, fields(period = %period.name, started_by = %started_by))]
pub async fn run_period(
    services: &Services,
    period: &Period,
    started_by: &str,
) -> Result<(PayoutRun, bool), AppError> {
    let store = &services.store;
    let program = require_program(store).await?;
    let mut created = false;
    let mut run = match payout_run(store, &period.name).await? {
        Some(run) if run.status == RunStatus::Complete => return Ok((run, false)),
        Some(run) => run,
        None => {
            let run = PayoutRun {
                id: period.name.clone(),
                period_end: period.end,
                started_by: started_by.to_string(),
                created_at: services.now(),
                status: RunStatus::Running,
                payouts: 0,
                totals: vec![],
                carried_over: 0,
                missing_details: 0,
            };
            match write(services, run_put(&run, Condition::NotExists)).await {
                Ok(()) => created = true,
                // Another caller started it a moment ago; carry on with the same run,
                // every step below is safe to do twice.
                Err(TableError::TransactionCancelled { .. }) => {}
                Err(e) => return Err(e.into()),
            }
            run
        }
    };
    // Lines whose hold ended are approved first, so they can be paid in this run.
    approve_due_lines(services).await?;

    let mut carried_over = 0u32;
    let mut group: Vec<CommissionLine> = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let page = store
            .table()
            .query(
                Index::Gsi3,
                keys::PAYABLE_LINES,
                &SortKeyCondition::All,
                true,
                500,
                cursor.as_deref(),
            )
            .await?;
        for item in &page.items {
            let line: CommissionLine = decode(item)?;
            if line.hold_until >= period.end {
                // Payable only after this period ended: it belongs to a later run.
                continue;
            }
            if group
                .first()
                .is_some_and(|g| (&g.partner_id, g.currency) != (&line.partner_id, line.currency))
            {
                let lines = std::mem::take(&mut group);
                carried_over += u32::from(!pay_group(services, &program, &run, lines).await?);
            }
            group.push(line);
        }
        match page.next {
            Some(c) => cursor = Some(c),
            None => break,
        }
    }
    if !group.is_empty() {
        carried_over += u32::from(!pay_group(services, &program, &run, group).await?);
    }

    // Payouts whose lines were all taken before a stop are finished here.
    let mut payouts = payouts_of_run(store, &run.id).await?;
    for p in payouts
        .iter_mut()
        .filter(|p| p.status == PayoutStatus::Building)
    {
        *p = finish_payout(services, p.clone()).await?;
    }
    let mut totals: BTreeMap<Currency, i64> = BTreeMap::new();
    for p in &payouts {
        *totals.entry(p.currency).or_default() += p.amount_minor;
    }
    let before = run.clone();
    run.status = RunStatus::Complete;
    run.payouts = payouts.len() as u32;
    run.totals = totals.into_iter().collect();
    run.carried_over = carried_over;
    run.missing_details = payouts.iter().filter(|p| p.details.is_none()).count() as u32;
    match write(services, run_put(&run, status_is("running"))).await {
        Ok(()) => Ok((run, created)),
        // A concurrent call completed it: that one's record stands.
        Err(TableError::TransactionCancelled { .. }) => {
            Ok((payout_run(store, &before.id).await?.unwrap_or(run), created))
        }
        Err(e) => Err(e.into()),
    }
}

/// Pays one partner's payable lines in one currency, or leaves them for later. Returns
/// whether a payout was made (or finished).
async fn pay_group(
    services: &Services,
    program: &crate::program::Program,
    run: &PayoutRun,
    lines: Vec<CommissionLine>,
) -> Result<bool, AppError> {
    let store = &services.store;
    let Some(first) = lines.first() else {
        return Ok(false);
    };
    let payout_id = format!("{}:{}:{}", run.id, first.partner_id, first.currency.code());
    let existing = payout(store, &payout_id).await?;
    let payout = match existing {
        // Made by this run already and settled or failed since: its lines are not ours.
        Some(p) if p.status != PayoutStatus::Building => return Ok(true),
        Some(p) => p,
        None => {
            let total: i64 = lines.iter().map(|l| l.amount_minor).sum();
            let minimum = if first.currency == program.currency {
                program.payouts.minimum_minor
            } else {
                0
            };
            // Reversals can leave a balance at or below zero: it is owed back and
            // subtracted from later earnings, never paid out.
            if total <= 0 || total < minimum {
                return Ok(false);
            }
            let partner = store.partner(&first.partner_id).await?;
            let payout = Payout {
                id: payout_id,
                run_id: run.id.clone(),
                partner_id: first.partner_id.clone(),
                partner_name: partner.as_ref().map(|p| p.name.clone()).unwrap_or_default(),
                partner_email: partner
                    .as_ref()
                    .map(|p| p.email.clone())
                    .unwrap_or_default(),
                currency: first.currency,
                amount_minor: 0,
                earned_minor: 0,
                reversed_minor: 0,
                line_count: 0,
                details: partner.and_then(|p| p.payout_details),
                status: PayoutStatus::Building,
                created_at: services.now(),
                settled_at: None,
                note: None,
            };
            match write(services, payout_put(&payout, Condition::NotExists)).await {
                Ok(()) => payout,
                Err(TableError::TransactionCancelled { .. }) => {
                    match self::payout(store, &payout.id).await? {
                        Some(p) if p.status == PayoutStatus::Building => p,
                        _ => return Ok(true),
                    }
                }
                Err(e) => return Err(e.into()),
            }
        }
    };
    for chunk in lines.chunks(CLAIM_CHUNK) {
        let ops = claim_ops(chunk, &payout.id);
        match store.table().transact(ops).await {
            Ok(()) => {}
            // One of them changed since it was listed (another run took it): claim the
            // chunk line by line so the others still join.
            Err(TableError::TransactionCancelled { .. }) => {
                for line in chunk {
                    match store
                        .table()
                        .transact(claim_ops(std::slice::from_ref(line), &payout.id))
                        .await
                    {
                        Ok(()) | Err(TableError::TransactionCancelled { .. }) => {}
                        Err(e) => return Err(e.into()),
                    }
                }
            }
            Err(e) => return Err(e.into()),
        }
    }
    finish_payout(services, payout).await?;
    Ok(true)
}

fn claim_ops(lines: &[CommissionLine], payout_id: &str) -> Vec<TxOp> {
    let mut ops = Vec::with_capacity(lines.len() * 2);
    for line in lines {
        let mut claimed = line.clone();
        claimed.payout_id = Some(payout_id.to_string());
        ops.push(Store::line_write(
            &claimed,
            Condition::AttrEquals("gsi3pk".into(), Attr::S(keys::PAYABLE_LINES.into())),
        ));
        ops.push(TxOp::Put(
            encode(keys::statement_line(payout_id, &line.id), &claimed),
            Condition::None,
        ));
    }
    ops
}

/// Totals a payout from its statement and moves it from `building` to `pending`.
async fn finish_payout(services: &Services, mut payout: Payout) -> Result<Payout, AppError> {
    let lines = statement_lines(&services.store, &payout.id).await?;
    payout.amount_minor = lines.iter().map(|l| l.amount_minor).sum();
    payout.earned_minor = lines
        .iter()
        .filter(|l| l.amount_minor > 0)
        .map(|l| l.amount_minor)
        .sum();
    payout.reversed_minor = payout.amount_minor - payout.earned_minor;
    payout.line_count = lines.len() as u32;
    payout.status = PayoutStatus::Pending;
    match write(
        services,
        payout_put(&payout, status_is(PayoutStatus::Building.as_str())),
    )
    .await
    {
        Ok(()) => Ok(payout),
        Err(TableError::TransactionCancelled { .. }) => self::payout(&services.store, &payout.id)
            .await?
            .ok_or_else(|| AppError::Internal(format!("payout {} vanished", payout.id))),
        Err(e) => Err(e.into()),
    }
}

/// The operator's verdict on a payout they tried to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Settlement {
    /// The money went out; `reference` is the payment's id at the provider.
    Paid { reference: Option<String> },
    /// It did not; its lines go back to the partner's balance for the next run.
    Failed { reason: String },
}

/// Marks a payout paid (its lines become paid, the partner gets the statement) or failed
/// (its lines become payable again). Marking it the same way twice changes nothing.
#[tracing::instrument(skip_all, fields(payout_id = %payout_id, correlation_id = %correlation_id))]
pub async fn settle(
    services: &Services,
    payout_id: &str,
    settlement: Settlement,
    correlation_id: &str,
) -> Result<Payout, AppError> {
    let store = &services.store;
    let mut payout = payout(store, payout_id)
        .await?
        .ok_or_else(|| AppError::NotFound(format!("no payout {payout_id}")))?;
    let target = match settlement {
        Settlement::Paid { .. } => PayoutStatus::Paid,
        Settlement::Failed { .. } => PayoutStatus::Failed,
    };
    if payout.status == target {
        return Ok(payout);
    }
    if payout.status != PayoutStatus::Pending {
        return Err(AppError::Conflict {
            field: Some("status".into()),
            detail: format!(
                "the payout is {}; only pending payouts can be marked paid or failed",
                payout.status.as_str()
            ),
        });
    }
    let lines = statement_lines(store, payout_id).await?;
    for chunk in lines.chunks(SETTLE_CHUNK) {
        let ops = chunk
            .iter()
            .map(|line| {
                let mut l = line.clone();
                match target {
                    PayoutStatus::Paid => l.status = LineStatus::Paid,
                    _ => {
                        l.status = LineStatus::Approved;
                        l.payout_id = None;
                    }
                }
                // Only while the line is still this payout's (a retry after a stop finds
                // the earlier chunks already done, which rewrites them identically).
                let condition = match target {
                    PayoutStatus::Paid => {
                        Condition::AttrEquals("payout_id".into(), Attr::S(payout_id.into()))
                    }
                    _ => Condition::Any(vec![
                        Condition::AttrEquals("payout_id".into(), Attr::S(payout_id.into())),
                        Condition::AttrEquals("gsi3pk".into(), Attr::S(keys::PAYABLE_LINES.into())),
                    ]),
                };
                Store::line_write(&l, condition)
            })
            .collect();
        store.table().transact(ops).await.map_err(|e| match e {
            TableError::TransactionCancelled { .. } => AppError::Conflict {
                field: None,
                detail: "a line of this payout changed while it was settled; reload and try again"
                    .into(),
            },
            other => other.into(),
        })?;
    }
    payout.status = target;
    payout.settled_at = Some(services.now());
    payout.note = match settlement {
        Settlement::Paid { reference } => reference,
        Settlement::Failed { reason } => Some(reason),
    };
    match write(
        services,
        payout_put(&payout, status_is(PayoutStatus::Pending.as_str())),
    )
    .await
    {
        Ok(()) => {}
        Err(TableError::TransactionCancelled { .. }) => {
            // A concurrent request settled it first. The same settlement is a repeat and
            // answers as one (its statement email is sent once, by the winner); another
            // one clashes.
            let now = self::payout(store, payout_id)
                .await?
                .ok_or_else(|| AppError::NotFound(format!("no payout {payout_id}")))?;
            if now.status == target {
                return Ok(now);
            }
            return Err(AppError::Conflict {
                field: Some("status".into()),
                detail: format!("the payout was marked {} meanwhile", now.status.as_str()),
            });
        }
        Err(other) => return Err(other.into()),
    }
    if target == PayoutStatus::Paid {
        let program = require_program(store).await?;
        let statement: Vec<serde_json::Value> = lines
            .iter()
            .map(|l| {
                serde_json::json!({
                    "date": l.created_at.day().to_string(),
                    "amount": display_amount(l.amount_minor, l.currency),
                    "summary": l.explanation.summary,
                })
            })
            .collect();
        let email = Message::EmailRequested(EmailRequest {
            email_id: format!("payout-paid:{}", payout.id),
            partner_id: payout.partner_id.clone(),
            template: "payout_statement".into(),
            data: serde_json::json!({
                "program_name": program.name,
                "period": payout.run_id,
                "amount": display_amount(payout.amount_minor, payout.currency),
                "earned": display_amount(payout.earned_minor, payout.currency),
                "reversed": display_amount(payout.reversed_minor, payout.currency),
                "line_count": payout.line_count,
                "method": payout.details.as_ref().map_or("", |d| d.method()),
                "reference": payout.note.clone().unwrap_or_default(),
                "lines": statement,
            }),
        });
        if let Err(e) = services
            .publish(QueueName::Emails, &[email], correlation_id)
            .await
        {
            tracing::warn!(payout_id = %payout.id, error = %e, "payout statement email not queued");
        }
    }
    Ok(payout)
}

/// The run's payouts as a mass-payment file.
pub async fn export_run(
    services: &Services,
    run_id: &str,
    format: ExportFormat,
    currency: Option<Currency>,
) -> Result<String, AppError> {
    let store = &services.store;
    payout_run(store, run_id)
        .await?
        .ok_or_else(|| AppError::NotFound(format!("no payout run {run_id}")))?;
    let program = require_program(store).await?;
    let payouts = payouts_of_run(store, run_id).await?;
    let currency = match (format, currency) {
        (_, Some(c)) => Some(c),
        // PayPal takes one currency per file: the program's unless another is asked for.
        (ExportFormat::Paypal, None) => Some(program.currency),
        _ => None,
    };
    Ok(export_csv(&payouts, format, currency, program.currency))
}

/// What a partner has earned, by state, in one currency.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Balance {
    pub currency: String,
    /// In their hold period: refunds can still reverse them.
    pub pending: String,
    /// Approved and waiting for the next payout run (net of reversals).
    pub approved: String,
    /// In a payout the operator has not yet marked paid.
    pub in_payout: String,
    pub paid: String,
}

/// The partner's balance per currency, read from the open-lines index and their payouts.
pub async fn balance_of(services: &Services, partner_id: &str) -> Result<Vec<Balance>, AppError> {
    let store = &services.store;
    let program = require_program(store).await?;
    // (pending, approved, in payout, paid) per currency.
    let mut sums: BTreeMap<Currency, [i64; 4]> = BTreeMap::new();
    sums.insert(program.currency, [0; 4]);
    let pending = store
        .query_all(
            Index::Gsi3,
            &keys::pending_lines(partner_id),
            &SortKeyCondition::All,
        )
        .await?;
    let approved = store
        .query_all(
            Index::Gsi3,
            keys::PAYABLE_LINES,
            &SortKeyCondition::BeginsWith(keys::payable_prefix(partner_id)),
        )
        .await?;
    for (slot, items) in [(0, &pending), (1, &approved)] {
        for item in items {
            let line: CommissionLine = decode(item)?;
            sums.entry(line.currency).or_default()[slot] += line.amount_minor;
        }
    }
    let payouts = store
        .query_all(
            Index::Gsi2,
            &keys::partner_payouts(partner_id),
            &SortKeyCondition::All,
        )
        .await?;
    for item in &payouts {
        let p: Payout = decode(item)?;
        let slot = match p.status {
            PayoutStatus::Building | PayoutStatus::Pending => 2,
            PayoutStatus::Paid => 3,
            PayoutStatus::Failed => continue,
        };
        sums.entry(p.currency).or_default()[slot] += p.amount_minor;
    }
    Ok(sums
        .into_iter()
        .map(|(c, [pending, approved, in_payout, paid])| Balance {
            currency: c.code().to_string(),
            pending: format_minor(pending, c),
            approved: format_minor(approved, c),
            in_payout: format_minor(in_payout, c),
            paid: format_minor(paid, c),
        })
        .collect())
}

/// The scheduled part: approve what is due, finish runs that stopped part-way, and start
/// the run of the period that just ended when the program has a cadence.
#[tracing::instrument(skip_all)]
pub async fn scheduled(services: &Services) -> Result<ScheduledOutcome, AppError> {
    // Best effort: a sweep that fails must not hold up approvals and payout runs.
    let requeued_conversions = crate::usecases::postback::requeue_stuck_conversions(services)
        .await
        .unwrap_or_else(|e| {
            tracing::error!(error = %e, "the stuck-conversion sweep failed; the next hour retries it");
            0
        });
    let approved_lines = approve_due_lines(services).await?;
    let Some(program) = services.store.program().await? else {
        return Ok(ScheduledOutcome {
            requeued_conversions,
            approved_lines,
            runs: vec![],
        });
    };
    let mut runs = Vec::new();
    let (recent, _) = payout_runs(&services.store, 20, None).await?;
    for run in recent.iter().filter(|r| r.status == RunStatus::Running) {
        let period = Period {
            name: run.id.clone(),
            end: run.period_end,
        };
        runs.push(run_period(services, &period, "schedule").await?.0);
    }
    if let Some(period) = program.payouts.cadence.last_ended(services.now()) {
        let (run, created) = run_period(services, &period, "schedule").await?;
        if created {
            crate::usecases::audit::record(
                services,
                "schedule",
                "payout_run.started",
                &run.id,
                format!("{} payouts, {} carried over", run.payouts, run.carried_over),
            )
            .await;
            runs.push(run);
        }
    }
    Ok(ScheduledOutcome {
        requeued_conversions,
        approved_lines,
        runs,
    })
}

#[derive(Debug, Clone, Serialize)]
pub struct ScheduledOutcome {
    /// Conversions found stuck in `recorded` and handed to the commission stage again.
    pub requeued_conversions: usize,
    pub approved_lines: usize,
    pub runs: Vec<PayoutRun>,
}
