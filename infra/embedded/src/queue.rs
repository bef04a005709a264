//! The Queue port on redb: a durable queue per name with SQS's semantics — a visibility
//! timeout on receive, a receive count, release with a delay, and a dead-letter area that
//! takes a message once it has been received `max_receives` times without being acked.
//!
//! Messages are kept by sequence number; a second table orders them by the time they are
//! next visible, so a receive reads only messages that are due instead of walking past
//! every message in flight.

use std::time::Duration;

use async_trait::async_trait;
use redb::{ReadableDatabase, ReadableTable, TableDefinition, WriteTransaction};
use serde::{Deserialize, Serialize};
use upline_domain::ports::{Delivery, Queue, QueueConsumer, QueueError, QueueName};

use crate::EmbeddedStore;

const MESSAGES: TableDefinition<(&str, u64), &[u8]> = TableDefinition::new("queue_messages");
const DEAD_LETTERS: TableDefinition<(&str, u64), &[u8]> =
    TableDefinition::new("queue_dead_letters");
const SEQUENCE: TableDefinition<&str, u64> = TableDefinition::new("queue_sequence");
/// Every message in [`MESSAGES`] by (queue, visible at in ms, sequence).
const VISIBLE: TableDefinition<(&str, i64, u64), ()> = TableDefinition::new("queue_visible");
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

fn parse_receipt(r: &str) -> Result<(u64, u32), QueueError> {
    let parse = || {
        let (a, b) = r.split_once('.')?;
        Some((a.parse().ok()?, b.parse().ok()?))
    };
    parse().ok_or_else(|| unavailable(format!("not a receipt: {r}")))
}

fn read(bytes: &[u8]) -> Result<Stored, QueueError> {
    serde_json::from_slice(bytes).map_err(|e| unavailable(format!("corrupt queue entry: {e}")))
}

/// Writes `stored` as message `seq` of `queue`, and its place in the visibility order.
fn put_message(
    txn: &WriteTransaction,
    queue: QueueName,
    seq: u64,
    stored: &Stored,
) -> Result<(), QueueError> {
    let bytes = serde_json::to_vec(stored).expect("plain data");
    txn.open_table(MESSAGES)
        .map_err(unavailable)?
        .insert((queue.as_str(), seq), bytes.as_slice())
        .map_err(unavailable)?;
    txn.open_table(VISIBLE)
        .map_err(unavailable)?
        .insert((queue.as_str(), stored.visible_at_ms, seq), ())
        .map_err(unavailable)?;
    Ok(())
}

/// Removes message `seq` (as `stored` says it is) and its place in the visibility order.
fn remove_message(
    txn: &WriteTransaction,
    queue: QueueName,
    seq: u64,
    stored: &Stored,
) -> Result<(), QueueError> {
    txn.open_table(MESSAGES)
        .map_err(unavailable)?
        .remove((queue.as_str(), seq))
        .map_err(unavailable)?;
    txn.open_table(VISIBLE)
        .map_err(unavailable)?
        .remove((queue.as_str(), stored.visible_at_ms, seq))
        .map_err(unavailable)?;
    Ok(())
}

/// Message `seq` of `queue` if `receipt_count` is still its current receive.
fn received(
    txn: &WriteTransaction,
    queue: QueueName,
    seq: u64,
    receipt_count: u32,
) -> Result<Option<Stored>, QueueError> {
    let t = txn.open_table(MESSAGES).map_err(unavailable)?;
    let current = match t.get((queue.as_str(), seq)).map_err(unavailable)? {
        Some(v) => Some(read(v.value())?),
        None => None,
    };
    Ok(current.filter(|s| s.receive_count == receipt_count))
}

/// Changes a received message if `receipt` is still its current receipt (`None`: deletes
/// it); a stale receipt changes nothing.
fn with_received(
    txn: &WriteTransaction,
    queue: QueueName,
    (seq, count): (u64, u32),
    change: impl FnOnce(&Stored) -> Option<Stored>,
) -> Result<(), QueueError> {
    let Some(current) = received(txn, queue, seq, count)? else {
        return Ok(()); // already gone or received again since: stale receipt
    };
    remove_message(txn, queue, seq, &current)?;
    match change(&current) {
        Some(next) => put_message(txn, queue, seq, &next),
        None => Ok(()),
    }
}

/// Builds the visibility order for a store file written before it existed.
pub(crate) fn index_visible_messages(db: &redb::Database) -> Result<(), QueueError> {
    {
        let txn = db.begin_read().map_err(unavailable)?;
        let has_messages = match txn.open_table(MESSAGES) {
            Ok(_) => true,
            Err(redb::TableError::TableDoesNotExist(_)) => false,
            Err(e) => return Err(unavailable(e)),
        };
        let has_order = match txn.open_table(VISIBLE) {
            Ok(_) => true,
            Err(redb::TableError::TableDoesNotExist(_)) => false,
            Err(e) => return Err(unavailable(e)),
        };
        if has_order || !has_messages {
            return Ok(());
        }
    }
    let txn = db.begin_write().map_err(unavailable)?;
    {
        let messages = txn.open_table(MESSAGES).map_err(unavailable)?;
        let mut order = txn.open_table(VISIBLE).map_err(unavailable)?;
        for entry in messages.iter().map_err(unavailable)? {
            let (k, v) = entry.map_err(unavailable)?;
            let (queue, seq) = k.value();
            order
                .insert((queue, read(v.value())?.visible_at_ms, seq), ())
                .map_err(unavailable)?;
        }
    }
    txn.commit().map_err(unavailable)
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
        self.write(move |txn| enqueue(txn, queue, bodies, now))
            .await?;
        self.announce_arrival(queue);
        Ok(())
    }
}

/// Adds `bodies` to `queue` in `txn`, visible from `now_ms`, numbered after the last
/// message of any queue.
pub(crate) fn enqueue(
    txn: &WriteTransaction,
    queue: QueueName,
    bodies: Vec<String>,
    now_ms: i64,
) -> Result<(), QueueError> {
    let mut seq = {
        let seq_table = txn.open_table(SEQUENCE).map_err(unavailable)?;
        let last = seq_table.get("messages").map_err(unavailable)?;
        last.map_or(0, |v| v.value())
    };
    for body in bodies {
        seq += 1;
        let stored = Stored {
            body,
            receive_count: 0,
            visible_at_ms: now_ms,
        };
        put_message(txn, queue, seq, &stored)?;
    }
    txn.open_table(SEQUENCE)
        .map_err(unavailable)?
        .insert("messages", seq)
        .map_err(unavailable)?;
    Ok(())
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
        self.write(move |txn| {
            let due: Vec<(i64, u64)> = {
                let order = txn.open_table(VISIBLE).map_err(unavailable)?;
                let mut due = Vec::with_capacity(max);
                for entry in order
                    .range((queue.as_str(), i64::MIN, 0)..=(queue.as_str(), now, u64::MAX))
                    .map_err(unavailable)?
                    .take(max)
                {
                    let (k, _) = entry.map_err(unavailable)?;
                    let (_, visible_at, seq) = k.value();
                    due.push((visible_at, seq));
                }
                due
            };
            let mut out = Vec::with_capacity(due.len());
            for (visible_at, seq) in due {
                let stored = {
                    let t = txn.open_table(MESSAGES).map_err(unavailable)?;
                    let got = t.get((queue.as_str(), seq)).map_err(unavailable)?;
                    match got {
                        Some(v) => read(v.value())?,
                        None => {
                            return Err(unavailable(format!(
                                "queue order names a missing message {queue}-{seq} (visible at {visible_at})"
                            )));
                        }
                    }
                };
                remove_message(txn, queue, seq, &stored)?;
                if stored.receive_count >= max_receives {
                    txn.open_table(DEAD_LETTERS)
                        .map_err(unavailable)?
                        .insert((queue.as_str(), seq), stored.body.as_bytes())
                        .map_err(unavailable)?;
                    tracing::warn!(queue = %queue, seq, receives = stored.receive_count, "message moved to the dead-letter area");
                    continue;
                }
                let next = Stored {
                    receive_count: stored.receive_count + 1,
                    visible_at_ms: now + visibility.as_millis() as i64,
                    body: stored.body,
                };
                put_message(txn, queue, seq, &next)?;
                out.push(Delivery {
                    message_id: format!("{queue}-{seq}"),
                    receipt: receipt(seq, next.receive_count),
                    body: next.body,
                    receive_count: next.receive_count,
                });
            }
            Ok(out)
        })
        .await
    }

    async fn ack(&self, queue: QueueName, receipt: &str) -> Result<(), QueueError> {
        let receipt = parse_receipt(receipt)?;
        self.write(move |txn| with_received(txn, queue, receipt, |_| None))
            .await
    }

    async fn release(
        &self,
        queue: QueueName,
        receipt: &str,
        delay: Duration,
    ) -> Result<(), QueueError> {
        let receipt = parse_receipt(receipt)?;
        let visible_at_ms = self.inner.clock.now().millis() + delay.as_millis() as i64;
        self.write(move |txn| {
            with_received(txn, queue, receipt, |m| {
                Some(Stored {
                    body: m.body.clone(),
                    receive_count: m.receive_count,
                    visible_at_ms,
                })
            })
        })
        .await?;
        if delay.is_zero() {
            self.announce_arrival(queue);
        }
        Ok(())
    }

    async fn dead_letter(
        &self,
        queue: QueueName,
        delivery: &Delivery,
        reason: &str,
    ) -> Result<(), QueueError> {
        let (seq, count) = parse_receipt(&delivery.receipt)?;
        let reason = reason.to_string();
        self.write(move |txn| {
            let Some(current) = received(txn, queue, seq, count)? else {
                return Ok(()); // stale receipt: someone else holds it now
            };
            remove_message(txn, queue, seq, &current)?;
            txn.open_table(DEAD_LETTERS)
                .map_err(unavailable)?
                .insert((queue.as_str(), seq), current.body.as_bytes())
                .map_err(unavailable)?;
            txn.open_table(DEAD_LETTER_REASONS)
                .map_err(unavailable)?
                .insert((queue.as_str(), seq), reason.as_str())
                .map_err(unavailable)?;
            tracing::error!(%queue, seq, reason = %reason, "message dead-lettered");
            Ok(())
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
