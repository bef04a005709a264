//! What every Lambda `main` shares, so each `main.rs` only wires: JSON logs, the AWS
//! clients built once from the standard environment, the adapters over them, and the two
//! ways a function runs — behind the HTTP API, or on SQS batches with partial failures.

use std::collections::HashMap;
use std::sync::Arc;

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use lambda_runtime::{LambdaEvent, service_fn};
use upline_aws::{AwsClients, DynamoTable, QueueUrls, SqsQueues};
use upline_domain::clock::SystemClock;
use upline_domain::ids::RandomIds;
use upline_domain::ports::{MessageHandler, QueueName};
use upline_domain::services::{Deployment, Services};

pub use lambda_runtime::Error;

/// Structured JSON logs on stdout (CloudWatch keeps them), filtered by `RUST_LOG`
/// (default `info`). No ANSI colours, no timestamps (CloudWatch adds its own).
pub fn init_tracing() {
    tracing_subscriber::fmt()
        .json()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .with_ansi(false)
        .without_time()
        .with_current_span(false)
        .init();
}

/// The AWS clients, built once per cold start.
pub async fn clients() -> AwsClients {
    AwsClients::new(&upline_aws::load_sdk_config().await)
}

/// The table adapter.
pub fn table(clients: &AwsClients, table_name: &str) -> DynamoTable {
    DynamoTable::new(clients.dynamodb.clone(), table_name)
}

/// Producer-side queues: only the ones this function sends to.
pub fn queues(clients: &AwsClients, urls: &[(QueueName, &str)]) -> SqsQueues {
    let urls: HashMap<QueueName, QueueUrls> = urls
        .iter()
        .map(|(q, url)| {
            let urls = QueueUrls {
                queue: url.to_string(),
                dead_letters: String::new(),
            };
            (*q, urls)
        })
        .collect();
    SqsQueues::new(clients.sqs.clone(), urls)
}

/// The use cases' ports over AWS, with the real clock and ids.
pub fn services(
    clients: &AwsClients,
    table_name: &str,
    sends_to: &[(QueueName, &str)],
    deployment: Deployment,
) -> Services {
    Services::new(
        Arc::new(table(clients, table_name)),
        Arc::new(queues(clients, sends_to)),
        Arc::new(SystemClock),
        Arc::new(RandomIds),
        deployment,
    )
}

/// Serves an HTTP function's router behind API Gateway's HTTP API.
pub async fn run_http(router: axum::Router) -> Result<(), Error> {
    lambda_http::run(router).await
}

/// The queue a consumer function is triggered by, with its dead-letter queue: where it
/// puts the messages it gives up on (and, with back-off, whose retries it delays).
pub fn consumer_queue(
    clients: &AwsClients,
    queue: QueueName,
    queue_url: &str,
    dead_letter_queue_url: &str,
) -> Arc<SqsQueues> {
    let urls = QueueUrls {
        queue: queue_url.to_string(),
        dead_letters: dead_letter_queue_url.to_string(),
    };
    Arc::new(SqsQueues::new(
        clients.sqs.clone(),
        HashMap::from([(queue, urls)]),
    ))
}

/// Runs a consumer stage on SQS batches of `queue`, reporting only the messages to retry
/// and dead-lettering those that cannot succeed.
pub async fn run_sqs(
    handler: Arc<dyn MessageHandler>,
    queues: Arc<SqsQueues>,
    queue: QueueName,
) -> Result<(), Error> {
    lambda_runtime::run(service_fn(move |event: LambdaEvent<SqsEvent>| {
        let handler = handler.clone();
        let queues = queues.clone();
        async move {
            Ok::<SqsBatchResponse, Error>(
                upline_aws::handle_sqs_event(
                    handler.as_ref(),
                    event.payload,
                    queues.as_ref(),
                    queue,
                )
                .await,
            )
        }
    }))
    .await
}

/// [`run_sqs`] for a stage whose retries should wait: each message to retry is also made
/// invisible for a delay that doubles with every receive, instead of SQS's fixed
/// visibility timeout.
pub async fn run_sqs_with_backoff(
    handler: Arc<dyn MessageHandler>,
    queues: Arc<SqsQueues>,
    queue: QueueName,
    base: std::time::Duration,
) -> Result<(), Error> {
    lambda_runtime::run(service_fn(move |event: LambdaEvent<SqsEvent>| {
        let handler = handler.clone();
        let queues = queues.clone();
        async move {
            Ok::<SqsBatchResponse, Error>(
                upline_aws::handle_sqs_event_with_backoff(
                    handler.as_ref(),
                    event.payload,
                    queues.as_ref(),
                    queue,
                    base,
                )
                .await,
            )
        }
    }))
    .await
}

/// Runs a function that takes any JSON event (the payout function takes SQS batches and
/// scheduled events) through `handle`.
pub async fn run_json<F, Fut>(handle: F) -> Result<(), Error>
where
    F: Fn(serde_json::Value) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = Result<serde_json::Value, Error>> + Send,
{
    let handle = Arc::new(handle);
    lambda_runtime::run(service_fn(move |event: LambdaEvent<serde_json::Value>| {
        let handle = handle.clone();
        async move { handle(event.payload).await }
    }))
    .await
}
