//! The Mailer port as a folder: each email becomes an RFC 5322 `.eml` file (text and HTML
//! alternatives) that any mail client opens. Files are named after the email's
//! idempotency key; a second send of the same key gets a numbered file, so a duplicate
//! would show rather than hide.

use std::path::PathBuf;

use async_trait::async_trait;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use upline_domain::ports::{MailError, Mailer, OutgoingEmail};

pub struct OutboxMailer {
    dir: PathBuf,
    from: String,
}

impl OutboxMailer {
    pub fn new(dir: PathBuf, from: String) -> std::io::Result<Self> {
        std::fs::create_dir_all(&dir)?;
        Ok(OutboxMailer { dir, from })
    }

    pub fn dir(&self) -> &std::path::Path {
        &self.dir
    }
}

/// Header text outside ASCII goes as an RFC 2047 encoded word.
fn header_text(s: &str) -> String {
    if s.is_ascii() && !s.contains(['\r', '\n']) {
        s.to_string()
    } else {
        format!(
            "=?UTF-8?B?{}?=",
            STANDARD.encode(s.replace(['\r', '\n'], " "))
        )
    }
}

fn file_stem(key: &str) -> String {
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

/// Renders the message; `boundary` must not occur in either body.
pub fn render_eml(from: &str, email: &OutgoingEmail, date: &str, boundary: &str) -> String {
    let mut m = String::new();
    m.push_str(&format!("From: {}\r\n", header_text(from)));
    m.push_str(&format!("To: {}\r\n", header_text(&email.to)));
    m.push_str(&format!("Subject: {}\r\n", header_text(&email.subject)));
    m.push_str(&format!("Date: {date}\r\n"));
    m.push_str(&format!(
        "Message-ID: <{}@upline.local>\r\n",
        file_stem(&email.idempotency_key)
    ));
    if let Some(url) = &email.unsubscribe_url {
        m.push_str(&format!("List-Unsubscribe: <{url}>\r\n"));
        m.push_str("List-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n");
    }
    for (k, v) in &email.tags {
        m.push_str(&format!(
            "X-Upline-Tag: {}={}\r\n",
            header_text(k),
            header_text(v)
        ));
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

#[async_trait]
impl Mailer for OutboxMailer {
    async fn send(&self, email: &OutgoingEmail) -> Result<(), MailError> {
        if !email.to.contains('@') {
            return Err(MailError::Rejected(format!(
                "{:?} is not an address",
                email.to
            )));
        }
        let date = time::OffsetDateTime::now_utc()
            .format(&time::format_description::well_known::Rfc2822)
            .unwrap_or_default();
        let mut boundary = format!("upline-{}", file_stem(&email.idempotency_key));
        while email.text.contains(&boundary) || email.html.contains(&boundary) {
            boundary.push('x');
        }
        let eml = render_eml(&self.from, email, &date, &boundary);
        let stem = file_stem(&email.idempotency_key);
        let dir = self.dir.clone();
        tokio::task::spawn_blocking(move || {
            let mut path = dir.join(format!("{stem}.eml"));
            let mut n = 1;
            while path.exists() {
                n += 1;
                path = dir.join(format!("{stem}.{n}.eml"));
            }
            // Write then rename, so a reader never sees half a message.
            let tmp = dir.join(format!(".{stem}.tmp"));
            std::fs::write(&tmp, eml)?;
            std::fs::rename(&tmp, &path)
        })
        .await
        .map_err(|e| MailError::Transient(e.to_string()))?
        .map_err(|e| MailError::Transient(format!("outbox write failed: {e}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn eml_has_both_parts_and_encodes_non_ascii_headers() {
        let email = OutgoingEmail {
            idempotency_key: "commission:c1:0".into(),
            to: "ann@example.com".into(),
            subject: "Gains: 5,00 €".into(),
            text: "line one\nline two".into(),
            html: "<p>hi</p>".into(),
            unsubscribe_url: Some("https://x/u".into()),
            tags: vec![],
        };
        let eml = render_eml(
            "Upline <noreply@upline.local>",
            &email,
            "Sat, 21 Nov 2026 10:00:00 +0000",
            "b1",
        );
        assert!(eml.contains("Subject: =?UTF-8?B?"));
        assert!(eml.contains("Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\nline one\r\nline two"));
        assert!(eml.contains("--b1\r\nContent-Type: text/html"));
        assert!(eml.ends_with("--b1--\r\n"));
        assert!(eml.contains("List-Unsubscribe: <https://x/u>"));
    }
}
