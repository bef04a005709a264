//! Who a conversion is credited to: the click, the promo code or the subscription it
//! names, decided by the program's priority and the click's attribution window.

use super::*;
use crate::ids::{CampaignId, LinkCode, PartnerId};

/// Who a conversion is credited to, and how.
pub(super) struct Credit {
    pub(super) partner_id: PartnerId,
    pub(super) campaign_id: CampaignId,
    pub(super) link_code: Option<LinkCode>,
    pub(super) click_id: Option<String>,
    pub(super) clicked_at: Option<Timestamp>,
    pub(super) attribution: Attribution,
    /// Set when nobody earns: the reason.
    pub(super) unattributed: Option<String>,
}

/// A verified click as a candidate for the credit.
pub(super) struct ClickCandidate {
    pub(super) link: Link,
    pub(super) click_id: String,
    pub(super) clicked_at: Timestamp,
    /// The click is older than its campaign's attribution window (the reason, if so).
    pub(super) expired: Option<String>,
}

impl ClickCandidate {
    fn credit(self, note: Option<String>) -> Credit {
        Credit {
            partner_id: self.link.partner_id,
            campaign_id: self.link.campaign_id,
            link_code: Some(self.link.code),
            click_id: Some(self.click_id),
            clicked_at: Some(self.clicked_at),
            attribution: Attribution {
                method: AttributionMethod::Click,
                promo_code: None,
                note,
            },
            unattributed: self.expired,
        }
    }
}

pub(super) fn promo_credit(promo: PromoCode, note: Option<String>) -> Credit {
    Credit {
        partner_id: promo.partner_id,
        campaign_id: promo.campaign_id,
        link_code: None,
        click_id: None,
        clicked_at: None,
        attribution: Attribution {
            method: AttributionMethod::PromoCode,
            promo_code: Some(promo.code.into_string()),
            note,
        },
        unattributed: None,
    }
}

/// Decides between the click and the promo code a postback carries. A click older than
/// its campaign's window cannot earn: with a valid code the code wins, otherwise the
/// conversion is recorded unattributed with the reason. With both valid and for different
/// partners, the program's priority decides; the explanation says which won and why.
pub(super) async fn attribute(
    services: &Services,
    priority: AttributionPriority,
    claims: Option<(String, crate::click_id::ClickIdClaims)>,
    promo_text: Option<&str>,
    now: Timestamp,
) -> Result<Credit, AppError> {
    let store = &services.store;
    let click = match claims {
        None => None,
        Some((click_id, claims)) => {
            let link = store.link(&claims.link_code).await?.ok_or_else(|| {
                AppError::field(
                    "click_id",
                    format!("names link {}, which does not exist", claims.link_code),
                )
            })?;
            let campaign = store.campaign(&link.campaign_id).await?.ok_or_else(|| {
                AppError::field(
                    "click_id",
                    format!("names campaign {}, which does not exist", link.campaign_id),
                )
            })?;
            let days = campaign.attribution_window_days;
            let expired = (now > claims.clicked_at.plus_days(i64::from(days))).then(|| {
                format!(
                    "click {click_id} was made {} and campaign {} credits clicks for {days} days",
                    claims.clicked_at.to_rfc3339(),
                    campaign.id
                )
            });
            Some(ClickCandidate {
                link,
                click_id,
                clicked_at: claims.clicked_at,
                expired,
            })
        }
    };
    let promo = match promo_text {
        Some(code) => promo_codes::find(store, code).await?,
        None => None,
    };
    let unknown_code = match (promo_text, &promo) {
        (Some(code), None) => Some(format!("promo code {code} is not assigned to any partner")),
        _ => None,
    };
    Ok(match (click, promo) {
        (None, None) => {
            return Err(AppError::field(
                "promo_code",
                unknown_code.unwrap_or_else(|| "is required without a click_id".into()),
            ));
        }
        (None, Some(p)) => promo_credit(p, None),
        (Some(c), None) => c.credit(unknown_code),
        (Some(c), Some(p)) if c.expired.is_some() => {
            let note = format!(
                "{}; the promo code still earns",
                c.expired.unwrap_or_default()
            );
            promo_credit(p, Some(note))
        }
        (Some(c), Some(p)) if c.link.partner_id == p.partner_id => {
            let note = format!("the click {} was the same partner's", c.click_id);
            promo_credit(p, Some(note))
        }
        (Some(c), Some(p)) => match priority {
            AttributionPriority::PromoCode => {
                let note = format!(
                    "the postback also named click {} of partner {}; the program credits promo codes first",
                    c.click_id, c.link.partner_id
                );
                promo_credit(p, Some(note))
            }
            AttributionPriority::Click => {
                let note = format!(
                    "the postback also named promo code {} of partner {}; the program credits clicks first",
                    p.code, p.partner_id
                );
                c.credit(Some(note))
            }
        },
    })
}
