//! Running a pay period: group the payable lines per partner and currency, carry small
//! or negative balances over, claim each group's lines into its payout, finish it.

use super::*;
use crate::ids::PayoutId;
use crate::ids::PayoutRunId;

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
    let mut run = match payout_run(store, &PayoutRunId::new(period.name.clone())).await? {
        Some(run) if run.status == RunStatus::Complete => return Ok((run, false)),
        Some(run) => run,
        None => {
            let run = PayoutRun {
                id: PayoutRunId::new(period.name.clone()),
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
            if group.first().is_some_and(|g| {
                (&g.partner_id, g.amount.currency()) != (&line.partner_id, line.amount.currency())
            }) {
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
        *totals.entry(p.amounts.currency()).or_default() += p.amounts.amount.minor();
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
pub(super) async fn pay_group(
    services: &Services,
    program: &crate::program::Program,
    run: &PayoutRun,
    lines: Vec<CommissionLine>,
) -> Result<bool, AppError> {
    let store = &services.store;
    let Some(first) = lines.first() else {
        return Ok(false);
    };
    let payout_id = PayoutId::new(format!(
        "{}:{}:{}",
        run.id,
        first.partner_id,
        first.amount.currency().code()
    ));
    let existing = payout(store, &payout_id).await?;
    let payout = match existing {
        // Made by this run already and settled or failed since: its lines are not ours.
        Some(p) if p.status != PayoutStatus::Building => return Ok(true),
        Some(p) => p,
        None => {
            let total: i64 = lines.iter().map(|l| l.amount.minor()).sum();
            let minimum = if first.amount.currency() == program.currency {
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
                id: payout_id.clone(),
                run_id: run.id.clone(),
                partner_id: first.partner_id.clone(),
                partner_name: partner.as_ref().map(|p| p.name.clone()).unwrap_or_default(),
                partner_email: partner
                    .as_ref()
                    .map(|p| p.email.clone())
                    .unwrap_or_default(),
                amounts: PayoutAmounts {
                    amount: Money::zero(first.amount.currency()),
                    earned: Money::zero(first.amount.currency()),
                    reversed: Money::zero(first.amount.currency()),
                },
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

pub(super) fn claim_ops(lines: &[CommissionLine], payout_id: &PayoutId) -> Vec<TxOp> {
    let mut ops = Vec::with_capacity(lines.len() * 2);
    for line in lines {
        let mut claimed = line.clone();
        claimed.payout_id = Some(payout_id.clone());
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
pub(super) async fn finish_payout(
    services: &Services,
    mut payout: Payout,
) -> Result<Payout, AppError> {
    let lines = statement_lines(&services.store, &payout.id).await?;
    let currency = payout.amounts.currency();
    let amount: i64 = lines.iter().map(|l| l.amount.minor()).sum();
    let earned: i64 = lines
        .iter()
        .filter(|l| l.amount.minor() > 0)
        .map(|l| l.amount.minor())
        .sum();
    payout.amounts = PayoutAmounts {
        amount: Money::from_minor(amount, currency),
        earned: Money::from_minor(earned, currency),
        reversed: Money::from_minor(amount - earned, currency),
    };
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
            .ok_or_else(|| AppError::Internal(format!("payout {} vanished", payout.id).into())),
        Err(e) => Err(e.into()),
    }
}
