//! The page templates (minijinja, compiled into the binary, HTML auto-escaped) and how a
//! rendered page becomes a response: never cached, since every page is someone's own.

use std::sync::LazyLock;

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use minijinja::{Environment, UndefinedBehavior, context};
use serde::Serialize;

macro_rules! templates {
    ($($name:literal),+ $(,)?) => {
        &[$(($name, include_str!(concat!("../templates/", $name)))),+]
    };
}

const TEMPLATES: &[(&str, &str)] = templates!(
    "base.html",
    "login.html",
    "link_sent.html",
    "auth.html",
    "message.html",
    "dashboard.html",
    "links.html",
    "commissions.html",
    "payouts.html",
    "field.html",
    "statement.html",
    "team.html",
    "settings.html",
    "join.html",
    "balance.html",
);

static ENVIRONMENT: LazyLock<Environment<'static>> = LazyLock::new(|| {
    let mut env = Environment::new();
    // A misspelt variable is a failing render (and test), not a blank on the page; `if`
    // may still ask whether an optional value is there.
    env.set_undefined_behavior(UndefinedBehavior::SemiStrict);
    for (name, source) in TEMPLATES {
        env.add_template(name, source)
            .expect("the shipped templates parse");
    }
    env
});

/// The stylesheet, served from the portal itself (no third-party host).
pub const STYLESHEET: &str = include_str!("../assets/portal.css");

/// What every page's layout needs: the program's name and, once signed in, the
/// session's CSRF token for the sign-out button.
#[derive(Serialize)]
pub struct Layout<'a> {
    pub program_name: &'a str,
    pub signed_in: bool,
    pub csrf: &'a str,
    /// Which page of the navigation this is.
    pub page: &'a str,
}

impl<'a> Layout<'a> {
    pub fn public(program_name: &'a str) -> Self {
        Layout {
            program_name,
            signed_in: false,
            csrf: "",
            page: "",
        }
    }
}

/// Renders `template` with the layout's variables and the page's own.
pub fn render(
    status: StatusCode,
    template: &str,
    layout: &Layout,
    page: impl Serialize,
) -> Response {
    let env = &*ENVIRONMENT;
    let html = env
        .get_template(template)
        .and_then(|t| t.render(context! { ..minijinja::Value::from_serialize(layout), ..minijinja::Value::from_serialize(&page) }));
    match html {
        Ok(html) => {
            let mut resp = (status, Html(html)).into_response();
            let headers = resp.headers_mut();
            headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            // Browsers name the origin of a form's POST only under a policy that sends
            // referrers at all; `same-origin` sends them to the portal itself only, so
            // nothing (a sign-in token in a URL) leaks to other sites.
            headers.insert(
                header::REFERRER_POLICY,
                HeaderValue::from_static("same-origin"),
            );
            resp
        }
        Err(e) => {
            tracing::error!(
                template,
                error = format!("{e:#}"),
                "a portal page did not render"
            );
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                "This page could not be shown.",
            )
                .into_response()
        }
    }
}

/// A page with a heading, a few paragraphs and at most one link onwards.
pub fn message(
    status: StatusCode,
    layout: &Layout,
    heading: &str,
    paragraphs: &[&str],
    link: Option<(&str, &str)>,
) -> Response {
    render(
        status,
        "message.html",
        layout,
        context! {
            heading,
            paragraphs,
            link => link.map(|(href, text)| context! { href, text }),
        },
    )
}

/// The copy buttons' few lines of script.
pub const SCRIPT: &str = include_str!("../assets/portal.js");

/// `GET /portal/assets/portal.js`.
pub async fn script() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        SCRIPT,
    )
        .into_response()
}

/// `GET /portal/assets/portal.css`.
pub async fn stylesheet() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        STYLESHEET,
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_template_parses_and_escapes_html() {
        for (name, _) in TEMPLATES {
            assert!(ENVIRONMENT.get_template(name).is_ok(), "{name}");
        }
        let layout = Layout::public("<Acme & Co>");
        let resp = message(StatusCode::OK, &layout, "Hi", &["<script>"], None);
        assert_eq!(resp.status(), StatusCode::OK);
        let html = ENVIRONMENT
            .get_template("message.html")
            .unwrap()
            .render(context! {
                heading => "h",
                paragraphs => ["<b>x</b>"],
                link => (),
                ..minijinja::Value::from_serialize(&layout)
            })
            .unwrap();
        assert!(html.contains("&lt;Acme &amp; Co&gt;"), "{html}");
        assert!(html.contains("&lt;b&gt;x&lt;"), "{html}");
        assert!(!html.contains("<b>x</b>"));
    }
}
