//! Bad input on the local host: every malformed, forged or unauthenticated request gets
//! a clear 4xx problem naming what is wrong, and nothing is stored.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use upline_tests::host::{ADMIN_KEY, TestHost};

async fn program_with_link(h: &TestHost) -> (String, String) {
    let r = h
        .admin(
            Method::PUT,
            "/v1/admin/program",
            Some(json!({"name": "Acme", "currency": "USD"})),
        )
        .await;
    let secret = r.body["postback_secret"].as_str().unwrap().to_string();
    h.admin(
        Method::PUT,
        "/v1/admin/campaigns/c1",
        Some(json!({"name": "C1", "destination_url": "https://shop.example.com/", "terms": {"cpa": "5.00"}})),
    )
    .await;
    let r = h
        .call(
            Method::POST,
            "/v1/partners",
            None,
            Some(&json!({"email": "a@x.com", "name": "A", "type": "affiliate"}).to_string()),
        )
        .await;
    let id = r.body["id"].as_str().unwrap().to_string();
    h.admin(
        Method::POST,
        &format!("/v1/admin/partners/{id}/approve"),
        None,
    )
    .await;
    let r = h
        .admin(
            Method::POST,
            "/v1/admin/links",
            Some(json!({"partner_id": id, "campaign_id": "c1"})),
        )
        .await;
    let code = r.body["code"].as_str().unwrap().to_string();
    let r = h.call(Method::GET, &format!("/r/{code}"), None, None).await;
    let loc = r.headers["location"].to_str().unwrap().to_string();
    (secret, loc.split("click_id=").nth(1).unwrap().to_string())
}

/// The same click id with one byte of its link code changed: a well-formed forgery.
fn forge(click_id: &str) -> String {
    let mut bytes = URL_SAFE_NO_PAD.decode(click_id).unwrap();
    bytes[12] ^= 0x01;
    URL_SAFE_NO_PAD.encode(bytes)
}

fn assert_problem(
    status: StatusCode,
    body: &Value,
    expected: StatusCode,
    field: Option<&str>,
    case: &str,
) {
    assert_eq!(status, expected, "{case}: {body}");
    assert!(
        body["title"].is_string() && body["detail"].is_string(),
        "{case}: not a problem document: {body}"
    );
    if let Some(f) = field {
        let named = body["errors"]
            .as_array()
            .is_some_and(|e| e.iter().any(|e| e["field"] == f));
        assert!(named, "{case}: the problem does not name {f}: {body}");
    }
}

/// A bad request: its name, the key sent, the body, the status expected, the field named.
type Case<'a> = (
    &'a str,
    Option<&'a str>,
    String,
    StatusCode,
    Option<&'a str>,
);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_postbacks_get_clear_errors_and_store_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let h = TestHost::start(dir.path()).await;
    let (secret, click_id) = program_with_link(&h).await;
    let good =
        json!({"click_id": click_id, "order_id": "o-1", "amount": "10.00", "currency": "USD"});
    let with = |field: &str, value: Value| {
        let mut b = good.clone();
        b[field] = value;
        b.to_string()
    };
    let without = |field: &str| {
        let mut b = good.clone();
        b.as_object_mut().unwrap().remove(field);
        b.to_string()
    };
    let cases: Vec<Case> = vec![
        (
            "malformed JSON",
            Some(&secret),
            "{\"click_id\": ".into(),
            StatusCode::BAD_REQUEST,
            None,
        ),
        (
            "not an object",
            Some(&secret),
            "[1,2]".into(),
            StatusCode::BAD_REQUEST,
            None,
        ),
        (
            "empty body",
            Some(&secret),
            "".into(),
            StatusCode::BAD_REQUEST,
            None,
        ),
        (
            "unknown click id",
            Some(&secret),
            with("click_id", json!("bm90LWEtY2xpY2staWQtYXQtYWxs")),
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("click_id"),
        ),
        (
            "forged click id",
            Some(&secret),
            with("click_id", json!(forge(&click_id))),
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("click_id"),
        ),
        (
            "missing click id",
            Some(&secret),
            without("click_id"),
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("click_id"),
        ),
        (
            "missing order id",
            Some(&secret),
            without("order_id"),
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("order_id"),
        ),
        (
            "empty order id",
            Some(&secret),
            with("order_id", json!("  ")),
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("order_id"),
        ),
        (
            "negative amount",
            Some(&secret),
            with("amount", json!("-5.00")),
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("amount"),
        ),
        (
            "non-numeric amount",
            Some(&secret),
            with("amount", json!("ten")),
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("amount"),
        ),
        (
            "amount of the wrong type",
            Some(&secret),
            with("amount", json!(true)),
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("amount"),
        ),
        (
            "too precise amount",
            Some(&secret),
            with("amount", json!("10.001")),
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("amount"),
        ),
        (
            "unknown currency",
            Some(&secret),
            with("currency", json!("XYZ")),
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("currency"),
        ),
        (
            "another currency",
            Some(&secret),
            with("currency", json!("EUR")),
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("currency"),
        ),
        (
            "wrong secret",
            Some("whsec_wrong"),
            good.to_string(),
            StatusCode::UNAUTHORIZED,
            None,
        ),
        (
            "no secret",
            None,
            good.to_string(),
            StatusCode::UNAUTHORIZED,
            None,
        ),
    ];
    for (case, key, body, expected, field) in &cases {
        let r = h
            .call(Method::POST, "/v1/postbacks", *key, Some(body))
            .await;
        assert_eq!(
            r.headers["content-type"], "application/problem+json",
            "{case}: errors are problem documents"
        );
        assert_problem(r.status, &r.body, *expected, *field, case);
    }
    // Several problems at once are reported together.
    let r = h
        .call(
            Method::POST,
            "/v1/postbacks",
            Some(&secret),
            Some(&json!({"click_id": click_id}).to_string()),
        )
        .await;
    let fields: Vec<&str> = r.body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, vec!["order_id", "currency", "amount"]);
    // A form-encoded postback is told what to send instead.
    let r = h
        .client
        .post(format!("{}/v1/postbacks", h.base))
        .bearer_auth(&secret)
        .header("content-type", "application/x-www-form-urlencoded")
        .body("click_id=x")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert!(
        r.text()
            .await
            .unwrap()
            .contains("Content-Type must be application/json")
    );

    let convs = h.admin(Method::GET, "/v1/admin/conversions", None).await;
    assert_eq!(convs.body["items"], json!([]), "nothing was stored");
    // And the good postback still works afterwards.
    let r = h
        .call(
            Method::POST,
            "/v1/postbacks",
            Some(&secret),
            Some(&good.to_string()),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED);
    // A repeat of the order with another amount is a conflict, not a second conversion.
    let r = h
        .call(
            Method::POST,
            "/v1/postbacks",
            Some(&secret),
            Some(&with("amount", json!("99.00"))),
        )
        .await;
    assert_problem(
        r.status,
        &r.body,
        StatusCode::CONFLICT,
        Some("order_id"),
        "changed amount",
    );
    h.host.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_and_partner_routes_need_the_right_key() {
    let dir = tempfile::tempdir().unwrap();
    let h = TestHost::start(dir.path()).await;
    for (key, expected) in [
        (None, StatusCode::UNAUTHORIZED),
        (Some("upl_admin_nope"), StatusCode::UNAUTHORIZED),
    ] {
        let r = h
            .call(Method::GET, "/v1/admin/conversions", key, None)
            .await;
        assert_problem(r.status, &r.body, expected, None, "admin route");
        assert_eq!(r.headers["www-authenticate"], "Bearer");
        let r = h
            .call(
                Method::PUT,
                "/v1/admin/program",
                key,
                Some(r#"{"name":"x","currency":"USD"}"#),
            )
            .await;
        assert_eq!(r.status, expected);
    }
    assert_eq!(
        h.admin(Method::GET, "/v1/admin/program", None).await.status,
        StatusCode::NOT_FOUND,
        "nothing was set up"
    );
    // An admin key is not a partner key.
    let r = h.call(Method::GET, "/v1/me", Some(ADMIN_KEY), None).await;
    assert_problem(
        r.status,
        &r.body,
        StatusCode::FORBIDDEN,
        None,
        "admin on /v1/me",
    );
    let r = h.call(Method::GET, "/v1/no/such/route", None, None).await;
    assert_problem(
        r.status,
        &r.body,
        StatusCode::NOT_FOUND,
        None,
        "unknown route",
    );
    h.host.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signup_and_setup_errors_name_their_fields() {
    let dir = tempfile::tempdir().unwrap();
    let h = TestHost::start(dir.path()).await;
    let r = h
        .admin(
            Method::PUT,
            "/v1/admin/program",
            Some(json!({"name": "", "currency": "EURO", "hold_days": 999, "hold_dayz": 1})),
        )
        .await;
    assert_problem(
        r.status,
        &r.body,
        StatusCode::UNPROCESSABLE_ENTITY,
        Some("hold_dayz"),
        "unknown field",
    );
    let r = h
        .admin(
            Method::PUT,
            "/v1/admin/program",
            Some(
                json!({"name": "", "currency": "EURO", "hold_days": 999, "upline": {"depth": 11}}),
            ),
        )
        .await;
    for f in ["name", "currency", "hold_days", "upline.depth"] {
        assert_problem(
            r.status,
            &r.body,
            StatusCode::UNPROCESSABLE_ENTITY,
            Some(f),
            "program",
        );
    }
    h.admin(
        Method::PUT,
        "/v1/admin/program",
        Some(json!({"name": "Acme", "currency": "USD"})),
    )
    .await;
    let r = h
        .admin(
            Method::PUT,
            "/v1/admin/program",
            Some(json!({"name": "Acme", "currency": "EUR"})),
        )
        .await;
    assert_problem(
        r.status,
        &r.body,
        StatusCode::UNPROCESSABLE_ENTITY,
        Some("currency"),
        "currency change",
    );
    let r = h
        .admin(
            Method::PUT,
            "/v1/admin/campaigns/Bad%20Id",
            Some(json!({"name": "x", "destination_url": "https://x.com"})),
        )
        .await;
    assert_problem(
        r.status,
        &r.body,
        StatusCode::UNPROCESSABLE_ENTITY,
        Some("id"),
        "campaign id",
    );
    let r = h
        .admin(Method::PUT, "/v1/admin/campaigns/c1", Some(json!({"name": "x", "destination_url": "javascript:alert(1)", "terms": {"cpa": "1.001", "revenue_share_percent": "101"}})))
        .await;
    for f in [
        "destination_url",
        "terms.cpa",
        "terms.revenue_share_percent",
    ] {
        assert_problem(
            r.status,
            &r.body,
            StatusCode::UNPROCESSABLE_ENTITY,
            Some(f),
            "campaign",
        );
    }

    let apply = |body: Value| {
        let h = &h;
        async move {
            h.call(Method::POST, "/v1/partners", None, Some(&body.to_string()))
                .await
        }
    };
    let r = apply(
        json!({"email": "not-an-email", "name": " ", "type": "boss", "referred_by": "nobody"}),
    )
    .await;
    for f in ["email", "name", "type", "referred_by"] {
        assert_problem(
            r.status,
            &r.body,
            StatusCode::UNPROCESSABLE_ENTITY,
            Some(f),
            "signup",
        );
    }
    assert_eq!(
        apply(json!({"email": "Ann@Example.com", "name": "Ann", "type": "referral"}))
            .await
            .status,
        StatusCode::CREATED
    );
    let r = apply(json!({"email": "ann@example.com", "name": "Ann 2", "type": "referral"})).await;
    assert_problem(
        r.status,
        &r.body,
        StatusCode::UNPROCESSABLE_ENTITY,
        Some("email"),
        "duplicate email",
    );
    let partners = h.admin(Method::GET, "/v1/admin/partners", None).await;
    assert_eq!(
        partners.body["items"].as_array().unwrap().len(),
        1,
        "only the good signup was stored"
    );
    let id = partners.body["items"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let r = h
        .admin(
            Method::POST,
            "/v1/admin/links",
            Some(json!({"partner_id": id, "campaign_id": "c1"})),
        )
        .await;
    assert_problem(
        r.status,
        &r.body,
        StatusCode::UNPROCESSABLE_ENTITY,
        Some("partner_id"),
        "link for a pending partner",
    );
    h.admin(
        Method::POST,
        &format!("/v1/admin/partners/{id}/approve"),
        None,
    )
    .await;
    let r = h
        .admin(
            Method::POST,
            &format!("/v1/admin/partners/{id}/approve"),
            None,
        )
        .await;
    assert_problem(
        r.status,
        &r.body,
        StatusCode::CONFLICT,
        Some("status"),
        "approving twice",
    );
    h.host.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_link_is_a_404_page_never_a_redirect() {
    let dir = tempfile::tempdir().unwrap();
    let h = TestHost::start(dir.path()).await;
    for path in [
        "/r/doesnotexist",
        "/r/..%2F..%2Fetc",
        "/r/https%3A%2F%2Fevil.com",
    ] {
        let r = h.call(Method::GET, path, None, None).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{path}");
        assert!(r.headers.get("location").is_none(), "{path}");
        assert!(r.text.contains("Link not found"));
    }
    h.host.stop().await;
}
