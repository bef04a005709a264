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
    template!(
        "sign_in_link",
        EmailKind::Account,
        r#"{"program_name": "Demo Outfitters", "partner_name": "Ada Lovelace",
            "sign_in_url": "https://go.example.com/portal/auth?token=EXAMPLETOKEN",
            "valid_minutes": 15}"#
    ),
    template!(
        "operator_sign_in_link",
        EmailKind::Account,
        r#"{"program_name": "Demo Outfitters", "operator_email": "grace@example.com",
            "sign_in_url": "https://go.example.com/console/auth?token=EXAMPLETOKEN",
            "valid_minutes": 15}"#
    ),
];

pub fn template(name: &str) -> Option<&'static Template> {
    TEMPLATES.iter().find(|t| t.name == name)
}

/// The emails that carry a sign-in link. Their text is fixed: whoever may edit emails
/// could otherwise send the link — a session — to an address of their choosing.
pub const FIXED_TEMPLATES: [&str; 2] = ["sign_in_link", "operator_sign_in_link"];

/// The emails that carry a secret besides sign-in links: the partner's API key in the
/// welcome email. Changing them is changing where a secret goes.
pub const SECRET_BEARING_TEMPLATES: [&str; 1] = ["welcome"];

impl Template {
    /// Whether the program may send its own version of this email.
    pub fn overridable(&self) -> bool {
        !FIXED_TEMPLATES.contains(&self.name)
    }

    /// Whether a version of this email decides where a secret is sent.
    pub fn carries_secret(&self) -> bool {
        SECRET_BEARING_TEMPLATES.contains(&self.name)
    }
}

/// Which email a queued request asks for: one variant per shipped template, carried by
/// name in messages (`"commission_earned"`), so a message for an unknown template cannot
/// be made.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EmailTemplate {
    ApplicationReceived,
    PartnerApproved,
    PartnerRejected,
    PartnerSuspended,
    Welcome,
    CommissionEarned,
    CommissionApproved,
    PayoutStatement,
    SignInLink,
    /// To an operator, not a partner: sent through [`crate::messages::OperatorEmailRequest`].
    OperatorSignInLink,
}

impl EmailTemplate {
    pub fn name(self) -> &'static str {
        match self {
            EmailTemplate::ApplicationReceived => "application_received",
            EmailTemplate::PartnerApproved => "partner_approved",
            EmailTemplate::PartnerRejected => "partner_rejected",
            EmailTemplate::PartnerSuspended => "partner_suspended",
            EmailTemplate::Welcome => "welcome",
            EmailTemplate::CommissionEarned => "commission_earned",
            EmailTemplate::CommissionApproved => "commission_approved",
            EmailTemplate::PayoutStatement => "payout_statement",
            EmailTemplate::SignInLink => "sign_in_link",
            EmailTemplate::OperatorSignInLink => "operator_sign_in_link",
        }
    }

    /// The shipped template of this name.
    pub fn template(self) -> &'static Template {
        template(self.name()).expect("every EmailTemplate has a shipped template")
    }
}

impl PartialEq<&str> for EmailTemplate {
    fn eq(&self, name: &&str) -> bool {
        self.name() == *name
    }
}

impl std::fmt::Display for EmailTemplate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
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
mod tests;
