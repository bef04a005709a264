//! Outgoing partner postbacks: a partner sets a URL template for their own tracker, and
//! Upline calls it when one of their conversions is commissioned and whenever its status
//! changes — through a queue, retried with backoff on failure, every attempt logged where
//! the partner can read it. Only http(s) URLs to public hosts are ever called.

mod wire;

pub use wire::{TemplateRequest, TemplateView};

use crate::error::Invalid;
use crate::ids::ConversionId;
use crate::ids::PartnerId;
use crate::messages::PostbackStatus;
use crate::store::{PageOf, PageQuery};
use serde::{Deserialize, Serialize};
use url::Url;

use crate::clock::Timestamp;
use crate::commission::LineStatus;
use crate::conversion::Conversion;
use crate::error::AppError;
use crate::messages::{Message, PartnerPostbackDue};
use crate::money::format_minor;
use crate::ports::{
    CallError, Condition, DeliveryOutcome, Index, Item, PostbackCaller, QueueName, TableError,
};
use crate::public_address::refusal;
use crate::services::Services;
use crate::store::{decode, encode, keys};
use crate::tracking::SUB_IDS;

/// The macros a template may use.
pub const MACROS: [&str; 13] = [
    "click_id",
    "sub1",
    "sub2",
    "sub3",
    "sub4",
    "sub5",
    "order_id",
    "amount",
    "payout",
    "currency",
    "status",
    "event",
    "conversion_id",
];

/// Attempts before a delivery is given up (logged as such, not dead-lettered: the
/// partner's server being down is not Upline's fault to page anyone about).
pub const MAX_ATTEMPTS: u32 = 6;

/// How long delivery log entries are kept.
const LOG_RETENTION_DAYS: i64 = 30;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PostbackTemplate {
    pub url: String,
    pub updated_at: Timestamp,
}

/// One attempt to call a partner's postback URL.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeliveryRecord {
    pub delivery_id: String,
    pub conversion_id: ConversionId,
    pub status: PostbackStatus,
    /// The URL as called, macros expanded.
    pub url: String,
    pub attempt: u32,
    /// The partner server's answer, if it answered.
    pub http_status: Option<u16>,
    /// `delivered`, `retrying`, `failed` (a final 4xx or the last attempt) or `refused`
    /// (not a public address).
    pub outcome: String,
    pub error: Option<String>,
    pub at: Timestamp,
}

/// Splits a template into literal text and macro names; errors name the problem.
fn parse_macros(template: &str) -> Result<Vec<(bool, &str)>, Invalid> {
    let mut parts = Vec::new();
    let mut rest = template;
    while let Some(open) = rest.find(['{', '}']) {
        if rest.as_bytes()[open] == b'}' {
            return Err("has a } without its {".into());
        }
        let close = rest[open..]
            .find('}')
            .map(|c| open + c)
            .ok_or("has a { without its }")?;
        let name = &rest[open + 1..close];
        if !MACROS.contains(&name) {
            return Err(Invalid(format!(
                "uses {{{name}}}, which is not a macro; the macros are {}",
                MACROS.map(|m| format!("{{{m}}}")).join(", ")
            )));
        }
        parts.push((false, &rest[..open]));
        parts.push((true, name));
        rest = &rest[close + 1..];
    }
    parts.push((false, rest));
    Ok(parts)
}

/// Checks a template: an absolute http(s) URL without credentials, whose host is written
/// out (no macros in it) and is not a private name or non-public address. With
/// `allow_private` (local development and tests only) private hosts are accepted.
pub fn parse_template(text: &str, allow_private: bool) -> Result<String, Invalid> {
    let text = text.trim();
    if text.len() > 2_000 {
        return Err("must be at most 2000 characters".into());
    }
    let parts = parse_macros(text)?;
    let sample: String = parts
        .iter()
        .map(|(is_macro, t)| if *is_macro { "0" } else { t })
        .collect();
    let url = Url::parse(&sample).map_err(|e| format!("is not an absolute URL ({e})"))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err("must use http or https".into());
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err("must not carry credentials".into());
    }
    let authority_end = text
        .find("://")
        .map(|i| i + 3)
        .and_then(|start| text[start..].find(['/', '?', '#']).map(|e| start + e))
        .unwrap_or(text.len());
    if text[..authority_end].contains('{') {
        return Err("may use macros only in the path and query, not in the host".into());
    }
    let host = url.host().ok_or("must have a host")?;
    if !allow_private && let Some(why) = refusal(&host) {
        return Err(Invalid(format!("must be a public host; {why}")));
    }
    Ok(text.to_string())
}

/// Characters left as they are in a macro's value (RFC 3986 unreserved); everything else
/// is percent-encoded, so a value can never add a parameter or change the path.
const VALUE: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// The template with each macro replaced by its URL-encoded value (empty when unknown).
pub fn expand(template: &str, value_of: impl Fn(&str) -> String) -> Result<String, Invalid> {
    Ok(parse_macros(template)?
        .into_iter()
        .map(|(is_macro, text)| {
            if is_macro {
                percent_encoding::utf8_percent_encode(&value_of(text), VALUE).to_string()
            } else {
                text.to_string()
            }
        })
        .collect())
}

pub async fn template_of(
    services: &Services,
    partner_id: &PartnerId,
) -> Result<Option<PostbackTemplate>, AppError> {
    match services
        .store
        .table()
        .get(&keys::partner_postback(partner_id))
        .await?
    {
        Some(item) => Ok(Some(decode(&item)?)),
        None => Ok(None),
    }
}

impl TemplateRequest {
    /// The checked template; `allow_private` is the deployment's
    /// `allow_private_postbacks` (local development and tests only).
    pub fn parse(self, allow_private: bool) -> Result<String, AppError> {
        let url = self
            .url
            .ok_or_else(|| AppError::field("url", "is required"))?;
        parse_template(&url, allow_private).map_err(|e| AppError::field("url", e))
    }
}

/// Sets the partner's postback URL to a template `TemplateRequest::parse` checked.
pub async fn set_template(
    services: &Services,
    partner_id: &PartnerId,
    url: String,
) -> Result<PostbackTemplate, AppError> {
    let template = PostbackTemplate {
        url,
        updated_at: services.now(),
    };
    services
        .store
        .table()
        .put(
            encode(keys::partner_postback(partner_id), &template),
            Condition::None,
        )
        .await?;
    Ok(template)
}

pub async fn remove_template(services: &Services, partner_id: &PartnerId) -> Result<(), AppError> {
    match services
        .store
        .table()
        .delete(&keys::partner_postback(partner_id), Condition::Exists)
        .await
    {
        Ok(()) => Ok(()),
        Err(TableError::ConditionFailed) => {
            Err(AppError::NotFound("no postback URL is set".into()))
        }
        Err(e) => Err(e.into()),
    }
}

/// Queues a call of the converting partner's postback URL for `status`, if they set one.
/// `event_key` tells repeated events apart (a refund's id), so each is delivered once.
pub async fn notify(
    services: &Services,
    conversion: &Conversion,
    status: PostbackStatus,
    event_key: Option<&str>,
    correlation_id: &str,
) -> Result<(), AppError> {
    if template_of(services, &conversion.partner_id)
        .await?
        .is_none()
    {
        return Ok(());
    }
    let delivery_id = match event_key {
        Some(k) => format!("{}:{status}:{k}", conversion.id),
        None => format!("{}:{status}", conversion.id),
    };
    let message = Message::PartnerPostbackDue(PartnerPostbackDue {
        delivery_id,
        partner_id: conversion.partner_id.clone(),
        conversion_id: conversion.id.clone(),
        status,
    });
    services
        .publish(QueueName::PartnerPostbacks, &[message], correlation_id)
        .await
}

/// [`notify`] where the caller's own work is already committed: a failure is logged, not
/// returned, so the operator's action is not reported as failed.
pub async fn notify_after_commit(
    services: &Services,
    conversion: &Conversion,
    status: PostbackStatus,
    event_key: Option<&str>,
    correlation_id: &str,
) {
    if let Err(e) = notify(services, conversion, status, event_key, correlation_id).await {
        tracing::error!(conversion_id = %conversion.id, %status, error = %e, "partner postback not queued");
    }
}

/// The macro values for one conversion: the partner's payout is what their own lines on
/// it come to now (rejected lines excluded, reversals included).
async fn values(
    services: &Services,
    due: &PartnerPostbackDue,
    conversion: &Conversion,
) -> Result<impl Fn(&str) -> String, AppError> {
    let lines = services.store.lines_of_conversion(&conversion.id).await?;
    let payout: i64 = lines
        .iter()
        .filter(|l| l.partner_id == due.partner_id && l.status != LineStatus::Rejected)
        .map(|l| l.amount.minor())
        .sum();
    let c = conversion.clone();
    let status = due.status;
    Ok(move |name: &str| match name {
        "click_id" => c.click_id.clone().unwrap_or_default(),
        "order_id" => c.order_id.clone(),
        "conversion_id" => c.id.to_string(),
        "amount" => format_minor(c.amounts.sale.minor(), c.amounts.currency()),
        "payout" => format_minor(payout, c.amounts.currency()),
        "currency" => c.amounts.currency().code().to_string(),
        "status" => status.to_string(),
        "event" => c.event.clone(),
        sub if SUB_IDS.contains(&sub) => c.subs.get(sub).cloned().unwrap_or_default(),
        _ => String::new(),
    })
}

/// Calls the partner's URL for one due postback and logs the attempt. Done when
/// delivered, refused, answered with a final 4xx, or out of attempts; retry on 5xx, 408,
/// 429 and network failures.
#[tracing::instrument(skip_all, fields(delivery_id = %due.delivery_id, partner_id = %due.partner_id, conversion_id = %due.conversion_id))]
pub async fn deliver(
    services: &Services,
    caller: &dyn PostbackCaller,
    due: &PartnerPostbackDue,
    attempt: u32,
) -> Result<DeliveryOutcome, AppError> {
    let store = &services.store;
    let delivered_key = keys::partner_postback_delivered(&due.delivery_id);
    if store.table().get(&delivered_key).await?.is_some() {
        return Ok(DeliveryOutcome::Done);
    }
    let Some(template) = template_of(services, &due.partner_id).await? else {
        return Ok(DeliveryOutcome::Done);
    };
    let Some(conversion) = store.conversion(&due.conversion_id).await? else {
        return Ok(DeliveryOutcome::DeadLetter(format!(
            "no conversion {}",
            due.conversion_id
        )));
    };
    let value_of = values(services, due, &conversion).await?;
    let url = match expand(&template.url, value_of) {
        Ok(u) => u,
        Err(e) => {
            tracing::error!(partner_id = %due.partner_id, error = %e, "stored postback template does not parse");
            return Ok(DeliveryOutcome::DeadLetter(format!(
                "the partner's postback template does not parse: {e}"
            )));
        }
    };
    let result = caller.get(&url).await;
    let last = attempt >= MAX_ATTEMPTS;
    let (http_status, outcome, error, next) = match result {
        Ok(code) if (200..300).contains(&code) => {
            (Some(code), "delivered", None, DeliveryOutcome::Done)
        }
        Ok(code) if code >= 500 || code == 408 || code == 429 => {
            if last {
                (Some(code), "failed", None, DeliveryOutcome::Done)
            } else {
                (Some(code), "retrying", None, DeliveryOutcome::Retry)
            }
        }
        Ok(code) => (Some(code), "failed", None, DeliveryOutcome::Done),
        Err(CallError::Refused(e)) => (None, "refused", Some(e), DeliveryOutcome::Done),
        Err(CallError::Failed(e)) if last => (None, "failed", Some(e), DeliveryOutcome::Done),
        Err(CallError::Failed(e)) => (None, "retrying", Some(e), DeliveryOutcome::Retry),
    };
    let now = services.now();
    let record = DeliveryRecord {
        delivery_id: due.delivery_id.clone(),
        conversion_id: due.conversion_id.clone(),
        status: due.status,
        url,
        attempt,
        http_status,
        outcome: outcome.into(),
        error,
        at: now,
    };
    let entry = encode(
        keys::partner_postback_log(
            &due.partner_id,
            now,
            &format!("{}:{attempt}", due.delivery_id),
        ),
        &record,
    )
    .with("ttl", now.plus_days(LOG_RETENTION_DAYS).secs());
    store.table().put(entry, Condition::None).await?;
    if outcome == "delivered" {
        let marker = Item::new(delivered_key).with("ttl", now.plus_days(LOG_RETENTION_DAYS).secs());
        store.table().put(marker, Condition::None).await?;
    }
    tracing::info!(delivery_id = %due.delivery_id, attempt, outcome, ?http_status, "partner postback attempt");
    Ok(next)
}

/// A partner's delivery log, newest first.
pub async fn deliveries(
    services: &Services,
    partner_id: &PartnerId,
    page: &PageQuery,
) -> Result<PageOf<DeliveryRecord>, AppError> {
    services
        .store
        .page_of(
            Index::Primary,
            &keys::partner_postback_log_partition(partner_id),
            page,
        )
        .await
}

#[cfg(test)]
mod tests;
