//! Money taken back on a store's order — refunds, cancellations, lost disputes — through
//! the same refund use case as `POST /v1/refunds` (once per refund id, every line
//! reversed in proportion); and disputes holding a sale's pending commission until they
//! close.

use rust_decimal::Decimal;

use super::*;
use crate::commission::LineStatus;
use crate::conversion::{Conversion, ConversionStatus};
use crate::money::{Money, round_minor};
use crate::store::{Store, status_is};
use crate::storefronts::{OrderRef, RefundAmount, StoreRefund};
use crate::usecases::refunds::{RefundRequest, refund_conversion};

/// The conversion an order reference names: by the order id it was recorded under, or by
/// another id of the order remembered when it was recorded.
async fn conversion_of(
    services: &Services,
    store: &ConnectedStore,
    order: &OrderRef,
) -> Result<Option<Conversion>, AppError> {
    let s = &services.store;
    for r in &order.0 {
        let mut id = s.conversion_id_for_order(&store.campaign_id, r).await?;
        if id.is_none()
            && let Some(alias) = s
                .table()
                .get(&keys::store_order_alias(&store.id, r))
                .await?
            && let Some(order_id) = alias.s("order_id")
        {
            id = s
                .conversion_id_for_order(&store.campaign_id, order_id)
                .await?;
        }
        if let Some(id) = id {
            return s.conversion(&id).await;
        }
    }
    Ok(None)
}

fn not_recorded(order: &OrderRef) -> Action {
    Action::new(Outcome::Ignored).because(format!(
        "no conversion was recorded for order {} (it was not credited to a partner)",
        order.0.first().map(String::as_str).unwrap_or("?")
    ))
}

pub(super) async fn refund(
    services: &Services,
    store: &ConnectedStore,
    refund: StoreRefund,
) -> Result<Action, AppError> {
    let Some(conversion) = conversion_of(services, store, &refund.order).await? else {
        return Ok(not_recorded(&refund.order));
    };
    let done = |a: Action| Ok(a.order(&conversion.order_id).conversion(&conversion.id));
    // Everything is measured in the currency the store sold in.
    let (sale, refunded_before) = match &conversion.original {
        Some(o) => (o.amount, conversion.refunded_original_minor),
        None => (conversion.amounts.sale, conversion.amounts.refunded.minor()),
    };
    let left = sale.minor() - refunded_before;
    let wanted = match refund.amount {
        RefundAmount::Rest => left,
        RefundAmount::Exact(m) => {
            if m.currency() != sale.currency() {
                return done(Action::new(Outcome::Ignored).because(format!(
                    "the refund is in {} but the sale was in {}",
                    m.currency(),
                    sale.currency()
                )));
            }
            m.minor()
        }
        RefundAmount::ShareOf { given, of } => share(sale, given, of),
        RefundAmount::TotalNow { refunded, of } => share(sale, refunded, of) - refunded_before,
    };
    if left <= 0 || wanted <= 0 {
        return done(Action::new(Outcome::Duplicate).because(format!(
            "nothing more to take back: {} of {} already refunded",
            Money::from_minor(refunded_before, sale.currency()),
            sale
        )));
    }
    // A refund counting tax or shipping the sale did not include takes back at most
    // what is left.
    let amount = wanted.min(left);
    let request = RefundRequest {
        refund_id: Some(IdText(refund.refund_id.clone())),
        conversion_id: Some(conversion.id.to_string()),
        amount: Some(DecimalText(format_minor(amount, sale.currency()))),
        currency: Some(sale.currency().code().to_string()),
        kind: Some(refund.kind.as_str().to_string()),
        reason: refund.reason.clone(),
        ..RefundRequest::default()
    };
    match refund_conversion(services, request.clone()).await {
        Ok(outcome) if !outcome.created => done(
            Action::new(Outcome::Duplicate)
                .because(format!("refund {} was recorded before", refund.refund_id)),
        ),
        Ok(_) => done(
            Action::new(if amount == left {
                Outcome::Reversed
            } else {
                Outcome::Refunded
            })
            .because(format!(
                "{} taken back{}",
                Money::from_minor(amount, sale.currency()),
                refund.reason.map(|r| format!(": {r}")).unwrap_or_default()
            )),
        ),
        Err(AppError::Conflict { detail, .. }) => {
            done(Action::new(Outcome::Duplicate).because(detail))
        }
        Err(AppError::Invalid(fields)) => done(
            Action::new(Outcome::Ignored).because(
                fields
                    .iter()
                    .map(|f| format!("{} {}", f.field, f.message))
                    .collect::<Vec<_>>()
                    .join("; "),
            ),
        ),
        // The commission is still being computed: the refund waits beside the
        // conversion and the commission stage applies it right after the lines.
        Err(AppError::Unavailable(_)) if conversion.status == ConversionStatus::Recorded => {
            crate::usecases::refunds::park(services, &conversion, &refund.refund_id, &request)
                .await?;
            // The stage may have finished between the refusal and the parking: then
            // nobody else will apply it.
            let now = services.store.conversion(&conversion.id).await?;
            if now.is_some_and(|c| c.status != ConversionStatus::Recorded) {
                crate::usecases::refunds::apply_parked(services, &conversion.id).await?;
            }
            done(
                Action::new(if amount == left {
                    Outcome::Reversed
                } else {
                    Outcome::Refunded
                })
                .because(format!(
                    "{} to be taken back once the commission is computed",
                    Money::from_minor(amount, sale.currency())
                )),
            )
        }
        Err(e) => Err(e),
    }
}

/// `given` of `of`, as a share of `sale`, to the minor unit (half to even); the whole
/// sale when all of it was given.
fn share(sale: Money, given: Money, of: Money) -> i64 {
    if of.minor() <= 0 || given.minor() >= of.minor() {
        return sale.minor();
    }
    round_minor(
        Decimal::from(sale.minor()) * Decimal::from(given.minor()) / Decimal::from(of.minor()),
    )
}

/// Holds (`hold`) or releases the sale's pending lines for a dispute. A hold keeps them
/// from being approved however their hold period runs; lines already approved or paid
/// stay, and a lost dispute reverses them like any chargeback.
pub(super) async fn hold(
    services: &Services,
    store: &ConnectedStore,
    order: &OrderRef,
    dispute_id: &str,
    hold: bool,
) -> Result<Action, AppError> {
    let Some(conversion) = conversion_of(services, store, order).await? else {
        return Ok(not_recorded(order));
    };
    let lines = services.store.lines_of_conversion(&conversion.id).await?;
    let mut ops = Vec::new();
    for line in lines
        .iter()
        .filter(|l| l.status == LineStatus::Pending && l.reverses.is_none())
    {
        let mut changed = line.clone();
        changed.held_for = if hold {
            Some(dispute_id.to_string())
        } else if line.held_for.as_deref() == Some(dispute_id) {
            None
        } else {
            continue;
        };
        if changed.held_for != line.held_for {
            ops.push(Store::line_write(
                &changed,
                status_is(LineStatus::Pending.as_str()),
            ));
        }
    }
    let base = Action::new(if hold {
        Outcome::Held
    } else {
        Outcome::Released
    })
    .order(&conversion.order_id)
    .conversion(&conversion.id);
    if ops.is_empty() {
        return Ok(base.because(format!(
            "dispute {dispute_id}: no pending commission line to {}",
            if hold { "hold" } else { "release" }
        )));
    }
    let count = ops.len();
    services.store.table().transact(ops).await?;
    Ok(base.because(format!(
        "dispute {dispute_id}: {count} pending line{} {}",
        if count == 1 { "" } else { "s" },
        if hold {
            "held until it closes"
        } else {
            "released"
        }
    )))
}
