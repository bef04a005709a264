//! The redirect function's release binary as Lambda runs it, to size its memory: this
//! example serves the Lambda Runtime API on loopback, starts `upline-redirect` against
//! it (DynamoDB and SQS on moto, as `scripts/redirect-lambda` starts it), hands it
//! INVOCATIONS redirect events one at a time and prints the process's peak resident
//! memory and the time from handing out an event to its answer.
//!
//! Lambda bills memory by the size configured, and CPU comes with memory; the figure
//! printed is what the template's `MemorySize` for the redirect is chosen from. Bounded:
//! each invocation gives up after ten seconds.
//!
//! `redirect_lambda INVOCATIONS`, from `target/release/examples` beside
//! `../upline-redirect`.

// Timing figures, not money: floats are fine here.
#![allow(clippy::float_arithmetic)]

use std::collections::HashMap;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use tokio::sync::{mpsc, oneshot};
use upline_aws::{AwsClients, DynamoTable, SqsQueues};
use upline_domain::clock::SystemClock;
use upline_domain::ids::RandomIds;
use upline_domain::ports::QueueName;
use upline_domain::services::Services;
use upline_tests::aws::{create_queues, moto_endpoint, new_table, sdk_config};
use upline_tests::samples::{click_secret_hex, events_dir, seed};
use upline_tests::world::deployment;

/// The runtime side: events waiting to be handed out, and who waits for each answer.
struct RuntimeApi {
    events: tokio::sync::Mutex<mpsc::Receiver<(String, Vec<u8>)>>,
    answers: Mutex<HashMap<String, oneshot::Sender<Vec<u8>>>>,
}

async fn next(State(api): State<Arc<RuntimeApi>>) -> Response {
    let Some((id, body)) = api.events.lock().await.recv().await else {
        return StatusCode::GONE.into_response();
    };
    let deadline = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis()
        + 10_000;
    let mut headers = HeaderMap::new();
    let mut set = |name: &'static str, value: String| {
        headers.insert(name, HeaderValue::from_str(&value).unwrap());
    };
    set("lambda-runtime-aws-request-id", id);
    set("lambda-runtime-deadline-ms", deadline.to_string());
    set(
        "lambda-runtime-invoked-function-arn",
        "arn:aws:lambda:us-east-1:123456789012:function:upline-bench-redirect".into(),
    );
    set("content-type", "application/json".into());
    (StatusCode::OK, headers, body).into_response()
}

async fn answered(
    State(api): State<Arc<RuntimeApi>>,
    Path(id): Path<String>,
    body: Bytes,
) -> StatusCode {
    if let Some(waiting) = api.answers.lock().unwrap().remove(&id) {
        let _ = waiting.send(body.to_vec());
    }
    StatusCode::ACCEPTED
}

async fn failed(Path(id): Path<String>, body: Bytes) -> StatusCode {
    panic!("invocation {id} failed: {}", String::from_utf8_lossy(&body));
}

async fn init_failed(body: Bytes) -> StatusCode {
    panic!(
        "the function did not start: {}",
        String::from_utf8_lossy(&body)
    );
}

/// The function's process, killed when dropped.
struct Function(Child);

impl Drop for Function {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `VmHWM` (peak resident set) and `VmRSS` of a process, in KiB.
fn memory_kib(pid: u32) -> (u64, u64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("a live process");
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    };
    (field("VmHWM:"), field("VmRSS:"))
}

/// CPU time the process has used, user and system, in milliseconds (from clock ticks of
/// 10 ms: read over many invocations).
fn cpu_ms(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).expect("a live process");
    // Fields after the command name, which is in parentheses and may hold spaces.
    let after = &stat[stat.rfind(')').expect("a stat line") + 2..];
    let fields: Vec<&str> = after.split_whitespace().collect();
    let ticks = |i: usize| fields[i].parse::<u64>().unwrap_or(0);
    // utime and stime are the 14th and 15th fields, 12th and 13th after the name.
    (ticks(11) + ticks(12)) * 10
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let invocations: usize = std::env::args()
        .nth(1)
        .map(|n| n.parse().expect("INVOCATIONS is a number"))
        .unwrap_or(2000);
    let endpoint = moto_endpoint();
    let clients = AwsClients::new(&sdk_config(&endpoint).await);
    let name = new_table(&clients, "redirect-lambda").await;
    let urls = create_queues(&clients, &name, 3).await;
    let services = Services::new(
        Arc::new(DynamoTable::new(clients.dynamodb.clone(), name.clone())),
        Arc::new(SqsQueues::new(clients.sqs.clone(), urls.clone())),
        Arc::new(SystemClock),
        Arc::new(RandomIds),
        deployment(None, "https://go.example.com"),
    );
    seed(&services).await;

    let (events, receiver) = mpsc::channel(1);
    let api = Arc::new(RuntimeApi {
        events: tokio::sync::Mutex::new(receiver),
        answers: Mutex::new(HashMap::new()),
    });
    let app = Router::new()
        .route("/2018-06-01/runtime/invocation/next", get(next))
        .route(
            "/2018-06-01/runtime/invocation/{id}/response",
            post(answered),
        )
        .route("/2018-06-01/runtime/invocation/{id}/error", post(failed))
        .route("/2018-06-01/runtime/init/error", post(init_failed))
        .with_state(api.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let runtime_api = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });

    let binary = std::env::current_exe()
        .unwrap()
        .parent()
        .and_then(|examples| examples.parent())
        .map(|release| release.join("upline-redirect"))
        .expect("beside target/release");
    let function = Function(
        Command::new(&binary)
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("AWS_LAMBDA_RUNTIME_API", runtime_api.to_string())
            .env("AWS_LAMBDA_FUNCTION_NAME", "upline-bench-redirect")
            .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "512")
            .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
            .env(
                "AWS_LAMBDA_LOG_GROUP_NAME",
                "/aws/lambda/upline-bench-redirect",
            )
            .env("AWS_LAMBDA_LOG_STREAM_NAME", "bench")
            .env("AWS_ENDPOINT_URL", &endpoint)
            .env("AWS_ACCESS_KEY_ID", "testing")
            .env("AWS_SECRET_ACCESS_KEY", "testing")
            .env("AWS_REGION", "us-east-1")
            .env("UPLINE_TABLE_NAME", &name)
            .env(
                "UPLINE_CLICKS_QUEUE_URL",
                urls[&QueueName::Clicks].queue.as_str(),
            )
            .env("UPLINE_CLICK_SECRET", click_secret_hex())
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("{}: {e}", binary.display())),
    );
    let pid = function.0.id();

    let template: serde_json::Value = serde_json::from_slice(
        &std::fs::read(events_dir().join("redirect/follow-link.json")).unwrap(),
    )
    .unwrap();
    let mut times = Vec::with_capacity(invocations);
    let mut first = None;
    for n in 0..invocations {
        // Another visitor each time, as on a busy link.
        let mut event = template.clone();
        let address = format!("198.51.{}.{}", (n / 250) % 250, n % 250 + 1);
        event["requestContext"]["http"]["sourceIp"] = address.clone().into();
        event["headers"]["x-forwarded-for"] = address.into();
        let id = format!("bench-{n}");
        let (tx, rx) = oneshot::channel();
        api.answers.lock().unwrap().insert(id.clone(), tx);
        let started = Instant::now();
        events
            .send((id, serde_json::to_vec(&event).unwrap()))
            .await
            .unwrap();
        let answer = tokio::time::timeout(Duration::from_secs(10), rx)
            .await
            .expect("an answer within ten seconds")
            .unwrap();
        let took = started.elapsed();
        let answer: serde_json::Value = serde_json::from_slice(&answer).unwrap();
        assert_eq!(answer["statusCode"], 302, "{answer}");
        if n == 0 {
            first = Some((took, memory_kib(pid), cpu_ms(pid)));
        } else {
            times.push(took);
        }
    }
    let (peak, resident) = memory_kib(pid);
    let (first_took, (first_peak, _), cpu_after_first) = first.expect("at least one invocation");
    let warm_cpu_ms = cpu_ms(pid).saturating_sub(cpu_after_first);
    times.sort();
    let at = |q: f64| times[((times.len() as f64 - 1.0) * q) as usize];
    let mib = |kib: u64| kib as f64 / 1024.0;
    println!(
        "redirect binary: {}\n{invocations} invocations through the Runtime API (moto for DynamoDB and SQS)",
        PathBuf::from(&binary).display()
    );
    println!(
        "first invocation (cold link cache, new SDK connections): {:.1} ms, peak RSS then {:.1} MiB",
        first_took.as_secs_f64() * 1000.0,
        mib(first_peak)
    );
    println!(
        "warm invocations: median {:.2} ms, p99 {:.2} ms (one SQS send to moto each)",
        at(0.5).as_secs_f64() * 1000.0,
        at(0.99).as_secs_f64() * 1000.0
    );
    println!(
        "CPU per warm invocation: {:.0} µs (user + system over {} invocations, one full core)",
        warm_cpu_ms as f64 * 1000.0 / times.len().max(1) as f64,
        times.len()
    );
    println!("CPU at start and first invocation: {cpu_after_first} ms");
    println!(
        "peak RSS {:.1} MiB, RSS at the end {:.1} MiB",
        mib(peak),
        mib(resident)
    );
    drop(function);
}
