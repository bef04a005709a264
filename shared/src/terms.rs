//! Commission terms: what a campaign pays the converting partner, and on what. Every part
//! is optional and they combine: a fixed CPA (for any event, or per event type), a share
//! of the commission base (gross, or net of discount / tax / shipping), itemized rates by
//! SKU then category with exclusions, qualification rules, and bonuses.
//!
//! Amounts are in the program currency's minor units; rates are exact percentages.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::money::Percent;

#[derive(Clone, Debug, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Terms {
    /// A fixed amount for any qualifying event without its own CPA.
    pub cpa_minor: Option<i64>,
    /// Fixed amounts per event type (`lead`, `signup`, `first_deposit`, …).
    #[serde(default)]
    pub cpa_by_event: BTreeMap<String, i64>,
    /// A share of the commission base; with line items, the rate for items that have no
    /// SKU or category rate of their own.
    pub revenue_share: Option<Percent>,
    #[serde(default)]
    pub base: CommissionBase,
    #[serde(default)]
    pub items: ItemRates,
    #[serde(default)]
    pub qualification: Qualification,
    #[serde(default)]
    pub bonuses: Bonuses,
    /// Limits per partner on this campaign; a conversion over a cap earns a zero line.
    #[serde(default)]
    pub caps: Vec<Cap>,
    /// Steps up in rate as a partner's approved volume this month grows.
    #[serde(default)]
    pub tiers: Vec<Tier>,
    /// Whether and how subscription renewals earn; without it, renewals earn nothing.
    #[serde(default)]
    pub recurring: Option<Recurring>,
}

/// Commission on a subscription's renewals, for the partner who brought the subscriber.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Recurring {
    /// Renewals earn for this many months from the subscription's start; `None` for life.
    pub months: Option<u32>,
    /// A different CPA or share from this many months on ("40 % for 3 months, then 20 %").
    pub later: Option<LaterRate>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LaterRate {
    pub after_months: u32,
    pub cpa_minor: Option<i64>,
    pub revenue_share: Option<Percent>,
}

/// A performance tier: once the partner's conversions approved this UTC month (or their
/// revenue) reach `from`, later conversions earn this tier's CPA and share instead of the
/// base ones. Not retroactive: lines already computed keep their amounts.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tier {
    pub name: String,
    pub metric: TierMetric,
    /// A count for `approved_conversions`, minor units for `approved_revenue`.
    pub from: i64,
    pub cpa_minor: Option<i64>,
    pub revenue_share: Option<Percent>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TierMetric {
    ApprovedConversions,
    ApprovedRevenue,
}

/// A partner's approved volume on a campaign this month.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct TierUsage {
    pub approved_conversions: i64,
    pub approved_revenue_minor: i64,
}

impl Terms {
    /// The highest tier reached by `usage`, if any.
    pub fn tier_for(&self, usage: TierUsage) -> Option<&Tier> {
        self.tiers
            .iter()
            .filter(|t| match t.metric {
                TierMetric::ApprovedConversions => usage.approved_conversions >= t.from,
                TierMetric::ApprovedRevenue => usage.approved_revenue_minor >= t.from,
            })
            .max_by_key(|t| t.from)
    }

    /// These terms with a tier's CPA and share in place of the base ones.
    pub fn with_tier(&self, tier: &Tier) -> Terms {
        let mut t = self.clone();
        if tier.cpa_minor.is_some() {
            t.cpa_minor = tier.cpa_minor;
        }
        if tier.revenue_share.is_some() {
            t.revenue_share = tier.revenue_share;
        }
        t
    }
}

/// A limit on what one partner earns on one campaign in a period (UTC day or month).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cap {
    pub period: CapPeriod,
    pub metric: CapMetric,
    /// A count of conversions, or an amount in minor units.
    pub limit: i64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CapPeriod {
    Day,
    Month,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CapMetric {
    /// Paid conversions.
    Conversions,
    /// The partner's direct commission.
    Commission,
}

/// How much of a period's caps a partner has used on a campaign before this conversion.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct CapUsage {
    pub conversions: i64,
    pub commission_minor: i64,
}

/// Which terms a line was computed with.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "name", rename_all = "snake_case")]
pub enum TermsSource {
    Campaign,
    /// The group's override (named).
    Group(String),
    /// The partner's own override.
    Partner,
}

impl std::fmt::Display for TermsSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TermsSource::Campaign => f.write_str("the campaign's terms"),
            TermsSource::Group(g) => write!(f, "the terms of group {g}"),
            TermsSource::Partner => f.write_str("this partner's own terms"),
        }
    }
}

/// What the revenue share is a share of: the gross amount, less whichever of the
/// postback's discount, tax and shipping the campaign excludes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct CommissionBase {
    #[serde(default)]
    pub net_of_discount: bool,
    #[serde(default)]
    pub net_of_tax: bool,
    #[serde(default)]
    pub net_of_shipping: bool,
}

impl CommissionBase {
    pub fn is_gross(&self) -> bool {
        !(self.net_of_discount || self.net_of_tax || self.net_of_shipping)
    }
}

/// Per-product rates: a SKU's own rate wins over its category's, which wins over the
/// campaign's revenue share. Excluded SKUs and categories earn nothing.
#[derive(Clone, Debug, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ItemRates {
    #[serde(default)]
    pub by_sku: BTreeMap<String, Percent>,
    #[serde(default)]
    pub by_category: BTreeMap<String, Percent>,
    #[serde(default)]
    pub excluded_skus: BTreeSet<String>,
    #[serde(default)]
    pub excluded_categories: BTreeSet<String>,
}

impl ItemRates {
    pub fn is_empty(&self) -> bool {
        self.by_sku.is_empty()
            && self.by_category.is_empty()
            && self.excluded_skus.is_empty()
            && self.excluded_categories.is_empty()
    }
}

/// When a conversion earns at all. A conversion that does not qualify is still recorded,
/// with a zero line that says why.
#[derive(Clone, Debug, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Qualification {
    /// The smallest gross amount that earns.
    pub min_amount_minor: Option<i64>,
    /// Only these event types earn; empty means every event.
    #[serde(default)]
    pub events: BTreeSet<String>,
    /// Only a customer's first conversion earns (an iGaming first deposit, a first order).
    #[serde(default)]
    pub first_time_customer_only: bool,
}

/// Fixed extras on top of the commission.
#[derive(Clone, Debug, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Bonuses {
    /// Paid when the conversion is the customer's first.
    pub new_customer_minor: Option<i64>,
    /// Paid when the gross amount reaches the threshold.
    pub order_value: Option<OrderValueBonus>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderValueBonus {
    pub threshold_minor: i64,
    pub bonus_minor: i64,
}
