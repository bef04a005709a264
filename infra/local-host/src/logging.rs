//! The local host's log lines: human-readable text on stderr, one event per line whatever
//! its fields hold. A value from a request (a promo code, an order id, a reason quoting
//! one) may carry CR, LF or terminal escapes; written raw, it would forge a log line or
//! repaint the operator's terminal, so every control character in every field is escaped.
//! (On Lambda the logs are JSON, whose encoding escapes them already.)

use std::fmt;

use tracing::field::Field;
use tracing_subscriber::field::MakeExt;
use tracing_subscriber::fmt::format::{Writer, debug_fn};

/// `text` with every control character written as an escape (`\n`, `\u{1b}`).
pub fn escape_controls(text: &str) -> String {
    if !text.chars().any(char::is_control) {
        return text.to_string();
    }
    text.chars()
        .map(|c| {
            if c.is_control() {
                c.escape_default().to_string()
            } else {
                c.to_string()
            }
        })
        .collect()
}

fn write_field(w: &mut Writer<'_>, field: &Field, value: &dyn fmt::Debug) -> fmt::Result {
    let text = escape_controls(&format!("{value:?}"));
    if field.name() == "message" {
        w.write_str(&text)
    } else {
        write!(w, "{}={text}", field.name())
    }
}

/// The subscriber the local host logs through, writing to `writer`.
pub fn subscriber<W>(filter: &str, writer: W) -> impl tracing::Subscriber + Send + Sync
where
    W: for<'a> tracing_subscriber::fmt::MakeWriter<'a> + Send + Sync + 'static,
{
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| filter.into()),
        )
        .fmt_fields(debug_fn(write_field).delimited(" "))
        .with_writer(writer)
        .finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    #[derive(Clone, Default)]
    struct Buffer(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Buffer {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn a_field_with_a_newline_cannot_forge_a_log_line() {
        let buffer = Buffer::default();
        let sink = buffer.clone();
        let subscriber = subscriber("info", move || sink.clone());
        tracing::subscriber::with_default(subscriber, || {
            let forged = "SPRING\n2026-11-29T00:00:00Z  INFO payout sent to attacker";
            tracing::warn!(promo_code = %forged, reason = ?forged, "postback refused\r");
        });
        let out = String::from_utf8(buffer.0.lock().unwrap().clone()).unwrap();
        assert_eq!(out.lines().count(), 1, "{out}");
        assert!(out.contains(r"promo_code=SPRING\n2026"), "{out}");
        assert!(out.contains(r"postback refused\r"), "{out}");
        assert!(!out.contains('\r'));
    }

    #[test]
    fn control_characters_are_escaped_and_the_rest_kept() {
        assert_eq!(escape_controls("plain – text"), "plain – text");
        assert_eq!(escape_controls("a\u{1b}[31mb\tc"), r"a\u{1b}[31mb\tc");
    }
}
