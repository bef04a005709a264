//! `openapi.yaml` is the HTTP contract: every operation it documents must be served by the
//! local host (a wrong method or a path no function serves would be a documentation lie).

use reqwest::{Method, StatusCode};
use upline_tests::host::{TestBackend, TestHost};

/// (method, path) of every operation in the document, read from its `paths` section.
fn documented_operations() -> Vec<(Method, String)> {
    let spec =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../openapi.yaml")).unwrap();
    let mut ops = Vec::new();
    let mut path: Option<String> = None;
    for line in spec.lines() {
        if line.starts_with("components:") {
            break;
        }
        if let Some(p) = line.strip_prefix("  /").and_then(|l| l.strip_suffix(':')) {
            path = Some(format!("/{p}"));
        } else if let (Some(p), Some(m)) = (
            &path,
            line.strip_prefix("    ").and_then(|l| l.strip_suffix(':')),
        ) && let Ok(method) = m.to_ascii_uppercase().parse::<Method>()
            && ["GET", "PUT", "POST", "DELETE", "PATCH", "HEAD"].contains(&method.as_str())
        {
            ops.push((method, p.clone()));
        }
    }
    ops
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_documented_operation_is_served() {
    let ops = documented_operations();
    assert!(ops.len() >= 17, "the document lists every route: {ops:?}");
    let h = TestHost::fresh(TestBackend::Embedded).await;
    for (method, path) in &ops {
        let concrete = path.replace("{code}", "zzzz").replace("{id}", "x");
        let r = h.call(method.clone(), &concrete, None, Some("{}")).await;
        assert_ne!(r.status, StatusCode::METHOD_NOT_ALLOWED, "{method} {path}");
        let unrouted = r.status == StatusCode::NOT_FOUND && r.body["detail"] == "no such route";
        assert!(!unrouted, "{method} {path} is documented but not served");
    }
    // And the fallback really does answer unknown paths that way.
    let r = h.call(Method::GET, "/v1/nowhere", None, None).await;
    assert_eq!(r.body["detail"], "no such route");
    h.host.stop().await;
}
