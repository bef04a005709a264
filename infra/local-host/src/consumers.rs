//! Runs a queue's consumer stage the way Lambda's SQS trigger would: receive a batch,
//! hand it to the stage's handler, acknowledge what is done or poison, and release what
//! should be retried with a growing delay until the queue dead-letters it.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;
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
}

impl Default for ConsumerSettings {
    fn default() -> Self {
        ConsumerSettings {
            batch_size: 10,
            visibility: Duration::from_secs(60),
            idle_wait: Duration::from_secs(1),
            retry_base: Duration::from_secs(1),
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
        let outcomes = handler.handle(&batch).await;
        for (delivery, outcome) in batch.iter().zip(outcomes) {
            let result = match outcome {
                DeliveryOutcome::Done | DeliveryOutcome::Poison => {
                    consumer.ack(queue, &delivery.receipt).await
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
