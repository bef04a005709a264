//! The Queue port: how the tracking and commission stages hand work to each other.
//!
//! Producers `send` envelopes in batches. Consumers are [`MessageHandler`]s that get a batch
//! of [`Delivery`]s and answer one [`DeliveryOutcome`] per message: done, retry (a
//! transient failure; the message comes back and, after the queue's receive limit, goes to
//! the dead-letter area) or dead letter (it cannot succeed as it is: moved to the
//! dead-letter area at once with its reason, for an operator to inspect and redrive —
//! never acknowledged and lost). [`handle_guarded`] runs a handler so that a panic costs
//! only the message that caused it. On AWS the handler runs behind SQS's partial batch
//! failures; locally a poller drives it through [`QueueConsumer`].

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

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DeliveryOutcome {
    Done,
    Retry,
    /// Handling failed in a way retrying cannot fix; the reason travels with the message.
    DeadLetter(String),
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

    /// How many messages wait in `queue`'s dead-letter queue — exact on the embedded
    /// store, SQS's approximate count on AWS — or `None` where this sender was not told
    /// where that queue is.
    async fn dead_letter_count(&self, queue: QueueName) -> Result<Option<u64>, QueueError> {
        let _ = queue;
        Ok(None)
    }
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

    /// Moves a received message to the dead-letter area now, with the reason it failed.
    /// A stale receipt (the message was received again since) changes nothing.
    async fn dead_letter(
        &self,
        queue: QueueName,
        delivery: &Delivery,
        reason: &str,
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

/// Runs `handler` on `batch` so that a panic cannot take the stage down: if the batch
/// panics, each message is handled again on its own (every stage is idempotent on its
/// business key, so a message already done is done again harmlessly) and the one that
/// panics is dead-lettered with the panic's message, while the others go on.
pub async fn handle_guarded(
    handler: &dyn MessageHandler,
    batch: &[Delivery],
) -> Vec<DeliveryOutcome> {
    use futures::FutureExt;
    use std::panic::AssertUnwindSafe;
    // Unwind safety: a handler keeps no state across calls that a panic could leave
    // half-changed; what it writes goes through transactions that either landed or not.
    match AssertUnwindSafe(handler.handle(batch)).catch_unwind().await {
        Ok(outcomes) if outcomes.len() == batch.len() => return outcomes,
        Ok(outcomes) => {
            tracing::error!(
                expected = batch.len(),
                got = outcomes.len(),
                "a handler answered the wrong number of outcomes; each message is handled alone"
            );
        }
        Err(panic) if batch.len() == 1 => {
            return vec![panicked(&batch[0], panic.as_ref())];
        }
        Err(_) => {}
    }
    let mut outcomes = Vec::with_capacity(batch.len());
    for delivery in batch {
        let one = std::slice::from_ref(delivery);
        let outcome = match AssertUnwindSafe(handler.handle(one)).catch_unwind().await {
            Ok(mut o) if o.len() == 1 => o.remove(0),
            Ok(_) => DeliveryOutcome::Retry,
            Err(panic) => panicked(delivery, panic.as_ref()),
        };
        outcomes.push(outcome);
    }
    outcomes
}

/// One message's handling, for a stage that handles a batch's messages concurrently: a
/// panic here costs this message alone (dead-lettered) and does not cancel the others
/// mid-way, which a re-run of the whole batch could then repeat.
pub async fn guarded_one(
    delivery: &Delivery,
    handling: impl std::future::Future<Output = DeliveryOutcome>,
) -> DeliveryOutcome {
    use futures::FutureExt;
    match std::panic::AssertUnwindSafe(handling).catch_unwind().await {
        Ok(outcome) => outcome,
        Err(panic) => panicked(delivery, panic.as_ref()),
    }
}

/// Handles a batch's messages concurrently, except that messages with the same `key` (the
/// stage's business key: an email id, a conversion id) are handled one after another, in
/// order. A stage that checks a marker before it acts and writes it after (an email, a
/// partner's postback) would otherwise act twice on a message delivered twice in one
/// batch. Messages without a key (they will not decode) each go alone. Each message is
/// guarded as by [`guarded_one`]; outcomes come back in the batch's order.
pub async fn handle_keyed<'a, Fut>(
    batch: &'a [Delivery],
    key: impl Fn(&Delivery) -> Option<String>,
    one: impl Fn(&'a Delivery) -> Fut,
) -> Vec<DeliveryOutcome>
where
    Fut: std::future::Future<Output = DeliveryOutcome>,
{
    let mut runs: Vec<Vec<usize>> = Vec::new();
    let mut run_of_key: std::collections::HashMap<String, usize> = Default::default();
    for (i, delivery) in batch.iter().enumerate() {
        match key(delivery) {
            Some(k) => match run_of_key.get(&k) {
                Some(&run) => runs[run].push(i),
                None => {
                    run_of_key.insert(k, runs.len());
                    runs.push(vec![i]);
                }
            },
            None => runs.push(vec![i]),
        }
    }
    let one = &one;
    let done = futures::future::join_all(runs.into_iter().map(|run| async move {
        let mut out = Vec::with_capacity(run.len());
        for i in run {
            out.push((i, guarded_one(&batch[i], one(&batch[i])).await));
        }
        out
    }))
    .await;
    let mut outcomes = vec![DeliveryOutcome::Retry; batch.len()];
    for (i, outcome) in done.into_iter().flatten() {
        outcomes[i] = outcome;
    }
    outcomes
}

fn panicked(delivery: &Delivery, panic: &(dyn std::any::Any + Send)) -> DeliveryOutcome {
    let what = panic
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic without a message".into());
    tracing::error!(message_id = %delivery.message_id, panic = %what, "the handler panicked on this message");
    DeliveryOutcome::DeadLetter(format!("the handler panicked: {what}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    fn delivery(id: &str, body: &str) -> Delivery {
        Delivery {
            message_id: id.into(),
            receipt: id.into(),
            body: body.into(),
            receive_count: 1,
        }
    }

    #[tokio::test]
    async fn messages_with_one_key_take_turns_and_the_rest_run_together() {
        let batch = [
            delivery("1", "a"),
            delivery("2", "b"),
            delivery("3", "a"),
            delivery("4", "undecodable"),
        ];
        let log = Mutex::new(Vec::new());
        let key = |d: &Delivery| (d.body != "undecodable").then(|| d.body.clone());
        let outcomes = handle_keyed(&batch, key, |d| {
            let log = &log;
            async move {
                log.lock().unwrap().push(format!("start {}", d.message_id));
                tokio::task::yield_now().await;
                log.lock().unwrap().push(format!("end {}", d.message_id));
                if d.message_id == "2" {
                    DeliveryOutcome::Retry
                } else {
                    DeliveryOutcome::Done
                }
            }
        })
        .await;
        assert_eq!(
            outcomes,
            [
                DeliveryOutcome::Done,
                DeliveryOutcome::Retry,
                DeliveryOutcome::Done,
                DeliveryOutcome::Done
            ]
        );
        let log = log.into_inner().unwrap();
        let at = |e: &str| log.iter().position(|l| l == e).unwrap();
        assert!(
            at("end 1") < at("start 3"),
            "one key's messages in turn: {log:?}"
        );
        assert!(
            at("start 2") < at("end 1"),
            "other keys run meanwhile: {log:?}"
        );
        assert!(
            at("start 4") < at("end 1"),
            "a message without a key runs meanwhile: {log:?}"
        );
    }
}
