//! Direct (redirect-free) links: the partner links straight to the operator's page with
//! `?ref=<code>`, and the page registers the click here — through the snippet served at
//! `/upline.js`, or from its own server. Without a `ref`, the tracking domain's click
//! cookie answers for a visitor whose landing page lost the query.

use std::sync::Arc;
use upline_domain::ids::CampaignId;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use upline_domain::click_id;
use upline_domain::error::AppError;
use upline_domain::tracking::{Traffic, parse_subs};
use upline_domain::usecases::input::parse_json;
use upline_domain::usecases::tracking::{ResolvedLink, track_click};
use upline_http::auth::{ClientAddress, Forwarded, forwarded_for};
use upline_http::{ApiError, json};

use crate::{CLICK_COOKIE, RedirectState};

const SNIPPET: &str = include_str!("../assets/upline.js");

/// Unknown fields are ignored: pages send what they have.
#[derive(Debug, Default, Deserialize)]
struct DirectClickRequest {
    /// The link code from the page's `?ref=`.
    #[serde(rename = "ref")]
    link_code: Option<String>,
    sub1: Option<String>,
    sub2: Option<String>,
    sub3: Option<String>,
    sub4: Option<String>,
    sub5: Option<String>,
}

#[derive(Debug, Serialize)]
struct DirectClickView {
    /// The click id to keep and send with the postback; null for bots and visitors the
    /// campaign's targeting turned away.
    click_id: Option<String>,
    /// `click` (new), `cookie` (the visitor's earlier click), `bot` or `rejected`.
    source: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<String>,
    campaign_id: CampaignId,
    /// How long to keep the click id: the campaign's attribution window.
    cookie_days: u32,
}

/// Lets the page that asked read the answer, if the page is on the campaign's domains.
fn allow_origin(resp: &mut Response, headers: &HeaderMap, resolved: &ResolvedLink) {
    let Some(origin) = headers.get(header::ORIGIN) else {
        return;
    };
    if origin
        .to_str()
        .is_ok_and(|o| resolved.campaign.allows_origin(o))
    {
        let h = resp.headers_mut();
        h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin.clone());
        h.insert(
            header::ACCESS_CONTROL_ALLOW_CREDENTIALS,
            HeaderValue::from_static("true"),
        );
    }
    resp.headers_mut()
        .insert(header::VARY, HeaderValue::from_static("Origin"));
}

/// The cookie's click id, if the request carries a well-formed one.
fn cookie_click_id(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == CLICK_COOKIE)
        .map(|(_, value)| value.to_string())
}

pub(crate) async fn register_click(
    State(state): State<Arc<RedirectState>>,
    method: Method,
    address: ClientAddress,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    // Any content type: the snippet sends text/plain to stay a simple CORS request.
    let req: DirectClickRequest = if body.iter().all(u8::is_ascii_whitespace) {
        DirectClickRequest::default()
    } else {
        parse_json(&body)?
    };
    let Some(code) = req.link_code.as_deref().map(str::trim) else {
        return from_cookie(&state, &headers).await;
    };
    let resolved = state
        .resolve(code)
        .await?
        .ok_or_else(|| AppError::field("ref", format!("{code:?} is not a link of this program")))?;
    let subs = [
        ("sub1", &req.sub1),
        ("sub2", &req.sub2),
        ("sub3", &req.sub3),
        ("sub4", &req.sub4),
        ("sub5", &req.sub5),
    ];
    // A shop's server calls this on its visitor's behalf and states the visitor's address
    // as the first `X-Forwarded-For` entry, as the docs ask; the redirect never trusts it.
    let stated = ClientAddress(forwarded_for(&headers, Forwarded::First).or(address.0));
    let mut ctx = state.context(&headers, &stated, &method);
    ctx.subs = parse_subs(
        subs.iter()
            .filter_map(|(k, v)| v.as_deref().map(|v| (*k, v))),
    );
    let tracked = track_click(&state.services, &resolved, ctx)?;
    let days = resolved.campaign.attribution_window_days;
    let (click_id, source, reason) = match &tracked.click.traffic {
        Traffic::Visit => (Some(tracked.click.click_id.clone()), "click", None),
        Traffic::Bot { reason } => (None, "bot", Some(reason.clone())),
        Traffic::Rejected { reason } => (None, "rejected", Some(reason.as_str().to_string())),
        Traffic::Impression => (None, "bot", None),
    };
    let cookie = click_id.as_ref().map(|id| state.click_cookie(id, days));
    state.publish(tracked.click).await;
    let status = if click_id.is_some() {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    let mut resp = json(
        status,
        &DirectClickView {
            click_id,
            source,
            reason,
            campaign_id: resolved.campaign.id.clone(),
            cookie_days: days,
        },
    );
    if let Some(c) = cookie.and_then(|c| HeaderValue::from_str(&c).ok()) {
        resp.headers_mut().insert(header::SET_COOKIE, c);
    }
    allow_origin(&mut resp, &headers, &resolved);
    Ok(resp)
}

/// The visitor's earlier click, from the tracking domain's cookie, while it still earns.
async fn from_cookie(state: &RedirectState, headers: &HeaderMap) -> Result<Response, ApiError> {
    let none = || {
        ApiError(AppError::NotFound(
            "no click: send ref (the link code) or the upline_click cookie".into(),
        ))
    };
    let id = cookie_click_id(headers).ok_or_else(none)?;
    let secret = state.services.deployment.click_secret()?;
    let claims = click_id::verify(secret, &id).map_err(|_| none())?;
    let resolved = state.resolve(&claims.link_code).await?.ok_or_else(none)?;
    let days = resolved.campaign.attribution_window_days;
    let expires = claims.clicked_at.plus_days(i64::from(days));
    if state.services.now() > expires {
        return Err(ApiError(AppError::NotFound(format!(
            "the click in the cookie is older than the campaign's {days}-day attribution window"
        ))));
    }
    let mut resp = json(
        StatusCode::OK,
        &DirectClickView {
            click_id: Some(id),
            source: "cookie",
            reason: None,
            campaign_id: resolved.campaign.id.clone(),
            cookie_days: days,
        },
    );
    allow_origin(&mut resp, headers, &resolved);
    Ok(resp)
}

/// The click snippet; cached an hour by browsers and CDNs.
pub(crate) async fn snippet() -> Response {
    let mut resp = (StatusCode::OK, SNIPPET).into_response();
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/javascript; charset=utf-8"),
    );
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=3600"),
    );
    resp
}
