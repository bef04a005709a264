//! `/portal/settings`: the partner's name and notification choices, their own postback
//! URL with its recent deliveries, and a new API key (shown once).

use crate::problem::PageParams;
use axum::Form;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect};
use minijinja::context;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use upline_domain::error::AppError;
use upline_domain::services::Services;
use upline_domain::store::PageQuery;
use upline_domain::usecases::partner_area::{ProfileChange, update_profile};
use upline_domain::usecases::partner_lifecycle::rotate_key;
use upline_domain::usecases::partner_postbacks::{
    MACROS, TemplateRequest, deliveries, remove_template, set_template, template_of,
};

use crate::pages::render;
use crate::problem::PageResult;
use crate::session::SignedIn;

/// Recent postback deliveries shown.
const DELIVERIES_SHOWN: usize = 20;

/// What the page shows besides the stored settings: a note after a save, errors and the
/// input that caused them, or a key just made.
#[derive(Default, Serialize)]
struct Shown {
    saved: Option<&'static str>,
    errors: BTreeMap<String, String>,
    name: Option<String>,
    postback_url: Option<String>,
    new_key: Option<String>,
}

#[derive(Deserialize, Default)]
pub(crate) struct SettingsQuery {
    #[serde(default)]
    saved: Option<String>,
}

pub(crate) async fn settings_page(
    State(s): State<Services>,
    who: SignedIn,
    PageParams { query: q, .. }: PageParams<SettingsQuery>,
) -> PageResult {
    let saved = match q.saved.as_deref() {
        Some("profile") => Some("Your profile is saved."),
        Some("postback") => Some("Your postback URL is saved."),
        Some("postback-removed") => Some("Your postback URL is removed."),
        _ => None,
    };
    let shown = Shown {
        saved,
        ..Shown::default()
    };
    page(&s, &who, shown, StatusCode::OK).await
}

async fn page(s: &Services, who: &SignedIn, shown: Shown, status: StatusCode) -> PageResult {
    let template = template_of(s, &who.partner.id).await?;
    let log = deliveries(s, &who.partner.id, &PageQuery::first(DELIVERIES_SHOWN)).await?;
    let recent: Vec<_> = log
        .items
        .iter()
        .map(|d| {
            context! {
                at => d.at.to_rfc3339(),
                conversion_id => d.conversion_id.to_string(),
                status => d.status,
                outcome => d.outcome,
                http_status => d.http_status,
                error => d.error,
            }
        })
        .collect();
    let prefs = who.partner.notifications;
    Ok(render(
        status,
        "settings.html",
        &who.layout("settings"),
        context! {
            partner_name => shown.name.clone().unwrap_or_else(|| who.partner.name.clone()),
            email => who.partner.email,
            new_conversion => prefs.new_conversion,
            commission_approved => prefs.commission_approved,
            unsubscribed => prefs.unsubscribed,
            postback_url => shown.postback_url.clone().or_else(|| template.map(|t| t.url)).unwrap_or_default(),
            macros => MACROS,
            deliveries => recent,
            saved => shown.saved,
            errors => shown.errors,
            new_key => shown.new_key,
        },
    ))
}

#[derive(Deserialize)]
pub(crate) struct ProfileForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    name: String,
    // Ticked boxes are sent, unticked ones are not.
    #[serde(default)]
    new_conversion: Option<String>,
    #[serde(default)]
    commission_approved: Option<String>,
    #[serde(default)]
    unsubscribed: Option<String>,
}

/// `POST /portal/settings/profile`.
pub(crate) async fn save_profile(
    State(s): State<Services>,
    who: SignedIn,
    headers: HeaderMap,
    Form(form): Form<ProfileForm>,
) -> PageResult {
    if let Some(refused) = who.session.form_refused(&headers, &s, &form.csrf) {
        return Ok(refused);
    }
    let name = match upline_domain::usecases::admin::parse_name(&form.name) {
        Ok(n) => n,
        Err(e) => {
            let shown = Shown {
                errors: BTreeMap::from([("name".to_string(), e.to_string())]),
                name: Some(form.name),
                ..Shown::default()
            };
            return page(&s, &who, shown, StatusCode::UNPROCESSABLE_ENTITY).await;
        }
    };
    let change = ProfileChange {
        name: Some(name),
        new_conversion: Some(form.new_conversion.is_some()),
        commission_approved: Some(form.commission_approved.is_some()),
        unsubscribed: Some(form.unsubscribed.is_some()),
    };
    update_profile(&s, &who.partner.id, change).await?;
    Ok(Redirect::to("/portal/settings?saved=profile").into_response())
}

#[derive(Deserialize)]
pub(crate) struct PostbackForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    url: String,
}

/// `POST /portal/settings/postback`: sets the partner's postback URL, or removes it when
/// left empty.
pub(crate) async fn save_postback(
    State(s): State<Services>,
    who: SignedIn,
    headers: HeaderMap,
    Form(form): Form<PostbackForm>,
) -> PageResult {
    if let Some(refused) = who.session.form_refused(&headers, &s, &form.csrf) {
        return Ok(refused);
    }
    if form.url.trim().is_empty() {
        return match remove_template(&s, &who.partner.id).await {
            Ok(()) | Err(AppError::NotFound(_)) => {
                Ok(Redirect::to("/portal/settings?saved=postback-removed").into_response())
            }
            Err(e) => Err(e.into()),
        };
    }
    let checked = TemplateRequest {
        url: Some(form.url.clone()),
    }
    .parse(s.deployment.allow_private_postbacks);
    let url = match checked {
        Ok(url) => url,
        Err(AppError::Invalid(errors)) => {
            let shown = Shown {
                errors: errors.into_iter().map(|e| (e.field, e.message)).collect(),
                postback_url: Some(form.url),
                ..Shown::default()
            };
            return page(&s, &who, shown, StatusCode::UNPROCESSABLE_ENTITY).await;
        }
        Err(e) => return Err(e.into()),
    };
    set_template(&s, &who.partner.id, url).await?;
    Ok(Redirect::to("/portal/settings?saved=postback").into_response())
}

#[derive(Deserialize)]
pub(crate) struct CsrfOnly {
    #[serde(default)]
    csrf: String,
}

/// `POST /portal/settings/api-key`: a new partner API key, shown on this answer only; the
/// old key stops working.
pub(crate) async fn new_api_key(
    State(s): State<Services>,
    who: SignedIn,
    headers: HeaderMap,
    Form(form): Form<CsrfOnly>,
) -> PageResult {
    if let Some(refused) = who.session.form_refused(&headers, &s, &form.csrf) {
        return Ok(refused);
    }
    let (_, key) = rotate_key(&s, &who.partner.id, None).await?;
    let shown = Shown {
        new_key: Some(key.secret),
        ..Shown::default()
    };
    page(&s, &who, shown, StatusCode::OK).await
}
