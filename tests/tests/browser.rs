//! The partner portal in a real browser: headless Chromium, driven through WebDriver
//! against the local host on a random loopback port, on the embedded store and then on
//! the AWS adapters (moto), in one browser session. A partner applies (first with a
//! required field missing), is approved, signs in with the link from their email,
//! follows their link, and sees the sale a postback reports — the click, the conversion
//! and the commission with its explanation — on the dashboard and the commissions page;
//! sets payout details (a bad IBAN first), signs out and finds the pages closed.
//! axe-core checks every page; the dashboard, links and commissions pages are saved as
//! screenshots at 1280 and 390 pixels (`target/screenshots/`; `docs/images/` with
//! `UPDATE_SCREENSHOTS=1`).

use reqwest::{Method, StatusCode};
use serde_json::json;
use upline_tests::browser::Browser;
use upline_tests::host::{TestBackend, TestHost, eventually};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_partner_works_the_portal_in_a_real_browser_on_both_backends() {
    let browser = Browser::open().await;
    // The checker itself finds what it must: an image without a text alternative.
    browser
        .goto("data:text/html,<!doctype html><html lang=en><title>t</title><img src=x.png>")
        .await;
    let found = browser.axe_findings().await;
    assert!(found.iter().any(|v| v.id == "image-alt"), "{found:?}");
    scenario(&browser, TestBackend::Embedded, true).await;
    browser.forget_cookies().await;
    scenario(&browser, TestBackend::Aws, false).await;
    let findings = browser.findings.lock().unwrap().clone();
    eprintln!(
        "axe-core: {} findings below serious on the pages checked: {:?}",
        findings.len(),
        findings
            .iter()
            .map(|(page, v)| format!("{page}: {} ({:?}, {} nodes)", v.id, v.impact, v.nodes))
            .collect::<Vec<_>>()
    );
    browser.close().await;
}

/// The sign-in link in a raw email (its text part may be quoted-printable).
fn sign_in_link(raw: &str) -> String {
    let unfolded = raw
        .replace("=\r\n", "")
        .replace("=\n", "")
        .replace("=3D", "=");
    let at = unfolded
        .find("/portal/auth?token=")
        .expect("a sign-in link");
    let start = unfolded[..at].rfind("http").unwrap();
    unfolded[start..]
        .split(|c: char| c.is_whitespace() || c == '"' || c == '<')
        .next()
        .unwrap()
        .to_string()
}

async fn scenario(b: &Browser, backend: TestBackend, screenshots: bool) {
    let h = TestHost::fresh(backend).await;
    let base = h.base.clone();
    let r = h
        .put_program(
            json!({"name": "Demo Outfitters", "currency": "USD", "hold_days": 30,
            "signup": {"form": [
                {"name": "website", "label": "Your website", "type": "url", "required": true}
            ]}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let secret = r.body["postback_secret"].as_str().unwrap().to_string();
    // The campaign lands on a page of the host itself: the browser has no other web.
    let r = h
        .put_campaign(
            "spring",
            json!({"name": "Spring sale", "destination_url": format!("{base}/health"),
                "terms": {"revenue_share_percent": "10"}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);

    // Apply, forgetting the required website first.
    b.goto(&format!("{base}/portal/join")).await;
    b.check_accessibility("join").await;
    b.fill("#email", "pat@example.com").await;
    b.fill("#name", "Pat Partner").await;
    b.choose("#type", "influencer").await;
    b.submit("form[action='/portal/join'] button[type=submit]")
        .await;
    assert!(b.has("#fields-website-error").await, "{}", b.source().await);
    assert_eq!(b.value("#email").await, "pat@example.com", "input kept");
    b.check_accessibility("join, with an error").await;
    b.fill("#field-website", "https://pat.example").await;
    b.submit("form[action='/portal/join'] button[type=submit]")
        .await;
    assert!(b.text().await.contains("Thank you for applying"));

    // The operator approves through the admin API.
    let r = h.admin(Method::GET, "/v1/admin/partners", None).await;
    let partner_id = r.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["email"] == "pat@example.com")
        .map(|p| p["id"].as_str().unwrap().to_string())
        .expect("the application");
    assert_eq!(h.approve(&partner_id).await.status, StatusCode::OK);

    // Sign in with the link from the email.
    b.goto(&format!("{base}/portal/login")).await;
    b.check_accessibility("login").await;
    b.fill("#email", "pat@example.com").await;
    b.submit("form[action='/portal/login'] button[type=submit]")
        .await;
    assert!(b.text().await.contains("Check your email"));
    b.check_accessibility("link sent").await;
    let names = h.wait_for_emails("sign-in").await;
    let link = sign_in_link(&h.email(&names[0]).await);
    assert!(
        link.starts_with(&format!("{base}/portal/auth?token=")),
        "{link}"
    );
    b.goto(&link).await;
    b.check_accessibility("sign-in button").await;
    b.submit("form[action='/portal/auth'] button[type=submit]")
        .await;
    assert_eq!(b.url().await, format!("{base}/portal"));
    assert!(b.text().await.contains("Hello, Pat Partner"));

    // Follow the partner's own link, as a visitor would.
    b.goto(&format!("{base}/portal/links")).await;
    b.check_accessibility("links").await;
    let source = b.source().await;
    let at = source.find("id=\"link-").expect("a link on the page");
    let code = &source[at + 9..];
    let code = code[..code.find('"').unwrap()].to_string();
    let link_url = b.value(&format!("#link-{code}-url")).await;
    b.goto(&link_url).await;
    let landed = b.url().await;
    assert!(
        landed.starts_with(&format!("{base}/health?click_id=")),
        "{landed}"
    );
    let click_id = landed.split("click_id=").nth(1).unwrap().to_string();

    // The storefront reports the sale.
    let r = h
        .postback(
            &secret,
            &json!({"click_id": click_id, "order_id": "order-77", "amount": "100.00", "currency": "USD"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let conversion_id = r.body["conversion_id"].as_str().unwrap().to_string();
    h.wait_for_lines(&conversion_id).await;

    // The dashboard shows the click, the conversion and the commission.
    eventually("the dashboard's figures", || async {
        b.goto(&format!("{base}/portal?days=7")).await;
        let text = b.text().await;
        (text.contains("Clicks\n1")
            && text.contains("Conversions\n1")
            && text.contains("10.00 USD"))
        .then_some(())
    })
    .await;
    assert!(b.has("svg.chart").await, "the chart");
    b.check_accessibility("dashboard").await;

    // The commissions page explains the amount.
    b.goto(&format!("{base}/portal/commissions")).await;
    let text = b.text().await;
    assert!(text.contains("order-77"), "{text}");
    assert!(text.contains("10.00 USD"));
    assert!(
        text.contains("of the 100.00 USD sale") || text.contains("10%"),
        "{text}"
    );
    b.check_accessibility("commissions").await;

    if screenshots {
        // On the narrowest phones, no page scrolls sideways.
        for path in [
            "/portal?days=90",
            "/portal/links",
            "/portal/commissions",
            "/portal/payouts",
            "/portal/team",
            "/portal/settings",
        ] {
            b.goto(&format!("{base}{path}")).await;
            let (page, window) = b.width_at(360).await;
            assert!(
                page <= window,
                "{path} is {page} px wide in a {window} px window"
            );
        }
        for (page, path) in [
            ("portal-dashboard", "/portal?days=7"),
            ("portal-links", "/portal/links"),
            ("portal-commissions", "/portal/commissions"),
        ] {
            b.goto(&format!("{base}{path}")).await;
            for width in [1280, 390] {
                b.screenshot(page, width).await;
            }
        }
    }

    // Payout details: a bad IBAN is named, a good one saved.
    b.goto(&format!("{base}/portal/payouts")).await;
    b.check_accessibility("payouts").await;
    b.click("input[name=method][value=bank_transfer]").await;
    b.fill("#account_holder", "Pat Partner").await;
    b.fill("#iban", "DE89370400440532013001").await;
    b.submit("form[action='/portal/payout-details'] button[type=submit]")
        .await;
    assert!(b.has("#iban-error").await, "{}", b.source().await);
    assert_eq!(
        b.value("#iban").await,
        "DE89370400440532013001",
        "input kept"
    );
    b.check_accessibility("payouts, with an error").await;
    b.fill("#iban", "DE89 3704 0044 0532 0130 00").await;
    b.submit("form[action='/portal/payout-details'] button[type=submit]")
        .await;
    assert!(b.text().await.contains("Your payout details are saved."));

    for (page, path) in [("team", "/portal/team"), ("settings", "/portal/settings")] {
        b.goto(&format!("{base}{path}")).await;
        b.check_accessibility(page).await;
    }

    // Sign out: the pages are closed.
    b.submit("header form[action='/portal/logout'] button")
        .await;
    assert!(b.text().await.contains("You are signed out."));
    b.goto(&format!("{base}/portal/commissions")).await;
    assert_eq!(b.url().await, format!("{base}/portal/login"));
    h.host.stop().await;
}
