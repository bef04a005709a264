//! The operator's verdict on a payout: paid (lines paid, statement emailed) or failed
//! (lines payable again).

use super::*;
use crate::emails::EmailTemplate;
use crate::ids::PayoutId;

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
    payout_id: &PayoutId,
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
                        Condition::AttrEquals("payout_id".into(), payout_id.into())
                    }
                    _ => Condition::Any(vec![
                        Condition::AttrEquals("payout_id".into(), payout_id.into()),
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
                    "amount": display_amount(l.amount.minor(), l.amount.currency()),
                    "summary": l.explanation.summary,
                })
            })
            .collect();
        let email = Message::EmailRequested(EmailRequest {
            email_id: format!("payout-paid:{}", payout.id),
            partner_id: payout.partner_id.clone(),
            template: EmailTemplate::PayoutStatement,
            data: serde_json::json!({
                "program_name": program.name,
                "period": payout.run_id,
                "amount": display_amount(payout.amounts.amount.minor(), payout.amounts.currency()),
                "earned": display_amount(payout.amounts.earned.minor(), payout.amounts.currency()),
                "reversed": display_amount(payout.amounts.reversed.minor(), payout.amounts.currency()),
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
