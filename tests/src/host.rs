//! Runs the local host on a random loopback port for end-to-end tests and talks to it
//! over HTTP the way a browser, a storefront and an operator would.

use std::path::{Path, PathBuf};
use std::time::Duration;

use reqwest::{Client, Method, StatusCode, redirect};
use serde_json::Value;
use upline_local::{HostConfig, RunningHost, start};

/// The admin key every test host is started with.
pub const ADMIN_KEY: &str = "upl_admin_end_to_end_tests_only";

pub struct TestHost {
    pub host: RunningHost,
    pub base: String,
    pub data_dir: PathBuf,
    pub client: Client,
}

/// A response reduced to what tests assert on.
#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
    pub text: String,
}

impl TestHost {
    /// Starts an empty host (no demo) on `data_dir`.
    pub async fn start(data_dir: &Path) -> TestHost {
        let mut config = HostConfig::new("127.0.0.1:0".parse().unwrap(), data_dir.to_path_buf());
        config.seed_demo = false;
        config.admin_key = Some(ADMIN_KEY.into());
        let host = start(config).await.expect("the local host starts");
        let client = Client::builder()
            .redirect(redirect::Policy::none())
            .timeout(Duration::from_secs(20))
            .build()
            .unwrap();
        TestHost {
            base: host.base_url.clone(),
            host,
            data_dir: data_dir.to_path_buf(),
            client,
        }
    }

    /// Stops the host and starts a new one on the same data folder.
    pub async fn restart(self) -> TestHost {
        let dir = self.data_dir.clone();
        self.host.stop().await;
        TestHost::start(&dir).await
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
        let resp = req.send().await.expect("the host answers");
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

    pub async fn admin(&self, method: Method, path: &str, body: Option<Value>) -> Reply {
        let body = body.map(|b| b.to_string());
        self.call(method, path, Some(ADMIN_KEY), body.as_deref())
            .await
    }

    /// Emails in the outbox whose file name starts with `prefix`.
    pub fn outbox(&self, prefix: &str) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(&self.host.outbox)
            .map(|d| {
                d.filter_map(|e| e.ok())
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .filter(|n| n.starts_with(prefix) && n.ends_with(".eml"))
                    .collect()
            })
            .unwrap_or_default();
        names.sort();
        names
    }
}

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
