//! How commission lines look in API responses: amounts as exact decimal strings with
//! their currency, times in RFC 3339. Campaigns and terms look as the domain shows them
//! (`admin::CampaignView`), which the console shares.

use upline_domain::ids::{CampaignId, ConversionId, LineId, PartnerId};

use serde::Serialize;
use upline_domain::commission::{CommissionLine, LineStatus, Part, Rule};
use upline_domain::money::{Currency, Percent, format_minor};

pub use upline_domain::usecases::admin::{CampaignView, TermsView};

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
