//! Partner emails: the templates that ship with Upline and their rendering. Templates are
//! minijinja (no code execution, auto-escaping in HTML), each with a subject, a text part
//! and an HTML part, so operators can override them safely later.

use minijinja::{AutoEscape, Environment};
use serde::Serialize;

/// A rendered email, ready for the Mailer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    pub subject: String,
    pub text: String,
    pub html: String,
}

/// The templates shipped with the project: (name, subject, text, html).
const DEFAULTS: &[(&str, &str, &str, &str)] = &[
    (
        "application_received",
        include_str!("../templates/application_received.subject"),
        include_str!("../templates/application_received.txt"),
        include_str!("../templates/application_received.html"),
    ),
    (
        "partner_approved",
        include_str!("../templates/partner_approved.subject"),
        include_str!("../templates/partner_approved.txt"),
        include_str!("../templates/partner_approved.html"),
    ),
    (
        "commission_earned",
        include_str!("../templates/commission_earned.subject"),
        include_str!("../templates/commission_earned.txt"),
        include_str!("../templates/commission_earned.html"),
    ),
];

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RenderError {
    #[error("no email template named {0:?}")]
    UnknownTemplate(String),
    #[error("template {name} does not render: {reason}")]
    Broken { name: String, reason: String },
}

pub struct EmailTemplates {
    env: Environment<'static>,
}

impl Default for EmailTemplates {
    fn default() -> Self {
        let mut env = Environment::new();
        env.set_undefined_behavior(minijinja::UndefinedBehavior::Strict);
        env.set_auto_escape_callback(|name| {
            if name.ends_with(".html") {
                AutoEscape::Html
            } else {
                AutoEscape::None
            }
        });
        for (name, subject, text, html) in DEFAULTS {
            for (suffix, source) in [("subject", subject), ("txt", text), ("html", html)] {
                env.add_template_owned(format!("{name}.{suffix}"), source.to_string())
                    .expect("shipped templates parse");
            }
        }
        EmailTemplates { env }
    }
}

impl EmailTemplates {
    pub fn names() -> impl Iterator<Item = &'static str> {
        DEFAULTS.iter().map(|(n, ..)| *n)
    }

    pub fn render<T: Serialize>(&self, name: &str, data: &T) -> Result<Rendered, RenderError> {
        if !DEFAULTS.iter().any(|(n, ..)| *n == name) {
            return Err(RenderError::UnknownTemplate(name.to_string()));
        }
        let part = |suffix: &str| {
            self.env
                .get_template(&format!("{name}.{suffix}"))
                .and_then(|t| t.render(data))
                .map_err(|e| RenderError::Broken {
                    name: name.to_string(),
                    reason: e.to_string(),
                })
        };
        Ok(Rendered {
            subject: part("subject")?.trim().to_string(),
            text: part("txt")?,
            html: part("html")?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn commission_email_renders_amount_and_explanation() {
        let r = EmailTemplates::default()
            .render(
                "commission_earned",
                &json!({"program_name": "Acme", "partner_name": "Ann", "amount": "5.00 USD",
                        "level": 1, "summary": "Level 1 upline: 50% of …", "conversion_id": "c1",
                        "campaign_name": "Spring"}),
            )
            .unwrap();
        assert_eq!(r.subject, "You earned 5.00 USD with Acme");
        assert!(r.text.contains("Level 1 upline: 50% of …"));
        assert!(r.html.contains("5.00 USD"));
    }

    #[test]
    fn html_parts_escape_what_partners_typed() {
        let r = EmailTemplates::default()
            .render(
                "application_received",
                &json!({"program_name": "Acme", "partner_name": "<script>x</script>"}),
            )
            .unwrap();
        assert!(!r.html.contains("<script>"));
        assert!(r.text.contains("<script>x</script>"));
    }

    #[test]
    fn missing_variables_are_an_error_not_a_blank() {
        let e = EmailTemplates::default().render("partner_approved", &json!({}));
        assert!(matches!(e, Err(RenderError::Broken { .. })));
    }
}
