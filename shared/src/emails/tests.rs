//! Unit tests of `emails`.

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
    assert!(eml.starts_with("From: \"Upline\" <noreply@upline.local>\r\nTo: ann@example.com\r\n"));
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
        eml.contains("Content-Type: multipart/alternative; boundary=\"upline-commission_c1_0\"")
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

#[test]
fn every_email_template_variant_names_a_shipped_template_and_back() {
    use EmailTemplate::*;
    let all = [
        ApplicationReceived,
        PartnerApproved,
        PartnerRejected,
        PartnerSuspended,
        Welcome,
        CommissionEarned,
        CommissionApproved,
        PayoutStatement,
        SignInLink,
        OperatorSignInLink,
    ];
    for t in all {
        assert_eq!(t.template().name, t.name());
        // Messages carry the variant as the template's name, as they always have.
        assert_eq!(
            serde_json::to_value(t).unwrap(),
            serde_json::json!(t.name())
        );
    }
    for shipped in TEMPLATES {
        assert!(
            all.iter().any(|t| t.name() == shipped.name),
            "{} has no EmailTemplate variant",
            shipped.name
        );
    }
}
