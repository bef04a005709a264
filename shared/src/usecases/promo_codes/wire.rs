//! The JSON shapes of promo codes, in one place: the assignment as the admin API sends
//! it, parsed at the edge (`assign`) into a promo code, and the code as the API renders
//! it.

use serde::{Deserialize, Serialize};

use super::PromoCode;
use crate::ids::{CampaignId, PartnerId, PromoCodeId};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PromoCodeRequest {
    pub code: Option<String>,
    pub partner_id: Option<String>,
    pub campaign_id: Option<String>,
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
