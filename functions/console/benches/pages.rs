//! The console's overview and report pages in-process, for a program with 1,000 partners
//! and 100,000 conversions over 90 days in the embedded store: p50 and p99 per page, the
//! first view's time, and how many Table reads (gets and query pages) each page makes —
//! from the counters, never a scan of raw records.
//!
//! `cargo bench -p upline-console --bench pages`. Under `cargo test` it renders each page
//! a few times as a smoke test of the same code.

// Timing figures, not money: floats are fine here.
#![allow(clippy::float_arithmetic)]

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use tower::ServiceExt;
use upline_domain::clock::{Clock, SystemClock};
use upline_domain::conversion::{Conversion, ConversionAmounts, ConversionStatus};
use upline_domain::ids::{CampaignId, PartnerId, RandomIds};
use upline_domain::money::{Currency, Money};
use upline_domain::operator::Role;
use upline_domain::partner::{Partner, PartnerKind, PartnerStatus};
use upline_domain::ports::{
    Condition, Index, Item, Key, Page, SortKeyCondition, Table, TableError, TxOp, Update,
};
use upline_domain::services::{Deployment, Services};
use upline_domain::store::{Store, keys};
use upline_domain::usecases::admin::{CampaignRequest, ProgramRequest, put_campaign, put_program};
use upline_domain::usecases::console_sign_in::{issue_link, sign_in};
use upline_domain::usecases::operators::{self, OperatorSpec};
use upline_domain::usecases::sign_in::BrowserSecret;
use upline_embedded::EmbeddedStore;

const PARTNERS: usize = 1_000;
const CAMPAIGNS: usize = 5;
const CONVERSIONS: usize = 100_000;
const DAYS: i64 = 90;
/// Clicks per conversion, as a 3 % conversion rate would have it.
const CLICKS_PER_CONVERSION: i64 = 33;

/// The embedded table, counting the reads made through it.
struct Counting {
    inner: Arc<dyn Table>,
    reads: AtomicU64,
}

#[async_trait]
impl Table for Counting {
    async fn get(&self, key: &Key) -> Result<Option<Item>, TableError> {
        self.reads.fetch_add(1, Ordering::Relaxed);
        self.inner.get(key).await
    }

    async fn query(
        &self,
        index: Index,
        partition: &str,
        condition: &SortKeyCondition,
        forward: bool,
        limit: usize,
        cursor: Option<&str>,
    ) -> Result<Page, TableError> {
        self.reads.fetch_add(1, Ordering::Relaxed);
        self.inner
            .query(index, partition, condition, forward, limit, cursor)
            .await
    }

    async fn put(&self, item: Item, condition: Condition) -> Result<(), TableError> {
        self.inner.put(item, condition).await
    }

    async fn update(
        &self,
        key: &Key,
        update: Update,
        condition: Condition,
    ) -> Result<Item, TableError> {
        self.inner.update(key, update, condition).await
    }

    async fn delete(&self, key: &Key, condition: Condition) -> Result<(), TableError> {
        self.inner.delete(key, condition).await
    }

    async fn transact(&self, ops: Vec<TxOp>) -> Result<(), TableError> {
        self.inner.transact(ops).await
    }

    fn transaction_limit(&self) -> usize {
        self.inner.transaction_limit()
    }
}

fn partner(i: usize, now: upline_domain::clock::Timestamp) -> Partner {
    Partner {
        id: PartnerId::from(format!("p-{i:04}").as_str()),
        email: format!("partner{i}@example.com"),
        name: format!("Partner {i}"),
        kind: PartnerKind::Affiliate,
        status: PartnerStatus::Approved,
        recruited_by: None,
        referral_code: format!("ref{i:05}"),
        group: None,
        payout_details: None,
        fields: Default::default(),
        status_reason: None,
        notifications: Default::default(),
        unsubscribe_token: String::new(),
        api_key_hash: None,
        status_history: Vec::new(),
        created_at: now.plus_days(-200),
        updated_at: now.plus_days(-200),
    }
}

/// The program, its campaigns, partners and conversions, and the counters the pipeline
/// would have kept for them; returns an owner's session cookie.
async fn program_with_history(services: &Services) -> String {
    let program: ProgramRequest =
        serde_json::from_str(r#"{"name":"Bench Outfitters","currency":"USD","hold_days":30}"#)
            .unwrap();
    put_program(services, program.parse().unwrap())
        .await
        .unwrap();
    let usd = Currency::from_code("USD").unwrap();
    for c in 0..CAMPAIGNS {
        let campaign: CampaignRequest = serde_json::from_str(&format!(
            r#"{{"name":"Campaign {c}","destination_url":"https://shop.example.com/{c}","terms":{{"revenue_share_percent":"10"}}}}"#
        ))
        .unwrap();
        put_campaign(
            services,
            format!("campaign-{c}").as_str().into(),
            campaign.parse(usd).unwrap(),
        )
        .await
        .unwrap();
    }
    let now = services.now();
    let table = services.store.table().clone();
    let partners: Vec<Partner> = (0..PARTNERS).map(|i| partner(i, now)).collect();
    for chunk in partners.chunks(30) {
        let ops = chunk
            .iter()
            .flat_map(|p| {
                [
                    Store::partner_put(p, Condition::NotExists),
                    Store::unique_marker(keys::partner_email(&p.email), &p.id),
                    Store::unique_marker(keys::referral_code(&p.referral_code), &p.id),
                ]
            })
            .collect();
        table.transact(ops).await.unwrap();
    }
    // Conversions spread over the days, partners and campaigns (a few partners bring
    // most of them, as in real programs), each a 100.00 sale paying 10.00.
    let mut counters: HashMap<(i64, usize, usize), [i64; 4]> = HashMap::new();
    let mut batch = Vec::new();
    let mut random: u64 = 0x2545_f491_4f6c_dd1d;
    for n in 0..CONVERSIONS {
        // xorshift: the same spread on every run.
        random ^= random << 13;
        random ^= random >> 7;
        random ^= random << 17;
        let day = (random % DAYS as u64) as i64;
        let c = ((random >> 8) % CAMPAIGNS as u64) as usize;
        let r = ((random >> 16) % PARTNERS as u64) as usize;
        let p = r * r / PARTNERS;
        let at = now.plus_days(-day).plus_secs(-((n as i64 * 37) % 3_600));
        let conversion = Conversion {
            id: format!("conv-{n:06}").as_str().into(),
            campaign_id: CampaignId::from(format!("campaign-{c}").as_str()),
            order_id: format!("order-{n:06}"),
            partner_id: partners[p].id.clone(),
            link_code: None,
            click_id: None,
            clicked_at: None,
            attribution: Default::default(),
            unattributed_reason: None,
            amounts: ConversionAmounts::of_sale(Money::from_minor(10_000, usd)),
            event: "sale".into(),
            items: vec![],
            customer_id: None,
            first_time_customer: None,
            refunded_original_minor: 0,
            original: None,
            subscription: None,
            subs: Default::default(),
            status: ConversionStatus::Commissioned,
            created_at: at,
        };
        batch.push(Store::conversion_put(&conversion, Condition::None));
        if batch.len() == 100 {
            table.transact(std::mem::take(&mut batch)).await.unwrap();
        }
        let row = counters.entry((day, c, p)).or_default();
        row[0] += CLICKS_PER_CONVERSION;
        row[1] += 1;
        row[2] += 10_000;
        row[3] += 1_000;
    }
    if !batch.is_empty() {
        table.transact(batch).await.unwrap();
    }
    let rows: Vec<_> = counters.into_iter().collect();
    for chunk in rows.chunks(100) {
        let ops = chunk
            .iter()
            .map(
                |((day, c, p), [clicks, conversions, revenue, commission])| {
                    Store::stats_add(
                        now.plus_days(-day).day(),
                        &CampaignId::from(format!("campaign-{c}").as_str()),
                        &partners[*p].id,
                        &[
                            ("clicks", *clicks),
                            ("unique_clicks", clicks * 4 / 5),
                            ("conversions", *conversions),
                            ("revenue_minor", *revenue),
                            ("commission_minor", *commission),
                        ],
                    )
                },
            )
            .collect();
        table.transact(ops).await.unwrap();
    }
    println!(
        "seeded: {PARTNERS} partners, {CAMPAIGNS} campaigns, {CONVERSIONS} conversions, {} counter rows over {DAYS} days",
        rows.len()
    );
    let spec = OperatorSpec {
        email: "owner@example.com".into(),
        role: Role::Owner,
    };
    let (owner, _) = operators::put(services, spec, "bench").await.unwrap();
    let (token, _) = issue_link(services, &owner, 600).await.unwrap();
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
    let rounds = if benching { 300 } else { 2 };
    let dir = tempfile::tempdir().unwrap();
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let store = EmbeddedStore::open(&dir.path().join("bench.redb"), clock.clone(), 3).unwrap();
    let counting = Arc::new(Counting {
        inner: Arc::new(store.clone()),
        reads: AtomicU64::new(0),
    });
    let services = Services::new(
        counting.clone(),
        Arc::new(store),
        clock,
        Arc::new(RandomIds),
        Deployment {
            click_secret: None,
            public_base_url: "https://go.example.com".into(),
            allow_private_postbacks: false,
        },
    );
    let seeding = Instant::now();
    let cookie = program_with_history(&services).await;
    println!("(seeding took {:.1} s)", seeding.elapsed().as_secs_f64());
    let app = upline_console::router(services);
    let get = |path: &str| {
        Request::get(path)
            .header("cookie", format!("{}={cookie}", upline_console::COOKIE))
            .body(Body::empty())
            .unwrap()
    };
    println!("console pages, one core (reads: Table gets and query pages per view)");
    for path in [
        "/console?days=7",
        "/console?days=30",
        "/console?days=90",
        "/console/reports?group_by=day",
        "/console/reports?group_by=partner",
        "/console/reports?group_by=campaign&from=2000-01-01",
    ] {
        let path = path.replace(
            "from=2000-01-01",
            &format!("from={}", SystemClock.now().plus_days(-89).day()),
        );
        let mut latencies = Vec::with_capacity(rounds);
        let mut first = None;
        let mut first_reads = 0;
        let mut reads = 0;
        for round in 0..rounds {
            let before = counting.reads.load(Ordering::Relaxed);
            let t = Instant::now();
            let resp = app.clone().oneshot(get(&path)).await.unwrap();
            assert_eq!(resp.status(), StatusCode::OK, "{path}");
            axum::body::to_bytes(resp.into_body(), 1 << 24)
                .await
                .unwrap();
            let took = t.elapsed();
            let made = counting.reads.load(Ordering::Relaxed) - before;
            if round == 0 {
                first = Some(took);
                first_reads = made;
            } else {
                reads = made;
            }
            latencies.push(took);
        }
        latencies.sort();
        println!(
            "  {path:<48} p50 {:>7.2} ms  p99 {:>7.2} ms  first view {:>8.2} ms  reads: first {first_reads}, then {reads}",
            percentile(&latencies, 0.50).as_secs_f64() * 1e3,
            percentile(&latencies, 0.99).as_secs_f64() * 1e3,
            first.unwrap_or_default().as_secs_f64() * 1e3,
        );
    }
}
