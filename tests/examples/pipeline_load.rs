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
//! `pipeline_load N CONCURRENCY`, from `target/release/examples` beside `../upline-local`.

// Timing and rate figures, not money: floats are fine here.
#![allow(clippy::float_arithmetic)]

use std::io::{BufRead, BufReader};
use std::path::Path;
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

fn start_host(program: &Path, data: &Path, log: &Path) -> (Host, Started) {
    let mut child = Command::new(program)
        .args([
            "--addr",
            "127.0.0.1:0",
            "--schedule-every",
            "0",
            "--data-dir",
        ])
        .arg(data)
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

fn emails_in(outbox: &Path) -> usize {
    std::fs::read_dir(outbox).map_or(0, |d| d.count())
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
    mut done: impl FnMut() -> F,
) -> Instant {
    let give_up = Instant::now() + Duration::from_secs(300);
    loop {
        if done().await {
            return Instant::now();
        }
        assert!(Instant::now() < give_up, "gave up waiting for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::main]
async fn main() {
    let mut args = std::env::args().skip(1);
    let n: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(2_000);
    let concurrency: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(32);
    let here = std::env::current_exe().expect("own path");
    let host_bin = here.parent().expect("examples").join("../upline-local");
    let dir = tempfile::tempdir().expect("a temporary folder");
    let data = dir.path().join("data");
    let (_host, s) = start_host(&host_bin, &data, &dir.path().join("host.log"));
    let s = Arc::new(s);
    let outbox = data.join("outbox");

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
    let emails_before = emails_in(&outbox);
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

    println!("{n} postbacks over {concurrency} connections to a release local host:");
    let started = Instant::now();
    let conversion_ids: Vec<String> = futures::stream::iter(click_ids.into_iter().enumerate())
        .map(|(i, click_id)| {
            let (client, s) = (client.clone(), s.clone());
            async move {
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
                assert_eq!(r.status(), reqwest::StatusCode::CREATED, "postback {i}");
                let body: serde_json::Value = r.json().await.expect("JSON");
                body["conversion_id"].as_str().expect("an id").to_string()
            }
        })
        .buffer_unordered(concurrency)
        .collect()
        .await;
    let accepted = started.elapsed();

    let commissioned = wait_until("every conversion's commission", || {
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
    let emailed = wait_until("every email", || {
        let outbox = outbox.clone();
        async move { emails_in(&outbox) >= expected_emails }
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
