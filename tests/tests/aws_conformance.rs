//! The port conformance suites against the AWS adapters on moto: the same test bodies the
//! embedded adapters pass.

use std::sync::Arc;

use upline_aws::{AwsClients, DynamoTable, SqsQueues};
use upline_tests::aws::{create_queues, create_table, moto_endpoint, sdk_config, unique};
use upline_tests::conformance::queue::{QueueFixture, Time};
use upline_tests::conformance::table::TableFixture;

async fn table() -> TableFixture {
    let clients = AwsClients::new(&sdk_config(&moto_endpoint()).await);
    let name = unique("conformance");
    create_table(&clients, &name).await;
    TableFixture {
        keep_alive: None,
        table: Arc::new(DynamoTable::new(clients.dynamodb, name)),
    }
}

async fn queue() -> QueueFixture {
    let clients = AwsClients::new(&sdk_config(&moto_endpoint()).await);
    let urls = create_queues(&clients, &unique("conformance"), 3).await;
    let queues = SqsQueues::new(clients.sqs, urls);
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
