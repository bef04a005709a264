//! WooCommerce deliveries read: the topic from `X-WC-Webhook-Topic`, the delivery from
//! `X-WC-Webhook-Delivery-ID`, the order (REST API v3 shape) in the body.
//!
//! `order.created` and `order.updated` carry the whole order, so one delivery may say
//! several things at once (WooCommerce coalesces changes): the order reached a paid
//! status (a sale), refunds were made (each refund id once), the order was cancelled,
//! refunded or failed (everything left reversed). They are read in that order.
//!
//! `X-WC-Webhook-Delivery-ID` is a hash of the webhook and the second it was sent in, so
//! two orders sent in one second share it: it is logged, never used to recognise a
//! repeat (the order and refund ids are).
//!
//! The unsigned ping WooCommerce sends when a webhook is saved (`webhook_id=<n>`, a form
//! body) is recognised by [`is_ping`] and answered without recording anything.

use serde::Deserialize;

use super::amounts::{self, major};
use super::event::{
    Delivery, OrderRef, RefundAmount, StoreEvent, StoreOrder, StoreRefund, line_item,
};
use super::scalar_text;
use super::store::{AmountBasis, ConnectedStore};
use crate::conversion::RefundKind;
use crate::error::AppError;
use crate::money::Money;

/// Statuses after which nothing of the order is owed any more.
const REVERSING_STATUSES: &[&str] = &["cancelled", "refunded", "failed"];

#[derive(Deserialize)]
struct Order {
    id: Option<serde_json::Value>,
    status: Option<String>,
    currency: Option<String>,
    total: Option<String>,
    total_tax: Option<String>,
    shipping_total: Option<String>,
    customer_id: Option<serde_json::Value>,
    #[serde(default)]
    line_items: Vec<Item>,
    #[serde(default)]
    coupon_lines: Vec<Coupon>,
    #[serde(default)]
    refunds: Vec<Refund>,
    #[serde(default)]
    meta_data: Vec<Meta>,
}

#[derive(Deserialize)]
struct Item {
    sku: Option<String>,
    product_id: Option<serde_json::Value>,
    variation_id: Option<serde_json::Value>,
    quantity: Option<i64>,
    /// The line after discounts, without tax.
    total: Option<String>,
}

#[derive(Deserialize)]
struct Coupon {
    code: Option<String>,
}

#[derive(Deserialize)]
struct Refund {
    id: Option<serde_json::Value>,
    /// Negative: money going out.
    total: Option<String>,
}

#[derive(Deserialize)]
struct Meta {
    key: Option<String>,
    value: Option<serde_json::Value>,
}

/// WooCommerce's ping on saving a webhook: a form body `webhook_id=<digits>`, unsigned.
pub fn is_ping(body: &[u8]) -> bool {
    std::str::from_utf8(body)
        .ok()
        .and_then(|b| b.trim().strip_prefix("webhook_id="))
        .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
}

pub fn read(
    store: &ConnectedStore,
    header: &dyn Fn(&str) -> Option<String>,
    body: &[u8],
) -> Result<Delivery, AppError> {
    let id = header("x-wc-webhook-delivery-id");
    let topic = header("x-wc-webhook-topic").unwrap_or_default();
    if !matches!(topic.as_str(), "order.created" | "order.updated") {
        return Ok(Delivery::ignored(
            id,
            topic.clone(),
            format!(
                "Upline does not use the {topic:?} topic (it reads order.created and order.updated)"
            ),
        ));
    }
    let order: Order = super::json(body)?;
    let order_id = order
        .id
        .as_ref()
        .and_then(scalar_text)
        .ok_or_else(|| amounts::unreadable("id", "is missing"))?;
    let status = order.status.clone().unwrap_or_default();
    let currency = amounts::currency("currency", order.currency.as_deref())?;
    let total = major("total", order.total.as_deref(), currency)?;
    let mut events = Vec::new();
    if store.options.paid_statuses().contains(&status) {
        events.push(StoreEvent::Order(Box::new(read_order(
            store,
            &order,
            order_id.clone(),
            total,
        )?)));
    }
    for (i, r) in order.refunds.iter().enumerate() {
        let refund_id =
            r.id.as_ref()
                .and_then(scalar_text)
                .ok_or_else(|| amounts::unreadable(&format!("refunds[{i}].id"), "is missing"))?;
        let given = major(&format!("refunds[{i}].total"), r.total.as_deref(), currency)?;
        let given = Money::from_minor(given.minor().saturating_abs(), currency);
        if given.minor() == 0 {
            continue;
        }
        events.push(StoreEvent::Refund(StoreRefund {
            order: OrderRef::one(order_id.clone()),
            refund_id: format!("woocommerce-refund-{refund_id}"),
            // A refund's total includes whatever tax and shipping it gave back.
            amount: RefundAmount::ShareOf { given, of: total },
            kind: RefundKind::Refund,
            reason: Some(format!("WooCommerce refund {refund_id}")),
            releases: None,
        }));
    }
    if REVERSING_STATUSES.contains(&status.as_str()) {
        events.push(StoreEvent::Refund(StoreRefund {
            order: OrderRef::one(order_id),
            refund_id: format!("woocommerce-status-{status}"),
            amount: RefundAmount::Rest,
            kind: RefundKind::Refund,
            reason: Some(format!("order {status}")),
            releases: None,
        }));
    }
    if events.is_empty() {
        events.push(StoreEvent::Ignore(format!(
            "the order is {status:?}, which is not one of the store's paid statuses ({})",
            store.options.paid_statuses().join(", ")
        )));
    }
    Ok(Delivery { id, topic, events })
}

fn read_order(
    store: &ConnectedStore,
    order: &Order,
    order_id: String,
    total: Money,
) -> Result<StoreOrder, AppError> {
    let currency = total.currency();
    let tax = major("total_tax", order.total_tax.as_deref(), currency)?;
    let shipping = major("shipping_total", order.shipping_total.as_deref(), currency)?;
    let mut items = Vec::new();
    let mut items_value = Money::zero(currency);
    for (i, item) in order.line_items.iter().enumerate() {
        let value = major(
            &format!("line_items[{i}].total"),
            item.total.as_deref(),
            currency,
        )?;
        items_value = items_value
            .checked_add(value)
            .map_err(|e| AppError::field("line_items", e))?;
        let sku = super::line_sku(
            item.sku.as_deref(),
            &[
                ("variation", item.variation_id.as_ref()),
                ("product", item.product_id.as_ref()),
            ],
            i,
        );
        items.push(line_item(
            sku,
            None,
            item.quantity.unwrap_or(1).max(1),
            value,
        ));
    }
    let (amount, tax, shipping) = match store.options.amount_basis {
        AmountBasis::Subtotal => (items_value, Money::zero(currency), Money::zero(currency)),
        AmountBasis::Total => (total, tax, shipping),
    };
    let meta = |key: &str| {
        order
            .meta_data
            .iter()
            .find(|m| m.key.as_deref() == Some(key))
            .and_then(|m| m.value.as_ref())
            .and_then(|v| v.as_str())
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(str::to_string)
    };
    let mut click_ids: Vec<String> = ["upline_click_id", "_upline_click_id"]
        .iter()
        .filter_map(|k| meta(k))
        .collect();
    // WooCommerce's own order attribution records the page the visit landed on.
    if let Some(id) = meta("_wc_order_attribution_session_entry")
        .as_deref()
        .and_then(super::click_id_in_url)
    {
        click_ids.push(id);
    }
    Ok(StoreOrder {
        order_id,
        aliases: vec![],
        amount,
        discount: Money::zero(currency),
        tax,
        shipping,
        items,
        // Guests are customer 0.
        customer_id: order
            .customer_id
            .as_ref()
            .and_then(scalar_text)
            .filter(|c| c != "0"),
        click_ids,
        promo_codes: order
            .coupon_lines
            .iter()
            .filter_map(|c| c.code.clone())
            .collect(),
        subscription: None,
    })
}
