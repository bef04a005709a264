//! Commission lifecycle over time: lines move from pending to approved once their hold
//! period has passed. Run by the schedule; safe to run twice at once or to re-run, because
//! each approval is conditional on the line still being pending.

use crate::clock::Day;
use crate::commission::{CommissionLine, LineStatus};
use crate::error::AppError;
use crate::ports::{Index, Item, TableError};
use crate::services::Services;
use crate::store::{Store, decode, keys, status_is};

/// How far back the first sweep looks when it has never run.
const FIRST_SWEEP_DAYS: i32 = 366;

/// Approves every pending line whose hold has ended. Lines are found through the per-day
/// line index, from the day after the last fully swept day up to the last day that can
/// hold due lines; returns how many lines were approved.
pub async fn approve_due_lines(services: &Services) -> Result<usize, AppError> {
    let store = &services.store;
    let Some(program) = store.program().await? else {
        return Ok(0);
    };
    let now = services.now();
    // Lines created at or before this instant have passed their hold.
    let cutoff = now.plus_days(-i64::from(program.hold_days));
    let sweep = store.table().get(&keys::approval_sweep()).await?;
    let from = sweep
        .as_ref()
        .and_then(|i| i.n("approved_through_day"))
        .map_or(
            Day(cutoff.day().0 - FIRST_SWEEP_DAYS),
            |d| Day(d as i32 + 1),
        );
    let mut approved = 0;
    for day in from.0..=cutoff.day().0 {
        let partition = keys::lines_on(Day(day));
        let mut cursor: Option<String> = None;
        loop {
            let page = store
                .query_buckets(
                    Index::Gsi2,
                    std::slice::from_ref(&partition),
                    true,
                    200,
                    cursor.as_deref(),
                )
                .await?;
            for item in &page.items {
                approved += usize::from(approve_if_due(store, item, now).await?);
            }
            match page.next {
                Some(c) => cursor = Some(c),
                None => break,
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
    store: &Store,
    item: &Item,
    now: crate::clock::Timestamp,
) -> Result<bool, AppError> {
    let mut line: CommissionLine = decode(item)?;
    if line.status != LineStatus::Pending || line.hold_until > now {
        return Ok(false);
    }
    line.status = LineStatus::Approved;
    let op = Store::line_write(&line, status_is(LineStatus::Pending.as_str()));
    match store.table().transact(vec![op]).await {
        Ok(()) => Ok(true),
        // Changed since it was listed (approved by a concurrent run, or rejected): leave it.
        Err(TableError::TransactionCancelled { .. }) => Ok(false),
        Err(e) => Err(e.into()),
    }
}
