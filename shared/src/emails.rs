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
    (
        "payout_statement",
        include_str!("../templates/payout_statement.subject"),
        include_str!("../templates/payout_statement.txt"),
        include_str!("../templates/payout_statement.html"),
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

/// Header text outside ASCII goes as an RFC 2047 encoded word.
fn header_text(s: &str) -> String {
    use base64::Engine;
    if s.is_ascii() && !s.contains(['\r', '\n']) {
        s.to_string()
    } else {
        let clean = s.replace(['\r', '\n'], " ");
        format!(
            "=?UTF-8?B?{}?=",
            base64::engine::general_purpose::STANDARD.encode(clean)
        )
    }
}

/// An idempotency key as a safe file name and Message-ID part.
pub fn file_stem(key: &str) -> String {
    key.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// The email as one RFC 5322 message with text and HTML alternatives: what the outbox
/// writes and what SES sends raw (raw, so unsubscribe headers travel with it).
pub fn mime_message(
    from: &str,
    email: &crate::ports::OutgoingEmail,
    date: crate::clock::Timestamp,
) -> String {
    let stem = file_stem(&email.idempotency_key);
    let mut boundary = format!("upline-{stem}");
    while email.text.contains(&boundary) || email.html.contains(&boundary) {
        boundary.push('x');
    }
    let date = time::OffsetDateTime::from_unix_timestamp(date.secs())
        .ok()
        .and_then(|d| {
            d.format(&time::format_description::well_known::Rfc2822)
                .ok()
        })
        .unwrap_or_default();
    let mut m = String::new();
    m.push_str(&format!("From: {}\r\n", header_text(from)));
    m.push_str(&format!("To: {}\r\n", header_text(&email.to)));
    m.push_str(&format!("Subject: {}\r\n", header_text(&email.subject)));
    m.push_str(&format!("Date: {date}\r\n"));
    m.push_str(&format!("Message-ID: <{stem}@upline.local>\r\n"));
    if let Some(url) = &email.unsubscribe_url {
        m.push_str(&format!("List-Unsubscribe: <{url}>\r\n"));
        m.push_str("List-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n");
    }
    m.push_str("MIME-Version: 1.0\r\n");
    m.push_str(&format!(
        "Content-Type: multipart/alternative; boundary=\"{boundary}\"\r\n\r\n"
    ));
    for (ctype, body) in [("text/plain", &email.text), ("text/html", &email.html)] {
        m.push_str(&format!("--{boundary}\r\n"));
        m.push_str(&format!("Content-Type: {ctype}; charset=utf-8\r\n"));
        m.push_str("Content-Transfer-Encoding: 8bit\r\n\r\n");
        m.push_str(&body.replace("\r\n", "\n").replace('\n', "\r\n"));
        m.push_str("\r\n");
    }
    m.push_str(&format!("--{boundary}--\r\n"));
    m
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn mime_messages_carry_both_parts_and_encode_non_ascii_headers() {
        let email = crate::ports::OutgoingEmail {
            idempotency_key: "commission:c1:0".into(),
            to: "ann@example.com".into(),
            subject: "Gains: 5,00 €".into(),
            text: "line one\nline two".into(),
            html: "<p>hi</p>".into(),
            unsubscribe_url: Some("https://x/u".into()),
            tags: vec![],
        };
        let eml = mime_message(
            "Upline <noreply@upline.local>",
            &email,
            crate::clock::Timestamp(0),
        );
        assert!(eml.contains("Subject: =?UTF-8?B?"));
        assert!(eml.contains("Message-ID: <commission_c1_0@upline.local>"));
        assert!(eml.contains("Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\nline one\r\nline two"));
        assert!(eml.contains("--upline-commission_c1_0\r\nContent-Type: text/html"));
        assert!(eml.ends_with("--upline-commission_c1_0--\r\n"));
        assert!(eml.contains("List-Unsubscribe: <https://x/u>"));
        assert!(eml.contains("Date: Thu, 01 Jan 1970 00:00:00 +0000"));
    }

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
