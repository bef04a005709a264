//! Fixtures on a real AWS-compatible server: moto, started by `./scripts/test` on a free
//! loopback port and named by `UPLINE_TEST_MOTO`. Every fixture gets its own table and
//! queues, so tests never see each other's data.

use std::collections::HashMap;

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_credential_types::Credentials;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection,
    ProjectionType, ScalarAttributeType,
};
use aws_sdk_sqs::types::QueueAttributeName;
use upline_aws::{AwsClients, QueueUrls, SqsQueues};
use upline_domain::ports::QueueName;

/// The moto server's URL, or a clear instruction when it is not running.
pub fn moto_endpoint() -> String {
    std::env::var("UPLINE_TEST_MOTO").unwrap_or_else(|_| {
        panic!(
            "UPLINE_TEST_MOTO is not set: the AWS adapter tests need a moto server. \
             Run ./scripts/test, which installs and starts one, or start one yourself \
             (.tools/services/bin/moto_server -p 5000) and set UPLINE_TEST_MOTO=http://127.0.0.1:5000"
        )
    })
}

/// SDK configuration for moto: static test credentials, one region, production's retries,
/// but patient timeouts: moto is one Python process shared by every test binary on a busy
/// 2-core CI machine, where a `CreateQueue` can take longer than production's 5 s budget.
pub async fn sdk_config(endpoint: &str) -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .http_client(upline_aws::https_client())
        .region(Region::new("us-east-1"))
        .endpoint_url(endpoint)
        .credentials_provider(Credentials::new(
            "testing",
            "testing",
            None,
            None,
            "upline-tests",
        ))
        .retry_config(upline_aws::retry_config())
        .timeout_config(
            aws_config::timeout::TimeoutConfig::builder()
                .connect_timeout(std::time::Duration::from_secs(5))
                .operation_attempt_timeout(std::time::Duration::from_secs(30))
                .operation_timeout(std::time::Duration::from_secs(90))
                .build(),
        )
        .load()
        .await
}

/// Clients for the moto server (see [`moto_endpoint`]).
pub async fn moto_clients() -> AwsClients {
    AwsClients::new(&sdk_config(&moto_endpoint()).await)
}

/// A name no other fixture has: `prefix-<ulid>`.
pub fn unique(prefix: &str) -> String {
    format!(
        "{prefix}-{}",
        ulid::Ulid::new().to_string().to_ascii_lowercase()
    )
}

/// Creates a table shaped like `template.yaml`'s: pk/sk and the gsi1/gsi2/gsi3 indexes.
pub async fn create_table(clients: &AwsClients, name: &str) {
    let attr = |n: &str| {
        AttributeDefinition::builder()
            .attribute_name(n)
            .attribute_type(ScalarAttributeType::S)
            .build()
            .unwrap()
    };
    let key = |n: &str, t: KeyType| {
        KeySchemaElement::builder()
            .attribute_name(n)
            .key_type(t)
            .build()
            .unwrap()
    };
    let gsi = |i: &str| {
        GlobalSecondaryIndex::builder()
            .index_name(i)
            .key_schema(key(&format!("{i}pk"), KeyType::Hash))
            .key_schema(key(&format!("{i}sk"), KeyType::Range))
            .projection(
                Projection::builder()
                    .projection_type(ProjectionType::All)
                    .build(),
            )
            .build()
            .unwrap()
    };
    clients
        .dynamodb
        .create_table()
        .table_name(name)
        .billing_mode(BillingMode::PayPerRequest)
        .set_attribute_definitions(Some(
            [
                "pk", "sk", "gsi1pk", "gsi1sk", "gsi2pk", "gsi2sk", "gsi3pk", "gsi3sk",
            ]
            .iter()
            .map(|n| attr(n))
            .collect(),
        ))
        .key_schema(key("pk", KeyType::Hash))
        .key_schema(key("sk", KeyType::Range))
        .global_secondary_indexes(gsi("gsi1"))
        .global_secondary_indexes(gsi("gsi2"))
        .global_secondary_indexes(gsi("gsi3"))
        .send()
        .await
        .expect("moto creates the table");
}

/// Creates a new, empty table named `prefix-<ulid>` (see [`create_table`]); its name.
pub async fn new_table(clients: &AwsClients, prefix: &str) -> String {
    let name = unique(prefix);
    create_table(clients, &name).await;
    name
}

/// New, empty queues named `prefix-<ulid>-<queue>`, each with its dead-letter queue after
/// `max_receives` receives (see [`create_queues`]), as the SQS adapter.
pub async fn new_queues(clients: &AwsClients, prefix: &str, max_receives: u32) -> SqsQueues {
    let urls = create_queues(clients, &unique(prefix), max_receives).await;
    SqsQueues::new(clients.sqs.clone(), urls)
}

/// Creates each queue with its dead-letter queue, redriving after `max_receives` receives.
pub async fn create_queues(
    clients: &AwsClients,
    prefix: &str,
    max_receives: u32,
) -> HashMap<QueueName, QueueUrls> {
    let mut urls = HashMap::new();
    for q in QueueName::ALL {
        let dlq = clients
            .sqs
            .create_queue()
            .queue_name(format!("{prefix}-{q}-dlq"))
            .send()
            .await
            .expect("moto creates the queue")
            .queue_url
            .unwrap();
        let arn = clients
            .sqs
            .get_queue_attributes()
            .queue_url(&dlq)
            .attribute_names(QueueAttributeName::QueueArn)
            .send()
            .await
            .unwrap()
            .attributes
            .unwrap()
            .remove(&QueueAttributeName::QueueArn)
            .unwrap();
        let policy = serde_json::json!({"deadLetterTargetArn": arn, "maxReceiveCount": max_receives.to_string()});
        let queue = clients
            .sqs
            .create_queue()
            .queue_name(format!("{prefix}-{q}"))
            .attributes(QueueAttributeName::RedrivePolicy, policy.to_string())
            .send()
            .await
            .expect("moto creates the queue")
            .queue_url
            .unwrap();
        urls.insert(
            q,
            QueueUrls {
                queue,
                dead_letters: dlq,
            },
        );
    }
    urls
}

/// Verifies a sender address in moto's SES (SES refuses unverified senders).
pub async fn verify_sender(clients: &AwsClients, address: &str) {
    clients
        .ses
        .verify_email_identity()
        .email_address(address)
        .send()
        .await
        .expect("moto verifies the address");
}

/// A raw email moto's SES accepted.
#[derive(Debug, Clone)]
pub struct SentEmail {
    pub source: String,
    pub destinations: Vec<String>,
    pub raw: String,
}

impl SentEmail {
    /// The `Message-ID` local part, which Upline derives from the email's idempotency key.
    pub fn stem(&self) -> Option<String> {
        let line = self.raw.lines().find(|l| l.starts_with("Message-ID: <"))?;
        Some(
            line.trim_start_matches("Message-ID: <")
                .split('@')
                .next()?
                .to_string(),
        )
    }
}

/// Every raw email moto's SES has accepted since it started, from its data endpoint.
pub async fn sent_emails(endpoint: &str) -> Vec<SentEmail> {
    crate::install_tls_provider();
    // moto builds data.json by walking every backend while other tests keep writing to
    // them; now and then that walk fails ("changed size during iteration") and the answer
    // is an error page. Ask again rather than fail the scenario on moto's race.
    let mut data = serde_json::Value::Null;
    for attempt in 0..10 {
        let answer = reqwest::get(format!("{endpoint}/moto-api/data.json"))
            .await
            .unwrap();
        match answer.json::<serde_json::Value>().await {
            Ok(d) => {
                data = d;
                break;
            }
            Err(e) if attempt < 9 => {
                eprintln!("moto's data.json did not decode ({e}); asking again");
                tokio::time::sleep(std::time::Duration::from_millis(200)).await;
            }
            Err(e) => panic!("moto's data.json never decoded: {e}"),
        }
    }
    data["ses"]["RawMessage"]
        .as_array()
        .map(|list| {
            list.iter()
                .map(|m| SentEmail {
                    source: m["source"].as_str().unwrap_or_default().to_string(),
                    destinations: m["destinations"]
                        .as_array()
                        .map(|d| {
                            d.iter()
                                .filter_map(|x| x.as_str().map(str::to_string))
                                .collect()
                        })
                        .unwrap_or_default(),
                    raw: m["raw_data"].as_str().unwrap_or_default().to_string(),
                })
                .collect()
        })
        .unwrap_or_default()
}
