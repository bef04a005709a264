//! The Mailer port: send one rendered email. SES on AWS; an outbox folder locally.

use async_trait::async_trait;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OutgoingEmail {
    /// Stable id of the event this email is about; adapters use it as the Message-ID seed
    /// and tag so a resend is recognisable.
    pub idempotency_key: String,
    pub to: String,
    pub subject: String,
    pub text: String,
    pub html: String,
    /// A one-click unsubscribe URL for notification emails (RFC 8058 headers).
    pub unsubscribe_url: Option<String>,
    /// Tags for the provider's event stream (SES message tags).
    pub tags: Vec<(String, String)>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MailError {
    /// Worth retrying: throttling, a timeout, the provider being briefly unavailable.
    #[error("transient mail failure: {0}")]
    Transient(String),
    /// Will never succeed as is: a rejected address or message.
    #[error("mail rejected: {0}")]
    Rejected(String),
}

#[async_trait]
pub trait Mailer: Send + Sync {
    async fn send(&self, email: &OutgoingEmail) -> Result<(), MailError>;
}
