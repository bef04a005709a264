//! Regressions for what a hostile probe found (issue 11), end to end on the local host and
//! on both backends: races on keys, amounts at the edge of what fits, limits, and the
//! small leaks. Each scenario fails on the code before its fix.

use futures::future::join_all;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use upline_tests::host::{ADMIN_KEY, Reply, TestBackend, TestHost, cents, error_fields};

upline_tests::on_both_backends!(
    concurrent_key_rotations_leave_exactly_one_working_key,
    amounts_rates_and_periods_past_their_bounds_are_refused_naming_the_field,
    the_edge_refuses_before_reading_and_answers_in_bounded_problems,
    failed_authentication_and_signups_are_limited_per_client_address,
    concurrent_refunds_and_settlements_each_answer_as_one_would_expect,
    a_retried_post_with_its_idempotency_key_gets_the_first_answer,
);

const SECRET: &str = "whsec_hardening_tests_secret_0123456789";

/// Runs `n` requests at once on the embedded store, and one after another on moto: a
/// moto transaction whose condition fails restores a copy of the whole table taken when
/// it began, without a lock, wiping what racing transactions committed meanwhile —
/// DynamoDB never does that, so racing writes are tested on the embedded store, and on
/// moto the same code paths run without the race.
async fn burst<F, Fut, T>(backend: TestBackend, n: usize, make: F) -> Vec<T>
where
    F: Fn(usize) -> Fut,
    Fut: std::future::Future<Output = T>,
{
    match backend {
        TestBackend::Embedded => join_all((0..n).map(make)).await,
        TestBackend::Aws => {
            let mut out = Vec::with_capacity(n);
            for i in 0..n {
                out.push(make(i).await);
            }
            out
        }
    }
}

async fn set_up(h: &TestHost) {
    let program = json!({"name": "Acme", "currency": "USD", "hold_days": 0,
        "postback_secret": SECRET,
        "upline": {"depth": 1, "level_percents": ["50"]}});
    h.program_with_spring(program, "https://shop.example.com/", json!({}))
        .await;
}

/// Applies and approves; returns (id, key).
async fn partner(h: &TestHost, name: &str) -> (String, String) {
    h.approved_partner(name).await
}

async fn promo_partner(h: &TestHost) -> (String, String) {
    let (id, key) = partner(h, "ada").await;
    let r = h.assign_promo_code("ADA", &id, "spring").await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    (id, key)
}

async fn works(h: &TestHost, key: &str) -> bool {
    let status = h.me(key).await.status;
    assert!(
        matches!(status, StatusCode::OK | StatusCode::UNAUTHORIZED),
        "{status}"
    );
    status == StatusCode::OK
}

/// Issued keys from a batch of rotation replies.
fn issued(replies: &[Reply]) -> Vec<String> {
    for r in replies {
        assert!(
            matches!(
                r.status,
                StatusCode::OK | StatusCode::CONFLICT | StatusCode::UNAUTHORIZED
            ),
            "{} {}",
            r.status,
            r.text
        );
    }
    replies
        .iter()
        .filter(|r| r.status == StatusCode::OK)
        .map(|r| r.body["api_key"].as_str().unwrap().to_string())
        .collect()
}

async fn concurrent_key_rotations_leave_exactly_one_working_key(backend: TestBackend) {
    let h = TestHost::fresh(backend).await;
    set_up(&h).await;
    let (id, first) = partner(&h, "ada").await;

    // The partner's own rotations, twenty at once with the one key she has.
    let replies = burst(backend, 20, |_| {
        h.call(Method::POST, "/v1/me/api-key", Some(&first), None)
    })
    .await;
    let keys = issued(&replies);
    assert_eq!(keys.len(), 1, "one rotation wins: {keys:?}");
    assert!(!works(&h, &first).await, "the replaced key is revoked");
    assert!(works(&h, &keys[0]).await);

    // The operator's, twenty at once: still one key in the end, and it is the winner's.
    let replies = burst(backend, 20, |_| h.partner_action(&id, "api-key", None)).await;
    let admin_keys = issued(&replies);
    assert!(!admin_keys.is_empty());
    let mut working = Vec::new();
    for k in keys.iter().chain(&admin_keys) {
        if works(&h, k).await {
            working.push(k.clone());
        }
    }
    assert_eq!(working.len(), 1, "exactly one key works: {working:?}");
    // And a later rotation revokes it: nothing issued during the burst survives.
    let r = h.partner_action(&id, "api-key", None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let last = r.body["api_key"].as_str().unwrap();
    for k in keys.iter().chain(&admin_keys) {
        assert!(!works(&h, k).await, "{k} still works");
    }
    assert!(works(&h, last).await);
}

async fn postback(h: &TestHost, body: Value) -> Reply {
    h.postback(SECRET, &body).await
}

async fn amounts_rates_and_periods_past_their_bounds_are_refused_naming_the_field(
    backend: TestBackend,
) {
    let h = TestHost::fresh(backend).await;
    set_up(&h).await;
    promo_partner(&h).await;
    let sale = |order: &str, amount: &str| json!({"promo_code": "ADA", "order_id": order, "amount": amount, "currency": "USD"});

    // The probe's line items: two at i64::MAX cents each.
    let mut body = sale("o-items", "1.00");
    body["line_items"] = json!([
        {"sku": "a", "quantity": "1", "unit_price": "92233720368547758.07"},
        {"sku": "b", "quantity": "1", "unit_price": "92233720368547758.07"}]);
    let r = postback(&h, body).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
    assert_eq!(
        error_fields(&r.body),
        ["line_items[0].unit_price", "line_items[1].unit_price"]
    );
    // Each within the bound, but a quantity that multiplies past it; and items that add
    // up past it.
    let mut body = sale("o-qty", "1.00");
    body["line_items"] =
        json!([{"sku": "a", "quantity": "1000000", "unit_price": "1000000000.00"}]);
    let r = postback(&h, body).await;
    assert_eq!(
        error_fields(&r.body),
        ["line_items[0].quantity"],
        "{}",
        r.text
    );
    let mut body = sale("o-sum", "1.00");
    body["line_items"] = json!([
        {"sku": "a", "quantity": "1", "unit_price": "600000000000.00"},
        {"sku": "b", "quantity": "1", "unit_price": "600000000000.00"}]);
    let r = postback(&h, body).await;
    assert_eq!(error_fields(&r.body), ["line_items"], "{}", r.text);
    for (field, value) in [
        ("amount", "1000000000000.01"),
        ("discount", "1000000000000.01"),
        ("tax", "92233720368547758.07"),
        ("shipping", "1000000000000.01"),
    ] {
        let mut body = sale(&format!("o-{field}"), "10.00");
        body[field] = json!(value);
        let r = postback(&h, body).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
        assert_eq!(error_fields(&r.body), [field], "{}", r.text);
        assert!(
            r.text.contains("at most 1000000000000.00 USD"),
            "{}",
            r.text
        );
    }

    // Exchange rates: a trillion is refused; the largest rate allowed still cannot carry
    // a sale past the bound.
    let r = h.put_exchange_rate("EUR", "1000000000000").await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
    assert_eq!(error_fields(&r.body), ["rate"], "{}", r.text);
    let r = h.put_exchange_rate("EUR", "1000000000").await;
    assert!(r.status.is_success(), "{}", r.text);
    let mut body = sale("o-eur", "5000.00");
    body["currency"] = json!("EUR");
    let r = postback(&h, body).await;
    assert_eq!(error_fields(&r.body), ["amount"], "{}", r.text);
    assert!(r.text.contains("converted to USD"), "{}", r.text);

    // Periods: the year 10000 does not exist for a month's end.
    for period in ["9999-12", "9999-W52", "9999-12-31", "1999-01"] {
        let r = h.start_payout_run(Some(period)).await;
        assert_eq!(
            r.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{period}: {}",
            r.text
        );
        assert_eq!(error_fields(&r.body), ["period"], "{}", r.text);
    }

    // A signature timestamp at i64::MIN is only stale, before any authentication.
    let body = sale("o-sig", "10.00").to_string();
    let r = h
        .call_with_headers(
            Method::POST,
            "/v1/postbacks",
            &[("upline-signature", "t=-9223372036854775808,v1=00")],
            Some(&body),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{}", r.text);

    // None of that harmed the stages: a real sale is still commissioned.
    let (_, lines) = h
        .promo_sale(SECRET, "ADA", "o-real", "1000000000000.00")
        .await;
    // 10 % of a trillion dollars, exact at the bound.
    assert_eq!(lines.len(), 1);
    assert_eq!(lines[0]["amount"], "100000000000.00");
}

async fn the_edge_refuses_before_reading_and_answers_in_bounded_problems(backend: TestBackend) {
    let h = TestHost::fresh(backend).await;
    set_up(&h).await;
    let (_, key) = partner(&h, "ada").await;

    // Unauthenticated callers learn nothing about the body's rules: 401 before parsing.
    for (method, path) in [
        (Method::PUT, "/v1/admin/program"),
        (Method::POST, "/v1/admin/links"),
        (Method::PUT, "/v1/admin/campaigns/spring"),
        (Method::PATCH, "/v1/me"),
        (Method::PUT, "/v1/me/payout-details"),
    ] {
        let r = h
            .call(
                method.clone(),
                path,
                Some("upl_admin_wrong"),
                Some("{not json"),
            )
            .await;
        assert_eq!(
            r.status,
            StatusCode::UNAUTHORIZED,
            "{method} {path}: {}",
            r.text
        );
    }

    // Bodies over a route's limit: 413 as a problem document.
    let big = json!({"order_id": "o-big", "amount": "1.00", "currency": "USD",
        "note": "x".repeat(70 * 1024)});
    let r = postback(&h, big).await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE, "{}", r.text);
    assert_eq!(
        r.body["type"],
        "https://upline.dev/problems/payload-too-large"
    );
    assert!(r.text.contains("65536 bytes"), "{}", r.text);
    let r = h
        .call(
            Method::POST,
            "/v1/partners",
            None,
            Some(&"y".repeat(17 * 1024)),
        )
        .await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE, "{}", r.text);

    // A long value is quoted back in part only, once per field.
    let long = format!("{}x", "9".repeat(60_000));
    let r = postback(
        &h,
        json!({"promo_code": "NONE", "order_id": "o-long", "amount": long, "currency": "USD"}),
    )
    .await;
    assert_eq!(error_fields(&r.body), ["amount"], "{}", &r.text[..300]);
    assert!(r.text.len() < 2_000, "{} bytes echoed", r.text.len());

    // Cursors this API never returned: 422 naming the cursor, on every listing.
    for (path, who) in [
        ("/v1/admin/partners", None),
        ("/v1/admin/conversions", None),
        ("/v1/admin/commissions", None),
        ("/v1/admin/audit-log", None),
        ("/v1/admin/payout-runs", None),
        ("/v1/me/commissions", Some(key.as_str())),
        ("/v1/me/payouts", Some(key.as_str())),
        ("/v1/me/postback/deliveries", Some(key.as_str())),
    ] {
        for cursor in ["!!!", "eyJ4IjoxfQ", "WyJhIiwiYiJd", "WyJaWlpaIl0"] {
            let url = format!("{path}?cursor={cursor}");
            let r = match who {
                None => h.admin(Method::GET, &url, None).await,
                Some(k) => h.call(Method::GET, &url, Some(k), None).await,
            };
            assert!(
                r.status == StatusCode::UNPROCESSABLE_ENTITY || r.status == StatusCode::OK,
                "{url}: {} {}",
                r.status,
                r.text
            );
            if r.status == StatusCode::UNPROCESSABLE_ENTITY {
                assert_eq!(error_fields(&r.body), ["cursor"], "{url}");
            }
        }
        let r = match who {
            None => {
                h.admin(Method::GET, &format!("{path}?cursor=!!!"), None)
                    .await
            }
            Some(k) => {
                h.call(Method::GET, &format!("{path}?cursor=!!!"), Some(k), None)
                    .await
            }
        };
        assert_eq!(
            r.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{path}: {}",
            r.text
        );
    }

    // Names end up in email headers: line breaks are refused on save.
    let r = h
        .put_program(json!({"name": "Acme\r\nBcc: victim@example.com", "currency": "USD"}))
        .await;
    assert_eq!(error_fields(&r.body), ["name"], "{}", r.text);
    // One address, not a list of them.
    let r = h
        .apply(&json!({"email": "a,b@example.com", "name": "AB", "type": "affiliate"}))
        .await;
    assert_eq!(error_fields(&r.body), ["email"], "{}", r.text);

    // Pages cannot be framed or sniffed.
    let r = h.call(Method::GET, "/r/NO-SUCH-LINK", None, None).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert_eq!(r.headers["x-content-type-options"], "nosniff");
    let csp = r.headers["content-security-policy"].to_str().unwrap();
    assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
    assert!(csp.contains("default-src 'none'"), "{csp}");
    let r = h.admin(Method::GET, "/v1/admin/program", None).await;
    assert_eq!(r.headers["x-content-type-options"], "nosniff");
}

async fn failed_authentication_and_signups_are_limited_per_client_address(backend: TestBackend) {
    let h = TestHost::fresh_configured(backend, |c| {
        c.rate_limits.failed_auth.max = 5;
        c.rate_limits.signups.max = 3;
        // Windows far longer than the test, so no window boundary falls inside it.
        c.rate_limits.failed_auth.window_secs = 1_000_000_000;
        c.rate_limits.signups.window_secs = 1_000_000_000;
    })
    .await;
    set_up(&h).await;
    let mut statuses = Vec::new();
    for i in 0..7 {
        let r = h
            .call(
                Method::GET,
                "/v1/admin/partners",
                Some(&format!("upl_admin_guess_{i}")),
                None,
            )
            .await;
        statuses.push(r.status.as_u16());
        if r.status == StatusCode::TOO_MANY_REQUESTS {
            assert_eq!(r.body["type"], "https://upline.dev/problems/rate-limited");
            let retry: u64 = r.headers["retry-after"].to_str().unwrap().parse().unwrap();
            assert!((1..=1_000_000_000).contains(&retry), "{retry}");
        }
    }
    assert_eq!(statuses, [401, 401, 401, 401, 401, 429, 429]);
    // Wrong postback secrets count too.
    let r = h
        .call(
            Method::POST,
            "/v1/postbacks",
            Some("whsec_wrong"),
            Some(&json!({"order_id": "o", "amount": "1", "currency": "USD"}).to_string()),
        )
        .await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS, "{}", r.text);
    // The right key still works: the limit slows guessing, it does not lock operators out.
    let r = h.admin(Method::GET, "/v1/admin/partners", None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);

    // Each application sends an email: three an hour from one address, then 429.
    let mut statuses = Vec::new();
    for i in 0..4 {
        let body = json!({"email": format!("p{i}@example.com"), "name": "P", "type": "affiliate"});
        let r = h.apply(&body).await;
        statuses.push(r.status.as_u16());
    }
    assert_eq!(statuses, [201, 201, 201, 429]);
    let r = h.admin(Method::GET, "/v1/admin/partners", None).await;
    assert_eq!(
        r.body["items"].as_array().unwrap().len(),
        3,
        "the refused application stored nothing"
    );
}

async fn concurrent_refunds_and_settlements_each_answer_as_one_would_expect(backend: TestBackend) {
    let h = TestHost::fresh(backend).await;
    set_up(&h).await;
    let (_, key) = promo_partner(&h).await;
    let (conversion, _) = h.promo_sale(SECRET, "ADA", "o-1", "100.00").await;

    // Thirty partial refunds at once: each lands once, none is asked to be sent again.
    let host = &h;
    let refunds = burst(backend, 30, |i| {
        let body = json!({"order_id": "o-1", "refund_id": format!("r-{i}"), "amount": "1.00"});
        async move { host.refund(SECRET, &body).await }
    })
    .await;
    for r in &refunds {
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
        assert_eq!(r.body["amount"], "1.00");
    }
    let mut ids: Vec<&str> = refunds
        .iter()
        .map(|r| r.body["refund_id"].as_str().unwrap())
        .collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 30);
    let total: i64 = h
        .commission_lines(&conversion)
        .await
        .iter()
        .map(|l| cents(l["amount"].as_str().unwrap()))
        .sum();
    assert_eq!(
        total,
        1_000 - 30 * 10,
        "10.00 less 10 % of each 1.00 refunded"
    );

    // A payout for what is left, marked paid twenty times at once: 200 each, one
    // statement email.
    let r = h.approve_conversion(&conversion).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let details = json!({"method": "paypal", "email": "ada@example.com"});
    let r = h.set_payout_details(&key, &details).await;
    assert!(r.status.is_success(), "{}", r.text);
    // Today, whatever day the test runs: the lines are due at once (no hold).
    let r = h.start_payout_run(None).await;
    assert!(r.status.is_success(), "{}", r.text);
    let run = r.body["id"].as_str().unwrap().to_string();
    let r = h
        .admin(Method::GET, &format!("/v1/admin/payout-runs/{run}"), None)
        .await;
    let payout = r.body["items"][0]["id"].as_str().unwrap().to_string();
    let answers = burst(backend, 20, |_| h.settle_payout(&payout, "paid", json!({}))).await;
    for r in &answers {
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
        assert_eq!(r.body["status"], "paid");
    }
}

/// A client that opens a connection and sends nothing — or half a request head, or a
/// body a byte at a time — is cut off, so a few hundred of them cannot hold the host.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_local_host_closes_connections_that_stall() {
    use std::time::{Duration, Instant};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let h = TestHost::fresh_configured(TestBackend::Embedded, |c| {
        c.timeouts.header = Duration::from_millis(300);
        c.timeouts.body = Duration::from_millis(300);
    })
    .await;
    let addr = h.host.addr;
    let closed_within = |mut stream: tokio::net::TcpStream| async move {
        let started = Instant::now();
        let mut buf = vec![0u8; 4096];
        let mut answer = Vec::new();
        loop {
            match tokio::time::timeout(Duration::from_secs(5), stream.read(&mut buf)).await {
                Ok(Ok(0)) | Ok(Err(_)) => return (started.elapsed(), answer),
                Ok(Ok(n)) => answer.extend_from_slice(&buf[..n]),
                Err(_) => panic!("the connection was held open for 5 s"),
            }
        }
    };
    // Nothing at all.
    let silent = tokio::net::TcpStream::connect(addr).await.unwrap();
    let (took, _) = closed_within(silent).await;
    assert!(took < Duration::from_secs(3), "{took:?}");
    // Half a request head.
    let mut half = tokio::net::TcpStream::connect(addr).await.unwrap();
    half.write_all(b"GET /health HTTP/1.1\r\nHost: x\r\n")
        .await
        .unwrap();
    let (took, _) = closed_within(half).await;
    assert!(took < Duration::from_secs(3), "{took:?}");
    // A body promised and never sent: answered (408) and closed.
    let mut slow = tokio::net::TcpStream::connect(addr).await.unwrap();
    slow.write_all(
        b"POST /v1/partners HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{",
    )
    .await
    .unwrap();
    let (took, answer) = closed_within(slow).await;
    assert!(took < Duration::from_secs(3), "{took:?}");
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 4"), "{answer}");
    // And a well-behaved client is still served.
    let r = h.call(Method::GET, "/health", None, None).await;
    assert_eq!(r.status, StatusCode::OK);
}

/// The data folder is the owner's alone, and the secrets in the store are sealed: a copy
/// of `upline.redb` does not hand out the postback secret or the click secret.
#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_data_folder_is_private_and_the_secrets_in_it_are_sealed() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let h = TestHost::start(&data).await;
    set_up(&h).await;
    // An application email lands in the outbox.
    partner(&h, "ada").await;
    h.wait_for_emails("partner-approved").await;
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&data), 0o700);
    assert_eq!(mode(&data.join("upline.redb")), 0o600);
    assert_eq!(mode(&data.join("secrets.key")), 0o600);
    assert_eq!(mode(&data.join("outbox")), 0o700);
    for entry in std::fs::read_dir(data.join("outbox")).unwrap() {
        assert_eq!(mode(&entry.unwrap().path()), 0o600);
    }
    let h = h.restart().await;
    // The postback secret still authenticates after a restart (it opens with the key)…
    let r = postback(
        &h,
        json!({"order_id": "o-1", "amount": "1.00", "currency": "USD"}),
    )
    .await;
    assert_ne!(r.status, StatusCode::UNAUTHORIZED, "{}", r.text);
    let data_dir = h.data_dir.clone();
    h.host.stop().await;
    // …yet neither it nor the click secret is in the store's bytes.
    let raw = std::fs::read(data_dir.join("upline.redb")).unwrap();
    let contains = |needle: &[u8]| raw.windows(needle.len()).any(|w| w == needle);
    assert!(
        !contains(SECRET.as_bytes()),
        "the postback secret is stored in the clear"
    );
    assert!(contains(b"sealed:v1:"), "sealed values are there");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_short_admin_key_is_refused_and_keys_never_reach_debug_output() {
    let dir = tempfile::tempdir().unwrap();
    let mut config =
        upline_local::HostConfig::new("127.0.0.1:0".parse().unwrap(), dir.path().to_path_buf());
    config.seed_demo = false;
    config.schedule_every = None;
    config.admin_key = Some(upline_domain::secrets::Secret::new("upl_admin_short"));
    assert!(!format!("{config:?}").contains("upl_admin_short"));
    let err = match upline_local::start(config).await {
        Ok(_) => panic!("a 15-character admin key was accepted"),
        Err(e) => e.to_string(),
    };
    assert!(
        err.contains("admin_key must be at least 24 characters"),
        "{err}"
    );
}

async fn with_key(
    h: &TestHost,
    path: &str,
    bearer: Option<&str>,
    key: &str,
    body: &Value,
) -> Reply {
    let mut req = h
        .client
        .post(format!("{}{path}", h.base))
        .header("idempotency-key", key)
        .header("content-type", "application/json")
        .body(body.to_string());
    if let Some(b) = bearer {
        req = req.bearer_auth(b);
    }
    Reply::of(req.send().await.unwrap()).await
}

async fn a_retried_post_with_its_idempotency_key_gets_the_first_answer(backend: TestBackend) {
    let h = TestHost::fresh(backend).await;
    set_up(&h).await;
    let r = h
        .put_program(json!({"name": "Acme", "currency": "USD", "signup": {"auto_approve": true}}))
        .await;
    assert!(r.status.is_success(), "{}", r.text);

    // An automatic approval shows the key once; the retry of a lost answer shows it again.
    let body = json!({"email": "eve@example.com", "name": "Eve", "type": "affiliate"});
    let first = with_key(&h, "/v1/partners", None, "signup-eve-1", &body).await;
    assert_eq!(first.status, StatusCode::CREATED, "{}", first.text);
    let key = first.body["api_key"].as_str().unwrap().to_string();
    let again = with_key(&h, "/v1/partners", None, "signup-eve-1", &body).await;
    assert_eq!(again.status, StatusCode::CREATED, "{}", again.text);
    assert_eq!(again.body, first.body, "the same answer, key included");
    assert_eq!(again.headers["idempotent-replayed"], "true");
    assert!(!first.headers.contains_key("idempotent-replayed"));
    assert!(works(&h, &key).await);
    // Without the key a repeat is a new request, refused as before.
    let r = h.apply(&body).await;
    assert_eq!(error_fields(&r.body), ["email"], "{}", r.text);
    // The same key with another body: refused, naming the header.
    let other = json!({"email": "mallory@example.com", "name": "M", "type": "affiliate"});
    let r = with_key(&h, "/v1/partners", None, "signup-eve-1", &other).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
    assert_eq!(error_fields(&r.body), ["Idempotency-Key"]);
    // A key that is not one.
    let r = with_key(&h, "/v1/partners", None, "has spaces", &other).await;
    assert_eq!(error_fields(&r.body), ["Idempotency-Key"], "{}", r.text);

    // Keys are the caller's own: the operator's same key is another key.
    let (id, _) = {
        let r = h
            .put_program(json!({"name": "Acme", "currency": "USD"}))
            .await;
        assert!(r.status.is_success(), "{}", r.text);
        let body = json!({"email": "finn@example.com", "name": "Finn", "type": "affiliate"});
        let r = h.apply(&body).await;
        (r.body["id"].as_str().unwrap().to_string(), ())
    };
    let approve = format!("/v1/admin/partners/{id}/approve");
    let first = with_key(&h, &approve, Some(ADMIN_KEY), "signup-eve-1", &json!({})).await;
    assert_eq!(first.status, StatusCode::OK, "{}", first.text);
    let again = with_key(&h, &approve, Some(ADMIN_KEY), "signup-eve-1", &json!({})).await;
    assert_eq!(
        again.status,
        StatusCode::OK,
        "a repeated approval is not a 409: {}",
        again.text
    );
    assert_eq!(again.body["api_key"], first.body["api_key"]);

    // Ten at once with one key: one execution; the others replay it or are told to wait.
    let body = json!({"email": "gus@example.com", "name": "Gus", "type": "affiliate"});
    let host = &h;
    let body_ref = &body;
    let answers = join_all(
        (0..10).map(|_| async move { with_key(host, "/v1/partners", None, "gus", body_ref).await }),
    )
    .await;
    let created: Vec<&Value> = answers
        .iter()
        .filter(|r| r.status == StatusCode::CREATED)
        .map(|r| &r.body)
        .collect();
    assert!(!created.is_empty());
    for r in &answers {
        assert!(
            matches!(r.status, StatusCode::CREATED | StatusCode::CONFLICT),
            "{} {}",
            r.status,
            r.text
        );
    }
    assert!(
        created.iter().all(|b| *b == created[0]),
        "one execution's answer"
    );
    let r = h.admin(Method::GET, "/v1/admin/partners", None).await;
    let guses = r.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["email"] == "gus@example.com")
        .count();
    assert_eq!(guses, 1);
}

/// Rotating the secrets key: with the old one given as the previous key, what it sealed
/// still opens; the next write seals with the new one, after which the old key can go.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rotated_secrets_key_still_opens_what_the_previous_one_sealed() {
    use std::sync::Arc;
    use upline_domain::secrets::SecretsKey;
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(upline_domain::clock::SystemClock);
    let store =
        upline_embedded::EmbeddedStore::open(&dir.path().join("s.redb"), clock.clone(), 3).unwrap();
    let services = |key: &str, previous: Option<&str>| {
        upline_domain::services::Services::new(
            Arc::new(store.clone()),
            Arc::new(store.clone()),
            clock.clone(),
            Arc::new(upline_domain::ids::RandomIds),
            upline_tests::world::deployment(None, "https://go.example.com"),
        )
        .with_secrets_key(
            SecretsKey::from_hex(&key.repeat(32)).unwrap(),
            previous.map(|p| SecretsKey::from_hex(&p.repeat(32)).unwrap()),
        )
    };
    let old = services("0a", None);
    let request: upline_domain::usecases::admin::ProgramRequest = serde_json::from_value(
        json!({"name": "Acme", "currency": "USD", "postback_secret": SECRET}),
    )
    .unwrap();
    upline_domain::usecases::admin::put_program(&old, request.parse().unwrap())
        .await
        .unwrap();
    // A new key alone cannot open it: the program does not read.
    assert!(services("0b", None).store.program().await.is_err());
    // With the old one as the previous key it does, and a write re-seals with the new one.
    let rotating = services("0b", Some("0a"));
    let program = rotating.store.program().await.unwrap().unwrap();
    assert_eq!(program.postback_secret, SECRET);
    rotating.store.put_program(&program).await.unwrap();
    let after = services("0b", None).store.program().await.unwrap().unwrap();
    assert_eq!(
        after.postback_secret, SECRET,
        "the old key is no longer needed"
    );
}
