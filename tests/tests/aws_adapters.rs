//! The AWS adapters' error paths on moto: a duplicate conversion is a conflict the domain
//! handles (not an error), a transaction cancelled by one line writes no line, a message
//! that keeps failing lands in the dead-letter queue, and SES tells a rejected message
//! from a sent one.

use std::sync::Arc;
use std::time::Duration;
use upline_domain::ids::{CampaignId, ConversionId};

use async_trait::async_trait;
use upline_aws::{DynamoTable, SesMailer};
use upline_domain::clock::Timestamp;
use upline_domain::commission::{CommissionLine, Rule};
use upline_domain::ports::{
    Delivery, DeliveryOutcome, MailError, Mailer, MessageHandler, OutgoingEmail, Queue,
    QueueConsumer, QueueName, Table, TableError,
};
use upline_domain::store::Store;
use upline_local::consumers::{self, ConsumerSettings};
use upline_tests::aws::{
    moto_clients, moto_endpoint, new_queues, new_table, sent_emails, unique, verify_sender,
};
use upline_tests::conformance::queue::wait_for_dead_letters;
use upline_tests::samples;

/// A pending 1.00 CPA line of campaign `c` at `level`, for partner `p<level>`.
fn line(conversion: &str, level: u8) -> CommissionLine {
    let created = Timestamp(1_795_000_000_000);
    let mut line = samples::line(conversion, &format!("p{level}"), created, Timestamp(0));
    line.id = format!("{conversion}:{level}").into();
    line.campaign_id = "c".into();
    line.level = level;
    line.amount = upline_domain::money::Money::from_minor(100, line.amount.currency());
    line.explanation.rule = Rule::Cpa;
    line.explanation.level = level;
    line.explanation.base_minor = 100;
    line.explanation.cpa_minor = Some(100);
    line.explanation.summary = "CPA".into();
    line
}

/// A new, empty table on moto.
async fn table(prefix: &str) -> DynamoTable {
    let c = moto_clients().await;
    let name = new_table(&c, prefix).await;
    DynamoTable::new(c.dynamodb, name)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_transaction_cancelled_by_one_line_writes_none_of_the_lines() {
    let table = table("tx").await;
    let store = Store::new(Arc::new(table.clone()));
    // Level 1 already exists, as if another delivery had written it.
    table
        .transact(vec![Store::line_put(&line("conv", 1))])
        .await
        .unwrap();
    let ops = (0..3).map(|l| Store::line_put(&line("conv", l))).collect();
    assert_eq!(
        table.transact(ops).await,
        Err(TableError::TransactionCancelled {
            failed: vec![false, true, false]
        })
    );
    let levels: Vec<u8> = store
        .lines_of_conversion(&ConversionId::from("conv"))
        .await
        .unwrap()
        .iter()
        .map(|l| l.level)
        .collect();
    assert_eq!(levels, vec![1], "levels 0 and 2 were not written");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_open_work_index_reads_on_dynamodb() {
    // The sweep's and the console's read of conversions still waiting for their
    // commission: DynamoDB refuses empty key values even as query bounds.
    let table = table("open").await;
    let store = Store::new(Arc::new(table));
    let waiting = store
        .conversions_awaiting_commission(Timestamp(1_795_262_400_000), 10)
        .await
        .unwrap();
    assert!(waiting.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_duplicate_order_marker_is_a_condition_failure_not_an_outage() {
    let table = table("dup").await;
    let marker = || {
        Store::unique_marker(
            upline_domain::store::keys::order(&CampaignId::from("c"), "o-1"),
            "conv-1",
        )
    };
    table.transact(vec![marker()]).await.unwrap();
    match table.transact(vec![marker()]).await {
        Err(TableError::TransactionCancelled { failed }) => assert_eq!(failed, vec![true]),
        other => panic!("expected a cancellation by the condition, got {other:?}"),
    }
    let upline_domain::ports::TxOp::Put(item, cond) = marker() else {
        unreachable!()
    };
    assert_eq!(
        table.put(item, cond).await,
        Err(TableError::ConditionFailed)
    );
}

/// A stage that never succeeds and counts its attempts.
struct AlwaysLater(std::sync::atomic::AtomicU32);

#[async_trait]
impl MessageHandler for AlwaysLater {
    async fn handle(&self, batch: &[Delivery]) -> Vec<DeliveryOutcome> {
        self.0
            .fetch_add(batch.len() as u32, std::sync::atomic::Ordering::SeqCst);
        vec![DeliveryOutcome::Retry; batch.len()]
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_that_fails_three_times_lands_in_the_dead_letter_queue() {
    let queues = new_queues(&moto_clients().await, "dlq", 3).await;
    queues
        .send(QueueName::Conversions, vec!["never works".into()])
        .await
        .unwrap();
    let handler = Arc::new(AlwaysLater(Default::default()));
    let (stop, stop_rx) = tokio::sync::watch::channel(false);
    let settings = ConsumerSettings {
        batch_size: 10,
        visibility: Duration::from_secs(30),
        idle_wait: Duration::from_millis(100),
        retry_base: Duration::ZERO,
        ..ConsumerSettings::default()
    };
    let poller = tokio::spawn(consumers::run(
        Arc::new(queues.clone()),
        QueueName::Conversions,
        handler.clone(),
        settings,
        stop_rx,
    ));
    let dead = wait_for_dead_letters(&queues, QueueName::Conversions, 100).await;
    stop.send(true).unwrap();
    poller.await.unwrap();
    assert_eq!(dead, vec!["never works".to_string()]);
    assert_eq!(
        handler.0.load(std::sync::atomic::Ordering::SeqCst),
        3,
        "handled exactly three times"
    );
    assert!(
        queues
            .receive(QueueName::Conversions, 10, Duration::from_secs(1))
            .await
            .unwrap()
            .is_empty()
    );
}

fn email(key: &str) -> OutgoingEmail {
    OutgoingEmail {
        idempotency_key: key.into(),
        to: "ann@example.com".into(),
        subject: "You earned 5.00 USD".into(),
        text: "text part".into(),
        html: "<p>html part</p>".into(),
        unsubscribe_url: Some("https://links.test/unsubscribe/t".into()),
        tags: vec![("template".into(), "commission_earned".into())],
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ses_sends_raw_mime_from_a_verified_sender_and_rejects_an_unverified_one() {
    let c = moto_clients().await;
    let sender = format!("{}@upline.test", unique("ses"));
    verify_sender(&c, &sender).await;
    let key = unique("key");
    SesMailer::new(c.ses.clone(), sender.clone(), None)
        .send(&email(&key))
        .await
        .unwrap();
    let sent: Vec<_> = sent_emails(&moto_endpoint())
        .await
        .into_iter()
        .filter(|m| m.source == sender)
        .collect();
    assert_eq!(sent.len(), 1);
    // moto lists the raw To: header's recipients next to the explicit destinations.
    assert!(!sent[0].destinations.is_empty());
    assert!(
        sent[0].destinations.iter().all(|d| d == "ann@example.com"),
        "{:?}",
        sent[0].destinations
    );
    assert_eq!(sent[0].stem().as_deref(), Some(key.as_str()));
    assert!(
        sent[0]
            .raw
            .contains("List-Unsubscribe: <https://links.test/unsubscribe/t>")
    );
    assert!(sent[0].raw.contains("text part") && sent[0].raw.contains("<p>html part</p>"));

    let unverified = SesMailer::new(c.ses, format!("{}@upline.test", unique("nobody")), None);
    match unverified.send(&email("k2")).await {
        Err(MailError::Rejected(reason)) => assert!(reason.contains("MessageRejected"), "{reason}"),
        other => panic!("expected a permanent rejection, got {other:?}"),
    }
}
