//! The email stage: render a requested email for its partner and send it through the
//! Mailer, at most once per email id.

use crate::emails::{EmailTemplates, RenderError};
use crate::error::AppError;
use crate::messages::EmailRequest;
use crate::ports::{Condition, Item, MailError, Mailer, OutgoingEmail, TableError};
use crate::store::{Store, keys};

/// What became of a requested email.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EmailResult {
    Sent,
    /// Sent before under the same id; nothing done.
    AlreadySent,
    /// The provider refused it for good; recorded and not retried.
    Rejected,
}

pub async fn deliver(
    store: &Store,
    mailer: &dyn Mailer,
    templates: &EmailTemplates,
    request: &EmailRequest,
) -> Result<EmailResult, AppError> {
    let marker = keys::email_sent(&request.email_id);
    if store.table().get(&marker).await?.is_some() {
        return Ok(EmailResult::AlreadySent);
    }
    let partner = store
        .partner(&request.partner_id)
        .await?
        .ok_or_else(|| AppError::NotFound(format!("partner {}", request.partner_id)))?;
    let mut data = request.data.clone();
    if let Some(obj) = data.as_object_mut() {
        obj.insert("partner_name".into(), partner.name.clone().into());
    }
    let rendered = templates
        .render(&request.template, &data)
        .map_err(|e| match e {
            RenderError::UnknownTemplate(_) | RenderError::Broken { .. } => {
                AppError::Internal(e.to_string())
            }
        })?;
    let email = OutgoingEmail {
        idempotency_key: request.email_id.clone(),
        to: partner.email.clone(),
        subject: rendered.subject,
        text: rendered.text,
        html: rendered.html,
        unsubscribe_url: None,
        tags: vec![("template".into(), request.template.clone())],
    };
    let result = match mailer.send(&email).await {
        Ok(()) => EmailResult::Sent,
        Err(MailError::Transient(e)) => return Err(AppError::Unavailable(e)),
        Err(MailError::Rejected(reason)) => {
            tracing::warn!(email_id = %request.email_id, %reason, "email rejected by the provider; not retried");
            EmailResult::Rejected
        }
    };
    let outcome = match result {
        EmailResult::Rejected => "rejected",
        _ => "sent",
    };
    match store
        .table()
        .put(
            Item::new(marker).with("outcome", outcome),
            Condition::NotExists,
        )
        .await
    {
        Ok(()) | Err(TableError::ConditionFailed) => Ok(result),
        Err(e) => {
            // Sent but not marked: a redelivery could send it again, so say so loudly.
            tracing::error!(email_id = %request.email_id, error = %e, "email sent but not marked as sent");
            Ok(result)
        }
    }
}
