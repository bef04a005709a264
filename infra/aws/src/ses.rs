//! The Mailer port on SES. Emails go as raw MIME (the same message the local outbox
//! writes), so the unsubscribe headers travel with them; the configuration set and
//! message tags are attached when configured. Throttling and outages are transient (the
//! email stage retries with back-off); a rejected message is permanent and not retried.

use async_trait::async_trait;
use aws_sdk_ses::Client;
use aws_sdk_ses::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_ses::primitives::Blob;
use aws_sdk_ses::types::{MessageTag, RawMessage};
use upline_domain::clock::{Clock, SystemClock};
use upline_domain::emails::mime_message;
use upline_domain::ports::{MailError, Mailer, OutgoingEmail};

#[derive(Clone, Debug)]
pub struct SesMailer {
    client: Client,
    from: String,
    configuration_set: Option<String>,
}

impl SesMailer {
    pub fn new(client: Client, from: impl Into<String>, configuration_set: Option<String>) -> Self {
        SesMailer {
            client,
            from: from.into(),
            configuration_set,
        }
    }
}

/// SES tag names and values allow letters, digits, `_` and `-` only.
fn tag_text(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .take(256)
        .collect()
}

fn classify<E: ProvideErrorMetadata + std::fmt::Debug, R: std::fmt::Debug>(
    e: SdkError<E, R>,
) -> MailError {
    match &e {
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) | SdkError::ResponseError(_) => {
            MailError::Transient(format!("{e:?}"))
        }
        _ => match e.code() {
            Some(
                "Throttling" | "ThrottlingException" | "ServiceUnavailable" | "InternalFailure",
            ) => MailError::Transient(e.code().unwrap_or_default().to_string()),
            Some(code) => {
                MailError::Rejected(format!("{code}: {}", e.message().unwrap_or_default()))
            }
            None => MailError::Transient(format!("{e:?}")),
        },
    }
}

#[async_trait]
impl Mailer for SesMailer {
    async fn send(&self, email: &OutgoingEmail) -> Result<(), MailError> {
        let raw = mime_message(&self.from, email, SystemClock.now());
        let message = RawMessage::builder()
            .data(Blob::new(raw.into_bytes()))
            .build()
            .map_err(|e| MailError::Rejected(e.to_string()))?;
        let tags = email
            .tags
            .iter()
            .map(|(k, v)| {
                MessageTag::builder()
                    .name(tag_text(k))
                    .value(tag_text(v))
                    .build()
            })
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| MailError::Rejected(e.to_string()))?;
        self.client
            .send_raw_email()
            .source(&self.from)
            .destinations(&email.to)
            .raw_message(message)
            .set_configuration_set_name(self.configuration_set.clone())
            .set_tags((!tags.is_empty()).then_some(tags))
            .send()
            .await
            .map_err(classify)?;
        Ok(())
    }
}
