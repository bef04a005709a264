//! What a delivery says, the same for every platform: an order paid, money given back, an
//! order cancelled, a dispute opened or closed, or something Upline does not use. Each
//! platform's reader (`shopify`, `woocommerce`, `stripe`, `paddle`) turns its own payload
//! into these; the receiver acts on them without knowing the platform.

use crate::commission::LineItem;
use crate::conversion::RefundKind;
use crate::money::Money;

/// One delivery, read: the platform's id for it (what redeliveries repeat), its topic or
/// event type, and what it says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Delivery {
    /// The platform's delivery or event id, when it sends one.
    pub id: Option<String>,
    /// The topic or event type as the platform names it (`orders/paid`, `invoice.paid`).
    pub topic: String,
    pub events: Vec<StoreEvent>,
}

impl Delivery {
    /// A delivery Upline has no use for, answered `200 ignored` with `reason`.
    pub fn ignored(
        id: Option<String>,
        topic: impl Into<String>,
        reason: impl Into<String>,
    ) -> Self {
        Delivery {
            id,
            topic: topic.into(),
            events: vec![StoreEvent::Ignore(reason.into())],
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StoreEvent {
    /// An order (or a subscription payment) that may earn a commission.
    Order(Box<StoreOrder>),
    /// Money given back on an order.
    Refund(StoreRefund),
    /// A dispute opened: the order's commission is held until it closes.
    Hold { order: OrderRef, dispute_id: String },
    /// A dispute closed in the merchant's favour: the hold ends.
    Release { order: OrderRef, dispute_id: String },
    /// Other ids of an order, for refunds and disputes that name those (Stripe's
    /// `invoice_payment.paid` pairs an invoice with its payment intent and charge).
    Aliases {
        order_id: String,
        aliases: Vec<String>,
    },
    /// Nothing to do, and why.
    Ignore(String),
}

/// The ids a platform may name an order by: the one it was recorded under first, then
/// others (a payment intent, a charge) that [`StoreOrder::aliases`] recorded.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct OrderRef(pub Vec<String>);

impl OrderRef {
    pub fn one(id: impl Into<String>) -> Self {
        OrderRef(vec![id.into()])
    }
}

/// An order as every platform reports it, amounts already exact in its currency and
/// already on the store's amount basis.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoreOrder {
    /// What the conversion is recorded (and deduplicated) under.
    pub order_id: String,
    /// Other ids the platform names this order by later (refunds, disputes).
    pub aliases: Vec<String>,
    pub amount: Money,
    pub discount: Money,
    pub tax: Money,
    pub shipping: Money,
    pub items: Vec<LineItem>,
    /// The platform's customer id.
    pub customer_id: Option<String>,
    /// Upline click ids the order carries, most trusted first.
    pub click_ids: Vec<String>,
    /// Codes used at checkout, in the platform's order.
    pub promo_codes: Vec<String>,
    pub subscription: Option<SubscriptionRef>,
}

/// The subscription a payment belongs to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SubscriptionRef {
    pub id: String,
    /// A later payment of the subscription (not its first).
    pub renewal: bool,
}

/// Money given back on an order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoreRefund {
    pub order: OrderRef,
    /// What makes this refund once-only on the platform.
    pub refund_id: String,
    pub amount: RefundAmount,
    pub kind: RefundKind,
    /// Why, in Upline's words (never the merchant's free text, which may name the
    /// customer).
    pub reason: Option<String>,
    /// The dispute this ends (a lost dispute): its hold is released with the refund.
    pub releases: Option<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RefundAmount {
    /// This much, in the order's currency, on the store's amount basis.
    Exact(Money),
    /// Everything not yet refunded (a cancelled order, a lost dispute).
    Rest,
    /// `given` back of an order whose whole was `of` (both as the platform counts them,
    /// tax and shipping included): that share of the sale as recorded, so a refund on
    /// the subtotal basis takes back no tax it never counted.
    ShareOf { given: Money, of: Money },
    /// The order's refunded total is now `refunded` of `of` (Stripe's cumulative
    /// `amount_refunded`): the refund is the difference from what was taken back before.
    TotalNow { refunded: Money, of: Money },
}

/// An order's line: its SKU, and the line's value after its discounts. The quantity is
/// kept when the value divides evenly by it; otherwise the line counts as one unit of its
/// whole value, which pays the same percentage exactly.
pub fn line_item(
    sku: String,
    category: Option<String>,
    quantity: i64,
    line_total: Money,
) -> LineItem {
    let minor = line_total.minor().max(0);
    let (quantity, unit) = if quantity > 0 && minor % quantity == 0 {
        (quantity, minor / quantity)
    } else {
        (1, minor)
    };
    LineItem {
        sku,
        category,
        quantity,
        unit_price_minor: unit,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::money::Currency;

    #[test]
    fn a_line_keeps_its_quantity_only_when_its_value_divides_evenly() {
        let usd = Currency::from_code("USD").unwrap();
        let even = line_item("TEE".into(), None, 2, Money::from_minor(4500, usd));
        assert_eq!((even.quantity, even.unit_price_minor), (2, 2250));
        let odd = line_item("TEE".into(), None, 3, Money::from_minor(2900, usd));
        assert_eq!((odd.quantity, odd.unit_price_minor), (1, 2900));
        assert_eq!(odd.total_minor(), 2900);
    }
}
