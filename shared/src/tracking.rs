//! Tracking records: links (a short code per partner × campaign), clicks as the redirect
//! reports them, and conversions as storefronts report them.

use std::collections::BTreeMap;

use crate::ids::{CampaignId, ConversionId, LinkCode, PartnerId};
use serde::{Deserialize, Serialize};

use crate::clock::Timestamp;
use crate::commission::{LineItem, Sale};
use crate::money::{Currency, ExchangeRate, Money};

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Link {
    pub code: LinkCode,
    pub partner_id: PartnerId,
    pub campaign_id: CampaignId,
    pub created_at: Timestamp,
}

/// A click as the redirect saw it. Carries no IP address, only a keyed hash of it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Click {
    pub click_id: String,
    pub link_code: LinkCode,
    pub partner_id: PartnerId,
    pub campaign_id: CampaignId,
    pub at: Timestamp,
    pub ip_hash: Option<String>,
    pub user_agent: Option<String>,
    /// The partner's own tracking values, `sub1`..`sub5`, as the link carried them.
    #[serde(default)]
    pub subs: BTreeMap<String, String>,
    /// What kind of traffic this was: a visit, a bot, a visitor targeting turned away, an
    /// impression.
    #[serde(default)]
    pub traffic: Traffic,
    /// The visitor's country, device type and OS, as far as the request told.
    #[serde(default)]
    pub country: Option<String>,
    #[serde(default)]
    pub device: Option<crate::visitor::Device>,
    #[serde(default)]
    pub os: Option<crate::visitor::Os>,
}

/// How a tracked request is counted.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Traffic {
    /// A person following the link: a gross click, and unique unless the same visitor
    /// clicked the same link in the last 24 hours.
    #[default]
    Visit,
    /// Redirected but not a click: crawlers, link previews, HEAD requests.
    Bot { reason: String },
    /// A person targeting turned away to the fallback URL.
    Rejected {
        reason: crate::targeting::RejectReason,
    },
    /// The partner's banner or pixel was shown.
    Impression,
}

/// The sub-id parameters a link may carry.
pub const SUB_IDS: [&str; 5] = ["sub1", "sub2", "sub3", "sub4", "sub5"];

/// Keeps the sub-ids worth keeping: at most 100 printable characters each. A bad value is
/// dropped rather than failing the redirect.
pub fn parse_subs<'a>(query: impl Iterator<Item = (&'a str, &'a str)>) -> BTreeMap<String, String> {
    query
        .filter(|(k, _)| SUB_IDS.contains(k))
        .filter(|(_, v)| {
            !v.is_empty() && v.chars().count() <= 100 && !v.chars().any(char::is_control)
        })
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

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
    /// The sale amount in minor units of `currency`.
    pub amount_minor: i64,
    pub currency: Currency,
    /// The kind of event: `sale` unless the postback says otherwise.
    pub event: String,
    /// Order adjustments the postback reported (minor units), for net commission bases.
    #[serde(default)]
    pub discount_minor: i64,
    #[serde(default)]
    pub tax_minor: i64,
    #[serde(default)]
    pub shipping_minor: i64,
    #[serde(default)]
    pub items: Vec<LineItem>,
    /// The storefront's id for the customer, when it sent one.
    #[serde(default)]
    pub customer_id: Option<String>,
    /// Whether this is the customer's first conversion, when known.
    #[serde(default)]
    pub first_time_customer: Option<bool>,
    /// When the postback was in another currency: what it said, and the rate used to
    /// convert it into the program currency (which `amount_minor` is in).
    #[serde(default)]
    pub original: Option<OriginalAmount>,
    /// The sub-ids of the click, when its record had landed by the time of the postback.
    #[serde(default)]
    pub subs: BTreeMap<String, String>,
    /// The subscription this payment belongs to, when the postback named one.
    #[serde(default)]
    pub subscription: Option<SubscriptionPayment>,
    /// How much of the amount refunds and chargebacks have taken back so far.
    #[serde(default)]
    pub refunded_minor: i64,
    /// The same, in the original currency, for conversions that were converted.
    #[serde(default)]
    pub refunded_original_minor: i64,
    pub status: ConversionStatus,
    pub created_at: Timestamp,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OriginalAmount {
    pub amount_minor: i64,
    pub currency: Currency,
    pub rate: ExchangeRate,
}

/// A refund or chargeback against a conversion, as the storefront reported it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Refund {
    /// The storefront's id for it: a repeat with the same id changes nothing.
    pub refund_id: String,
    pub conversion_id: ConversionId,
    pub kind: RefundKind,
    pub amount_minor: i64,
    pub currency: Currency,
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
            amount: Money::from_minor(self.amount_minor, self.currency),
            discount_minor: self.discount_minor,
            tax_minor: self.tax_minor,
            shipping_minor: self.shipping_minor,
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
pub fn parse_order_id(text: &str) -> Result<String, String> {
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
pub fn parse_event(text: &str) -> Result<String, String> {
    let t = text.trim().to_ascii_lowercase();
    let ok = !t.is_empty()
        && t.len() <= 40
        && t.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    if ok {
        Ok(t)
    } else {
        Err(format!(
            "must be a short name such as sale or lead, got {text:?}"
        ))
    }
}
