//! What the engine is given about a conversion: the sale, its items, and the base a
//! rate applies to.

use super::*;

/// A product line of an order, as the storefront reports it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LineItem {
    pub sku: String,
    pub category: Option<String>,
    pub quantity: i64,
    pub unit_price_minor: i64,
}

impl LineItem {
    pub fn total_minor(&self) -> i64 {
        self.quantity.saturating_mul(self.unit_price_minor)
    }
}

/// What was sold, as the engine needs it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Sale {
    pub event: String,
    /// The gross amount the storefront reported.
    pub amount: Money,
    pub discount_minor: i64,
    pub tax_minor: i64,
    pub shipping_minor: i64,
    pub items: Vec<LineItem>,
    /// `None` when the postback gave neither a customer id nor a new-customer flag.
    pub first_time_customer: Option<bool>,
    /// For a subscription renewal: whole months since the subscription started.
    pub renewal_month: Option<u32>,
}

impl Sale {
    /// A plain sale of `amount`: no items, no adjustments, customer unknown.
    pub fn of(amount: Money) -> Self {
        Sale {
            event: "sale".into(),
            amount,
            discount_minor: 0,
            tax_minor: 0,
            shipping_minor: 0,
            items: vec![],
            first_time_customer: None,
            renewal_month: None,
        }
    }
}

/// The amount revenue shares apply to: gross, less what the campaign excludes; never
/// below zero.
pub fn commission_base(sale: &Sale, base: &CommissionBase) -> i64 {
    // Saturating: every input is bounded at the edge, and a base is never below zero, so
    // even a stored amount from before the bounds cannot wrap into a large base.
    let mut b = sale.amount.minor();
    if base.net_of_discount {
        b = b.saturating_sub(sale.discount_minor);
    }
    if base.net_of_tax {
        b = b.saturating_sub(sale.tax_minor);
    }
    if base.net_of_shipping {
        b = b.saturating_sub(sale.shipping_minor);
    }
    b.max(0)
}
