//! The portal's page templates and the layout every page shares.

use std::sync::LazyLock;

use axum::http::StatusCode;
use axum::response::Response;
use serde::Serialize;
use upline_web::Templates;

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

static ENVIRONMENT: LazyLock<Templates> = LazyLock::new(|| Templates::new(TEMPLATES));

/// The stylesheet, served from the portal itself (no third-party host).
pub const STYLESHEET: &str = upline_web::STYLESHEET;

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
    ENVIRONMENT.render(status, template, layout, page)
}

/// A page with a heading, a few paragraphs and at most one link onwards.
pub fn message(
    status: StatusCode,
    layout: &Layout,
    heading: &str,
    paragraphs: &[&str],
    link: Option<(&str, &str)>,
) -> Response {
    ENVIRONMENT.message(status, layout, heading, paragraphs, link)
}

/// The copy buttons' few lines of script.
pub const SCRIPT: &str = include_str!("../assets/portal.js");

/// `GET /portal/assets/portal.js`.
pub async fn script() -> Response {
    upline_web::asset("text/javascript; charset=utf-8", SCRIPT)
}

/// `GET /portal/assets/portal.css`.
pub async fn stylesheet() -> Response {
    upline_web::asset("text/css; charset=utf-8", STYLESHEET)
}

#[cfg(test)]
mod tests {
    use super::*;
    use minijinja::context;

    #[test]
    fn every_template_parses_and_escapes_html() {
        for (name, _) in TEMPLATES {
            assert!(ENVIRONMENT.has(name), "{name}");
        }
        let layout = Layout::public("<Acme & Co>");
        let resp = message(StatusCode::OK, &layout, "Hi", &["<script>"], None);
        assert_eq!(resp.status(), StatusCode::OK);
        let html = ENVIRONMENT
            .html(
                "message.html",
                &layout,
                context! { heading => "h", paragraphs => ["<b>x</b>"], link => () },
            )
            .unwrap();
        assert!(html.contains("&lt;Acme &amp; Co&gt;"), "{html}");
        assert!(html.contains("&lt;b&gt;x&lt;"), "{html}");
        assert!(!html.contains("<b>x</b>"));
    }
}
