//! Campaigns and their terms as the admin API shows them and the console edits them:
//! amounts as exact decimal strings, in the shape the admin API accepts them back.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use crate::campaign::{Campaign, CampaignStatus};
use crate::money::{Currency, Percent, format_minor};
use crate::program::UplinePlan;
use crate::terms::{CapMetric, CapPeriod, CommissionBase, Terms, TierMetric};

/// Terms in the shape the admin API accepts them, amounts as decimal strings.
#[derive(Serialize)]
pub struct TermsView {
    pub cpa: Option<String>,
    pub cpa_by_event: BTreeMap<String, String>,
    pub revenue_share_percent: Option<Percent>,
    pub base: CommissionBase,
    pub sku_rates: BTreeMap<String, Percent>,
    pub category_rates: BTreeMap<String, Percent>,
    pub excluded_skus: BTreeSet<String>,
    pub excluded_categories: BTreeSet<String>,
    pub qualification: QualificationView,
    pub bonuses: BonusesView,
    pub caps: Vec<CapView>,
    pub tiers: Vec<TierView>,
    pub recurring: Option<RecurringView>,
}

#[derive(Serialize)]
pub struct RecurringView {
    pub months: Option<u32>,
    pub later: Option<LaterRateView>,
}

#[derive(Serialize)]
pub struct LaterRateView {
    pub after_months: u32,
    pub cpa: Option<String>,
    pub revenue_share_percent: Option<Percent>,
}

#[derive(Serialize)]
pub struct TierView {
    pub name: String,
    pub metric: TierMetric,
    pub from: String,
    pub cpa: Option<String>,
    pub revenue_share_percent: Option<Percent>,
}

#[derive(Serialize)]
pub struct CapView {
    pub period: CapPeriod,
    pub metric: CapMetric,
    /// A count for `conversions`, an amount for `commission`.
    pub limit: String,
}

#[derive(Serialize)]
pub struct QualificationView {
    pub min_amount: Option<String>,
    pub events: BTreeSet<String>,
    pub first_time_customer_only: bool,
}

#[derive(Serialize)]
pub struct BonusesView {
    pub new_customer: Option<String>,
    pub order_value: Option<OrderValueView>,
}

#[derive(Serialize)]
pub struct OrderValueView {
    pub threshold: String,
    pub bonus: String,
}

impl TermsView {
    pub fn of(t: &Terms, currency: Currency) -> Self {
        let m = |minor: i64| format_minor(minor, currency);
        TermsView {
            cpa: t.cpa_minor.map(m),
            cpa_by_event: t
                .cpa_by_event
                .iter()
                .map(|(k, v)| (k.clone(), m(*v)))
                .collect(),
            revenue_share_percent: t.revenue_share,
            base: t.base,
            sku_rates: t.items.by_sku.clone(),
            category_rates: t.items.by_category.clone(),
            excluded_skus: t.items.excluded_skus.clone(),
            excluded_categories: t.items.excluded_categories.clone(),
            qualification: QualificationView {
                min_amount: t.qualification.min_amount_minor.map(m),
                events: t.qualification.events.clone(),
                first_time_customer_only: t.qualification.first_time_customer_only,
            },
            bonuses: BonusesView {
                new_customer: t.bonuses.new_customer_minor.map(m),
                order_value: t.bonuses.order_value.map(|o| OrderValueView {
                    threshold: m(o.threshold_minor),
                    bonus: m(o.bonus_minor),
                }),
            },
            caps: t
                .caps
                .iter()
                .map(|c| CapView {
                    period: c.period,
                    metric: c.metric,
                    limit: match c.metric {
                        CapMetric::Conversions => c.limit.to_string(),
                        CapMetric::Commission => m(c.limit),
                    },
                })
                .collect(),
            tiers: t
                .tiers
                .iter()
                .map(|tier| TierView {
                    name: tier.name.clone(),
                    metric: tier.metric,
                    from: match tier.metric {
                        TierMetric::ApprovedConversions => tier.from.to_string(),
                        TierMetric::ApprovedRevenue => m(tier.from),
                    },
                    cpa: tier.cpa_minor.map(m),
                    revenue_share_percent: tier.revenue_share,
                })
                .collect(),
            recurring: t.recurring.as_ref().map(|r| RecurringView {
                months: r.months,
                later: r.later.as_ref().map(|l| LaterRateView {
                    after_months: l.after_months,
                    cpa: l.cpa_minor.map(m),
                    revenue_share_percent: l.revenue_share,
                }),
            }),
        }
    }
}

#[derive(Serialize)]
pub struct CampaignView {
    pub id: String,
    pub name: String,
    pub destination_url: String,
    pub allowed_domains: Vec<String>,
    pub terms: TermsView,
    /// The campaign's own upline plan, when it does not use the program's.
    pub upline: Option<UplinePlan>,
    pub targeting: crate::targeting::Targeting,
    pub attribution_window_days: u32,
    pub status: CampaignStatus,
    pub currency: Currency,
    pub created_at: String,
    pub updated_at: String,
}

impl CampaignView {
    pub fn of(c: &Campaign, currency: Currency) -> Self {
        CampaignView {
            id: c.id.to_string(),
            name: c.name.clone(),
            destination_url: c.destination_url.clone(),
            allowed_domains: c.allowed_domains.clone(),
            terms: TermsView::of(&c.terms, currency),
            upline: c.upline.clone(),
            targeting: c.targeting.clone(),
            attribution_window_days: c.attribution_window_days,
            status: c.status,
            currency,
            created_at: c.created_at.to_rfc3339(),
            updated_at: c.updated_at.to_rfc3339(),
        }
    }
}
