//! Operator accounts over the admin API, end to end on both backends: added by email
//! with a role, changed, listed, removed, audited — and a program never left without an
//! owner.

use reqwest::{Method, StatusCode};
use serde_json::json;
use upline_tests::host::{TestBackend, TestHost, error_fields, strings_of};

upline_tests::on_both_backends!(operators_are_added_changed_and_removed_but_one_owner_stays);

async fn operators_are_added_changed_and_removed_but_one_owner_stays(backend: TestBackend) {
    let h = TestHost::fresh(backend).await;
    let put = |email: &'static str, role: &'static str| {
        let h = &h;
        async move {
            h.admin(
                Method::PUT,
                &format!("/v1/admin/operators/{email}"),
                Some(json!({"role": role})),
            )
            .await
        }
    };
    let r = put("Founder@Example.com", "owner").await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    assert_eq!(
        r.body["email"], "founder@example.com",
        "emails are kept lower case"
    );
    let r = put("not-an-email", "boss").await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
    assert_eq!(error_fields(&r.body), ["email", "role"]);
    // The only owner cannot be demoted or removed.
    let r = put("founder@example.com", "manager").await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.text);
    let r = h
        .admin(
            Method::DELETE,
            "/v1/admin/operators/founder@example.com",
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.text);
    // With a second owner, the first may step down.
    assert_eq!(
        put("cfo@example.com", "owner").await.status,
        StatusCode::CREATED
    );
    assert_eq!(
        put("mia@example.com", "analyst").await.status,
        StatusCode::CREATED
    );
    let r = put("founder@example.com", "manager").await;
    assert_eq!(
        (r.status, r.body["role"].as_str()),
        (StatusCode::OK, Some("manager"))
    );
    let list = h.admin(Method::GET, "/v1/admin/operators", None).await;
    assert_eq!(
        strings_of(&list.body["items"], "email"),
        ["cfo@example.com", "founder@example.com", "mia@example.com"]
    );
    assert_eq!(
        strings_of(&list.body["items"], "role"),
        ["owner", "manager", "analyst"]
    );
    let r = h
        .admin(Method::DELETE, "/v1/admin/operators/mia@example.com", None)
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    let r = h
        .admin(Method::DELETE, "/v1/admin/operators/mia@example.com", None)
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let audit = h.admin(Method::GET, "/v1/admin/audit-log", None).await;
    let actions = strings_of(&audit.body["items"], "action");
    for a in ["operator.added", "operator.changed", "operator.removed"] {
        assert!(actions.contains(&a), "{actions:?}");
    }
    h.host.stop().await;
}
