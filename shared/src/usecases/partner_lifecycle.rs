//! A partner's standing after signup: rejected with a reason, suspended and reinstated,
//! and their API key rotated. Approval lives with the admin use cases because it issues
//! the first key.
//!
//! Suspension keeps the partner's links working — visitors still reach the campaign and
//! clicks are still counted — but conversions credited to a suspended partner earn
//! nothing, for them or their upline (see the commission stage).

use crate::emails::EmailTemplate;
use crate::error::AppError;
use crate::ids::PartnerId;
use crate::ids::{NewApiKey, Principal, new_api_key};
use crate::messages::{EmailRequest, Message};
use crate::partner::{IllegalTransition, Partner, PartnerStatus};
use crate::ports::{QueueName, TableError, TxOp};
use crate::services::Services;
use crate::store::{Store, keys, status_is};
use crate::usecases::admin::require_program;

/// The longest reason an operator may give.
pub const MAX_REASON: usize = 500;

pub fn parse_reason(text: Option<String>) -> Result<String, AppError> {
    let reason = text.map(|r| r.trim().to_string()).unwrap_or_default();
    if reason.is_empty() || reason.chars().count() > MAX_REASON {
        return Err(AppError::field(
            "reason",
            format!("is required: 1 to {MAX_REASON} characters the partner will see"),
        ));
    }
    Ok(reason)
}

pub(crate) async fn load(services: &Services, partner_id: &PartnerId) -> Result<Partner, AppError> {
    services.store.require_partner(partner_id).await
}

/// Applies one lifecycle move to the stored partner and stores it, conditional on the
/// status read.
async fn change_status(
    services: &Services,
    partner_id: &PartnerId,
    step: impl FnOnce(&mut Partner) -> Result<PartnerStatus, IllegalTransition>,
) -> Result<Partner, AppError> {
    let mut partner = load(services, partner_id).await?;
    let before = step(&mut partner)?;
    services
        .store
        .commit_unless_changed(
            vec![Store::partner_put(&partner, status_is(before.as_str()))],
            "the partner changed meanwhile; reload and try again",
        )
        .await?;
    Ok(partner)
}

async fn email(
    services: &Services,
    partner: &Partner,
    template: EmailTemplate,
    email_id: String,
    data: serde_json::Value,
    correlation_id: &str,
) {
    let message = Message::EmailRequested(EmailRequest {
        email_id,
        partner_id: partner.id.clone(),
        template,
        data,
    });
    if let Err(e) = services
        .publish(QueueName::Emails, &[message], correlation_id)
        .await
    {
        tracing::warn!(partner_id = %partner.id, %template, error = %e, "email not queued");
    }
}

/// Turns an application down, telling the applicant why.
#[tracing::instrument(skip_all, fields(partner_id = %partner_id, correlation_id = %correlation_id))]
pub async fn reject(
    services: &Services,
    partner_id: &PartnerId,
    reason: String,
    correlation_id: &str,
) -> Result<Partner, AppError> {
    set_aside(
        services,
        partner_id,
        SetAside::Reject,
        reason,
        correlation_id,
    )
    .await
}

/// Suspends an approved partner: links keep redirecting, conversions earn nothing.
#[tracing::instrument(skip_all, fields(partner_id = %partner_id, correlation_id = %correlation_id))]
pub async fn suspend(
    services: &Services,
    partner_id: &PartnerId,
    reason: String,
    correlation_id: &str,
) -> Result<Partner, AppError> {
    set_aside(
        services,
        partner_id,
        SetAside::Suspend,
        reason,
        correlation_id,
    )
    .await
}

/// The two moves that take a reason the partner is told by email.
#[derive(Clone, Copy)]
enum SetAside {
    Reject,
    Suspend,
}

async fn set_aside(
    services: &Services,
    partner_id: &PartnerId,
    how: SetAside,
    reason: String,
    correlation_id: &str,
) -> Result<Partner, AppError> {
    let program = require_program(&services.store).await?;
    let now = services.now();
    let partner = change_status(services, partner_id, |p| match how {
        SetAside::Reject => p.reject(reason.clone(), now),
        SetAside::Suspend => p.suspend(reason.clone(), now),
    })
    .await?;
    // A partner is rejected once; suspended perhaps several times, one email each (the
    // time makes its id unique).
    let (template, email_id) = match how {
        SetAside::Reject => (
            EmailTemplate::PartnerRejected,
            format!("partner-rejected:{}", partner.id),
        ),
        SetAside::Suspend => (
            EmailTemplate::PartnerSuspended,
            format!(
                "partner-suspended:{}:{}",
                partner.id,
                partner.updated_at.millis()
            ),
        ),
    };
    email(
        services,
        &partner,
        template,
        email_id,
        serde_json::json!({"program_name": program.name, "reason": reason}),
        correlation_id,
    )
    .await;
    Ok(partner)
}

/// Lifts a suspension: conversions from now on earn again.
#[tracing::instrument(skip_all, fields(partner_id = %partner_id))]
pub async fn reinstate(services: &Services, partner_id: &PartnerId) -> Result<Partner, AppError> {
    let now = services.now();
    change_status(services, partner_id, |p| p.reinstate(now)).await
}

/// Issues a new API key for an approved or suspended partner and revokes the old one in
/// the same transaction, which holds only if the old key is still the partner's (and,
/// when `replacing` names a key hash, that it is this one): of concurrent rotations from
/// one key exactly one wins, so at most one key is ever valid. The new key is shown once.
#[tracing::instrument(skip_all, fields(partner_id = %partner_id))]
pub async fn rotate_key(
    services: &Services,
    partner_id: &PartnerId,
    replacing: Option<&str>,
) -> Result<(Partner, NewApiKey), AppError> {
    let mut partner = load(services, partner_id).await?;
    // A partner stored before key hashes were kept on the partner has none; the key they
    // present is then the one to revoke.
    let stale = matches!(
        (partner.api_key_hash.as_deref(), replacing),
        (Some(current), Some(presented)) if current != presented
    );
    if stale {
        return Err(AppError::Conflict {
            field: None,
            detail: "this key was rotated meanwhile; use the newest key".into(),
        });
    }
    if !matches!(
        partner.status,
        PartnerStatus::Approved | PartnerStatus::Suspended
    ) {
        return Err(AppError::Conflict {
            field: Some("status".into()),
            detail: format!("the partner is {} and has no key to rotate", partner.status),
        });
    }
    let key = new_api_key(services.ids.as_ref(), "partner");
    let stored = partner.api_key_hash.replace(key.hash.clone());
    let old = stored.clone().or_else(|| replacing.map(str::to_string));
    partner.updated_at = services.now();
    let mut ops = vec![
        Store::partner_put_replacing_key(
            &partner,
            stored.as_deref(),
            status_is(partner.status.as_str()),
        ),
        Store::api_key_put(
            &key.hash,
            &Principal::Partner {
                partner_id: partner.id.clone(),
            },
        ),
    ];
    if let Some(old) = old {
        // `Exists`: of two rotations from the same key only one can revoke it.
        ops.push(TxOp::Delete(
            keys::api_key(&old),
            crate::ports::Condition::Exists,
        ));
    }
    services
        .store
        .table()
        .transact(ops)
        .await
        .map_err(|e| match e {
            TableError::TransactionCancelled { .. } => AppError::Conflict {
                field: None,
                detail: "the key was rotated or the partner changed meanwhile; \
                         use the newest key and try again"
                    .into(),
            },
            other => other.into(),
        })?;
    Ok((partner, key))
}
