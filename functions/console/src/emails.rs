//! `/console/settings/emails`: the emails Upline sends, each with what it is sent as now
//! (the program's version or the shipped one), rendered with sample data; saving a
//! version checks every part renders first and names the part that does not.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use minijinja::context;
use upline_domain::emails::{
    EmailKind, EmailTemplates, RenderError, TEMPLATES, TemplateSource, template,
};
use upline_domain::error::AppError;
use upline_domain::operator::Permission;
use upline_domain::services::Services;
use upline_domain::usecases::audit;
use upline_domain::usecases::emails as email_usecases;

use crate::form::Fields;
use crate::pages::render;
use crate::problem::{PageError, PageResult};
use crate::session::SignedInOperator;

/// The longest part of a template the console takes, as the API.
const MAX_PART: usize = 100_000;

pub(crate) async fn emails_page(State(s): State<Services>, who: SignedInOperator) -> PageResult {
    let mut items = Vec::new();
    for t in TEMPLATES {
        let overridden = email_usecases::template_override(&s.store, t.name)
            .await?
            .is_some();
        items.push(context! {
            name => t.name,
            to_operators => t.name.starts_with("operator_"),
            notification => t.kind == EmailKind::Notification,
            overridden,
            fixed => !t.overridable(),
            owners_only => t.carries_secret(),
        });
    }
    Ok(render(
        StatusCode::OK,
        "emails.html",
        &who.layout("settings"),
        context! { items },
    ))
}

fn shipped(name: &str) -> Result<&'static upline_domain::emails::Template, AppError> {
    template(name).ok_or_else(|| AppError::NotFound(format!("no email template named {name:?}")))
}

async fn current(s: &Services, name: &str) -> Result<(TemplateSource, bool), AppError> {
    let t = shipped(name)?;
    let custom = email_usecases::template_override(&s.store, t.name).await?;
    let overridden = custom.is_some();
    Ok((
        custom.unwrap_or_else(|| TemplateSource {
            subject: t.subject.to_string(),
            text: t.text.to_string(),
            html: t.html.to_string(),
        }),
        overridden,
    ))
}

struct Shown {
    source: TemplateSource,
    overridden: bool,
    notice: Option<String>,
    /// The part that does not render, and why.
    error: Option<(&'static str, String)>,
}

async fn page(who: &SignedInOperator, name: &str, status: StatusCode, shown: Shown) -> PageResult {
    let t = shipped(name)?;
    let preview = EmailTemplates.check_override(t.name, &shown.source).ok();
    let (error_part, error) = match shown.error {
        Some((part, why)) => (Some(part), Some(why)),
        None => (None, None),
    };
    Ok(render(
        status,
        "email.html",
        &who.layout("settings"),
        context! {
            name => t.name,
            source => context! { subject => shown.source.subject, text => shown.source.text, html => shown.source.html },
            overridden => shown.overridden,
            fixed => !t.overridable(),
            owners_only => t.carries_secret(),
            variables => serde_json::to_string_pretty(&t.sample()).unwrap_or_default(),
            preview => preview.map(|p| context! { subject => p.subject, text => p.text, html => p.html }),
            notice => shown.notice,
            error_part,
            error,
        },
    ))
}

pub(crate) async fn email_page(
    State(s): State<Services>,
    who: SignedInOperator,
    Path(name): Path<String>,
) -> PageResult {
    let (source, overridden) = current(&s, &name).await?;
    let shown = Shown {
        source,
        overridden,
        notice: None,
        error: None,
    };
    page(&who, &name, StatusCode::OK, shown).await
}

/// `GET /console/settings/emails/{name}/preview.html`: the HTML part as sent now, with
/// the sample data, in a sandbox of its own (its styles inline, no scripts, no access to
/// the console's origin).
pub(crate) async fn html_preview(
    State(s): State<Services>,
    _who: SignedInOperator,
    Path(name): Path<String>,
) -> Result<Response, PageError> {
    let (source, _) = current(&s, &name).await?;
    let rendered = EmailTemplates
        .check_override(&name, &source)
        .map_err(|e| AppError::Internal(upline_domain::error::Cause::of(e)))?;
    let mut response = (StatusCode::OK, rendered.html).into_response();
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "sandbox; default-src 'none'; style-src 'unsafe-inline'; img-src https: data:",
        ),
    );
    Ok(response)
}

/// `POST /console/settings/emails/{name}`: `action` is `save`, `preview` (the parts as
/// typed, nothing saved) or `reset` (back to the shipped template).
pub(crate) async fn change(
    State(s): State<Services>,
    who: SignedInOperator,
    Path(name): Path<String>,
    headers: HeaderMap,
    form: Fields,
) -> Result<Response, PageError> {
    let t = shipped(&name)?;
    // An email that carries a secret (the welcome email's API key) is an owner's to word:
    // its version decides where the secret goes.
    let needs = if t.carries_secret() {
        Permission::ManageSecrets
    } else {
        Permission::ManageEmails
    };
    if let Some(refused) = who.refuse(&headers, &s, form.csrf(), needs) {
        return Ok(refused);
    }
    if form.get("action") == "reset" {
        if email_usecases::remove_override(&s.store, t.name).await? {
            audit::record(
                &s,
                who.actor(),
                "email_template.reset",
                t.name,
                "back to the shipped template",
            )
            .await;
        }
        let (source, overridden) = current(&s, t.name).await?;
        let notice = Some("The shipped template is used again.".to_string());
        return page(
            &who,
            t.name,
            StatusCode::OK,
            Shown {
                source,
                overridden,
                notice,
                error: None,
            },
        )
        .await;
    }
    // The form keeps line breaks as browsers send them (CRLF); templates use LF.
    let part = |n: &str| form.get(n).replace("\r\n", "\n");
    let source = TemplateSource {
        subject: part("subject"),
        text: part("text"),
        html: part("html"),
    };
    let (_, overridden) = current(&s, t.name).await?;
    let too_long_or_empty = [
        ("subject", &source.subject),
        ("text", &source.text),
        ("html", &source.html),
    ]
    .into_iter()
    .find(|(_, value)| value.trim().is_empty() || value.len() > MAX_PART)
    .map(|(field, _)| field);
    if let Some(field) = too_long_or_empty {
        let error = Some((field, format!("must be 1 to {MAX_PART} characters")));
        return page(
            &who,
            t.name,
            StatusCode::UNPROCESSABLE_ENTITY,
            Shown {
                source,
                overridden,
                notice: None,
                error,
            },
        )
        .await;
    }
    if form.get("action") == "preview" {
        let error = match EmailTemplates.check_override(t.name, &source) {
            Ok(_) => None,
            Err(RenderError::Broken { part, reason, .. }) => Some((part, reason)),
            Err(e) => return Err(AppError::Internal(upline_domain::error::Cause::of(e)).into()),
        };
        let notice =
            Some("The preview shows the parts as typed; nothing is saved yet.".to_string());
        let status = if error.is_some() {
            StatusCode::UNPROCESSABLE_ENTITY
        } else {
            StatusCode::OK
        };
        return page(
            &who,
            t.name,
            status,
            Shown {
                source,
                overridden,
                notice,
                error,
            },
        )
        .await;
    }
    match email_usecases::save_override(&s.store, t.name, source.clone()).await {
        Err(AppError::Conflict { detail, .. }) => {
            let error = Some(("subject", detail));
            page(
                &who,
                t.name,
                StatusCode::CONFLICT,
                Shown {
                    source,
                    overridden,
                    notice: None,
                    error,
                },
            )
            .await
        }
        Ok(rendered) => {
            audit::record(
                &s,
                who.actor(),
                "email_template.saved",
                t.name,
                rendered.subject,
            )
            .await;
            let notice = Some("Saved: this version is sent from now on.".to_string());
            page(
                &who,
                t.name,
                StatusCode::OK,
                Shown {
                    source,
                    overridden: true,
                    notice,
                    error: None,
                },
            )
            .await
        }
        Err(AppError::Invalid(fields)) => {
            let f = fields.into_iter().next();
            let error = f.map(|f| {
                let part = match f.field.as_str() {
                    "subject" => "subject",
                    "text" => "text",
                    _ => "html",
                };
                (part, f.message)
            });
            page(
                &who,
                t.name,
                StatusCode::UNPROCESSABLE_ENTITY,
                Shown {
                    source,
                    overridden,
                    notice: None,
                    error,
                },
            )
            .await
        }
        Err(e) => Err(e.into()),
    }
}
