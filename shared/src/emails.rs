//! Partner emails: the templates that ship with Upline, the operator's overrides, their
//! rendering, and the MIME message a rendered email goes out as (`mime_message`, written
//! by the `mail-builder` crate). Templates are minijinja (no code execution,
//! auto-escaping in HTML, undefined variables are errors), each with a subject, a text
//! part and an HTML part.

use std::str::FromStr;

use mail_builder::MessageBuilder;
use mail_builder::headers::HeaderType;
use mail_builder::headers::address::Address;
use mail_builder::headers::content_type::ContentType;
use mail_builder::headers::date::Date;
use mail_builder::headers::raw::Raw;
use mail_builder::headers::url::URL;
use mail_builder::mime::MimePart;
use minijinja::{AutoEscape, Environment};
use serde::{Deserialize, Serialize};

/// A rendered email, ready for the Mailer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    pub subject: String,
    pub text: String,
    pub html: String,
}

/// Whether a partner can turn an email off.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EmailKind {
    /// About the partner's account or money: always sent.
    Account,
    /// News the partner may not want (each conversion, each approval): carries an
    /// unsubscribe link and honours the partner's preferences.
    Notification,
}

/// One shipped template: its parts, kind, and the sample data that documents its
/// variables and proves an override renders.
pub struct Template {
    pub name: &'static str,
    pub kind: EmailKind,
    pub subject: &'static str,
    pub text: &'static str,
    pub html: &'static str,
    sample: &'static str,
}

impl Template {
    /// The variables the template is given, with sample values.
    pub fn sample(&self) -> serde_json::Value {
        serde_json::from_str(self.sample).expect("shipped samples are JSON")
    }
}

macro_rules! template {
    ($name:literal, $kind:expr, $sample:expr) => {
        Template {
            name: $name,
            kind: $kind,
            subject: include_str!(concat!("../templates/", $name, ".subject")),
            text: include_str!(concat!("../templates/", $name, ".txt")),
            html: include_str!(concat!("../templates/", $name, ".html")),
            sample: $sample,
        }
    };
}

/// Every email Upline sends. `partner_name` is added to every one by the email stage;
/// notifications also get `unsubscribe_url`.
pub const TEMPLATES: &[Template] = &[
    template!(
        "application_received",
        EmailKind::Account,
        r#"{"program_name": "Demo Outfitters", "partner_name": "Ada Lovelace"}"#
    ),
    template!(
        "partner_approved",
        EmailKind::Account,
        r#"{"program_name": "Demo Outfitters", "partner_name": "Ada Lovelace"}"#
    ),
    template!(
        "partner_rejected",
        EmailKind::Account,
        r#"{"program_name": "Demo Outfitters", "partner_name": "Ada Lovelace",
            "reason": "We only work with sites about outdoor gear."}"#
    ),
    template!(
        "partner_suspended",
        EmailKind::Account,
        r#"{"program_name": "Demo Outfitters", "partner_name": "Ada Lovelace",
            "reason": "Paid search on our brand name, which the terms forbid."}"#
    ),
    template!(
        "welcome",
        EmailKind::Account,
        r#"{"program_name": "Demo Outfitters", "partner_name": "Ada Lovelace",
            "referral_code": "k3x9q2mf", "api_key": "upl_partner_EXAMPLEKEY",
            "partner_area_url": "https://go.example.com/v1/me",
            "links": [{"campaign_name": "Spring sale", "url": "https://go.example.com/r/spring01"}]}"#
    ),
    template!(
        "commission_earned",
        EmailKind::Notification,
        r#"{"program_name": "Demo Outfitters", "partner_name": "Ada Lovelace",
            "campaign_name": "Spring sale", "conversion_id": "conv-1", "amount": "10.00 USD",
            "level": 0, "summary": "10% of the 100.00 USD sale",
            "unsubscribe_url": "https://go.example.com/v1/unsubscribe?partner=p-ada&token=t"}"#
    ),
    template!(
        "commission_approved",
        EmailKind::Notification,
        r#"{"program_name": "Demo Outfitters", "partner_name": "Ada Lovelace",
            "conversion_id": "conv-1", "amount": "10.00 USD", "level": 0,
            "summary": "10% of the 100.00 USD sale",
            "unsubscribe_url": "https://go.example.com/v1/unsubscribe?partner=p-ada&token=t"}"#
    ),
    template!(
        "payout_statement",
        EmailKind::Account,
        r#"{"program_name": "Demo Outfitters", "partner_name": "Ada Lovelace",
            "period": "2026-11", "amount": "70.00 USD", "earned": "120.00 USD",
            "reversed": "-50.00 USD", "line_count": 2, "method": "bank_transfer",
            "reference": "TX-778",
            "lines": [{"date": "2026-11-03", "amount": "120.00 USD", "summary": "10% of the 1200.00 USD sale"},
                      {"date": "2026-11-09", "amount": "-50.00 USD", "summary": "Refund r-1 of 500.00 USD reverses 50.00 USD"}]}"#
    ),
];

pub fn template(name: &str) -> Option<&'static Template> {
    TEMPLATES.iter().find(|t| t.name == name)
}

/// An operator's version of a template (all three parts).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TemplateSource {
    pub subject: String,
    pub text: String,
    pub html: String,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RenderError {
    #[error("no email template named {0:?}")]
    UnknownTemplate(String),
    /// `part` is `subject`, `text` or `html`.
    #[error("the {part} of {name} does not render: {reason}")]
    Broken {
        name: String,
        part: &'static str,
        reason: String,
    },
}

fn environment() -> Environment<'static> {
    let mut env = Environment::new();
    env.set_undefined_behavior(minijinja::UndefinedBehavior::Strict);
    env.set_auto_escape_callback(|name| {
        if name.ends_with(".html") {
            AutoEscape::Html
        } else {
            AutoEscape::None
        }
    });
    env
}

#[derive(Default)]
pub struct EmailTemplates;

impl EmailTemplates {
    pub fn names() -> impl Iterator<Item = &'static str> {
        TEMPLATES.iter().map(|t| t.name)
    }

    /// Renders the shipped template `name`.
    pub fn render<T: Serialize>(&self, name: &str, data: &T) -> Result<Rendered, RenderError> {
        self.render_with(name, None, data)
    }

    /// Renders `name` from the operator's override when there is one.
    pub fn render_with<T: Serialize>(
        &self,
        name: &str,
        source: Option<&TemplateSource>,
        data: &T,
    ) -> Result<Rendered, RenderError> {
        let shipped =
            template(name).ok_or_else(|| RenderError::UnknownTemplate(name.to_string()))?;
        let (subject, text, html) = match source {
            Some(s) => (s.subject.as_str(), s.text.as_str(), s.html.as_str()),
            None => (shipped.subject, shipped.text, shipped.html),
        };
        let env = environment();
        let part = |part: &'static str, file: &str, source: &str| {
            env.render_named_str(&format!("{name}.{file}"), source, data)
                .map_err(|e| RenderError::Broken {
                    name: name.to_string(),
                    part,
                    reason: e.to_string(),
                })
        };
        let subject = part("subject", "subject", subject)?.trim().to_string();
        if subject.is_empty() || subject.contains(['\r', '\n']) {
            return Err(RenderError::Broken {
                name: name.to_string(),
                part: "subject",
                reason: "renders empty or over several lines".into(),
            });
        }
        Ok(Rendered {
            subject,
            text: part("text", "txt", text)?,
            html: part("html", "html", html)?,
        })
    }

    /// Checks an override before it is saved: every part must render with the
    /// template's sample data, so a broken template is refused now, not when an email
    /// is due.
    pub fn check_override(
        &self,
        name: &str,
        source: &TemplateSource,
    ) -> Result<Rendered, RenderError> {
        let shipped =
            template(name).ok_or_else(|| RenderError::UnknownTemplate(name.to_string()))?;
        self.render_with(name, Some(source), &shipped.sample())
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
/// writes and what SES sends raw (raw, so unsubscribe headers travel with it). The
/// `mail-builder` crate writes it: RFC 2047 encoded words for text outside ASCII, the
/// sender's display name, folded header lines, the multipart/alternative structure.
pub fn mime_message(
    from: &str,
    email: &crate::ports::OutgoingEmail,
    date: crate::clock::Timestamp,
) -> String {
    let stem = file_stem(&email.idempotency_key);
    let mut message = MessageBuilder::new()
        .header("From", sender(from))
        // A partner's address was checked when saved (`partner::parse_email`: no display
        // name, no spaces or controls), so it goes bare, as it was typed.
        .header("To", Raw::new(email.to.as_str()))
        .subject(email.subject.as_str())
        .header("Date", rfc5322_date(date))
        .message_id(format!("{stem}@upline.local"));
    if let Some(url) = &email.unsubscribe_url {
        message = message
            .header("List-Unsubscribe", URL::new(url.as_str()))
            .header(
                "List-Unsubscribe-Post",
                Raw::new("List-Unsubscribe=One-Click"),
            );
    }
    // A boundary named after the email, as long as RFC 2046 allows and found in neither
    // part; otherwise mail-builder makes one up.
    let mut alternative = ContentType::new("multipart/alternative");
    let boundary = format!("upline-{stem}");
    if boundary.len() <= 70 && !email.text.contains(&boundary) && !email.html.contains(&boundary) {
        alternative = alternative.attribute("boundary", boundary);
    }
    let parts = vec![
        text_part("text/plain", &email.text),
        text_part("text/html", &email.html),
    ];
    let mut raw = Vec::new();
    message
        .body(MimePart::new(alternative, parts))
        .serialize(&mut raw);
    // Every input is UTF-8 and every encoding ASCII, so nothing is ever replaced here.
    String::from_utf8_lossy(&raw).into_owned()
}

/// The configured sender, `Name <address>` or a bare address, as an address header (the
/// name as an encoded word when it is not ASCII). One the `email_address` check does not
/// read goes as configured.
fn sender(from: &str) -> HeaderType<'static> {
    match email_address::EmailAddress::from_str(from.trim()) {
        Ok(parsed) => {
            let name = parsed.display_part();
            let name = name
                .strip_prefix('"')
                .and_then(|n| n.strip_suffix('"'))
                .unwrap_or(name);
            let name = (!name.is_empty()).then(|| name.to_string());
            Address::new_address(name, parsed.email().to_string()).into()
        }
        Err(_) => Raw::new(from.to_string()).into(),
    }
}

/// RFC 5322's date, by the `time` crate (two-digit day, `+0000`); mail-builder's own for a
/// year `time` does not format.
fn rfc5322_date(date: crate::clock::Timestamp) -> HeaderType<'static> {
    time::OffsetDateTime::from_unix_timestamp(date.secs())
        .ok()
        .and_then(|d| {
            d.format(&time::format_description::well_known::Rfc2822)
                .ok()
        })
        .map_or_else(|| Date::new(date.secs()).into(), |d| Raw::new(d).into())
}

/// A text part as it is (`8bit`, CRLF line ends) when RFC 5322 lets it go so: lines of
/// at most 998 octets, no NUL and no lone CR. That keeps the outbox's files and the links
/// in them readable. Anything else mail-builder encodes, quoted-printable or base64.
fn text_part<'x>(content_type: &'x str, body: &'x str) -> MimePart<'x> {
    let lf = body.replace("\r\n", "\n");
    if lf.contains(['\r', '\0']) || lf.split('\n').any(|line| line.len() > 998) {
        return MimePart::new(content_type, body);
    }
    MimePart::new(content_type, lf.replace('\n', "\r\n")).transfer_encoding("8bit")
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
        // mail-builder picks B or Q encoding by length; for this subject, B.
        let subject = eml
            .split("\r\nSubject: =?utf-8?B?")
            .nth(1)
            .and_then(|rest| rest.split("?=\r\n").next())
            .unwrap();
        use base64::Engine;
        let subject = base64::engine::general_purpose::STANDARD
            .decode(subject)
            .unwrap();
        assert_eq!(String::from_utf8(subject).unwrap(), "Gains: 5,00 €");
        // mail-builder quotes display names, and the partner's address goes bare.
        assert!(
            eml.starts_with("From: \"Upline\" <noreply@upline.local>\r\nTo: ann@example.com\r\n")
        );
        assert!(eml.contains("Message-ID: <commission_c1_0@upline.local>"));
        // mail-builder quotes parameter values: `charset="utf-8"`.
        assert!(eml.contains("Content-Type: text/plain; charset=\"utf-8\"\r\nContent-Transfer-Encoding: 8bit\r\n\r\nline one\r\nline two"));
        assert!(eml.contains("--upline-commission_c1_0\r\nContent-Type: text/html"));
        assert!(eml.ends_with("--upline-commission_c1_0--\r\n"));
        assert!(eml.contains("List-Unsubscribe: <https://x/u>"));
        assert!(eml.contains("List-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n"));
        assert!(eml.contains("Date: Thu, 01 Jan 1970 00:00:00 +0000"));
        assert!(eml.contains("MIME-Version: 1.0\r\n"));
        assert!(
            eml.contains(
                "Content-Type: multipart/alternative; boundary=\"upline-commission_c1_0\""
            )
        );
    }

    fn email(subject: &str, to: &str, text: &str) -> crate::ports::OutgoingEmail {
        crate::ports::OutgoingEmail {
            idempotency_key: "k".into(),
            to: to.into(),
            subject: subject.into(),
            text: text.into(),
            html: "<p>hi</p>".into(),
            unsubscribe_url: None,
            tags: vec![],
        }
    }

    #[test]
    fn a_sender_name_outside_ascii_is_encoded_and_the_address_kept() {
        let eml = mime_message(
            "Équipe Upline <noreply@upline.local>",
            &email("Hi", "ann@example.com", "hi"),
            crate::clock::Timestamp(0),
        );
        let from = eml.lines().next().unwrap();
        assert!(from.starts_with("From: =?utf-8?"), "{from}");
        assert!(from.ends_with("?= <noreply@upline.local>"), "{from}");
        assert!(!eml.contains("List-Unsubscribe"));
        let quoted = mime_message(
            "\"Upline, Inc.\" <noreply@upline.local>",
            &email("Hi", "ann@example.com", "hi"),
            crate::clock::Timestamp(0),
        );
        assert!(quoted.starts_with("From: \"Upline, Inc.\" <noreply@upline.local>\r\n"));
    }

    #[test]
    fn line_breaks_in_headers_cannot_start_a_header() {
        let eml = mime_message(
            "Upline <noreply@upline.local>",
            &email(
                "Hi\r\nBcc: eve@example.com",
                "ann@example.com\nBcc: eve@example.com",
                "hi",
            ),
            crate::clock::Timestamp(0),
        );
        assert!(eml.split("\r\n").all(|l| !l.starts_with("Bcc:")), "{eml}");
        assert!(
            !eml.replace("\r\n", "").contains('\n'),
            "no bare line feed: {eml}"
        );
    }

    #[test]
    fn a_body_too_long_for_8bit_is_encoded_instead() {
        let long = "x".repeat(2000);
        let eml = mime_message(
            "Upline <noreply@upline.local>",
            &email("Hi", "ann@example.com", &long),
            crate::clock::Timestamp(0),
        );
        let text = eml.split("Content-Type: text/plain").nth(1).unwrap();
        assert!(
            text.contains("Content-Transfer-Encoding: quoted-printable")
                || text.contains("Content-Transfer-Encoding: base64"),
            "{text}"
        );
        assert!(eml.lines().all(|l| l.len() <= 998));
        let html = eml.split("Content-Type: text/html").nth(1).unwrap();
        assert!(html.contains("Content-Transfer-Encoding: 8bit"));
    }

    /// What the scenarios in `tests/` read from raw messages (outbox files and moto's SES
    /// copies): bare `To:`, plain subjects, unfolded `List-Unsubscribe` and `Message-ID`
    /// lines, and links in the text part as they were rendered.
    #[test]
    fn what_the_scenarios_read_from_raw_messages_stays_readable() {
        let url = format!(
            "https://go.example.com/v1/unsubscribe?partner=p%2Dada&token={}",
            "a1".repeat(32)
        );
        let key = format!("commission-approved_{}:0", "01JDXKQ5Z8".repeat(8));
        let email = crate::ports::OutgoingEmail {
            idempotency_key: key.clone(),
            to: "p-ada@example.com".into(),
            subject: "Cha-ching: 10.00 USD approved".into(),
            text: format!("Level 1 upline: 50% of … — 10.00 USD\n{url}"),
            html: "<p>html part</p>".into(),
            unsubscribe_url: Some(url.clone()),
            tags: vec![],
        };
        let eml = mime_message(
            "Upline <partners@upline.local>",
            &email,
            crate::clock::Timestamp(0),
        );
        assert!(eml.contains("To: p-ada@example.com\r\n"));
        assert!(eml.contains("Subject: Cha-ching: 10.00 USD approved\r\n"));
        assert!(eml.contains(&format!("List-Unsubscribe: <{url}>\r\n")));
        let link = eml
            .lines()
            .find(|l| l.trim().starts_with("http") && l.contains("/v1/unsubscribe?"))
            .unwrap()
            .trim();
        assert_eq!(link, url);
        assert!(eml.contains("Level 1 upline: 50% of … — 10.00 USD"));
        assert!(eml.contains("<p>html part</p>"));
        // `tests/src/aws.rs` reads the stem back from the Message-ID line.
        let line = eml
            .lines()
            .find(|l| l.starts_with("Message-ID: <"))
            .unwrap();
        let stem = line.trim_start_matches("Message-ID: <").split('@').next();
        assert_eq!(stem, Some(file_stem(&key).as_str()));
    }

    #[test]
    fn commission_email_renders_amount_and_explanation() {
        let r = EmailTemplates
            .render(
                "commission_earned",
                &json!({"program_name": "Acme", "partner_name": "Ann", "amount": "5.00 USD",
                        "level": 1, "summary": "Level 1 upline: 50% of …", "conversion_id": "c1",
                        "campaign_name": "Spring", "unsubscribe_url": "https://x/u"}),
            )
            .unwrap();
        assert_eq!(r.subject, "You earned 5.00 USD with Acme");
        assert!(r.text.contains("Level 1 upline: 50% of …"));
        assert!(r.html.contains("5.00 USD"));
    }

    #[test]
    fn html_parts_escape_what_partners_typed() {
        let r = EmailTemplates
            .render(
                "application_received",
                &json!({"program_name": "Acme", "partner_name": "<script>x</script>"}),
            )
            .unwrap();
        assert!(!r.html.contains("<script>"));
        assert!(r.text.contains("<script>x</script>"));
    }

    /// Each shipped template rendered with its sample data, against the text part kept in
    /// `templates/snapshots/` (`UPDATE_SNAPSHOTS=1` rewrites them after a deliberate change).
    #[test]
    fn every_template_renders_its_sample_as_in_its_snapshot() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("templates/snapshots");
        for t in TEMPLATES {
            let r = EmailTemplates.render(t.name, &t.sample()).unwrap();
            let snapshot = format!("Subject: {}\n\n{}", r.subject, r.text);
            let path = dir.join(format!("{}.txt", t.name));
            if std::env::var_os("UPDATE_SNAPSHOTS").is_some() {
                std::fs::create_dir_all(&dir).unwrap();
                std::fs::write(&path, &snapshot).unwrap();
            }
            let expected = std::fs::read_to_string(&path)
                .unwrap_or_else(|_| panic!("no snapshot {}", path.display()));
            assert_eq!(snapshot, expected, "{} changed", t.name);
            assert!(!r.html.contains("{{"), "{}: unrendered HTML", t.name);
            if t.kind == EmailKind::Notification {
                assert!(
                    r.text.contains("/v1/unsubscribe?"),
                    "{} has no unsubscribe link",
                    t.name
                );
                // HTML escaping writes the slashes as entities, which browsers read back.
                assert!(
                    r.html.contains("unsubscribe?partner="),
                    "{} has no unsubscribe link",
                    t.name
                );
            }
        }
    }

    #[test]
    fn overrides_are_checked_against_the_sample_data() {
        let ok = TemplateSource {
            subject: "{{ amount }} for {{ partner_name }}".into(),
            text: "{% for l in lines %}{{ l.amount }}\n{% endfor %}".into(),
            html: "<b>{{ amount }}</b>".into(),
        };
        let r = EmailTemplates
            .check_override("payout_statement", &ok)
            .unwrap();
        assert_eq!(r.subject, "70.00 USD for Ada Lovelace");
        assert_eq!(r.text, "120.00 USD\n-50.00 USD\n");
        let unknown_variable = TemplateSource {
            text: "{{ balance }}".into(),
            ..ok.clone()
        };
        assert!(matches!(
            EmailTemplates.check_override("payout_statement", &unknown_variable),
            Err(RenderError::Broken { part: "text", .. })
        ));
        let bad_syntax = TemplateSource {
            html: "{% if amount %}".into(),
            ..ok.clone()
        };
        assert!(matches!(
            EmailTemplates.check_override("payout_statement", &bad_syntax),
            Err(RenderError::Broken { part: "html", .. })
        ));
        let two_line_subject = TemplateSource {
            subject: "a\n{{ amount }}".into(),
            ..ok
        };
        assert!(matches!(
            EmailTemplates.check_override("payout_statement", &two_line_subject),
            Err(RenderError::Broken {
                part: "subject",
                ..
            })
        ));
    }

    #[test]
    fn missing_variables_are_an_error_not_a_blank() {
        let e = EmailTemplates.render("partner_approved", &json!({}));
        assert!(matches!(e, Err(RenderError::Broken { .. })));
    }
}
