//! A real browser for the tests that need one: headless Chromium driven through the
//! chromedriver the test command starts (`UPLINE_TEST_WEBDRIVER`), with axe-core
//! (`UPLINE_TEST_AXE`) injected into pages to check them for accessibility, and
//! full-page screenshots at a chosen width.

use std::path::PathBuf;

use fantoccini::{Client, ClientBuilder, Locator};
use serde::Deserialize;
use serde_json::{Value, json};

/// A person's browser as the redirect sees it: headless Chromium names itself in its user
/// agent, and a bot's clicks are counted apart from people's.
const USER_AGENT: &str = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0.0.0 Safari/537.36";

fn required(name: &str, what: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| {
        panic!("{name} is not set: {what} (./scripts/test sets it up and runs every test)")
    })
}

/// One axe-core finding.
#[derive(Debug, Clone, Deserialize)]
pub struct Violation {
    pub id: String,
    pub impact: Option<String>,
    pub help: String,
    pub nodes: usize,
}

pub struct Browser {
    pub client: Client,
    axe: String,
    /// Where screenshots go: `target/screenshots/`, and `docs/images/` as well when
    /// `UPDATE_SCREENSHOTS` is set.
    shots: PathBuf,
    /// Every finding of every page checked so far, minor ones included: (page, finding).
    pub findings: std::sync::Mutex<Vec<(String, Violation)>>,
}

impl Browser {
    /// A new headless Chromium session.
    pub async fn open() -> Browser {
        let webdriver = required("UPLINE_TEST_WEBDRIVER", "the chromedriver URL");
        let axe_path = required("UPLINE_TEST_AXE", "the path of axe.min.js");
        let axe = std::fs::read_to_string(&axe_path)
            .unwrap_or_else(|e| panic!("cannot read {axe_path}: {e}"));
        let mut chrome = json!({
            "args": [
                "--headless=new",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-dev-shm-usage",
                "--hide-scrollbars",
                "--window-size=1280,900",
                format!("--user-agent={USER_AGENT}"),
            ]
        });
        if let Ok(binary) = std::env::var("UPLINE_TEST_CHROMIUM") {
            chrome["binary"] = Value::String(binary);
        }
        let target = std::env::var("CARGO_TARGET_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|_| PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../target")));
        let mut capabilities = serde_json::Map::new();
        capabilities.insert("browserName".into(), json!("chrome"));
        capabilities.insert("goog:chromeOptions".into(), chrome);
        let client = ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
            .capabilities(capabilities)
            .connect(&webdriver)
            .await
            .unwrap_or_else(|e| panic!("no browser session at {webdriver}: {e}"));
        let shots = target.join("screenshots");
        std::fs::create_dir_all(&shots).unwrap();
        Browser {
            client,
            axe,
            shots,
            findings: Default::default(),
        }
    }

    pub async fn goto(&self, url: &str) {
        self.client
            .goto(url)
            .await
            .unwrap_or_else(|e| panic!("{url}: {e}"));
    }

    pub async fn url(&self) -> String {
        self.client.current_url().await.unwrap().to_string()
    }

    pub async fn source(&self) -> String {
        self.client.source().await.unwrap()
    }

    /// The page's visible text.
    pub async fn text(&self) -> String {
        self.client
            .find(Locator::Css("body"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    }

    /// Types `text` into the field `css` finds, after clearing it.
    pub async fn fill(&self, css: &str, text: &str) {
        let field = self
            .client
            .find(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("no field {css}: {e}"));
        field.clear().await.unwrap();
        field.send_keys(text).await.unwrap();
    }

    pub async fn choose(&self, css: &str, value: &str) {
        self.client
            .find(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("no select {css}: {e}"))
            .select_by_value(value)
            .await
            .unwrap();
    }

    pub async fn click(&self, css: &str) {
        self.client
            .find(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("nothing to click at {css}: {e}"))
            .click()
            .await
            .unwrap();
    }

    /// Clicks the button `css` finds and waits for the page it loads: the page before it
    /// goes stale (a form always loads a new page, even at the same address), then the
    /// new one finishes loading.
    pub async fn submit(&self, css: &str) {
        let before = self.client.find(Locator::Css("html")).await.unwrap();
        self.click(css).await;
        self.wait_for_next_page(before, css).await;
    }

    /// Waits until the page `before` was goes stale and the next one finishes loading.
    async fn wait_for_next_page(&self, before: fantoccini::elements::Element, what: &str) {
        for _ in 0..200 {
            if before.tag_name().await.is_err() {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(25)).await;
        }
        for _ in 0..200 {
            let state = self
                .client
                .execute("return document.readyState;", vec![])
                .await
                .ok();
            if state.as_ref().and_then(Value::as_str) == Some("complete") {
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(25)).await;
        }
        panic!("the page after {what} did not load");
    }

    /// The file the link `css` finds downloads, fetched as the browser would fetch it:
    /// the link's own address, with the session's cookies (HttpOnly ones included, which
    /// WebDriver hands out). Headless Chromium keeps downloads to itself.
    pub async fn download(&self, css: &str) -> String {
        let href = self
            .client
            .find(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("no link {css}: {e}"))
            .prop("href")
            .await
            .unwrap()
            .expect("the link has an address");
        let cookies = self.client.get_all_cookies().await.unwrap();
        let header = cookies
            .iter()
            .map(|c| format!("{}={}", c.name(), c.value()))
            .collect::<Vec<_>>()
            .join("; ");
        crate::install_tls_provider();
        let response = reqwest::Client::new()
            .get(&href)
            .header("cookie", header)
            .send()
            .await
            .unwrap_or_else(|e| panic!("{href}: {e}"));
        assert!(
            response.status().is_success(),
            "{href}: {}",
            response.status()
        );
        let disposition = response
            .headers()
            .get("content-disposition")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string();
        assert!(
            disposition.starts_with("attachment"),
            "{href} is no download: {disposition:?}"
        );
        response.text().await.unwrap()
    }

    /// Posts a form the page does not offer (as someone editing the page would), with
    /// `fields`, and waits for the answer's page.
    pub async fn post_anyway(&self, action: &str, fields: &[(&str, &str)]) {
        let before = self.client.find(Locator::Css("html")).await.unwrap();
        let fields: Vec<Value> = fields.iter().map(|(k, v)| json!([k, v])).collect();
        self.client
            .execute(
                "const [action, fields] = arguments;
                 const form = document.createElement('form');
                 form.method = 'post'; form.action = action;
                 for (const [name, value] of fields) {
                   const input = document.createElement('input');
                   input.type = 'hidden'; input.name = name; input.value = value;
                   form.appendChild(input);
                 }
                 document.body.appendChild(form);
                 form.submit();",
                vec![json!(action), json!(fields)],
            )
            .await
            .unwrap();
        self.wait_for_next_page(before, action).await;
    }

    /// The `value` of the input `css` finds.
    pub async fn value(&self, css: &str) -> String {
        self.client
            .find(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("no field {css}: {e}"))
            .prop("value")
            .await
            .unwrap()
            .unwrap_or_default()
    }

    pub async fn has(&self, css: &str) -> bool {
        self.client.find(Locator::Css(css)).await.is_ok()
    }

    /// What axe-core finds on the page.
    pub async fn axe_findings(&self) -> Vec<Violation> {
        self.client.execute(&self.axe, vec![]).await.unwrap();
        let found = self
            .client
            .execute_async(
                "const done = arguments[arguments.length - 1];
                 axe.run(document, { resultTypes: ['violations'] })
                   .then(r => done(r.violations.map(v => ({
                       id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.length }))))
                   .catch(e => done([{ id: 'axe-error', impact: 'critical', help: String(e), nodes: 0 }]));",
                vec![],
            )
            .await
            .unwrap();
        serde_json::from_value(found).unwrap()
    }

    /// Runs axe-core on the page and fails on any serious or critical finding; every
    /// finding is kept in [`Browser::findings`] for the report.
    pub async fn check_accessibility(&self, page: &str) {
        let violations = self.axe_findings().await;
        let blocking: Vec<&Violation> = violations
            .iter()
            .filter(|v| matches!(v.impact.as_deref(), Some("serious" | "critical")))
            .collect();
        assert!(
            blocking.is_empty(),
            "{page}: axe-core finds {blocking:#?}\n{}",
            self.source().await
        );
        let mut all = self.findings.lock().unwrap();
        all.extend(violations.into_iter().map(|v| (page.to_string(), v)));
    }

    /// A full-page screenshot of the page at `width` CSS pixels, as `name-<width>.png`.
    pub async fn screenshot(&self, name: &str, width: u32) {
        self.client.set_window_size(width, 900).await.unwrap();
        let height = self
            .client
            .execute("return document.documentElement.scrollHeight;", vec![])
            .await
            .unwrap()
            .as_u64()
            .unwrap_or(900);
        let height = u32::try_from(height).unwrap_or(900).clamp(600, 4_000);
        self.client.set_window_size(width, height).await.unwrap();
        let png = self.client.screenshot().await.unwrap();
        let file = format!("{name}-{width}.png");
        std::fs::write(self.shots.join(&file), &png).unwrap();
        if std::env::var_os("UPDATE_SCREENSHOTS").is_some() {
            let docs = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/images"));
            std::fs::create_dir_all(&docs).unwrap();
            std::fs::write(docs.join(&file), &png).unwrap();
        }
        self.client.set_window_size(1280, 900).await.unwrap();
    }

    /// Whether the page fits a window `width` CSS pixels wide without scrolling sideways
    /// (wide tables and the chart scroll inside their own boxes): (page width, window
    /// width).
    pub async fn width_at(&self, width: u32) -> (u64, u64) {
        self.client.set_window_size(width, 900).await.unwrap();
        let widths = self
            .client
            .execute(
                "return [document.documentElement.scrollWidth, window.innerWidth];",
                vec![],
            )
            .await
            .unwrap();
        self.client.set_window_size(1280, 900).await.unwrap();
        let w = |i: usize| widths[i].as_u64().unwrap();
        (w(0), w(1))
    }

    /// Forgets every cookie, as a new visitor.
    pub async fn forget_cookies(&self) {
        self.client.delete_all_cookies().await.unwrap();
    }

    pub async fn close(self) {
        self.client.close().await.unwrap();
    }
}
