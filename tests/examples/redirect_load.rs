//! Load on the local host's redirect, compared with a server that only answers 302.
//!
//! Starts both on loopback in this process — the whole local host (embedded store, clicks
//! queue and click recorder running) and a minimal axum server whose one handler returns a
//! fixed 302 — then drives each in turn with the same client: `CONCURRENCY` connections
//! for `SECONDS` seconds (default 5). Prints requests per second, p50/p99 latency and the
//! ratio. Bounded: it stops by itself.
//!
//! `./scripts/load-redirect` (or `cargo run --release -p upline-tests --example
//! redirect_load -- [SECONDS] [CONCURRENCY]`).

// Timing and rate figures, not money: floats are fine here.
#![allow(clippy::float_arithmetic)]

use std::time::{Duration, Instant};

use axum::Router;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::IntoResponse;
use upline_local::{HostConfig, start};

struct Figures {
    requests: usize,
    per_second: f64,
    p50: Duration,
    p99: Duration,
}

async fn drive(client: &reqwest::Client, url: &str, seconds: u64, concurrency: usize) -> Figures {
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..concurrency {
        let client = client.clone();
        let url = url.to_string();
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            while Instant::now() < deadline {
                let t = Instant::now();
                let r = client.get(&url).send().await.expect("answered");
                assert_eq!(r.status(), StatusCode::FOUND);
                latencies.push(t.elapsed());
            }
            latencies
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.unwrap());
    }
    let elapsed = started.elapsed().as_secs_f64();
    all.sort();
    let at = |p: f64| all[((all.len() as f64 - 1.0) * p).round() as usize];
    Figures {
        requests: all.len(),
        per_second: all.len() as f64 / elapsed,
        p50: at(0.5),
        p99: at(0.99),
    }
}

fn show(name: &str, f: &Figures) {
    println!(
        "{name:<28} {:>8} requests  {:>9.0} req/s  p50 {:>7.2} ms  p99 {:>7.2} ms",
        f.requests,
        f.per_second,
        f.p50.as_secs_f64() * 1e3,
        f.p99.as_secs_f64() * 1e3
    );
}

#[tokio::main]
async fn main() {
    let mut args = std::env::args().skip(1);
    let seconds: u64 = args.next().and_then(|a| a.parse().ok()).unwrap_or(5);
    let concurrency: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(32);

    let bare = Router::new().fallback(|| async {
        let mut r = StatusCode::FOUND.into_response();
        r.headers_mut().insert(
            header::LOCATION,
            HeaderValue::from_static("https://shop.example.com/spring?click_id=x"),
        );
        r
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let bare_url = format!("http://{}/r/anything", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, bare).await.unwrap() });

    let dir = tempfile::tempdir().unwrap();
    let host = start(HostConfig::new(
        "127.0.0.1:0".parse().unwrap(),
        dir.path().to_path_buf(),
    ))
    .await
    .expect("the local host starts");
    let demo = host.first_start.demo.clone().expect("the demo program");
    let link = demo.partners.last().unwrap().link_url.clone();
    let host_url = format!("{link}?sub1=load");

    upline_tests::install_tls_provider();
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(upline_tests::host::BROWSER)
        .pool_max_idle_per_host(concurrency)
        .build()
        .unwrap();
    println!("{seconds} s each, {concurrency} connections, on this machine's loopback:");
    let bare = drive(&client, &bare_url, seconds, concurrency).await;
    show("minimal 302 server", &bare);
    let upline = drive(&client, &host_url, seconds, concurrency).await;
    show("Upline local host /r/{code}", &upline);
    println!(
        "ratio: Upline serves {:.0}% of the minimal server's throughput",
        100.0 * upline.per_second / bare.per_second
    );
    host.stop().await;
}
