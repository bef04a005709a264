//! The portal's pages in-process, for a partner with 90 days of counters and 1,000
//! commission lines in the embedded store: p50 and p99 per page, and what each page
//! weighs as served (its HTML plus the stylesheet and script it loads).
//!
//! `cargo bench -p upline-portal --bench pages`. Under `cargo test` it renders each page
//! a few times as a smoke test of the same code.

// Timing figures, not money: floats are fine here.
#![allow(clippy::float_arithmetic)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::{Request, StatusCode};
use tower::ServiceExt;
use upline_domain::clock::SystemClock;
use upline_domain::commission::{CommissionLine, Explanation, LineStatus, Rule};
use upline_domain::ids::{LineId, RandomIds};
use upline_domain::money::{Currency, Money};
use upline_domain::services::{Deployment, Services};
use upline_domain::store::Store;
use upline_domain::usecases::admin::{
    CampaignRequest, NewLink, ProgramRequest, approve_partner, create_link, put_campaign,
    put_program,
};
use upline_domain::usecases::sign_in::{BrowserSecret, LINK_VALID_SECS, issue_link, sign_in};
use upline_domain::usecases::signup::{SignupRequest, signup};
use upline_embedded::EmbeddedStore;

const LINES: usize = 1_000;
const DAYS: i64 = 90;

/// A program, a campaign and an approved partner with a link, 90 days of counters and
/// 1,000 lines; returns the partner's session cookie.
async fn partner_with_history(services: &Services) -> String {
    let program: ProgramRequest =
        serde_json::from_str(r#"{"name":"Bench Outfitters","currency":"USD"}"#).unwrap();
    put_program(services, program.parse().unwrap())
        .await
        .unwrap();
    let campaign: CampaignRequest = serde_json::from_str(
        r#"{"name":"Spring","destination_url":"https://shop.example.com/spring","terms":{"revenue_share_percent":"10"}}"#,
    )
    .unwrap();
    let usd = Currency::from_code("USD").unwrap();
    put_campaign(services, "spring".into(), campaign.parse(usd).unwrap())
        .await
        .unwrap();
    let req: SignupRequest =
        serde_json::from_str(r#"{"email":"b@example.com","name":"Bea","type":"affiliate"}"#)
            .unwrap();
    let application = req.parse(&[], &services.store).await.unwrap();
    let partner = signup(services, application, "bench").await.unwrap();
    approve_partner(services, &partner.id, "bench")
        .await
        .unwrap();
    create_link(
        services,
        NewLink {
            partner_id: partner.id.clone(),
            campaign_id: "spring".into(),
        },
    )
    .await
    .unwrap();
    let now = services.now();
    let table = services.store.table().clone();
    for d in 0..DAYS {
        let day = now.plus_days(-d).day();
        let op = Store::stats_add(
            day,
            &"spring".into(),
            &partner.id,
            &[
                ("clicks", 40 + d % 7),
                ("conversions", 1 + d % 3),
                ("commission_minor", 1_250 + d),
            ],
        );
        table.transact(vec![op]).await.unwrap();
    }
    for i in 0..LINES {
        let line = CommissionLine {
            id: LineId::from(format!("conv-{i:04}:0")),
            conversion_id: format!("conv-{i:04}").into(),
            partner_id: partner.id.clone(),
            campaign_id: "spring".into(),
            level: 0,
            amount: Money::from_minor(1_000 + i as i64, usd),
            status: if i % 4 == 0 {
                LineStatus::Approved
            } else {
                LineStatus::Pending
            },
            hold_until: now.plus_days(30),
            explanation: Explanation::new(
                Rule::RevenueShare,
                0,
                10_000,
                "10% revenue share of the 100.00 USD sale = 10.00 USD".into(),
            ),
            created_at: now.plus_secs(-(i as i64) * 600),
            reverses: None,
            payout_id: None,
            held_for: None,
        };
        table.transact(vec![Store::line_put(&line)]).await.unwrap();
    }
    let (token, _) = issue_link(services, &partner.id, LINK_VALID_SECS)
        .await
        .unwrap();
    let (session, _) = sign_in(services, &BrowserSecret::from_browser(token.expose()))
        .await
        .unwrap();
    session.expose().to_string()
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let benching = std::env::args().any(|a| a == "--bench");
    let rounds = if benching { 2_000 } else { 3 };
    let dir = tempfile::tempdir().unwrap();
    let store =
        EmbeddedStore::open(&dir.path().join("bench.redb"), Arc::new(SystemClock), 3).unwrap();
    let services = Services::new(
        Arc::new(store.clone()),
        Arc::new(store),
        Arc::new(SystemClock),
        Arc::new(RandomIds),
        Deployment {
            click_secret: None,
            public_base_url: "https://go.example.com".into(),
            allow_private_postbacks: false,
        },
    );
    let cookie = partner_with_history(&services).await;
    let app = upline_portal::router(services);
    let get = |path: &str| {
        Request::get(path)
            .header("cookie", format!("{}={cookie}", upline_portal::COOKIE))
            .body(Body::empty())
            .unwrap()
    };
    let size = |path: &'static str| {
        let app = app.clone();
        let request = get(path);
        async move {
            let resp = app.oneshot(request).await.unwrap();
            axum::body::to_bytes(resp.into_body(), 1 << 22)
                .await
                .unwrap()
                .len()
        }
    };
    let assets = size("/portal/assets/portal.css").await + size("/portal/assets/portal.js").await;
    println!(
        "portal pages, {LINES} commission lines and {DAYS} days of counters, one core; stylesheet + script {assets} bytes"
    );
    for path in [
        "/portal?days=90",
        "/portal/links",
        "/portal/commissions",
        "/portal/payouts",
        "/portal/team",
        "/portal/settings",
    ] {
        let mut latencies = Vec::with_capacity(rounds);
        let mut bytes = 0;
        for _ in 0..rounds {
            let t = Instant::now();
            let resp = app.clone().oneshot(get(path)).await.unwrap();
            assert_eq!(resp.status(), StatusCode::OK, "{path}");
            let body = axum::body::to_bytes(resp.into_body(), 1 << 22)
                .await
                .unwrap();
            latencies.push(t.elapsed());
            bytes = body.len();
        }
        latencies.sort();
        println!(
            "  {path:<22} p50 {:>7.2} ms  p99 {:>7.2} ms  page {:>6} bytes, with stylesheet and script {:>6} bytes",
            percentile(&latencies, 0.50).as_secs_f64() * 1e3,
            percentile(&latencies, 0.99).as_secs_f64() * 1e3,
            bytes,
            bytes + assets,
        );
    }
}
