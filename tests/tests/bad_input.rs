//! Bad input on the local host: every malformed, forged or unauthenticated request gets
//! a clear 4xx problem naming what is wrong, and nothing is stored.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use upline_tests::host::{ADMIN_KEY, Reply, TestBackend, TestHost, click_id_in, strings_of};

/// A program with campaign `c1` (a 5.00 CPA) and an approved partner who was clicked
/// once; returns (postback secret, click id).
async fn program_with_link(h: &TestHost) -> (String, String) {
    let r = h
        .put_program(json!({"name": "Acme", "currency": "USD"}))
        .await;
    let secret = r.body["postback_secret"].as_str().unwrap().to_string();
    h.put_campaign(
        "c1",
        json!({"name": "C1", "destination_url": "https://shop.example.com/", "terms": {"cpa": "5.00"}}),
    )
    .await;
    let r = h
        .apply(&json!({"email": "a@x.com", "name": "A", "type": "affiliate"}))
        .await;
    let id = r.body["id"].as_str().unwrap().to_string();
    h.approve(&id).await;
    let r = h.link(&id, "c1").await;
    let code = r.body["code"].as_str().unwrap().to_string();
    let r = h.call(Method::GET, &format!("/r/{code}"), None, None).await;
    let loc = r.headers["location"].to_str().unwrap().to_string();
    (secret, click_id_in(&loc))
}

/// The same click id with one byte of its link code changed: a well-formed forgery.
fn forge(click_id: &str) -> String {
    let mut bytes = URL_SAFE_NO_PAD.decode(click_id).unwrap();
    bytes[12] ^= 0x01;
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Asserts `r` is a problem document with status `expected`, naming `field` if given.
fn assert_problem(r: &Reply, expected: StatusCode, field: Option<&str>, case: &str) {
    let body = &r.body;
    assert_eq!(r.status, expected, "{case}: {body}");
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
    let h = TestHost::fresh(TestBackend::Embedded).await;
    let (secret, click_id) = program_with_link(&h).await;
    let good =
        json!({"click_id": click_id, "order_id": "o-1", "amount": "10.00", "currency": "USD"});
    let with = |field: &str, value: Value| {
        let mut b = good.clone();
        b[field] = value;
        b
    };
    let without = |field: &str| {
        let mut b = good.clone();
        b.as_object_mut().unwrap().remove(field);
        b
    };
    // With the right secret: a body that is not JSON, or JSON refused naming a field.
    let malformed = |case: &'static str, body: &str| {
        let status = StatusCode::BAD_REQUEST;
        (case, Some(secret.as_str()), body.to_string(), status, None)
    };
    let invalid = |case: &'static str, body: Value, field: &'static str| {
        let status = StatusCode::UNPROCESSABLE_ENTITY;
        (
            case,
            Some(secret.as_str()),
            body.to_string(),
            status,
            Some(field),
        )
    };
    let cases: Vec<Case> = vec![
        malformed("malformed JSON", "{\"click_id\": "),
        malformed("not an object", "[1,2]"),
        malformed("empty body", ""),
        invalid(
            "unknown click id",
            with("click_id", json!("bm90LWEtY2xpY2staWQtYXQtYWxs")),
            "click_id",
        ),
        invalid(
            "forged click id",
            with("click_id", json!(forge(&click_id))),
            "click_id",
        ),
        invalid("missing click id", without("click_id"), "click_id"),
        invalid("missing order id", without("order_id"), "order_id"),
        invalid("empty order id", with("order_id", json!("  ")), "order_id"),
        invalid("negative amount", with("amount", json!("-5.00")), "amount"),
        invalid("non-numeric amount", with("amount", json!("ten")), "amount"),
        invalid(
            "amount of the wrong type",
            with("amount", json!(true)),
            "amount",
        ),
        invalid(
            "too precise amount",
            with("amount", json!("10.001")),
            "amount",
        ),
        invalid(
            "unknown currency",
            with("currency", json!("XYZ")),
            "currency",
        ),
        invalid(
            "another currency",
            with("currency", json!("EUR")),
            "currency",
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
        assert_problem(&r, *expected, *field, case);
    }
    // Several problems at once are reported together.
    let r = h.postback(&secret, &json!({"click_id": click_id})).await;
    let fields = strings_of(&r.body["errors"], "field");
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
    let r = h.postback(&secret, &good).await;
    assert_eq!(r.status, StatusCode::CREATED);
    // A repeat of the order with another amount is a conflict, not a second conversion.
    let r = h.postback(&secret, &with("amount", json!("99.00"))).await;
    assert_problem(&r, StatusCode::CONFLICT, Some("order_id"), "changed amount");
    h.host.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_and_partner_routes_need_the_right_key() {
    let h = TestHost::fresh(TestBackend::Embedded).await;
    for (key, expected) in [
        (None, StatusCode::UNAUTHORIZED),
        (Some("upl_admin_nope"), StatusCode::UNAUTHORIZED),
    ] {
        let r = h
            .call(Method::GET, "/v1/admin/conversions", key, None)
            .await;
        assert_problem(&r, expected, None, "admin route");
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
    let r = h.me(ADMIN_KEY).await;
    assert_problem(&r, StatusCode::FORBIDDEN, None, "admin on /v1/me");
    let r = h.call(Method::GET, "/v1/no/such/route", None, None).await;
    assert_problem(&r, StatusCode::NOT_FOUND, None, "unknown route");
    h.host.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signup_and_setup_errors_name_their_fields() {
    let h = TestHost::fresh(TestBackend::Embedded).await;
    let r = h
        .put_program(json!({"name": "", "currency": "EURO", "hold_days": 999, "hold_dayz": 1}))
        .await;
    assert_problem(
        &r,
        StatusCode::UNPROCESSABLE_ENTITY,
        Some("hold_dayz"),
        "unknown field",
    );
    let r = h
        .put_program(
            json!({"name": "", "currency": "EURO", "hold_days": 999, "upline": {"depth": 11}}),
        )
        .await;
    for f in ["name", "currency", "hold_days", "upline.depth"] {
        assert_problem(&r, StatusCode::UNPROCESSABLE_ENTITY, Some(f), "program");
    }
    h.put_program(json!({"name": "Acme", "currency": "USD"}))
        .await;
    let r = h
        .put_program(json!({"name": "Acme", "currency": "EUR"}))
        .await;
    assert_problem(
        &r,
        StatusCode::UNPROCESSABLE_ENTITY,
        Some("currency"),
        "currency change",
    );
    let r = h
        .put_campaign(
            "Bad%20Id",
            json!({"name": "x", "destination_url": "https://x.com"}),
        )
        .await;
    assert_problem(
        &r,
        StatusCode::UNPROCESSABLE_ENTITY,
        Some("id"),
        "campaign id",
    );
    let r = h
        .put_campaign("c1", json!({"name": "x", "destination_url": "javascript:alert(1)", "terms": {"cpa": "1.001", "revenue_share_percent": "101"}}))
        .await;
    for f in [
        "destination_url",
        "terms.cpa",
        "terms.revenue_share_percent",
    ] {
        assert_problem(&r, StatusCode::UNPROCESSABLE_ENTITY, Some(f), "campaign");
    }

    let r = h
        .apply(
            &json!({"email": "not-an-email", "name": " ", "type": "boss", "referred_by": "nobody"}),
        )
        .await;
    for f in ["email", "name", "type", "referred_by"] {
        assert_problem(&r, StatusCode::UNPROCESSABLE_ENTITY, Some(f), "signup");
    }
    assert_eq!(
        h.apply(&json!({"email": "Ann@Example.com", "name": "Ann", "type": "referral"}))
            .await
            .status,
        StatusCode::CREATED
    );
    let r = h
        .apply(&json!({"email": "ann@example.com", "name": "Ann 2", "type": "referral"}))
        .await;
    assert_problem(
        &r,
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
    let r = h.link(&id, "c1").await;
    assert_problem(
        &r,
        StatusCode::UNPROCESSABLE_ENTITY,
        Some("partner_id"),
        "link for a pending partner",
    );
    h.approve(&id).await;
    let r = h.approve(&id).await;
    assert_problem(&r, StatusCode::CONFLICT, Some("status"), "approving twice");
    h.host.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_link_is_a_404_page_never_a_redirect() {
    let h = TestHost::fresh(TestBackend::Embedded).await;
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
