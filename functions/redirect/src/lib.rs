//! The redirect function: `GET /r/{code}` answers 302 to the campaign's destination with a
//! fresh signed click id, publishing the click to the clicks queue on the way. The hot
//! path makes one network write at most (the publish), reads links from a warm cache, and
//! still redirects when publishing fails — a lost click count is better than a lost
//! visitor.

mod config;
pub use config::Config;

mod cache;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use axum::Router;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use upline_domain::messages::Message;
use upline_domain::ports::QueueName;
use upline_domain::services::Services;
use upline_domain::tracking::parse_subs;
use upline_domain::usecases::tracking::{new_click_with, resolve_link};
use upline_http::ApiError;

pub use cache::LinkCache;

pub struct RedirectState {
    services: Services,
    cache: LinkCache,
    /// Clicks whose publishing failed since start; exported in logs, watched by alarms.
    publish_failures: AtomicU64,
}

impl RedirectState {
    pub fn publish_failures(&self) -> u64 {
        self.publish_failures.load(Ordering::Relaxed)
    }
}

pub fn state(services: Services) -> Arc<RedirectState> {
    Arc::new(RedirectState {
        cache: LinkCache::new(services.clock.clone()),
        services,
        publish_failures: AtomicU64::new(0),
    })
}

pub fn router(state: Arc<RedirectState>) -> Router {
    Router::new()
        .route("/r/{code}", get(redirect))
        .with_state(state)
}

fn not_found_page() -> Response {
    let page = "<!doctype html><meta charset=utf-8><title>Link not found</title>\
                <h1>Link not found</h1><p>This tracking link does not exist or is no longer active.</p>";
    let mut resp = (StatusCode::NOT_FOUND, Html(page)).into_response();
    resp.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    resp
}

/// The visitor's address as the edge saw it: API Gateway and proxies put it first in
/// `X-Forwarded-For`.
fn client_ip(headers: &HeaderMap) -> Option<&str> {
    headers
        .get("x-forwarded-for")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(',').next())
        .map(str::trim)
        .filter(|v| !v.is_empty())
}

async fn redirect(
    State(state): State<Arc<RedirectState>>,
    Path(code): Path<String>,
    RawQuery(query): RawQuery,
    method: Method,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let services = &state.services;
    let resolved = match state.cache.get(&code) {
        Some(hit) => hit,
        None => {
            let found = resolve_link(&services.store, &code).await?;
            state.cache.put(&code, found.clone());
            found
        }
    };
    let Some(resolved) = resolved else {
        return Ok(not_found_page());
    };
    let user_agent = headers
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok());
    let pairs: Vec<(String, String)> = query
        .as_deref()
        .map(|q| {
            url::form_urlencoded::parse(q.as_bytes())
                .into_owned()
                .collect()
        })
        .unwrap_or_default();
    let subs = parse_subs(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())));
    let deep_link = pairs
        .iter()
        .find(|(k, _)| k == "url")
        .map(|(_, v)| v.as_str());
    let (click, landing) = new_click_with(
        services,
        &resolved,
        client_ip(&headers),
        user_agent,
        subs,
        deep_link,
    )?;
    // A HEAD is a link checker, not a visitor: it learns where the link goes, uncounted.
    if method != Method::HEAD {
        let correlation_id = click.click_id.clone();
        let message = Message::ClickRecorded(click);
        if let Err(e) = services
            .publish(QueueName::Clicks, &[message], &correlation_id)
            .await
        {
            let n = state.publish_failures.fetch_add(1, Ordering::Relaxed) + 1;
            tracing::error!(error = %e, link = %code, publish_failures = n, "click not published; redirecting anyway");
        }
    }
    let mut resp = StatusCode::FOUND.into_response();
    let h = resp.headers_mut();
    h.insert(
        header::LOCATION,
        HeaderValue::from_str(&landing)
            .map_err(|e| ApiError(upline_domain::error::AppError::Internal(e.to_string())))?,
    );
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, no-store"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer-when-downgrade"),
    );
    Ok(resp)
}
