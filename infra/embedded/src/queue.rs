//! The Queue port on redb: a durable queue per name with SQS's semantics — a visibility
//! timeout on receive, a receive count, release with a delay, and a dead-letter area that
//! takes a message once it has been received `max_receives` times without being acked.

use std::time::Duration;

use async_trait::async_trait;
use redb::{ReadableTable, TableDefinition};
use serde::{Deserialize, Serialize};
use upline_domain::ports::{Delivery, Queue, QueueConsumer, QueueError, QueueName};

use crate::EmbeddedStore;

const MESSAGES: TableDefinition<(&str, u64), &[u8]> = TableDefinition::new("queue_messages");
const DEAD_LETTERS: TableDefinition<(&str, u64), &[u8]> =
    TableDefinition::new("queue_dead_letters");
const SEQUENCE: TableDefinition<&str, u64> = TableDefinition::new("queue_sequence");
/// Why a message was dead-lettered by its handler (absent: it ran out of receives).
const DEAD_LETTER_REASONS: TableDefinition<(&str, u64), &str> =
    TableDefinition::new("queue_dead_letter_reasons");

/// SQS's limit on a message body.
pub const MAX_BODY_BYTES: usize = 256 * 1024;

#[derive(Serialize, Deserialize)]
struct Stored {
    body: String,
    receive_count: u32,
    visible_at_ms: i64,
}

fn unavailable(e: impl std::fmt::Display) -> QueueError {
    QueueError::Unavailable(e.to_string())
}

/// Receipts name the message and the receive they came from, so a receipt from an earlier
/// receive (whose visibility ran out) cannot delete a message someone else now holds.
fn receipt(seq: u64, receive_count: u32) -> String {
    format!("{seq}.{receive_count}")
}

fn parse_receipt(r: &str) -> Option<(u64, u32)> {
    let (a, b) = r.split_once('.')?;
    Some((a.parse().ok()?, b.parse().ok()?))
}

fn read(bytes: &[u8]) -> Result<Stored, QueueError> {
    serde_json::from_slice(bytes).map_err(|e| unavailable(format!("corrupt queue entry: {e}")))
}

impl EmbeddedStore {
    /// Changes a received message in place if `receipt` is still its current receipt.
    fn with_received(
        &self,
        queue: QueueName,
        receipt_text: &str,
        change: impl FnOnce(Option<Stored>) -> Option<Stored>,
    ) -> Result<(), QueueError> {
        let Some((seq, count)) = parse_receipt(receipt_text) else {
            return Err(unavailable(format!("not a receipt: {receipt_text}")));
        };
        let txn = self.begin_write()?;
        {
            let mut t = txn.open_table(MESSAGES).map_err(unavailable)?;
            let current = match t.get((queue.as_str(), seq)).map_err(unavailable)? {
                Some(v) => Some(read(v.value())?),
                None => None,
            };
            let Some(current) = current.filter(|s| s.receive_count == count) else {
                return Ok(()); // already gone or received again since: stale receipt
            };
            match change(Some(current)) {
                Some(next) => {
                    let bytes = serde_json::to_vec(&next).expect("plain data");
                    t.insert((queue.as_str(), seq), bytes.as_slice())
                        .map_err(unavailable)?;
                }
                None => {
                    t.remove((queue.as_str(), seq)).map_err(unavailable)?;
                }
            }
        }
        txn.commit().map_err(unavailable)
    }
}

impl EmbeddedStore {
    /// Why messages were dead-lettered by their handler, oldest first (those that ran out
    /// of receives have no reason recorded and are not listed).
    pub async fn dead_letter_reasons(
        &self,
        queue: QueueName,
        max: usize,
    ) -> Result<Vec<String>, QueueError> {
        self.blocking(move |s| oldest(s, DEAD_LETTER_REASONS, queue, max, |v| v.to_string()))
            .await
    }
}

/// The first `max` entries of a per-queue table, as text (empty if the table was never
/// written).
fn oldest<V: redb::Value + 'static>(
    s: &EmbeddedStore,
    table: TableDefinition<(&str, u64), V>,
    queue: QueueName,
    max: usize,
    text: impl Fn(V::SelfType<'_>) -> String,
) -> Result<Vec<String>, QueueError> {
    let txn = s.begin_read()?;
    let t = match txn.open_table(table) {
        Ok(t) => t,
        Err(redb::TableError::TableDoesNotExist(_)) => return Ok(vec![]),
        Err(e) => return Err(unavailable(e)),
    };
    let mut out = Vec::new();
    for entry in t
        .range((queue.as_str(), 0)..=(queue.as_str(), u64::MAX))
        .map_err(unavailable)?
        .take(max)
    {
        let (_, v) = entry.map_err(unavailable)?;
        out.push(text(v.value()));
    }
    Ok(out)
}

#[async_trait]
impl Queue for EmbeddedStore {
    async fn dead_letter_count(&self, queue: QueueName) -> Result<Option<u64>, QueueError> {
        self.blocking(move |s| {
            let txn = s.begin_read()?;
            let t = match txn.open_table(DEAD_LETTERS) {
                Ok(t) => t,
                Err(redb::TableError::TableDoesNotExist(_)) => return Ok(Some(0)),
                Err(e) => return Err(unavailable(e)),
            };
            let mut n = 0;
            for entry in t
                .range((queue.as_str(), 0)..=(queue.as_str(), u64::MAX))
                .map_err(unavailable)?
            {
                entry.map_err(unavailable)?;
                n += 1;
            }
            Ok(Some(n))
        })
        .await
    }

    async fn send(&self, queue: QueueName, bodies: Vec<String>) -> Result<(), QueueError> {
        if let Some(big) = bodies.iter().find(|b| b.len() > MAX_BODY_BYTES) {
            return Err(QueueError::TooLarge(big.len()));
        }
        let now = self.inner.clock.now().millis();
        self.blocking(move |s| {
            let txn = s.begin_write()?;
            {
                let mut seq_table = txn.open_table(SEQUENCE).map_err(unavailable)?;
                let mut seq = seq_table
                    .get("messages")
                    .map_err(unavailable)?
                    .map_or(0, |v| v.value());
                let mut t = txn.open_table(MESSAGES).map_err(unavailable)?;
                for body in bodies {
                    seq += 1;
                    let stored = Stored {
                        body,
                        receive_count: 0,
                        visible_at_ms: now,
                    };
                    let bytes = serde_json::to_vec(&stored).expect("plain data");
                    t.insert((queue.as_str(), seq), bytes.as_slice())
                        .map_err(unavailable)?;
                }
                seq_table.insert("messages", seq).map_err(unavailable)?;
            }
            txn.commit().map_err(unavailable)
        })
        .await?;
        self.arrivals(queue).notify_waiters();
        Ok(())
    }
}

#[async_trait]
impl QueueConsumer for EmbeddedStore {
    async fn receive(
        &self,
        queue: QueueName,
        max: usize,
        visibility: Duration,
    ) -> Result<Vec<Delivery>, QueueError> {
        let now = self.inner.clock.now().millis();
        let max_receives = self.inner.max_receives;
        self.blocking(move |s| {
            let txn = s.begin_write()?;
            let mut out = Vec::new();
            {
                let mut t = txn.open_table(MESSAGES).map_err(unavailable)?;
                let mut dead = txn.open_table(DEAD_LETTERS).map_err(unavailable)?;
                let mut due = Vec::new();
                for entry in t
                    .range((queue.as_str(), 0)..=(queue.as_str(), u64::MAX))
                    .map_err(unavailable)?
                {
                    let (k, v) = entry.map_err(unavailable)?;
                    let stored = read(v.value())?;
                    if stored.visible_at_ms <= now {
                        due.push((k.value().1, stored));
                        if due.len() == max {
                            break;
                        }
                    }
                }
                for (seq, mut stored) in due {
                    if stored.receive_count >= max_receives {
                        t.remove((queue.as_str(), seq)).map_err(unavailable)?;
                        dead.insert((queue.as_str(), seq), stored.body.as_bytes()).map_err(unavailable)?;
                        tracing::warn!(queue = %queue, seq, receives = stored.receive_count, "message moved to the dead-letter area");
                        continue;
                    }
                    stored.receive_count += 1;
                    stored.visible_at_ms = now + visibility.as_millis() as i64;
                    let bytes = serde_json::to_vec(&stored).expect("plain data");
                    t.insert((queue.as_str(), seq), bytes.as_slice()).map_err(unavailable)?;
                    out.push(Delivery {
                        message_id: format!("{queue}-{seq}"),
                        receipt: receipt(seq, stored.receive_count),
                        body: stored.body,
                        receive_count: stored.receive_count,
                    });
                }
            }
            txn.commit().map_err(unavailable)?;
            Ok(out)
        })
        .await
    }

    async fn ack(&self, queue: QueueName, receipt: &str) -> Result<(), QueueError> {
        let receipt = receipt.to_string();
        self.blocking(move |s| s.with_received(queue, &receipt, |_| None))
            .await
    }

    async fn release(
        &self,
        queue: QueueName,
        receipt: &str,
        delay: Duration,
    ) -> Result<(), QueueError> {
        let receipt = receipt.to_string();
        let visible_at_ms = self.inner.clock.now().millis() + delay.as_millis() as i64;
        self.blocking(move |s| {
            s.with_received(queue, &receipt, |m| {
                m.map(|mut m| {
                    m.visible_at_ms = visible_at_ms;
                    m
                })
            })
        })
        .await?;
        if delay.is_zero() {
            self.arrivals(queue).notify_waiters();
        }
        Ok(())
    }

    async fn dead_letter(
        &self,
        queue: QueueName,
        delivery: &Delivery,
        reason: &str,
    ) -> Result<(), QueueError> {
        let Some((seq, count)) = parse_receipt(&delivery.receipt) else {
            return Err(unavailable(format!("not a receipt: {}", delivery.receipt)));
        };
        let reason = reason.to_string();
        self.blocking(move |s| {
            let txn = s.begin_write()?;
            {
                let mut t = txn.open_table(MESSAGES).map_err(unavailable)?;
                let current = match t.get((queue.as_str(), seq)).map_err(unavailable)? {
                    Some(v) => Some(read(v.value())?),
                    None => None,
                };
                let Some(current) = current.filter(|m| m.receive_count == count) else {
                    return Ok(()); // stale receipt: someone else holds it now
                };
                t.remove((queue.as_str(), seq)).map_err(unavailable)?;
                let mut dead = txn.open_table(DEAD_LETTERS).map_err(unavailable)?;
                dead.insert((queue.as_str(), seq), current.body.as_bytes())
                    .map_err(unavailable)?;
                let mut reasons = txn.open_table(DEAD_LETTER_REASONS).map_err(unavailable)?;
                reasons
                    .insert((queue.as_str(), seq), reason.as_str())
                    .map_err(unavailable)?;
            }
            tracing::error!(%queue, seq, reason = %reason, "message dead-lettered");
            txn.commit().map_err(unavailable)
        })
        .await
    }

    async fn dead_letters(&self, queue: QueueName, max: usize) -> Result<Vec<String>, QueueError> {
        self.blocking(move |s| {
            oldest(s, DEAD_LETTERS, queue, max, |v| {
                String::from_utf8_lossy(v).into_owned()
            })
        })
        .await
    }

    async fn wait_for_messages(&self, queue: QueueName, timeout: Duration) {
        let _ = tokio::time::timeout(timeout, self.arrivals(queue).notified()).await;
    }
}
