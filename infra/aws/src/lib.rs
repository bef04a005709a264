//! AWS adapters for Upline's ports: the Table on DynamoDB, the queues on SQS, the Mailer
//! on SES, and the bridge from Lambda's SQS trigger to a stage's handler.
//!
//! Clients are built once per process from the standard AWS environment — region,
//! credentials, profile, and `AWS_ENDPOINT_URL` (or `AWS_ENDPOINT_URL_DYNAMODB` …) for an
//! AWS-compatible server — with deliberate retries and timeouts ([`load_sdk_config`]).

pub mod dynamodb;
pub mod lambda_sqs;
#[cfg(feature = "ses")]
pub mod ses;
pub mod sqs;

use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, SdkConfig};
use aws_sdk_dynamodb::config::SharedHttpClient;
use aws_smithy_http_client::tls;

pub use dynamodb::DynamoTable;
pub use lambda_sqs::{handle_sqs_event, handle_sqs_event_with_backoff};
#[cfg(feature = "ses")]
pub use ses::SesMailer;
pub use sqs::{QueueUrls, SqsQueues};

/// Retries: the SDK's standard mode, three attempts with jittered back-off. More attempts
/// would outlast the redirect's patience and pile up behind a struggling service; what
/// three attempts cannot fix, the queues retry later.
pub fn retry_config() -> RetryConfig {
    RetryConfig::standard().with_max_attempts(3)
}

/// Timeouts: DynamoDB, SQS and SES answer in milliseconds; a second to connect, two per
/// attempt and five per operation bound the worst case well inside a Lambda's timeout.
pub fn timeout_config() -> TimeoutConfig {
    TimeoutConfig::builder()
        .connect_timeout(Duration::from_secs(1))
        .operation_attempt_timeout(Duration::from_secs(2))
        .operation_timeout(Duration::from_secs(5))
        .build()
}

/// The HTTPS client every AWS configuration uses: the SDK's own hyper client on rustls with
/// ring as its crypto provider (the SDK's default client would link aws-lc as well).
pub fn https_client() -> SharedHttpClient {
    aws_smithy_http_client::Builder::new()
        .tls_provider(tls::Provider::Rustls(
            tls::rustls_provider::CryptoMode::Ring,
        ))
        .build_https()
}

/// The SDK configuration from the standard environment, with Upline's HTTPS client, retries
/// and timeouts.
pub async fn load_sdk_config() -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .http_client(https_client())
        .retry_config(retry_config())
        .timeout_config(timeout_config())
        .load()
        .await
}

/// Clients for every service, built once from one configuration.
#[derive(Clone, Debug)]
pub struct AwsClients {
    pub dynamodb: aws_sdk_dynamodb::Client,
    pub sqs: aws_sdk_sqs::Client,
    #[cfg(feature = "ses")]
    pub ses: aws_sdk_ses::Client,
}

impl AwsClients {
    pub fn new(config: &SdkConfig) -> Self {
        AwsClients {
            dynamodb: aws_sdk_dynamodb::Client::new(config),
            sqs: aws_sdk_sqs::Client::new(config),
            #[cfg(feature = "ses")]
            ses: aws_sdk_ses::Client::new(config),
        }
    }
}
