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
