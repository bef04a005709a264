//! The whole conversion pipeline of a release local host under load, as
//! `scripts/load-pipeline` runs it: postback → commission lines (the demo's sale pays the
//! partner and two upline levels) → an email per line.
//!
//! Starts `upline-local` on a fresh data folder, takes N click ids from the demo partner's
//! link, then sends N postbacks (one order each) over CONCURRENCY connections and measures:
//! postbacks accepted per second; conversions fully commissioned per second (the admin
//! report counts a conversion in the same transaction as its lines), over the time from
//! the first postback until the last is commissioned; and the same with every email
//! written to the outbox. Bounded: it gives up waiting after five minutes.
//!
//! With a third argument `moto`, the host runs on the AWS adapters against the moto server
//! at `UPLINE_TEST_MOTO` (a fresh table, queues and SES sender) and emails are counted in
//! what moto's SES accepted: figures for the record, since moto is a test double, not
//! DynamoDB.
//!
//! `pipeline_load N CONCURRENCY [moto]`, from `target/release/examples` beside
//! `../upline-local`.

// Timing and rate figures, not money: floats are fine here.
#![allow(clippy::float_arithmetic)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::StreamExt;

/// The host process, stopped with SIGTERM when dropped.
struct Host(Child);

impl Drop for Host {
    fn drop(&mut self) {
        let _ = Command::new("kill").arg(self.0.id().to_string()).status();
        let _ = self.0.wait();
    }
}

/// What the host printed on its first start.
struct Started {
    base: String,
    admin_key: String,
    postback_secret: String,
    link: String,
    partner_keys: Vec<String>,
}

fn start_host(
    program: &Path,
    data: &Path,
    log: &Path,
    aws: Option<&[(String, String)]>,
) -> (Host, Started) {
    let mut command = Command::new(program);
    command
        .args([
            "--addr",
            "127.0.0.1:0",
            "--schedule-every",
            "0",
            "--data-dir",
        ])
        .arg(data);
    if let Some(env) = aws {
        command.args(["--store", "aws"]).envs(env.iter().cloned());
    }
    let mut child = command
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(log).expect("a log file"))
        .spawn()
        .expect("the host starts");
    let stdout = BufReader::new(child.stdout.take().expect("piped"));
    let host = Host(child);
    let mut lines = Vec::new();
    for line in stdout.lines() {
        let line = line.expect("utf-8");
        let done = line.starts_with("Stop with");
        lines.push(line);
        if done {
            break;
        }
    }
    let after = |label: &str| {
        lines
            .iter()
            .position(|l| l.starts_with(label))
            .map(|i| lines[i + 1].trim().to_string())
            .unwrap_or_else(|| panic!("the host printed no {label:?}; see {}", log.display()))
    };
    let started = Started {
        base: lines[0]
            .strip_prefix("Upline is running at ")
            .and_then(|l| l.split_whitespace().next())
            .expect("the address")
            .to_string(),
        admin_key: after("Admin key"),
        postback_secret: after("Demo program seeded"),
        link: lines
            .iter()
            .rev()
            .find_map(|l| l.split("  link ").nth(1))
            .and_then(|l| l.split_whitespace().next())
            .expect("a demo link")
            .to_string(),
        partner_keys: lines
            .iter()
            .filter(|l| l.contains("  link "))
            .filter_map(|l| l.split(" key ").nth(1))
            .filter_map(|l| l.split_whitespace().next())
            .map(str::to_string)
            .collect(),
    };
    (host, started)
}

/// Where the host's emails end up, to count them.
enum Sent {
    /// The embedded backend's outbox folder: its `.eml` files (a message still being
    /// written has a temporary name starting with a dot).
    Outbox(PathBuf),
    /// What moto's SES accepted from this sender.
    Moto { endpoint: String, from: String },
}

impl Sent {
    async fn count(&self) -> usize {
        match self {
            Sent::Outbox(dir) => std::fs::read_dir(dir).map_or(0, |d| {
                d.filter_map(Result::ok)
                    .filter(|e| {
                        let name = e.file_name();
                        let name = name.to_string_lossy();
                        name.ends_with(".eml") && !name.starts_with('.')
                    })
                    .count()
            }),
            Sent::Moto { endpoint, from } => upline_tests::aws::sent_emails(endpoint)
                .await
                .iter()
                .filter(|m| &m.source == from)
                .count(),
        }
    }
}

/// A fresh table, queues and verified sender on moto, and the environment that points
/// the host at them.
async fn moto_environment() -> (Vec<(String, String)>, Sent) {
    use upline_tests::aws::{create_queues, moto_endpoint, new_table, sdk_config, verify_sender};
    let endpoint = moto_endpoint();
    let clients = upline_aws::AwsClients::new(&sdk_config(&endpoint).await);
    let table = new_table(&clients, "pipeline").await;
    let queues = create_queues(&clients, &table, 3).await;
    let from = format!("{table}@upline.test");
    verify_sender(&clients, &from).await;
    let mut env: Vec<(String, String)> = [
        ("AWS_ENDPOINT_URL", endpoint.as_str()),
        ("AWS_ACCESS_KEY_ID", "testing"),
        ("AWS_SECRET_ACCESS_KEY", "testing"),
        ("AWS_REGION", "us-east-1"),
        ("UPLINE_TABLE_NAME", table.as_str()),
        ("UPLINE_MAIL_FROM", from.as_str()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    env.push(("UPLINE_SECRETS_KEY".into(), "5e".repeat(32)));
    for (queue, urls) in &queues {
        let upper = queue.as_str().to_ascii_uppercase();
        env.push((format!("UPLINE_{upper}_QUEUE_URL"), urls.queue.clone()));
        env.push((format!("UPLINE_{upper}_DLQ_URL"), urls.dead_letters.clone()));
    }
    (env, Sent::Moto { endpoint, from })
}

/// `GET path` on the admin API, as JSON.
async fn admin_get(client: &reqwest::Client, s: &Started, path: &str) -> serde_json::Value {
    client
        .get(format!("{}{path}", s.base))
        .bearer_auth(&s.admin_key)
        .send()
        .await
        .expect("the host answers")
        .json()
        .await
        .expect("JSON")
}

async fn conversions_counted(client: &reqwest::Client, s: &Started) -> u64 {
    let report = admin_get(client, s, "/v1/admin/reports").await;
    report["totals"]["conversions"].as_u64().expect("a count")
}

/// Waits until `done()` holds; returns when, or panics after five minutes.
async fn wait_until<F: std::future::Future<Output = bool>>(
    what: &str,
    poll: Duration,
    mut done: impl FnMut() -> F,
) -> Instant {
    let give_up = Instant::now() + Duration::from_secs(300);
    loop {
        let asked = Instant::now();
        if done().await {
            return Instant::now();
        }
        assert!(Instant::now() < give_up, "gave up waiting for {what}");
        // Listing tens of thousands of outbox files takes milliseconds of the cores the
        // host is measured on: asking at most a sixth of the time keeps the count's own
        // cost out of the figures.
        tokio::time::sleep(poll.max(asked.elapsed() * 5)).await;
    }
}

#[tokio::main]
async fn main() {
    let mut args = std::env::args().skip(1);
    let n: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(2_000);
    let concurrency: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(32);
    let on_moto = args.next().as_deref() == Some("moto");
    let here = std::env::current_exe().expect("own path");
    let host_bin = here.parent().expect("examples").join("../upline-local");
    let dir = tempfile::tempdir().expect("a temporary folder");
    let data = dir.path().join("data");
    let (aws, sent) = if on_moto {
        let (env, sent) = moto_environment().await;
        (Some(env), sent)
    } else {
        (None, Sent::Outbox(data.join("outbox")))
    };
    let (_host, s) = start_host(
        &host_bin,
        &data,
        &dir.path().join("host.log"),
        aws.as_deref(),
    );
    let s = Arc::new(s);
    let sent = Arc::new(sent);
    // moto builds its whole state to answer how many emails it accepted: ask less often.
    let poll = Duration::from_millis(if on_moto { 3000 } else { 20 });

    upline_tests::install_tls_provider();
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(upline_tests::host::BROWSER)
        .pool_max_idle_per_host(concurrency)
        .build()
        .expect("a client");
    // The demo's partners take an email per conversion (off by default).
    for key in &s.partner_keys {
        client
            .patch(format!("{}/v1/me", s.base))
            .bearer_auth(key)
            .json(&serde_json::json!({ "notifications": { "new_conversion": true } }))
            .send()
            .await
            .expect("the host answers")
            .error_for_status()
            .expect("preferences saved");
    }
    // Let the first start's emails land before counting.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let emails_before = sent.count().await;
    let conversions_before = conversions_counted(&client, &s).await;

    let click_ids: Vec<String> = futures::stream::iter(0..n)
        .map(|_| {
            let (client, s) = (client.clone(), s.clone());
            async move {
                let r = client.get(&s.link).send().await.expect("a redirect");
                let location = r.headers()["location"].to_str().expect("text").to_string();
                url::Url::parse(&location)
                    .expect("a URL")
                    .query_pairs()
                    .find(|(k, _)| k == "click_id")
                    .map(|(_, v)| v.into_owned())
                    .expect("a click id")
            }
        })
        .buffer_unordered(concurrency)
        .collect()
        .await;

    let backend = if on_moto {
        "on the AWS adapters against moto"
    } else {
        "on the embedded store"
    };
    println!("{n} postbacks over {concurrency} connections to a release local host {backend}:");
    let started = Instant::now();
    let conversion_ids: Vec<String> = futures::stream::iter(click_ids.into_iter().enumerate())
        .map(|(i, click_id)| {
            let (client, s) = (client.clone(), s.clone());
            async move {
                // A storefront retries a 503 (the store was briefly busy); the same order
                // again is the same conversion, so a retry is safe.
                let mut tries = 0;
                let r = loop {
                    let r = client
                        .post(format!("{}/v1/postbacks", s.base))
                        .bearer_auth(&s.postback_secret)
                        .json(&serde_json::json!({
                            "click_id": click_id,
                            "order_id": format!("load-{i}"),
                            "amount": "100.00",
                            "currency": "USD",
                        }))
                        .send()
                        .await
                        .expect("the host answers");
                    tries += 1;
                    if r.status() != reqwest::StatusCode::SERVICE_UNAVAILABLE || tries == 10 {
                        break r;
                    }
                    tokio::time::sleep(Duration::from_millis(50 * tries)).await;
                };
                assert_eq!(r.status(), reqwest::StatusCode::CREATED, "postback {i}");
                let body: serde_json::Value = r.json().await.expect("JSON");
                body["conversion_id"].as_str().expect("an id").to_string()
            }
        })
        .buffer_unordered(concurrency)
        .collect()
        .await;
    let accepted = started.elapsed();

    let commissioned = wait_until("every conversion's commission", poll, || {
        let (client, s) = (client.clone(), s.clone());
        async move { conversions_counted(&client, &s).await >= conversions_before + n as u64 }
    })
    .await;
    let lines = admin_get(
        &client,
        &s,
        &format!("/v1/admin/commissions?conversion_id={}", conversion_ids[0]),
    )
    .await;
    let per_conversion = lines["items"].as_array().expect("lines").len();
    let expected_emails = emails_before + n * per_conversion;
    let emailed = wait_until("every email", poll, || {
        let sent = sent.clone();
        async move { sent.count().await >= expected_emails }
    })
    .await;

    let rate = |d: Duration| n as f64 / d.as_secs_f64();
    let (to_lines, to_emails) = (commissioned - started, emailed - started);
    println!(
        "  accepted:      {n} postbacks in {:>6.2} s = {:>6.0} /s",
        accepted.as_secs_f64(),
        rate(accepted)
    );
    println!(
        "  commissioned:  {} lines ({per_conversion} per conversion) in {:>6.2} s = {:>6.0} conversions/s",
        n * per_conversion,
        to_lines.as_secs_f64(),
        rate(to_lines)
    );
    println!(
        "  with emails:   {} emails in {:>6.2} s = {:>6.0} conversions/s",
        n * per_conversion,
        to_emails.as_secs_f64(),
        rate(to_emails)
    );
}
