//! Regressions for what a hostile probe found (issue 11), end to end on the local host and
//! on both backends: races on keys, amounts at the edge of what fits, limits, and the
//! small leaks. Each scenario fails on the code before its fix.

use futures::future::join_all;
use reqwest::{Method, StatusCode};
use serde_json::json;
use upline_tests::host::{TestBackend, TestHost};

upline_tests::on_both_backends!(concurrent_key_rotations_leave_exactly_one_working_key,);

const SECRET: &str = "whsec_hardening_tests_secret_0123456789";

async fn set_up(h: &TestHost) {
    let program = json!({"name": "Acme", "currency": "USD", "hold_days": 0,
        "postback_secret": SECRET,
        "upline": {"depth": 1, "level_percents": ["50"]}});
    let r = h
        .admin(Method::PUT, "/v1/admin/program", Some(program))
        .await;
    assert!(r.status.is_success(), "{}", r.text);
    let campaign = json!({"name": "Spring", "destination_url": "https://shop.example.com/",
        "terms": {"revenue_share_percent": "10"}});
    let r = h
        .admin(Method::PUT, "/v1/admin/campaigns/spring", Some(campaign))
        .await;
    assert!(r.status.is_success(), "{}", r.text);
}

/// Applies and approves; returns (id, key).
async fn partner(h: &TestHost, name: &str) -> (String, String) {
    let body = json!({"email": format!("{name}@example.com"), "name": name, "type": "affiliate"});
    let r = h
        .call(Method::POST, "/v1/partners", None, Some(&body.to_string()))
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let id = r.body["id"].as_str().unwrap().to_string();
    let r = h
        .admin(
            Method::POST,
            &format!("/v1/admin/partners/{id}/approve"),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    (id, r.body["api_key"].as_str().unwrap().to_string())
}

async fn works(h: &TestHost, key: &str) -> bool {
    let status = h.call(Method::GET, "/v1/me", Some(key), None).await.status;
    assert!(
        matches!(status, StatusCode::OK | StatusCode::UNAUTHORIZED),
        "{status}"
    );
    status == StatusCode::OK
}

/// Issued keys from a batch of rotation replies.
fn issued(replies: &[upline_tests::host::Reply]) -> Vec<String> {
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
    let dir = tempfile::tempdir().unwrap();
    let h = TestHost::start_on(backend, dir.path()).await;
    set_up(&h).await;
    let (id, first) = partner(&h, "ada").await;

    // The partner's own rotations, twenty at once with the one key she has.
    let replies =
        join_all((0..20).map(|_| h.call(Method::POST, "/v1/me/api-key", Some(&first), None))).await;
    let keys = issued(&replies);
    assert_eq!(keys.len(), 1, "one rotation wins: {keys:?}");
    assert!(!works(&h, &first).await, "the replaced key is revoked");
    assert!(works(&h, &keys[0]).await);

    // The operator's, twenty at once: still one key in the end, and it is the winner's.
    let path = format!("/v1/admin/partners/{id}/api-key");
    let replies = join_all((0..20).map(|_| h.admin(Method::POST, &path, None))).await;
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
    let r = h.admin(Method::POST, &path, None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let last = r.body["api_key"].as_str().unwrap();
    for k in keys.iter().chain(&admin_keys) {
        assert!(!works(&h, k).await, "{k} still works");
    }
    assert!(works(&h, last).await);
}
