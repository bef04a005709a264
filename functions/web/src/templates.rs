//! A function's page templates: minijinja, compiled into the binary, HTML auto-escaped,
//! and a misspelt variable a failing render (and test) rather than a blank on the page.

use axum::http::StatusCode;
use axum::response::Response;
use minijinja::{Environment, UndefinedBehavior, context};
use serde::Serialize;

/// Every template of one function, by file name.
pub struct Templates(Environment<'static>);

impl Templates {
    /// The templates `(name, source)`; a template that does not parse is a bug of the
    /// build, found by the first test that renders anything.
    pub fn new(sources: &[(&'static str, &'static str)]) -> Self {
        let mut env = Environment::new();
        // `if` may still ask whether an optional value is there.
        env.set_undefined_behavior(UndefinedBehavior::SemiStrict);
        for (name, source) in sources {
            env.add_template(name, source)
                .unwrap_or_else(|e| panic!("the shipped template {name} does not parse: {e:#}"));
        }
        Templates(env)
    }

    /// `template` rendered with the layout's variables and the page's own, as HTML.
    pub fn html(
        &self,
        template: &str,
        layout: &impl Serialize,
        page: impl Serialize,
    ) -> Result<String, minijinja::Error> {
        self.0.get_template(template)?.render(context! {
            ..minijinja::Value::from_serialize(layout),
            ..minijinja::Value::from_serialize(&page)
        })
    }

    /// [`Templates::html`] as a page response with `status` (a plain 500 when it does not
    /// render).
    pub fn render(
        &self,
        status: StatusCode,
        template: &str,
        layout: &impl Serialize,
        page: impl Serialize,
    ) -> Response {
        match self.html(template, layout, page) {
            Ok(html) => crate::page(status, html),
            Err(e) => crate::broken_page(template, &format!("{e:#}")),
        }
    }

    /// The `message.html` page: a heading, a few paragraphs and at most one link onwards.
    pub fn message(
        &self,
        status: StatusCode,
        layout: &impl Serialize,
        heading: &str,
        paragraphs: &[&str],
        link: Option<(&str, &str)>,
    ) -> Response {
        self.render(
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

    /// Whether `name` is one of the templates.
    pub fn has(&self, name: &str) -> bool {
        self.0.get_template(name).is_ok()
    }
}
