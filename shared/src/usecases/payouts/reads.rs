//! Reading runs, payouts and statements.

use super::*;
use crate::ids::{PartnerId, PayoutId, PayoutRunId};
use crate::store::{PageOf, PageQuery};

pub async fn payout_run(store: &Store, id: &PayoutRunId) -> Result<Option<PayoutRun>, AppError> {
    match store.table().get(&keys::payout_run(id)).await? {
        Some(item) => Ok(Some(decode(&item)?)),
        None => Ok(None),
    }
}

pub async fn payout(store: &Store, id: &PayoutId) -> Result<Option<Payout>, AppError> {
    match store.table().get(&keys::payout(id)).await? {
        Some(item) => Ok(Some(decode(&item)?)),
        None => Ok(None),
    }
}

/// Runs, newest first.
pub async fn payout_runs(store: &Store, page: &PageQuery) -> Result<PageOf<PayoutRun>, AppError> {
    store
        .page_of(Index::Gsi1, &keys::payout_runs_listing(), page)
        .await
}

/// Every payout of a run, by partner.
pub async fn payouts_of_run(store: &Store, run_id: &PayoutRunId) -> Result<Vec<Payout>, AppError> {
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
    partner_id: &PartnerId,
    page: &PageQuery,
) -> Result<PageOf<Payout>, AppError> {
    store
        .page_of(Index::Gsi2, &keys::partner_payouts(partner_id), page)
        .await
}

/// The lines a payout took, oldest first.
pub async fn statement_lines(
    store: &Store,
    payout_id: &PayoutId,
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
            amount_minor: line.amount.minor(),
            summary: line.explanation.summary.clone(),
            created_at: line.created_at,
        }
    }
}
