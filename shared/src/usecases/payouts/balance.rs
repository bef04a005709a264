//! A run's mass-payment file and a partner's balance.

use super::*;
use crate::clock::Timestamp;
use crate::ids::{PartnerId, PayoutRunId};
use serde::Deserialize;

/// The run's payouts as a mass-payment file.
pub async fn export_run(
    services: &Services,
    run_id: &PayoutRunId,
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

/// What a balance reads of a stored commission line: its amount and when it was earned.
/// Decoding only these skips the explanation, most of a line's bytes, which is most of
/// the time a balance of a thousand open lines takes.
#[derive(Deserialize)]
struct LineAmount {
    amount_minor: i64,
    currency: Currency,
    created_at: Timestamp,
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
pub async fn balance_of(
    services: &Services,
    partner_id: &PartnerId,
) -> Result<Vec<Balance>, AppError> {
    earnings_since(services, partner_id, None).await
}

/// What the partner earned from `since` on, by state: lines earned since then that are
/// still pending or approved, payouts made since then and not yet paid, and payouts paid
/// since then. Without `since`, the whole balance. One read of the same indexes either way.
pub async fn earnings_since(
    services: &Services,
    partner_id: &PartnerId,
    since: Option<Timestamp>,
) -> Result<Vec<Balance>, AppError> {
    let after = |t: Timestamp| since.is_none_or(|since| t >= since);
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
            let line: LineAmount = decode(item)?;
            if after(line.created_at) {
                sums.entry(line.currency).or_default()[slot] += line.amount_minor;
            }
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
            PayoutStatus::Building | PayoutStatus::Pending if after(p.created_at) => 2,
            PayoutStatus::Paid if after(p.settled_at.unwrap_or(p.created_at)) => 3,
            _ => continue,
        };
        sums.entry(p.amounts.currency()).or_default()[slot] += p.amounts.amount.minor();
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
