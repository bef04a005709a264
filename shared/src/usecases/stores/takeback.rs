//! Money taken back on a store's order — refunds, cancellations, lost disputes — through
//! the same refund use case as `POST /v1/refunds` (once per refund id, every line
//! reversed in proportion), and disputes holding a sale's pending commission
//! (`usecases::disputes`).
//!
//! Amounts that depend on what was refunded before (the rest of a sale, a cumulative
//! total, a refund capped at what is left) are handed to the refund use case as such, so
//! it decides them on fresh state inside its serialised retry; nothing here computes
//! from a snapshot. A refund for an order not recorded (yet) waits under the order's ids
//! for 30 days and is applied when the order is recorded: platforms do not promise to
//! deliver an order before its refund.

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::*;
use crate::conversion::{Conversion, ConversionStatus, RefundKind};
use crate::money::{Currency, Money, round_minor};
use crate::ports::{Item, Key};
use crate::storefronts::{OrderRef, RefundAmount, StoreRefund};
use crate::usecases::disputes::{self, HoldChange};
use crate::usecases::refunds::{RefundRequest, refund_conversion};

/// How long a refund waits for its order.
const PENDING_DAYS: i64 = 30;

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

pub(super) async fn refund(
    services: &Services,
    store: &ConnectedStore,
    refund: StoreRefund,
) -> Result<Action, AppError> {
    let Some(conversion) = conversion_of(services, store, &refund.order).await? else {
        let order = refund.order.0.first().map(String::as_str).unwrap_or("?");
        // WooCommerce sends the whole order every time, refunds and status included, so a
        // refund need not wait: a stale status kept waiting would reverse an order that
        // failed, was retried and paid.
        if store.platform == Platform::Woocommerce {
            return Ok(Action::new(Outcome::Ignored).because(format!(
                "no conversion was recorded for order {order} (it was not credited to a partner)"
            )));
        }
        wait_for_order(services, store, &refund).await?;
        return Ok(Action::new(Outcome::Ignored).because(format!(
            "no conversion is recorded for order {order}: the refund is applied if the order is recorded within {PENDING_DAYS} days"
        )));
    };
    let done = |a: Action| Ok(a.order(&conversion.order_id).conversion(&conversion.id));
    // Everything is measured in the currency the store sold in.
    let sale = conversion
        .original
        .as_ref()
        .map_or(conversion.amounts.sale, |o| o.amount);
    let text = |minor: i64| Some(DecimalText(format_minor(minor, sale.currency())));
    let mut request = RefundRequest {
        refund_id: Some(IdText(refund.refund_id.clone())),
        conversion_id: Some(conversion.id.to_string()),
        currency: Some(sale.currency().code().to_string()),
        kind: Some(refund.kind.as_str().to_string()),
        reason: refund.reason.clone(),
        ..RefundRequest::default()
    };
    let check_currency = |m: Money| {
        (m.currency() != sale.currency()).then(|| {
            Action::new(Outcome::Ignored).because(format!(
                "the refund is in {} but the sale was in {}",
                m.currency(),
                sale.currency()
            ))
        })
    };
    match refund.amount {
        RefundAmount::Rest => {}
        RefundAmount::Exact(m) => {
            if let Some(refused) = check_currency(m) {
                return done(refused);
            }
            request.amount = text(m.minor());
            request.up_to_rest = true;
        }
        RefundAmount::ShareOf { given, of } => {
            if let Some(refused) = check_currency(given) {
                return done(refused);
            }
            request.amount = text(share(sale, given, of));
            request.up_to_rest = true;
        }
        RefundAmount::TotalNow { refunded, of } => {
            if let Some(refused) = check_currency(refunded) {
                return done(refused);
            }
            request.refunded_total = text(share(sale, refunded, of));
        }
    }
    let action = match refund_conversion(services, request.clone()).await {
        Ok(outcome) if !outcome.created => Action::new(Outcome::Duplicate)
            .because(format!("refund {} was recorded before", refund.refund_id)),
        Ok(outcome) => {
            let now = services.store.conversion(&conversion.id).await?;
            let all = now.is_some_and(|c| c.amounts.refunded.minor() >= c.amounts.sale.minor());
            Action::new(if all {
                Outcome::Reversed
            } else {
                Outcome::Refunded
            })
            .because(format!(
                "{} {} taken back",
                outcome.amount, outcome.currency
            ))
        }
        Err(AppError::Conflict { detail, .. }) => Action::new(Outcome::Duplicate).because(detail),
        // Nothing (more) to take back: all of it was refunded already.
        Err(AppError::Invalid(fields)) => {
            Action::new(Outcome::Duplicate).because(crate::error::describe_fields(&fields))
        }
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
            Action::new(Outcome::Refunded)
                .because("to be taken back once the commission is computed")
        }
        Err(e) => return Err(e),
    };
    // A lost dispute ends its hold too: the held lines and their reversals go together.
    if let Some(dispute_id) = &refund.releases {
        disputes::release(services, &conversion, dispute_id).await?;
    }
    done(action)
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

/// Holds (`hold`) or releases the sale's pending lines for a dispute.
pub(super) async fn hold(
    services: &Services,
    store: &ConnectedStore,
    order: &OrderRef,
    dispute_id: &str,
    hold: bool,
) -> Result<Action, AppError> {
    let Some(conversion) = conversion_of(services, store, order).await? else {
        let order = order.0.first().map(String::as_str).unwrap_or("?");
        return Ok(Action::new(Outcome::Ignored).because(format!(
            "no conversion was recorded for order {order} (it was not credited to a partner)"
        )));
    };
    let change = if hold {
        disputes::hold(services, &conversion, dispute_id).await?
    } else {
        disputes::release(services, &conversion, dispute_id).await?
    };
    let what = if hold {
        "held until it closes"
    } else {
        "released"
    };
    let reason = match change {
        HoldChange::Parked => {
            format!("dispute {dispute_id}: the commission is {what} once computed")
        }
        HoldChange::Lines(0) => {
            format!("dispute {dispute_id}: no pending commission line to change")
        }
        HoldChange::Lines(n) => format!(
            "dispute {dispute_id}: {n} pending line{} {what}",
            if n == 1 { "" } else { "s" }
        ),
    };
    Ok(Action::new(if hold {
        Outcome::Held
    } else {
        Outcome::Released
    })
    .because(reason)
    .order(&conversion.order_id)
    .conversion(&conversion.id))
}

/// A refund waiting for its order, as kept.
#[derive(Serialize, Deserialize)]
struct PendingRefund {
    refund_id: String,
    order: Vec<String>,
    kind: RefundKind,
    reason: Option<String>,
    releases: Option<String>,
    /// `rest`, `exact`, `share` or `total`.
    amount_kind: String,
    minor: i64,
    of_minor: i64,
    currency: Option<String>,
}

fn pending_partition(store: &StoreId, order_ref: &str) -> String {
    format!("STOREPENDING#{store}#{order_ref}")
}

async fn wait_for_order(
    services: &Services,
    store: &ConnectedStore,
    refund: &StoreRefund,
) -> Result<(), AppError> {
    let pending = pending_of(refund);
    let expires = services.now().plus_days(PENDING_DAYS);
    for r in &refund.order.0 {
        let key = Key::new(
            pending_partition(&store.id, r),
            format!("REFUND#{}", refund.refund_id),
        );
        let item = encode(key, &pending).with("ttl", expires.secs());
        services.store.table().put(item, Condition::None).await?;
    }
    Ok(())
}

/// Applies the refunds that waited for this order (under any of its ids), each once.
/// One whose order is still not recorded keeps waiting — under `forward_to` too when
/// given (the order id an alias was just learned for), since the order's recording looks
/// there.
pub(super) async fn apply_waiting(
    services: &Services,
    store: &ConnectedStore,
    ids: &[String],
    forward_to: Option<&str>,
) -> Result<(), AppError> {
    let table = services.store.table();
    let now = services.now();
    for r in ids {
        let partition = pending_partition(&store.id, r);
        let page = table
            .query(
                Index::Primary,
                &partition,
                &SortKeyCondition::BeginsWith("REFUND#".into()),
                true,
                100,
                None,
            )
            .await?;
        for item in &page.items {
            // Expired (DynamoDB deletes expired items late), or not readable: dropped.
            let expired = item.n("ttl").is_some_and(|t| t <= now.secs());
            let Some(mut refund) = from_pending(item).ok().flatten().filter(|_| !expired) else {
                table.delete(&item.key, Condition::None).await?;
                continue;
            };
            if conversion_of(services, store, &refund.order)
                .await?
                .is_none()
            {
                if let Some(order_id) = forward_to {
                    refund.order.0.push(order_id.to_string());
                    let key = Key::new(pending_partition(&store.id, order_id), item.key.sk.clone());
                    let mut copy = encode(key, &pending_of(&refund));
                    if let Some(ttl) = item.n("ttl") {
                        copy = copy.with("ttl", ttl);
                    }
                    table.put(copy, Condition::None).await?;
                }
                continue;
            }
            self::refund(services, store, refund).await?;
            table.delete(&item.key, Condition::None).await?;
        }
    }
    Ok(())
}

fn pending_of(refund: &StoreRefund) -> PendingRefund {
    let (amount_kind, minor, of_minor, currency) = match refund.amount {
        RefundAmount::Rest => ("rest", 0, 0, None),
        RefundAmount::Exact(m) => ("exact", m.minor(), 0, Some(m.currency())),
        RefundAmount::ShareOf { given, of } => {
            ("share", given.minor(), of.minor(), Some(given.currency()))
        }
        RefundAmount::TotalNow { refunded, of } => (
            "total",
            refunded.minor(),
            of.minor(),
            Some(refunded.currency()),
        ),
    };
    PendingRefund {
        refund_id: refund.refund_id.clone(),
        order: refund.order.0.clone(),
        kind: refund.kind,
        reason: refund.reason.clone(),
        releases: refund.releases.clone(),
        amount_kind: amount_kind.into(),
        minor,
        of_minor,
        currency: currency.map(|c| c.code().to_string()),
    }
}

fn from_pending(item: &Item) -> Result<Option<StoreRefund>, AppError> {
    let p: PendingRefund = decode(item)?;
    let money = |minor: i64| -> Option<Money> {
        let c = Currency::from_code(p.currency.as_deref()?).ok()?;
        Some(Money::from_minor(minor, c))
    };
    let amount = match (p.amount_kind.as_str(), money(p.minor), money(p.of_minor)) {
        ("rest", _, _) => RefundAmount::Rest,
        ("exact", Some(m), _) => RefundAmount::Exact(m),
        ("share", Some(given), Some(of)) => RefundAmount::ShareOf { given, of },
        ("total", Some(refunded), Some(of)) => RefundAmount::TotalNow { refunded, of },
        _ => return Ok(None),
    };
    Ok(Some(StoreRefund {
        order: OrderRef(p.order),
        refund_id: p.refund_id,
        amount,
        kind: p.kind,
        reason: p.reason,
        releases: p.releases,
    }))
}
