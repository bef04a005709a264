//! Reading what a postback names before attribution decides: the subscription it renews,
//! the link and campaign of its click, the assignment of its promo code. The decision
//! itself is pure, in [`crate::attribution`].

use super::*;
use crate::attribution::{Candidates, ClickCandidate, Credit, PromoCandidate, decide};

/// The credit for a postback: its candidates read, then [`crate::attribution::decide`].
pub(super) async fn attribute(
    services: &Services,
    priority: AttributionPriority,
    subscription: Option<Subscription>,
    claims: Option<(String, crate::click_id::ClickIdClaims)>,
    promo_text: Option<String>,
    now: Timestamp,
) -> Result<Credit, AppError> {
    let store = &services.store;
    let click = match (&subscription, claims) {
        // A renewal is credited through its subscription; its click is not read.
        (Some(_), _) | (None, None) => None,
        (None, Some((click_id, claims))) => {
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
            Some(ClickCandidate {
                link,
                click_id,
                clicked_at: claims.clicked_at,
                window_days: campaign.attribution_window_days,
            })
        }
    };
    let promo = match (&subscription, &promo_text) {
        (None, Some(code)) => {
            promo_codes::find(store, code)
                .await?
                .map(|p: PromoCode| PromoCandidate {
                    code: p.code,
                    partner_id: p.partner_id,
                    campaign_id: p.campaign_id,
                })
        }
        _ => None,
    };
    let candidates = Candidates {
        subscription,
        click,
        promo,
        promo_text,
    };
    decide(priority, candidates, now).map_err(|e| AppError::Invalid(vec![e]))
}
