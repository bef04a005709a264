//! The port conformance suites against the AWS adapters on moto: the same test bodies the
//! embedded adapters pass.

use std::sync::Arc;

use upline_aws::DynamoTable;
use upline_tests::aws::{moto_clients, new_queues, new_table};
use upline_tests::conformance::queue::{QueueFixture, Time};
use upline_tests::conformance::table::TableFixture;

async fn table() -> TableFixture {
    let clients = moto_clients().await;
    let name = new_table(&clients, "conformance").await;
    TableFixture {
        keep_alive: None,
        table: Arc::new(DynamoTable::new(clients.dynamodb, name)),
    }
}

async fn queue() -> QueueFixture {
    let queues = new_queues(&moto_clients().await, "conformance", 3).await;
    QueueFixture {
        keep_alive: None,
        queue: Arc::new(queues.clone()),
        consumer: Arc::new(queues),
        max_receives: 3,
        time: Time::Real,
    }
}

mod table {
    upline_tests::table_conformance!(super::table());
}

mod queue {
    upline_tests::queue_conformance!(super::queue());
}
