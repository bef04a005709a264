//! Tracking links: one per partner and campaign, made on first request.

use super::*;
use crate::ids::LinkCode;
use crate::ids::{CampaignId, PartnerId};

/// Checks that an approved partner and a campaign exist before something of theirs (a
/// link, a promo code: `what`) is made, naming the field at fault.
pub async fn require_partner_on_campaign(
    store: &Store,
    partner_id: &PartnerId,
    campaign_id: &CampaignId,
    what: &str,
) -> Result<(), AppError> {
    let partner = store
        .partner(partner_id)
        .await?
        .ok_or_else(|| AppError::field("partner_id", format!("no partner {partner_id}")))?;
    if partner.status != PartnerStatus::Approved {
        return Err(AppError::field(
            "partner_id",
            format!(
                "the partner is {}; {what} are for approved partners",
                partner.status
            ),
        ));
    }
    if store.campaign(campaign_id).await?.is_none() {
        return Err(AppError::field(
            "campaign_id",
            format!("no campaign {campaign_id}"),
        ));
    }
    Ok(())
}

/// The tracking link of a partner for a campaign, created on first request; one per pair.
pub async fn create_link(services: &Services, new: NewLink) -> Result<(Link, bool), AppError> {
    let NewLink {
        partner_id,
        campaign_id,
    } = new;
    let store = &services.store;
    require_partner_on_campaign(store, &partner_id, &campaign_id, "links").await?;
    for _ in 0..5 {
        if let Some(code) = store.link_code_for(&partner_id, &campaign_id).await? {
            let link = store
                .link(&code)
                .await?
                .ok_or_else(|| AppError::Internal(format!("link {code} missing").into()))?;
            return Ok((link, false));
        }
        let link = Link {
            code: LinkCode::new(base32(&services.ids.random_bytes(5))),
            partner_id: partner_id.clone(),
            campaign_id: campaign_id.clone(),
            created_at: services.now(),
        };
        let ops = vec![
            Store::link_put(&link),
            Store::unique_marker(keys::link_of(&partner_id, &campaign_id), &link.code),
        ];
        match store.table().transact(ops).await {
            Ok(()) => return Ok((link, true)),
            // A code collision or a concurrent create: look again, then retry with a new code.
            Err(TableError::TransactionCancelled { .. }) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(AppError::Unavailable(
        "could not allocate a link code; try again".into(),
    ))
}
