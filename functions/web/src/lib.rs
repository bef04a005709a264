//! What the browser-facing functions (the partner portal and the operator console) share,
//! so both doors behave alike: the session cookie (named per door), the same-origin check
//! every posted form passes, how a rendered page becomes a response, and the daily chart.

pub mod chart;
pub mod problem;
pub mod sign_in_pages;
mod templates;

pub use templates::Templates;

/// The stylesheet every page starts from; the console adds a few rules of its own.
pub const STYLESHEET: &str = include_str!("../assets/pages.css");

use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use cookie::{Cookie, SameSite};
use upline_domain::services::Services;
use upline_domain::usecases::sign_in::BrowserSecret;

/// The cookie that carries one door's session id, under two names: the `__Host-` one
/// where pages are served over HTTPS (browsers then refuse it unless it is `Secure`,
/// host-only and for `Path=/`, so a sibling subdomain cannot plant a session of its
/// choosing), and a plain one over HTTP on loopback (the local host), where `__Host-`
/// cannot be met.
#[derive(Clone, Copy, Debug)]
pub struct SessionCookie {
    pub secure_name: &'static str,
    pub plain_name: &'static str,
    /// How long the browser keeps it: the session's own length.
    pub max_age_secs: i64,
}

impl SessionCookie {
    fn name(&self, services: &Services) -> &'static str {
        if secure(services) {
            self.secure_name
        } else {
            self.plain_name
        }
    }

    /// The session id the request's cookie carries, if any.
    pub fn read(&self, headers: &HeaderMap, services: &Services) -> Option<BrowserSecret> {
        let name = self.name(services);
        headers
            .get_all(header::COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(Cookie::split_parse)
            .filter_map(Result::ok)
            .find(|c| c.name() == name)
            .map(|c| BrowserSecret::from_browser(c.value()))
    }

    /// `Set-Cookie` for a new session; `Secure` unless pages are served over plain HTTP,
    /// where a browser would drop a Secure cookie.
    pub fn set(&self, services: &Services, id: &BrowserSecret) -> HeaderValue {
        self.header(services, id.expose(), self.max_age_secs)
    }

    /// `Set-Cookie` that removes the session cookie.
    pub fn clear(&self, services: &Services) -> HeaderValue {
        self.header(services, "", 0)
    }

    fn header(&self, services: &Services, value: &str, max_age_secs: i64) -> HeaderValue {
        let cookie = Cookie::build((self.name(services), value.to_string()))
            .http_only(true)
            .secure(secure(services))
            .same_site(SameSite::Lax)
            .path("/")
            .max_age(time::Duration::seconds(max_age_secs))
            .build();
        HeaderValue::from_str(&cookie.to_string()).expect("a base32 cookie is a header value")
    }
}

fn secure(services: &Services) -> bool {
    services.deployment.public_base_url.starts_with("https://")
}

/// Whether a posted form comes from our own pages: browsers say where a request comes
/// from (`Sec-Fetch-Site`, and `Origin`, which pages cannot forge, and which every
/// current browser sends with a POST); a request from another site, or one that says
/// nothing of where it comes from, is refused before its CSRF token is looked at. Forms
/// without a session (sign-in, applications) have only this guard.
pub fn same_origin(headers: &HeaderMap, services: &Services) -> bool {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    if let Some(site) = header("sec-fetch-site") {
        return matches!(site, "same-origin" | "none");
    }
    let own = url_origin(&services.deployment.public_base_url);
    matches!((header("origin"), own), (Some(origin), Some(own)) if origin == own)
}

fn url_origin(base: &str) -> Option<String> {
    let (scheme, rest) = base.split_once("://")?;
    let host = rest.split('/').next()?;
    Some(format!("{scheme}://{host}"))
}

/// A rendered page as a response: never cached, since every page is someone's own, and
/// with a referrer policy that names our origin to ourselves only (browsers name the
/// origin of a form's POST only under a policy that sends referrers at all, and nothing —
/// a sign-in token in a URL — may leak to other sites).
pub fn page(status: StatusCode, html: String) -> Response {
    let mut resp = (status, Html(html)).into_response();
    let headers = resp.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    resp
}

/// A page whose template did not render: logged, and a plain 500.
pub fn broken_page(template: &str, error: &dyn std::fmt::Display) -> Response {
    tracing::error!(template, error = %error, "a page did not render");
    (
        StatusCode::INTERNAL_SERVER_ERROR,
        "This page could not be shown.",
    )
        .into_response()
}

/// A static asset (stylesheet, script) served by the function itself, so pages load
/// nothing from other hosts.
pub fn asset(content_type: &'static str, body: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        body,
    )
        .into_response()
}
