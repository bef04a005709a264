//! The redirect handler in-process: a warm function (link cached) answering `GET /r/{code}`
//! with sub-ids and a browser user agent, one request at a time. Prints requests per
//! second and p50/p99 latency.
//!
//! The clicks queue here only counts what it is sent, so the figures are the handler's own
//! work (classifying the visitor, targeting, signing the click id, building the response)
//! and not a network call the real queue would add. `scripts/load-redirect` measures the
//! whole local host over HTTP instead.
//!
//! `cargo bench -p upline-redirect --bench redirect`. Under `cargo test` it runs a few
//! hundred requests as a smoke test of the same code.

// Timing and rate figures, not money: floats are fine here.
#![allow(clippy::float_arithmetic)]

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use tower::ServiceExt;
use upline_domain::click_id::ClickSecret;
use upline_domain::clock::SystemClock;
use upline_domain::ids::RandomIds;
use upline_domain::ports::{Queue, QueueError, QueueName};
use upline_domain::services::{Deployment, Services};
use upline_domain::usecases::admin::{
    CampaignRequest, NewLink, ProgramRequest, approve_partner, create_link, put_campaign,
    put_program,
};
use upline_domain::usecases::signup::signup;
use upline_embedded::EmbeddedStore;
use upline_redirect::{TrackingSettings, router, state};

#[derive(Default)]
struct CountingQueue(AtomicU64);

#[async_trait]
impl Queue for CountingQueue {
    async fn send(&self, _: QueueName, bodies: Vec<String>) -> Result<(), QueueError> {
        self.0.fetch_add(bodies.len() as u64, Ordering::Relaxed);
        Ok(())
    }
}

async fn link(services: &Services) -> String {
    let program: ProgramRequest =
        serde_json::from_str(r#"{"name":"Bench","currency":"USD"}"#).unwrap();
    put_program(services, program.parse().unwrap())
        .await
        .unwrap();
    let campaign: CampaignRequest = serde_json::from_str(
        r#"{"name":"Spring","destination_url":"https://shop.example.com/spring?utm_source=upline",
            "targeting":{"rules":[{"countries":["DE"],"url":"https://shop.example.de/"}]}}"#,
    )
    .unwrap();
    let campaign = campaign
        .parse(upline_domain::money::Currency::from_code("USD").unwrap())
        .unwrap();
    put_campaign(services, "spring".into(), campaign)
        .await
        .unwrap();
    let req: upline_domain::usecases::signup::SignupRequest =
        serde_json::from_str(r#"{"email":"b@example.com","name":"B","type":"affiliate"}"#).unwrap();
    let partner = signup(
        services,
        req.parse(&[], &services.store).await.unwrap(),
        "bench",
    )
    .await
    .unwrap();
    approve_partner(services, &partner.id, "bench")
        .await
        .unwrap();
    let (link, _) = create_link(
        services,
        NewLink {
            partner_id: partner.id.clone(),
            campaign_id: "spring".into(),
        },
    )
    .await
    .unwrap();
    link.code.to_string()
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let benching = std::env::args().any(|a| a == "--bench");
    let requests = if benching { 200_000 } else { 300 };
    let dir = tempfile::tempdir().unwrap();
    let store =
        EmbeddedStore::open(&dir.path().join("bench.redb"), Arc::new(SystemClock), 3).unwrap();
    let queue = Arc::new(CountingQueue::default());
    let services = Services::new(
        Arc::new(store),
        queue.clone(),
        Arc::new(SystemClock),
        Arc::new(RandomIds),
        Deployment {
            click_secret: Some(ClickSecret::new(vec![9; 32]).unwrap()),
            public_base_url: "https://go.example.com".into(),
            allow_private_postbacks: false,
        },
    );
    let code = link(&services).await;
    let app = router(state(services, TrackingSettings::default()));
    let uri = format!("/r/{code}?sub1=newsletter&sub2=spring-hero");
    let request = || {
        Request::get(&uri)
            .header("user-agent", "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1")
            .header("x-forwarded-for", "203.0.113.7")
            .header("cloudfront-viewer-country", "DE")
            .body(Body::empty())
            .unwrap()
    };
    // Warm the cache (and the allocator) first.
    for _ in 0..100 {
        app.clone().oneshot(request()).await.unwrap();
    }
    let published_before = queue.0.load(Ordering::Relaxed);
    let mut latencies = Vec::with_capacity(requests);
    let started = Instant::now();
    for _ in 0..requests {
        let t = Instant::now();
        let resp = app.clone().oneshot(request()).await.unwrap();
        latencies.push(t.elapsed());
        assert_eq!(resp.status(), StatusCode::FOUND);
    }
    let total = started.elapsed();
    latencies.sort();
    let published = queue.0.load(Ordering::Relaxed) - published_before;
    assert_eq!(published, requests as u64, "every click published");
    println!(
        "redirect handler, link cached, one core: {requests} requests in {:.2} s = {:.0} req/s; p50 {:.1} µs, p99 {:.1} µs",
        total.as_secs_f64(),
        requests as f64 / total.as_secs_f64(),
        percentile(&latencies, 0.50).as_secs_f64() * 1e6,
        percentile(&latencies, 0.99).as_secs_f64() * 1e6,
    );
}
