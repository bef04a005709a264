//! The Queue port: how the tracking and commission stages hand work to each other.
//!
//! Producers `send` envelopes in batches. Consumers are [`MessageHandler`]s that get a batch
//! of [`Delivery`]s and answer one [`DeliveryOutcome`] per message: done, retry (a
//! transient failure; the message comes back and, after the queue's receive limit, goes to
//! the dead-letter area) or poison (it can never succeed: logged and acknowledged so it
//! cannot loop). On AWS the handler runs behind SQS's partial batch failures; locally a
//! poller drives it through [`QueueConsumer`].

use std::fmt;
use std::time::Duration;

use async_trait::async_trait;

/// The queues between stages.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum QueueName {
    /// Redirect → click recorder.
    Clicks,
    /// Postback → payout (commission lines).
    Conversions,
    /// Any stage → email.
    Emails,
    /// Commission stages → the caller of partners' own postback URLs.
    PartnerPostbacks,
}

impl QueueName {
    pub const ALL: [QueueName; 4] = [
        QueueName::Clicks,
        QueueName::Conversions,
        QueueName::Emails,
        QueueName::PartnerPostbacks,
    ];

    pub fn as_str(&self) -> &'static str {
        match self {
            QueueName::Clicks => "clicks",
            QueueName::Conversions => "conversions",
            QueueName::Emails => "emails",
            QueueName::PartnerPostbacks => "partner_postbacks",
        }
    }
}

/// The delay before retry number `receive_count` of a failed message: `base`, twice
/// `base`, four times … up to five minutes. The local poller and the Lambda consumers
/// both back off by it.
pub fn retry_delay(base: Duration, receive_count: u32) -> Duration {
    (base * (1u32 << receive_count.saturating_sub(1).min(8))).min(Duration::from_secs(300))
}

impl fmt::Display for QueueName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A message as a consumer receives it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Delivery {
    /// The queue's id for this message (SQS `messageId`); what batch failures name.
    pub message_id: String,
    /// The handle to acknowledge or release this receipt with.
    pub receipt: String,
    pub body: String,
    /// How many times this message has been received, this time included.
    pub receive_count: u32,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DeliveryOutcome {
    Done,
    Retry,
    Poison,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QueueError {
    #[error("message too large: {0} bytes")]
    TooLarge(usize),
    #[error("queue unavailable: {0}")]
    Unavailable(String),
    #[error("{failed} of the batch's messages were not sent: {reason}")]
    PartiallySent { failed: usize, reason: String },
}

/// Sending side, used by every producer.
#[async_trait]
pub trait Queue: Send + Sync {
    /// Sends message bodies; all are accepted or an error says how many were not.
    async fn send(&self, queue: QueueName, bodies: Vec<String>) -> Result<(), QueueError>;
}

/// Receiving side, for adapters that are polled (the embedded queue, SQS from the local
/// host). Lambda's SQS trigger takes this role in production.
#[async_trait]
pub trait QueueConsumer: Send + Sync {
    /// Up to `max` visible messages, hidden from other receivers for `visibility`. A message
    /// already received `max_receives` times goes to the dead-letter area instead.
    async fn receive(
        &self,
        queue: QueueName,
        max: usize,
        visibility: Duration,
    ) -> Result<Vec<Delivery>, QueueError>;

    /// Deletes a received message.
    async fn ack(&self, queue: QueueName, receipt: &str) -> Result<(), QueueError>;

    /// Makes a received message visible again after `delay`.
    async fn release(
        &self,
        queue: QueueName,
        receipt: &str,
        delay: Duration,
    ) -> Result<(), QueueError>;

    /// Bodies in the dead-letter area of `queue`, oldest first, without removing them.
    async fn dead_letters(&self, queue: QueueName, max: usize) -> Result<Vec<String>, QueueError>;

    /// Waits until a message may be available or `timeout` passes. Pollers call it between
    /// empty receives: an adapter that can be woken by a send returns early, one that
    /// long-polls (SQS) may return at once.
    async fn wait_for_messages(&self, queue: QueueName, timeout: Duration);
}

/// A consumer stage: the click recorder, the commission calculator, the mailer.
#[async_trait]
pub trait MessageHandler: Send + Sync {
    /// One outcome per delivery, in the same order.
    async fn handle(&self, batch: &[Delivery]) -> Vec<DeliveryOutcome>;
}
