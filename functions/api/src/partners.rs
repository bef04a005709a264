//! Partners over the API: the operator's lifecycle actions (reject, suspend, reinstate,
//! rotate a key) and email templates; the partner's profile, notification preferences,
//! own key rotation, self-serve links and downline; and the public unsubscribe link.

use std::collections::HashMap;
use upline_domain::ids::PartnerId;

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use serde::{Deserialize, Serialize};
use upline_domain::emails::{EmailKind, TEMPLATES, TemplateSource, template};
use upline_domain::error::AppError;
use upline_domain::partner::{NotificationPrefs, Partner};
use upline_domain::services::Services;
use upline_domain::usecases::admin::{LinkRequest, LinkView, create_link};
use upline_domain::usecases::emails as email_usecases;
use upline_domain::usecases::partner_area::{self, ProfileRequest};
use upline_domain::usecases::partner_lifecycle::{self, parse_reason};
use upline_domain::usecases::signup::PartnerView;
use upline_http::{ApiResult, JsonBody, Listing, correlation_id, json};

use crate::{Admin, CallingPartner, audit, created_or_ok};

pub(crate) fn routes() -> Router<Services> {
    Router::new()
        .route("/v1/admin/partners/{id}/reject", post(reject))
        .route("/v1/admin/partners/{id}/suspend", post(suspend))
        .route("/v1/admin/partners/{id}/reinstate", post(reinstate))
        .route("/v1/admin/partners/{id}/api-key", post(rotate_partner_key))
        .route("/v1/admin/email-templates", get(list_templates))
        .route(
            "/v1/admin/email-templates/{name}",
            get(show_template).put(save_template).delete(reset_template),
        )
        .route("/v1/me/api-key", post(rotate_my_key))
        .route("/v1/me/downline", get(my_downline))
        .route("/v1/unsubscribe", get(unsubscribe_page).post(unsubscribe))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ReasonRequest {
    reason: Option<String>,
}

/// The partner as the partner area shows it: their record, preferences, payout method.
#[derive(Serialize)]
pub(crate) struct Profile {
    #[serde(flatten)]
    partner: PartnerView,
    notifications: NotificationPrefs,
    payout_method: Option<&'static str>,
}

impl Profile {
    pub(crate) fn of(p: &Partner) -> Self {
        Profile {
            partner: PartnerView::of(p),
            notifications: p.notifications,
            payout_method: p.payout_details.as_ref().map(|d| d.method()),
        }
    }
}

async fn reject(
    State(s): State<Services>,
    Admin(who): Admin,
    Path(id): Path<PartnerId>,
    headers: HeaderMap,
    JsonBody(req): JsonBody<ReasonRequest>,
) -> ApiResult<Response> {
    let reason = parse_reason(req.reason)?;
    let cid = correlation_id(&headers, || s.new_id());
    let p = partner_lifecycle::reject(&s, &id, reason.clone(), &cid).await?;
    audit::record(&s, &who, "partner.rejected", &p.id, reason).await;
    Ok(json(StatusCode::OK, &PartnerView::of(&p)))
}

async fn suspend(
    State(s): State<Services>,
    Admin(who): Admin,
    Path(id): Path<PartnerId>,
    headers: HeaderMap,
    JsonBody(req): JsonBody<ReasonRequest>,
) -> ApiResult<Response> {
    let reason = parse_reason(req.reason)?;
    let cid = correlation_id(&headers, || s.new_id());
    let p = partner_lifecycle::suspend(&s, &id, reason.clone(), &cid).await?;
    audit::record(&s, &who, "partner.suspended", &p.id, reason).await;
    Ok(json(StatusCode::OK, &PartnerView::of(&p)))
}

async fn reinstate(
    State(s): State<Services>,
    Admin(who): Admin,
    Path(id): Path<PartnerId>,
) -> ApiResult<Response> {
    let p = partner_lifecycle::reinstate(&s, &id).await?;
    audit::record(
        &s,
        &who,
        "partner.reinstated",
        &p.id,
        "conversions earn again",
    )
    .await;
    Ok(json(StatusCode::OK, &PartnerView::of(&p)))
}

#[derive(Serialize)]
struct NewKey {
    partner: PartnerView,
    /// Shown this once; the previous key stopped working.
    api_key: String,
}

async fn rotate_partner_key(
    State(s): State<Services>,
    Admin(who): Admin,
    Path(id): Path<PartnerId>,
) -> ApiResult<Response> {
    let (p, key) = partner_lifecycle::rotate_key(&s, &id, None).await?;
    audit::record(
        &s,
        &who,
        "partner.api_key_rotated",
        &p.id,
        "old key revoked",
    )
    .await;
    Ok(json(
        StatusCode::OK,
        &NewKey {
            partner: PartnerView::of(&p),
            api_key: key.secret,
        },
    ))
}

async fn rotate_my_key(
    State(s): State<Services>,
    CallingPartner(id): CallingPartner,
    headers: HeaderMap,
) -> ApiResult<Response> {
    // The key replaced is the one presented: a request that authenticated with a key
    // another rotation has just replaced must not revoke that rotation's new key.
    let presented =
        upline_http::bearer(&headers).map(|t| upline_domain::ids::hash_api_key(t.trim()));
    let (p, key) = partner_lifecycle::rotate_key(&s, &id, presented.as_deref()).await?;
    Ok(json(
        StatusCode::OK,
        &NewKey {
            partner: PartnerView::of(&p),
            api_key: key.secret,
        },
    ))
}

#[derive(Serialize)]
struct TemplateSummary {
    name: &'static str,
    kind: EmailKind,
    overridden: bool,
    /// The variables it is given, with sample values.
    variables: serde_json::Value,
}

async fn list_templates(State(s): State<Services>, _: Admin) -> ApiResult<Response> {
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
    Ok(json(
        StatusCode::OK,
        &Listing {
            items,
            next_cursor: None,
        },
    ))
}

#[derive(Serialize)]
struct TemplateDetail {
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
struct Preview {
    subject: String,
    text: String,
    html: String,
}

async fn show_template(
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
        .map_err(|e| AppError::Internal(e.to_string()))?;
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
struct TemplateRequest {
    subject: Option<String>,
    text: Option<String>,
    html: Option<String>,
}

async fn save_template(
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
    errors.into_result()?;
    let (Some(subject), Some(text), Some(html)) = (subject, text, html) else {
        return Err(AppError::Internal("validated fields missing".into()).into());
    };
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
    Ok(json(
        created_or_ok(!existed),
        &Preview {
            subject: preview.subject,
            text: preview.text,
            html: preview.html,
        },
    ))
}

async fn reset_template(
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

pub(crate) async fn update_profile(
    State(s): State<Services>,
    CallingPartner(id): CallingPartner,
    JsonBody(req): JsonBody<ProfileRequest>,
) -> ApiResult<Response> {
    let p = partner_area::update_profile(&s, &id, req).await?;
    Ok(json(StatusCode::OK, &Profile::of(&p)))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct MyLinkRequest {
    campaign_id: Option<String>,
}

pub(crate) async fn create_my_link(
    State(s): State<Services>,
    CallingPartner(id): CallingPartner,
    JsonBody(req): JsonBody<MyLinkRequest>,
) -> ApiResult<Response> {
    let (link, created) = create_link(
        &s,
        LinkRequest {
            partner_id: Some(id.into_string()),
            campaign_id: req.campaign_id,
        },
    )
    .await?;
    Ok(json(
        created_or_ok(created),
        &LinkView::of(&link, &s.deployment.public_base_url),
    ))
}

async fn my_downline(
    State(s): State<Services>,
    CallingPartner(id): CallingPartner,
) -> ApiResult<Response> {
    let items = partner_area::downline(&s, &id).await?;
    Ok(json(
        StatusCode::OK,
        &Listing {
            items,
            next_cursor: None,
        },
    ))
}

fn page(title: &str, body: &str) -> Response {
    let html = format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>{title}</title></head>\
         <body><h1>{title}</h1>{body}</body></html>"
    );
    let mut r = Html(html).into_response();
    r.headers_mut()
        .insert(header::CACHE_CONTROL, "no-store".parse().expect("static"));
    r
}

fn link_params(q: &HashMap<String, String>) -> (String, String) {
    (
        q.get("partner").cloned().unwrap_or_default(),
        q.get("token").cloned().unwrap_or_default(),
    )
}

/// The link in an email: a page with one button, because mail scanners follow links and
/// must not unsubscribe anyone by doing so.
async fn unsubscribe_page(Query(q): Query<HashMap<String, String>>) -> Response {
    let (partner, token) = link_params(&q);
    let esc = |v: &str| {
        v.chars()
            .filter(|c| c.is_ascii_alphanumeric() || "-_".contains(*c))
            .collect::<String>()
    };
    page(
        "Unsubscribe from notifications",
        &format!(
            "<p>Stop the notification emails (new conversions, approved commissions)? \
             Emails about your account and your payouts still come.</p>\
             <form method=\"post\" action=\"?partner={}&amp;token={}\">\
             <button type=\"submit\">Unsubscribe</button></form>",
            esc(&partner),
            esc(&token)
        ),
    )
}

/// The button and RFC 8058 one-click unsubscribe (`List-Unsubscribe-Post`).
async fn unsubscribe(
    State(s): State<Services>,
    Query(q): Query<HashMap<String, String>>,
) -> ApiResult<Response> {
    let (partner, token) = link_params(&q);
    partner_area::unsubscribe(&s, &PartnerId::new(partner), &token).await?;
    Ok(page(
        "You are unsubscribed",
        "<p>No more notification emails. Emails about your account and your payouts still \
         come. You can switch notifications back on in the partner area.</p>",
    ))
}
