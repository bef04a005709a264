//! Runs a queue's consumer stage the way Lambda's SQS trigger would: receive a batch,
//! hand it to the stage's handler (a panic costs only its message), acknowledge what is
//! done, dead-letter what cannot succeed with its reason, and release what should be
//! retried with a growing delay until the queue dead-letters it. A supervisor restarts a
//! consumer loop that dies and keeps [`ConsumerHealth`] for `/health`.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::FutureExt;
use tokio::sync::watch;
use upline_domain::ports::queue::handle_guarded;
use upline_domain::ports::{DeliveryOutcome, MessageHandler, QueueConsumer, QueueName};

/// How one queue is consumed.
#[derive(Clone, Copy, Debug)]
pub struct ConsumerSettings {
    pub batch_size: usize,
    /// Longer than the handler can take on a batch, so a batch is never handled twice at once.
    pub visibility: Duration,
    pub idle_wait: Duration,
    /// The first retry's delay; each further retry doubles it (capped at five minutes).
    pub retry_base: Duration,
    /// How long a consumer loop that died waits before it is restarted (doubling while
    /// it keeps dying, up to a minute).
    pub restart_pause: Duration,
}

impl Default for ConsumerSettings {
    fn default() -> Self {
        ConsumerSettings {
            batch_size: 10,
            visibility: Duration::from_secs(60),
            idle_wait: Duration::from_secs(1),
            retry_base: Duration::from_secs(1),
            restart_pause: Duration::from_millis(100),
        }
    }
}

pub use upline_domain::ports::queue::retry_delay;

/// Consumes `queue` until `stop` turns true.
pub async fn run(
    consumer: Arc<dyn QueueConsumer>,
    queue: QueueName,
    handler: Arc<dyn MessageHandler>,
    settings: ConsumerSettings,
    mut stop: watch::Receiver<bool>,
) {
    loop {
        if *stop.borrow() {
            return;
        }
        let batch = match consumer
            .receive(queue, settings.batch_size, settings.visibility)
            .await
        {
            Ok(b) => b,
            Err(e) => {
                tracing::warn!(%queue, error = %e, "receive failed");
                Vec::new()
            }
        };
        if batch.is_empty() {
            tokio::select! {
                _ = consumer.wait_for_messages(queue, settings.idle_wait) => {}
                _ = stop.changed() => {}
            }
            continue;
        }
        let outcomes = handle_guarded(handler.as_ref(), &batch).await;
        // Settled together, so the embedded store acknowledges a batch in one commit.
        let settled = batch.iter().zip(outcomes).map(|(delivery, outcome)| {
            let consumer = &consumer;
            async move {
                let result = match outcome {
                    DeliveryOutcome::Done => consumer.ack(queue, &delivery.receipt).await,
                    DeliveryOutcome::DeadLetter(reason) => {
                        consumer.dead_letter(queue, delivery, &reason).await
                    }
                    DeliveryOutcome::Retry => {
                        consumer
                            .release(
                                queue,
                                &delivery.receipt,
                                retry_delay(settings.retry_base, delivery.receive_count),
                            )
                            .await
                    }
                };
                if let Err(e) = result {
                    tracing::warn!(%queue, message_id = %delivery.message_id, error = %e, "settling a message failed; it will be redelivered");
                }
            }
        });
        futures::future::join_all(settled).await;
    }
}

/// Whether each consumer loop is running, for `/health`.
#[derive(Clone, Default)]
pub struct ConsumerHealth {
    down: Arc<Mutex<BTreeMap<QueueName, String>>>,
    restarts: Arc<Mutex<BTreeMap<QueueName, u32>>>,
}

impl ConsumerHealth {
    /// The queues whose consumer is down, with why.
    pub fn down(&self) -> BTreeMap<QueueName, String> {
        self.down.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// How often the consumer of `queue` was restarted since the host started.
    pub fn restarts(&self, queue: QueueName) -> u32 {
        let restarts = self.restarts.lock().unwrap_or_else(|p| p.into_inner());
        restarts.get(&queue).copied().unwrap_or(0)
    }

    fn set(&self, queue: QueueName, why: Option<String>) {
        let mut down = self.down.lock().unwrap_or_else(|p| p.into_inner());
        match why {
            Some(why) => down.insert(queue, why),
            None => down.remove(&queue),
        };
    }
}

/// [`run`] under a supervisor: a loop that dies (a panic outside a handler, which
/// [`handle_guarded`] already contains) is reported down and restarted after `pause`,
/// doubling up to a minute while it keeps dying.
pub async fn supervise(
    consumer: Arc<dyn QueueConsumer>,
    queue: QueueName,
    handler: Arc<dyn MessageHandler>,
    settings: ConsumerSettings,
    stop: watch::Receiver<bool>,
    health: ConsumerHealth,
) {
    let mut pause = settings.restart_pause;
    loop {
        let attempt = std::panic::AssertUnwindSafe(run(
            consumer.clone(),
            queue,
            handler.clone(),
            settings,
            stop.clone(),
        ))
        .catch_unwind()
        .await;
        if attempt.is_ok() || *stop.borrow() {
            return;
        }
        tracing::error!(%queue, "the consumer died; restarting it");
        health.set(
            queue,
            Some(format!("restarting after a crash (next try in {pause:?})")),
        );
        tokio::time::sleep(pause).await;
        *health
            .restarts
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .entry(queue)
            .or_default() += 1;
        health.set(queue, None);
        pause = (pause * 2).min(Duration::from_secs(60));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_delays_double_and_are_capped() {
        let s = Duration::from_secs(1);
        assert_eq!(retry_delay(s, 1), Duration::from_secs(1));
        assert_eq!(retry_delay(s, 2), Duration::from_secs(2));
        assert_eq!(retry_delay(s, 4), Duration::from_secs(8));
        assert_eq!(retry_delay(s, 50), Duration::from_secs(256));
        assert_eq!(
            retry_delay(Duration::from_secs(60), 9),
            Duration::from_secs(300)
        );
    }
}
