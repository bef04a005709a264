//! Connected stores end to end, on the local host over HTTP, on both backends: each
//! platform's own payloads (the fixtures in `events/stores/<platform>/`, written from the
//! platforms' documentation), signed in each platform's own scheme, delivered to
//! `POST /v1/stores/{id}/webhook` — and what they do to conversions and commission lines.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use upline_tests::host::{Reply, TestBackend, TestHost, click_id_in, eventually, strings_of};

upline_tests::on_both_backends!(
    shopify_orders_credit_refund_and_cancel,
    woocommerce_orders_by_promo_code_with_refunds,
    stripe_checkouts_subscriptions_refunds_and_disputes,
    paddle_transactions_renewals_and_adjustments,
);

const SHOP_SECRET: &str = "shpss_test_0123456789abcdef";
const WOO_SECRET: &str = "wc-webhook-secret-0123456789";
const STRIPE_SECRET: &str = "whsec_test_0123456789abcdefghij";
const PADDLE_SECRET: &str = "pdl_ntfset_test_0123456789abcdef";

fn fixture(path: &str) -> String {
    let file = concat!(env!("CARGO_MANIFEST_DIR"), "/../events/stores/");
    std::fs::read_to_string(format!("{file}{path}")).unwrap()
}

/// A fixture with the placeholder click id replaced.
fn order_with_click(path: &str, click_id: &str) -> String {
    fixture(path).replace("CLICKID", click_id)
}

fn now_secs() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

fn mac(secret: &str, parts: &[&[u8]]) -> [u8; 32] {
    upline_domain::signing::tag(secret.as_bytes(), parts)
}

/// What a platform would send for `body`: its headers, signed with `secret` its way.
fn signed(platform: &str, secret: &str, body: &str, at: i64) -> Vec<(String, String)> {
    match platform {
        "shopify" => vec![(
            "x-shopify-hmac-sha256".into(),
            STANDARD.encode(mac(secret, &[body.as_bytes()])),
        )],
        "woocommerce" => vec![(
            "x-wc-webhook-signature".into(),
            STANDARD.encode(mac(secret, &[body.as_bytes()])),
        )],
        "stripe" => {
            let t = at.to_string();
            let v1 = hex(&mac(secret, &[t.as_bytes(), b".", body.as_bytes()]));
            vec![("stripe-signature".into(), format!("t={t},v1={v1}"))]
        }
        "paddle" => {
            let ts = at.to_string();
            let h1 = hex(&mac(secret, &[ts.as_bytes(), b":", body.as_bytes()]));
            vec![("paddle-signature".into(), format!("ts={ts};h1={h1}"))]
        }
        other => panic!("no platform {other}"),
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Delivers `body` to store `store` with `headers` as they are.
async fn post_raw(h: &TestHost, store: &str, headers: &[(String, String)], body: &str) -> Reply {
    let mut req = h
        .client
        .post(format!("{}/v1/stores/{store}/webhook", h.base))
        .header("content-type", "application/json")
        .body(body.to_string());
    for (k, v) in headers {
        req = req.header(k.as_str(), v.as_str());
    }
    Reply::of(req.send().await.unwrap()).await
}

/// A Shopify delivery of `topic` with webhook id `id`, signed with `secret`.
async fn shopify(h: &TestHost, secret: &str, topic: &str, id: &str, body: &str) -> Reply {
    let mut headers = signed("shopify", secret, body, 0);
    headers.extend([
        ("x-shopify-topic".to_string(), topic.to_string()),
        ("x-shopify-webhook-id".to_string(), id.to_string()),
        (
            "x-shopify-shop-domain".to_string(),
            "acme.myshopify.com".to_string(),
        ),
    ]);
    post_raw(h, "acme-shop", &headers, body).await
}

async fn woocommerce(h: &TestHost, topic: &str, delivery: &str, body: &str) -> Reply {
    let mut headers = signed("woocommerce", WOO_SECRET, body, 0);
    headers.extend([
        ("x-wc-webhook-topic".to_string(), topic.to_string()),
        ("x-wc-webhook-delivery-id".to_string(), delivery.to_string()),
        (
            "x-wc-webhook-source".to_string(),
            "https://shop.upline-demo.example/".to_string(),
        ),
    ]);
    post_raw(h, "woo", &headers, body).await
}

async fn stripe(h: &TestHost, body: &str) -> Reply {
    post_raw(
        h,
        "stripe",
        &signed("stripe", STRIPE_SECRET, body, now_secs()),
        body,
    )
    .await
}

async fn paddle(h: &TestHost, body: &str) -> Reply {
    post_raw(
        h,
        "paddle",
        &signed("paddle", PADDLE_SECRET, body, now_secs()),
        body,
    )
    .await
}

/// The program (USD, a 30-day hold), campaign `shop` paying 10 % with recurring terms, a
/// partner with a link (Ann) and one with promo code `UPLINE10` (Ben), and exchange rates
/// for the stores' other currencies. Returns (Ann's id, Ben's id, a real click id of Ann).
async fn program(h: &TestHost) -> (String, String, String) {
    program_holding(h, 30).await
}

/// [`program`] with commission held `hold_days` before approval.
async fn program_holding(h: &TestHost, hold_days: u32) -> (String, String, String) {
    let r = h
        .put_program(json!({"name": "Acme", "currency": "USD", "hold_days": hold_days}))
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let terms = json!({"revenue_share_percent": "10", "recurring": {"months": 12}});
    let c = h
        .put_campaign(
            "shop",
            json!({"name": "Shop", "destination_url": "https://shop.example.com/", "terms": terms}),
        )
        .await;
    assert_eq!(c.status, StatusCode::CREATED, "{}", c.text);
    let (ann, _, _) = h
        .approve_application(
            &json!({"email": "ann@example.com", "name": "Ann", "type": "affiliate"}),
        )
        .await;
    let (ben, _, _) = h
        .approve_application(
            &json!({"email": "ben@example.com", "name": "Ben", "type": "influencer"}),
        )
        .await;
    let link = h.link(&ann, "shop").await;
    let code = link.body["code"].as_str().unwrap().to_string();
    let r = h.assign_promo_code("UPLINE10", &ben, "shop").await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    for (currency, rate) in [
        ("EUR", "2"),
        ("JPY", "0.0065"),
        ("KWD", "3.25"),
        ("ISK", "0.0072"),
    ] {
        let r = h.put_exchange_rate(currency, rate).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    }
    (ann, ben, new_click(h, &code).await)
}

/// A click on the link `code`, as a browser makes it: the click id the landing gets.
async fn new_click(h: &TestHost, code: &str) -> String {
    let r = h
        .client
        .get(format!("{}/r/{code}", h.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FOUND);
    click_id_in(r.headers()["location"].to_str().unwrap())
}

async fn connect(h: &TestHost, id: &str, body: Value) -> Reply {
    h.admin(Method::PUT, &format!("/v1/admin/stores/{id}"), Some(body))
        .await
}

async fn conversion(h: &TestHost, id: &str) -> Value {
    let r = h
        .admin(Method::GET, "/v1/admin/conversions?limit=200", None)
        .await;
    r.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == id)
        .cloned()
        .unwrap_or_else(|| panic!("no conversion {id}: {}", r.text))
}

async fn conversion_count(h: &TestHost) -> usize {
    let r = h
        .admin(Method::GET, "/v1/admin/conversions?limit=200", None)
        .await;
    r.body["items"].as_array().unwrap().len()
}

fn cents(amount: &Value) -> i64 {
    upline_tests::host::cents(amount.as_str().unwrap())
}

/// The sum of a conversion's line amounts, in cents, once there are `n` lines.
async fn lines_total(h: &TestHost, conversion_id: &str, n: usize) -> (Vec<String>, i64) {
    let lines = h.wait_for_line_count(conversion_id, n).await;
    let amounts: Vec<String> = strings_of(&Value::Array(lines.clone()), "amount")
        .into_iter()
        .map(str::to_string)
        .collect();
    let total = lines.iter().map(|l| cents(&l["amount"])).sum();
    (amounts, total)
}

fn recorded(r: &Reply) -> String {
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["outcome"], "recorded", "{}", r.text);
    r.body["conversion_id"].as_str().unwrap().to_string()
}

async fn shopify_orders_credit_refund_and_cancel(backend: TestBackend) {
    let h = TestHost::fresh(backend).await;
    let (ann, _, click) = program(&h).await;
    let r = connect(
        &h,
        "acme-shop",
        json!({"platform": "shopify", "campaign_id": "shop", "secrets": [SHOP_SECRET],
            "shop_domain": "acme.myshopify.com"}),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    assert_eq!(
        r.body["webhook_url"],
        format!("{}/v1/stores/acme-shop/webhook", h.base)
    );
    assert!(!r.text.contains(SHOP_SECRET), "the secret is never shown");
    let order = order_with_click("shopify/orders-paid.json", &click);

    // The paid order: 10 % of the subtotal after discounts (57.50), to the click's partner.
    let first = shopify(&h, SHOP_SECRET, "orders/paid", "w-1", &order).await;
    let id = recorded(&first);
    let c = conversion(&h, &id).await;
    assert_eq!(
        (c["partner_id"].as_str(), c["amount"].as_str()),
        (Some(ann.as_str()), Some("57.50"))
    );
    assert_eq!(c["order_id"], "5718234901827");
    assert_eq!(
        strings_of(&c["line_items"], "sku"),
        ["TEE-RED-M", "MUG-01"],
        "the items, for SKU rates"
    );
    assert_eq!(
        lines_total(&h, &id, 1).await,
        (vec!["5.75".to_string()], 575)
    );

    // The same delivery again, and the same order in another delivery: one conversion.
    let again = shopify(&h, SHOP_SECRET, "orders/paid", "w-1", &order).await;
    assert_eq!(again.body["outcome"], "duplicate", "{}", again.text);
    let other = shopify(&h, SHOP_SECRET, "orders/paid", "w-2", &order).await;
    assert_eq!(
        (
            other.body["outcome"].as_str(),
            other.body["conversion_id"].as_str()
        ),
        (Some("duplicate"), Some(id.as_str()))
    );
    // A topic the store does not record on is answered, and ignored.
    let created = shopify(&h, SHOP_SECRET, "orders/create", "w-3", &order).await;
    assert_eq!(
        (created.status, created.body["outcome"].as_str()),
        (StatusCode::OK, Some("ignored"))
    );
    let count = conversion_count(&h).await;

    // A bad signature, a wrong shop: 401 and nothing stored.
    let other_order = order.replace("5718234901827", "5718234901999");
    let forged = shopify(
        &h,
        "not-the-secret-at-all",
        "orders/paid",
        "w-4",
        &other_order,
    )
    .await;
    assert_eq!(forged.status, StatusCode::UNAUTHORIZED, "{}", forged.text);
    let mut headers = signed("shopify", SHOP_SECRET, &other_order, 0);
    headers.extend([
        ("x-shopify-topic".to_string(), "orders/paid".to_string()),
        ("x-shopify-webhook-id".to_string(), "w-5".to_string()),
        (
            "x-shopify-shop-domain".to_string(),
            "someone-else.myshopify.com".to_string(),
        ),
    ]);
    let wrong_shop = post_raw(&h, "acme-shop", &headers, &other_order).await;
    assert_eq!(
        wrong_shop.status,
        StatusCode::UNAUTHORIZED,
        "{}",
        wrong_shop.text
    );
    assert!(wrong_shop.text.contains("someone-else.myshopify.com"));
    let unknown = post_raw(&h, "no-such-store", &headers, &other_order).await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
    assert_eq!(conversion_count(&h).await, count, "nothing stored");

    // Rotation: during it both secrets sign; after it only the new one.
    let new_secret = "shpss_rotated_secret_98765432";
    let r = connect(&h, "acme-shop", json!({"add_secret": new_secret})).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["secret_fingerprints"].as_array().unwrap().len(), 2);
    for (secret, delivery) in [(SHOP_SECRET, "w-6"), (new_secret, "w-7")] {
        let r = shopify(&h, secret, "orders/paid", delivery, &order).await;
        assert_eq!(r.body["outcome"], "duplicate", "{}", r.text);
    }
    let r = connect(&h, "acme-shop", json!({"secrets": [new_secret]})).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let old = shopify(&h, SHOP_SECRET, "orders/paid", "w-8", &order).await;
    assert_eq!(old.status, StatusCode::UNAUTHORIZED);

    // Test orders are ignored unless the store counts them.
    let test_order = other_order.replace("\"test\": false", "\"test\": true");
    let r = shopify(&h, new_secret, "orders/paid", "w-9", &test_order).await;
    assert_eq!(r.body["outcome"], "ignored", "{}", r.text);

    // Twenty deliveries of one new order at once: one conversion.
    let fresh = order.replace("5718234901827", "5718234902000");
    let deliveries = (0..20).map(|i| {
        let h = &h;
        let fresh = fresh.clone();
        async move { shopify(h, new_secret, "orders/paid", &format!("c-{i}"), &fresh).await }
    });
    let replies = futures::future::join_all(deliveries).await;
    let outcomes: Vec<&str> = replies
        .iter()
        .map(|r| r.body["outcome"].as_str().unwrap_or("?"))
        .collect();
    assert_eq!(
        outcomes.iter().filter(|o| **o == "recorded").count(),
        1,
        "{outcomes:?}"
    );
    assert_eq!(
        outcomes.iter().filter(|o| **o == "duplicate").count(),
        19,
        "{outcomes:?}"
    );

    // A forged click id is passed over, with the reason: the returning customer still
    // credits Ann; a new customer's order credits nobody and stores nothing.
    let mut forged = click.clone().into_bytes();
    let i = forged.len() - 3;
    forged[i] = if forged[i] == b'A' { b'B' } else { b'A' };
    let forged = String::from_utf8(forged).unwrap();
    let tampered = order_with_click("shopify/orders-paid.json", &forged)
        .replace("5718234901827", "5718234903000");
    let r = shopify(&h, new_secret, "orders/paid", "w-forged-1", &tampered).await;
    let returning = recorded(&r);
    assert!(
        r.body["reason"]
            .as_str()
            .unwrap()
            .contains("altered or forged"),
        "{}",
        r.text
    );
    assert_eq!(conversion(&h, &returning).await["partner_id"], ann.as_str());
    let count = conversion_count(&h).await;
    let mut stranger: Value =
        serde_json::from_str(&tampered.replace("5718234903000", "5718234903001")).unwrap();
    stranger["customer"] = Value::Null;
    let r = shopify(
        &h,
        new_secret,
        "orders/paid",
        "w-forged-2",
        &stranger.to_string(),
    )
    .await;
    assert_eq!(r.body["outcome"], "unattributed", "{}", r.text);
    assert!(
        r.body["reason"]
            .as_str()
            .unwrap()
            .contains("altered or forged"),
        "{}",
        r.text
    );
    assert_eq!(conversion_count(&h).await, count);

    // A refund delivered before its order waits for it, and is applied once the order is
    // recorded and its commission computed.
    let early_refund = fixture("shopify/refunds-create.json")
        .replace("5718234901827", "5718234904000")
        .replace("1012873465123", "1012873465777");
    let r = shopify(&h, new_secret, "refunds/create", "w-early-1", &early_refund).await;
    assert_eq!(r.body["outcome"], "ignored", "{}", r.text);
    assert!(
        r.body["reason"]
            .as_str()
            .unwrap()
            .contains("applied if the order is recorded"),
        "{}",
        r.text
    );
    let late_order = order.replace("5718234901827", "5718234904000");
    let late = recorded(&shopify(&h, new_secret, "orders/paid", "w-early-2", &late_order).await);
    assert_eq!(
        lines_total(&h, &late, 2).await,
        (vec!["5.75".into(), "-2.25".into()], 350)
    );

    // A partial refund (one tee: 22.50 of items), then the cancellation takes the rest:
    // the lines net to zero.
    let refund = shopify(
        &h,
        new_secret,
        "refunds/create",
        "w-10",
        &fixture("shopify/refunds-create.json"),
    )
    .await;
    assert_eq!(refund.body["outcome"], "refunded", "{}", refund.text);
    assert_eq!(
        lines_total(&h, &id, 2).await,
        (vec!["5.75".into(), "-2.25".into()], 350)
    );
    let cancel = shopify(
        &h,
        new_secret,
        "orders/cancelled",
        "w-11",
        &fixture("shopify/orders-cancelled.json"),
    )
    .await;
    assert_eq!(cancel.body["outcome"], "reversed", "{}", cancel.text);
    assert_eq!(lines_total(&h, &id, 3).await.1, 0, "refunds net to zero");
    let c = conversion(&h, &id).await;
    assert_eq!(c["refunded"], "57.50");
    let again = shopify(
        &h,
        new_secret,
        "orders/cancelled",
        "w-12",
        &fixture("shopify/orders-cancelled.json"),
    )
    .await;
    assert_eq!(again.body["outcome"], "duplicate", "{}", again.text);

    // A topic Upline does not use: 200, so Shopify keeps the webhook.
    let r = shopify(&h, new_secret, "customers/create", "w-13", "{\"id\": 1}").await;
    assert_eq!(
        (r.status, r.body["outcome"].as_str()),
        (StatusCode::OK, Some("ignored"))
    );

    // The delivery log says what happened to each, without the customer's data.
    let log = h
        .admin(
            Method::GET,
            "/v1/admin/stores/acme-shop/deliveries?limit=100",
            None,
        )
        .await;
    assert_eq!(log.status, StatusCode::OK, "{}", log.text);
    let outcomes = strings_of(&log.body["items"], "outcome");
    for expected in ["recorded", "duplicate", "ignored", "refunded", "reversed"] {
        assert!(outcomes.contains(&expected), "{outcomes:?}");
    }
    assert!(
        !log.text.contains("maria.lind@example.com"),
        "no customer data in the log"
    );
    let audit = h.admin(Method::GET, "/v1/admin/audit-log", None).await;
    let actions = strings_of(&audit.body["items"], "action");
    assert!(
        actions.contains(&"store.connected") && actions.contains(&"store.updated"),
        "{actions:?}"
    );
    assert!(!audit.text.contains(SHOP_SECRET) && !audit.text.contains(new_secret));
    h.host.stop().await;
}

async fn woocommerce_orders_by_promo_code_with_refunds(backend: TestBackend) {
    let h = TestHost::fresh(backend).await;
    let (_, ben, _) = program(&h).await;
    let r = connect(
        &h,
        "woo",
        json!({"platform": "woocommerce", "campaign_id": "shop", "secrets": [WOO_SECRET]}),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    // The unsigned ping WooCommerce sends on saving the webhook.
    let ping = fixture("woocommerce/ping.txt");
    let r = h
        .client
        .post(format!("{}/v1/stores/woo/webhook", h.base))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(ping)
        .send()
        .await
        .unwrap();
    let r = Reply::of(r).await;
    assert_eq!(
        (r.status, r.body["outcome"].as_str()),
        (StatusCode::OK, Some("ignored")),
        "{}",
        r.text
    );

    // No click id this time: the coupon credits Ben. 57.50 EUR of items at 2 USD.
    let mut order: Value =
        serde_json::from_str(&fixture("woocommerce/order-processing.json")).unwrap();
    order["meta_data"].as_array_mut().unwrap().retain(|m| {
        !m["key"].as_str().unwrap().contains("click")
            && m["key"] != "_wc_order_attribution_session_entry"
    });
    let body = order.to_string();
    let first = woocommerce(&h, "order.created", "d-1", &body).await;
    let id = recorded(&first);
    let c = conversion(&h, &id).await;
    assert_eq!(c["partner_id"], ben.as_str());
    assert_eq!(c["attribution"]["method"], "promo_code");
    assert_eq!(
        (c["original_amount"].as_str(), c["amount"].as_str()),
        (Some("57.50"), Some("115.00"))
    );
    assert_eq!(lines_total(&h, &id, 1).await.1, 1150);
    // The order updated to completed: the same order, one conversion.
    order["status"] = json!("completed");
    let r = woocommerce(&h, "order.updated", "d-2", &order.to_string()).await;
    assert_eq!(r.body["outcome"], "duplicate", "{}", r.text);

    // The refund of 27.00 of the 75.00 paid (tax and shipping included) takes back the
    // same share of the items: 20.70 EUR, 41.40 USD, 10 % of it off the line.
    let mut refunded: Value =
        serde_json::from_str(&fixture("woocommerce/order-refunded.json")).unwrap();
    refunded["coupon_lines"] = order["coupon_lines"].clone();
    refunded["meta_data"] = order["meta_data"].clone();
    let r = woocommerce(&h, "order.updated", "d-3", &refunded.to_string()).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let outcomes = strings_of(&r.body["actions"], "outcome");
    assert_eq!(outcomes, ["duplicate", "refunded"], "{}", r.text);
    assert_eq!(
        lines_total(&h, &id, 2).await,
        (vec!["11.50".into(), "-4.14".into()], 736)
    );
    // Coalesced redelivery of the same state: the refund id is taken once.
    let r = woocommerce(&h, "order.updated", "d-4", &refunded.to_string()).await;
    assert_eq!(
        strings_of(&r.body["actions"], "outcome"),
        ["duplicate", "duplicate"],
        "{}",
        r.text
    );
    // Cancelled: the rest reversed, the lines net to zero.
    refunded["status"] = json!("cancelled");
    let r = woocommerce(&h, "order.updated", "d-5", &refunded.to_string()).await;
    assert!(
        strings_of(&r.body["actions"], "outcome").contains(&"reversed"),
        "{}",
        r.text
    );
    assert_eq!(lines_total(&h, &id, 3).await.1, 0);

    // An order first seen already paid and refunded (WooCommerce coalesced the two): the
    // refund waits for the commission and is applied right after it.
    let mut both: Value =
        serde_json::from_str(&fixture("woocommerce/order-refunded.json")).unwrap();
    both["id"] = json!(4822);
    both["coupon_lines"] = order["coupon_lines"].clone();
    both["meta_data"] = order["meta_data"].clone();
    let r = woocommerce(&h, "order.created", "d-6", &both.to_string()).await;
    assert_eq!(
        strings_of(&r.body["actions"], "outcome"),
        ["recorded", "refunded"],
        "{}",
        r.text
    );
    let second = r.body["conversion_id"].as_str().unwrap().to_string();
    assert_eq!(lines_total(&h, &second, 2).await.1, 1150 - 414);

    // A payment that failed, then was retried and paid: the stale failure does not wait
    // to reverse the sale.
    let mut retried: Value = both.clone();
    retried["id"] = json!(4840);
    retried["refunds"] = json!([]);
    retried["status"] = json!("failed");
    let r = woocommerce(&h, "order.updated", "d-f1", &retried.to_string()).await;
    assert_eq!(r.body["outcome"], "ignored", "{}", r.text);
    retried["status"] = json!("processing");
    let paid = recorded(&woocommerce(&h, "order.updated", "d-f2", &retried.to_string()).await);
    assert_eq!(lines_total(&h, &paid, 1).await.1, 1150);
    assert_eq!(conversion(&h, &paid).await["refunded"], "0.00");

    // WooCommerce gives deliveries sent in the same second the same delivery id: two
    // different orders under one id are both recorded.
    let mut twin: Value = both.clone();
    twin["refunds"] = json!([]);
    // Also after a delivery of a topic Upline does not use under that id.
    let r = woocommerce(&h, "product.updated", "d-same", "{\"id\": 77}").await;
    assert_eq!(r.body["outcome"], "ignored", "{}", r.text);
    for (id, order_id) in [(4830, "d-same"), (4831, "d-same")] {
        twin["id"] = json!(id);
        let r = woocommerce(&h, "order.created", order_id, &twin.to_string()).await;
        assert_eq!(r.body["outcome"], "recorded", "order {id}: {}", r.text);
    }

    // A status that is not paid yet: nothing to do.
    both["id"] = json!(4823);
    both["status"] = json!("pending");
    both["refunds"] = json!([]);
    let r = woocommerce(&h, "order.created", "d-7", &both.to_string()).await;
    assert_eq!(r.body["outcome"], "ignored", "{}", r.text);
    h.host.stop().await;
}

async fn stripe_checkouts_subscriptions_refunds_and_disputes(backend: TestBackend) {
    let h = TestHost::fresh(backend).await;
    // No hold: a line whose dispute ends is approved at once.
    let (ann, _, click) = program_holding(&h, 0).await;
    let r = connect(
        &h,
        "stripe",
        json!({"platform": "stripe", "campaign_id": "shop", "secrets": [STRIPE_SECRET]}),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);

    // A one-off checkout paid: 44.00 after the discount, credited by client_reference_id.
    let session = order_with_click("stripe/checkout-session-completed.json", &click);
    let id = recorded(&stripe(&h, &session).await);
    assert_eq!(lines_total(&h, &id, 1).await, (vec!["4.40".into()], 440));
    let again = stripe(&h, &session).await;
    assert_eq!(
        again.body["outcome"], "duplicate",
        "the event id is taken once"
    );

    // A stale signature: 401, whatever the body.
    let stale = signed("stripe", STRIPE_SECRET, &session, now_secs() - 3600);
    let r = post_raw(&h, "stripe", &stale, &session).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{}", r.text);
    // A test-mode event on a live store is ignored.
    let test_mode = session
        .replace("\"livemode\": true", "\"livemode\": false")
        .replace("evt_1RuF7e", "evt_1RuF7f");
    let r = stripe(&h, &test_mode).await;
    assert_eq!(r.body["outcome"], "ignored", "{}", r.text);

    // The dispute: held while open, lost → the rest reversed as a chargeback.
    let r = stripe(&h, &fixture("stripe/dispute-created.json")).await;
    assert_eq!(r.body["outcome"], "held", "{}", r.text);
    let lines = h.commission_lines(&id).await;
    assert_eq!(
        lines[0]["held_for"], "dp_1RyK3tHk2QwXy9LmE5fR6gT7",
        "{lines:?}"
    );
    let r = stripe(&h, &fixture("stripe/dispute-closed-lost.json")).await;
    assert_eq!(r.body["outcome"], "reversed", "{}", r.text);
    assert_eq!(lines_total(&h, &id, 2).await.1, 0);
    // The hold ends with the loss: the line and its reversal go through together.
    let lines = h.commission_lines(&id).await;
    assert!(
        lines.iter().all(|l| l.get("held_for").is_none()),
        "{lines:?}"
    );
    assert_eq!(
        strings_of(&Value::Array(lines.clone()), "status"),
        ["approved", "approved"],
        "the line and its chargeback approved together: {lines:?}"
    );

    // A subscription: its checkout and its first invoice are one order; a renewal pays
    // the recurring terms to Ann without a click id, on either API version's invoice.
    let subscription = order_with_click("stripe/checkout-session-subscription.json", &click);
    let sub = recorded(&stripe(&h, &subscription).await);
    let r = stripe(&h, &fixture("stripe/invoice-paid-create.json")).await;
    assert_eq!(
        (r.body["outcome"].as_str(), r.body["conversion_id"].as_str()),
        (Some("duplicate"), Some(sub.as_str())),
        "{}",
        r.text
    );
    let renewal_of = |file: &'static str| {
        let h = &h;
        let ann = ann.clone();
        async move {
            let renewal = recorded(&stripe(h, &fixture(file)).await);
            let c = conversion(h, &renewal).await;
            assert_eq!(c["partner_id"], ann.as_str(), "{file}");
            assert_eq!(c["attribution"]["method"], "subscription");
            assert_eq!(c["subscription"]["renewal"], true);
            let lines = h.wait_for_lines(&renewal).await;
            assert_eq!(lines[0]["amount"], "2.90");
            assert!(
                lines[0]["explanation"]["renewal"]
                    .as_str()
                    .unwrap()
                    .starts_with("renewal"),
                "{lines:?}"
            );
            renewal
        }
    };
    renewal_of("stripe/invoice-paid-cycle.json").await;
    // The renewal's charge refunded 15.00 of 29.00 (cumulative): refunded once.
    let r = stripe(&h, &fixture("stripe/charge-refunded.json")).await;
    assert_eq!(r.body["outcome"], "refunded", "{}", r.text);
    let renewal = r.body["conversion_id"].as_str().unwrap().to_string();
    assert_eq!(lines_total(&h, &renewal, 2).await.1, 290 - 150);
    let redelivered = fixture("stripe/charge-refunded.json").replace("evt_3S4Ilm", "evt_3S4Iln");
    let r = stripe(&h, &redelivered).await;
    assert_eq!(r.body["outcome"], "duplicate", "{}", r.text);

    // On API 2025-03-31 and later a charge names only its payment intent, and
    // invoice_payment.paid says which invoice that paid. Here the refund comes first,
    // then the pairing, then the invoice: the refund waits, follows the pairing to the
    // invoice, and is applied once the renewal is recorded.
    let r = stripe(&h, &fixture("stripe/charge-refunded-basil.json")).await;
    assert_eq!(r.body["outcome"], "ignored", "{}", r.text);
    let r = stripe(&h, &fixture("stripe/invoice-payment-paid.json")).await;
    assert_eq!(r.body["outcome"], "ignored", "{}", r.text);
    let basil = renewal_of("stripe/invoice-paid-cycle-basil.json").await;
    assert_eq!(lines_total(&h, &basil, 2).await.1, 0, "refunded in full");

    // A dispute on the subscription's first payment (named by the payment intent its
    // invoice.paid gave), won: held, then released — and, past its hold, approved.
    let won = |f: &str| {
        fixture(f)
            .replace("pi_3RuF7aHk2QwXy9Lm0bT4cN1e", "pi_3RuG2cHk2QwXy9Lm0kJ8hG5f")
            .replace("dp_1RyK3t", "dp_2RyK3t")
            .replace("evt_1", "evt_2")
    };
    let r = stripe(&h, &won("stripe/dispute-created.json")).await;
    assert_eq!(r.body["outcome"], "held", "{}", r.text);
    assert_eq!(r.body["conversion_id"], sub.as_str(), "{}", r.text);
    let r = stripe(&h, &won("stripe/dispute-closed-won.json")).await;
    assert_eq!(r.body["outcome"], "released", "{}", r.text);
    let lines = h.commission_lines(&sub).await;
    assert_eq!(lines.len(), 1, "nothing reversed: {lines:?}");
    assert!(lines[0].get("held_for").is_none(), "released: {lines:?}");
    assert_eq!(lines[0]["status"], "approved", "{lines:?}");

    // A known customer: a later checkout without a click id follows the partner who
    // brought them, on the recurring terms.
    let repeat: Value =
        serde_json::from_str(&fixture("stripe/checkout-session-completed.json")).unwrap();
    let mut repeat = repeat;
    repeat["id"] = json!("evt_repeat_customer_1");
    let o = &mut repeat["data"]["object"];
    o["id"] = json!("cs_live_repeat_1");
    o["payment_intent"] = json!("pi_repeat_1");
    o["client_reference_id"] = Value::Null;
    o["customer"] = json!("cus_RtXa5Nf9PqLc7M");
    let known = recorded(&stripe(&h, &repeat.to_string()).await);
    let c = conversion(&h, &known).await;
    assert_eq!(c["partner_id"], ann.as_str());

    // Zero- and three-decimal currencies exact: 500 ISK arrives as 50000.
    let mut isk = repeat.clone();
    isk["id"] = json!("evt_isk_1");
    let o = &mut isk["data"]["object"];
    o["id"] = json!("cs_live_isk_1");
    o["payment_intent"] = json!("pi_isk_1");
    o["customer"] = Value::Null;
    o["client_reference_id"] = json!(click);
    o["currency"] = json!("isk");
    o["amount_total"] = json!(50_000);
    o["total_details"] = json!({"amount_discount": 0, "amount_shipping": 0, "amount_tax": 0});
    let isk_id = recorded(&stripe(&h, &isk.to_string()).await);
    let c = conversion(&h, &isk_id).await;
    assert_eq!(
        (
            c["original_amount"].as_str(),
            c["original_currency"].as_str()
        ),
        (Some("500"), Some("ISK"))
    );
    assert_eq!(c["amount"], "3.60", "500 × 0.0072");

    // An event type Upline does not use.
    let other = json!({"id": "evt_other", "type": "customer.created", "livemode": true, "data": {"object": {}}});
    let r = stripe(&h, &other.to_string()).await;
    assert_eq!(
        (r.status, r.body["outcome"].as_str()),
        (StatusCode::OK, Some("ignored"))
    );
    h.host.stop().await;
}

async fn paddle_transactions_renewals_and_adjustments(backend: TestBackend) {
    let h = TestHost::fresh(backend).await;
    let (ann, _, click) = program(&h).await;
    let r = connect(
        &h,
        "paddle",
        json!({"platform": "paddle", "campaign_id": "shop", "secrets": [PADDLE_SECRET]}),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    // 49.00 less 4.90 discount = 44.10 EUR = 88.20 USD; 10 %.
    let first = recorded(
        &paddle(
            &h,
            &order_with_click("paddle/transaction-completed.json", &click),
        )
        .await,
    );
    let c = conversion(&h, &first).await;
    assert_eq!(
        (c["original_amount"].as_str(), c["amount"].as_str()),
        (Some("44.10"), Some("88.20"))
    );
    assert_eq!(lines_total(&h, &first, 1).await.1, 882);
    // The renewal follows the subscription to Ann.
    let renewal = recorded(&paddle(&h, &fixture("paddle/transaction-renewal.json")).await);
    let c = conversion(&h, &renewal).await;
    assert_eq!(
        (
            c["partner_id"].as_str(),
            c["subscription"]["renewal"].as_bool()
        ),
        (Some(ann.as_str()), Some(true))
    );
    assert_eq!(lines_total(&h, &renewal, 1).await.1, 980);
    // The approved refund of half the first sale; a pending one does nothing yet.
    let pending = fixture("paddle/adjustment-refund-approved.json")
        .replace(
            "\"status\": \"approved\"",
            "\"status\": \"pending_approval\"",
        )
        .replace("evt_01k3b9", "evt_01k3b8");
    let r = paddle(&h, &pending).await;
    assert_eq!(r.body["outcome"], "ignored", "{}", r.text);
    let r = paddle(&h, &fixture("paddle/adjustment-refund-approved.json")).await;
    assert_eq!(r.body["outcome"], "refunded", "{}", r.text);
    assert_eq!(lines_total(&h, &first, 2).await.1, 882 - 441);
    // The chargeback on the renewal reverses all of it.
    let r = paddle(&h, &fixture("paddle/adjustment-chargeback.json")).await;
    assert_eq!(r.body["outcome"], "reversed", "{}", r.text);
    assert_eq!(lines_total(&h, &renewal, 2).await.1, 0);
    // A three-decimal currency exact: 12.345 KWD.
    let mut kwd: Value = serde_json::from_str(&order_with_click(
        "paddle/transaction-completed.json",
        &click,
    ))
    .unwrap();
    kwd["event_id"] = json!("evt_kwd_1");
    kwd["data"]["id"] = json!("txn_kwd_1");
    kwd["data"]["subscription_id"] = Value::Null;
    kwd["data"]["currency_code"] = json!("KWD");
    kwd["data"]["details"]["totals"] =
        json!({"subtotal": "12345", "discount": "0", "tax": "0", "total": "12345"});
    kwd["data"]["details"]["line_items"] = json!([]);
    let kwd_id = recorded(&paddle(&h, &kwd.to_string()).await);
    let c = conversion(&h, &kwd_id).await;
    assert_eq!(
        (
            c["original_amount"].as_str(),
            c["original_currency"].as_str()
        ),
        (Some("12.345"), Some("KWD"))
    );
    assert_eq!(c["amount"], "40.12", "12.345 × 3.25 = 40.12125");
    // A stale Paddle signature is refused.
    let body = fixture("paddle/transaction-renewal.json");
    let r = post_raw(
        &h,
        "paddle",
        &signed("paddle", PADDLE_SECRET, &body, now_secs() - 3600),
        &body,
    )
    .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    h.host.stop().await;
}

/// Connecting is checked field by field, and a disconnected store's deliveries are 404.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stores_are_checked_listed_and_disconnected() {
    let h = TestHost::fresh(TestBackend::Embedded).await;
    program(&h).await;
    let r = connect(
        &h,
        "Bad Id",
        json!({"platform": "shopify", "campaign_id": "shop", "secrets": [SHOP_SECRET], "shop_domain": "acme.myshopify.com"}),
    )
    .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
    let r = connect(
        &h,
        "s1",
        json!({"platform": "magento", "campaign_id": "nope", "secrets": ["short"], "mode": "live"}),
    )
    .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
    let fields = upline_tests::host::error_fields(&r.body);
    assert_eq!(
        fields,
        ["platform", "campaign_id", "secrets[0]"],
        "{}",
        r.text
    );
    let r = connect(
        &h,
        "s1",
        json!({"platform": "stripe", "campaign_id": "nope", "secrets": [STRIPE_SECRET]}),
    )
    .await;
    assert_eq!(
        upline_tests::host::error_fields(&r.body),
        ["campaign_id"],
        "{}",
        r.text
    );
    let r = connect(
        &h,
        "s1",
        json!({"platform": "stripe", "campaign_id": "shop", "secrets": [STRIPE_SECRET], "mode": "test"}),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    // A secret in the wrong shape is refused without being quoted back.
    let r = connect(
        &h,
        "s2",
        json!({"platform": "stripe", "campaign_id": "shop", "secrets": STRIPE_SECRET}),
    )
    .await;
    assert_eq!(
        upline_tests::host::error_fields(&r.body),
        ["secrets"],
        "{}",
        r.text
    );
    assert!(!r.text.contains(STRIPE_SECRET), "{}", r.text);
    // A connected store keeps its campaign: refunds find earlier orders under it.
    let c = h
        .put_campaign(
            "other",
            json!({"name": "Other", "destination_url": "https://shop.example.com/"}),
        )
        .await;
    assert_eq!(c.status, StatusCode::CREATED, "{}", c.text);
    let r = connect(&h, "s1", json!({"campaign_id": "other"})).await;
    assert_eq!(
        upline_tests::host::error_fields(&r.body),
        ["campaign_id"],
        "{}",
        r.text
    );
    let list = h.admin(Method::GET, "/v1/admin/stores", None).await;
    assert_eq!(strings_of(&list.body["items"], "id"), ["s1"]);
    assert_eq!(list.body["items"][0]["mode"], "test");
    assert!(!list.text.contains(STRIPE_SECRET));
    let r = h.admin(Method::DELETE, "/v1/admin/stores/s1", None).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    let body = fixture("stripe/checkout-session-completed.json");
    let r = post_raw(
        &h,
        "s1",
        &signed("stripe", STRIPE_SECRET, &body, now_secs()),
        &body,
    )
    .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let r = h.admin(Method::GET, "/v1/admin/stores/s1", None).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    eventually("the store gone from the list", || async {
        let l = h.admin(Method::GET, "/v1/admin/stores", None).await;
        l.body["items"].as_array().unwrap().is_empty().then_some(())
    })
    .await;
    h.host.stop().await;
}

/// The postback as a URL, the form trackers fire: signed or with the secret, the same
/// answers and idempotency as the JSON form.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_postback_url_records_like_the_json_form() {
    let h = TestHost::fresh(TestBackend::Embedded).await;
    let r = h
        .put_program(json!({"name": "Acme", "currency": "USD", "hold_days": 30}))
        .await;
    let secret = r.body["postback_secret"].as_str().unwrap().to_string();
    let c = h
        .put_campaign(
            "shop",
            json!({"name": "Shop", "destination_url": "https://shop.example.com/", "terms": {"revenue_share_percent": "10"}}),
        )
        .await;
    assert_eq!(c.status, StatusCode::CREATED);
    let (ann, _, _) = h
        .approve_application(
            &json!({"email": "ann@example.com", "name": "Ann", "type": "affiliate"}),
        )
        .await;
    let code = h.link(&ann, "shop").await.body["code"]
        .as_str()
        .unwrap()
        .to_string();
    let click = new_click(&h, &code).await;
    let get = |query: String| {
        let h = &h;
        async move {
            Reply::of(
                h.client
                    .get(format!("{}/v1/postbacks?{query}", h.base))
                    .send()
                    .await
                    .unwrap(),
            )
            .await
        }
    };
    // With the secret, as a tracker's URL template fills it in (sub-ids of its own too).
    let query = format!(
        "click_id={click}&order_id=T-1&amount=20.00&currency=USD&secret={secret}&rt_campaign=x"
    );
    let r = get(query.clone()).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    assert_eq!(r.body["conversion"]["partner_id"], ann.as_str());
    let again = get(query).await;
    assert_eq!(
        (again.status, &again.body["conversion_id"]),
        (StatusCode::OK, &r.body["conversion_id"])
    );
    // Signed: the MAC covers the query as sent, without `sig`.
    let t = now_secs();
    let unsigned = format!("click_id={click}&order_id=T-2&amount=5.00&currency=USD&t={t}");
    let sig = hex(&mac(
        &secret,
        &[t.to_string().as_bytes(), b".", unsigned.as_bytes()],
    ));
    let r = get(format!("{unsigned}&sig={sig}")).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let tampered = unsigned.replace("5.00", "500.00");
    let r = get(format!("{tampered}&sig={sig}")).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{}", r.text);
    let r = get(format!(
        "click_id={click}&order_id=T-3&amount=5.00&currency=USD"
    ))
    .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    // The same field errors as the JSON form.
    let r = get(format!(
        "click_id={click}&order_id=T-4&amount=abc&currency=USD&secret={secret}"
    ))
    .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
    assert_eq!(upline_tests::host::error_fields(&r.body), ["amount"]);
    h.host.stop().await;
}
