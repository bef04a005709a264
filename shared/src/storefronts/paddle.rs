//! Paddle Billing notifications read (`event_id`, `event_type`, `data`).
//!
//! - `transaction.completed` → the order; `origin: subscription_recurring` makes it a
//!   renewal of its subscription, a first payment (`web`, `api`) with a subscription
//!   starts it. Other origins (a payment-method change, a one-off charge) are ignored.
//! - `adjustment.created` / `adjustment.updated` with `action` `refund` or `chargeback`
//!   → money given back, once the adjustment is `approved` (refunds wait for Paddle's
//!   approval; a pending or rejected one gives nothing back yet).
//!
//! Amounts are strings of minor units, totals in `details.totals` and per item.

use serde::Deserialize;

use super::amounts::{self, less, minor_text};
use super::event::{
    Delivery, OrderRef, RefundAmount, StoreEvent, StoreOrder, StoreRefund, SubscriptionRef,
    line_item,
};
use super::store::{AmountBasis, ConnectedStore};
use crate::conversion::RefundKind;
use crate::error::AppError;
use crate::money::Money;

#[derive(Deserialize)]
struct Notification {
    event_id: Option<String>,
    event_type: Option<String>,
    data: Option<serde_json::Value>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct CustomData {
    upline_click_id: Option<String>,
    upline_promo_code: Option<String>,
}

#[derive(Deserialize)]
struct Transaction {
    id: Option<String>,
    origin: Option<String>,
    currency_code: Option<String>,
    customer_id: Option<String>,
    subscription_id: Option<String>,
    custom_data: Option<CustomData>,
    details: Option<Details>,
}

#[derive(Deserialize)]
struct Details {
    totals: Option<Totals>,
    #[serde(default)]
    line_items: Vec<Line>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Totals {
    subtotal: Option<String>,
    discount: Option<String>,
    tax: Option<String>,
    total: Option<String>,
}

#[derive(Deserialize)]
struct Line {
    price_id: Option<String>,
    quantity: Option<i64>,
    totals: Option<Totals>,
    product: Option<Product>,
}

#[derive(Deserialize)]
struct Product {
    id: Option<String>,
}

#[derive(Deserialize)]
struct Adjustment {
    id: Option<String>,
    action: Option<String>,
    status: Option<String>,
    transaction_id: Option<String>,
    currency_code: Option<String>,
    totals: Option<Totals>,
}

pub fn read(store: &ConnectedStore, body: &[u8]) -> Result<Delivery, AppError> {
    let n: Notification = super::json(body)?;
    let id = n.event_id.clone();
    let topic = n
        .event_type
        .clone()
        .ok_or_else(|| amounts::unreadable("event_type", "is missing"))?;
    let data = n.data.unwrap_or_default();
    let event = match topic.as_str() {
        "transaction.completed" => transaction(store, super::object(data)?)?,
        "adjustment.created" | "adjustment.updated" => adjustment(store, super::object(data)?)?,
        other => StoreEvent::Ignore(format!("Upline does not use {other} notifications")),
    };
    Ok(Delivery {
        id,
        topic,
        events: vec![event],
    })
}

fn required(field: &str, v: Option<String>) -> Result<String, AppError> {
    v.filter(|s| !s.trim().is_empty())
        .ok_or_else(|| amounts::unreadable(field, "is missing"))
}

fn transaction(store: &ConnectedStore, t: Transaction) -> Result<StoreEvent, AppError> {
    let txn = required("data.id", t.id)?;
    let origin = t.origin.unwrap_or_default();
    let renewal = match (origin.as_str(), &t.subscription_id) {
        ("subscription_recurring", Some(_)) => Some(true),
        ("web" | "api", Some(_)) => Some(false),
        ("web" | "api", None) => None,
        (other, _) => {
            return Ok(StoreEvent::Ignore(format!(
                "transaction {txn} has origin {other:?}; Upline credits web and api sales and subscription_recurring renewals"
            )));
        }
    };
    let currency = amounts::currency("data.currency_code", t.currency_code.as_deref())?;
    let details = t
        .details
        .ok_or_else(|| amounts::unreadable("data.details", "is missing"))?;
    let totals = details.totals.unwrap_or_default();
    let subtotal = minor_text(
        "data.details.totals.subtotal",
        totals.subtotal.as_deref(),
        currency,
    )?;
    let discount = minor_text(
        "data.details.totals.discount",
        totals.discount.as_deref(),
        currency,
    )?;
    let tax = minor_text("data.details.totals.tax", totals.tax.as_deref(), currency)?;
    let total = minor_text(
        "data.details.totals.total",
        totals.total.as_deref(),
        currency,
    )?;
    let (amount, tax) = match store.options.amount_basis {
        AmountBasis::Subtotal => (less(subtotal, discount), Money::zero(currency)),
        AmountBasis::Total => (total, tax),
    };
    let mut items = Vec::new();
    for (i, line) in details.line_items.iter().enumerate() {
        let lt = line.totals.as_ref();
        let f = |n: &str| format!("data.details.line_items[{i}].totals.{n}");
        let value = less(
            minor_text(
                &f("subtotal"),
                lt.and_then(|t| t.subtotal.as_deref()),
                currency,
            )?,
            minor_text(
                &f("discount"),
                lt.and_then(|t| t.discount.as_deref()),
                currency,
            )?,
        );
        let sku = line
            .product
            .as_ref()
            .and_then(|p| p.id.clone())
            .or_else(|| line.price_id.clone())
            .unwrap_or_else(|| format!("line-{i}"));
        items.push(line_item(
            sku,
            None,
            line.quantity.unwrap_or(1).max(1),
            value,
        ));
    }
    let custom = t.custom_data.unwrap_or_default();
    Ok(StoreEvent::Order(Box::new(StoreOrder {
        order_id: txn,
        aliases: vec![],
        amount,
        discount: Money::zero(currency),
        tax,
        shipping: Money::zero(currency),
        items,
        customer_id: t.customer_id,
        click_ids: custom.upline_click_id.into_iter().collect(),
        promo_codes: custom.upline_promo_code.into_iter().collect(),
        subscription: t
            .subscription_id
            .zip(renewal)
            .map(|(id, renewal)| SubscriptionRef { id, renewal }),
    })))
}

fn adjustment(store: &ConnectedStore, a: Adjustment) -> Result<StoreEvent, AppError> {
    let adj = required("data.id", a.id)?;
    let action = a.action.unwrap_or_default();
    let kind = match action.as_str() {
        "refund" => RefundKind::Refund,
        "chargeback" => RefundKind::Chargeback,
        other => {
            return Ok(StoreEvent::Ignore(format!(
                "adjustment {adj} is a {other:?}; Upline acts on refunds and chargebacks"
            )));
        }
    };
    let status = a.status.unwrap_or_default();
    if status != "approved" {
        return Ok(StoreEvent::Ignore(format!(
            "adjustment {adj} is {status:?}; it takes money back once approved"
        )));
    }
    let transaction = required("data.transaction_id", a.transaction_id)?;
    let currency = amounts::currency("data.currency_code", a.currency_code.as_deref())?;
    let totals = a.totals.unwrap_or_default();
    let given = match store.options.amount_basis {
        AmountBasis::Subtotal => {
            minor_text("data.totals.subtotal", totals.subtotal.as_deref(), currency)?
        }
        AmountBasis::Total => minor_text("data.totals.total", totals.total.as_deref(), currency)?,
    };
    Ok(StoreEvent::Refund(StoreRefund {
        order: OrderRef::one(transaction),
        refund_id: format!("paddle-{adj}"),
        amount: RefundAmount::Exact(given),
        kind,
        reason: Some(format!("Paddle {action} {adj}")),
        releases: None,
    }))
}
