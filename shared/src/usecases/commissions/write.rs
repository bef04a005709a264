//! Write: a decided commission's transaction — the conversion's move to commissioned, its
//! lines, the counters and, for a paid conversion, its caps, each under the condition that
//! keeps it single — and the announcement: an email per line, in the transaction's own
//! commit where the store allows (see `Table::transact_announcing`), and the partner's
//! own postback, both with stable ids so a redelivery sends each once.

use std::collections::BTreeMap;

use crate::commission::{CommissionLine, display_amount};
use crate::conversion::{Conversion, ConversionStatus};
use crate::emails::EmailTemplate;
use crate::error::AppError;
use crate::messages::{EmailRequest, Message, PostbackStatus};
use crate::ports::{Attr, Condition, QueueName, TableError, TxOp, Update};
use crate::program::Program;
use crate::services::Services;
use crate::store::{Store, status_is};
use crate::terms::CapPeriod;

use super::decide::Commission;
use super::load::CapRead;

/// Writes `commission`, decided on `conversion` with the cap usage `caps` as read, and
/// announces its lines. Returns the lines as stored: another delivery's, when it got
/// there first.
pub(super) async fn write(
    services: &Services,
    program: &Program,
    conversion: &Conversion,
    caps: &BTreeMap<CapPeriod, CapRead>,
    commission: Commission,
    correlation_id: &str,
) -> Result<Vec<CommissionLine>, AppError> {
    let store = &services.store;
    // Before any line is written, so no line can be older than where the sweep starts.
    if !commission.lines.is_empty() {
        store.record_sweep_start(services.now().day()).await?;
    }
    // The emails go in the lines' own commit where the store can take them (the embedded
    // one), else right after it.
    let emails = announcement_emails(services, program, conversion, &commission.lines).await?;
    match store
        .table()
        .transact_announcing(
            ops(conversion, caps, &commission),
            QueueName::Emails,
            services.envelopes(&emails, correlation_id),
        )
        .await
    {
        Ok(unsent) => {
            if !unsent.is_empty() {
                services.queue.send(QueueName::Emails, unsent).await?;
            }
        }
        Err(TableError::TransactionCancelled { .. }) => {
            // Another delivery of this message got there first; its lines stand.
            let stored = store.lines_of_conversion(&conversion.id).await?;
            if stored.is_empty() {
                return Err(AppError::Unavailable(
                    format!(
                        "conversion {} changed while being commissioned",
                        conversion.id
                    )
                    .into(),
                ));
            }
            announce(services, program, conversion, &stored, correlation_id).await?;
            return Ok(stored);
        }
        Err(e) => return Err(e.into()),
    }
    partner_postback(services, conversion, correlation_id).await?;
    Ok(commission.lines)
}

/// The transaction of `commission`: the conversion only if still recorded, each line
/// only if new, the counters, and the caps of a paid conversion.
fn ops(
    conversion: &Conversion,
    caps: &BTreeMap<CapPeriod, CapRead>,
    commission: &Commission,
) -> Vec<TxOp> {
    let mut commissioned = conversion.clone();
    commissioned.status = ConversionStatus::Commissioned;
    let mut ops = vec![Store::conversion_put(
        &commissioned,
        status_is(ConversionStatus::Recorded.as_str()),
    )];
    ops.extend(commission.lines.iter().map(Store::line_put));
    let day = conversion.created_at.day();
    ops.extend(commission.counters.iter().map(|(partner, deltas)| {
        let deltas: Vec<(&str, i64)> = deltas.iter().map(|(k, v)| (*k, *v)).collect();
        Store::stats_add(day, &conversion.campaign_id, partner, &deltas)
    }));
    ops.extend(conversion.subs.iter().map(|(sub, value)| {
        Store::sub_stats_add(
            day,
            &conversion.partner_id,
            &conversion.campaign_id,
            sub,
            value,
            &commission.sub_counters,
        )
    }));
    // A paid conversion uses its caps; the condition on the count read makes a racing
    // conversion's transaction fail, so two cannot take the last place.
    if let Some(amount) = commission.cap_use {
        for read in caps.values() {
            let condition = match read.conversions {
                None => Condition::NotExists,
                Some(n) => Condition::AttrEquals("conversions".into(), Attr::N(n)),
            };
            let update = Update::default()
                .add("conversions", 1)
                .add("commission_minor", amount);
            ops.push(TxOp::Update(read.key.clone(), update, condition));
        }
    }
    ops
}

/// Queues an email per line and the partner's own postback (each once: their ids are
/// stable).
pub(super) async fn announce(
    services: &Services,
    program: &Program,
    conversion: &Conversion,
    lines: &[CommissionLine],
    correlation_id: &str,
) -> Result<(), AppError> {
    let emails = announcement_emails(services, program, conversion, lines).await?;
    services
        .publish(QueueName::Emails, &emails, correlation_id)
        .await?;
    partner_postback(services, conversion, correlation_id).await
}

/// The partner's own tracker hears of the commission too (once: the delivery id is
/// stable).
async fn partner_postback(
    services: &Services,
    conversion: &Conversion,
    correlation_id: &str,
) -> Result<(), AppError> {
    crate::usecases::partner_postbacks::notify(
        services,
        conversion,
        PostbackStatus::Pending,
        None,
        correlation_id,
    )
    .await
}

/// An email per line, each with a stable id.
async fn announcement_emails(
    services: &Services,
    program: &Program,
    conversion: &Conversion,
    lines: &[CommissionLine],
) -> Result<Vec<Message>, AppError> {
    let campaign_name = services
        .store
        .campaign(&conversion.campaign_id)
        .await?
        .map_or_else(|| conversion.campaign_id.to_string(), |c| c.name);
    Ok(lines
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
        .collect())
}
