//! The consumer contract on Lambda's SQS trigger: an `SqsEvent` becomes deliveries for a
//! stage's handler (run so that a panic costs only its message), and its outcomes become
//! an `SqsBatchResponse` naming only the messages to retry (the function is configured
//! with `ReportBatchItemFailures`). A message that cannot succeed is copied to the
//! queue's dead-letter queue with its reason and left out of the failures, so Lambda
//! deletes the original; if that copy fails it is retried instead, and SQS's redrive
//! policy dead-letters it after the receive limit — it is never acknowledged and lost.

use async_trait::async_trait;
use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use std::time::Duration;

use upline_domain::ports::queue::{handle_guarded, retry_delay};
use upline_domain::ports::{
    Delivery, DeliveryOutcome, MessageHandler, QueueConsumer, QueueError, QueueName,
};

use crate::SqsQueues;

/// Where a Lambda consumer puts the messages it gives up on.
#[async_trait]
pub trait DeadLetters: Send + Sync {
    async fn send_to_dead_letters(
        &self,
        queue: QueueName,
        body: &str,
        reason: &str,
    ) -> Result<(), QueueError>;
}

#[async_trait]
impl DeadLetters for SqsQueues {
    async fn send_to_dead_letters(
        &self,
        queue: QueueName,
        body: &str,
        reason: &str,
    ) -> Result<(), QueueError> {
        SqsQueues::send_to_dead_letters(self, queue, body, reason).await
    }
}

/// One SQS batch of `queue` through `handler`.
pub async fn handle_sqs_event(
    handler: &dyn MessageHandler,
    event: SqsEvent,
    dead_letters: &dyn DeadLetters,
    queue: QueueName,
) -> SqsBatchResponse {
    handle(handler, event, dead_letters, queue).await.0
}

/// [`handle_sqs_event`], and each message to retry is released with a delay that doubles
/// with its receive count (`retry_delay`), so a failing partner server is retried after
/// 30 s, 1 min, 2 min … rather than hammered every visibility timeout.
pub async fn handle_sqs_event_with_backoff(
    handler: &dyn MessageHandler,
    event: SqsEvent,
    queues: &SqsQueues,
    queue: QueueName,
    base: Duration,
) -> SqsBatchResponse {
    let (response, retried) = handle(handler, event, queues, queue).await;
    for d in retried {
        let delay = retry_delay(base, d.receive_count);
        if let Err(e) = queues.release(queue, &d.receipt, delay).await {
            // The message still comes back after the queue's visibility timeout.
            tracing::warn!(message_id = %d.message_id, error = %e, "retry delay not set");
        }
    }
    response
}

async fn handle(
    handler: &dyn MessageHandler,
    event: SqsEvent,
    dead_letters: &dyn DeadLetters,
    queue: QueueName,
) -> (SqsBatchResponse, Vec<Delivery>) {
    let deliveries: Vec<Delivery> = event
        .records
        .into_iter()
        .map(|r| Delivery {
            receive_count: r
                .attributes
                .get("ApproximateReceiveCount")
                .and_then(|c| c.parse().ok())
                .unwrap_or(1),
            message_id: r.message_id.unwrap_or_default(),
            receipt: r.receipt_handle.unwrap_or_default(),
            body: r.body.unwrap_or_default(),
        })
        .collect();
    let outcomes = handle_guarded(handler, &deliveries).await;
    let mut response = SqsBatchResponse::default();
    let mut retried = Vec::new();
    for (delivery, outcome) in deliveries.into_iter().zip(outcomes) {
        let retry = match outcome {
            DeliveryOutcome::Done => false,
            DeliveryOutcome::Retry => true,
            DeliveryOutcome::DeadLetter(reason) => {
                match dead_letters
                    .send_to_dead_letters(queue, &delivery.body, &reason)
                    .await
                {
                    Ok(()) => {
                        tracing::error!(message_id = %delivery.message_id, %reason, "message dead-lettered");
                        false
                    }
                    Err(e) => {
                        tracing::error!(message_id = %delivery.message_id, %reason, error = %e, "dead-lettering failed; the message is retried");
                        true
                    }
                }
            }
        };
        if retry {
            response.add_failure(delivery.message_id.clone());
            retried.push(delivery);
        }
    }
    (response, retried)
}

#[cfg(test)]
mod tests {
    use super::*;
    use async_trait::async_trait;

    /// A stage whose outcome is written in each message body.
    struct ByBody;

    /// Records what is dead-lettered; refuses when told to.
    #[derive(Default)]
    struct Recorded {
        refuse: bool,
        sent: std::sync::Mutex<Vec<(String, String)>>,
    }

    #[async_trait]
    impl DeadLetters for Recorded {
        async fn send_to_dead_letters(
            &self,
            _queue: QueueName,
            body: &str,
            reason: &str,
        ) -> Result<(), QueueError> {
            if self.refuse {
                return Err(QueueError::Unavailable("down".into()));
            }
            self.sent.lock().unwrap().push((body.into(), reason.into()));
            Ok(())
        }
    }

    #[async_trait]
    impl MessageHandler for ByBody {
        async fn handle(&self, batch: &[Delivery]) -> Vec<DeliveryOutcome> {
            batch
                .iter()
                .map(|d| match d.body.as_str() {
                    "ok" => DeliveryOutcome::Done,
                    "later" => DeliveryOutcome::Retry,
                    "boom" => panic!("the stage broke"),
                    other => DeliveryOutcome::DeadLetter(format!("cannot read {other}")),
                })
                .collect()
        }
    }

    fn event(bodies: &[&str]) -> SqsEvent {
        let records: Vec<_> = bodies
            .iter()
            .enumerate()
            .map(|(i, b)| {
                serde_json::json!({
                    "messageId": format!("id-{i}"), "receiptHandle": format!("r-{i}"), "body": b,
                    "attributes": {"ApproximateReceiveCount": "2"}, "messageAttributes": {},
                    "eventSource": "aws:sqs", "awsRegion": "us-east-1"
                })
            })
            .collect();
        serde_json::from_value(serde_json::json!({ "Records": records })).unwrap()
    }

    fn failed(response: &SqsBatchResponse) -> Vec<&str> {
        response
            .batch_item_failures
            .iter()
            .map(|f| f.item_identifier.as_str())
            .collect()
    }

    #[tokio::test]
    async fn only_messages_to_retry_are_reported_as_batch_failures() {
        let dead = Recorded::default();
        let response = handle_sqs_event(
            &ByBody,
            event(&["ok", "later", "garbage", "later"]),
            &dead,
            QueueName::Conversions,
        )
        .await;
        assert_eq!(failed(&response), vec!["id-1", "id-3"]);
        // The undecodable one went to the dead-letter queue with its reason.
        assert_eq!(
            *dead.sent.lock().unwrap(),
            vec![("garbage".to_string(), "cannot read garbage".to_string())]
        );
    }

    #[tokio::test]
    async fn a_panicking_message_is_dead_lettered_and_the_rest_of_the_batch_goes_on() {
        let dead = Recorded::default();
        let response = handle_sqs_event(
            &ByBody,
            event(&["ok", "boom", "later"]),
            &dead,
            QueueName::Conversions,
        )
        .await;
        assert_eq!(failed(&response), vec!["id-2"]);
        let sent = dead.sent.lock().unwrap();
        assert_eq!(sent.len(), 1);
        assert_eq!(sent[0].0, "boom");
        assert!(sent[0].1.contains("the stage broke"), "{}", sent[0].1);
    }

    #[tokio::test]
    async fn a_message_that_cannot_be_dead_lettered_is_retried_not_dropped() {
        let dead = Recorded {
            refuse: true,
            ..Recorded::default()
        };
        let response =
            handle_sqs_event(&ByBody, event(&["garbage"]), &dead, QueueName::Emails).await;
        assert_eq!(failed(&response), vec!["id-0"]);
    }
}
