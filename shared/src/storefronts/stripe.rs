//! Stripe events read (the event object: `id`, `type`, `livemode`, `data.object`).
//!
//! - `checkout.session.completed` with `payment_status: paid`, and
//!   `checkout.session.async_payment_succeeded` → the order. A subscription's checkout
//!   is recorded under its first invoice, so that invoice's own `invoice.paid`
//!   (`billing_reason: subscription_create`) is the same order, counted once.
//! - `invoice.paid` with `billing_reason: subscription_cycle` → a renewal of the
//!   subscription; `subscription_create` → its first payment.
//! - `charge.refunded` → the refunded total is now `amount_refunded`.
//! - `invoice_payment.paid` (API 2025-03-31 and later) → the invoice's payment intent and
//!   charge remembered, so refunds and disputes of subscription payments find their
//!   order (earlier versions name them on the invoice itself).
//! - `charge.dispute.created` → the commission held; `charge.dispute.closed` lost → the
//!   rest reversed as a chargeback, won (or a closed warning) → the hold released.
//!
//! Events of the other mode than the store's (`livemode`) are ignored, so a test-mode
//! endpoint never credits real partners.

use serde::Deserialize;

use super::amounts::{self, less};
use super::event::{
    Delivery, OrderRef, RefundAmount, StoreEvent, StoreOrder, StoreRefund, SubscriptionRef,
};
use super::store::{AmountBasis, ConnectedStore, StripeMode};
use crate::conversion::RefundKind;
use crate::error::AppError;
use crate::money::{Currency, Money};

#[derive(Deserialize)]
struct Event {
    id: Option<String>,
    #[serde(rename = "type")]
    kind: Option<String>,
    livemode: Option<bool>,
    data: Option<EventData>,
}

#[derive(Deserialize)]
struct EventData {
    object: serde_json::Value,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Metadata {
    upline_click_id: Option<String>,
    upline_promo_code: Option<String>,
}

#[derive(Deserialize)]
struct Session {
    id: Option<String>,
    payment_status: Option<String>,
    currency: Option<String>,
    amount_total: Option<i64>,
    total_details: Option<TotalDetails>,
    client_reference_id: Option<String>,
    #[serde(default)]
    metadata: Metadata,
    customer: Option<String>,
    payment_intent: Option<String>,
    invoice: Option<String>,
    subscription: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct TotalDetails {
    amount_tax: Option<i64>,
    amount_shipping: Option<i64>,
}

#[derive(Deserialize)]
struct Invoice {
    id: Option<String>,
    billing_reason: Option<String>,
    currency: Option<String>,
    amount_paid: Option<i64>,
    total_excluding_tax: Option<i64>,
    customer: Option<String>,
    /// Before API version 2025-03-31: the subscription, payment intent and charge.
    subscription: Option<String>,
    payment_intent: Option<String>,
    charge: Option<String>,
    subscription_details: Option<SubscriptionDetails>,
    /// From 2025-03-31 (basil): `parent.subscription_details.subscription`.
    parent: Option<InvoiceParent>,
    #[serde(default)]
    metadata: Metadata,
}

#[derive(Deserialize)]
struct InvoiceParent {
    subscription_details: Option<SubscriptionDetails>,
}

#[derive(Deserialize)]
struct SubscriptionDetails {
    subscription: Option<String>,
    #[serde(default)]
    metadata: Metadata,
}

#[derive(Deserialize)]
struct Charge {
    id: Option<String>,
    amount: Option<i64>,
    amount_refunded: Option<i64>,
    currency: Option<String>,
    payment_intent: Option<String>,
    invoice: Option<String>,
}

/// From API version 2025-03-31: which payment paid which invoice.
#[derive(Deserialize)]
struct InvoicePayment {
    invoice: Option<String>,
    payment: Option<PaymentRef>,
}

#[derive(Deserialize)]
struct PaymentRef {
    payment_intent: Option<String>,
    charge: Option<String>,
}

#[derive(Deserialize)]
struct Dispute {
    id: Option<String>,
    charge: Option<String>,
    payment_intent: Option<String>,
    status: Option<String>,
}

pub fn read(store: &ConnectedStore, body: &[u8]) -> Result<Delivery, AppError> {
    let event: Event = super::json(body)?;
    let id = event.id.clone();
    let topic = event
        .kind
        .clone()
        .ok_or_else(|| amounts::unreadable("type", "is missing"))?;
    let live = event.livemode.unwrap_or(false);
    let wanted = store.options.stripe_mode();
    if live != (wanted == StripeMode::Live) {
        return Ok(Delivery::ignored(
            id,
            topic,
            format!(
                "a {} event; this store takes {} events",
                if live { "live-mode" } else { "test-mode" },
                if wanted == StripeMode::Live {
                    "live-mode"
                } else {
                    "test-mode"
                },
            ),
        ));
    }
    let object = event.data.map(|d| d.object).unwrap_or_default();
    let events = match topic.as_str() {
        "checkout.session.completed" | "checkout.session.async_payment_succeeded" => {
            let session: Session = super::object(object)?;
            if session.payment_status.as_deref() != Some("paid") {
                vec![StoreEvent::Ignore(format!(
                    "the session's payment_status is {:?}; it is credited when it is paid (checkout.session.async_payment_succeeded)",
                    session.payment_status.unwrap_or_default()
                ))]
            } else {
                vec![StoreEvent::Order(Box::new(session_order(store, session)?))]
            }
        }
        "invoice.paid" => {
            let invoice: Invoice = super::object(object)?;
            vec![invoice_event(store, invoice)?]
        }
        "charge.refunded" => {
            let charge: Charge = super::object(object)?;
            vec![charge_refund(charge)?]
        }
        "invoice_payment.paid" => {
            let payment: InvoicePayment = super::object(object)?;
            vec![invoice_payment(payment)?]
        }
        "charge.dispute.created" | "charge.dispute.closed" => {
            let dispute: Dispute = super::object(object)?;
            vec![dispute_event(&topic, dispute)?]
        }
        other => vec![StoreEvent::Ignore(format!(
            "Upline does not use {other} events"
        ))],
    };
    Ok(Delivery { id, topic, events })
}

fn required(field: &str, v: Option<String>) -> Result<String, AppError> {
    v.filter(|s| !s.trim().is_empty())
        .ok_or_else(|| amounts::unreadable(field, "is missing"))
}

fn session_order(store: &ConnectedStore, s: Session) -> Result<StoreOrder, AppError> {
    let session_id = required("data.object.id", s.id)?;
    let currency = amounts::currency("data.object.currency", s.currency.as_deref())?;
    let total = amounts::stripe("data.object.amount_total", s.amount_total, currency)?;
    let details = s.total_details.unwrap_or_default();
    let tax = amounts::stripe(
        "data.object.total_details.amount_tax",
        details.amount_tax,
        currency,
    )?;
    let shipping = amounts::stripe(
        "data.object.total_details.amount_shipping",
        details.amount_shipping,
        currency,
    )?;
    // A subscription's first payment is its first invoice: recorded under the invoice so
    // the invoice's own event is the same order.
    let mut ids: Vec<String> = [
        s.invoice.clone(),
        s.payment_intent.clone(),
        Some(session_id),
    ]
    .into_iter()
    .flatten()
    .collect();
    let order_id = ids.remove(0);
    let click_ids = [s.client_reference_id, s.metadata.upline_click_id]
        .into_iter()
        .flatten()
        .filter(|c| !c.trim().is_empty())
        .collect();
    let (amount, tax, shipping) = on_basis(store, total, tax, shipping);
    Ok(StoreOrder {
        order_id,
        aliases: ids,
        amount,
        discount: Money::zero(currency),
        tax,
        shipping,
        items: vec![],
        customer_id: s.customer,
        click_ids,
        promo_codes: s.metadata.upline_promo_code.into_iter().collect(),
        subscription: s
            .subscription
            .map(|id| SubscriptionRef { id, renewal: false }),
    })
}

/// The sale's amount, tax and shipping on the store's basis: without tax and shipping
/// (the subtotal after discounts), or the total with them recorded.
fn on_basis(
    store: &ConnectedStore,
    total: Money,
    tax: Money,
    shipping: Money,
) -> (Money, Money, Money) {
    let c = total.currency();
    match store.options.amount_basis {
        AmountBasis::Subtotal => (
            less(less(total, tax), shipping),
            Money::zero(c),
            Money::zero(c),
        ),
        AmountBasis::Total => (total, tax, shipping),
    }
}

fn invoice_event(store: &ConnectedStore, i: Invoice) -> Result<StoreEvent, AppError> {
    let invoice_id = required("data.object.id", i.id)?;
    let reason = i.billing_reason.clone().unwrap_or_default();
    let renewal = match reason.as_str() {
        "subscription_cycle" => true,
        "subscription_create" => false,
        other => {
            return Ok(StoreEvent::Ignore(format!(
                "invoice {invoice_id} has billing_reason {other:?}; Upline credits subscription_create and subscription_cycle"
            )));
        }
    };
    // Where the subscription is depends on the account's API version.
    let (subscription, details_meta) = match (i.subscription, i.subscription_details, i.parent) {
        (Some(sub), details, _) => (Some(sub), details.map(|d| d.metadata)),
        (None, Some(d), _) if d.subscription.is_some() => (d.subscription, Some(d.metadata)),
        (
            None,
            _,
            Some(InvoiceParent {
                subscription_details: Some(d),
            }),
        ) => (d.subscription, Some(d.metadata)),
        _ => (None, None),
    };
    let Some(subscription) = subscription else {
        return Ok(StoreEvent::Ignore(format!(
            "invoice {invoice_id} names no subscription"
        )));
    };
    let currency: Currency = amounts::currency("data.object.currency", i.currency.as_deref())?;
    let paid = amounts::stripe("data.object.amount_paid", i.amount_paid, currency)?;
    let excluding_tax = match i.total_excluding_tax {
        Some(n) => amounts::stripe("data.object.total_excluding_tax", Some(n), currency)?,
        None => paid,
    };
    let tax = less(paid, excluding_tax);
    let (amount, tax, shipping) = on_basis(store, paid, tax, Money::zero(currency));
    let meta = details_meta.unwrap_or_default();
    Ok(StoreEvent::Order(Box::new(StoreOrder {
        order_id: invoice_id,
        aliases: [i.payment_intent, i.charge].into_iter().flatten().collect(),
        amount,
        discount: Money::zero(currency),
        tax,
        shipping,
        items: vec![],
        customer_id: i.customer,
        click_ids: [i.metadata.upline_click_id, meta.upline_click_id]
            .into_iter()
            .flatten()
            .collect(),
        promo_codes: [i.metadata.upline_promo_code, meta.upline_promo_code]
            .into_iter()
            .flatten()
            .collect(),
        subscription: Some(SubscriptionRef {
            id: subscription,
            renewal,
        }),
    })))
}

fn charge_refund(c: Charge) -> Result<StoreEvent, AppError> {
    let charge_id = required("data.object.id", c.id)?;
    let currency = amounts::currency("data.object.currency", c.currency.as_deref())?;
    let of = amounts::stripe("data.object.amount", c.amount, currency)?;
    let refunded = amounts::stripe("data.object.amount_refunded", c.amount_refunded, currency)?;
    let refs = [c.invoice, c.payment_intent, Some(charge_id.clone())]
        .into_iter()
        .flatten()
        .collect();
    Ok(StoreEvent::Refund(StoreRefund {
        order: OrderRef(refs),
        // One refund per refunded total: a redelivery names the same total.
        refund_id: format!("stripe-{charge_id}-{}", refunded.minor()),
        amount: RefundAmount::TotalNow { refunded, of },
        kind: RefundKind::Refund,
        reason: Some(format!("Stripe refund of charge {charge_id}")),
        releases: None,
    }))
}

/// An invoice's payment intent and charge, so its refunds and disputes (which name only
/// those) find the invoice's order.
fn invoice_payment(p: InvoicePayment) -> Result<StoreEvent, AppError> {
    let invoice = required("data.object.invoice", p.invoice)?;
    let aliases: Vec<String> = p
        .payment
        .map(|r| [r.payment_intent, r.charge].into_iter().flatten().collect())
        .unwrap_or_default();
    Ok(StoreEvent::Aliases {
        order_id: invoice,
        aliases,
    })
}

fn dispute_event(topic: &str, d: Dispute) -> Result<StoreEvent, AppError> {
    let dispute_id = required("data.object.id", d.id)?;
    let order = OrderRef([d.payment_intent, d.charge].into_iter().flatten().collect());
    if topic == "charge.dispute.created" {
        return Ok(StoreEvent::Hold { order, dispute_id });
    }
    Ok(match d.status.as_deref().unwrap_or_default() {
        "lost" => StoreEvent::Refund(StoreRefund {
            order,
            refund_id: format!("stripe-{dispute_id}"),
            amount: RefundAmount::Rest,
            kind: RefundKind::Chargeback,
            reason: Some(format!("dispute {dispute_id} lost")),
            releases: Some(dispute_id),
        }),
        "won" | "warning_closed" => StoreEvent::Release { order, dispute_id },
        other => StoreEvent::Ignore(format!("dispute {dispute_id} closed with status {other:?}")),
    })
}
