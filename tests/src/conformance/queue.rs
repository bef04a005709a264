//! What every Queue adapter must do, as SQS does it: visibility timeouts, receive counts,
//! release, and dead-lettering after the receive limit.

use std::sync::Arc;
use std::time::Duration;

use upline_domain::clock::ManualClock;
use upline_domain::ports::{Delivery, Queue, QueueConsumer, QueueName};

/// How the suite makes time pass for the adapter under test.
pub enum Time {
    /// The adapter reads this clock; the suite moves it.
    Manual(Arc<ManualClock>),
    /// The adapter uses real time; the suite sleeps.
    Real,
}

/// Fresh, empty queues whose dead-letter limit is `max_receives`.
pub struct QueueFixture {
    /// Whatever must live as long as the fixture (a temporary folder, a server).
    pub keep_alive: Option<Box<dyn std::any::Any + Send + Sync>>,
    pub queue: Arc<dyn Queue>,
    pub consumer: Arc<dyn QueueConsumer>,
    pub max_receives: u32,
    pub time: Time,
}

/// SQS counts visibility in whole seconds.
const VISIBILITY: Duration = Duration::from_secs(1);

impl QueueFixture {
    /// Sends `bodies` to `q` (panics if the queue fails): leaves them waiting there.
    async fn send(&self, q: QueueName, bodies: Vec<String>) {
        self.queue.send(q, bodies).await.unwrap();
    }

    async fn pass(&self, d: Duration) {
        match &self.time {
            Time::Manual(clock) => clock.advance_secs(d.as_secs() as i64),
            Time::Real => tokio::time::sleep(d).await,
        }
    }

    /// Receives until `n` messages arrived or several empty receives in a row: SQS may
    /// return fewer messages than are available on any one receive.
    async fn receive_n(&self, q: QueueName, n: usize) -> Vec<Delivery> {
        let mut out = Vec::new();
        let mut empty = 0;
        while out.len() < n && empty < 5 {
            let got = self.consumer.receive(q, 10, VISIBILITY * 30).await.unwrap();
            if got.is_empty() {
                empty += 1;
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            out.extend(got);
        }
        out
    }

    async fn receive_now(&self, q: QueueName, visibility: Duration) -> Vec<Delivery> {
        self.consumer.receive(q, 10, visibility).await.unwrap()
    }
}

pub async fn a_sent_message_is_received_with_its_body_and_count_one(f: &QueueFixture) {
    f.send(QueueName::Clicks, vec!["hello".into()]).await;
    let got = f.receive_n(QueueName::Clicks, 1).await;
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].body, "hello");
    assert_eq!(got[0].receive_count, 1);
    assert!(!got[0].message_id.is_empty());
}

pub async fn a_received_message_stays_hidden_until_its_visibility_ends(f: &QueueFixture) {
    f.send(QueueName::Conversions, vec!["m".into()]).await;
    let first = f.receive_n(QueueName::Conversions, 1).await;
    assert_eq!(first.len(), 1);
    // Long visibility from receive_n: not visible again now.
    assert!(
        f.receive_now(QueueName::Conversions, VISIBILITY)
            .await
            .is_empty()
    );
    f.consumer
        .release(QueueName::Conversions, &first[0].receipt, VISIBILITY)
        .await
        .unwrap();
    assert!(
        f.receive_now(QueueName::Conversions, VISIBILITY)
            .await
            .is_empty()
    );
    f.pass(VISIBILITY * 2).await;
    let again = f.receive_n(QueueName::Conversions, 1).await;
    assert_eq!(again.len(), 1);
    assert_eq!(again[0].body, "m");
    assert_eq!(again[0].receive_count, 2);
}

pub async fn an_acked_message_is_gone_for_good(f: &QueueFixture) {
    f.send(QueueName::Emails, vec!["a".into(), "b".into()])
        .await;
    let got = f.receive_n(QueueName::Emails, 2).await;
    assert_eq!(got.len(), 2);
    for d in &got {
        f.consumer.ack(QueueName::Emails, &d.receipt).await.unwrap();
    }
    f.pass(VISIBILITY * 2).await;
    assert!(f.receive_n(QueueName::Emails, 1).await.is_empty());
}

pub async fn a_message_received_too_often_moves_to_the_dead_letters(f: &QueueFixture) {
    f.send(QueueName::Conversions, vec!["poisoned".into()])
        .await;
    for n in 1..=f.max_receives {
        let got = f.receive_n(QueueName::Conversions, 1).await;
        assert_eq!(got.len(), 1, "receive {n}");
        assert_eq!(got[0].receive_count, n);
        f.consumer
            .release(QueueName::Conversions, &got[0].receipt, Duration::ZERO)
            .await
            .unwrap();
    }
    assert!(f.receive_n(QueueName::Conversions, 1).await.is_empty());
    let dead = wait_for_dead_letters(f.consumer.as_ref(), QueueName::Conversions, 20).await;
    assert_eq!(dead, vec!["poisoned".to_string()]);
    // The producer side counts them (SQS's count is approximate: it may lag a moment).
    let mut count = None;
    for _ in 0..20 {
        count = f
            .queue
            .dead_letter_count(QueueName::Conversions)
            .await
            .unwrap();
        if count == Some(1) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(count, Some(1));
    assert_eq!(
        f.queue.dead_letter_count(QueueName::Emails).await.unwrap(),
        Some(0)
    );
}

pub async fn a_large_batch_is_delivered_exactly_once_per_message(f: &QueueFixture) {
    let bodies: Vec<String> = (0..25).map(|i| format!("m{i}")).collect();
    f.send(QueueName::Clicks, bodies.clone()).await;
    let got = f.receive_n(QueueName::Clicks, 25).await;
    let mut seen: Vec<String> = got.iter().map(|d| d.body.clone()).collect();
    seen.sort();
    let mut expected = bodies;
    expected.sort();
    assert_eq!(seen, expected);
}

pub async fn queues_do_not_share_messages(f: &QueueFixture) {
    f.send(QueueName::Clicks, vec!["click".into()]).await;
    assert!(f.receive_n(QueueName::Emails, 1).await.is_empty());
    assert_eq!(f.receive_n(QueueName::Clicks, 1).await[0].body, "click");
}

/// Asks for `queue`'s dead letters every 100 ms, `attempts` times at most, until there are
/// some (dead-lettering may lag behind a receive); what was there last (empty if nothing).
pub async fn wait_for_dead_letters(
    consumer: &dyn QueueConsumer,
    queue: QueueName,
    attempts: usize,
) -> Vec<String> {
    let mut dead = Vec::new();
    for _ in 0..attempts {
        dead = consumer.dead_letters(queue, 10).await.unwrap();
        if !dead.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    dead
}

/// Every check above, by name, for the macro.
#[macro_export]
macro_rules! queue_conformance {
    ($make:expr) => {
        $crate::conformance_tests!(
            $crate::conformance::queue,
            $make,
            [
                a_sent_message_is_received_with_its_body_and_count_one,
                a_received_message_stays_hidden_until_its_visibility_ends,
                an_acked_message_is_gone_for_good,
                a_message_received_too_often_moves_to_the_dead_letters,
                a_large_batch_is_delivered_exactly_once_per_message,
                queues_do_not_share_messages,
            ]
        );
    };
}
