//! `template.yaml` against the code: every HTTP route it declares is served by the local
//! host (and no probed route is served that it lacks), every environment variable a
//! function reads is set for that function (and nothing else is), every queue has a
//! dead-letter queue and a long enough visibility timeout, no policy uses a wildcard, and
//! every function builds its own binary with cargo-lambda.

use std::collections::{BTreeMap, BTreeSet};

use reqwest::{Method, StatusCode};
use upline_tests::host::{TestBackend, TestHost};
use upline_tests::policy::{strings_in, template};
use yaml_rust2::Yaml;

fn resources(t: &Yaml) -> Vec<(String, Yaml)> {
    t["Resources"]
        .as_hash()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.as_str().unwrap().to_string(), v.clone()))
        .collect()
}

fn functions(t: &Yaml) -> Vec<(String, Yaml)> {
    resources(t)
        .into_iter()
        .filter(|(_, r)| r["Type"].as_str() == Some("AWS::Serverless::Function"))
        .collect()
}

fn events(f: &Yaml, kind: &str) -> Vec<Yaml> {
    f["Properties"]["Events"]
        .as_hash()
        .map(|h| {
            h.values()
                .filter(|e| e["Type"].as_str() == Some(kind))
                .cloned()
                .collect()
        })
        .unwrap_or_default()
}

/// (method, path) of every HTTP API event in the template.
fn template_routes(t: &Yaml) -> BTreeSet<(String, String)> {
    functions(t)
        .iter()
        .flat_map(|(_, f)| events(f, "HttpApi"))
        .map(|e| {
            let p = &e["Properties"];
            (
                p["Method"].as_str().unwrap().to_string(),
                p["Path"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

/// Paths documented in `openapi.yaml`, to probe alongside the template's.
fn documented_paths() -> BTreeSet<String> {
    let spec =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../openapi.yaml")).unwrap();
    spec.lines()
        .take_while(|l| !l.starts_with("components:"))
        .filter_map(|l| l.strip_prefix("  /").and_then(|l| l.strip_suffix(':')))
        .map(|p| format!("/{p}"))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_template_routes_exactly_what_the_local_host_serves() {
    let t = template();
    let declared = template_routes(&t);
    assert!(declared.len() >= 18, "{declared:?}");
    let mut paths: BTreeSet<String> = declared.iter().map(|(_, p)| p.clone()).collect();
    paths.extend(documented_paths());
    let h = TestHost::fresh(TestBackend::Embedded).await;
    for path in &paths {
        let concrete = path.replace("{code}", "zzzz").replace("{id}", "x");
        // HEAD is answered wherever GET is; the template lists it where it matters (links).
        for method in ["GET", "POST", "PUT", "PATCH", "DELETE"] {
            let r = h
                .call(
                    method.parse::<Method>().unwrap(),
                    &concrete,
                    None,
                    Some("{}"),
                )
                .await;
            let unrouted = r.status == StatusCode::METHOD_NOT_ALLOWED
                || (r.status == StatusCode::NOT_FOUND && r.body["detail"] == "no such route");
            let in_template = declared.contains(&(method.to_string(), path.clone()));
            assert_eq!(
                !unrouted, in_template,
                "{method} {path}: served = {}, in template = {in_template}",
                !unrouted
            );
        }
    }
    for (method, path) in declared.iter().filter(|(m, _)| m == "HEAD") {
        let r = h
            .call(Method::HEAD, &path.replace("{code}", "zzzz"), None, None)
            .await;
        assert_ne!(r.status, StatusCode::METHOD_NOT_ALLOWED, "{method} {path}");
    }
    h.host.stop().await;
}

/// Variables set for a function: the global ones and its own.
fn env_of(t: &Yaml, f: &Yaml) -> BTreeSet<String> {
    let mut vars = BTreeSet::new();
    for scope in [&t["Globals"]["Function"], &f["Properties"]] {
        if let Some(h) = scope["Environment"]["Variables"].as_hash() {
            vars.extend(h.keys().map(|k| k.as_str().unwrap().to_string()));
        }
    }
    vars
}

#[test]
fn every_function_is_given_exactly_the_variables_it_reads() {
    let reads: BTreeMap<&str, &[&str]> = BTreeMap::from([
        ("RedirectFunction", upline_redirect::Config::ENV),
        ("PostbackFunction", upline_postback::Config::ENV),
        ("SignupFunction", upline_signup::Config::ENV),
        ("ApiFunction", upline_api::Config::ENV),
        ("PortalFunction", upline_portal::Config::ENV),
        ("ConsoleFunction", upline_console::Config::ENV),
        ("ClicksFunction", upline_clicks::Config::ENV),
        ("PayoutFunction", upline_payout::Config::ENV),
        ("EmailFunction", upline_email::Config::ENV),
        (
            "PartnerPostbacksFunction",
            upline_partner_postbacks::Config::ENV,
        ),
    ]);
    let t = template();
    let fs = functions(&t);
    assert_eq!(
        fs.iter().map(|(n, _)| n.as_str()).collect::<BTreeSet<_>>(),
        reads.keys().copied().collect::<BTreeSet<_>>(),
        "one function per crate"
    );
    for (name, f) in &fs {
        let set = env_of(&t, f);
        let read: BTreeSet<String> = reads[name.as_str()].iter().map(|s| s.to_string()).collect();
        let missing: Vec<_> = read.difference(&set).collect();
        assert!(
            missing.is_empty(),
            "{name} reads {missing:?} but the template does not set them"
        );
        // The logging filter is read by the tracing subscriber every function installs.
        let unused: Vec<_> = set.difference(&read).filter(|v| *v != "RUST_LOG").collect();
        assert!(
            unused.is_empty(),
            "{name} is given {unused:?}, which it never reads"
        );
    }
}

#[test]
fn every_queue_has_a_dead_letter_queue_and_outlasts_its_consumer() {
    let t = template();
    let all = resources(&t);
    let queues: BTreeMap<String, Yaml> = all
        .iter()
        .filter(|(_, r)| r["Type"].as_str() == Some("AWS::SQS::Queue"))
        .map(|(n, r)| (n.clone(), r.clone()))
        .collect();
    let work_queues: Vec<_> = queues
        .keys()
        .filter(|n| !n.ends_with("DeadLetterQueue"))
        .collect();
    assert_eq!(work_queues.len(), 4);
    for name in work_queues {
        let props = &queues[name]["Properties"];
        let redrive = &props["RedrivePolicy"];
        let target = redrive["deadLetterTargetArn"].as_str().unwrap_or_default();
        let dlq = target.trim_end_matches(".Arn");
        assert!(
            queues.contains_key(dlq) && dlq.ends_with("DeadLetterQueue"),
            "{name} has no dead-letter queue"
        );
        assert!(
            redrive["maxReceiveCount"]
                .as_i64()
                .is_some_and(|n| (1..=10).contains(&n)),
            "{name}"
        );
        // Its consumer: the function with an SQS event on this queue.
        let consumer = functions(&t)
            .into_iter()
            .find_map(|(_, f)| {
                events(&f, "SQS")
                    .into_iter()
                    .find(|e| e["Properties"]["Queue"].as_str() == Some(&format!("{name}.Arn")))
                    .map(|e| (f, e))
            })
            .unwrap_or_else(|| panic!("nothing consumes {name}"));
        let (f, e) = consumer;
        let timeout = f["Properties"]["Timeout"]
            .as_i64()
            .or_else(|| t["Globals"]["Function"]["Timeout"].as_i64())
            .unwrap();
        let window = e["Properties"]["MaximumBatchingWindowInSeconds"]
            .as_i64()
            .unwrap_or(0);
        let visibility = props["VisibilityTimeout"].as_i64().unwrap();
        assert!(
            visibility >= 6 * timeout + window,
            "{name}: {visibility} < 6 × {timeout} + {window}"
        );
        let responses = &e["Properties"]["FunctionResponseTypes"];
        assert_eq!(
            responses[0].as_str(),
            Some("ReportBatchItemFailures"),
            "{name}"
        );
        let batch = e["Properties"]["BatchSize"].as_i64().unwrap();
        assert!(
            (1..=50).contains(&batch),
            "{name}: a batch must fit one 100-operation transaction"
        );
    }
}

#[test]
fn no_policy_grants_a_wildcard() {
    let t = template();
    for (name, f) in functions(&t) {
        let policies = f["Properties"]["Policies"]
            .as_vec()
            .unwrap_or_else(|| panic!("{name} has no policies"));
        for policy in policies {
            for statement in policy["Statement"].as_vec().unwrap() {
                for key in ["Action", "Resource"] {
                    let values: Vec<String> = match &statement[key] {
                        Yaml::Array(a) => a.iter().flat_map(strings_in).collect(),
                        other => strings_in(other),
                    };
                    assert!(!values.is_empty(), "{name}: a statement without {key}");
                    for v in values {
                        assert!(!v.contains('*'), "{name}: {key} {v} is a wildcard");
                    }
                }
            }
        }
    }
}

#[test]
fn every_function_builds_its_own_binary_with_cargo_lambda() {
    let t = template();
    let mut binaries = BTreeSet::new();
    for (name, f) in functions(&t) {
        assert_eq!(
            f["Metadata"]["BuildMethod"].as_str(),
            Some("rust-cargolambda"),
            "{name}"
        );
        let binary = f["Metadata"]["BuildProperties"]["Binary"]
            .as_str()
            .unwrap()
            .to_string();
        let code_uri = f["Properties"]["CodeUri"].as_str().unwrap();
        let manifest = std::fs::read_to_string(format!(
            "{}/../{code_uri}/Cargo.toml",
            env!("CARGO_MANIFEST_DIR")
        ))
        .unwrap_or_else(|_| panic!("{name}: no Cargo.toml at {code_uri}"));
        assert!(
            manifest.contains(&format!("name = \"{binary}\"")),
            "{name}: {code_uri} does not build {binary}"
        );
        assert!(
            std::path::Path::new(&format!(
                "{}/../{code_uri}/src/main.rs",
                env!("CARGO_MANIFEST_DIR")
            ))
            .exists(),
            "{name}: no main.rs"
        );
        assert!(binaries.insert(binary.clone()), "{binary} is used twice");
    }
    assert_eq!(
        t["Globals"]["Function"]["Runtime"].as_str(),
        Some("provided.al2023")
    );
    assert_eq!(
        t["Globals"]["Function"]["Architectures"][0].as_str(),
        Some("arm64")
    );
}
