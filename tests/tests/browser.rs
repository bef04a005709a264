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
    // The console: the operator in this browser, the partner in a second session of
    // their own, on both backends.
    let partner = Browser::open().await;
    for (backend, screenshots) in [(TestBackend::Embedded, true), (TestBackend::Aws, false)] {
        browser.forget_cookies().await;
        partner.forget_cookies().await;
        console_scenario(&browser, &partner, backend, screenshots).await;
    }
    partner.close().await;
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

/// The portal sign-in link in a raw email (its text part may be quoted-printable).
fn sign_in_link(raw: &str) -> String {
    link_in(raw, "/portal/auth?token=")
}

/// The link to `path` in a raw email.
fn link_in(raw: &str, path: &str) -> String {
    let unfolded = raw
        .replace("=\r\n", "")
        .replace("=\n", "")
        .replace("=3D", "=");
    let at = unfolded.find(path).expect("a sign-in link");
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

/// An owner runs the program end to end in the console: signs in from the outbox link,
/// creates a campaign with a revenue share and two upline levels, previews a 100.00
/// sale, approves an applicant — who signs in to the portal in a second browser session
/// and follows their link — sees the click and the sale arrive, approves the conversion,
/// runs a payout, downloads the PayPal file and marks the payout paid, which the
/// partner's portal then shows. A manager finds no payout buttons and is refused when
/// posting anyway.
async fn console_scenario(b: &Browser, partner: &Browser, backend: TestBackend, screenshots: bool) {
    let h = TestHost::fresh(backend).await;
    let base = h.base.clone();
    let r = h
        .put_program(json!({"name": "Demo Outfitters", "currency": "USD", "hold_days": 30}))
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let secret = r.body["postback_secret"].as_str().unwrap().to_string();
    let r = h
        .admin(
            Method::PUT,
            "/v1/admin/operators/olive@example.com",
            Some(json!({"role": "owner"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    // Rita recruited Sam; Pat applies through Sam's referral code.
    let (_, _, rita_code) = h
        .approve_application(
            &json!({"email": "rita@example.com", "name": "Rita", "type": "affiliate"}),
        )
        .await;
    let (sam, _, sam_code) = h
        .approve_application(
            &json!({"email": "sam@example.com", "name": "Sam", "type": "affiliate",
            "referred_by": rita_code}),
        )
        .await;
    let r = h
        .apply(
            &json!({"email": "pat@example.com", "name": "Pat Partner", "type": "influencer",
            "referred_by": sam_code}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let pat = r.body["id"].as_str().unwrap().to_string();

    // The owner signs in with the emailed link.
    b.goto(&format!("{base}/console")).await;
    assert_eq!(b.url().await, format!("{base}/console/login"));
    b.check_accessibility("console login").await;
    b.fill("#email", "olive@example.com").await;
    b.submit("form[action='/console/login'] button[type=submit]")
        .await;
    assert!(b.text().await.contains("Check your email"));
    b.check_accessibility("console link sent").await;
    let names = h.wait_for_emails("console-sign-in").await;
    let link = link_in(&h.email(&names[0]).await, "/console/auth?token=");
    b.goto(&link).await;
    b.check_accessibility("console sign-in button").await;
    b.submit("form[action='/console/auth'] button[type=submit]")
        .await;
    assert_eq!(b.url().await, format!("{base}/console"));
    let text = b.text().await;
    assert!(text.contains("olive@example.com"), "{text}");
    b.check_accessibility("overview").await;

    // A campaign with a 10 % revenue share and two upline levels; a mistake first.
    b.goto(&format!("{base}/console/campaigns")).await;
    b.check_accessibility("campaigns").await;
    b.fill("#id", "summer").await;
    b.fill("#name", "Summer sale").await;
    b.fill("#destination_url", &format!("{base}/health")).await;
    b.fill("#revenue_share_percent", "ten").await;
    b.click("input[name=upline_mode][value=own]").await;
    b.fill("#upline_levels", "50, 25").await;
    b.submit("form[action='/console/campaigns'] button[type=submit]")
        .await;
    assert!(
        b.has("#revenue_share_percent-error").await,
        "{}",
        b.source().await
    );
    assert_eq!(b.value("#name").await, "Summer sale", "input kept");
    b.check_accessibility("campaigns, with an error").await;
    b.fill("#revenue_share_percent", "10").await;
    b.submit("form[action='/console/campaigns'] button[type=submit]")
        .await;
    assert_eq!(
        b.url().await,
        format!("{base}/console/campaigns/summer?saved=1")
    );
    assert!(b.text().await.contains("The campaign is saved."));
    // What a 100.00 sale by Sam would pay: his 10.00 and Rita's half of it.
    b.choose("#preview-partner", &sam).await;
    b.fill("#preview-amount", "100.00").await;
    b.submit("form[action='/console/campaigns/summer#preview-heading'] button[type=submit]")
        .await;
    let text = b.text().await;
    assert!(text.contains("with nothing stored"), "{text}");
    assert!(
        text.contains("10.00 USD") && text.contains("5.00 USD"),
        "{text}"
    );
    b.check_accessibility("campaign with a preview").await;
    if screenshots {
        // The page itself, from its top (the form's answer scrolled to the preview).
        let url = b.url().await;
        b.goto(url.split('#').next().unwrap()).await;
        for width in [1280, 390] {
            b.screenshot("console-campaign-preview", width).await;
        }
    }

    // The applicant, with the recruiter, approved from the queue.
    b.goto(&format!("{base}/console/applications")).await;
    assert!(b.text().await.contains("Pat Partner"));
    b.check_accessibility("applications").await;
    if screenshots {
        b.screenshot("console-applications", 1280).await;
    }
    b.submit(&format!("button[value='approve:{pat}']")).await;
    assert!(
        b.text().await.contains("Approved: Pat Partner."),
        "{}",
        b.text().await
    );

    // Pat signs in to the portal in a browser of their own, follows their link and
    // says how to be paid.
    partner.goto(&format!("{base}/portal/login")).await;
    partner.fill("#email", "pat@example.com").await;
    partner
        .submit("form[action='/portal/login'] button[type=submit]")
        .await;
    let names = h.wait_for_emails("sign-in").await;
    partner.goto(&sign_in_link(&h.email(&names[0]).await)).await;
    partner
        .submit("form[action='/portal/auth'] button[type=submit]")
        .await;
    assert_eq!(partner.url().await, format!("{base}/portal"));
    partner.goto(&format!("{base}/portal/links")).await;
    let source = partner.source().await;
    let at = source.find("id=\"link-").expect("a link on the page");
    let code = &source[at + 9..];
    let code = code[..code.find('"').unwrap()].to_string();
    let link_url = partner.value(&format!("#link-{code}-url")).await;
    partner.goto(&link_url).await;
    let landed = partner.url().await;
    let click_id = landed
        .split("click_id=")
        .nth(1)
        .expect("a click id")
        .to_string();
    partner.goto(&format!("{base}/portal/payouts")).await;
    partner.click("input[name=method][value=paypal]").await;
    partner.fill("#email", "pat-pays@example.com").await;
    partner
        .submit("form[action='/portal/payout-details'] button[type=submit]")
        .await;
    assert!(
        partner
            .text()
            .await
            .contains("Your payout details are saved.")
    );

    // The storefront reports the sale; the overview shows the click and the conversion.
    let r = h
        .postback(
            &secret,
            &json!({"click_id": click_id, "order_id": "order-501",
            "amount": "100.00", "currency": "USD"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let conversion_id = r.body["conversion_id"].as_str().unwrap().to_string();
    h.wait_for_line_count(&conversion_id, 3).await;
    eventually("the overview's figures", || async {
        b.goto(&format!("{base}/console?days=7")).await;
        let text = b.text().await;
        (text.contains("Clicks\n1") && text.contains("Conversions\n1")).then_some(())
    })
    .await;
    assert!(b.has("svg.chart").await);
    b.check_accessibility("overview with figures").await;
    if screenshots {
        for width in [1280, 390] {
            b.screenshot("console-overview", width).await;
        }
    }

    // The conversion, approved before its hold ends.
    b.goto(&format!("{base}/console/conversions")).await;
    b.check_accessibility("conversions").await;
    b.click(&format!("a[href='/console/conversions/{conversion_id}']"))
        .await;
    let text = b.text().await;
    assert!(
        text.contains("order-501") && text.contains("Pat Partner"),
        "{text}"
    );
    b.check_accessibility("conversion").await;
    if screenshots {
        b.screenshot("console-conversion", 1280).await;
    }
    b.submit("form input[value=approve] ~ button").await;
    assert!(
        b.text().await.contains("Approved: 3 line(s)"),
        "{}",
        b.text().await
    );

    // Pat's page in the console, with the recruiter and the lines.
    b.goto(&format!("{base}/console/partners/{pat}")).await;
    let text = b.text().await;
    assert!(text.contains("Recruited by: Sam"), "{text}");
    b.check_accessibility("partner").await;
    if screenshots {
        for width in [1280, 390] {
            b.screenshot("console-partner", width).await;
        }
    }

    // The payout run, its PayPal file, and the payout marked paid.
    let today = b
        .client
        .execute("return new Date().toISOString().slice(0, 10);", vec![])
        .await
        .unwrap();
    b.goto(&format!("{base}/console/payouts")).await;
    b.check_accessibility("payouts").await;
    b.fill("#period", today.as_str().unwrap()).await;
    b.submit("form[action='/console/payouts'] button[type=submit]")
        .await;
    assert!(
        b.url().await.contains("/console/payouts/runs/"),
        "{}",
        b.url().await
    );
    let text = b.text().await;
    assert!(
        text.contains("Pat Partner") && text.contains("paypal: pat-pays@example.com"),
        "{text}"
    );
    b.check_accessibility("payout run").await;
    let file = b.download("a[href*='format=paypal']").await;
    assert!(file.contains("pat-pays@example.com,10.00,USD"), "{file}");
    if screenshots {
        for width in [1280, 390] {
            b.screenshot("console-payout-run", width).await;
        }
    }
    b.fill(&format!("#ref-{pat}"), "PP-7781").await;
    b.submit(&format!("#paid-{pat} button")).await;
    assert!(
        b.text()
            .await
            .contains("The payout to Pat Partner is paid."),
        "{}",
        b.text().await
    );
    partner.goto(&format!("{base}/portal/payouts")).await;
    assert!(
        partner.source().await.contains("status-paid"),
        "{}",
        partner.text().await
    );

    // A manager: no payout buttons, and a post made anyway is refused.
    b.goto(&format!("{base}/console/settings/operators")).await;
    b.check_accessibility("operators").await;
    b.fill("#new-email", "max@example.com").await;
    b.choose("#new-role", "manager").await;
    b.submit("form[action='/console/settings/operators'] button.primary")
        .await;
    assert!(
        b.text()
            .await
            .contains("max@example.com is added as manager.")
    );
    for (page, path) in [
        ("reports", "/console/reports?group_by=partner"),
        ("settings", "/console/settings"),
        ("emails", "/console/settings/emails"),
        ("email", "/console/settings/emails/welcome"),
        ("audit", "/console/audit"),
        ("partners", "/console/partners"),
    ] {
        b.goto(&format!("{base}{path}")).await;
        b.check_accessibility(page).await;
        if screenshots && matches!(page, "reports" | "settings" | "audit") {
            b.screenshot(&format!("console-{page}"), 1280).await;
        }
    }
    if screenshots {
        for path in [
            "/console?days=90",
            "/console/partners",
            "/console/conversions",
            "/console/payouts",
            "/console/reports",
            "/console/settings",
        ] {
            b.goto(&format!("{base}{path}")).await;
            let (page, window) = b.width_at(360).await;
            assert!(
                page <= window,
                "{path} is {page} px wide in a {window} px window"
            );
        }
    }
    b.submit("header form[action='/console/logout'] button")
        .await;
    assert!(b.text().await.contains("You are signed out."));
    b.fill("#email", "max@example.com").await;
    b.submit("form[action='/console/login'] button[type=submit]")
        .await;
    // The manager's link: the second console email, once it is there.
    let raw = eventually("the manager's sign-in email", || async {
        for name in h.emails("console-sign-in").await {
            let raw = h.email(&name).await;
            if raw.contains("max@example.com") {
                return Some(raw);
            }
        }
        None
    })
    .await;
    let raw = &raw;
    b.goto(&link_in(raw, "/console/auth?token=")).await;
    b.submit("form[action='/console/auth'] button[type=submit]")
        .await;
    b.goto(&format!("{base}/console/payouts")).await;
    assert!(
        !b.has("form[action='/console/payouts']").await,
        "no run button for a manager"
    );
    let csrf = b.value("input[name=csrf]").await;
    b.post_anyway(
        "/console/payouts",
        &[("csrf", &csrf), ("period", today.as_str().unwrap())],
    )
    .await;
    assert!(
        b.text().await.contains("Your role does not allow this"),
        "{}",
        b.text().await
    );
    b.check_accessibility("refused").await;
    h.host.stop().await;
}
