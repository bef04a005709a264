//! Shopify deliveries read: the topic from `X-Shopify-Topic`, the delivery from
//! `X-Shopify-Webhook-Id`, and the order or refund in the body.
//!
//! - `orders/paid` (or `orders/create`, as the store chooses) → the order.
//! - `refunds/create` → a refund of its items' value (the subtotal basis) or of its items,
//!   their tax and the shipping it gave back (the total basis), in the shop's money.
//! - `orders/cancelled` → everything not yet refunded reversed.
//!
//! Amounts are decimal strings; Upline reads the shop's money (`shop_money` in the `*_set`
//! fields, `currency` on the order), never the customer's presentment currency. In a shop
//! whose prices include tax, Shopify's subtotals (the order's and its refunds') include it
//! too, and are taken as they are, so sales and refunds stay on the same footing.
//! The click id travels in the cart attribute `upline_click_id` (written by `upline.js`)
//! or in the landing page's query.

use serde::Deserialize;

use super::amounts::{self, less, major};
use super::event::{
    Delivery, OrderRef, RefundAmount, StoreEvent, StoreOrder, StoreRefund, line_item,
};
use super::scalar_text;
use super::store::{AmountBasis, ConnectedStore, OrderTopic};
use crate::conversion::RefundKind;
use crate::error::AppError;
use crate::money::{Currency, Money};

#[derive(Deserialize)]
struct Order {
    id: Option<serde_json::Value>,
    currency: Option<String>,
    #[serde(default)]
    test: bool,
    total_price: Option<String>,
    subtotal_price: Option<String>,
    total_tax: Option<String>,
    total_shipping_price_set: Option<PriceSet>,
    landing_site: Option<String>,
    #[serde(default)]
    note_attributes: Vec<NoteAttribute>,
    #[serde(default)]
    discount_codes: Vec<DiscountCode>,
    customer: Option<Customer>,
    #[serde(default)]
    line_items: Vec<Item>,
    cancel_reason: Option<String>,
}

#[derive(Deserialize)]
struct PriceSet {
    shop_money: Option<PriceMoney>,
}

#[derive(Deserialize)]
struct PriceMoney {
    amount: Option<String>,
    currency_code: Option<String>,
}

#[derive(Deserialize)]
struct NoteAttribute {
    name: Option<String>,
    value: Option<serde_json::Value>,
}

#[derive(Deserialize)]
struct DiscountCode {
    code: Option<String>,
}

#[derive(Deserialize)]
struct Customer {
    id: Option<serde_json::Value>,
}

#[derive(Deserialize)]
struct Item {
    sku: Option<String>,
    product_id: Option<serde_json::Value>,
    variant_id: Option<serde_json::Value>,
    quantity: Option<i64>,
    price: Option<String>,
    #[serde(default)]
    discount_allocations: Vec<Allocation>,
}

#[derive(Deserialize)]
struct Allocation {
    amount: Option<String>,
}

#[derive(Deserialize)]
struct Refund {
    id: Option<serde_json::Value>,
    order_id: Option<serde_json::Value>,
    #[serde(default)]
    refund_line_items: Vec<RefundLine>,
    #[serde(default)]
    refund_shipping_lines: Vec<RefundShipping>,
}

#[derive(Deserialize)]
struct RefundLine {
    subtotal_set: Option<PriceSet>,
    total_tax_set: Option<PriceSet>,
}

#[derive(Deserialize)]
struct RefundShipping {
    subtotal_amount_set: Option<PriceSet>,
}

/// Reads one delivery of `store`.
pub fn read(
    store: &ConnectedStore,
    header: &dyn Fn(&str) -> Option<String>,
    body: &[u8],
) -> Result<Delivery, AppError> {
    let id = header("x-shopify-webhook-id");
    let topic = header("x-shopify-topic").unwrap_or_default();
    let wanted = match store.options.order_topic() {
        OrderTopic::OrdersPaid => "orders/paid",
        OrderTopic::OrdersCreate => "orders/create",
    };
    match topic.as_str() {
        t if t == wanted => {
            let order: Order = super::json(body)?;
            if order.test && !store.options.include_test_orders {
                return Ok(Delivery::ignored(
                    id,
                    topic,
                    "a test order (the store does not count test orders)",
                ));
            }
            let event = StoreEvent::Order(Box::new(read_order(store, &order)?));
            Ok(Delivery {
                id,
                topic,
                events: vec![event],
            })
        }
        "refunds/create" => {
            let refund: Refund = super::json(body)?;
            Ok(Delivery {
                id,
                topic,
                events: vec![read_refund(store, &refund)?],
            })
        }
        "orders/cancelled" => {
            let order: Order = super::json(body)?;
            let order_id = id_text("id", order.id.as_ref())?;
            let reason = order
                .cancel_reason
                .map(|r| format!("order cancelled ({r})"));
            Ok(Delivery {
                id,
                topic,
                events: vec![StoreEvent::Refund(StoreRefund {
                    order: OrderRef::one(order_id),
                    refund_id: "cancelled".into(),
                    amount: RefundAmount::Rest,
                    kind: RefundKind::Refund,
                    reason: reason.or(Some("order cancelled".into())),
                    releases: None,
                })],
            })
        }
        "" => Err(AppError::field("X-Shopify-Topic", "is missing")),
        other => Ok(Delivery::ignored(
            id,
            other,
            format!("Upline does not use the {other} topic (this store records sales on {wanted})"),
        )),
    }
}

fn read_order(store: &ConnectedStore, order: &Order) -> Result<StoreOrder, AppError> {
    let order_id = id_text("id", order.id.as_ref())?;
    let currency = amounts::currency("currency", order.currency.as_deref())?;
    let total = major("total_price", order.total_price.as_deref(), currency)?;
    let subtotal = major("subtotal_price", order.subtotal_price.as_deref(), currency)?;
    let tax = major("total_tax", order.total_tax.as_deref(), currency)?;
    let shipping = major(
        "total_shipping_price_set.shop_money.amount",
        order
            .total_shipping_price_set
            .as_ref()
            .and_then(|s| s.shop_money.as_ref())
            .and_then(|m| m.amount.as_deref()),
        currency,
    )?;
    let (amount, tax, shipping) = match store.options.amount_basis {
        AmountBasis::Subtotal => (subtotal, Money::zero(currency), Money::zero(currency)),
        AmountBasis::Total => (total, tax, shipping),
    };
    let mut items = Vec::new();
    for (i, item) in order.line_items.iter().enumerate() {
        items.push(read_item(i, item, currency)?);
    }
    let mut click_ids = Vec::new();
    for a in &order.note_attributes {
        if a.name.as_deref() == Some("upline_click_id")
            && let Some(v) = a.value.as_ref().and_then(|v| v.as_str())
        {
            click_ids.push(v.trim().to_string());
        }
    }
    if let Some(id) = order
        .landing_site
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
        customer_id: order
            .customer
            .as_ref()
            .and_then(|c| c.id.as_ref())
            .and_then(scalar_text),
        click_ids,
        promo_codes: order
            .discount_codes
            .iter()
            .filter_map(|d| d.code.clone())
            .collect(),
        subscription: None,
    })
}

fn read_item(
    i: usize,
    item: &Item,
    currency: Currency,
) -> Result<crate::commission::LineItem, AppError> {
    let f = |name: &str| format!("line_items[{i}].{name}");
    let quantity = item.quantity.unwrap_or(1).max(1);
    let price = major(&f("price"), item.price.as_deref(), currency)?;
    let mut discount = Money::zero(currency);
    for (j, a) in item.discount_allocations.iter().enumerate() {
        let d = major(
            &f(&format!("discount_allocations[{j}].amount")),
            a.amount.as_deref(),
            currency,
        )?;
        discount = Money::from_minor(discount.minor().saturating_add(d.minor()), currency);
    }
    let gross = price.minor().checked_mul(quantity).ok_or_else(|| {
        AppError::field(
            &f("quantity"),
            "quantity × price is beyond the largest amount",
        )
    })?;
    let value = less(Money::from_minor(gross, currency), discount);
    // A line without a SKU is known by its variant or product.
    let sku = super::line_sku(
        item.sku.as_deref(),
        &[
            ("variant", item.variant_id.as_ref()),
            ("product", item.product_id.as_ref()),
        ],
        i,
    );
    Ok(line_item(sku, None, quantity, value))
}

/// A refund in the shop's money: its items' value after discounts, and on the total
/// basis their tax and the shipping given back too. A refund of nothing the basis counts
/// (a restock only, shipping alone on the subtotal basis) is ignored with the reason.
fn read_refund(store: &ConnectedStore, refund: &Refund) -> Result<StoreEvent, AppError> {
    let refund_id = id_text("id", refund.id.as_ref())?;
    let order_id = id_text("order_id", refund.order_id.as_ref())?;
    let total_basis = store.options.amount_basis == AmountBasis::Total;
    let mut parts: Vec<(String, &PriceSet)> = Vec::new();
    for (i, line) in refund.refund_line_items.iter().enumerate() {
        if let Some(set) = &line.subtotal_set {
            parts.push((format!("refund_line_items[{i}].subtotal_set"), set));
        }
        if total_basis && let Some(set) = &line.total_tax_set {
            parts.push((format!("refund_line_items[{i}].total_tax_set"), set));
        }
    }
    if total_basis {
        for (i, line) in refund.refund_shipping_lines.iter().enumerate() {
            if let Some(set) = &line.subtotal_amount_set {
                parts.push((
                    format!("refund_shipping_lines[{i}].subtotal_amount_set"),
                    set,
                ));
            }
        }
    }
    let mut total: Option<Money> = None;
    for (field, set) in parts {
        let Some(shop) = &set.shop_money else {
            continue;
        };
        let currency = amounts::currency(
            &format!("{field}.shop_money.currency_code"),
            shop.currency_code.as_deref(),
        )?;
        let amount = major(
            &format!("{field}.shop_money.amount"),
            shop.amount.as_deref(),
            currency,
        )?;
        total = Some(match total {
            None => amount,
            Some(sum) => sum
                .checked_add(amount)
                .map_err(|e| AppError::field(&field, e))?,
        });
    }
    let Some(total) = total.filter(|t| t.minor() > 0) else {
        return Ok(StoreEvent::Ignore(format!(
            "refund {refund_id} gave back nothing the sale counts (no items{})",
            if total_basis { ", tax or shipping" } else { "" }
        )));
    };
    Ok(StoreEvent::Refund(StoreRefund {
        order: OrderRef::one(order_id),
        refund_id: format!("shopify-refund-{refund_id}"),
        amount: RefundAmount::Exact(total),
        kind: RefundKind::Refund,
        reason: Some(format!("Shopify refund {refund_id}")),
        releases: None,
    }))
}

/// An id Shopify sends as a number (or, in newer payloads, a string).
fn id_text(field: &str, value: Option<&serde_json::Value>) -> Result<String, AppError> {
    value
        .and_then(scalar_text)
        .ok_or_else(|| amounts::unreadable(field, "is missing"))
}
