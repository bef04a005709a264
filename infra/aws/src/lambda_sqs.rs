//! The consumer contract on Lambda's SQS trigger: an `SqsEvent` becomes deliveries for a
//! stage's handler, and its outcomes become an `SqsBatchResponse` naming only the
//! messages to retry (the function is configured with `ReportBatchItemFailures`). Poison
//! messages are acknowledged — left out of the failures — after being logged, so they
//! cannot loop; retried ones reach the dead-letter queue after the receive limit.

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use std::time::Duration;

use upline_domain::ports::queue::retry_delay;
use upline_domain::ports::{Delivery, DeliveryOutcome, MessageHandler, QueueConsumer, QueueName};

pub async fn handle_sqs_event(handler: &dyn MessageHandler, event: SqsEvent) -> SqsBatchResponse {
    handle(handler, event).await.0
}

/// [`handle_sqs_event`], and each message to retry is released with a delay that doubles
/// with its receive count (`retry_delay`), so a failing partner server is retried after
/// 30 s, 1 min, 2 min … rather than hammered every visibility timeout.
pub async fn handle_sqs_event_with_backoff(
    handler: &dyn MessageHandler,
    event: SqsEvent,
    consumer: &dyn QueueConsumer,
    queue: QueueName,
    base: Duration,
) -> SqsBatchResponse {
    let (response, retried) = handle(handler, event).await;
    for d in retried {
        let delay = retry_delay(base, d.receive_count);
        if let Err(e) = consumer.release(queue, &d.receipt, delay).await {
            // The message still comes back after the queue's visibility timeout.
            tracing::warn!(message_id = %d.message_id, error = %e, "retry delay not set");
        }
    }
    response
}

async fn handle(
    handler: &dyn MessageHandler,
    event: SqsEvent,
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
    let outcomes = handler.handle(&deliveries).await;
    let mut response = SqsBatchResponse::default();
    let mut retried = Vec::new();
    for (delivery, outcome) in deliveries.into_iter().zip(outcomes) {
        match outcome {
            DeliveryOutcome::Done => {}
            DeliveryOutcome::Poison => {
                tracing::error!(message_id = %delivery.message_id, "poison message acknowledged without effect");
            }
            DeliveryOutcome::Retry => {
                response.add_failure(delivery.message_id.clone());
                retried.push(delivery);
            }
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

    #[async_trait]
    impl MessageHandler for ByBody {
        async fn handle(&self, batch: &[Delivery]) -> Vec<DeliveryOutcome> {
            batch
                .iter()
                .map(|d| match d.body.as_str() {
                    "ok" => DeliveryOutcome::Done,
                    "later" => DeliveryOutcome::Retry,
                    _ => DeliveryOutcome::Poison,
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

    #[tokio::test]
    async fn only_messages_to_retry_are_reported_as_batch_failures() {
        let response = handle_sqs_event(&ByBody, event(&["ok", "later", "garbage", "later"])).await;
        let failed: Vec<_> = response
            .batch_item_failures
            .iter()
            .map(|f| f.item_identifier.as_str())
            .collect();
        // The undecodable one (poison) is acknowledged: it must not come back.
        assert_eq!(failed, vec!["id-1", "id-3"]);
    }
}
