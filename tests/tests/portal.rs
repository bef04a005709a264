//! The partner portal's pages through the portal function's router, in process, on a
//! manual clock: sign-in by emailed link (single use, expiry, the same answer for every
//! email, the rate limits, GET never spending a token), sessions (cookie attributes,
//! expiry, sign-out), CSRF and same-origin checks on posted forms, the page a partner who
//! is not approved sees, and the dashboard's figures. Every table and queue call is held
//! to the `PortalFunction` policy in `template.yaml`.

use std::sync::Arc;

use axum::http::{Method, StatusCode};
use upline_domain::services::Services;
use upline_domain::usecases::sign_in::{LINK_VALID_SECS, SESSION_VALID_SECS, issue_link};
use upline_tests::pages::{Page, Pages, deliver_queued, policed};
use upline_tests::policy::Policy;
use upline_tests::samples::{CLICK_SECRET_BYTE, NOW, commission_sample, seed};
use upline_tests::world::EmbeddedWorld;

const BASE: &str = "https://go.example.com";

struct Portal {
    world: EmbeddedWorld,
    pages: Pages,
    policy: Arc<Policy>,
}

async fn portal() -> Portal {
    let world = EmbeddedWorld::open(NOW, CLICK_SECRET_BYTE, BASE);
    seed(&world.services).await;
    let (services, policy) = policed(&world.services, "PortalFunction");
    Portal {
        pages: Pages {
            router: upline_portal::router(services),
            base: BASE.into(),
            cookie_name: upline_portal::COOKIE,
        },
        world,
        policy,
    }
}

/// The portal's session cookie in an answer.
trait SessionCookie {
    fn session_cookie(&self) -> Option<String>;
}

impl SessionCookie for Page {
    fn session_cookie(&self) -> Option<String> {
        self.cookie(upline_portal::COOKIE)
    }
}

impl Portal {
    fn services(&self) -> &Services {
        &self.world.services
    }

    async fn send(
        &self,
        method: Method,
        path: &str,
        cookie: Option<&str>,
        form: Option<String>,
        headers: &[(&str, &str)],
    ) -> Page {
        self.pages.send(method, path, cookie, form, headers).await
    }

    async fn get(&self, path: &str, cookie: Option<&str>) -> Page {
        self.pages.get(path, cookie).await
    }

    async fn post(&self, path: &str, cookie: Option<&str>, form: &str) -> Page {
        self.pages.post(path, cookie, form).await
    }

    /// Asks for a sign-in link for `email` from `client`.
    async fn ask_for_link(&self, email: &str, client: &str) -> Page {
        self.send(
            Method::POST,
            "/portal/login",
            None,
            Some(format!("email={}", email.replace('@', "%40"))),
            &[("x-forwarded-for", client)],
        )
        .await
    }

    /// Signs `partner` in with a fresh link; returns the session cookie's value.
    async fn signed_in(&self, partner: &str) -> String {
        let (token, _) = issue_link(self.services(), &partner.into(), LINK_VALID_SECS)
            .await
            .unwrap();
        let page = self
            .post("/portal/auth", None, &format!("token={}", token.expose()))
            .await;
        assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.text);
        page.session_cookie().expect("a session cookie")
    }

    /// The sign-in emails queued so far, delivered through the email stage: (to, text).
    async fn delivered_sign_in_emails(&self) -> Vec<(String, String)> {
        deliver_queued(&self.world, BASE, "sign_in_link").await
    }

    fn assert_policy_kept(&self) {
        assert_eq!(self.policy.violations(), Vec::<String>::new());
    }
}

/// The sign-in link in an email's text.
fn link_in(text: &str) -> String {
    let at = text
        .find(&format!("{BASE}/portal/auth?token="))
        .expect("a sign-in link");
    text[at..].split_whitespace().next().unwrap().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_emailed_link_signs_an_approved_partner_in_once() {
    let p = portal().await;
    // Signed out, the dashboard sends you to the login page.
    let page = p.get("/portal", None).await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
    assert_eq!(page.location(), "/portal/login");
    let page = p.get("/portal/login", None).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.text.contains("Email me a sign-in link"));
    // The same answer for an approved partner, a pending one and a stranger.
    let mut answers = Vec::new();
    for email in [
        "p-ada@example.com",
        "p-dan@example.com",
        "nobody@example.com",
    ] {
        let page = p.ask_for_link(email, "203.0.113.9").await;
        assert_eq!(page.status, StatusCode::OK, "{email}");
        answers.push(page.text.replace(email, "EMAIL"));
    }
    assert!(answers.iter().all(|a| a == &answers[0]), "{answers:?}");
    assert!(answers[0].contains("Check your email"));
    // Only the approved partner gets an email.
    let emails = p.delivered_sign_in_emails().await;
    assert_eq!(emails.len(), 1, "{emails:?}");
    assert_eq!(emails[0].0, "p-ada@example.com");
    assert!(emails[0].1.contains("within 15 minutes"));
    let link = link_in(&emails[0].1);
    let path = link.strip_prefix(BASE).unwrap();
    // Opening the link (a person, or a mail scanner) only shows a button.
    for _ in 0..3 {
        let page = p.get(path, None).await;
        assert_eq!(page.status, StatusCode::OK);
        assert!(
            page.text
                .contains("<button class=\"primary\" type=\"submit\">Sign in")
        );
    }
    let token = path.split("token=").nth(1).unwrap();
    let page = p
        .post("/portal/auth", None, &format!("token={token}"))
        .await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
    assert_eq!(page.location(), "/portal");
    let set = page.headers["set-cookie"].to_str().unwrap();
    for attribute in ["HttpOnly", "Secure", "SameSite=Lax", "Path=/"] {
        assert!(set.contains(attribute), "{attribute} missing from {set}");
    }
    let cookie = page.session_cookie().unwrap();
    let dashboard = p.get("/portal", Some(&cookie)).await;
    assert_eq!(dashboard.status, StatusCode::OK);
    assert!(dashboard.text.contains("Hello, ada"));
    // The session id is kept only as its hash.
    let hash = upline_domain::ids::hash_api_key(&cookie);
    let item = p
        .world
        .services
        .store
        .table()
        .get(&upline_domain::store::keys::session(&hash))
        .await
        .unwrap();
    assert!(item.is_some(), "the session is stored under its hash");
    assert!(!format!("{item:?}").contains(&cookie));
    // The link worked once.
    let again = p
        .post("/portal/auth", None, &format!("token={token}"))
        .await;
    assert_eq!(again.status, StatusCode::UNAUTHORIZED);
    assert!(again.text.contains("already used"));
    assert!(again.session_cookie().is_none());
    p.assert_policy_kept();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_link_expires_after_fifteen_minutes_and_a_session_after_its_days() {
    let p = portal().await;
    let services = p.services();
    let (late, _) = issue_link(services, &"p-ada".into(), LINK_VALID_SECS)
        .await
        .unwrap();
    let (in_time, _) = issue_link(services, &"p-ada".into(), LINK_VALID_SECS)
        .await
        .unwrap();
    p.world.clock.advance_secs(LINK_VALID_SECS - 1);
    let page = p
        .post("/portal/auth", None, &format!("token={}", in_time.expose()))
        .await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "a second before expiry");
    let cookie = page.session_cookie().unwrap();
    p.world.clock.advance_secs(1);
    let page = p
        .post("/portal/auth", None, &format!("token={}", late.expose()))
        .await;
    assert_eq!(page.status, StatusCode::UNAUTHORIZED);
    assert!(page.text.contains("expired"), "{}", page.text);
    assert!(page.session_cookie().is_none());
    // The session lasts its days, then opens nothing.
    p.world.clock.advance_secs(SESSION_VALID_SECS - 2);
    assert_eq!(p.get("/portal", Some(&cookie)).await.status, StatusCode::OK);
    p.world.clock.advance_secs(1);
    let page = p.get("/portal", Some(&cookie)).await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
    assert_eq!(page.location(), "/portal/login");
    p.assert_policy_kept();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn asking_for_links_is_limited_per_email_and_per_address() {
    let p = portal().await;
    // Five an hour for one email from one address.
    for i in 0..5 {
        let page = p.ask_for_link("p-ada@example.com", "198.51.100.1").await;
        assert_eq!(page.status, StatusCode::OK, "request {i}");
    }
    let page = p.ask_for_link("p-ada@example.com", "198.51.100.1").await;
    assert_eq!(page.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(page.headers.contains_key("retry-after"));
    assert_eq!(p.delivered_sign_in_emails().await.len(), 5);
    // Somebody else asking for Ada's links elsewhere does not lock her out of hers…
    let page = p.ask_for_link("p-ada@example.com", "198.51.100.2").await;
    assert_eq!(page.status, StatusCode::OK);
    // …until thirty have been asked for in the hour, from anywhere.
    for i in 3..27 {
        let page = p
            .ask_for_link("p-ada@example.com", &format!("198.51.100.{i}"))
            .await;
        assert_eq!(page.status, StatusCode::OK, "request from .{i}");
    }
    let page = p.ask_for_link("p-ada@example.com", "198.51.100.99").await;
    assert_eq!(page.status, StatusCode::TOO_MANY_REQUESTS, "the 31st");
    // Twenty an hour from one address, whatever the emails; unknown ones count too.
    for i in 0..20 {
        let page = p
            .ask_for_link(&format!("someone{i}@example.com"), "192.0.2.1")
            .await;
        assert_eq!(page.status, StatusCode::OK, "request {i}");
    }
    let page = p.ask_for_link("p-bo@example.com", "192.0.2.1").await;
    assert_eq!(page.status, StatusCode::TOO_MANY_REQUESTS);
    // The next hour starts afresh.
    p.world.clock.advance_secs(3600);
    let page = p.ask_for_link("p-ada@example.com", "192.0.2.1").await;
    assert_eq!(page.status, StatusCode::OK);
    // A form that says nothing of where it comes from is refused: it is not a browser's.
    let page = p
        .send(
            Method::POST,
            "/portal/login",
            None,
            Some("email=p-ada%40example.com".into()),
            &[("sec-fetch-site", "cross-site")],
        )
        .await;
    assert_eq!(page.status, StatusCode::FORBIDDEN);
    let bare = axum::http::Request::post("/portal/login")
        .header("content-type", "application/x-www-form-urlencoded")
        .body(axum::body::Body::from("email=p-ada%40example.com"))
        .unwrap();
    let bare = tower::ServiceExt::oneshot(p.pages.router.clone(), bare)
        .await
        .unwrap();
    assert_eq!(bare.status(), StatusCode::FORBIDDEN);
    // A malformed address is named, and the input is kept.
    let page = p.ask_for_link("not-an-address", "192.0.2.2").await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.text.contains("value=\"not-an-address\""));
    assert!(page.text.contains("aria-invalid=\"true\""));
    p.assert_policy_kept();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signing_out_needs_the_sessions_csrf_token_and_then_closes_the_pages() {
    let p = portal().await;
    let ada = p.signed_in("p-ada").await;
    let bo = p.signed_in("p-bo").await;
    let page = p.get("/portal", Some(&ada)).await;
    let csrf = page.csrf();
    let bos_csrf = p.get("/portal", Some(&bo)).await.csrf();
    assert_ne!(csrf, bos_csrf, "each session has its own token");
    for (case, form, headers) in [
        ("no token", String::new(), vec![]),
        (
            "another session's token",
            format!("csrf={bos_csrf}"),
            vec![],
        ),
        (
            "the right token from another site",
            format!("csrf={csrf}"),
            vec![("origin", "https://evil.example")],
        ),
        (
            "the right token, cross-site fetch",
            format!("csrf={csrf}"),
            vec![("sec-fetch-site", "cross-site")],
        ),
    ] {
        let page = p
            .send(
                Method::POST,
                "/portal/logout",
                Some(&ada),
                Some(form),
                &headers,
            )
            .await;
        assert_eq!(page.status, StatusCode::FORBIDDEN, "{case}");
        assert_eq!(
            p.get("/portal", Some(&ada)).await.status,
            StatusCode::OK,
            "{case}: still signed in"
        );
    }
    let page = p
        .send(
            Method::POST,
            "/portal/logout",
            Some(&ada),
            Some(format!("csrf={csrf}")),
            &[("origin", BASE), ("sec-fetch-site", "same-origin")],
        )
        .await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
    assert_eq!(page.location(), "/portal/login?signed_out=1");
    assert!(
        page.headers["set-cookie"]
            .to_str()
            .unwrap()
            .contains("Max-Age=0")
    );
    let page = p.get("/portal", Some(&ada)).await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "the session is revoked");
    assert_eq!(
        p.get("/portal", Some(&bo)).await.status,
        StatusCode::OK,
        "other sessions stay open"
    );
    let page = p.get("/portal/login?signed_out=1", None).await;
    assert!(page.text.contains("You are signed out."));
    // A made-up cookie opens nothing either.
    let page = p.get("/portal", Some("NOTASESSION")).await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
    p.assert_policy_kept();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_partner_who_is_not_approved_sees_why_instead_of_data() {
    let p = portal().await;
    let cookie = p.signed_in("p-ada").await;
    upline_domain::usecases::partner_lifecycle::suspend(
        p.services(),
        &"p-ada".into(),
        "Paid search on our brand name".into(),
        "t",
    )
    .await
    .unwrap();
    let page = p.get("/portal", Some(&cookie)).await;
    assert_eq!(page.status, StatusCode::FORBIDDEN);
    assert!(page.text.contains("Your partnership is suspended"));
    assert!(page.text.contains("Paid search on our brand name"));
    assert!(!page.text.contains("Commission earned"), "no data shown");
    // Signing out still works.
    let csrf = page.csrf();
    let page = p
        .post("/portal/logout", Some(&cookie), &format!("csrf={csrf}"))
        .await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
    p.assert_policy_kept();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dashboard_shows_the_partners_own_figures() {
    let p = portal().await;
    // The sample conversion pays 10.00 to Ada, 5.00 to Bo and 2.50 to Cleo.
    commission_sample(p.services()).await;
    let ada = p.signed_in("p-ada").await;
    let page = p.get("/portal?days=7", Some(&ada)).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.text.contains("aria-current=\"true\">7 days"));
    let stat = |name: &str| {
        let at = page
            .text
            .find(&format!("<dt>{name}</dt><dd>"))
            .unwrap_or_else(|| panic!("no {name} in {}", page.text));
        let rest = &page.text[at + name.len() + 13..];
        rest[..rest.find("</dd>").unwrap()].to_string()
    };
    assert_eq!(stat("Conversions"), "1");
    assert_eq!(stat("Commission earned"), "10.00 USD");
    assert_eq!(stat("Pending (in hold)"), "10.00 USD");
    assert_eq!(stat("Paid out"), "0.00 USD");
    // Bo sees his own share, not Ada's.
    let bo = p.signed_in("p-bo").await;
    let page = p.get("/portal?days=7", Some(&bo)).await;
    assert!(
        page.text
            .contains("<dt>Commission earned</dt><dd>5.00 USD</dd>"),
        "{}",
        page.text
    );
    // Earnings by state count the lines earned in the period: Bo's line from 5 days ago
    // and his share of the sample sale in 30 days; his line from 40 days ago only in 90.
    let pending = |text: &str| {
        let at = text.find("<dt>Pending (in hold)</dt><dd>").unwrap();
        let rest = &text[at + 30..];
        rest[..rest.find("</dd>").unwrap()].to_string()
    };
    let page = p.get("/portal?days=30", Some(&bo)).await;
    assert_eq!(pending(&page.text), "15.00 USD");
    let page = p.get("/portal?days=90", Some(&bo)).await;
    assert_eq!(pending(&page.text), "25.00 USD");
    // An unknown period shows the default 30 days.
    let page = p.get("/portal?days=12", Some(&bo)).await;
    assert!(page.text.contains("aria-current=\"true\">30 days"));
    p.assert_policy_kept();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_links_page_shows_builds_and_takes_links_of_the_partner_only() {
    let p = portal().await;
    upline_tests::world::put_campaign(
        p.services(),
        "autumn",
        serde_json::json!({"name": "Autumn", "destination_url": "https://shop.example.com/autumn"}),
    )
    .await;
    let ada = p.signed_in("p-ada").await;
    let page = p.get("/portal/links", Some(&ada)).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.decoded()
            .contains("value=\"https://go.example.com/r/spring01\"")
    );
    assert!(page.text.contains("src=\"/portal/links/spring01/qr.svg\""));
    assert!(
        page.text
            .contains("<option value=\"autumn\">Autumn</option>")
    );
    // A deep link with sub-ids, built by the redirect's own rules.
    let page = p
        .get(
            "/portal/links?code=spring01&url=https%3A%2F%2Fshop.example.com%2Fboots%3Fsize%3D42&sub1=fb&sub2=",
            Some(&ada),
        )
        .await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.text);
    let built = "https://go.example.com/r/spring01?url=https%3A%2F%2Fshop.example.com%2Fboots%3Fsize%3D42&sub1=fb\"";
    assert!(page.decoded().contains(built), "{}", page.text);
    // A host the campaign does not allow is named, and what was typed is kept.
    let page = p
        .get(
            "/portal/links?code=spring01&url=https%3A%2F%2Fevil.example%2F&sub1=fb",
            Some(&ada),
        )
        .await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        page.text
            .contains("must be an http or https address on shop.example.com")
    );
    assert!(page.decoded().contains("value=\"https://evil.example/\""));
    assert!(!page.text.contains("Your link to share"));
    // The QR code of the link, as SVG; nobody else's.
    let qr = p.get("/portal/links/spring01/qr.svg", Some(&ada)).await;
    assert_eq!(qr.status, StatusCode::OK);
    assert_eq!(qr.headers["content-type"], "image/svg+xml");
    assert!(qr.text.contains("<svg"));
    let bo = p.signed_in("p-bo").await;
    assert_eq!(
        p.get("/portal/links/spring01/qr.svg", Some(&bo))
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        p.get("/portal/links?code=spring01", Some(&bo)).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        p.get("/portal/links/spring01/qr.svg", None).await.status,
        StatusCode::SEE_OTHER,
        "signed out"
    );
    // Taking a link on another campaign: CSRF first, then the campaign must be one offered.
    let csrf = p.get("/portal/links", Some(&ada)).await.csrf();
    let page = p
        .post("/portal/links", Some(&ada), "campaign_id=autumn")
        .await;
    assert_eq!(page.status, StatusCode::FORBIDDEN);
    let page = p
        .post(
            "/portal/links",
            Some(&ada),
            &format!("csrf={csrf}&campaign_id=winter"),
        )
        .await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.text.contains("Choose one of the campaigns"));
    assert_eq!(
        p.services()
            .store
            .links_of(&"p-ada".into())
            .await
            .unwrap()
            .len(),
        1
    );
    let page = p
        .post(
            "/portal/links",
            Some(&ada),
            &format!("csrf={csrf}&campaign_id=autumn"),
        )
        .await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
    assert!(page.location().starts_with("/portal/links#link-"));
    let page = p.get("/portal/links", Some(&ada)).await;
    assert!(page.text.contains("<h2 id=\"link-"));
    assert_eq!(page.text.matches("class=\"card link\"").count(), 2);
    assert!(
        !page.text.contains("Take a link on another campaign"),
        "every campaign is taken"
    );
    p.assert_policy_kept();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_commissions_page_lists_the_partners_lines_by_status_in_pages() {
    let p = portal().await;
    commission_sample(p.services()).await;
    let ada = p.signed_in("p-ada").await;
    let page = p.get("/portal/commissions", Some(&ada)).await;
    assert_eq!(page.status, StatusCode::OK);
    let text = page.decoded();
    assert!(text.contains("<code>order-2026-000001</code>"), "{text}");
    assert!(text.contains(">10.00 USD<"));
    assert!(text.contains("Your sale"));
    assert!(text.contains("status-pending"));
    assert!(!text.contains(">5.00 USD<"), "Bo's line is not Ada's");
    let page = p
        .get("/portal/commissions?status=approved", Some(&ada))
        .await;
    assert!(
        page.text
            .contains("No commission lines with this status yet.")
    );
    // Bo's share of Ada's sale is a line of his team's.
    let bo = p.signed_in("p-bo").await;
    let page = p.get("/portal/commissions?status=pending", Some(&bo)).await;
    assert!(page.decoded().contains("Your recruit's sale"));
    // Thirty more lines of Cleo's (she has one from the sample): a page of 25, then 6.
    let table = p.services().store.table().clone();
    for i in 0..30 {
        let line = upline_tests::samples::line(
            &format!("conv-bulk-{i:02}"),
            "p-cleo",
            NOW.plus_secs(-i),
            NOW.plus_days(30),
        );
        table
            .transact(vec![upline_domain::store::Store::line_put(&line)])
            .await
            .unwrap();
    }
    let cleo = p.signed_in("p-cleo").await;
    let first = p.get("/portal/commissions", Some(&cleo)).await;
    assert_eq!(first.text.matches("<td class=\"num\">").count(), 25);
    let at = first
        .text
        .find("href=\"/portal/commissions?status=&amp;cursor=")
        .expect("a next page");
    let href = &first.text[at + 6..];
    let href = href[..href.find('"').unwrap()].replace("&amp;", "&");
    let second = p.get(&href, Some(&cleo)).await;
    assert_eq!(second.status, StatusCode::OK);
    assert_eq!(second.text.matches("<td class=\"num\">").count(), 6);
    assert!(second.text.contains(">First page<"));
    assert!(!second.text.contains(">Next page<"));
    // A cursor that is not one of ours is refused, not a crash.
    let page = p
        .get("/portal/commissions?cursor=garbage", Some(&cleo))
        .await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    p.assert_policy_kept();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_payouts_page_shows_statements_and_takes_payout_details_field_by_field() {
    let p = portal().await;
    let s = p.services();
    let bo = p.signed_in("p-bo").await;
    let page = p.get("/portal/payouts", Some(&bo)).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.text.contains("Add your payout details"));
    // Payout details: a bad IBAN and BIC are named, the input kept, nothing stored.
    let csrf = page.csrf();
    let form = |fields: &str| format!("csrf={csrf}&{fields}");
    let page = p
        .post(
            "/portal/payout-details",
            Some(&bo),
            &form("method=bank_transfer&email=&account_holder=Bo+Berg&iban=DE89370400440532013001&bic=x&receiver_type=person"),
        )
        .await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.text.contains("id=\"iban-error\""));
    assert!(page.text.contains("id=\"bic-error\""));
    assert!(!page.text.contains("id=\"account_holder-error\""));
    assert!(
        page.text.contains("value=\"DE89370400440532013001\""),
        "input kept"
    );
    assert!(page.text.contains("value=\"Bo Berg\""));
    let stored = s.store.partner(&"p-bo".into()).await.unwrap().unwrap();
    assert_eq!(stored.payout_details, None);
    // Without the CSRF token nothing is stored either.
    let page = p
        .post(
            "/portal/payout-details",
            Some(&bo),
            "method=paypal&email=bo%40example.com",
        )
        .await;
    assert_eq!(page.status, StatusCode::FORBIDDEN);
    // A good IBAN is saved, and shown again.
    let page = p
        .post(
            "/portal/payout-details",
            Some(&bo),
            &form("method=bank_transfer&email=&account_holder=Bo+Berg&iban=DE89+3704+0044+0532+0130+00&bic=&receiver_type=business"),
        )
        .await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.text);
    let stored = s.store.partner(&"p-bo".into()).await.unwrap().unwrap();
    assert_eq!(
        stored.payout_details.unwrap().destination(),
        "Bo Berg, DE89370400440532013000"
    );
    let page = p.get("/portal/payouts?saved=1", Some(&bo)).await;
    assert!(page.text.contains("Your payout details are saved."));
    assert!(page.text.contains("value=\"DE89370400440532013000\""));
    assert!(page.text.contains("<option value=\"business\" selected>"));
    // PayPal: the bank fields left over in the form do not count against it.
    let page = p
        .post(
            "/portal/payout-details",
            Some(&bo),
            &form("method=paypal&email=bo%40example.com&account_holder=Bo+Berg&iban=DE89370400440532013000&receiver_type=person"),
        )
        .await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.text);
    // Bo's line past its hold is approved and paid out in a run, to his PayPal.
    upline_domain::usecases::payouts::scheduled(s)
        .await
        .unwrap();
    let period = upline_domain::payout::Period::parse("2026-11-20").unwrap();
    upline_domain::usecases::payouts::run_period(s, &period, "t")
        .await
        .unwrap();
    let page = p.get("/portal/payouts", Some(&bo)).await;
    let text = page.decoded();
    let at = text.find("href=\"/portal/payouts/").expect("a payout");
    let href = &text[at + 6..];
    let href = href[..href.find('"').unwrap()].to_string();
    let statement = p.get(&href, Some(&bo)).await;
    assert_eq!(statement.status, StatusCode::OK, "{href}");
    assert!(statement.decoded().contains("<code>conv-old</code>"));
    let csv = p.get(&format!("{href}/statement.csv"), Some(&bo)).await;
    assert_eq!(csv.status, StatusCode::OK);
    assert_eq!(csv.headers["content-type"], "text/csv; charset=utf-8");
    assert!(
        csv.headers["content-disposition"]
            .to_str()
            .unwrap()
            .starts_with("attachment; filename=\"statement-")
    );
    let mut rows = csv::Reader::from_reader(csv.text.as_bytes());
    let first = rows.records().next().unwrap().unwrap();
    assert_eq!(&first[1], "conv-old");
    assert_eq!(&first[4], "10.00");
    assert_eq!(&first[5], "USD");
    // Nobody else's statement, in either form.
    let ada = p.signed_in("p-ada").await;
    assert_eq!(p.get(&href, Some(&ada)).await.status, StatusCode::NOT_FOUND);
    assert_eq!(
        p.get(&format!("{href}/statement.csv"), Some(&ada))
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    p.assert_policy_kept();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_team_page_shows_the_referral_link_and_the_downline_by_level() {
    let p = portal().await;
    commission_sample(p.services()).await;
    let cleo = p.signed_in("p-cleo").await;
    let page = p.get("/portal/team", Some(&cleo)).await;
    assert_eq!(page.status, StatusCode::OK);
    let text = page.decoded();
    assert!(
        text.contains("value=\"https://go.example.com/portal/join?ref=cleoref1\""),
        "{text}"
    );
    let recruited = text.find("Partners you recruited").expect("level 1");
    let level2 = text.find("Level 2").expect("level 2");
    assert!(recruited < level2);
    assert!(text[recruited..level2].contains("<td>bo</td>"));
    assert!(text[level2..].contains("<td>ada</td>"));
    // Ada's sale earned Cleo 2.50 through Ada, at level 2.
    assert!(text[level2..].contains("2.50"), "{}", &text[level2..]);
    let ada = p.signed_in("p-ada").await;
    let page = p.get("/portal/team", Some(&ada)).await;
    assert!(page.text.contains("Nobody in your team yet."));
    p.assert_policy_kept();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_settings_page_saves_the_profile_the_postback_url_and_a_new_key() {
    let p = portal().await;
    let s = p.services();
    let ada = p.signed_in("p-ada").await;
    let page = p.get("/portal/settings", Some(&ada)).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.text
            .contains("id=\"name\" name=\"name\" type=\"text\" value=\"ada\""),
        "the name as it is: {}",
        page.text
    );
    let csrf = page.csrf();
    let ada_now = || async { s.store.partner(&"p-ada".into()).await.unwrap().unwrap() };
    // A blank name is named; nothing changes.
    let before = ada_now().await;
    let page = p
        .post(
            "/portal/settings/profile",
            Some(&ada),
            &format!("csrf={csrf}&name=+&new_conversion=on"),
        )
        .await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.text.contains("id=\"name-error\""));
    assert!(page.text.contains("value=\" \""), "what was typed is kept");
    assert_eq!(ada_now().await, before);
    // Ticked boxes are on, the others off.
    let page = p
        .post(
            "/portal/settings/profile",
            Some(&ada),
            &format!("csrf={csrf}&name=Ada+Lovelace&new_conversion=on"),
        )
        .await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
    let after = ada_now().await;
    assert_eq!(after.name, "Ada Lovelace");
    assert!(after.notifications.new_conversion);
    assert!(!after.notifications.commission_approved);
    assert!(!after.notifications.unsubscribed);
    // A postback URL to a private address is refused, as the API refuses it.
    let page = p
        .post(
            "/portal/settings/postback",
            Some(&ada),
            &format!("csrf={csrf}&url=http%3A%2F%2F127.0.0.1%2Fpb%3Fc%3D%7Bclick_id%7D"),
        )
        .await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.text.contains("id=\"url-error\""));
    let good = "https://tracker.example.net/pb?c={click_id}&p={payout}";
    let page = p
        .post(
            "/portal/settings/postback",
            Some(&ada),
            &format!(
                "csrf={csrf}&url={}",
                url::form_urlencoded::byte_serialize(good.as_bytes()).collect::<String>()
            ),
        )
        .await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.text);
    let stored = upline_domain::usecases::partner_postbacks::template_of(s, &"p-ada".into())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.url, good);
    let page = p.get("/portal/settings?saved=postback", Some(&ada)).await;
    assert!(page.decoded().contains(&format!("value=\"{good}\"")));
    let page = p
        .post(
            "/portal/settings/postback",
            Some(&ada),
            &format!("csrf={csrf}&url="),
        )
        .await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
    assert!(
        upline_domain::usecases::partner_postbacks::template_of(s, &"p-ada".into())
            .await
            .unwrap()
            .is_none()
    );
    // A new API key: never without the token, shown once with it.
    let page = p.post("/portal/settings/api-key", Some(&ada), "").await;
    assert_eq!(page.status, StatusCode::FORBIDDEN);
    assert_eq!(ada_now().await.api_key_hash, after.api_key_hash);
    let page = p
        .post(
            "/portal/settings/api-key",
            Some(&ada),
            &format!("csrf={csrf}"),
        )
        .await;
    assert_eq!(page.status, StatusCode::OK);
    assert_eq!(page.headers["cache-control"], "no-store");
    let needle = "id=\"new-key\" type=\"text\" readonly value=\"";
    let at = page.text.find(needle).unwrap();
    let key = &page.text[at + needle.len()..];
    let key = &key[..key.find('"').unwrap()];
    assert!(key.starts_with("upl_partner_"), "{key}");
    assert_eq!(
        ada_now().await.api_key_hash.as_deref(),
        Some(upline_domain::ids::hash_api_key(key).as_str())
    );
    let page = p.get("/portal/settings", Some(&ada)).await;
    assert!(!page.text.contains(key), "shown once");
    p.assert_policy_kept();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_join_page_draws_the_programs_form_and_keeps_input_next_to_errors() {
    let p = portal().await;
    let s = p.services();
    let mut program = s.store.program().await.unwrap().unwrap();
    program.signup.form = serde_json::from_value(serde_json::json!([
        {"name": "website", "label": "Your website", "type": "url", "required": true},
        {"name": "audience", "label": "Audience size", "type": "select", "options": ["small", "large"]},
        {"name": "channels", "label": "Channels", "type": "multi_select", "options": ["blog", "video", "email"]},
        {"name": "country", "label": "Country", "type": "country"},
        {"name": "followers", "label": "Followers", "type": "number"},
        {"name": "terms", "label": "I accept the program terms", "type": "checkbox", "required": true}
    ]))
    .unwrap();
    s.store.put_program(&program).await.unwrap();
    let page = p.get("/portal/join?ref=adaref01", None).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.text
            .contains("id=\"referred_by\" name=\"referred_by\" type=\"text\" value=\"adaref01\"")
    );
    assert!(page.text.contains("name=\"fields.website\" type=\"url\""));
    assert!(page.text.contains("<option value=\"large\">large</option>"));
    assert!(
        page.text
            .contains("name=\"fields.channels\" value=\"video\"")
    );
    assert!(
        page.text
            .contains("name=\"fields.followers\" type=\"number\"")
    );
    assert!(
        page.text
            .contains("name=\"fields.terms\" type=\"checkbox\"")
    );
    // Wrong and missing answers, each named next to its field; what was typed stays.
    let bad = "email=not-an-email&name=Eve+Example&type=influencer&fields.website=&fields.audience=huge\
               &fields.channels=blog&fields.channels=video&fields.followers=lots&referred_by=adaref01";
    let page = p.post("/portal/join", None, bad).await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    for id in [
        "email-error",
        "fields-website-error",
        "fields-audience-error",
        "fields-followers-error",
        "fields-terms-error",
    ] {
        assert!(
            page.text.contains(&format!("id=\"{id}\"")),
            "{id}: {}",
            page.text
        );
    }
    assert!(!page.text.contains("id=\"name-error\""));
    assert!(page.text.contains("value=\"Eve Example\""));
    assert!(page.text.contains("value=\"video\" checked"));
    assert!(page.text.contains("<option value=\"influencer\" selected>"));
    assert!(
        s.store
            .partner_id_by_email("eve@example.com")
            .await
            .unwrap()
            .is_none(),
        "nothing stored"
    );
    // From another site: refused before anything is looked at.
    let good = "email=eve%40example.com&name=Eve+Example&type=influencer&fields.website=https%3A%2F%2Feve.example&fields.audience=large\
                &fields.channels=blog&fields.channels=video&fields.country=de&fields.followers=1200&fields.terms=on&referred_by=adaref01";
    let page = p
        .send(
            Method::POST,
            "/portal/join",
            None,
            Some(good.to_string()),
            &[("origin", "https://evil.example")],
        )
        .await;
    assert_eq!(page.status, StatusCode::FORBIDDEN);
    let page = p.post("/portal/join", None, good).await;
    assert_eq!(page.status, StatusCode::CREATED, "{}", page.text);
    assert!(page.text.contains("Thank you for applying"));
    let id = s
        .store
        .partner_id_by_email("eve@example.com")
        .await
        .unwrap()
        .unwrap();
    let eve = s.store.partner(&id).await.unwrap().unwrap();
    assert_eq!(eve.status, upline_domain::partner::PartnerStatus::Pending);
    assert_eq!(eve.recruited_by.as_deref(), Some("p-ada"));
    assert_eq!(
        serde_json::to_value(&eve.fields).unwrap(),
        serde_json::json!({"audience": "large", "channels": ["blog", "video"], "country": "DE",
            "followers": 1200, "terms": true, "website": "https://eve.example/"})
    );
    // The same email again is named, not stored twice.
    let page = p.post("/portal/join", None, good).await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        page.text
            .contains("a partner with this email already exists")
    );
    p.assert_policy_kept();
}

/// Every page a signed-in partner reads.
const PAGES: [&str; 7] = [
    "/portal",
    "/portal/links",
    "/portal/links/spring01/qr.svg",
    "/portal/commissions",
    "/portal/payouts",
    "/portal/team",
    "/portal/settings",
];

/// Every form a signed-in partner posts, with a body that would change something.
const FORMS: [(&str, &str); 6] = [
    ("/portal/links", "campaign_id=autumn"),
    (
        "/portal/payout-details",
        "method=paypal&email=ada%40example.net",
    ),
    ("/portal/settings/profile", "name=Mallory&unsubscribed=on"),
    (
        "/portal/settings/postback",
        "url=https%3A%2F%2Fevil.example.net%2Fpb",
    ),
    ("/portal/settings/api-key", ""),
    ("/portal/logout", ""),
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_page_needs_an_open_session_of_an_approved_partner() {
    let p = portal().await;
    let ada = p.signed_in("p-ada").await;
    for page in PAGES {
        assert_eq!(
            p.get(page, Some(&ada)).await.status,
            StatusCode::OK,
            "{page}"
        );
        let out = p.get(page, None).await;
        assert_eq!(out.status, StatusCode::SEE_OTHER, "{page} signed out");
        assert_eq!(out.location(), "/portal/login", "{page}");
    }
    // A pending partner with a session (approval came back) sees why, on every page.
    let dan = p.signed_in("p-dan").await;
    for page in PAGES {
        let r = p.get(page, Some(&dan)).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{page}");
        assert!(
            r.text.contains("Your application is being reviewed"),
            "{page}"
        );
    }
    // Revoked: every page is closed.
    let csrf = p.get("/portal", Some(&ada)).await.csrf();
    p.post("/portal/logout", Some(&ada), &format!("csrf={csrf}"))
        .await;
    for page in PAGES {
        assert_eq!(
            p.get(page, Some(&ada)).await.location(),
            "/portal/login",
            "{page} after signing out"
        );
    }
    // Expired: every page is closed too.
    let bo = p.signed_in("p-bo").await;
    p.world.clock.advance_secs(SESSION_VALID_SECS);
    for page in PAGES {
        assert_eq!(
            p.get(page, Some(&bo)).await.location(),
            "/portal/login",
            "{page} after the session's days"
        );
    }
    p.assert_policy_kept();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_form_is_refused_without_the_sessions_csrf_token_and_changes_nothing() {
    let p = portal().await;
    let s = p.services();
    upline_tests::world::put_campaign(
        s,
        "autumn",
        serde_json::json!({"name": "Autumn", "destination_url": "https://shop.example.com/autumn"}),
    )
    .await;
    let ada = p.signed_in("p-ada").await;
    let bo = p.signed_in("p-bo").await;
    let bos_csrf = p.get("/portal", Some(&bo)).await.csrf();
    let before = s.store.partner(&"p-ada".into()).await.unwrap().unwrap();
    for (path, body) in FORMS {
        for csrf in ["", "csrf=00&", &format!("csrf={bos_csrf}&")] {
            let r = p.post(path, Some(&ada), &format!("{csrf}{body}")).await;
            assert_eq!(r.status, StatusCode::FORBIDDEN, "{path} with {csrf:?}");
            assert!(r.text.contains("This form has expired"));
        }
        // Signed out, a form leads to the login page and changes nothing either.
        let r = p.post(path, None, body).await;
        assert_eq!(r.location(), "/portal/login", "{path} signed out");
    }
    assert_eq!(
        s.store.partner(&"p-ada".into()).await.unwrap().unwrap(),
        before
    );
    assert_eq!(s.store.links_of(&"p-ada".into()).await.unwrap().len(), 1);
    assert!(
        upline_domain::usecases::partner_postbacks::template_of(s, &"p-ada".into())
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(
        p.get("/portal", Some(&ada)).await.status,
        StatusCode::OK,
        "still signed in"
    );
    p.assert_policy_kept();
}
