//! The hourly scheduled work: the stuck-conversion sweep, approvals past their hold,
//! unfinished runs, and the run of a period that just ended.

use super::*;

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
    let recent = payout_runs(&services.store, &PageQuery::first(20))
        .await?
        .items;
    for run in recent.iter().filter(|r| r.status == RunStatus::Running) {
        let period = Period {
            name: run.id.to_string(),
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
