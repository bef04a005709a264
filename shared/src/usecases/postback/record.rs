//! Recording a postback: every field checked at once, the credit decided, the conversion
//! stored once per campaign and order id, and handed to the commission stage.

use super::*;
use crate::attribution::Credit;
use crate::ids::CampaignId;
use crate::ids::ConversionId;

#[tracing::instrument(skip_all, fields(correlation_id = %correlation_id))]
pub async fn record_postback(
    services: &Services,
    req: PostbackRequest,
    correlation_id: &str,
) -> Result<PostbackOutcome, AppError> {
    let program = require_program(&services.store).await?;
    let cmd = parse_postback(services, &program, req).await?;
    let now = services.now();
    let credit = attribute(
        services,
        program.attribution_priority,
        cmd.subscription.clone(),
        cmd.claims.clone(),
        cmd.promo_text.clone(),
        now,
    )
    .await?;
    // A repeat (refresh, retry, back button) answers with the conversion already stored.
    if let Some(existing) = replay(
        services,
        &credit.campaign_id,
        &cmd.order_id,
        cmd.amount,
        correlation_id,
    )
    .await?
    {
        return Ok(existing);
    }
    // A customer is new unless the storefront says otherwise or Upline has seen them.
    let seen_before = match &cmd.customer_id {
        Some(c) => services
            .store
            .table()
            .get(&keys::customer(c))
            .await?
            .is_some(),
        None => false,
    };
    let first_time_customer = cmd
        .new_customer
        .or_else(|| cmd.customer_id.as_ref().map(|_| !seen_before));
    // The click's sub-ids, if its record has landed (clicks are recorded off the hot path).
    let subs = match &credit.click_id {
        Some(id) => services
            .store
            .click(id)
            .await?
            .map(|c| c.subs)
            .unwrap_or_default(),
        None => Default::default(),
    };
    let conversion = new_conversion(
        &cmd,
        &credit,
        ConversionId::new(services.new_id()),
        first_time_customer,
        subs,
        now,
    );
    let mut ops = vec![
        Store::unique_marker(
            keys::order(&conversion.campaign_id, &cmd.order_id),
            &conversion.id,
        ),
        Store::conversion_put(&conversion, Condition::NotExists),
    ];
    if let (Some(c), false) = (&cmd.customer_id, seen_before) {
        ops.push(Store::unique_marker(keys::customer(c), &conversion.id));
    }
    if let Some(started) = started_subscription(&cmd, &credit, &conversion) {
        ops.push(TxOp::Put(
            encode(keys::subscription(&started.subscription_id), &started),
            Condition::NotExists,
        ));
    }
    match services.store.table().transact(ops).await {
        Ok(()) => {}
        Err(TableError::TransactionCancelled { .. }) => {
            // A concurrent identical postback stored it first.
            return replay(
                services,
                &credit.campaign_id,
                &cmd.order_id,
                cmd.amount,
                correlation_id,
            )
            .await?
            .ok_or_else(|| AppError::Unavailable("the conversion is being stored; retry".into()));
        }
        Err(e) => return Err(e.into()),
    }
    // An unattributed conversion is kept for the record; no partner earns on it.
    if conversion.status == ConversionStatus::Recorded {
        hand_to_payout(services, &conversion, correlation_id).await?;
    }
    Ok(PostbackOutcome {
        conversion,
        created: true,
    })
}

/// The conversion a new postback records: its credit, its amounts in the program
/// currency (and the original when converted), and whether it is a renewal. Pure.
pub(super) fn new_conversion(
    cmd: &PostbackCommand,
    credit: &Credit,
    id: ConversionId,
    first_time_customer: Option<bool>,
    subs: std::collections::BTreeMap<String, String>,
    now: Timestamp,
) -> Conversion {
    let amount_minor = cmd.amount_in_program.unwrap_or(cmd.amount.minor());
    let (currency_used, original) = match cmd.rate {
        Some(r) => (
            r.to,
            Some(OriginalAmount {
                amount: cmd.amount,
                rate: r,
            }),
        ),
        None => (cmd.amount.currency(), None),
    };
    Conversion {
        id,
        campaign_id: credit.campaign_id.clone(),
        order_id: cmd.order_id.clone(),
        partner_id: credit.partner_id.clone(),
        link_code: credit.link_code.clone(),
        click_id: credit.click_id.clone(),
        clicked_at: credit.clicked_at,
        attribution: credit.attribution.clone(),
        unattributed_reason: credit.unattributed.clone(),
        amounts: ConversionAmounts {
            sale: Money::from_minor(amount_minor, currency_used),
            discount: Money::from_minor(cmd.discount_minor, currency_used),
            tax: Money::from_minor(cmd.tax_minor, currency_used),
            shipping: Money::from_minor(cmd.shipping_minor, currency_used),
            refunded: Money::zero(currency_used),
        },
        event: cmd.event.clone(),
        items: cmd.items.clone(),
        original,
        subs,
        subscription: cmd.subscription_id.as_ref().map(|id| SubscriptionPayment {
            subscription_id: id.clone(),
            renewal: cmd.subscription.is_some(),
            month: cmd
                .subscription
                .as_ref()
                .map_or(0, |s| months_between(s.started_at, now)),
        }),
        customer_id: cmd.customer_id.clone(),
        first_time_customer,
        refunded_original_minor: 0,
        status: if credit.unattributed.is_some() {
            ConversionStatus::Unattributed
        } else {
            ConversionStatus::Recorded
        },
        created_at: now,
    }
}

/// The subscription a first payment starts, when it names one and earns. Pure.
pub(super) fn started_subscription(
    cmd: &PostbackCommand,
    credit: &Credit,
    conversion: &Conversion,
) -> Option<Subscription> {
    let (Some(id), None, None) = (
        &cmd.subscription_id,
        &cmd.subscription,
        &credit.unattributed,
    ) else {
        return None;
    };
    Some(Subscription::started_by(id, conversion))
}

/// The stored conversion for this order, if any. Handing it to payout again is harmless
/// (payout is idempotent) and heals a postback whose first hand-off failed.
pub(super) async fn replay(
    services: &Services,
    campaign_id: &CampaignId,
    order_id: &str,
    amount: Money,
    correlation_id: &str,
) -> Result<Option<PostbackOutcome>, AppError> {
    let Some(id) = services
        .store
        .conversion_id_for_order(campaign_id, order_id)
        .await?
    else {
        return Ok(None);
    };
    let conversion = services.store.conversion(&id).await?.ok_or_else(|| {
        AppError::Internal(format!("order marker names missing conversion {id}").into())
    })?;
    // Compare with what the storefront sent the first time, before any conversion.
    let (first_minor, first_currency) = match &conversion.original {
        Some(o) => (o.amount.minor(), o.amount.currency()),
        None => (
            conversion.amounts.sale.minor(),
            conversion.amounts.currency(),
        ),
    };
    if first_minor != amount.minor() || first_currency != amount.currency() {
        return Err(AppError::Conflict {
            field: Some("order_id".into()),
            detail: format!(
                "order {order_id} was already recorded with amount {} {}; a changed amount needs a refund or adjustment, not a second postback",
                format_minor(first_minor, first_currency),
                first_currency
            ),
        });
    }
    if conversion.status == ConversionStatus::Recorded {
        hand_to_payout(services, &conversion, correlation_id).await?;
    }
    Ok(Some(PostbackOutcome {
        conversion,
        created: false,
    }))
}

pub(super) async fn hand_to_payout(
    services: &Services,
    conversion: &Conversion,
    correlation_id: &str,
) -> Result<(), AppError> {
    let message = Message::ConversionRecorded {
        conversion_id: conversion.id.clone(),
    };
    services
        .publish(QueueName::Conversions, &[message], correlation_id)
        .await
        .map_err(|e| {
            tracing::error!(conversion_id = %conversion.id, error = %e, "conversion stored but not queued; a retried postback re-queues it");
            AppError::Unavailable("the conversion is stored but could not be queued; send the postback again".into())
        })
}

#[cfg(test)]
mod tests;
