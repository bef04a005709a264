//! Runs the local host on a random loopback port for end-to-end tests and talks to it
//! over HTTP the way a browser, a storefront and an operator would.

use std::path::{Path, PathBuf};
use std::time::Duration;

use reqwest::{Client, Method, StatusCode, redirect};
use serde_json::Value;
use upline_aws::AwsClients;
use upline_local::{AwsBackend, Backend, HostConfig, RunningHost, start};

use crate::aws::{
    create_queues, create_table, moto_endpoint, sdk_config, sent_emails, unique, verify_sender,
};

/// The admin key every test host is started with.
pub const ADMIN_KEY: &str = "upl_admin_end_to_end_tests_only";

/// Which adapters a test host runs on.
#[derive(Clone, Copy, Debug)]
pub enum TestBackend {
    Embedded,
    /// DynamoDB, SQS and SES on the moto server (fresh table and queues per host).
    Aws,
}

pub struct TestHost {
    pub host: RunningHost,
    pub base: String,
    pub data_dir: PathBuf,
    pub client: Client,
    config: HostConfig,
}

/// A response reduced to what tests assert on.
#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
    pub text: String,
}

impl Reply {
    pub async fn of(resp: reqwest::Response) -> Reply {
        let status = resp.status();
        let headers = resp.headers().clone();
        let text = resp.text().await.unwrap();
        let body = serde_json::from_str(&text).unwrap_or(Value::Null);
        Reply {
            status,
            headers,
            body,
            text,
        }
    }
}

impl TestHost {
    /// Starts an empty host (no demo) on the embedded store in `data_dir`.
    pub async fn start(data_dir: &Path) -> TestHost {
        TestHost::start_on(TestBackend::Embedded, data_dir).await
    }

    /// Starts an empty host on `backend`: for AWS, on a new table, new queues (three
    /// receives before dead-lettering) and a newly verified sender of its own.
    pub async fn start_on(backend: TestBackend, data_dir: &Path) -> TestHost {
        TestHost::start_configured(backend, data_dir, |_| {}).await
    }

    /// [`TestHost::start_on`] with settings changed by `tweak` before the start.
    pub async fn start_configured(
        backend: TestBackend,
        data_dir: &Path,
        tweak: impl FnOnce(&mut HostConfig),
    ) -> TestHost {
        let mut config = HostConfig::new("127.0.0.1:0".parse().unwrap(), data_dir.to_path_buf());
        config.seed_demo = false;
        config.admin_key = Some(upline_domain::secrets::Secret::new(ADMIN_KEY));
        // Tests drive approvals and payout runs themselves; one opts back in to check
        // the local schedule.
        config.schedule_every = None;
        // End-to-end scenarios sign up and probe from one address far more than a person
        // would; the scenario that checks the limits sets its own.
        config.rate_limits.failed_auth.max = 100_000;
        config.rate_limits.signups.max = 100_000;
        if let TestBackend::Aws = backend {
            let sdk = sdk_config(&moto_endpoint()).await;
            let clients = AwsClients::new(&sdk);
            let name = unique("e2e");
            create_table(&clients, &name).await;
            let queues = create_queues(&clients, &name, 3).await;
            let mail_from = format!("{name}@upline.test");
            verify_sender(&clients, &mail_from).await;
            config.mail_from = mail_from.clone();
            config.secrets_key =
                Some(upline_domain::secrets::SecretsKey::from_hex(&"5e".repeat(32)).unwrap());
            config.backend = Backend::Aws(Box::new(AwsBackend {
                sdk,
                table: name,
                queues,
                mail_from,
                ses_configuration_set: None,
            }));
        }
        tweak(&mut config);
        TestHost::start_with(config).await
    }

    async fn start_with(config: HostConfig) -> TestHost {
        let host = start(config.clone()).await.expect("the local host starts");
        crate::install_tls_provider();
        let client = Client::builder()
            // A person's browser, unless a test says otherwise: other agents count as bots.
            .user_agent(BROWSER)
            .redirect(redirect::Policy::none())
            .timeout(Duration::from_secs(20))
            .build()
            .unwrap();
        TestHost {
            base: host.base_url.clone(),
            host,
            data_dir: config.data_dir.clone(),
            client,
            config,
        }
    }

    /// Stops the host and starts a new one on the same state (data folder, or table and
    /// queues).
    pub async fn restart(self) -> TestHost {
        let config = self.config.clone();
        self.host.stop().await;
        TestHost::start_with(config).await
    }

    pub async fn call(
        &self,
        method: Method,
        path: &str,
        key: Option<&str>,
        body: Option<&str>,
    ) -> Reply {
        let mut req = self.client.request(method, format!("{}{path}", self.base));
        if let Some(k) = key {
            req = req.bearer_auth(k);
        }
        if let Some(b) = body {
            req = req
                .header("content-type", "application/json")
                .body(b.to_string());
        }
        Reply::of(req.send().await.expect("the host answers")).await
    }

    /// A call with the given headers and no key.
    pub async fn call_with_headers(
        &self,
        method: Method,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<&str>,
    ) -> Reply {
        let mut req = self.client.request(method, format!("{}{path}", self.base));
        for (name, value) in headers {
            req = req.header(*name, *value);
        }
        if let Some(b) = body {
            req = req
                .header("content-type", "application/json")
                .body(b.to_string());
        }
        Reply::of(req.send().await.expect("the host answers")).await
    }

    /// A partner who applied (as `<name>@example.com`, an affiliate) and was approved;
    /// returns (id, API key).
    pub async fn approved_partner(&self, name: &str) -> (String, String) {
        let body = serde_json::json!({"email": format!("{name}@example.com"), "name": name,
            "type": "affiliate"});
        let r = self
            .call(Method::POST, "/v1/partners", None, Some(&body.to_string()))
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
        let id = r.body["id"].as_str().unwrap().to_string();
        let r = self
            .admin(
                Method::POST,
                &format!("/v1/admin/partners/{id}/approve"),
                None,
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
        (id, r.body["api_key"].as_str().unwrap().to_string())
    }

    pub async fn admin(&self, method: Method, path: &str, body: Option<Value>) -> Reply {
        let body = body.map(|b| b.to_string());
        self.call(method, path, Some(ADMIN_KEY), body.as_deref())
            .await
    }

    /// Emails sent so far whose name starts with `prefix`, sorted. A name is the email's
    /// idempotency key made file-safe plus `.eml`: the outbox's file names, or the
    /// Message-IDs of what this host's sender sent through SES.
    pub async fn emails(&self, prefix: &str) -> Vec<String> {
        let mut names: Vec<String> = self
            .all_emails()
            .await
            .into_iter()
            .map(|(name, _)| name)
            .filter(|n| n.starts_with(prefix))
            .collect();
        names.sort();
        names
    }

    /// The raw message of the email named `name` (see [`TestHost::emails`]).
    pub async fn email(&self, name: &str) -> String {
        self.all_emails()
            .await
            .into_iter()
            .find(|(n, _)| n == name)
            .map(|(_, raw)| raw)
            .unwrap_or_else(|| panic!("no email {name}"))
    }

    async fn all_emails(&self) -> Vec<(String, String)> {
        match (&self.host.outbox, &self.config.backend) {
            (Some(dir), _) => std::fs::read_dir(dir)
                .map(|d| {
                    d.filter_map(|e| e.ok())
                        .map(|e| e.path())
                        .filter(|p| p.extension().is_some_and(|x| x == "eml"))
                        .map(|p| {
                            let name = p.file_name().unwrap().to_string_lossy().into_owned();
                            (name, std::fs::read_to_string(&p).unwrap_or_default())
                        })
                        .collect()
                })
                .unwrap_or_default(),
            (None, Backend::Aws(aws)) => sent_emails(&moto_endpoint())
                .await
                .into_iter()
                .filter(|m| m.source == aws.mail_from)
                .filter_map(|m| Some((format!("{}.eml", m.stem()?), m.raw)))
                .collect(),
            (None, Backend::Embedded) => vec![],
        }
    }
}

/// The user agent the test client sends: a desktop browser.
pub const BROWSER: &str = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36";

/// Polls `check` until it returns `Some`, for effects of the background consumers.
pub async fn eventually<T, F, Fut>(what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    for _ in 0..200 {
        if let Some(v) = check().await {
            return v;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("timed out waiting for {what}");
}

/// One `#[tokio::test]` per backend for each scenario function (`async fn(TestBackend)`):
/// `embedded::<name>` on the redb store, `aws::<name>` on DynamoDB, SQS and SES (moto).
#[macro_export]
macro_rules! on_both_backends {
    ($($scenario:ident),* $(,)?) => {
        mod embedded {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $scenario() {
                    super::$scenario($crate::host::TestBackend::Embedded).await;
                }
            )*
        }
        mod aws {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $scenario() {
                    super::$scenario($crate::host::TestBackend::Aws).await;
                }
            )*
        }
    };
}
