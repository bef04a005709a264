//! How campaigns and commission lines look in API responses: amounts as exact decimal
//! strings with their currency, times in RFC 3339.

use serde::Serialize;
use upline_domain::campaign::{Campaign, CampaignStatus};
use upline_domain::commission::{CommissionLine, LineStatus, Rule};
use upline_domain::money::{Currency, Percent, format_minor};

#[derive(Serialize)]
pub struct TermsView {
    pub cpa: Option<String>,
    pub revenue_share_percent: Option<Percent>,
}

#[derive(Serialize)]
pub struct CampaignView {
    pub id: String,
    pub name: String,
    pub destination_url: String,
    pub allowed_domains: Vec<String>,
    pub terms: TermsView,
    pub status: CampaignStatus,
    pub currency: Currency,
    pub created_at: String,
    pub updated_at: String,
}

impl CampaignView {
    pub fn of(c: &Campaign, currency: Currency) -> Self {
        CampaignView {
            id: c.id.clone(),
            name: c.name.clone(),
            destination_url: c.destination_url.clone(),
            allowed_domains: c.allowed_domains.clone(),
            terms: TermsView {
                cpa: c.terms.cpa_minor.map(|m| format_minor(m, currency)),
                revenue_share_percent: c.terms.revenue_share,
            },
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
    pub summary: String,
}

#[derive(Serialize)]
pub struct LineView {
    pub id: String,
    pub conversion_id: String,
    pub partner_id: String,
    pub campaign_id: String,
    pub level: u8,
    pub amount: String,
    pub currency: Currency,
    pub status: LineStatus,
    pub hold_until: String,
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
            amount: format_minor(l.amount_minor, l.currency),
            currency: l.currency,
            status: l.status,
            hold_until: l.hold_until.to_rfc3339(),
            explanation: ExplanationView {
                rule: e.rule,
                level: e.level,
                base: format_minor(e.base_minor, l.currency),
                rate_percent: e.rate,
                cpa: e.cpa_minor.map(|m| format_minor(m, l.currency)),
                summary: e.summary.clone(),
            },
            created_at: l.created_at.to_rfc3339(),
        }
    }
}
