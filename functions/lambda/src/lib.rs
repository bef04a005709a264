//! What every Lambda `main` shares, so each `main.rs` only wires: JSON logs, the
//! function's configuration read from the process environment, the AWS clients built once
//! from the standard environment, the adapters over them, and the ways a function runs —
//! behind the HTTP API, on SQS batches with partial failures, or on any JSON event (the
//! payout function's queue and schedule, told apart in [`queue_or_schedule`]).

use std::collections::HashMap;
use std::sync::Arc;

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use lambda_runtime::{LambdaEvent, service_fn};
use upline_aws::{AwsClients, DynamoTable, QueueUrls, SqsQueues};
use upline_domain::click_id::ClickSecret;
use upline_domain::clock::SystemClock;
use upline_domain::config::{ConfigError, process_env};
use upline_domain::error::AppError;
use upline_domain::ids::RandomIds;
use upline_domain::ports::{MessageHandler, QueueName};
use upline_domain::services::{Deployment, Services};

pub mod config;
pub mod queue_or_schedule;

pub use lambda_runtime::Error;

/// How every `main` begins: JSON logs first (so what follows is logged), then the
/// function's configuration from the process environment, whose error lists every missing
/// or invalid variable at once, then the AWS clients.
pub async fn start<C>(
    from_env: impl FnOnce(&dyn Fn(&str) -> Option<String>) -> Result<C, ConfigError>,
) -> Result<(C, AwsClients), Error> {
    init_tracing();
    let config = from_env(&process_env)?;
    Ok((config, clients().await))
}

/// A function's deployment settings on AWS. Partner postbacks never go to private
/// addresses there: that allowance is for local development and tests only.
pub fn deployment(click_secret: Option<ClickSecret>, public_base_url: String) -> Deployment {
    Deployment {
        click_secret,
        public_base_url,
        allow_private_postbacks: false,
    }
}

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
    queues_watching(clients, urls, &[])
}

/// Producer-side queues that also count the messages in the dead-letter queues named in
/// `dead_letters` (the console's "needs attention").
pub fn queues_watching(
    clients: &AwsClients,
    sends_to: &[(QueueName, &str)],
    dead_letters: &[(QueueName, &str)],
) -> SqsQueues {
    let mut urls: HashMap<QueueName, QueueUrls> = HashMap::new();
    for (q, url) in sends_to {
        urls.entry(*q)
            .or_insert_with(|| QueueUrls {
                queue: String::new(),
                dead_letters: String::new(),
            })
            .queue = url.to_string();
    }
    for (q, url) in dead_letters {
        urls.entry(*q)
            .or_insert_with(|| QueueUrls {
                queue: String::new(),
                dead_letters: String::new(),
            })
            .dead_letters = url.to_string();
    }
    SqsQueues::new(clients.sqs.clone(), urls)
}

/// The use cases' ports over AWS, with the real clock and ids.
pub fn services(
    clients: &AwsClients,
    table_name: &str,
    sends_to: &[(QueueName, &str)],
    deployment: Deployment,
) -> Services {
    services_on(clients, table_name, queues(clients, sends_to), deployment)
}

/// [`services`] with the queues given.
pub fn services_on(
    clients: &AwsClients,
    table_name: &str,
    queues: SqsQueues,
    deployment: Deployment,
) -> Services {
    Services::new(
        Arc::new(table(clients, table_name)),
        Arc::new(queues),
        Arc::new(SystemClock),
        Arc::new(RandomIds),
        deployment,
    )
}

/// Serves an HTTP function's router behind API Gateway's HTTP API.
pub async fn run_http(router: axum::Router) -> Result<(), Error> {
    lambda_http::run(router).await
}

/// The whole `main` of an HTTP function configured by [`config::EmailingConfig`]: its
/// services on the table and the emails queue, sealing with the secrets key, serving
/// `router`'s routes.
pub async fn run_emailing_http(router: fn(Services) -> axum::Router) -> Result<(), Error> {
    let (config, clients) = start(config::EmailingConfig::from_env).await?;
    let deployment = deployment(None, config.public_base_url);
    let sends_to = [(QueueName::Emails, config.emails_queue_url.as_str())];
    let services = services(&clients, &config.table_name, &sends_to, deployment)
        .with_secrets_key(config.secrets_key, config.previous_secrets_key);
    run_http(router(services)).await
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
    run_batches(handler, queues, queue, None).await
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
    run_batches(handler, queues, queue, Some(base)).await
}

/// The run loop of both: each invocation's batch goes through the handler, and with a
/// `backoff` base its retries are delayed.
async fn run_batches(
    handler: Arc<dyn MessageHandler>,
    queues: Arc<SqsQueues>,
    queue: QueueName,
    backoff: Option<std::time::Duration>,
) -> Result<(), Error> {
    lambda_runtime::run(service_fn(move |event: LambdaEvent<SqsEvent>| {
        let handler = handler.clone();
        let queues = queues.clone();
        async move {
            let (handler, batch, queues) = (handler.as_ref(), event.payload, queues.as_ref());
            let response = match backoff {
                None => upline_aws::handle_sqs_event(handler, batch, queues, queue).await,
                Some(base) => {
                    upline_aws::handle_sqs_event_with_backoff(handler, batch, queues, queue, base)
                        .await
                }
            };
            Ok::<SqsBatchResponse, Error>(response)
        }
    }))
    .await
}

/// A domain error as Lambda reports an invocation's failure: its kind as the error type
/// (`Invalid`, `Unavailable`, `Internal` …), its text as the message — what CloudWatch and
/// a caller of `Invoke` see, instead of a Rust type name.
#[derive(Debug)]
pub struct FunctionError(pub AppError);

impl From<AppError> for FunctionError {
    fn from(e: AppError) -> Self {
        FunctionError(e)
    }
}

impl From<FunctionError> for lambda_runtime::Diagnostic {
    fn from(e: FunctionError) -> Self {
        let kind = match &e.0 {
            AppError::Invalid(_) => "Invalid",
            AppError::Malformed(_) => "Malformed",
            AppError::TooLarge { .. } => "TooLarge",
            AppError::RateLimited { .. } => "RateLimited",
            AppError::Unauthorized(_) => "Unauthorized",
            AppError::Forbidden(_) => "Forbidden",
            AppError::NotFound(_) => "NotFound",
            AppError::Conflict { .. } => "Conflict",
            AppError::Unavailable(_) => "Unavailable",
            AppError::Internal(_) => "Internal",
        };
        // The chain below the domain's words (SDK, codec), each link once: a cause's
        // message often is its source's text already.
        let mut message = e.0.to_string();
        let mut last = message.clone();
        let mut next = std::error::Error::source(&e.0);
        while let Some(cause) = next {
            let text = cause.to_string();
            if !last.ends_with(&text) {
                message = format!("{message}: {text}");
            }
            last = text;
            next = cause.source();
        }
        lambda_runtime::Diagnostic {
            error_type: kind.to_string(),
            error_message: message,
        }
    }
}

/// Runs a function that takes any JSON event through `handle` (the payout function, which
/// tells its SQS batches and scheduled events apart with [`queue_or_schedule::handle`]);
/// its errors are reported as [`FunctionError`]s.
pub async fn run_json<F, Fut>(handle: F) -> Result<(), Error>
where
    F: Fn(serde_json::Value) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = Result<serde_json::Value, FunctionError>> + Send,
{
    let handle = Arc::new(handle);
    lambda_runtime::run(service_fn(move |event: LambdaEvent<serde_json::Value>| {
        let handle = handle.clone();
        async move { handle(event.payload).await }
    }))
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_diagnostic_carries_the_cause_below_the_domain_error() {
        let codec = serde_json::from_str::<u32>("\"x\"").unwrap_err();
        let cause = upline_domain::error::Cause::with("item PARTNER#p-1 does not decode", codec);
        let d: lambda_runtime::Diagnostic = FunctionError(AppError::Internal(cause)).into();
        assert_eq!(d.error_type, "Internal");
        assert!(
            d.error_message
                .starts_with("internal error: item PARTNER#p-1 does not decode: invalid type"),
            "{}",
            d.error_message
        );
    }

    #[test]
    fn a_domain_error_reaches_lambda_as_its_kind_and_its_words() {
        let d: lambda_runtime::Diagnostic =
            FunctionError(AppError::Unavailable("the table is throttled".into())).into();
        assert_eq!(d.error_type, "Unavailable");
        assert_eq!(
            d.error_message,
            "temporarily unavailable: the table is throttled"
        );
        let d: lambda_runtime::Diagnostic =
            FunctionError(AppError::field("period", "is not a period")).into();
        assert_eq!(d.error_type, "Invalid");
    }
}
