//! How campaigns and commission lines look in API responses: amounts as exact decimal
//! strings with their currency, times in RFC 3339.

use std::collections::{BTreeMap, BTreeSet};
use upline_domain::ids::{CampaignId, ConversionId, LineId, PartnerId};

use serde::Serialize;
use upline_domain::campaign::{Campaign, CampaignStatus};
use upline_domain::commission::{CommissionLine, LineStatus, Part, Rule};
use upline_domain::money::{Currency, Percent, format_minor};
use upline_domain::program::UplinePlan;
use upline_domain::terms::{CapMetric, CapPeriod, CommissionBase, Terms, TierMetric};

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
    pub targeting: upline_domain::targeting::Targeting,
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

#[derive(Serialize)]
pub struct ExplanationView {
    pub rule: Rule,
    pub level: u8,
    pub base: String,
    pub rate_percent: Option<Percent>,
    pub cpa: Option<String>,
    /// Each component of the amount, exact; the line's amount is their sum, rounded once.
    pub parts: Vec<Part>,
    pub not_paid_because: Option<String>,
    /// How the sale was converted into the program currency, when it was.
    pub exchange: Option<String>,
    /// Which terms applied, when not the campaign's own.
    pub terms: Option<String>,
    /// The performance tier reached, if any.
    pub tier: Option<String>,
    /// For a subscription renewal, which month of the subscription it pays for.
    pub renewal: Option<String>,
    /// How the conversion was credited (click, promo code, subscription) and why.
    pub attribution: Option<String>,
    pub summary: String,
}

#[derive(Serialize)]
pub struct LineView {
    pub id: LineId,
    pub conversion_id: ConversionId,
    pub partner_id: PartnerId,
    pub campaign_id: CampaignId,
    pub level: u8,
    pub amount: String,
    pub currency: Currency,
    pub status: LineStatus,
    pub hold_until: String,
    /// The open dispute the line waits for, whatever its hold.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub held_for: Option<String>,
    pub explanation: ExplanationView,
    pub created_at: String,
}

impl LineView {
    pub fn of(l: &CommissionLine) -> Self {
        let e = &l.explanation;
        LineView {
            id: l.id.clone(),
            conversion_id: l.conversion_id.clone(),
            partner_id: l.partner_id.clone(),
            campaign_id: l.campaign_id.clone(),
            level: l.level,
            amount: format_minor(l.amount.minor(), l.amount.currency()),
            currency: l.amount.currency(),
            status: l.status,
            hold_until: l.hold_until.to_rfc3339(),
            held_for: l.held_for.clone(),
            explanation: ExplanationView {
                rule: e.rule,
                level: e.level,
                base: format_minor(e.base_minor, l.amount.currency()),
                rate_percent: e.rate,
                cpa: e.cpa_minor.map(|m| format_minor(m, l.amount.currency())),
                parts: e.parts.clone(),
                not_paid_because: e.not_paid_because.clone(),
                exchange: e.exchange.clone(),
                terms: e.terms.clone(),
                tier: e.tier.clone(),
                renewal: e.renewal.clone(),
                attribution: e.attribution.clone(),
                summary: e.summary.clone(),
            },
            created_at: l.created_at.to_rfc3339(),
        }
    }
}
