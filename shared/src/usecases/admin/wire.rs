//! The JSON shapes of the admin API, all in one place: the request bodies, parsed at the
//! edge (by the use cases next to this file) into programs, campaigns, terms and links,
//! and the views rendered from those entities. Requests refuse unknown fields, so a
//! misspelt setting is an error rather than silently ignored.

use super::*;
use crate::ids::{CampaignId, LinkCode, PartnerId};

// The program's settings (`program.rs`).

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProgramRequest {
    pub name: Option<String>,
    pub currency: Option<String>,
    pub hold_days: Option<i64>,
    pub upline: Option<UplineRequest>,
    pub postback_secret: Option<String>,
    /// `promo_code` (default) or `click`: which wins when a postback has both.
    pub attribution_priority: Option<String>,
    pub payouts: Option<PayoutSettingsRequest>,
    pub signup: Option<SignupSettingsRequest>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignupSettingsRequest {
    pub auto_approve: Option<bool>,
    pub form: Option<Vec<crate::signup_form::FormFieldRequest>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PayoutSettingsRequest {
    /// `manual` (default), `weekly` or `monthly`.
    pub cadence: Option<String>,
    /// The smallest payout, in the program currency (`"50.00"`); default none.
    pub minimum: Option<DecimalText>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UplineRequest {
    pub depth: Option<i64>,
    pub base: Option<String>,
    pub level_percents: Option<Vec<DecimalText>>,
    pub first_level_percent: Option<DecimalText>,
    pub decrement_percent: Option<DecimalText>,
    pub decay_factor: Option<DecimalText>,
    /// `forfeit` (default) or `compress`.
    pub skip: Option<String>,
}

/// The program as the admin API shows it: never the postback secret, except once, in the
/// response to the request that created or changed it.
#[derive(Debug, Serialize)]
pub struct ProgramView {
    pub name: String,
    pub currency: Currency,
    pub hold_days: u32,
    pub upline: UplinePlan,
    pub attribution_priority: AttributionPriority,
    pub payouts: PayoutSettingsView,
    pub signup: crate::signup_form::SignupSettings,
    pub updated_at: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub postback_secret: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct PayoutSettingsView {
    pub cadence: Cadence,
    pub minimum: String,
}

impl ProgramView {
    pub fn of(p: &Program, reveal_secret: bool) -> Self {
        ProgramView {
            name: p.name.clone(),
            currency: p.currency,
            hold_days: p.hold_days,
            upline: p.upline.clone(),
            attribution_priority: p.attribution_priority,
            payouts: PayoutSettingsView {
                cadence: p.payouts.cadence,
                minimum: crate::money::format_minor(p.payouts.minimum_minor, p.currency),
            },
            signup: p.signup.clone(),
            updated_at: p.updated_at.to_rfc3339(),
            postback_secret: reveal_secret.then(|| p.postback_secret.clone()),
        }
    }
}

// Exchange rates (`rates.rs`).

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExchangeRateRequest {
    /// Units of the program currency one unit of the path's currency buys, e.g. "1.0842".
    pub rate: Option<DecimalText>,
}

#[derive(Debug, Serialize)]
pub struct ExchangeRateView {
    pub currency: Currency,
    pub program_currency: Currency,
    pub rate: String,
    pub means: String,
}

impl ExchangeRateView {
    pub fn of(r: &crate::money::ExchangeRate) -> Self {
        ExchangeRateView {
            currency: r.from,
            program_currency: r.to,
            rate: r.rate.normalize().to_string(),
            means: r.to_string(),
        }
    }
}

// Campaigns (`campaigns.rs`).

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CampaignRequest {
    pub name: Option<String>,
    pub destination_url: Option<String>,
    pub allowed_domains: Option<Vec<String>>,
    pub terms: Option<TermsRequest>,
    /// An upline plan for this campaign only, in place of the program's.
    pub upline: Option<UplineRequest>,
    pub targeting: Option<crate::targeting::TargetingRequest>,
    /// Days after a click that a conversion still earns (default 30).
    pub attribution_window_days: Option<i64>,
    pub status: Option<String>,
}

// A campaign's commission terms, also sent alone for an override (`terms.rs`).

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct TermsRequest {
    /// Fixed amount per conversion, in the program currency, e.g. "25.00".
    pub cpa: Option<DecimalText>,
    /// Fixed amounts per event type: `{"lead": "1.00", "first_deposit": "50.00"}`.
    pub cpa_by_event: Option<BTreeMap<String, DecimalText>>,
    pub revenue_share_percent: Option<DecimalText>,
    pub base: Option<BaseRequest>,
    pub sku_rates: Option<BTreeMap<String, DecimalText>>,
    pub category_rates: Option<BTreeMap<String, DecimalText>>,
    pub excluded_skus: Option<Vec<String>>,
    pub excluded_categories: Option<Vec<String>>,
    pub qualification: Option<QualificationRequest>,
    pub bonuses: Option<BonusesRequest>,
    pub caps: Option<Vec<CapRequest>>,
    pub tiers: Option<Vec<TierRequest>>,
    pub recurring: Option<RecurringRequest>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct RecurringRequest {
    /// Months from the subscription's start that renewals earn for; absent or null = life.
    pub months: Option<u32>,
    pub later: Option<LaterRateRequest>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct LaterRateRequest {
    pub after_months: Option<u32>,
    pub cpa: Option<DecimalText>,
    pub revenue_share_percent: Option<DecimalText>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct TierRequest {
    pub name: Option<String>,
    /// `approved_conversions` (from is a count) or `approved_revenue` (from is an amount).
    pub metric: Option<String>,
    pub from: Option<DecimalText>,
    pub cpa: Option<DecimalText>,
    pub revenue_share_percent: Option<DecimalText>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct CapRequest {
    /// `day` or `month` (UTC).
    pub period: Option<String>,
    /// `conversions` (limit is a count) or `commission` (limit is an amount).
    pub metric: Option<String>,
    pub limit: Option<DecimalText>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct BaseRequest {
    pub net_of_discount: Option<bool>,
    pub net_of_tax: Option<bool>,
    pub net_of_shipping: Option<bool>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct QualificationRequest {
    pub min_amount: Option<DecimalText>,
    pub events: Option<Vec<String>>,
    pub first_time_customer_only: Option<bool>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct BonusesRequest {
    pub new_customer: Option<DecimalText>,
    pub order_value: Option<OrderValueRequest>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct OrderValueRequest {
    pub threshold: Option<DecimalText>,
    pub bonus: Option<DecimalText>,
}

// What the operator changes about a partner (`partners.rs`).

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecruiterRequest {
    /// The new recruiter's id, or null to detach the partner from any upline.
    pub recruiter_id: Option<String>,
    /// Or the new recruiter's referral code.
    pub referral_code: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GroupRequest {
    /// The group's name, or null to take the partner out of any group.
    pub group: Option<String>,
}

// Tracking links (`links.rs`).

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LinkRequest {
    pub partner_id: Option<String>,
    pub campaign_id: Option<String>,
}

/// The link to make: whose, on which campaign.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewLink {
    pub partner_id: PartnerId,
    pub campaign_id: CampaignId,
}

impl LinkRequest {
    /// Both ids, or an error for each one missing.
    pub fn parse(self) -> Result<NewLink, AppError> {
        let mut errors = FieldErrors::default();
        let partner_id = errors.required("partner_id", self.partner_id);
        let campaign_id = errors.required("campaign_id", self.campaign_id);
        let (partner_id, campaign_id) = errors.finish((partner_id, campaign_id))?;
        Ok(NewLink {
            partner_id: partner_id.into(),
            campaign_id: campaign_id.into(),
        })
    }
}

#[derive(Debug, Serialize)]
pub struct LinkView {
    pub code: LinkCode,
    pub url: String,
    pub partner_id: PartnerId,
    pub campaign_id: CampaignId,
    pub created_at: String,
}

impl LinkView {
    pub fn of(link: &Link, base_url: &str) -> Self {
        LinkView {
            code: link.code.clone(),
            url: crate::public_urls::link_url(base_url, &link.code),
            partner_id: link.partner_id.clone(),
            campaign_id: link.campaign_id.clone(),
            created_at: link.created_at.to_rfc3339(),
        }
    }
}
