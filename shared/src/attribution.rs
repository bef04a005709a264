//! Attribution, pure: who a conversion is credited to, from what the postback named and
//! what those names were found to be — a subscription it renews, a click (its link and
//! when it was made), a promo code — the program's priority and the time. The use case
//! does the reading first; this decides, so every rule is unit-tested without a store.
//!
//! The rules: a renewal of a known subscription stays with the partner who brought the
//! subscriber. A click older than its campaign's window cannot earn: with a valid code
//! the code wins, otherwise the conversion is recorded unattributed with the reason. With
//! a valid click and code of different partners, the program's priority decides, and the
//! explanation says which won and why.

use crate::clock::Timestamp;
use crate::conversion::{Attribution, AttributionMethod, Subscription};
use crate::error::FieldError;
use crate::ids::{CampaignId, LinkCode, PartnerId, PromoCodeId};
use crate::program::AttributionPriority;
use crate::tracking::Link;

/// Who a conversion is credited to, and how.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Credit {
    pub partner_id: PartnerId,
    pub campaign_id: CampaignId,
    pub link_code: Option<LinkCode>,
    pub click_id: Option<String>,
    pub clicked_at: Option<Timestamp>,
    pub attribution: Attribution,
    /// Set when nobody earns: the reason.
    pub unattributed: Option<String>,
}

/// A verified click the postback named, with its link and its campaign's window.
#[derive(Clone, Debug)]
pub struct ClickCandidate {
    pub link: Link,
    pub click_id: String,
    pub clicked_at: Timestamp,
    pub window_days: u32,
}

/// The assignment of the promo code the postback named.
#[derive(Clone, Debug)]
pub struct PromoCandidate {
    pub code: PromoCodeId,
    pub partner_id: PartnerId,
    pub campaign_id: CampaignId,
}

/// What the postback named, as found.
#[derive(Clone, Debug, Default)]
pub struct Candidates {
    pub subscription: Option<Subscription>,
    pub click: Option<ClickCandidate>,
    pub promo: Option<PromoCandidate>,
    /// The code as sent, when it was sent (it may be assigned to no one).
    pub promo_text: Option<String>,
}

/// The credit for a conversion at `now`, or the field error that says why there is none.
pub fn decide(
    priority: AttributionPriority,
    candidates: Candidates,
    now: Timestamp,
) -> Result<Credit, FieldError> {
    let Candidates {
        subscription,
        click,
        promo,
        promo_text,
    } = candidates;
    if let Some(sub) = subscription {
        return Ok(renewal_credit(sub));
    }
    let expired = click.as_ref().and_then(|c| expiry(c, now));
    let unknown_code = match (&promo_text, &promo) {
        (Some(code), None) => Some(format!("promo code {code} is not assigned to any partner")),
        _ => None,
    };
    Ok(match (click, promo) {
        (None, None) => {
            return Err(FieldError::new(
                "promo_code",
                unknown_code.unwrap_or_else(|| "is required without a click_id".into()),
            ));
        }
        (None, Some(p)) => promo_credit(p, None),
        (Some(c), None) => click_credit(c, unknown_code, expired),
        (Some(_), Some(p)) if expired.is_some() => {
            let note = format!(
                "{}; the promo code still earns",
                expired.unwrap_or_default()
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
                click_credit(c, Some(note), None)
            }
        },
    })
}

/// Why the click can no longer earn at `now`, if its campaign's window has passed.
fn expiry(c: &ClickCandidate, now: Timestamp) -> Option<String> {
    let days = c.window_days;
    (now > c.clicked_at.plus_days(i64::from(days))).then(|| {
        format!(
            "click {} was made {} and campaign {} credits clicks for {days} days",
            c.click_id,
            c.clicked_at.to_rfc3339(),
            c.link.campaign_id
        )
    })
}

fn click_credit(c: ClickCandidate, note: Option<String>, expired: Option<String>) -> Credit {
    Credit {
        partner_id: c.link.partner_id,
        campaign_id: c.link.campaign_id,
        link_code: Some(c.link.code),
        click_id: Some(c.click_id),
        clicked_at: Some(c.clicked_at),
        attribution: Attribution {
            method: AttributionMethod::Click,
            promo_code: None,
            note,
        },
        unattributed: expired,
    }
}

fn promo_credit(p: PromoCandidate, note: Option<String>) -> Credit {
    Credit {
        partner_id: p.partner_id,
        campaign_id: p.campaign_id,
        link_code: None,
        click_id: None,
        clicked_at: None,
        attribution: Attribution {
            method: AttributionMethod::PromoCode,
            promo_code: Some(p.code.into_string()),
            note,
        },
        unattributed: None,
    }
}

/// What a store's returning customer is linked to their partner under: a subscription
/// id with this prefix (repeat orders follow the partner like renewals).
pub const CUSTOMER_LINK_PREFIX: &str = "customer:";

/// Renewals stay with the partner who brought the subscriber (lifetime attribution).
fn renewal_credit(sub: Subscription) -> Credit {
    let note = match sub.subscription_id.strip_prefix(CUSTOMER_LINK_PREFIX) {
        Some(customer) => format!(
            "returning customer {customer}, first credited with conversion {}",
            sub.first_conversion_id
        ),
        None => format!(
            "subscription {} started with conversion {}",
            sub.subscription_id, sub.first_conversion_id
        ),
    };
    Credit {
        attribution: Attribution {
            method: AttributionMethod::Subscription,
            promo_code: None,
            note: Some(note),
        },
        partner_id: sub.partner_id,
        campaign_id: sub.campaign_id,
        link_code: sub.link_code,
        click_id: sub.click_id,
        clicked_at: sub.clicked_at,
        unattributed: None,
    }
}

#[cfg(test)]
mod tests;
