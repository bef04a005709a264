//! The JSON shapes of promo codes, in one place: the assignment as the admin API sends
//! it, parsed at the edge (`assign`) into a promo code, and the code as the API renders
//! it.

use serde::{Deserialize, Serialize};

use super::PromoCode;
use crate::error::{AppError, FieldErrors};
use crate::ids::{CampaignId, PartnerId, PromoCodeId};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PromoCodeRequest {
    pub code: Option<String>,
    pub partner_id: Option<String>,
    pub campaign_id: Option<String>,
}

/// The assignment to make: a normalised code, for a partner on a campaign.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewPromoCode {
    pub code: PromoCodeId,
    pub partner_id: PartnerId,
    pub campaign_id: CampaignId,
}

impl PromoCodeRequest {
    /// The code normalised and both ids, or every field's problem at once.
    pub fn parse(self) -> Result<NewPromoCode, AppError> {
        let mut errors = FieldErrors::default();
        let code = errors
            .required("code", self.code)
            .and_then(|c| errors.take("code", super::parse_code(&c)));
        let partner_id = errors.required("partner_id", self.partner_id);
        let campaign_id = errors.required("campaign_id", self.campaign_id);
        let (code, partner_id, campaign_id) = errors.finish((code, partner_id, campaign_id))?;
        Ok(NewPromoCode {
            code: PromoCodeId::new(code),
            partner_id: partner_id.into(),
            campaign_id: campaign_id.into(),
        })
    }
}

#[derive(Debug, Serialize)]
pub struct PromoCodeView {
    pub code: PromoCodeId,
    pub partner_id: PartnerId,
    pub campaign_id: CampaignId,
    pub created_at: String,
}

impl PromoCodeView {
    pub fn of(p: &PromoCode) -> Self {
        PromoCodeView {
            code: p.code.clone(),
            partner_id: p.partner_id.clone(),
            campaign_id: p.campaign_id.clone(),
            created_at: p.created_at.to_rfc3339(),
        }
    }
}
