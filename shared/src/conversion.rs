//! Conversions: a sale or other event a storefront reported, who it is credited to and
//! how (click, promo code, subscription), its amounts and refunds, and where it stands.

use crate::error::Invalid;
use crate::ids::{CampaignId, ConversionId, LinkCode, PartnerId};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

use crate::clock::Timestamp;
use crate::commission::{LineItem, Sale};
use crate::money::{Currency, ExchangeRate, Money};

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Conversion {
    pub id: ConversionId,
    pub campaign_id: CampaignId,
    pub order_id: String,
    pub partner_id: PartnerId,
    /// The link and click credited, when a click was (not for promo codes).
    pub link_code: Option<LinkCode>,
    pub click_id: Option<String>,
    pub clicked_at: Option<Timestamp>,
    /// How the partner was credited: click, promo code or subscription, and why.
    #[serde(default)]
    pub attribution: Attribution,
    /// Why no partner earns on it, for unattributed conversions.
    #[serde(default)]
    pub unattributed_reason: Option<String>,
    /// The sale amount, the order adjustments and what refunds took back, in the program
    /// currency.
    #[serde(flatten)]
    pub amounts: ConversionAmounts,
    /// The kind of event: `sale` unless the postback says otherwise.
    pub event: String,
    #[serde(default)]
    pub items: Vec<LineItem>,
    /// The storefront's id for the customer, when it sent one.
    #[serde(default)]
    pub customer_id: Option<String>,
    /// Whether this is the customer's first conversion, when known.
    #[serde(default)]
    pub first_time_customer: Option<bool>,
    /// When the postback was in another currency: what it said, and the rate used to
    /// convert it into the program currency (which `amounts` are in).
    #[serde(default)]
    pub original: Option<OriginalAmount>,
    /// The sub-ids of the click, when its record had landed by the time of the postback.
    #[serde(default)]
    pub subs: BTreeMap<String, String>,
    /// The subscription this payment belongs to, when the postback named one.
    #[serde(default)]
    pub subscription: Option<SubscriptionPayment>,
    /// What refunds and chargebacks have taken back so far, in the original currency (of
    /// `original`), for conversions that were converted.
    #[serde(default)]
    pub refunded_original_minor: i64,
    pub status: ConversionStatus,
    pub created_at: Timestamp,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OriginalAmount {
    #[serde(flatten, with = "crate::money::stored")]
    pub amount: Money,
    pub rate: ExchangeRate,
}

/// A conversion's money, all in one currency: the sale, the adjustments the postback
/// reported (for net commission bases), and what refunds have taken back so far.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConversionAmounts {
    pub sale: Money,
    pub discount: Money,
    pub tax: Money,
    pub shipping: Money,
    pub refunded: Money,
}

impl ConversionAmounts {
    /// A sale with no adjustments and nothing refunded.
    pub fn of_sale(sale: Money) -> Self {
        let zero = Money::zero(sale.currency());
        ConversionAmounts {
            sale,
            discount: zero,
            tax: zero,
            shipping: zero,
            refunded: zero,
        }
    }

    pub fn currency(&self) -> Currency {
        self.sale.currency()
    }
}

/// Stored as it always was: `amount_minor` and `currency`, then the other amounts in
/// minor units of that currency (absent meaning zero).
#[derive(Serialize, Deserialize)]
struct StoredAmounts {
    amount_minor: i64,
    currency: Currency,
    #[serde(default)]
    discount_minor: i64,
    #[serde(default)]
    tax_minor: i64,
    #[serde(default)]
    shipping_minor: i64,
    #[serde(default)]
    refunded_minor: i64,
}

impl Serialize for ConversionAmounts {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        StoredAmounts {
            amount_minor: self.sale.minor(),
            currency: self.currency(),
            discount_minor: self.discount.minor(),
            tax_minor: self.tax.minor(),
            shipping_minor: self.shipping.minor(),
            refunded_minor: self.refunded.minor(),
        }
        .serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for ConversionAmounts {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = StoredAmounts::deserialize(deserializer)?;
        let of = |minor| Money::from_minor(minor, s.currency);
        Ok(ConversionAmounts {
            sale: of(s.amount_minor),
            discount: of(s.discount_minor),
            tax: of(s.tax_minor),
            shipping: of(s.shipping_minor),
            refunded: of(s.refunded_minor),
        })
    }
}

/// A refund or chargeback against a conversion, as the storefront reported it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Refund {
    /// The storefront's id for it: a repeat with the same id changes nothing.
    pub refund_id: String,
    pub conversion_id: ConversionId,
    pub kind: RefundKind,
    #[serde(flatten, with = "crate::money::stored")]
    pub amount: Money,
    pub reason: Option<String>,
    pub at: Timestamp,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RefundKind {
    Refund,
    Chargeback,
}

impl RefundKind {
    pub fn as_str(&self) -> &'static str {
        match self {
            RefundKind::Refund => "refund",
            RefundKind::Chargeback => "chargeback",
        }
    }
}

impl Conversion {
    /// The conversion as the commission engine reads it.
    pub fn sale(&self) -> Sale {
        Sale {
            event: self.event.clone(),
            amount: self.amounts.sale,
            discount_minor: self.amounts.discount.minor(),
            tax_minor: self.amounts.tax.minor(),
            shipping_minor: self.amounts.shipping.minor(),
            items: self.items.clone(),
            first_time_customer: self.first_time_customer,
            renewal_month: self
                .subscription
                .as_ref()
                .filter(|s| s.renewal)
                .map(|s| s.month),
        }
    }
}

/// How a conversion was credited to its partner.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attribution {
    pub method: AttributionMethod,
    /// The promo code used, when the code won.
    #[serde(default)]
    pub promo_code: Option<String>,
    /// Why this credit and not another, when the postback offered a choice.
    #[serde(default)]
    pub note: Option<String>,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AttributionMethod {
    #[default]
    Click,
    PromoCode,
    /// A renewal, credited to the partner who brought the subscriber.
    Subscription,
}

impl Attribution {
    /// One sentence for explanations: which attribution was used and why.
    pub fn describe(&self) -> String {
        let head = match (self.method, &self.promo_code) {
            (AttributionMethod::PromoCode, Some(code)) => format!("promo code {code}"),
            (AttributionMethod::PromoCode, None) => "promo code".to_string(),
            (AttributionMethod::Click, _) => "click".to_string(),
            (AttributionMethod::Subscription, _) => "subscription renewal".to_string(),
        };
        match &self.note {
            Some(note) => format!("attributed by {head}: {note}"),
            None => format!("attributed by {head}"),
        }
    }
}

/// A payment's place in its subscription.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SubscriptionPayment {
    pub subscription_id: String,
    /// False for the payment that started the subscription.
    pub renewal: bool,
    /// Whole months from the subscription's start to this payment.
    pub month: u32,
}

/// A subscription, as its first payment started it: renewals are attributed to it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Subscription {
    pub subscription_id: String,
    pub campaign_id: CampaignId,
    pub partner_id: PartnerId,
    pub link_code: Option<LinkCode>,
    pub click_id: Option<String>,
    pub clicked_at: Option<Timestamp>,
    /// How the first payment was credited; renewals keep the same partner.
    #[serde(default)]
    pub attribution: Attribution,
    pub started_at: Timestamp,
    pub first_conversion_id: ConversionId,
}

impl Subscription {
    /// The subscription `conversion` starts, under `id`: its partner, click and credit
    /// are what later payments are credited with.
    pub fn started_by(id: &str, conversion: &Conversion) -> Self {
        Subscription {
            subscription_id: id.to_string(),
            campaign_id: conversion.campaign_id.clone(),
            partner_id: conversion.partner_id.clone(),
            link_code: conversion.link_code.clone(),
            click_id: conversion.click_id.clone(),
            clicked_at: conversion.clicked_at,
            attribution: conversion.attribution.clone(),
            started_at: conversion.created_at,
            first_conversion_id: conversion.id.clone(),
        }
    }
}

/// Whole calendar months from `start` to `at` (a month is complete on the same day of
/// the month or later).
pub fn months_between(start: Timestamp, at: Timestamp) -> u32 {
    let ymd = |t: Timestamp| {
        let d = t.day().to_string();
        let y: i64 = d[0..4].parse().unwrap_or(0);
        let m: i64 = d[5..7].parse().unwrap_or(0);
        let day: i64 = d[8..10].parse().unwrap_or(0);
        (y, m, day)
    };
    let (y1, m1, d1) = ymd(start);
    let (y2, m2, d2) = ymd(at);
    let months = (y2 * 12 + m2) - (y1 * 12 + m1) - i64::from(d2 < d1);
    months.max(0) as u32
}

/// Where a conversion is in the pipeline.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConversionStatus {
    /// Stored; commission lines not computed yet.
    Recorded,
    /// Commission lines written.
    Commissioned,
    /// Rejected by the operator: its pending lines were rejected with it.
    Rejected,
    /// Recorded, but no partner earns on it (a click older than the attribution window).
    Unattributed,
}

impl ConversionStatus {
    pub fn as_str(&self) -> &'static str {
        match self {
            ConversionStatus::Recorded => "recorded",
            ConversionStatus::Commissioned => "commissioned",
            ConversionStatus::Rejected => "rejected",
            ConversionStatus::Unattributed => "unattributed",
        }
    }
}

/// Order ids are what storefronts dedupe on, so they are kept verbatim but bounded.
pub fn parse_order_id(text: &str) -> Result<String, Invalid> {
    let t = text.trim();
    if t.is_empty() {
        return Err("must not be empty".into());
    }
    if t.len() > 128 {
        return Err("must be at most 128 characters".into());
    }
    if t.chars().any(char::is_control) {
        return Err("must not contain control characters".into());
    }
    Ok(t.to_string())
}

/// Event names are short identifiers: `sale`, `lead`, `signup`, `first_deposit`.
pub fn parse_event(text: &str) -> Result<String, Invalid> {
    let t = text.trim().to_ascii_lowercase();
    let ok = !t.is_empty()
        && t.len() <= 40
        && t.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    if ok {
        Ok(t)
    } else {
        Err(Invalid(format!(
            "must be a short name such as sale or lead, got {text:?}"
        )))
    }
}

#[cfg(test)]
mod tests;
