//! The Queue port on SQS: batched sends within SQS's limits (10 messages and 256 KiB per
//! request), and the polled consumer side — receive with a visibility timeout and the
//! receive count, delete, change visibility, and a peek at the dead-letter queue.

use std::collections::HashMap;
use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_sqs::Client;
use aws_sdk_sqs::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_sqs::types::{
    MessageSystemAttributeName, QueueAttributeName, SendMessageBatchRequestEntry,
};
use upline_domain::ports::{Delivery, Queue, QueueConsumer, QueueError, QueueName};

/// SQS's limits on one `SendMessageBatch`.
const MAX_BATCH_MESSAGES: usize = 10;
const MAX_BATCH_BYTES: usize = 256 * 1024;

/// The message attribute that carries why a message was dead-lettered.
pub const DEAD_LETTER_REASON: &str = "upline-reason";

/// The URLs of a queue and of its dead-letter queue.
#[derive(Clone, Debug)]
pub struct QueueUrls {
    pub queue: String,
    pub dead_letters: String,
}

#[derive(Clone, Debug)]
pub struct SqsQueues {
    client: Client,
    urls: HashMap<QueueName, QueueUrls>,
}

impl SqsQueues {
    pub fn new(client: Client, urls: HashMap<QueueName, QueueUrls>) -> Self {
        SqsQueues { client, urls }
    }

    /// Puts a copy of `body` on `queue`'s dead-letter queue with the reason it failed as
    /// the `upline-reason` attribute. Lambda's bridge uses it alone (Lambda deletes the
    /// original when the batch answers); the polled consumer deletes it itself.
    pub async fn send_to_dead_letters(
        &self,
        queue: QueueName,
        body: &str,
        reason: &str,
    ) -> Result<(), QueueError> {
        let url = &self.urls(queue)?.dead_letters;
        if url.is_empty() {
            return Err(QueueError::Unavailable(format!(
                "no dead-letter queue URL configured for the {queue} queue"
            )));
        }
        // SQS attribute values are limited; the reason is for people, its head suffices.
        let reason: String = reason.chars().take(1_000).collect();
        let attribute = aws_sdk_sqs::types::MessageAttributeValue::builder()
            .data_type("String")
            .string_value(if reason.is_empty() {
                "unknown".into()
            } else {
                reason
            })
            .build()
            .map_err(|e| QueueError::Unavailable(e.to_string()))?;
        self.client
            .send_message()
            .queue_url(url)
            .message_body(body)
            .message_attributes(DEAD_LETTER_REASON, attribute)
            .send()
            .await
            .map_err(unavailable)?;
        Ok(())
    }

    fn urls(&self, queue: QueueName) -> Result<&QueueUrls, QueueError> {
        self.urls.get(&queue).ok_or_else(|| {
            QueueError::Unavailable(format!("no URL configured for the {queue} queue"))
        })
    }
}

fn unavailable<E: ProvideErrorMetadata + std::fmt::Debug, R: std::fmt::Debug>(
    e: SdkError<E, R>,
) -> QueueError {
    match e.code() {
        Some(code) => {
            QueueError::Unavailable(format!("{code}: {}", e.message().unwrap_or_default()))
        }
        None => QueueError::Unavailable(format!("{e:?}")),
    }
}

/// Splits bodies into SQS batches: at most ten messages and 256 KiB each.
pub fn batches(bodies: Vec<String>) -> Result<Vec<Vec<String>>, QueueError> {
    let mut out: Vec<Vec<String>> = Vec::new();
    let mut size = 0;
    for body in bodies {
        if body.len() > MAX_BATCH_BYTES {
            return Err(QueueError::TooLarge(body.len()));
        }
        let fits = out
            .last()
            .is_some_and(|b| b.len() < MAX_BATCH_MESSAGES && size + body.len() <= MAX_BATCH_BYTES);
        if !fits {
            out.push(Vec::new());
            size = 0;
        }
        size += body.len();
        out.last_mut().expect("just pushed").push(body);
    }
    Ok(out)
}

#[async_trait]
impl Queue for SqsQueues {
    async fn dead_letter_count(&self, queue: QueueName) -> Result<Option<u64>, QueueError> {
        let Some(url) = self
            .urls
            .get(&queue)
            .map(|u| u.dead_letters.as_str())
            .filter(|u| !u.is_empty())
        else {
            return Ok(None);
        };
        let out = self
            .client
            .get_queue_attributes()
            .queue_url(url)
            .attribute_names(QueueAttributeName::ApproximateNumberOfMessages)
            .send()
            .await
            .map_err(unavailable)?;
        let count = out
            .attributes()
            .and_then(|a| a.get(&QueueAttributeName::ApproximateNumberOfMessages))
            .and_then(|n| n.parse::<u64>().ok())
            .ok_or_else(|| {
                QueueError::Unavailable(format!(
                    "no message count for the {queue} dead-letter queue"
                ))
            })?;
        Ok(Some(count))
    }

    async fn send(&self, queue: QueueName, bodies: Vec<String>) -> Result<(), QueueError> {
        let url = &self.urls(queue)?.queue;
        let mut failed = 0;
        let mut reason = String::new();
        for batch in batches(bodies)? {
            let entries = batch
                .into_iter()
                .enumerate()
                .map(|(i, body)| {
                    SendMessageBatchRequestEntry::builder()
                        .id(i.to_string())
                        .message_body(body)
                        .build()
                        .map_err(|e| QueueError::Unavailable(e.to_string()))
                })
                .collect::<Result<Vec<_>, _>>()?;
            let out = self
                .client
                .send_message_batch()
                .queue_url(url)
                .set_entries(Some(entries))
                .send()
                .await
                .map_err(unavailable)?;
            for f in out.failed() {
                failed += 1;
                reason = format!("{}: {}", f.code(), f.message().unwrap_or_default());
            }
        }
        if failed > 0 {
            return Err(QueueError::PartiallySent { failed, reason });
        }
        Ok(())
    }
}

/// SQS counts visibility in whole seconds, up to 12 hours.
fn seconds(d: Duration) -> i32 {
    d.as_secs().min(43_200) as i32
}

#[async_trait]
impl QueueConsumer for SqsQueues {
    async fn receive(
        &self,
        queue: QueueName,
        max: usize,
        visibility: Duration,
    ) -> Result<Vec<Delivery>, QueueError> {
        let url = &self.urls(queue)?.queue;
        let out = self
            .client
            .receive_message()
            .queue_url(url)
            .max_number_of_messages(max.clamp(1, MAX_BATCH_MESSAGES) as i32)
            .visibility_timeout(seconds(visibility))
            .wait_time_seconds(0)
            .message_system_attribute_names(MessageSystemAttributeName::ApproximateReceiveCount)
            .send()
            .await
            .map_err(unavailable)?;
        Ok(out
            .messages
            .unwrap_or_default()
            .into_iter()
            .map(|m| Delivery {
                receive_count: m
                    .attributes()
                    .and_then(|a| a.get(&MessageSystemAttributeName::ApproximateReceiveCount))
                    .and_then(|c| c.parse().ok())
                    .unwrap_or(1),
                message_id: m.message_id.unwrap_or_default(),
                receipt: m.receipt_handle.unwrap_or_default(),
                body: m.body.unwrap_or_default(),
            })
            .collect())
    }

    async fn ack(&self, queue: QueueName, receipt: &str) -> Result<(), QueueError> {
        let url = &self.urls(queue)?.queue;
        self.client
            .delete_message()
            .queue_url(url)
            .receipt_handle(receipt)
            .send()
            .await
            .map_err(unavailable)?;
        Ok(())
    }

    async fn release(
        &self,
        queue: QueueName,
        receipt: &str,
        delay: Duration,
    ) -> Result<(), QueueError> {
        let url = &self.urls(queue)?.queue;
        self.client
            .change_message_visibility()
            .queue_url(url)
            .receipt_handle(receipt)
            .visibility_timeout(seconds(delay))
            .send()
            .await
            .map_err(unavailable)?;
        Ok(())
    }

    async fn dead_letter(
        &self,
        queue: QueueName,
        delivery: &Delivery,
        reason: &str,
    ) -> Result<(), QueueError> {
        self.send_to_dead_letters(queue, &delivery.body, reason)
            .await?;
        self.ack(queue, &delivery.receipt).await
    }

    async fn dead_letters(&self, queue: QueueName, max: usize) -> Result<Vec<String>, QueueError> {
        let url = &self.urls(queue)?.dead_letters;
        // A zero visibility timeout peeks without hiding the messages from an operator's redrive.
        let out = self
            .client
            .receive_message()
            .queue_url(url)
            .max_number_of_messages(max.clamp(1, MAX_BATCH_MESSAGES) as i32)
            .visibility_timeout(0)
            .wait_time_seconds(0)
            .send()
            .await
            .map_err(unavailable)?;
        Ok(out
            .messages
            .unwrap_or_default()
            .into_iter()
            .filter_map(|m| m.body)
            .collect())
    }

    async fn wait_for_messages(&self, _queue: QueueName, timeout: Duration) {
        // SQS cannot wake us; poll again after the idle interval.
        tokio::time::sleep(timeout).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batches_hold_at_most_ten_messages_and_256_kib() {
        let small: Vec<String> = (0..25).map(|i| i.to_string()).collect();
        let sizes: Vec<usize> = batches(small).unwrap().iter().map(Vec::len).collect();
        assert_eq!(sizes, vec![10, 10, 5]);
        let big = "x".repeat(100 * 1024);
        let sizes: Vec<usize> = batches(vec![big.clone(), big.clone(), big])
            .unwrap()
            .iter()
            .map(Vec::len)
            .collect();
        assert_eq!(sizes, vec![2, 1]);
        assert!(matches!(
            batches(vec!["y".repeat(MAX_BATCH_BYTES + 1)]),
            Err(QueueError::TooLarge(_))
        ));
    }
}
