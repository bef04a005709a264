//! The port conformance suites against the embedded (redb) adapters.

use std::sync::Arc;

use upline_domain::clock::{ManualClock, SystemClock, Timestamp};
use upline_embedded::EmbeddedStore;
use upline_tests::conformance::queue::{QueueFixture, Time};
use upline_tests::conformance::table::TableFixture;

/// Each fixture gets its own file in a temporary folder that lives as long as the test.
fn open(clock: Arc<dyn upline_domain::clock::Clock>) -> (EmbeddedStore, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let store = EmbeddedStore::open(&dir.path().join("store.redb"), clock, 3).unwrap();
    (store, dir)
}

async fn table() -> TableFixture {
    let (store, dir) = open(Arc::new(SystemClock));
    TableFixture {
        keep_alive: Some(Box::new(dir)),
        table: Arc::new(store),
    }
}

async fn queue() -> QueueFixture {
    let clock = Arc::new(ManualClock::at(Timestamp(1_700_000_000_000)));
    let (store, dir) = open(clock.clone());
    QueueFixture {
        keep_alive: Some(Box::new(dir)),
        queue: Arc::new(store.clone()),
        consumer: Arc::new(store),
        max_receives: 3,
        time: Time::Manual(clock),
    }
}

mod table {
    upline_tests::table_conformance!(super::table());
}

mod queue {
    upline_tests::queue_conformance!(super::queue());
}

/// The writer's group commit (`infra/embedded/src/group.rs`): writes that arrive together
/// share a transaction, yet each keeps its own outcome.
mod group_commit {
    use std::sync::Arc;

    use upline_domain::clock::SystemClock;
    use upline_domain::ports::{Condition, Item, Key, Table, TableError, TxOp, Update};

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn writes_arriving_together_keep_their_own_outcomes() {
        let (store, _dir) = super::open(Arc::new(SystemClock));
        let store: Arc<dyn Table> = Arc::new(store);
        store
            .put(
                Item::new(Key::new("P", "text")).with("v", "a string"),
                Condition::None,
            )
            .await
            .unwrap();
        let mut writes = tokio::task::JoinSet::new();
        for i in 0..60 {
            let s = store.clone();
            writes.spawn(async move {
                let item = Item::new(Key::new("P", format!("own-{i:02}"))).with("n", i64::from(i));
                ("own", s.put(item, Condition::NotExists).await)
            });
        }
        for i in 0..8 {
            let s = store.clone();
            writes.spawn(async move {
                let item = Item::new(Key::new("P", "contended")).with("by", i64::from(i));
                ("contended", s.put(item, Condition::NotExists).await)
            });
        }
        for _ in 0..4 {
            let s = store.clone();
            writes.spawn(async move {
                // Its first operation is fine; its second adds to a string, which is refused
                // after the conditions held, before anything is written.
                let ops = vec![
                    TxOp::Put(
                        Item::new(Key::new("P", "half")).with("v", 1),
                        Condition::None,
                    ),
                    TxOp::Update(
                        Key::new("P", "text"),
                        Update::default().add("v", 1),
                        Condition::Exists,
                    ),
                ];
                ("refused", s.transact(ops).await)
            });
        }
        let mut won = 0;
        while let Some(done) = writes.join_next().await {
            match done.unwrap() {
                ("own", r) => r.expect("a write on its own key is stored"),
                ("contended", Ok(())) => won += 1,
                ("contended", Err(e)) => assert_eq!(e, TableError::ConditionFailed),
                (_, r) => assert!(
                    matches!(r, Err(TableError::Invalid(_))),
                    "the refused transaction fails alone: {r:?}"
                ),
            }
        }
        assert_eq!(won, 1, "exactly one of the contending writes wins");
        for i in 0..60 {
            let got = store
                .get(&Key::new("P", format!("own-{i:02}")))
                .await
                .unwrap()
                .expect("stored");
            assert_eq!(got.n("n"), Some(i64::from(i)));
        }
        assert_eq!(
            store.get(&Key::new("P", "half")).await.unwrap(),
            None,
            "a refused transaction writes none of its operations"
        );
        assert_eq!(
            store
                .get(&Key::new("P", "text"))
                .await
                .unwrap()
                .unwrap()
                .s("v"),
            Some("a string")
        );
    }
}

/// `Table::transact_announcing` on the embedded store: the announcement is written in the
/// transaction's own commit, so a change and its messages are stored together or not at
/// all, also when many arrive in one group commit.
mod announcing {
    use std::collections::BTreeSet;
    use std::sync::Arc;
    use std::time::Duration;

    use upline_domain::clock::SystemClock;
    use upline_domain::ports::{
        Condition, Item, Key, QueueConsumer, QueueName, Table, TableError, TxOp,
    };

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_change_and_its_announcement_are_stored_together_or_not_at_all() {
        let (store, _dir) = super::open(Arc::new(SystemClock));
        let table: Arc<dyn Table> = Arc::new(store.clone());
        // Twenty writers race for ten keys, each announcing itself; the loser of each key
        // must leave no message behind.
        let mut writes = tokio::task::JoinSet::new();
        for writer in 0..20 {
            let t = table.clone();
            writes.spawn(async move {
                let key = Key::new("P", format!("k-{}", writer % 10));
                let op = TxOp::Put(
                    Item::new(key).with("by", i64::from(writer)),
                    Condition::NotExists,
                );
                let bodies = vec![format!("{writer}-a"), format!("{writer}-b")];
                (
                    writer,
                    t.transact_announcing(vec![op], QueueName::Emails, bodies)
                        .await,
                )
            });
        }
        let mut winners = BTreeSet::new();
        while let Some(done) = writes.join_next().await {
            match done.unwrap() {
                (writer, Ok(unsent)) => {
                    assert!(unsent.is_empty(), "sent in the commit: {unsent:?}");
                    winners.insert(writer);
                }
                (_, Err(e)) => assert!(
                    matches!(e, TableError::TransactionCancelled { .. }),
                    "{e:?}"
                ),
            }
        }
        assert_eq!(winners.len(), 10, "one writer per key");
        let mut received = BTreeSet::new();
        loop {
            let batch = store
                .receive(QueueName::Emails, 10, Duration::from_secs(60))
                .await
                .unwrap();
            if batch.is_empty() {
                break;
            }
            received.extend(batch.into_iter().map(|d| d.body));
        }
        let expected: BTreeSet<String> = winners
            .iter()
            .flat_map(|w| [format!("{w}-a"), format!("{w}-b")])
            .collect();
        assert_eq!(
            received, expected,
            "exactly the stored changes' announcements"
        );
        for k in 0..10 {
            let item = table.get(&Key::new("P", format!("k-{k}"))).await.unwrap();
            let by = item.and_then(|i| i.n("by")).expect("stored");
            assert!(winners.contains(&(by as i32)), "key {k} stored by a winner");
        }
    }
}

/// A consumer's wait is woken by a message sent after its empty receive but before the
/// wait began (the gap in the local consumer loop), not only by one sent while it waits:
/// otherwise the message sits until the wait times out.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_sent_just_before_the_wait_still_wakes_it() {
    use std::time::{Duration, Instant};
    use upline_domain::ports::{
        Condition, Item, Key, Queue, QueueConsumer, QueueName, Table, TxOp,
    };

    let (store, _dir) = open(Arc::new(SystemClock));
    // Whether the next wait ends long before its minute is up, as only a wake-up makes it.
    let woken = || async {
        let patience = Duration::from_secs(60);
        let started = Instant::now();
        store.wait_for_messages(QueueName::Emails, patience).await;
        started.elapsed() < patience / 2
    };
    store
        .send(QueueName::Emails, vec!["sent".into()])
        .await
        .unwrap();
    assert!(woken().await, "a plain send wakes the next wait");
    let op = TxOp::Put(Item::new(Key::new("P", "k")), Condition::NotExists);
    store
        .transact_announcing(vec![op], QueueName::Emails, vec!["announced".into()])
        .await
        .unwrap();
    assert!(
        woken().await,
        "an announcement in a transaction wakes the next wait"
    );
}

/// A store file written before queues kept their visibility order still delivers the
/// messages it holds.
#[tokio::test]
async fn queued_messages_from_an_older_store_file_are_delivered() {
    use redb::TableDefinition;
    use std::time::Duration;
    use upline_domain::ports::{Queue, QueueConsumer, QueueName};

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store.redb");
    {
        let db = redb::Database::create(&path).unwrap();
        let txn = db.begin_write().unwrap();
        {
            let messages: TableDefinition<(&str, u64), &[u8]> =
                TableDefinition::new("queue_messages");
            let mut t = txn.open_table(messages).unwrap();
            for (seq, body) in [(1u64, "first"), (2, "second")] {
                let stored = format!(r#"{{"body":"{body}","receive_count":0,"visible_at_ms":0}}"#);
                t.insert(("clicks", seq), stored.as_bytes()).unwrap();
            }
            let sequence: TableDefinition<&str, u64> = TableDefinition::new("queue_sequence");
            txn.open_table(sequence)
                .unwrap()
                .insert("messages", 2)
                .unwrap();
        }
        txn.commit().unwrap();
    }
    let store = EmbeddedStore::open(&path, Arc::new(SystemClock), 3).unwrap();
    store
        .send(QueueName::Clicks, vec!["third".into()])
        .await
        .unwrap();
    let got = store
        .receive(QueueName::Clicks, 10, Duration::from_secs(30))
        .await
        .unwrap();
    let bodies: Vec<&str> = got.iter().map(|d| d.body.as_str()).collect();
    assert_eq!(bodies, ["first", "second", "third"]);
    for d in &got {
        store.ack(QueueName::Clicks, &d.receipt).await.unwrap();
    }
    assert!(
        store
            .receive(QueueName::Clicks, 10, Duration::from_secs(0))
            .await
            .unwrap()
            .is_empty()
    );
}
