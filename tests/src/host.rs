//! Runs the local host on a random loopback port for end-to-end tests and talks to it
//! over HTTP the way a browser, a storefront and an operator would.

use std::path::{Path, PathBuf};
use std::time::Duration;

use reqwest::{Client, Method, StatusCode, redirect};
use serde_json::{Value, json};
use upline_aws::AwsClients;
use upline_local::{AwsBackend, Backend, HostConfig, RunningHost, start};

use crate::aws::{create_queues, moto_endpoint, new_table, sdk_config, sent_emails, verify_sender};

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
    /// The data folder the host made for itself ([`TestHost::fresh`]), removed when the
    /// host is dropped.
    temp: Option<tempfile::TempDir>,
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

    /// Starts an empty host on `backend` with a data folder of its own, a new temporary
    /// one that lives as long as the host (restarts included).
    pub async fn fresh(backend: TestBackend) -> TestHost {
        TestHost::fresh_configured(backend, |_| {}).await
    }

    /// [`TestHost::fresh`] with settings changed by `tweak` before the start.
    pub async fn fresh_configured(
        backend: TestBackend,
        tweak: impl FnOnce(&mut HostConfig),
    ) -> TestHost {
        let temp = tempfile::tempdir().unwrap();
        let mut h = TestHost::start_configured(backend, temp.path(), tweak).await;
        h.temp = Some(temp);
        h
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
            let name = new_table(&clients, "e2e").await;
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
            temp: None,
        }
    }

    /// Stops the host and starts a new one on the same state (data folder, or table and
    /// queues).
    pub async fn restart(self) -> TestHost {
        let TestHost {
            host, config, temp, ..
        } = self;
        host.stop().await;
        let mut h = TestHost::start_with(config).await;
        h.temp = temp;
        h
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
    /// returns (id, API key). Leaves the partner approved, with a link to every active
    /// campaign.
    pub async fn approved_partner(&self, name: &str) -> (String, String) {
        let application = json!({"email": format!("{name}@example.com"), "name": name,
            "type": "affiliate"});
        let (id, key, _) = self.approve_application(&application).await;
        (id, key)
    }

    /// Applies with `application`, asserting it is created, and approves the applicant,
    /// asserting the approval; returns (id, API key, referral code). Leaves the partner
    /// approved, with a link to every active campaign and the application and approval
    /// emails queued.
    pub async fn approve_application(&self, application: &Value) -> (String, String, String) {
        let r = self.apply(application).await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
        let id = r.body["id"].as_str().unwrap().to_string();
        let referral_code = r.body["referral_code"].as_str().unwrap().to_string();
        let r = self.approve(&id).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
        let key = r.body["api_key"].as_str().unwrap().to_string();
        (id, key, referral_code)
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

/// One request each, as the operator, a partner or the storefront makes it: the set-up and
/// the actions scenarios share. Each returns the reply unchecked unless it says otherwise.
impl TestHost {
    /// `PUT /v1/admin/program`: creates or replaces the program (the reply shows the
    /// postback secret when it was set).
    pub async fn put_program(&self, program: Value) -> Reply {
        self.admin(Method::PUT, "/v1/admin/program", Some(program))
            .await
    }

    /// `PUT /v1/admin/campaigns/{id}`: creates or replaces campaign `id`.
    pub async fn put_campaign(&self, id: &str, campaign: Value) -> Reply {
        self.admin(
            Method::PUT,
            &format!("/v1/admin/campaigns/{id}"),
            Some(campaign),
        )
        .await
    }

    /// Puts the program (`program`, asserted created) and campaign `spring` ("Spring",
    /// sending to `destination_url`, paying 10 % of each sale, with the settings in
    /// `campaign` added or replaced; asserted created). Leaves a program with that one
    /// campaign and no partners; returns the program's reply, which shows the postback
    /// secret this once.
    pub async fn program_with_spring(
        &self,
        program: Value,
        destination_url: &str,
        campaign: Value,
    ) -> Reply {
        let r = self.put_program(program).await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
        let mut spring = json!({"name": "Spring", "destination_url": destination_url,
            "terms": {"revenue_share_percent": "10"}});
        spring
            .as_object_mut()
            .unwrap()
            .extend(campaign.as_object().unwrap().clone());
        let c = self.put_campaign("spring", spring).await;
        assert_eq!(c.status, StatusCode::CREATED, "{}", c.text);
        r
    }

    /// `PUT /v1/admin/exchange-rates/{currency}`: sets what one unit of `currency` is worth
    /// in the program currency.
    pub async fn put_exchange_rate(&self, currency: &str, rate: &str) -> Reply {
        self.admin(
            Method::PUT,
            &format!("/v1/admin/exchange-rates/{currency}"),
            Some(json!({"rate": rate})),
        )
        .await
    }

    /// `POST /v1/partners`: an application, as the signup form sends it (no key).
    pub async fn apply(&self, application: &Value) -> Reply {
        self.call(
            Method::POST,
            "/v1/partners",
            None,
            Some(&application.to_string()),
        )
        .await
    }

    /// `POST /v1/admin/partners/{id}/approve`: the operator approves the partner.
    pub async fn approve(&self, partner_id: &str) -> Reply {
        self.partner_action(partner_id, "approve", None).await
    }

    /// `POST /v1/admin/partners/{id}/{action}`: the operator approves, rejects, suspends or
    /// reinstates the partner, or rotates their key (`api-key`), with `body` if given.
    pub async fn partner_action(
        &self,
        partner_id: &str,
        action: &str,
        body: Option<Value>,
    ) -> Reply {
        let path = format!("/v1/admin/partners/{partner_id}/{action}");
        self.admin(Method::POST, &path, body).await
    }

    /// `POST /v1/admin/links`: the partner's link to `campaign` (approval made one for
    /// every active campaign; this returns it, or makes one).
    pub async fn link(&self, partner_id: &str, campaign: &str) -> Reply {
        self.admin(
            Method::POST,
            "/v1/admin/links",
            Some(json!({"partner_id": partner_id, "campaign_id": campaign})),
        )
        .await
    }

    /// `POST /v1/admin/promo-codes`: gives the partner promo `code` for `campaign`.
    pub async fn assign_promo_code(&self, code: &str, partner_id: &str, campaign: &str) -> Reply {
        self.admin(
            Method::POST,
            "/v1/admin/promo-codes",
            Some(json!({"code": code, "partner_id": partner_id, "campaign_id": campaign})),
        )
        .await
    }

    /// `POST /v1/postbacks` with `body`, authenticated with the program's postback secret.
    pub async fn postback(&self, secret: &str, body: &Value) -> Reply {
        self.call_json(Method::POST, "/v1/postbacks", secret, body)
            .await
    }

    /// `POST /v1/refunds` with `body`, authenticated with the program's postback secret.
    pub async fn refund(&self, secret: &str, body: &Value) -> Reply {
        self.call_json(Method::POST, "/v1/refunds", secret, body)
            .await
    }

    /// A USD sale of `amount` credited by promo `code`, asserted created, then waited for
    /// until its commission lines are computed; returns (conversion id, lines).
    pub async fn promo_sale(
        &self,
        secret: &str,
        code: &str,
        order: &str,
        amount: &str,
    ) -> (String, Vec<Value>) {
        let body = json!({"promo_code": code, "order_id": order, "amount": amount,
            "currency": "USD"});
        let r = self.postback(secret, &body).await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
        let conversion = r.body["conversion_id"].as_str().unwrap().to_string();
        let lines = self.wait_for_lines(&conversion).await;
        (conversion, lines)
    }

    /// The operator's list of a conversion's commission lines: empty until the commission
    /// stage has run.
    pub async fn commission_lines(&self, conversion_id: &str) -> Vec<Value> {
        let path = format!("/v1/admin/commissions?conversion_id={conversion_id}");
        let r = self.admin(Method::GET, &path, None).await;
        r.body["items"].as_array().cloned().unwrap_or_default()
    }

    /// Waits until the commission stage has written a conversion's lines (all in one
    /// transaction) and returns them.
    pub async fn wait_for_lines(&self, conversion_id: &str) -> Vec<Value> {
        eventually(&format!("the lines of {conversion_id}"), || async {
            let lines = self.commission_lines(conversion_id).await;
            (!lines.is_empty()).then_some(lines)
        })
        .await
    }

    /// Waits until a conversion has exactly `n` commission lines and returns them.
    pub async fn wait_for_line_count(&self, conversion_id: &str, n: usize) -> Vec<Value> {
        eventually(&format!("{n} lines of {conversion_id}"), || async {
            let lines = self.commission_lines(conversion_id).await;
            (lines.len() == n).then_some(lines)
        })
        .await
    }

    /// `POST /v1/admin/conversions/{id}/approve`: the operator approves the conversion's
    /// lines.
    pub async fn approve_conversion(&self, conversion_id: &str) -> Reply {
        self.admin(
            Method::POST,
            &format!("/v1/admin/conversions/{conversion_id}/approve"),
            None,
        )
        .await
    }

    /// `POST /v1/admin/payout-runs` for `period`, or with no period (the one the program's
    /// cadence says ended last, or today's on a manual cadence).
    pub async fn start_payout_run(&self, period: Option<&str>) -> Reply {
        let body = match period {
            Some(p) => json!({"period": p}),
            None => json!({}),
        };
        self.admin(Method::POST, "/v1/admin/payout-runs", Some(body))
            .await
    }

    /// `POST /v1/admin/payouts/{id}/{verdict}` (`paid` or `failed`) with `body`.
    pub async fn settle_payout(&self, payout_id: &str, verdict: &str, body: Value) -> Reply {
        self.admin(
            Method::POST,
            &format!("/v1/admin/payouts/{payout_id}/{verdict}"),
            Some(body),
        )
        .await
    }

    /// The admin report for `query` (`group_by=partner`, …): its body.
    pub async fn report(&self, query: &str) -> Value {
        self.admin(Method::GET, &format!("/v1/admin/reports?{query}"), None)
            .await
            .body
    }

    /// `GET /v1/me` as the partner whose key is `key`.
    pub async fn me(&self, key: &str) -> Reply {
        self.call(Method::GET, "/v1/me", Some(key), None).await
    }

    /// `PATCH /v1/me`: the partner opts in to an email per conversion (it is opt-in).
    pub async fn opt_in_to_conversion_emails(&self, key: &str) -> Reply {
        self.call(
            Method::PATCH,
            "/v1/me",
            Some(key),
            Some(r#"{"notifications": {"new_conversion": true}}"#),
        )
        .await
    }

    /// `PUT /v1/me/payout-details`: how the partner is paid.
    pub async fn set_payout_details(&self, key: &str, details: &Value) -> Reply {
        self.call_json(Method::PUT, "/v1/me/payout-details", key, details)
            .await
    }

    /// `PUT /v1/me/postback`: the partner's own postback URL template.
    pub async fn set_postback_url(&self, key: &str, url: &str) -> Reply {
        self.call_json(Method::PUT, "/v1/me/postback", key, &json!({"url": url}))
            .await
    }

    /// `method path` with the JSON `body`, authenticated with `key`.
    async fn call_json(&self, method: Method, path: &str, key: &str, body: &Value) -> Reply {
        self.call(method, path, Some(key), Some(&body.to_string()))
            .await
    }

    /// Waits until there are emails whose names start with `prefix` and returns the names.
    pub async fn wait_for_emails(&self, prefix: &str) -> Vec<String> {
        eventually(prefix, || async {
            let names = self.emails(prefix).await;
            (!names.is_empty()).then_some(names)
        })
        .await
    }

    /// Waits for the email whose name starts with `prefix`, asserts it is the only one,
    /// and returns its raw message.
    pub async fn only_email(&self, prefix: &str) -> String {
        let names = self.wait_for_emails(prefix).await;
        assert_eq!(names.len(), 1, "{names:?}");
        self.email(&names[0]).await
    }
}

/// The click id in a redirect's `location` (what follows `click_id=`).
pub fn click_id_in(location: &str) -> String {
    location.split("click_id=").nth(1).unwrap().to_string()
}

/// The string `key` of every element of the array `list`, in order (panics on anything
/// else: a missing list, element or key).
pub fn strings_of<'a>(list: &'a Value, key: &str) -> Vec<&'a str> {
    list.as_array()
        .unwrap_or_else(|| panic!("not a list: {list}"))
        .iter()
        .map(|e| e[key].as_str().unwrap_or_else(|| panic!("no {key} in {e}")))
        .collect()
}

/// The fields a problem document names, in order (none when it names none).
pub fn error_fields(body: &Value) -> Vec<String> {
    body["errors"]
        .as_array()
        .map(|e| {
            e.iter()
                .map(|e| e["field"].as_str().unwrap_or_default().to_string())
                .collect()
        })
        .unwrap_or_default()
}

/// An amount as the API writes it (`"-3.33"`), in minor units (`-333`).
pub fn cents(amount: &str) -> i64 {
    amount.replace('.', "").parse().unwrap()
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
