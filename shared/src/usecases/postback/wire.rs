//! The JSON shapes of storefront postbacks, all in one place: the request a storefront
//! sends, parsed at the edge (`parse`, `record`) into a conversion, and the conversion as
//! the postback's answer (and the conversion listings) render it.

use super::*;
use crate::ids::{CampaignId, ConversionId, LinkCode, PartnerId};

/// Unknown fields are ignored: storefronts send what their platform sends.
#[derive(Debug, Deserialize, Default)]
pub struct PostbackRequest {
    pub click_id: Option<String>,
    pub order_id: Option<IdText>,
    /// The gross order amount.
    pub amount: Option<DecimalText>,
    pub currency: Option<String>,
    pub event: Option<String>,
    pub discount: Option<DecimalText>,
    pub tax: Option<DecimalText>,
    pub shipping: Option<DecimalText>,
    pub line_items: Option<Vec<LineItemRequest>>,
    /// The storefront's customer id: makes first-time-customer rules work.
    pub customer_id: Option<IdText>,
    /// Overrides what Upline knows of the customer.
    pub new_customer: Option<bool>,
    /// The storefront's subscription id: the first payment starts the subscription, and
    /// later ones are renewals, attributed to the same partner without a click id.
    pub subscription_id: Option<IdText>,
    /// A promo code used at checkout: credits the partner it is assigned to.
    pub promo_code: Option<IdText>,
}

#[derive(Debug, Deserialize)]
pub struct LineItemRequest {
    pub sku: Option<IdText>,
    pub category: Option<String>,
    pub quantity: Option<IdText>,
    pub unit_price: Option<DecimalText>,
}

#[derive(Debug)]
pub struct PostbackOutcome {
    pub conversion: Conversion,
    /// False when this postback repeated one already recorded.
    pub created: bool,
}

#[derive(Debug, Serialize)]
pub struct ConversionView {
    pub id: ConversionId,
    pub campaign_id: CampaignId,
    pub order_id: String,
    pub partner_id: PartnerId,
    pub link_code: Option<LinkCode>,
    pub click_id: Option<String>,
    pub clicked_at: Option<String>,
    /// How the partner was credited (click, promo code, subscription) and why.
    pub attribution: Attribution,
    /// Why nobody earns on it, for unattributed conversions.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unattributed_reason: Option<String>,
    pub amount: String,
    pub currency: Currency,
    pub event: String,
    pub discount: String,
    pub tax: String,
    pub shipping: String,
    pub line_items: Vec<LineItemView>,
    pub customer_id: Option<String>,
    pub first_time_customer: Option<bool>,
    /// The amount as the storefront sent it, when it was in another currency.
    pub original_amount: Option<String>,
    pub original_currency: Option<Currency>,
    pub exchange_rate: Option<String>,
    /// The subscription this payment belongs to, and whether it is a renewal.
    pub subscription: Option<SubscriptionPayment>,
    /// The click's sub-ids (`sub1`..`sub5`), when known.
    pub subs: std::collections::BTreeMap<String, String>,
    pub refunded: String,
    pub status: ConversionStatus,
    pub created_at: String,
}

#[derive(Debug, Serialize)]
pub struct LineItemView {
    pub sku: String,
    pub category: Option<String>,
    pub quantity: i64,
    pub unit_price: String,
}

impl ConversionView {
    pub fn of(c: &Conversion) -> Self {
        ConversionView {
            id: c.id.clone(),
            campaign_id: c.campaign_id.clone(),
            order_id: c.order_id.clone(),
            partner_id: c.partner_id.clone(),
            link_code: c.link_code.clone(),
            click_id: c.click_id.clone(),
            clicked_at: c.clicked_at.map(|t| t.to_rfc3339()),
            attribution: c.attribution.clone(),
            unattributed_reason: c.unattributed_reason.clone(),
            amount: format_minor(c.amounts.sale.minor(), c.amounts.currency()),
            currency: c.amounts.currency(),
            event: c.event.clone(),
            discount: format_minor(c.amounts.discount.minor(), c.amounts.currency()),
            tax: format_minor(c.amounts.tax.minor(), c.amounts.currency()),
            shipping: format_minor(c.amounts.shipping.minor(), c.amounts.currency()),
            line_items: c
                .items
                .iter()
                .map(|i| LineItemView {
                    sku: i.sku.clone(),
                    category: i.category.clone(),
                    quantity: i.quantity,
                    unit_price: format_minor(i.unit_price_minor, c.amounts.currency()),
                })
                .collect(),
            customer_id: c.customer_id.clone(),
            first_time_customer: c.first_time_customer,
            original_amount: c
                .original
                .as_ref()
                .map(|o| format_minor(o.amount.minor(), o.amount.currency())),
            original_currency: c.original.as_ref().map(|o| o.amount.currency()),
            exchange_rate: c
                .original
                .as_ref()
                .map(|o| o.rate.rate.normalize().to_string()),
            subscription: c.subscription.clone(),
            subs: c.subs.clone(),
            refunded: format_minor(c.amounts.refunded.minor(), c.amounts.currency()),
            status: c.status,
            created_at: c.created_at.to_rfc3339(),
        }
    }
}
