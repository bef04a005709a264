//! Every sample event in `events/` through its own function's handler, in process: the
//! API Gateway requests through each HTTP function's router (parsed by `lambda_http` the
//! way the Lambda runtime parses them), the SQS batches and the schedule through the
//! consumer stages. The world they run against is seeded with the records the events
//! name (link `spring01`, partners `p-cleo` ← `p-bo` ← `p-ada`, pending `p-dan`,
//! conversion `conv-sample-1`, the sample admin and partner keys).

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::Arc;
use upline_domain::ids::{ConversionId, PartnerId};

use aws_lambda_events::event::sqs::SqsBatchResponse;
use axum::Router;
use reqwest::StatusCode;
use serde_json::Value;
use tower::ServiceExt;
use upline_domain::clock::Day;
use upline_domain::commission::LineStatus;
use upline_domain::messages::Message;
use upline_domain::ports::{MessageHandler, QueueConsumer, QueueName};
use upline_domain::services::Services;
use upline_domain::tracking::{Click, Traffic};
use upline_embedded::{EmbeddedStore, OutboxMailer};
use upline_tests::host::strings_of;
use upline_tests::policy::{PolicedDeadLetters, PolicedMailer, PolicedQueue, PolicedTable, Policy};
use upline_tests::samples::{
    CLICK_SECRET_BYTE, NOW, assert_the_sample_paid_the_chain, commission_sample, events_dir,
    lines_of, read_event, seed,
};
use upline_tests::world::EmbeddedWorld;

struct World {
    services: Services,
    store: EmbeddedStore,
    outbox: PathBuf,
    /// The functions the scenario ran as, each held to its policy in `template.yaml`.
    policies: std::sync::Mutex<Vec<Arc<Policy>>>,
    _dir: tempfile::TempDir,
}

impl World {
    /// The services as `function` has them on AWS: its table and queue calls allowed
    /// only as far as its IAM policy in `template.yaml` grants (IAM parity).
    fn as_function(&self, function: &str) -> Services {
        let policy = Policy::of(function);
        self.policies.lock().unwrap().push(policy.clone());
        let mut services = self.services.clone();
        services.store = upline_domain::store::Store::new(Arc::new(PolicedTable {
            inner: services.store.table().clone(),
            policy: policy.clone(),
        }));
        services.queue = Arc::new(PolicedQueue {
            inner: services.queue.clone(),
            policy,
        });
        services
    }

    /// Where `function` puts its dead letters, held to its policy.
    fn dead_letters(&self, function: &str) -> PolicedDeadLetters {
        PolicedDeadLetters {
            inner: Default::default(),
            policy: self.policy(function),
        }
    }

    /// The last policy taken, for the adapters a function builds itself (its mailer).
    fn policy(&self, function: &str) -> Arc<Policy> {
        self.policies
            .lock()
            .unwrap()
            .iter()
            .rev()
            .find(|p| p.function == function)
            .cloned()
            .unwrap_or_else(|| panic!("{function} was not taken with as_function"))
    }

    /// The redirect function's router, as `RedirectFunction` with default settings.
    fn redirect_router(&self) -> Router {
        upline_redirect::router(upline_redirect::state(
            self.as_function("RedirectFunction"),
            upline_redirect::TrackingSettings::default(),
        ))
    }

    /// The API function's router, as `ApiFunction`.
    fn api_router(&self) -> Router {
        upline_api::router(self.as_function("ApiFunction"))
    }

    /// Feeds the SQS batch in `file` to `handler` twice, as `function` does on `queue`,
    /// asserting each delivery is acknowledged whole (no item to retry).
    async fn feed_twice(
        &self,
        handler: &dyn MessageHandler,
        file: &str,
        function: &str,
        queue: QueueName,
    ) {
        for _ in 0..2 {
            let response = feed(handler, file, &self.dead_letters(function), queue).await;
            assert!(response.batch_item_failures.is_empty());
        }
    }

    /// The payout function, as `PayoutFunction` with its own dead letters.
    fn payout_function(&self) -> upline_payout::PayoutFunction {
        upline_payout::PayoutFunction::new(
            self.as_function("PayoutFunction"),
            Arc::new(self.dead_letters("PayoutFunction")),
        )
    }
}

impl Drop for World {
    /// Every scenario ends by checking that no function did what AWS would refuse it.
    fn drop(&mut self) {
        if std::thread::panicking() {
            return;
        }
        let violations: Vec<String> = self
            .policies
            .lock()
            .unwrap()
            .iter()
            .flat_map(|p| p.violations())
            .collect();
        assert!(
            violations.is_empty(),
            "calls template.yaml's policies do not allow: {violations:#?}"
        );
    }
}

/// The sample world at the events' own time, seeded.
async fn world() -> World {
    let EmbeddedWorld {
        services,
        store,
        dir,
        ..
    } = EmbeddedWorld::open(NOW, CLICK_SECRET_BYTE, "https://go.example.com");
    seed(&services).await;
    World {
        services,
        store,
        outbox: dir.path().join("outbox"),
        policies: Default::default(),
        _dir: dir,
    }
}

struct Reply {
    status: StatusCode,
    headers: axum::http::HeaderMap,
    body: Value,
    text: String,
}

async fn call(router: &Router, file: &str) -> Reply {
    let request =
        lambda_http::request::from_str(&read_event(file)).unwrap_or_else(|e| panic!("{file}: {e}"));
    let response = router.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = axum::body::to_bytes(response.into_body(), 1 << 20)
        .await
        .unwrap();
    let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    Reply {
        status,
        headers,
        body,
        text: String::from_utf8_lossy(&bytes).into_owned(),
    }
}

/// Feeds the SQS batch in `file` to `handler`, dead-lettering into `dead`.
async fn feed(
    handler: &dyn MessageHandler,
    file: &str,
    dead: &PolicedDeadLetters,
    queue: QueueName,
) -> SqsBatchResponse {
    upline_aws::handle_sqs_event(handler, sqs_event(file), dead, queue).await
}

/// The JSON event in `file`, as the schedule or a trigger hands it to a function.
fn event(file: &str) -> Value {
    serde_json::from_str(&read_event(file)).unwrap()
}

/// The actions in the audit log, newest first, as the API lists them.
async fn audit_actions(router: &Router) -> Vec<String> {
    let r = call(router, "api/list-audit-log.json").await;
    strings_of(&r.body["items"], "action")
        .into_iter()
        .map(str::to_string)
        .collect()
}

/// Asserts the reply shows a newly issued partner key.
fn assert_new_partner_key(r: &Reply) {
    assert!(
        r.body["api_key"]
            .as_str()
            .unwrap()
            .starts_with("upl_partner_"),
        "{}",
        r.text
    );
}

async fn queued(w: &World, queue: QueueName) -> usize {
    w.store
        .receive(queue, 100, std::time::Duration::from_secs(60))
        .await
        .unwrap()
        .len()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redirect_events_redirect_and_count_only_real_visits() {
    let w = world().await;
    let router = w.redirect_router();
    let r = call(&router, "redirect/follow-link.json").await;
    assert_eq!(r.status, StatusCode::FOUND);
    let location = r.headers["location"].to_str().unwrap();
    assert!(
        location.starts_with("https://shop.example.com/spring?utm_source=upline&click_id="),
        "{location}"
    );
    let clicks = queued_clicks(&w).await;
    assert_eq!(clicks.len(), 1);
    assert_eq!(clicks[0].traffic, Traffic::Visit);
    let cookie = r.headers["set-cookie"].to_str().unwrap();
    assert!(
        cookie.starts_with(&format!(
            "upline_click={}; Max-Age=2592000;",
            clicks[0].click_id
        )),
        "{cookie}"
    );
    let r = call(&router, "redirect/check-link.json").await;
    assert_eq!(r.status, StatusCode::FOUND);
    assert!(r.headers.get("set-cookie").is_none());
    let clicks = queued_clicks(&w).await;
    assert_eq!(
        clicks.iter().map(|c| c.traffic.clone()).collect::<Vec<_>>(),
        [Traffic::Bot {
            reason: "HEAD request".into()
        }],
        "a HEAD is counted apart, not as a click"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn impression_direct_click_and_snippet_events_get_their_answers() {
    let w = world().await;
    let router = w.redirect_router();
    let r = call(&router, "redirect/impression.json").await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.headers["content-type"], "image/gif");
    let clicks = queued_clicks(&w).await;
    assert_eq!(clicks.len(), 1);
    assert_eq!(clicks[0].traffic, Traffic::Impression);
    assert_eq!(clicks[0].subs["sub1"], "banner-728");

    let r = call(&router, "redirect/direct-click.json").await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let click_id = r.body["click_id"].as_str().unwrap().to_string();
    assert_eq!(r.body["source"], "click");
    assert_eq!(
        r.headers["access-control-allow-origin"],
        "https://shop.example.com"
    );
    assert_eq!(r.headers["access-control-allow-credentials"], "true");
    let clicks = queued_clicks(&w).await;
    assert_eq!(
        (
            clicks[0].click_id.as_str(),
            &clicks[0].traffic,
            clicks[0].country.as_deref()
        ),
        (click_id.as_str(), &Traffic::Visit, Some("US"))
    );
    assert_eq!(clicks[0].subs["sub1"], "newsletter");

    let r = call(&router, "redirect/snippet.json").await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(
        r.headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/javascript")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_partner_postbacks_batch_calls_the_partners_url_once() {
    let w = world().await;
    commission_sample(&w.services).await;
    let tracker = upline_tests::receiver::PostbackReceiver::start(&[200]).await;
    // Written straight to the store: saving through the API refuses loopback addresses.
    let template = upline_domain::usecases::partner_postbacks::PostbackTemplate {
        url: format!(
            "{}/pb?cid={{click_id}}&payout={{payout}}&status={{status}}",
            tracker.base_url
        ),
        updated_at: NOW,
    };
    w.services
        .store
        .table()
        .put(
            upline_domain::store::encode(
                upline_domain::store::keys::partner_postback(&PartnerId::from("p-ada")),
                &template,
            ),
            upline_domain::ports::Condition::None,
        )
        .await
        .unwrap();
    let sender = upline_partner_postbacks::PartnerPostbackSender::new(
        w.as_function("PartnerPostbacksFunction"),
        Arc::new(upline_webhooks::HttpPostbackCaller::new(
            upline_webhooks::AddressPolicy::AllowPrivate,
        )),
    );
    let batch = "partner-postbacks/partner-postbacks-batch.json";
    w.feed_twice(
        &sender,
        batch,
        "PartnerPostbacksFunction",
        QueueName::PartnerPostbacks,
    )
    .await;
    assert_eq!(
        tracker.received(),
        ["/pb?cid=AWsANkABAgMEBQZzcHJpbmcwMbyDq_6R5G-rFnSZecVCUKM&payout=10.00&status=pending"],
        "delivered once, however often the message comes"
    );
}

/// The clicks waiting on the clicks queue, taken off it.
async fn queued_clicks(w: &World) -> Vec<Click> {
    w.store
        .receive(QueueName::Clicks, 100, std::time::Duration::from_secs(60))
        .await
        .unwrap()
        .iter()
        .map(|d| match Message::decode(&d.body).unwrap().1 {
            Message::ClickRecorded(c) => c,
            other => panic!("not a click: {other:?}"),
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_postback_event_records_a_conversion_from_its_signed_click_id() {
    let w = world().await;
    let router = upline_postback::router(w.as_function("PostbackFunction"));
    let r = call(&router, "postback/postback.json").await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    assert_eq!(r.body["conversion"]["partner_id"], "p-ada");
    assert_eq!(r.body["conversion"]["order_id"], "order-2026-000123");
    assert_eq!(r.body["conversion"]["clicked_at"], "2026-11-20T12:00:00Z");
    assert_eq!(queued(&w, QueueName::Conversions).await, 1);
    let again = call(&router, "postback/postback.json").await;
    assert_eq!(again.status, StatusCode::OK);
    assert_eq!(again.body["conversion_id"], r.body["conversion_id"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_postback_url_event_records_a_conversion_like_the_json_form() {
    let w = world().await;
    let router = upline_postback::router(w.as_function("PostbackFunction"));
    let r = call(&router, "postback/postback-url.json").await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    assert_eq!(r.body["conversion"]["partner_id"], "p-ada");
    assert_eq!(r.body["conversion"]["amount"], "50.00");
}

/// A store connected over the admin API, then Shopify's signed `orders/paid` through the
/// postback function: recorded, and in the store's delivery log.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_store_events_connect_a_shop_and_record_its_paid_order() {
    let w = world().await;
    let api = w.api_router();
    let r = call(&api, "api/put-store.json").await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    assert_eq!(
        r.body["webhook_url"],
        "https://go.example.com/v1/stores/demo-shop/webhook"
    );
    let r = call(&api, "api/list-stores.json").await;
    assert_eq!(r.body["items"][0]["platform"], "shopify");
    let postbacks = upline_postback::router(w.as_function("PostbackFunction"));
    let r = call(&postbacks, "postback/store-webhook.json").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["outcome"], "recorded", "{}", r.body);
    assert_eq!(r.body["order_id"], "5718234901827");
    assert_eq!(queued(&w, QueueName::Conversions).await, 1);
    let again = call(&postbacks, "postback/store-webhook.json").await;
    assert_eq!(again.body["outcome"], "duplicate");
    let r = call(&api, "api/store-deliveries.json").await;
    // Newest first: the redelivery is logged too.
    assert_eq!(
        strings_of(&r.body["items"], "outcome"),
        ["duplicate", "recorded"]
    );
    assert_eq!(r.body["items"][1]["event"], "orders/paid");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_portal_events_render_pages_and_email_a_sign_in_link() {
    let w = world().await;
    let router = upline_portal::router(w.as_function("PortalFunction"));
    let r = call(&router, "portal/login-page.json").await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(
        r.headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    assert!(r.text.contains("Email me a sign-in link"));
    let r = call(&router, "portal/join-page.json").await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(
        r.text.contains("value=\"adaref01\""),
        "the recruiter's code filled in"
    );
    // The form body API Gateway passes on, from the deployment's own origin.
    let r = call(&router, "portal/request-link.json").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert!(r.text.contains("Check your email"));
    let queued = w
        .store
        .receive(QueueName::Emails, 10, std::time::Duration::from_secs(60))
        .await
        .unwrap();
    let templates: Vec<String> = queued
        .iter()
        .map(|d| match Message::decode(&d.body).unwrap().1 {
            Message::EmailRequested(e) => e.template.name().to_string(),
            other => panic!("not an email: {other:?}"),
        })
        .collect();
    assert_eq!(templates, ["sign_in_link"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_console_events_render_its_login_and_email_an_operator_a_link() {
    let w = world().await;
    let spec = upline_domain::usecases::operators::OperatorSpec {
        email: "grace@example.com".into(),
        role: upline_domain::operator::Role::Owner,
    };
    upline_domain::usecases::operators::put(&w.services, spec, "events")
        .await
        .unwrap();
    let router = upline_console::router(w.as_function("ConsoleFunction"));
    let r = call(&router, "console/login-page.json").await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.text.contains("Sign in to the console"), "{}", r.text);
    let r = call(&router, "console/request-link.json").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert!(r.text.contains("Check your email"));
    let queued = w
        .store
        .receive(QueueName::Emails, 10, std::time::Duration::from_secs(60))
        .await
        .unwrap();
    let sent: Vec<(String, String)> = queued
        .iter()
        .map(|d| match Message::decode(&d.body).unwrap().1 {
            Message::OperatorEmailRequested(e) => (e.to, e.template.name().to_string()),
            other => panic!("not an operator's email: {other:?}"),
        })
        .collect();
    assert_eq!(
        sent,
        [(
            "grace@example.com".to_string(),
            "operator_sign_in_link".to_string()
        )]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_signup_event_applies_under_its_recruiter() {
    let w = world().await;
    let r = call(
        &upline_signup::router(w.as_function("SignupFunction")),
        "signup/apply.json",
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    assert_eq!(r.body["status"], "pending");
    assert_eq!(r.body["recruited_by"], "p-ada");
    assert_eq!(
        queued(&w, QueueName::Emails).await,
        1,
        "the application email"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_api_event_gets_its_answer() {
    let w = world().await;
    // Commission the sample conversion so the listing events have lines to show.
    commission_sample(&w.services).await;
    let router = w.api_router();
    let expect =
        |file: &'static str, status: StatusCode, check: fn(&Value) -> bool| (file, status, check);
    let cases = [
        expect("api/get-program.json", StatusCode::OK, |b| {
            b["name"] == "Demo Outfitters" && b.get("postback_secret").is_none()
        }),
        expect("api/put-program.json", StatusCode::OK, |b| {
            b["upline"]["rates"]["levels"][1] == "25"
        }),
        expect("api/list-campaigns.json", StatusCode::OK, |b| {
            b["items"][0]["id"] == "spring-sale"
        }),
        expect("api/put-campaign.json", StatusCode::CREATED, |b| {
            b["terms"]["cpa"] == "5.00" && b["terms"]["revenue_share_percent"] == "7.5"
        }),
        expect("api/list-partners.json", StatusCode::OK, |b| {
            b["items"].as_array().unwrap().len() == 2 && b["next_cursor"].is_string()
        }),
        expect("api/approve-partner.json", StatusCode::OK, |b| {
            b["partner"]["status"] == "approved"
                && b["api_key"].as_str().unwrap().starts_with("upl_partner_")
        }),
        expect("api/create-link.json", StatusCode::CREATED, |b| {
            b["partner_id"] == "p-bo"
                && b["url"]
                    .as_str()
                    .unwrap()
                    .starts_with("https://go.example.com/r/")
        }),
        expect("api/list-conversions.json", StatusCode::OK, |b| {
            b["items"][0]["id"] == "conv-sample-1"
        }),
        expect("api/list-commissions.json", StatusCode::OK, |b| {
            strings_of(&b["items"], "amount") == ["10.00", "5.00", "2.50"]
        }),
        expect("api/program-report.json", StatusCode::OK, |b| {
            b["group_by"] == "partner" && b["totals"]["commission"] == "17.50"
        }),
        expect("api/me.json", StatusCode::OK, |b| b["id"] == "p-ada"),
        expect("api/my-links.json", StatusCode::OK, |b| {
            b["items"][0]["code"] == "spring01"
        }),
        expect("api/my-commissions.json", StatusCode::OK, |b| {
            b["items"][0]["amount"] == "10.00"
        }),
        expect("api/my-stats.json", StatusCode::OK, |b| {
            b["totals"]["conversions"] == 1 && b["totals"]["revenue"] == "100.00"
        }),
        expect("api/health.json", StatusCode::OK, |_| true),
        expect("api/put-partner-terms.json", StatusCode::CREATED, |b| {
            b["revenue_share_percent"] == "15"
        }),
        expect(
            "api/delete-partner-terms.json",
            StatusCode::NO_CONTENT,
            |_| true,
        ),
        expect("api/put-group-terms.json", StatusCode::CREATED, |b| {
            b["bonuses"]["new_customer"] == "5.00"
        }),
        expect("api/set-group.json", StatusCode::OK, |b| {
            b["group"] == "gold"
        }),
        expect(
            "api/delete-group-terms.json",
            StatusCode::NO_CONTENT,
            |_| true,
        ),
        expect("api/set-recruiter.json", StatusCode::OK, |b| {
            b["id"] == "p-dan" && b["recruited_by"] == "p-ada"
        }),
        expect("api/put-exchange-rate.json", StatusCode::OK, |b| {
            b["means"] == "1 EUR = 1.0842 USD"
        }),
        expect("api/list-exchange-rates.json", StatusCode::OK, |b| {
            b["items"][0]["currency"] == "EUR"
        }),
        expect("api/assign-promo-code.json", StatusCode::CREATED, |b| {
            b["code"] == "ADA10" && b["partner_id"] == "p-ada"
        }),
        expect("api/list-promo-codes.json", StatusCode::OK, |b| {
            b["items"][0]["code"] == "ADA10"
        }),
        expect("api/my-promo-codes.json", StatusCode::OK, |b| {
            b["items"][0]["campaign_id"] == "spring-sale"
        }),
        expect(
            "api/withdraw-promo-code.json",
            StatusCode::NO_CONTENT,
            |_| true,
        ),
        expect("api/set-my-postback.json", StatusCode::OK, |b| {
            b["url"].as_str().unwrap().contains("{payout}")
        }),
        expect("api/my-postback.json", StatusCode::OK, |b| {
            b["macros"].as_array().unwrap().len() == 13
        }),
        expect("api/my-postback-deliveries.json", StatusCode::OK, |b| {
            b["items"].as_array().unwrap().is_empty()
        }),
        expect(
            "api/remove-my-postback.json",
            StatusCode::NO_CONTENT,
            |_| true,
        ),
    ];
    for (file, status, check) in cases {
        let r = call(&router, file).await;
        assert_eq!(r.status, status, "{file}: {}", r.body);
        assert!(check(&r.body), "{file}: {}", r.body);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_payout_events_run_a_period_export_it_and_settle_its_payouts() {
    let w = world().await;
    // The sample conversion's lines, approved by the operator: Ada 10.00, Bo 5.00 and
    // Cleo 2.50.
    commission_sample(&w.services).await;
    upline_domain::usecases::conversion_lifecycle::decide_conversion(
        &w.services,
        &ConversionId::from(upline_tests::samples::SAMPLE_CONVERSION),
        upline_domain::usecases::conversion_lifecycle::Decision::Approve,
    )
    .await
    .unwrap();
    let router = w.api_router();
    let r = call(&router, "api/set-my-payout-details.json").await;
    assert_eq!(
        (r.status, &r.body["email"]),
        (StatusCode::OK, &Value::from("ada.payouts@example.com")),
        "{}",
        r.text
    );
    let r = call(&router, "api/my-payout-details.json").await;
    assert_eq!(r.body["method"], "paypal");
    let r = call(&router, "api/start-payout-run.json").await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    assert_eq!(
        (
            r.body["payouts"].as_u64(),
            r.body["missing_details"].as_u64()
        ),
        (Some(3), Some(2))
    );
    // Bo's sample line past its hold joins his upline line: 10.00 + 15.00 + 2.50.
    assert_eq!(r.body["totals"][0]["amount"], "27.50");
    let again = call(&router, "api/start-payout-run.json").await;
    assert_eq!(again.status, StatusCode::OK, "the period ran already");
    let r = call(&router, "api/list-payout-runs.json").await;
    assert_eq!(r.body["items"][0]["id"], "2026-11");
    let r = call(&router, "api/get-payout-run.json").await;
    assert_eq!(r.body["items"].as_array().unwrap().len(), 3);
    let r = call(&router, "api/export-payout-run.json").await;
    assert_eq!(r.headers["content-type"], "text/csv; charset=utf-8");
    let rows: Vec<&str> = r.text.lines().collect();
    assert_eq!(rows.len(), 4, "{}", r.text);
    assert!(rows[1].starts_with("2026-11:p-ada:USD,p-ada,ada,p-ada@example.com,10.00,USD,1,paypal,ada.payouts@example.com"), "{}", r.text);
    let r = call(&router, "api/get-payout.json").await;
    assert_eq!(
        (
            r.body["amount"].as_str(),
            r.body["lines"][0]["level"].as_u64()
        ),
        (Some("2.50"), Some(2))
    );
    let r = call(&router, "api/mark-payout-paid.json").await;
    assert_eq!(
        (r.body["status"].as_str(), r.body["note"].as_str()),
        (Some("paid"), Some("PAYPAL-5TY81"))
    );
    let r = call(&router, "api/mark-payout-failed.json").await;
    assert_eq!(r.body["status"], "failed");
    let r = call(&router, "api/my-balance.json").await;
    assert_eq!(
        (
            r.body["items"][0]["paid"].as_str(),
            r.body["items"][0]["in_payout"].as_str()
        ),
        (Some("10.00"), Some("0.00"))
    );
    let r = call(&router, "api/my-payouts.json").await;
    assert_eq!(r.body["items"][0]["status"], "paid");
    let r = call(&router, "api/my-payout.json").await;
    assert_eq!(r.body["lines"][0]["conversion_id"], "conv-sample-1");
    assert_eq!(
        audit_actions(&router).await,
        [
            "payout.marked_failed",
            "payout.marked_paid",
            "payout_run.started"
        ]
    );
    // The schedule finds no run left unfinished and, on a manual cadence, starts none.
    let scheduled = w
        .payout_function()
        .handle_event(event("payout/hold-approvals.json"))
        .await
        .unwrap();
    assert_eq!(scheduled["payout_runs"], serde_json::json!([]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_partner_lifecycle_and_email_template_events_get_their_answers() {
    let w = world().await;
    let router = w.api_router();
    let r = call(&router, "api/reject-partner.json").await;
    assert_eq!(
        (r.body["status"].as_str(), r.status),
        (Some("rejected"), StatusCode::OK),
        "{}",
        r.text
    );
    assert!(
        r.body["status_reason"]
            .as_str()
            .unwrap()
            .contains("outdoor gear")
    );
    let r = call(&router, "api/suspend-partner.json").await;
    assert_eq!(r.body["status"], "suspended", "{}", r.text);
    let r = call(&router, "api/reinstate-partner.json").await;
    assert_eq!(r.body["status"], "approved", "{}", r.text);
    let r = call(&router, "api/rotate-partner-key.json").await;
    assert_new_partner_key(&r);
    let r = call(&router, "api/list-email-templates.json").await;
    let names = strings_of(&r.body["items"], "name");
    assert_eq!(names.len(), 10, "{names:?}");
    assert!(names.contains(&"payout_statement") && names.contains(&"welcome"));
    let r = call(&router, "api/get-email-template.json").await;
    assert_eq!(
        (r.body["kind"].as_str(), r.body["overridden"].as_bool()),
        (Some("account"), Some(false))
    );
    assert!(
        r.body["preview"]["text"]
            .as_str()
            .unwrap()
            .contains("upl_partner_EXAMPLEKEY")
    );
    let r = call(&router, "api/save-email-template.json").await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    assert_eq!(
        r.body["subject"],
        "Approved: 10.00 USD from Demo Outfitters"
    );
    let r = call(&router, "api/reset-email-template.json").await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    let r = call(&router, "api/update-me.json").await;
    assert_eq!(
        (
            r.body["name"].as_str(),
            r.body["notifications"]["commission_approved"].as_bool()
        ),
        (Some("Ada L."), Some(false)),
        "{}",
        r.text
    );
    let r = call(&router, "api/create-my-link.json").await;
    assert_eq!(
        (r.status, r.body["code"].as_str()),
        (StatusCode::OK, Some("spring01")),
        "Ada's existing link"
    );
    let r = call(&router, "api/my-downline.json").await;
    assert_eq!(
        r.body["items"],
        serde_json::json!([]),
        "Ada recruited nobody"
    );
    let r = call(&router, "api/unsubscribe-page.json").await;
    assert_eq!(r.headers["content-type"], "text/html; charset=utf-8");
    assert!(r.text.contains("<form method=\"post\""));
    let r = call(&router, "api/unsubscribe.json").await;
    assert_eq!(
        r.status,
        StatusCode::NOT_FOUND,
        "a wrong token unsubscribes nobody"
    );
    let r = call(&router, "api/rotate-my-key.json").await;
    assert_new_partner_key(&r);
    assert_eq!(
        audit_actions(&router).await,
        [
            "email_template.reset",
            "email_template.saved",
            "partner.api_key_rotated",
            "partner.reinstated",
            "partner.suspended",
            "partner.rejected"
        ]
    );
}

fn sqs_event(file: &str) -> aws_lambda_events::event::sqs::SqsEvent {
    serde_json::from_str(&read_event(file)).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_clicks_batch_counts_two_clicks_and_acknowledges_the_poisoned_record() {
    let w = world().await;
    let recorder = upline_clicks::ClickRecorder::new(w.as_function("ClicksFunction").store);
    let dead = w.dead_letters("ClicksFunction");
    let response = feed(
        &recorder,
        "clicks/clicks-batch.json",
        &dead,
        QueueName::Clicks,
    )
    .await;
    assert!(
        response.batch_item_failures.is_empty(),
        "poison is not retried"
    );
    assert_eq!(
        dead.inner.taken().len(),
        1,
        "poison goes to the dead-letter queue"
    );
    let stats = w.services.store.stats_on_days(&[NOW.day()]).await.unwrap();
    assert_eq!(stats.iter().map(|s| s.clicks).sum::<i64>(), 2);

    // The same visitor again in a later batch: their claim fails, so the recorder reads
    // the marker (allowed by the function's policy) and counts no new unique visit.
    let mut later = sqs_event("clicks/clicks-batch.json");
    for record in &mut later.records {
        if let Some(body) = &mut record.body {
            *body = body.replace("click-sample-", "click-later-");
        }
    }
    let response = upline_aws::handle_sqs_event(&recorder, later, &dead, QueueName::Clicks).await;
    assert!(response.batch_item_failures.is_empty());
    let stats = w.services.store.stats_on_days(&[NOW.day()]).await.unwrap();
    let counted = |f: fn(&upline_domain::store::StatsRow) -> i64| stats.iter().map(f).sum::<i64>();
    assert_eq!(
        (counted(|s| s.clicks), counted(|s| s.unique_clicks)),
        (4, 1)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_payout_events_commission_the_conversion_and_approve_lines_past_their_hold() {
    let w = world().await;
    let function = w.payout_function();
    let response = function
        .handle_event(event("payout/conversions-batch.json"))
        .await
        .unwrap();
    assert_eq!(response["batchItemFailures"], serde_json::json!([]));
    assert_the_sample_paid_the_chain(&w.services.store).await;

    let response = function
        .handle_event(event("payout/hold-approvals.json"))
        .await
        .unwrap();
    assert_eq!(response["approved_lines"], 1, "only the line past its hold");
    let old = lines_of(&w.services.store, "conv-old").await;
    assert_eq!(old[0].status, LineStatus::Approved);
    let new = lines_of(&w.services.store, "conv-new").await;
    assert_eq!(new[0].status, LineStatus::Pending);
    // Running the schedule again finds nothing more to do.
    let again = function
        .handle_event(event("payout/hold-approvals.json"))
        .await
        .unwrap();
    assert_eq!(again["approved_lines"], 0);
    assert!(
        function
            .handle_event(serde_json::json!({"hello": 1}))
            .await
            .is_err()
    );
    assert_eq!(
        w.services.clock.now().day(),
        Day::parse("2026-11-21").unwrap()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_emails_batch_sends_the_commission_email_once() {
    let w = world().await;
    let email = w.as_function("EmailFunction");
    let mailer = Arc::new(PolicedMailer {
        inner: Arc::new(
            OutboxMailer::new(w.outbox.clone(), "Demo <partners@example.com>".into()).unwrap(),
        ),
        policy: w.policy("EmailFunction"),
    });
    let sender = upline_email::EmailSender::new(
        email.store.clone(),
        mailer,
        "https://go.example.com".into(),
    );
    // An email per conversion is opt-in: Ada asks for it.
    let prefs: upline_domain::usecases::partner_area::ProfileRequest =
        serde_json::from_str(r#"{"notifications": {"new_conversion": true}}"#).unwrap();
    upline_domain::usecases::partner_area::update_profile(
        &w.services,
        &PartnerId::from("p-ada"),
        prefs.parse().unwrap(),
    )
    .await
    .unwrap();
    w.feed_twice(
        &sender,
        "email/emails-batch.json",
        "EmailFunction",
        QueueName::Emails,
    )
    .await;
    let files: Vec<_> = std::fs::read_dir(&w.outbox)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(
        files,
        vec![std::ffi::OsString::from("commission_conv-sample-1_0.eml")]
    );
    let eml = std::fs::read_to_string(w.outbox.join("commission_conv-sample-1_0.eml")).unwrap();
    assert!(
        eml.contains("To: p-ada@example.com")
            && eml.contains("Subject: You earned 10.00 USD with Demo Outfitters")
            && eml.contains(
                "List-Unsubscribe: <https://go.example.com/v1/unsubscribe?partner=p%2Dada&token="
            )
    );
}

#[test]
fn every_event_file_is_exercised_by_a_test_here() {
    let source =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/events.rs")).unwrap();
    // Storefront payloads (`events/stores/<platform>/`) are delivered, signed, by the
    // storefront tests.
    let stores =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/storefronts.rs"))
            .unwrap();
    let mut files = BTreeSet::new();
    let mut payloads = BTreeSet::new();
    for dir in std::fs::read_dir(events_dir()).unwrap() {
        let dir = dir.unwrap().path();
        if dir.is_dir() {
            for f in std::fs::read_dir(&dir).unwrap() {
                let f = f.unwrap().path();
                let name =
                    |p: &std::path::Path| p.file_name().unwrap().to_string_lossy().into_owned();
                if f.is_dir() {
                    for payload in std::fs::read_dir(&f).unwrap() {
                        payloads.insert(format!("{}/{}", name(&f), name(&payload.unwrap().path())));
                    }
                } else {
                    files.insert(format!("{}/{}", name(&dir), name(&f)));
                }
            }
        }
    }
    assert!(files.len() >= 23 && payloads.len() >= 15);
    for f in files {
        assert!(
            source.contains(&format!("\"{f}\"")),
            "events/{f} is not fed through any handler"
        );
    }
    for p in payloads {
        assert!(
            stores.contains(&format!("\"{p}\"")),
            "events/stores/{p} is not delivered by any storefront test"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_refund_event_reverses_every_level_in_proportion() {
    let w = world().await;
    commission_sample(&w.services).await;
    let router = upline_postback::router(w.as_function("PostbackFunction"));
    let r = call(&router, "postback/refund.json").await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let reversed: Vec<(&str, &str)> = r.body["reversals"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| {
            (
                v["partner_id"].as_str().unwrap(),
                v["amount"].as_str().unwrap(),
            )
        })
        .collect();
    // 30.00 of the 100.00 sale: 30 % of 10.00, 5.00 and 2.50.
    assert_eq!(
        reversed,
        vec![("p-ada", "-3.00"), ("p-bo", "-1.50"), ("p-cleo", "-0.75")]
    );
    assert_eq!(r.body["refunded_total"], "30.00");
    let again = call(&router, "postback/refund.json").await;
    assert_eq!(
        again.status,
        StatusCode::OK,
        "the same refund id changes nothing"
    );
    assert_eq!(again.body["refunded_total"], "30.00");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_conversion_decision_events_approve_or_reject_its_lines() {
    for (file, status) in [
        ("api/approve-conversion.json", "approved"),
        ("api/reject-conversion.json", "rejected"),
    ] {
        let w = world().await;
        commission_sample(&w.services).await;
        let r = call(&w.api_router(), file).await;
        assert_eq!(r.status, StatusCode::OK, "{file}: {}", r.body);
        let statuses = strings_of(&r.body["lines"], "status");
        assert_eq!(statuses, vec![status; 3], "{file}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_signup_event_with_automatic_approval_stays_within_the_signup_policy() {
    let w = world().await;
    let mut program = w.services.store.program().await.unwrap().unwrap();
    program.signup.auto_approve = true;
    w.services.store.put_program(&program).await.unwrap();
    let r = call(
        &upline_signup::router(w.as_function("SignupFunction")),
        "signup/apply.json",
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    assert_new_partner_key(&r);
    assert_eq!(r.body["status"], "approved");
    // The welcome email carries absolute links to the new partner's tracking links.
    let bodies: Vec<String> = w
        .store
        .receive(QueueName::Emails, 100, std::time::Duration::from_secs(60))
        .await
        .unwrap()
        .into_iter()
        .map(|d| d.body)
        .collect();
    let welcome = bodies
        .iter()
        .map(|b| Message::decode(b).unwrap().1)
        .find_map(|m| match m {
            Message::EmailRequested(e) if e.template == "welcome" => Some(e),
            _ => None,
        })
        .expect("a welcome email was queued");
    let links = welcome.data["links"].as_array().unwrap();
    assert!(!links.is_empty(), "{}", welcome.data);
    for link in links {
        let url = link["url"].as_str().unwrap();
        assert!(url.starts_with("https://go.example.com/r/"), "{url}");
    }
}

/// A queue that never answers, as SQS might in a bad minute.
struct StalledQueue;

#[async_trait::async_trait]
impl upline_domain::ports::Queue for StalledQueue {
    async fn send(
        &self,
        _queue: QueueName,
        _bodies: Vec<String>,
    ) -> Result<(), upline_domain::ports::QueueError> {
        tokio::time::sleep(std::time::Duration::from_secs(3600)).await;
        Ok(())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_queue_costs_the_click_count_not_the_visitors_time() {
    let w = world().await;
    let mut services = w.as_function("RedirectFunction");
    services.queue = Arc::new(StalledQueue);
    let state = upline_redirect::state(
        services,
        upline_redirect::TrackingSettings {
            publish_timeout: std::time::Duration::from_millis(100),
            ..Default::default()
        },
    );
    let router = upline_redirect::router(state.clone());
    // Bounded by the publish timeout, not the queue: the visitor is redirected.
    let r = tokio::time::timeout(
        std::time::Duration::from_secs(20),
        call(&router, "redirect/follow-link.json"),
    )
    .await
    .expect("the redirect waited on the stalled queue");
    assert_eq!(r.status, StatusCode::FOUND);
    assert_eq!(state.publish_failures(), 1, "the lost click is counted");
}

/// A refund parked before its conversion's commission (a store's order paid and refunded
/// in one delivery) is applied by the payout function right after the lines, within its
/// role's permissions (the parked item is deleted once applied).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_payout_function_applies_a_refund_parked_before_the_commission() {
    use upline_domain::usecases::input::{DecimalText, IdText};
    use upline_domain::usecases::refunds::{RefundRequest, park};
    let w = world().await;
    let sample = upline_tests::samples::SAMPLE_CONVERSION;
    let id = ConversionId::from(sample);
    let conversion = w.services.store.conversion(&id).await.unwrap().unwrap();
    let request = RefundRequest {
        refund_id: Some(IdText("early-1".into())),
        conversion_id: Some(sample.into()),
        amount: Some(DecimalText("10.00".into())),
        ..RefundRequest::default()
    };
    park(&w.services, &conversion, "early-1", &request)
        .await
        .unwrap();
    let payout = w.as_function("PayoutFunction");
    upline_domain::usecases::commissions::commission_conversion(&payout, &id, "t")
        .await
        .unwrap();
    let lines: Vec<(String, i64)> = lines_of(&w.services.store, sample)
        .await
        .iter()
        .map(|l| (l.partner_id.to_string(), l.amount.minor()))
        .collect();
    let lines: Vec<(&str, i64)> = lines.iter().map(|(p, a)| (p.as_str(), *a)).collect();
    assert_eq!(
        lines,
        [
            ("p-ada", 1_000),
            ("p-ada", -100),
            ("p-bo", 500),
            ("p-bo", -50),
            ("p-cleo", 250),
            ("p-cleo", -25)
        ],
        "10 % of each line reversed"
    );
}
