//! The function binaries through a real Lambda Runtime API: `cargo lambda watch` (from
//! PyPI, installed by `./scripts/test`) emulates the runtime and runs the binaries built
//! from this workspace; `cargo lambda invoke` sends them the files in `events/`. The
//! binaries read their configuration from the environment exactly as on AWS and talk to
//! DynamoDB and SQS on moto, where the effects are asserted.

use std::io::Write;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};
use upline_domain::ids::CampaignId;

use serde_json::Value;
use upline_aws::{AwsClients, DynamoTable, SqsQueues};
use upline_domain::clock::SystemClock;
use upline_domain::ids::RandomIds;
use upline_domain::ports::{QueueConsumer, QueueName};
use upline_domain::services::Services;
use upline_domain::store::keys;
use upline_tests::aws::{create_queues, moto_endpoint, new_table, sdk_config};
use upline_tests::samples::{assert_the_sample_paid_the_chain, click_secret_hex, events_dir, seed};
use upline_tests::world::deployment;

fn workspace() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
}

fn cargo_lambda() -> PathBuf {
    std::env::var("UPLINE_TEST_CARGO_LAMBDA").map(PathBuf::from).unwrap_or_else(|_| {
        panic!(
            "UPLINE_TEST_CARGO_LAMBDA is not set: this test drives the binaries with cargo-lambda. \
             Run ./scripts/test, which installs it into .tools/lambda, or set it to a cargo-lambda binary"
        )
    })
}

/// `cargo lambda watch`, stopped (with the functions it started) when dropped.
struct Watch {
    child: Child,
    port: u16,
    log: PathBuf,
}

impl Drop for Watch {
    fn drop(&mut self) {
        // The watcher runs each function as a child; end the whole process group.
        let _ = Command::new("kill")
            .arg("--")
            .arg(format!("-{}", self.child.id()))
            .status();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn start_watch(env_file: &std::path::Path, log: PathBuf) -> Watch {
    use std::os::unix::process::CommandExt;
    let port = free_port();
    let out = std::fs::File::create(&log).unwrap();
    let child = Command::new(cargo_lambda())
        .args([
            "lambda",
            "watch",
            "--ignore-changes",
            "--invoke-address",
            "127.0.0.1",
        ])
        .args(["--invoke-port", &port.to_string()])
        .arg("--env-file")
        .arg(env_file)
        .current_dir(workspace())
        .stdout(Stdio::from(out.try_clone().unwrap()))
        .stderr(Stdio::from(out))
        .process_group(0)
        .spawn()
        .expect("cargo-lambda starts");
    let deadline = Instant::now() + Duration::from_secs(60);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            Instant::now() < deadline,
            "cargo lambda watch did not listen: {}",
            std::fs::read_to_string(&log).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    Watch { child, port, log }
}

/// Invokes `binary` with an event file and returns its JSON response.
fn invoke(watch: &Watch, binary: &str, event: &str) -> Value {
    let out = Command::new(cargo_lambda())
        .args(["lambda", "invoke", binary, "--invoke-address", "127.0.0.1"])
        .args(["--invoke-port", &watch.port.to_string()])
        .arg("--data-file")
        .arg(events_dir().join(event))
        .args(["--output-format", "json"])
        .current_dir(workspace())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "invoking {binary} with {event} failed: {}\n{stdout}\nwatch log:\n{}",
        String::from_utf8_lossy(&out.stderr),
        std::fs::read_to_string(&watch.log).unwrap_or_default()
    );
    serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{binary}: {e}: {stdout}"))
}

async fn received(queues: &SqsQueues, queue: QueueName) -> Vec<String> {
    let mut bodies = Vec::new();
    for _ in 0..5 {
        let got = queues
            .receive(queue, 10, Duration::from_secs(30))
            .await
            .unwrap();
        if got.is_empty() && !bodies.is_empty() {
            break;
        }
        bodies.extend(got.into_iter().map(|d| d.body));
    }
    bodies
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_redirect_postback_and_payout_binaries_work_through_the_runtime_api() {
    let endpoint = moto_endpoint();
    let clients = AwsClients::new(&sdk_config(&endpoint).await);
    let name = new_table(&clients, "runtime").await;
    let urls = create_queues(&clients, &name, 3).await;
    let queues = SqsQueues::new(clients.sqs.clone(), urls.clone());
    let services = Services::new(
        Arc::new(DynamoTable::new(clients.dynamodb.clone(), name.clone())),
        Arc::new(queues.clone()),
        Arc::new(SystemClock),
        Arc::new(RandomIds),
        deployment(None, "https://go.example.com"),
    );
    seed(&services).await;

    let dir = tempfile::tempdir().unwrap();
    let env_file = dir.path().join("functions.env");
    let mut env = std::fs::File::create(&env_file).unwrap();
    for (k, v) in [
        ("AWS_ENDPOINT_URL", endpoint.as_str()),
        ("AWS_ACCESS_KEY_ID", "testing"),
        ("AWS_SECRET_ACCESS_KEY", "testing"),
        ("AWS_REGION", "us-east-1"),
        ("UPLINE_TABLE_NAME", name.as_str()),
        (
            "UPLINE_CLICKS_QUEUE_URL",
            urls[&QueueName::Clicks].queue.as_str(),
        ),
        (
            "UPLINE_CONVERSIONS_QUEUE_URL",
            urls[&QueueName::Conversions].queue.as_str(),
        ),
        (
            "UPLINE_EMAILS_QUEUE_URL",
            urls[&QueueName::Emails].queue.as_str(),
        ),
        (
            "UPLINE_PARTNER_POSTBACKS_QUEUE_URL",
            urls[&QueueName::PartnerPostbacks].queue.as_str(),
        ),
        // The one consumer invoked here is the payout function (the conversions queue).
        (
            "UPLINE_DEAD_LETTER_QUEUE_URL",
            urls[&QueueName::Conversions].dead_letters.as_str(),
        ),
        ("UPLINE_CLICK_SECRET", click_secret_hex().as_str()),
        (
            "UPLINE_SECRETS_KEY",
            "5ec2e75ec2e75ec2e75ec2e75ec2e75ec2e75ec2e75ec2e75ec2e75ec2e75ec2",
        ),
        ("RUST_LOG", "info"),
    ] {
        writeln!(env, "{k}={v}").unwrap();
    }
    drop(env);
    let watch = start_watch(&env_file, dir.path().join("watch.log"));

    let r = invoke(&watch, "upline-redirect", "redirect/follow-link.json");
    assert_eq!(r["statusCode"], 302, "{r}");
    let location = r["headers"]["location"].as_str().unwrap();
    assert!(
        location.starts_with("https://shop.example.com/spring?utm_source=upline&click_id="),
        "{location}"
    );
    let clicks = received(&queues, QueueName::Clicks).await;
    assert_eq!(clicks.len(), 1, "the redirect published its click to SQS");
    assert!(clicks[0].contains("\"type\":\"click.recorded\""));

    let r = invoke(&watch, "upline-postback", "postback/postback.json");
    assert_eq!(r["statusCode"], 201, "{r}");
    let body: Value = serde_json::from_str(r["body"].as_str().unwrap()).unwrap();
    let conversion_id = body["conversion_id"].as_str().unwrap().to_string();
    let marker = services
        .store
        .table()
        .get(&keys::order(
            &CampaignId::from("spring-sale"),
            "order-2026-000123",
        ))
        .await
        .unwrap()
        .expect("the order is recorded in DynamoDB");
    assert_eq!(marker.s("owner"), Some(conversion_id.as_str()));
    assert_eq!(received(&queues, QueueName::Conversions).await.len(), 1);

    let r = invoke(&watch, "upline-payout", "payout/conversions-batch.json");
    assert_eq!(r["batchItemFailures"], serde_json::json!([]), "{r}");
    assert_the_sample_paid_the_chain(&services.store).await;
    // Three commission emails plus whatever the seed queued.
    let emails = received(&queues, QueueName::Emails).await;
    assert_eq!(
        emails
            .iter()
            .filter(|b| b.contains("\"commission:conv-sample-1:"))
            .count(),
        3
    );
}
