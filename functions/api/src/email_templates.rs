//! Email templates over the admin API: the list, one template with a preview, saving an
//! override (checked against the sample data) and going back to the default.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use upline_domain::emails::{EmailKind, TEMPLATES, TemplateSource, template};
use upline_domain::error::AppError;
use upline_domain::error::Cause;
use upline_domain::services::Services;
use upline_domain::usecases::emails as email_usecases;
use upline_http::{ApiResult, JsonBody, json};

use crate::{Admin, answers, audit};

#[derive(Serialize)]
pub(crate) struct TemplateSummary {
    name: &'static str,
    kind: EmailKind,
    overridden: bool,
    /// The variables it is given, with sample values.
    variables: serde_json::Value,
}

pub(crate) async fn list_templates(State(s): State<Services>, _: Admin) -> ApiResult<Response> {
    let mut items = Vec::new();
    for t in TEMPLATES {
        items.push(TemplateSummary {
            name: t.name,
            kind: t.kind,
            overridden: email_usecases::template_override(&s.store, t.name)
                .await?
                .is_some(),
            variables: t.sample(),
        });
    }
    Ok(answers::list(items, None))
}

#[derive(Serialize)]
pub(crate) struct TemplateDetail {
    name: &'static str,
    kind: EmailKind,
    overridden: bool,
    /// What is sent now: the override, or the shipped template.
    subject: String,
    text: String,
    html: String,
    variables: serde_json::Value,
    /// The current template rendered with the sample variables.
    preview: Preview,
}

#[derive(Serialize)]
pub(crate) struct Preview {
    subject: String,
    text: String,
    html: String,
}

pub(crate) async fn show_template(
    State(s): State<Services>,
    _: Admin,
    Path(name): Path<String>,
) -> ApiResult<Response> {
    let t = template(&name)
        .ok_or_else(|| AppError::NotFound(format!("no email template named {name:?}")))?;
    let custom = email_usecases::template_override(&s.store, t.name).await?;
    let source = custom.clone().unwrap_or_else(|| TemplateSource {
        subject: t.subject.to_string(),
        text: t.text.to_string(),
        html: t.html.to_string(),
    });
    let preview = upline_domain::emails::EmailTemplates
        .check_override(t.name, &source)
        .map_err(|e| AppError::Internal(Cause::of(e)))?;
    Ok(json(
        StatusCode::OK,
        &TemplateDetail {
            name: t.name,
            kind: t.kind,
            overridden: custom.is_some(),
            subject: source.subject,
            text: source.text,
            html: source.html,
            variables: t.sample(),
            preview: Preview {
                subject: preview.subject,
                text: preview.text,
                html: preview.html,
            },
        },
    ))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct TemplateRequest {
    subject: Option<String>,
    text: Option<String>,
    html: Option<String>,
}

pub(crate) async fn save_template(
    State(s): State<Services>,
    Admin(who): Admin,
    Path(name): Path<String>,
    JsonBody(req): JsonBody<TemplateRequest>,
) -> ApiResult<Response> {
    let mut errors = upline_domain::error::FieldErrors::default();
    let mut part = |field: &str, v: Option<String>| {
        let v = errors.required(field, v)?;
        if v.trim().is_empty() || v.len() > 100_000 {
            errors.push(field, "must be 1 to 100000 characters");
            return None;
        }
        Some(v)
    };
    let (subject, text, html) = (
        part("subject", req.subject),
        part("text", req.text),
        part("html", req.html),
    );
    let (subject, text, html) = errors.finish((subject, text, html))?;
    let existed = email_usecases::template_override(&s.store, &name)
        .await?
        .is_some();
    let preview = email_usecases::save_override(
        &s.store,
        &name,
        TemplateSource {
            subject,
            text,
            html,
        },
    )
    .await?;
    audit::record(
        &s,
        &who,
        "email_template.saved",
        &name,
        preview.subject.clone(),
    )
    .await;
    let view = Preview {
        subject: preview.subject,
        text: preview.text,
        html: preview.html,
    };
    Ok(answers::saved(!existed, &view))
}

pub(crate) async fn reset_template(
    State(s): State<Services>,
    Admin(who): Admin,
    Path(name): Path<String>,
) -> ApiResult<Response> {
    if email_usecases::remove_override(&s.store, &name).await? {
        audit::record(
            &s,
            &who,
            "email_template.reset",
            &name,
            "back to the shipped template",
        )
        .await;
    }
    Ok(StatusCode::NO_CONTENT.into_response())
}
