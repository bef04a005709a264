//! The tracking function, on the tracking domain: redirect links (`GET /r/{code}`: 302 to
//! the campaign with a fresh signed click id and a first-party click cookie), impressions
//! (`GET /i/{code}`: a 1×1 GIF), direct links (`POST /v1/clicks`, called by the snippet
//! served at `GET /upline.js` on the operator's own pages).
//!
//! The hot path makes one network write at most (the publish), reads links from a warm
//! cache, and still answers when publishing fails — a lost click count is better than a
//! lost visitor.

mod config;
pub use config::Config;

mod cache;
mod direct;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use upline_domain::error::Cause;

use axum::Router;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use upline_domain::error::AppError;
use upline_domain::messages::Message;
use upline_domain::ports::QueueName;
use upline_domain::services::Services;
use upline_domain::tracking::{Click, parse_subs};
use upline_domain::usecases::tracking::{
    ClickContext, ResolvedLink, new_impression, resolve_link, track_click,
};
use upline_http::ApiError;
use upline_http::auth::ClientAddress;

pub use cache::LinkCache;

/// The cookie the tracking domain keeps the click id in.
pub const CLICK_COOKIE: &str = "upline_click";

/// How the tracking domain reads visitors and keeps clicks.
#[derive(Clone, Debug)]
pub struct TrackingSettings {
    /// The request header holding the visitor's country (lower case).
    pub country_header: String,
    /// `Domain` of the click cookie, to share it with the shop's other subdomains.
    pub cookie_domain: Option<String>,
    /// Marks the cookie `Secure`; true wherever the tracking domain is served over HTTPS.
    pub secure_cookie: bool,
    /// The longest a visitor waits for the click's hand-off to the queue: a slow queue
    /// costs a click count (logged and counted), never seconds of a visitor's time.
    pub publish_timeout: std::time::Duration,
}

impl Default for TrackingSettings {
    fn default() -> Self {
        TrackingSettings {
            country_header: "cloudfront-viewer-country".into(),
            cookie_domain: None,
            secure_cookie: true,
            publish_timeout: std::time::Duration::from_millis(500),
        }
    }
}

pub struct RedirectState {
    services: Services,
    settings: TrackingSettings,
    cache: LinkCache,
    /// Clicks whose publishing failed since start; exported in logs, watched by alarms.
    publish_failures: AtomicU64,
}

impl RedirectState {
    pub fn publish_failures(&self) -> u64 {
        self.publish_failures.load(Ordering::Relaxed)
    }

    /// The link behind `code`, from the warm cache when fresh.
    async fn resolve(&self, code: &str) -> Result<Option<ResolvedLink>, AppError> {
        if let Some(hit) = self.cache.get(code) {
            return Ok(hit);
        }
        let found = resolve_link(&self.services.store, code).await?;
        self.cache.put(code, found.clone());
        Ok(found)
    }

    /// Sends a click to the recorder; a failure is logged and counted, never surfaced.
    async fn publish(&self, click: Click) {
        let correlation_id = click.click_id.clone();
        let code = click.link_code.clone();
        let message = Message::ClickRecorded(click);
        let sent = tokio::time::timeout(
            self.settings.publish_timeout,
            self.services
                .publish(QueueName::Clicks, &[message], &correlation_id),
        )
        .await;
        let failure = match sent {
            Ok(Ok(())) => return,
            Ok(Err(e)) => e.to_string(),
            Err(_) => format!(
                "the queue did not answer within {:?}",
                self.settings.publish_timeout
            ),
        };
        let n = self.publish_failures.fetch_add(1, Ordering::Relaxed) + 1;
        tracing::error!(error = %failure, link = %code, publish_failures = n, "click not published; answering anyway");
    }

    /// What the request tells about the visitor.
    /// What the request says about its visitor. The address is the one the edge saw
    /// (`upline_http::auth::client_address`), never the first `X-Forwarded-For` entry,
    /// which the visitor writes: trusting it let one visitor count as many unique ones.
    fn context<'a>(
        &self,
        headers: &'a HeaderMap,
        address: &'a ClientAddress,
        method: &Method,
    ) -> ClickContext<'a> {
        ClickContext {
            ip: address.0.as_deref(),
            user_agent: headers
                .get(header::USER_AGENT)
                .and_then(|v| v.to_str().ok()),
            country: headers
                .get(self.settings.country_header.as_str())
                .and_then(|v| v.to_str().ok()),
            head: method == Method::HEAD,
            ..ClickContext::default()
        }
    }

    /// The `Set-Cookie` value keeping `click_id` on the tracking domain for `days`.
    fn click_cookie(&self, click_id: &str, days: u32) -> String {
        let mut cookie = format!(
            "{CLICK_COOKIE}={click_id}; Max-Age={}; Path=/; HttpOnly; SameSite=Lax",
            u64::from(days) * 86_400
        );
        if let Some(domain) = &self.settings.cookie_domain {
            cookie.push_str("; Domain=");
            cookie.push_str(domain);
        }
        if self.settings.secure_cookie {
            cookie.push_str("; Secure");
        }
        cookie
    }
}

pub fn state(services: Services, settings: TrackingSettings) -> Arc<RedirectState> {
    Arc::new(RedirectState {
        cache: LinkCache::new(services.clock.clone()),
        services,
        settings,
        publish_failures: AtomicU64::new(0),
    })
}

pub fn router(state: Arc<RedirectState>) -> Router {
    let router = Router::new()
        .route("/r/{code}", get(redirect))
        .route("/i/{code}", get(impression))
        .route("/v1/clicks", post(direct::register_click))
        .route("/upline.js", get(direct::snippet));
    upline_http::edge(router, upline_http::limits::CLICK).with_state(state)
}

fn not_found_page() -> Response {
    let page = "<!doctype html><meta charset=utf-8><title>Link not found</title>\
                <h1>Link not found</h1><p>This tracking link does not exist or is no longer active.</p>";
    let mut resp = (StatusCode::NOT_FOUND, Html(page)).into_response();
    resp.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    resp
}

fn query_pairs(query: Option<&str>) -> Vec<(String, String)> {
    query
        .map(|q| {
            url::form_urlencoded::parse(q.as_bytes())
                .into_owned()
                .collect()
        })
        .unwrap_or_default()
}

async fn redirect(
    State(state): State<Arc<RedirectState>>,
    Path(code): Path<String>,
    RawQuery(query): RawQuery,
    method: Method,
    address: ClientAddress,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let Some(resolved) = state.resolve(&code).await? else {
        return Ok(not_found_page());
    };
    let pairs = query_pairs(query.as_deref());
    let mut ctx = state.context(&headers, &address, &method);
    ctx.subs = parse_subs(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())));
    ctx.deep_link = pairs
        .iter()
        .find(|(k, _)| k == "url")
        .map(|(_, v)| v.as_str());
    let tracked = track_click(&state.services, &resolved, ctx)?;
    let cookie = tracked.is_visit().then(|| {
        state.click_cookie(
            &tracked.click.click_id,
            resolved.campaign.attribution_window_days,
        )
    });
    let location = HeaderValue::from_str(&tracked.landing)
        .map_err(|e| ApiError(AppError::Internal(Cause::of(e))))?;
    // Bots and HEAD requests (link checkers) are published too: reports count them apart.
    state.publish(tracked.click).await;
    let mut resp = StatusCode::FOUND.into_response();
    let h = resp.headers_mut();
    h.insert(header::LOCATION, location);
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, no-store"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer-when-downgrade"),
    );
    if let Some(c) = cookie.and_then(|c| HeaderValue::from_str(&c).ok()) {
        h.insert(header::SET_COOKIE, c);
    }
    Ok(resp)
}

/// The smallest transparent GIF: 1×1, one transparent colour.
const PIXEL_GIF: &[u8] = &[
    0x47, 0x49, 0x46, 0x38, 0x39, 0x61, 0x01, 0x00, 0x01, 0x00, 0x80, 0x00, 0x00, 0x00, 0x00, 0x00,
    0xff, 0xff, 0xff, 0x21, 0xf9, 0x04, 0x01, 0x00, 0x00, 0x00, 0x00, 0x2c, 0x00, 0x00, 0x00, 0x00,
    0x01, 0x00, 0x01, 0x00, 0x00, 0x02, 0x02, 0x44, 0x01, 0x00, 0x3b,
];

/// Counts an impression and answers with the pixel. Always a pixel, even for unknown
/// codes, so a banner never shows a broken image; never cached, so every view reaches us.
async fn impression(
    State(state): State<Arc<RedirectState>>,
    Path(code): Path<String>,
    RawQuery(query): RawQuery,
    method: Method,
    address: ClientAddress,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    if let Some(resolved) = state.resolve(&code).await? {
        let pairs = query_pairs(query.as_deref());
        let mut ctx = state.context(&headers, &address, &method);
        ctx.subs = parse_subs(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        if let Some(impression) = new_impression(&state.services, &resolved, ctx) {
            state.publish(impression).await;
        }
    }
    let mut resp = (StatusCode::OK, PIXEL_GIF).into_response();
    let h = resp.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("image/gif"));
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("no-store, no-cache, must-revalidate, max-age=0"),
    );
    h.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    h.insert(header::EXPIRES, HeaderValue::from_static("0"));
    Ok(resp)
}

#[cfg(test)]
mod tests {
    use super::PIXEL_GIF;

    #[test]
    fn the_pixel_is_a_1x1_gif() {
        assert_eq!(&PIXEL_GIF[..6], b"GIF89a");
        assert_eq!(u16::from_le_bytes([PIXEL_GIF[6], PIXEL_GIF[7]]), 1);
        assert_eq!(u16::from_le_bytes([PIXEL_GIF[8], PIXEL_GIF[9]]), 1);
        assert_eq!(PIXEL_GIF.last(), Some(&0x3b), "GIF trailer");
    }
}
