//! What the operator does to partners: approve (issuing their key and welcome), move
//! them under another recruiter, put them in a group; and the rule for display names.

use super::*;
use crate::emails::EmailTemplate;
use crate::error::Invalid;
use crate::ids::PartnerId;
use crate::public_urls;

/// Approves a pending partner and issues their API key (shown once, stored hashed), gives
/// them a link for every active campaign, and emails the approval and the welcome (links,
/// referral code and key).
#[tracing::instrument(skip_all, fields(partner_id = %partner_id, correlation_id = %correlation_id))]
pub async fn approve_partner(
    services: &Services,
    partner_id: &PartnerId,
    correlation_id: &str,
) -> Result<(Partner, NewApiKey), AppError> {
    let program = require_program(&services.store).await?;
    let mut partner = services.store.require_partner(partner_id).await?;
    let key = new_api_key(services.ids.as_ref(), "partner");
    partner.approve(services.now())?;
    partner.api_key_hash = Some(key.hash.clone());
    let ops = vec![
        Store::partner_put_replacing_key(
            &partner,
            None,
            status_is(PartnerStatus::Pending.as_str()),
        ),
        Store::api_key_put(
            &key.hash,
            &Principal::Partner {
                partner_id: partner.id.clone(),
            },
        ),
    ];
    services
        .store
        .commit_unless_changed(
            ops,
            "the partner changed while being approved; reload and try again",
        )
        .await?;
    // Committed: from here on nothing may fail the approval, or the key shown once in
    // this answer would be lost. Partners start with a link to every active campaign
    // (more on request); a campaign list that cannot be read leaves them without.
    let campaigns = services.store.campaigns().await.unwrap_or_else(|e| {
        tracing::error!(partner_id = %partner.id, error = %e, "campaigns not read for the welcome links");
        Vec::new()
    });
    let base_url = &services.deployment.public_base_url;
    let mut links = Vec::new();
    for campaign in campaigns
        .iter()
        .filter(|c| c.status == CampaignStatus::Active)
        .take(20)
    {
        let new = NewLink {
            partner_id: partner.id.clone(),
            campaign_id: campaign.id.clone(),
        };
        match create_link(services, new).await {
            Ok((link, _)) => links.push(serde_json::json!({
                "campaign_name": campaign.name,
                "url": public_urls::link_url(base_url, &link.code),
            })),
            Err(e) => {
                tracing::warn!(partner_id = %partner.id, campaign_id = %campaign.id, error = %e, "welcome link not created")
            }
        }
    }
    let emails = [
        Message::EmailRequested(EmailRequest {
            email_id: format!("partner-approved:{}", partner.id),
            partner_id: partner.id.clone(),
            template: EmailTemplate::PartnerApproved,
            data: serde_json::json!({ "program_name": program.name }),
        }),
        Message::EmailRequested(EmailRequest {
            email_id: format!("welcome:{}", partner.id),
            partner_id: partner.id.clone(),
            template: EmailTemplate::Welcome,
            data: serde_json::json!({
                "program_name": program.name,
                "referral_code": partner.referral_code,
                "api_key": services.store.seal(
                    &crate::usecases::emails::email_secret_purpose("api_key"),
                    &key.secret,
                ),
                "partner_area_url": public_urls::partner_area_url(base_url),
                "links": links,
            }),
        }),
    ];
    if let Err(e) = services
        .publish(QueueName::Emails, &emails, correlation_id)
        .await
    {
        // The approval stands; the emails are the part that can be resent.
        tracing::warn!(partner_id = %partner.id, error = %e, "approval emails not queued");
    }
    Ok((partner, key))
}

/// Display names: trimmed, 1 to 120 characters, none of them a control character — a
/// name goes into email subjects and headers, where a line break would end the header.
pub fn parse_name(text: &str) -> Result<String, Invalid> {
    let t = text.trim();
    if t.is_empty() || t.chars().count() > 120 {
        Err("must be 1 to 120 characters".into())
    } else if t.chars().any(char::is_control) {
        Err("must not contain line breaks or other control characters".into())
    } else {
        Ok(t.to_string())
    }
}

/// The longest chain a recruiter change can verify in one transaction (DynamoDB's limit
/// of 100 operations, less the partner's own write).
const MAX_VERIFIED_CHAIN: usize = 98;

/// Who a partner's new recruiter is, as the operator named them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NewRecruiter {
    Partner(PartnerId),
    ReferralCode(String),
    /// Detach the partner from any upline.
    Nobody,
}

impl RecruiterRequest {
    /// The recruiter by id or by referral code, never both.
    pub fn parse(self) -> Result<NewRecruiter, AppError> {
        match (self.recruiter_id, self.referral_code) {
            (Some(_), Some(_)) => Err(AppError::field(
                "recruiter_id",
                "give recruiter_id or referral_code, not both",
            )),
            (Some(id), None) => Ok(NewRecruiter::Partner(PartnerId::from(id.as_str()))),
            (None, Some(code)) => Ok(NewRecruiter::ReferralCode(code.trim().to_ascii_lowercase())),
            (None, None) => Ok(NewRecruiter::Nobody),
        }
    }
}

/// Moves a partner under another recruiter, refusing any change that would make a
/// recruitment cycle. Every partner on the new recruiter's upline is re-checked inside
/// the write's transaction, so two changes racing to close a loop cannot both succeed.
pub async fn set_recruiter(
    services: &Services,
    partner_id: &PartnerId,
    recruiter: NewRecruiter,
) -> Result<Partner, AppError> {
    let store = &services.store;
    let mut partner = store.require_partner(partner_id).await?;
    let new_recruiter = match recruiter {
        NewRecruiter::Partner(id) => Some(
            store
                .partner(&id)
                .await?
                .ok_or_else(|| AppError::field("recruiter_id", format!("no partner {id}")))?,
        ),
        NewRecruiter::ReferralCode(code) => {
            let id = store
                .partner_id_by_referral_code(&code)
                .await?
                .ok_or_else(|| {
                    AppError::field(
                        "referral_code",
                        format!("no partner has the referral code {code:?}"),
                    )
                })?;
            store.partner(&id).await?
        }
        NewRecruiter::Nobody => None,
    };
    let mut ops = Vec::new();
    if let Some(recruiter) = &new_recruiter {
        // Walk up from the new recruiter: meeting the partner means a cycle.
        let mut current = Some(recruiter.clone());
        while let Some(p) = current {
            if p.id == partner.id {
                return Err(AppError::field(
                    "recruiter_id",
                    format!(
                        "{} is in {}'s own downline: the change would make a recruitment cycle",
                        recruiter.id, partner.id
                    ),
                ));
            }
            if ops.len() >= MAX_VERIFIED_CHAIN {
                return Err(AppError::field(
                    "recruiter_id",
                    "the recruiter's upline is too long to verify",
                ));
            }
            ops.push(TxOp::Check(
                crate::store::keys::partner(&p.id),
                Condition::AttrEquals(
                    "recruited_by".into(),
                    Attr::S(p.recruited_by.as_deref().unwrap_or_default().to_string()),
                ),
            ));
            current = match &p.recruited_by {
                Some(up) => store.partner(up).await?,
                None => None,
            };
        }
    }
    let before = partner
        .recruited_by
        .as_deref()
        .unwrap_or_default()
        .to_string();
    partner.recruited_by = new_recruiter.map(|r| r.id);
    partner.updated_at = services.now();
    ops.push(Store::partner_put(
        &partner,
        Condition::AttrEquals("recruited_by".into(), Attr::S(before)),
    ));
    match store.table().transact(ops).await {
        Ok(()) => Ok(partner),
        Err(TableError::TransactionCancelled { .. }) => Err(AppError::Conflict {
            field: Some("recruiter_id".into()),
            detail: "the upline changed while this change was checked; try again".into(),
        }),
        Err(e) => Err(e.into()),
    }
}

impl GroupRequest {
    /// The group's name, a slug like a campaign id; `None` takes the partner out of any
    /// group.
    pub fn parse(self) -> Result<Option<String>, AppError> {
        self.group
            .map(|g| parse_slug("group", g.trim()))
            .transpose()
    }
}

/// Puts a partner in a group (whose terms overrides then apply), or out of any.
pub async fn set_group(
    services: &Services,
    partner_id: &PartnerId,
    group: Option<String>,
) -> Result<Partner, AppError> {
    let mut partner = services.store.require_partner(partner_id).await?;
    let before = partner.status;
    partner.group = group;
    partner.updated_at = services.now();
    services
        .store
        .table()
        .transact(vec![Store::partner_put(
            &partner,
            crate::store::status_is(before.as_str()),
        )])
        .await
        .map_err(|e| match e {
            TableError::TransactionCancelled { .. } => AppError::Conflict {
                field: None,
                detail: "the partner changed meanwhile; try again".into(),
            },
            other => other.into(),
        })?;
    Ok(partner)
}
