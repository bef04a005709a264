//! Shopify deliveries read: the topic from `X-Shopify-Topic`, the delivery from
//! `X-Shopify-Webhook-Id`, and the order or refund in the body.
//!
//! - `orders/paid` (or `orders/create`, as the store chooses) → the order.
//! - `refunds/create` → a refund of what its successful refund transactions gave back.
//! - `orders/cancelled` → everything not yet refunded reversed.
//!
//! Amounts are decimal strings in the shop's currency. The click id travels in the cart
//! attribute `upline_click_id` (written by `upline.js`) or in the landing page's query.

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
    note: Option<String>,
    #[serde(default)]
    transactions: Vec<Transaction>,
    #[serde(default)]
    refund_line_items: Vec<RefundLine>,
    currency: Option<String>,
}

#[derive(Deserialize)]
struct RefundLine {
    subtotal_set: Option<PriceSet>,
}

#[derive(Deserialize)]
struct Transaction {
    kind: Option<String>,
    status: Option<String>,
    amount: Option<String>,
    currency: Option<String>,
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
    let sku = item
        .sku
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .or_else(|| {
            item.variant_id
                .as_ref()
                .and_then(scalar_text)
                .map(|v| format!("variant-{v}"))
        })
        .or_else(|| {
            item.product_id
                .as_ref()
                .and_then(scalar_text)
                .map(|p| format!("product-{p}"))
        })
        .unwrap_or_else(|| format!("line-{i}"));
    Ok(line_item(sku, None, quantity, value))
}

fn read_refund(store: &ConnectedStore, refund: &Refund) -> Result<StoreEvent, AppError> {
    let refund_id = id_text("id", refund.id.as_ref())?;
    let order_id = id_text("order_id", refund.order_id.as_ref())?;
    if store.options.amount_basis == AmountBasis::Subtotal {
        return subtotal_refund(refund, refund_id, order_id);
    }
    let mut total: Option<Money> = None;
    for (i, t) in refund.transactions.iter().enumerate() {
        // Only money actually given back counts: refund transactions that succeeded.
        if t.kind.as_deref() != Some("refund") || t.status.as_deref() != Some("success") {
            continue;
        }
        let currency = amounts::currency(
            &format!("transactions[{i}].currency"),
            t.currency.as_deref(),
        )?;
        let amount = major(
            &format!("transactions[{i}].amount"),
            t.amount.as_deref(),
            currency,
        )?;
        total = Some(match total {
            None => amount,
            Some(sum) => sum
                .checked_add(amount)
                .map_err(|e| AppError::field("transactions", e))?,
        });
    }
    let Some(total) = total.filter(|t| t.minor() > 0) else {
        return Ok(StoreEvent::Ignore(format!(
            "refund {refund_id} gave no money back (no successful refund transaction)"
        )));
    };
    Ok(StoreEvent::Refund(StoreRefund {
        order: OrderRef::one(order_id),
        refund_id: format!("shopify-refund-{refund_id}"),
        amount: RefundAmount::Exact(total),
        kind: RefundKind::Refund,
        reason: refund.note.clone().filter(|n| !n.trim().is_empty()),
    }))
}

/// On the subtotal basis a refund takes back its items' value after discounts, without
/// the tax and shipping its transactions also gave back (they were never in the sale).
fn subtotal_refund(
    refund: &Refund,
    refund_id: String,
    order_id: String,
) -> Result<StoreEvent, AppError> {
    let currency = refund.currency.as_deref().or_else(|| {
        refund
            .transactions
            .iter()
            .find_map(|t| t.currency.as_deref())
    });
    let currency = amounts::currency("transactions[0].currency", currency)?;
    let mut total = Money::zero(currency);
    for (i, line) in refund.refund_line_items.iter().enumerate() {
        let value = major(
            &format!("refund_line_items[{i}].subtotal_set.shop_money.amount"),
            line.subtotal_set
                .as_ref()
                .and_then(|s| s.shop_money.as_ref())
                .and_then(|m| m.amount.as_deref()),
            currency,
        )?;
        total = total
            .checked_add(value)
            .map_err(|e| AppError::field("refund_line_items", e))?;
    }
    if total.minor() <= 0 {
        return Ok(StoreEvent::Ignore(format!(
            "refund {refund_id} gave back no items (tax or shipping only, which the sale's subtotal does not include)"
        )));
    }
    Ok(StoreEvent::Refund(StoreRefund {
        order: OrderRef::one(order_id),
        refund_id: format!("shopify-refund-{refund_id}"),
        amount: RefundAmount::Exact(total),
        kind: RefundKind::Refund,
        reason: refund.note.clone().filter(|n| !n.trim().is_empty()),
    }))
}

/// An id Shopify sends as a number (or, in newer payloads, a string).
fn id_text(field: &str, value: Option<&serde_json::Value>) -> Result<String, AppError> {
    value
        .and_then(scalar_text)
        .ok_or_else(|| amounts::unreadable(field, "is missing"))
}
