//! The local host's click buffer: the redirect hands its click to memory and answers; a
//! flusher records what gathered every few milliseconds (or sooner, once a batch is full)
//! with the click recorder itself, in one transaction, so a redirect never waits on the
//! disk and a thousand clicks share one commit. In one process the hop through the clicks
//! queue would only copy each click twice more; a click the recorder cannot take now
//! (its outcome is a retry or a dead letter) goes to the clicks queue, whose consumer
//! retries it or dead-letters it as on AWS.
//!
//! The price is a bound on loss: a crash (not a graceful stop, which flushes everything)
//! loses the clicks not yet flushed — those of the last flush window, a few milliseconds
//! of traffic, and never more than [`ClickBufferSettings::capacity`]. A Lambda redirect
//! loses a click only when SQS refuses it. Every other queue's messages pass straight
//! through: a postback still answers only once its work is stored.
//!
//! When the store cannot take clicks, they stay buffered and the flusher tries again; once
//! the buffer is full, a redirect waits for room up to its publish timeout and then counts
//! the click lost, as it would on a queue that does not answer.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use tokio::sync::{Notify, Semaphore};
use tokio::task::JoinHandle;
use upline_domain::ports::{
    Delivery, DeliveryOutcome, MessageHandler, Queue, QueueError, QueueName,
};

/// How the buffer trades loss on a crash for fewer, larger writes.
#[derive(Clone, Copy, Debug)]
pub struct ClickBufferSettings {
    /// The longest a click waits in memory before the flusher writes it.
    pub every: Duration,
    /// A batch this full is flushed at once.
    pub batch: usize,
    /// The most clicks held at once; beyond it a redirect waits for room.
    pub capacity: usize,
}

impl Default for ClickBufferSettings {
    fn default() -> Self {
        // A commit costs about a millisecond of CPU whatever it holds (redb rewrites the
        // B-tree pages it touched, then fsyncs); every 10 ms keeps commits to a tenth of a
        // core under a full load.
        ClickBufferSettings {
            every: Duration::from_millis(10),
            batch: 2_000,
            capacity: 100_000,
        }
    }
}

/// A [`Queue`] that buffers the clicks queue and passes every other queue through.
pub struct ClickBuffer {
    shared: Arc<Shared>,
    flusher: Mutex<Option<JoinHandle<()>>>,
}

struct Shared {
    queue: Arc<dyn Queue>,
    /// Records flushed clicks directly; without it they go to the clicks queue.
    recorder: Option<Arc<dyn MessageHandler>>,
    settings: ClickBufferSettings,
    pending: Mutex<Vec<String>>,
    /// One permit per click the buffer has room for.
    room: Semaphore,
    full_batch: Notify,
    closing: AtomicBool,
    /// Clicks dropped at close because the store would not take them.
    lost: AtomicU64,
}

impl ClickBuffer {
    /// Starts the flusher in front of `queue`, recording with `recorder` when given (call
    /// from within the runtime).
    pub fn start(
        queue: Arc<dyn Queue>,
        recorder: Option<Arc<dyn MessageHandler>>,
        settings: ClickBufferSettings,
    ) -> Arc<ClickBuffer> {
        let shared = Arc::new(Shared {
            queue,
            recorder,
            settings,
            pending: Mutex::new(Vec::new()),
            room: Semaphore::new(settings.capacity),
            full_batch: Notify::new(),
            closing: AtomicBool::new(false),
            lost: AtomicU64::new(0),
        });
        let flusher = tokio::spawn(flush_until_closed(shared.clone()));
        Arc::new(ClickBuffer {
            shared,
            flusher: Mutex::new(Some(flusher)),
        })
    }

    /// Flushes everything buffered and stops the flusher; clicks sent afterwards go
    /// straight to the queue. Returns how many clicks could not be stored.
    pub async fn close(&self) -> u64 {
        self.shared.closing.store(true, Ordering::SeqCst);
        self.shared.full_batch.notify_one();
        let flusher = self
            .flusher
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take();
        if let Some(flusher) = flusher {
            let _ = flusher.await;
        }
        self.shared.lost.load(Ordering::Relaxed)
    }
}

async fn flush_until_closed(shared: Arc<Shared>) {
    loop {
        let closing = shared.closing.load(Ordering::SeqCst);
        if !closing {
            tokio::select! {
                _ = tokio::time::sleep(shared.settings.every) => {}
                _ = shared.full_batch.notified() => {}
            }
        }
        let stored = shared.flush().await;
        if closing {
            let left = shared.take(usize::MAX).len() as u64;
            if left > 0 {
                shared.lost.fetch_add(left, Ordering::Relaxed);
                tracing::error!(
                    clicks = left,
                    "clicks not stored at shutdown: the store refused them"
                );
            }
            return;
        }
        if !stored {
            // The store refused the batch: give it a moment before the next try.
            tokio::time::sleep(shared.settings.every * 20).await;
        }
    }
}

impl Shared {
    fn take(&self, max: usize) -> Vec<String> {
        let mut pending = self.pending.lock().unwrap_or_else(|p| p.into_inner());
        let n = pending.len().min(max);
        pending.drain(..n).collect()
    }

    fn put_back(&self, batch: Vec<String>) {
        let mut pending = self.pending.lock().unwrap_or_else(|p| p.into_inner());
        pending.splice(0..0, batch);
    }

    /// Writes everything buffered, a batch per send; `false` if the store refused a batch
    /// (which is kept, in order, for the next try).
    async fn flush(&self) -> bool {
        loop {
            let batch = self.take(self.settings.batch);
            if batch.is_empty() {
                return true;
            }
            let n = batch.len();
            let unrecorded = self.record(batch).await;
            if unrecorded.is_empty() {
                self.room.add_permits(n);
                continue;
            }
            let left = unrecorded.len();
            match self.queue.send(QueueName::Clicks, unrecorded.clone()).await {
                Ok(()) => self.room.add_permits(n),
                Err(e) => {
                    tracing::warn!(clicks = left, error = %e, "buffered clicks not stored yet; trying again");
                    self.room.add_permits(n - left);
                    self.put_back(unrecorded);
                    return false;
                }
            }
        }
    }

    /// Records `batch` with the recorder; returns the clicks it did not finish, in order
    /// (all of them without a recorder).
    async fn record(&self, batch: Vec<String>) -> Vec<String> {
        let Some(recorder) = &self.recorder else {
            return batch;
        };
        let deliveries: Vec<Delivery> = batch
            .into_iter()
            .enumerate()
            .map(|(i, body)| Delivery {
                message_id: format!("buffered-{i}"),
                receipt: String::new(),
                body,
                receive_count: 1,
            })
            .collect();
        let outcomes =
            upline_domain::ports::queue::handle_guarded(recorder.as_ref(), &deliveries).await;
        deliveries
            .into_iter()
            .zip(outcomes)
            .filter(|(_, outcome)| *outcome != DeliveryOutcome::Done)
            .map(|(d, _)| d.body)
            .collect()
    }
}

#[async_trait]
impl Queue for ClickBuffer {
    async fn send(&self, queue: QueueName, bodies: Vec<String>) -> Result<(), QueueError> {
        let shared = &self.shared;
        if queue != QueueName::Clicks || shared.closing.load(Ordering::SeqCst) {
            return shared.queue.send(queue, bodies).await;
        }
        let n = bodies.len().min(shared.settings.capacity);
        let permits = u32::try_from(n).unwrap_or(u32::MAX);
        shared
            .room
            .acquire_many(permits)
            .await
            .map_err(|_| QueueError::Unavailable("the click buffer is closed".into()))?
            .forget();
        let full = {
            let mut pending = shared.pending.lock().unwrap_or_else(|p| p.into_inner());
            pending.extend(bodies);
            pending.len() >= shared.settings.batch
        };
        if full {
            shared.full_batch.notify_one();
        }
        Ok(())
    }

    async fn dead_letter_count(&self, queue: QueueName) -> Result<Option<u64>, QueueError> {
        self.shared.queue.dead_letter_count(queue).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;

    /// A queue that records what it was sent, refusing sends while `refuse` is set.
    #[derive(Default)]
    struct Recording {
        sends: AtomicUsize,
        bodies: Mutex<Vec<(QueueName, String)>>,
        refuse: AtomicBool,
    }

    #[async_trait]
    impl Queue for Recording {
        async fn send(&self, queue: QueueName, bodies: Vec<String>) -> Result<(), QueueError> {
            if self.refuse.load(Ordering::SeqCst) {
                return Err(QueueError::Unavailable("refused".into()));
            }
            self.sends.fetch_add(1, Ordering::SeqCst);
            let mut got = self.bodies.lock().unwrap();
            got.extend(bodies.into_iter().map(|b| (queue, b)));
            Ok(())
        }
    }

    fn clicks(q: &Recording) -> Vec<String> {
        let got = q.bodies.lock().unwrap();
        got.iter()
            .filter(|(queue, _)| *queue == QueueName::Clicks)
            .map(|(_, b)| b.clone())
            .collect()
    }

    #[tokio::test]
    async fn clicks_are_flushed_in_batches_and_in_order_other_queues_pass_through() {
        let inner = Arc::new(Recording::default());
        let settings = ClickBufferSettings {
            every: Duration::from_secs(3600),
            batch: 100,
            capacity: 1_000,
        };
        let buffer = ClickBuffer::start(inner.clone(), None, settings);
        buffer
            .send(QueueName::Conversions, vec!["sale".into()])
            .await
            .unwrap();
        assert_eq!(inner.bodies.lock().unwrap().len(), 1, "not buffered");
        let send = |i: usize| {
            let buffer = buffer.clone();
            async move {
                buffer
                    .send(QueueName::Clicks, vec![format!("c{i}")])
                    .await
                    .unwrap()
            }
        };
        for i in 0..50 {
            send(i).await;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(
            clicks(&inner).is_empty(),
            "half a batch waits for its window"
        );
        for i in 50..250 {
            send(i).await;
        }
        // A full batch is flushed without waiting for the hour, so at most a partial batch
        // is left waiting.
        for _ in 0..200 {
            if clicks(&inner).len() > 250 - 100 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        assert!(clicks(&inner).len() > 250 - 100);
        assert_eq!(buffer.close().await, 0);
        let expected: Vec<String> = (0..250).map(|i| format!("c{i}")).collect();
        assert_eq!(clicks(&inner), expected, "every click, once, in order");
        assert!(
            inner.sends.load(Ordering::SeqCst) <= 1 + 250 / 100 + 2,
            "batched: {} sends",
            inner.sends.load(Ordering::SeqCst)
        );
    }

    #[tokio::test]
    async fn a_refusing_store_keeps_clicks_buffered_and_a_full_buffer_makes_senders_wait() {
        let inner = Arc::new(Recording::default());
        inner.refuse.store(true, Ordering::SeqCst);
        let settings = ClickBufferSettings {
            every: Duration::from_millis(1),
            batch: 10,
            capacity: 20,
        };
        let buffer = ClickBuffer::start(inner.clone(), None, settings);
        for i in 0..20 {
            buffer
                .send(QueueName::Clicks, vec![format!("c{i}")])
                .await
                .unwrap();
        }
        let waiting = tokio::time::timeout(
            Duration::from_millis(100),
            buffer.send(QueueName::Clicks, vec!["c20".into()]),
        )
        .await;
        assert!(waiting.is_err(), "no room while the store refuses");
        inner.refuse.store(false, Ordering::SeqCst);
        tokio::time::timeout(
            Duration::from_secs(5),
            buffer.send(QueueName::Clicks, vec!["c20".into()]),
        )
        .await
        .expect("room once the store takes clicks again")
        .unwrap();
        assert_eq!(buffer.close().await, 0);
        let expected: Vec<String> = (0..=20).map(|i| format!("c{i}")).collect();
        assert_eq!(clicks(&inner), expected);
    }

    #[tokio::test]
    async fn clicks_the_store_refuses_at_close_are_counted_lost() {
        let inner = Arc::new(Recording::default());
        inner.refuse.store(true, Ordering::SeqCst);
        let buffer = ClickBuffer::start(inner.clone(), None, ClickBufferSettings::default());
        for i in 0..3 {
            buffer
                .send(QueueName::Clicks, vec![format!("c{i}")])
                .await
                .unwrap();
        }
        assert_eq!(buffer.close().await, 3);
    }

    /// Records every click whose body does not start with "bad".
    struct PickyRecorder {
        recorded: Mutex<Vec<String>>,
    }

    #[async_trait]
    impl MessageHandler for PickyRecorder {
        async fn handle(&self, batch: &[Delivery]) -> Vec<DeliveryOutcome> {
            batch
                .iter()
                .map(|d| {
                    if d.body.starts_with("bad") {
                        DeliveryOutcome::Retry
                    } else {
                        self.recorded.lock().unwrap().push(d.body.clone());
                        DeliveryOutcome::Done
                    }
                })
                .collect()
        }
    }

    #[tokio::test]
    async fn the_recorder_takes_flushed_clicks_and_the_queue_gets_what_it_could_not() {
        let inner = Arc::new(Recording::default());
        let recorder = Arc::new(PickyRecorder {
            recorded: Mutex::new(vec![]),
        });
        let buffer = ClickBuffer::start(
            inner.clone(),
            Some(recorder.clone()),
            ClickBufferSettings::default(),
        );
        for body in ["c0", "bad1", "c2", "bad3"] {
            buffer
                .send(QueueName::Clicks, vec![body.into()])
                .await
                .unwrap();
        }
        assert_eq!(buffer.close().await, 0);
        assert_eq!(*recorder.recorded.lock().unwrap(), ["c0", "c2"]);
        assert_eq!(
            clicks(&inner),
            ["bad1", "bad3"],
            "left for the queue's retries"
        );
    }
}
