//! The email stage: render a requested email for its partner and send it through the
//! Mailer, at most once per email id.

use crate::emails::EmailTemplate;
use crate::emails::{EmailKind, EmailTemplates, RenderError, TemplateSource, template};
use crate::error::AppError;
use crate::error::Cause;
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
    /// A notification the partner switched off or unsubscribed from; not sent.
    NotWanted,
}

async fn mark(store: &Store, marker: crate::ports::Key, outcome: &str) {
    if let Err(e) = store
        .table()
        .put(
            Item::new(marker).with("outcome", outcome),
            Condition::NotExists,
        )
        .await
    {
        tracing::debug!(error = %e, "email outcome not recorded");
    }
}

/// The operator's version of a template, if they saved one.
pub async fn template_override(
    store: &Store,
    name: &str,
) -> Result<Option<TemplateSource>, AppError> {
    // A version saved before these emails were fixed is never used.
    if template(name).is_some_and(|t| !t.overridable()) {
        return Ok(None);
    }
    match store.table().get(&keys::email_template(name)).await? {
        Some(item) => Ok(Some(crate::store::decode(&item)?)),
        None => Ok(None),
    }
}

#[tracing::instrument(skip_all, fields(email_id = %request.email_id, partner_id = %request.partner_id))]
pub async fn deliver(
    store: &Store,
    mailer: &dyn Mailer,
    templates: &EmailTemplates,
    public_base_url: &str,
    request: &EmailRequest,
) -> Result<EmailResult, AppError> {
    let marker = keys::email_sent(&request.email_id);
    if store.table().get(&marker).await?.is_some() {
        return Ok(EmailResult::AlreadySent);
    }
    let mut partner = store
        .partner(&request.partner_id)
        .await?
        .ok_or_else(|| AppError::NotFound(format!("partner {}", request.partner_id)))?;
    let kind = request.template.template().kind;
    let mut data = request.data.clone();
    let mut unsubscribe_url = None;
    if kind == EmailKind::Notification {
        let prefs = partner.notifications;
        let wanted = !prefs.unsubscribed
            && match request.template {
                EmailTemplate::CommissionEarned => prefs.new_conversion,
                EmailTemplate::CommissionApproved => prefs.commission_approved,
                _ => true,
            };
        if !wanted {
            mark(
                store,
                marker,
                "skipped: the partner turned these emails off",
            )
            .await;
            return Ok(EmailResult::NotWanted);
        }
        if partner.unsubscribe_token.is_empty() {
            // Partners from before unsubscribe links get their token on first use.
            partner.unsubscribe_token =
                crate::ids::base32(&crate::ids::Ids::random_bytes(&crate::ids::RandomIds, 16));
            store
                .table()
                .transact(vec![Store::partner_put(&partner, Condition::Exists)])
                .await?;
        }
        unsubscribe_url = Some(crate::public_urls::unsubscribe_url(
            public_base_url,
            &partner,
        ));
    }
    if let Some(obj) = data.as_object_mut() {
        obj.insert("partner_name".into(), partner.name.clone().into());
        if let Some(url) = &unsubscribe_url {
            obj.insert("unsubscribe_url".into(), url.clone().into());
        }
    }
    let due = Due {
        email_id: &request.email_id,
        template: request.template,
        to: partner.email.clone(),
        data,
        unsubscribe_url,
    };
    send(store, mailer, templates, due).await
}

/// Renders and sends an email to an operator (the console's sign-in links), at most once
/// per email id. Operators' emails are about their own access: always sent.
#[tracing::instrument(skip_all, fields(email_id = %request.email_id))]
pub async fn deliver_to_operator(
    store: &Store,
    mailer: &dyn Mailer,
    templates: &EmailTemplates,
    request: &crate::messages::OperatorEmailRequest,
) -> Result<EmailResult, AppError> {
    let marker = keys::email_sent(&request.email_id);
    if store.table().get(&marker).await?.is_some() {
        return Ok(EmailResult::AlreadySent);
    }
    let to = crate::partner::parse_email(&request.to).map_err(|e| {
        AppError::Internal(Cause::of(std::io::Error::other(format!(
            "an operator email for an unusable address: {e}"
        ))))
    })?;
    let due = Due {
        email_id: &request.email_id,
        template: request.template,
        to,
        data: request.data.clone(),
        unsubscribe_url: None,
    };
    send(store, mailer, templates, due).await
}

/// An email about to be rendered and sent: to whom, which, with what.
struct Due<'a> {
    email_id: &'a str,
    template: EmailTemplate,
    to: String,
    data: serde_json::Value,
    unsubscribe_url: Option<String>,
}

/// The part of sending every email shares: open the sealed secrets in its data, render it
/// (from the operator's override when there is one), send it once, and mark it sent.
async fn send(
    store: &Store,
    mailer: &dyn Mailer,
    templates: &EmailTemplates,
    due: Due<'_>,
) -> Result<EmailResult, AppError> {
    let Due {
        email_id,
        template,
        to,
        mut data,
        unsubscribe_url,
    } = due;
    let marker = keys::email_sent(email_id);
    if let Some(obj) = data.as_object_mut() {
        // Secrets travel sealed through the queue (and its dead-letter queue); they are
        // opened only here, to be rendered.
        for (name, value) in obj.iter_mut() {
            if let Some(text) = value.as_str().filter(|t| crate::secrets::is_sealed(t)) {
                *value = store.open(&email_secret_purpose(name), text)?.into();
            }
        }
    }
    let custom = template_override(store, template.name()).await?;
    let rendered = templates
        .render_with(template.name(), custom.as_ref(), &data)
        .map_err(|e| match e {
            RenderError::UnknownTemplate(_) | RenderError::Broken { .. } => {
                AppError::Internal(Cause::of(e))
            }
        })?;
    let email = OutgoingEmail {
        idempotency_key: email_id.to_string(),
        to,
        subject: rendered.subject,
        text: rendered.text,
        html: rendered.html,
        unsubscribe_url,
        tags: vec![("template".into(), template.name().into())],
    };
    let result = match mailer.send(&email).await {
        Ok(()) => EmailResult::Sent,
        Err(MailError::Transient(e)) => return Err(AppError::Unavailable(e.into())),
        Err(MailError::Rejected(reason)) => {
            tracing::warn!(email_id, %reason, "email rejected by the provider; not retried");
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
            tracing::error!(email_id, error = %e, "email sent but not marked as sent");
            Ok(result)
        }
    }
}

/// Saves the operator's version of a template after rendering every part with the
/// template's sample data; a part that does not render is refused, naming the part, and
/// an email that carries a sign-in link cannot be changed (`409`).
pub async fn save_override(
    store: &Store,
    name: &str,
    source: TemplateSource,
) -> Result<crate::emails::Rendered, AppError> {
    if template(name).is_some_and(|t| !t.overridable()) {
        return Err(AppError::Conflict {
            field: Some("name".into()),
            detail: format!(
                "{name} carries a sign-in link; its text is fixed so that nobody who may edit emails can send the link elsewhere"
            ),
        });
    }
    let rendered = EmailTemplates
        .check_override(name, &source)
        .map_err(|e| match e {
            RenderError::UnknownTemplate(_) => AppError::NotFound(e.to_string()),
            RenderError::Broken { part, reason, .. } => AppError::field(part, reason),
        })?;
    store
        .table()
        .put(
            crate::store::encode(keys::email_template(name), &source),
            Condition::None,
        )
        .await?;
    Ok(rendered)
}

/// Goes back to the shipped template; false when there was no override.
pub async fn remove_override(store: &Store, name: &str) -> Result<bool, AppError> {
    if template(name).is_none() {
        return Err(AppError::NotFound(format!(
            "no email template named {name:?}"
        )));
    }
    match store
        .table()
        .delete(&keys::email_template(name), Condition::Exists)
        .await
    {
        Ok(()) => Ok(true),
        Err(TableError::ConditionFailed) => Ok(false),
        Err(e) => Err(e.into()),
    }
}

/// What a secret in an email request's data (its field `name`) is sealed as.
pub fn email_secret_purpose(name: &str) -> String {
    format!("email.{name}")
}
