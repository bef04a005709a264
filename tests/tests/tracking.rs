//! Tracking end to end on the local host, on both backends: targeting, bots and HEAD
//! requests, unique vs gross clicks, impressions, the click cookie, sub-ids, direct
//! links, promo codes and their priority, and partners' own postbacks retried on 5xx.
//! Then, on a manual clock: the attribution window's edge and unique clicks over a day.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use upline_domain::clock::Timestamp;
use upline_domain::ports::PostbackCaller;
use upline_domain::tracking::Traffic;
use upline_domain::usecases::tracking::{ClickContext, ResolvedLink, record_clicks, track_click};
use upline_tests::host::{BROWSER, TestBackend, TestHost, click_id_in, eventually};
use upline_tests::receiver::PostbackReceiver;
use upline_tests::request;
use upline_tests::world::{
    EmbeddedWorld, approved_partner, link_code, put_campaign, put_program, resolve,
};

upline_tests::on_both_backends!(
    targeting_bots_head_and_unique_clicks_are_counted_apart,
    sub_ids_reach_the_conversion_and_the_sub_id_report,
    direct_links_register_clicks_and_the_cookie_answers_later,
    promo_codes_credit_their_partner_and_the_program_setting_decides_ties,
    partner_postbacks_are_retried_on_5xx_and_logged,
    a_visitor_cannot_choose_the_address_their_uniqueness_is_judged_by,
);

const IPHONE: &str = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1";
const GOOGLEBOT: &str = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)";

struct Setup {
    secret: String,
    /// (partner id, partner key, link code) for two partners.
    partners: Vec<(String, String, String)>,
}

/// A program, a campaign with `campaign` settings and two approved partners with links.
async fn set_up(h: &TestHost, campaign: Value) -> Setup {
    let program = json!({"name": "Acme", "currency": "USD", "hold_days": 30});
    let r = h
        .program_with_spring(program, "https://shop.example.com/landing", campaign)
        .await;
    let secret = r.body["postback_secret"].as_str().unwrap().to_string();
    let mut partners = Vec::new();
    for email in ["ann@example.com", "ben@example.com"] {
        let application = json!({"email": email, "name": email, "type": "influencer"});
        let (id, key, _) = h.approve_application(&application).await;
        let r = h.link(&id, "spring").await;
        partners.push((id, key, r.body["code"].as_str().unwrap().to_string()));
    }
    Setup { secret, partners }
}

/// A request to the tracking domain as a browser with these headers would make it.
async fn visit(
    h: &TestHost,
    method: Method,
    path: &str,
    headers: &[(&str, &str)],
) -> reqwest::Response {
    let mut req = h.client.request(method, format!("{}{path}", h.base));
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    req.send().await.unwrap()
}

fn location(r: &reqwest::Response) -> String {
    assert_eq!(r.status(), StatusCode::FOUND);
    r.headers()["location"].to_str().unwrap().to_string()
}

async fn targeting_bots_head_and_unique_clicks_are_counted_apart(backend: TestBackend) {
    let h = TestHost::fresh(backend).await;
    let targeting = json!({"attribution_window_days": 14, "targeting": {
        "countries": ["DE", "AT"], "fallback_url": "https://elsewhere.example.com/offers",
        "rules": [{"devices": ["mobile"], "url": "https://m.shop.example.com/"}]}});
    let s = set_up(&h, targeting).await;
    let code = &s.partners[0].2;
    let path = format!("/r/{code}");
    let de = ("cloudfront-viewer-country", "DE");
    let ip1 = ("x-forwarded-for", "198.51.100.7");

    // A person in Germany twice from one address: two gross clicks, one unique.
    for _ in 0..2 {
        let r = visit(&h, Method::GET, &path, &[de, ip1]).await;
        let to = location(&r);
        assert!(
            to.starts_with("https://shop.example.com/landing?click_id="),
            "{to}"
        );
        let cookie = r.headers()["set-cookie"].to_str().unwrap();
        let click_id = click_id_in(&to);
        assert_eq!(
            cookie,
            format!("upline_click={click_id}; Max-Age=1209600; Path=/; HttpOnly; SameSite=Lax"),
            "the cookie lives as long as the campaign's 14-day window"
        );
    }
    // The same address on a phone is another visitor, sent by the mobile rule.
    let r = visit(&h, Method::GET, &path, &[de, ip1, ("user-agent", IPHONE)]).await;
    assert!(location(&r).starts_with("https://m.shop.example.com/?click_id="));
    // Outside the countries, or with no country at all: the fallback, uncredited.
    for headers in [vec![("cloudfront-viewer-country", "FR"), ip1], vec![ip1]] {
        let r = visit(&h, Method::GET, &path, &headers).await;
        assert_eq!(location(&r), "https://elsewhere.example.com/offers");
        assert!(r.headers().get("set-cookie").is_none());
    }
    // A crawler and a link checker: redirected, not clicks.
    let r = visit(&h, Method::GET, &path, &[de, ("user-agent", GOOGLEBOT)]).await;
    assert!(location(&r).starts_with("https://shop.example.com/landing?click_id="));
    let r = visit(&h, Method::HEAD, &path, &[de]).await;
    assert!(location(&r).starts_with("https://shop.example.com/landing?click_id="));
    // Impressions: a pixel each, never cached; the crawler's is not counted.
    for ua in [BROWSER, BROWSER, GOOGLEBOT] {
        let r = visit(
            &h,
            Method::GET,
            &format!("/i/{code}"),
            &[("user-agent", ua)],
        )
        .await;
        assert_eq!(r.status(), StatusCode::OK);
        assert_eq!(r.headers()["content-type"], "image/gif");
        assert!(
            r.headers()["cache-control"]
                .to_str()
                .unwrap()
                .contains("no-store")
        );
        assert_eq!(r.bytes().await.unwrap().len(), 43);
    }
    let totals = eventually("every request counted", || async {
        let t = h.report("group_by=partner").await["totals"].clone();
        (t["clicks"] == 3
            && t["impressions"] == 2
            && t["bot_clicks"] == 2
            && t["rejected_clicks"] == 2)
            .then_some(t)
    })
    .await;
    assert_eq!(totals["unique_clicks"], 2);
    assert_eq!(
        totals["rejected_by_reason"],
        json!({"country": 2, "device": 0, "os": 0})
    );
    h.host.stop().await;
}

/// `X-Forwarded-For` arrives with whatever the visitor put in it; the edge only appends.
/// Five visits from one connection and browser, each claiming another first address, are
/// one visitor: one unique click.
async fn a_visitor_cannot_choose_the_address_their_uniqueness_is_judged_by(backend: TestBackend) {
    let h = TestHost::fresh(backend).await;
    let s = set_up(&h, json!({})).await;
    let path = format!("/r/{}", s.partners[0].2);
    for n in 1..=5 {
        let invented = format!("203.0.113.{n}");
        let r = visit(
            &h,
            Method::GET,
            &path,
            &[("x-forwarded-for", &invented), ("user-agent", BROWSER)],
        )
        .await;
        location(&r);
    }
    let totals = eventually("every visit counted", || async {
        let t = h.report("group_by=partner").await["totals"].clone();
        (t["clicks"] == 5).then_some(t)
    })
    .await;
    assert_eq!(totals["unique_clicks"], 1, "{totals}");
    h.host.stop().await;
}

async fn sub_ids_reach_the_conversion_and_the_sub_id_report(backend: TestBackend) {
    let h = TestHost::fresh(backend).await;
    let s = set_up(&h, json!({})).await;
    let (partner, key, code) = &s.partners[0];
    let mut click_ids = Vec::new();
    for (n, sub1) in [(1, "newsletter"), (2, "newsletter"), (3, "video 7")] {
        let query = format!(
            "sub1={}&sub2=b{n}&sub3=c&sub4=d&sub5=e%26f",
            sub1.replace(' ', "%20")
        );
        let r = visit(&h, Method::GET, &format!("/r/{code}?{query}"), &[]).await;
        click_ids.push(click_id_in(&location(&r)));
    }
    // The postback comes once the click is recorded, as in real life (seconds later).
    eventually("clicks recorded", || async {
        (h.report("group_by=partner").await["totals"]["clicks"] == 3).then_some(())
    })
    .await;
    let sale =
        json!({"click_id": click_ids[2], "order_id": "o-1", "amount": "80.00", "currency": "USD"});
    let r = h.postback(&s.secret, &sale).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    assert_eq!(
        r.body["conversion"]["subs"],
        json!({"sub1": "video 7", "sub2": "b3", "sub3": "c", "sub4": "d", "sub5": "e&f"})
    );
    let rows = eventually("the sale in the sub-id report", || async {
        let r = h
            .call(Method::GET, "/v1/me/stats?group_by=sub1", Some(key), None)
            .await;
        (r.body["totals"]["conversions"] == 1).then_some(r.body["rows"].clone())
    })
    .await;
    let by_value: Vec<(String, i64, i64, String)> = rows
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["key"].as_str().unwrap().to_string(),
                r["clicks"].as_i64().unwrap(),
                r["conversions"].as_i64().unwrap(),
                r["commission"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        by_value,
        [
            ("newsletter".to_string(), 2, 0, "0.00".to_string()),
            ("video 7".to_string(), 1, 1, "8.00".to_string())
        ]
    );
    let admin = h
        .report(&format!("group_by=sub2&partner_id={partner}"))
        .await;
    assert_eq!(admin["rows"].as_array().unwrap().len(), 3, "{admin}");
    let refused = h
        .admin(Method::GET, "/v1/admin/reports?group_by=sub1", None)
        .await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    h.host.stop().await;
}

async fn direct_links_register_clicks_and_the_cookie_answers_later(backend: TestBackend) {
    let h = TestHost::fresh(backend).await;
    let s = set_up(&h, json!({"allowed_domains": ["blog.example.com"]})).await;
    let code = &s.partners[0].2;
    // The snippet's request: text/plain, from a page on the campaign's domain.
    let r = h
        .client
        .post(format!("{}/v1/clicks", h.base))
        .header("content-type", "text/plain;charset=UTF-8")
        .header("origin", "https://blog.example.com")
        .body(json!({"ref": code, "sub1": "post-42"}).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    assert_eq!(
        r.headers()["access-control-allow-origin"],
        "https://blog.example.com"
    );
    let cookie = r.headers()["set-cookie"].to_str().unwrap().to_string();
    let body: Value = r.json().await.unwrap();
    let click_id = body["click_id"].as_str().unwrap().to_string();
    assert_eq!(body["cookie_days"], 30);
    // A page elsewhere gets no CORS grant.
    let r = h
        .client
        .post(format!("{}/v1/clicks", h.base))
        .header("origin", "https://evil.example.net")
        .body(json!({"ref": code}).to_string())
        .send()
        .await
        .unwrap();
    assert!(r.headers().get("access-control-allow-origin").is_none());
    // Later, on a page that lost the query: the cookie answers with the same click.
    let cookie_pair = cookie.split(';').next().unwrap();
    let r = h
        .client
        .post(format!("{}/v1/clicks", h.base))
        .header("cookie", cookie_pair)
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let body: Value = r.json().await.unwrap();
    assert_eq!(
        (body["source"].as_str(), body["click_id"].as_str()),
        (Some("cookie"), Some(click_id.as_str()))
    );
    // Unknown codes and no click at all are told apart.
    let r = h
        .call(Method::POST, "/v1/clicks", None, Some(r#"{"ref":"nope"}"#))
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.body["errors"][0]["field"], "ref");
    let r = h.call(Method::POST, "/v1/clicks", None, Some("{}")).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    // A bot running the snippet gets no click id.
    let r = h
        .client
        .post(format!("{}/v1/clicks", h.base))
        .header("user-agent", GOOGLEBOT)
        .body(json!({"ref": code}).to_string())
        .send()
        .await
        .unwrap();
    let body: Value = r.json().await.unwrap();
    assert_eq!(
        (body["source"].as_str(), body["click_id"].is_null()),
        (Some("bot"), true)
    );
    // The registered click earns like a redirect's.
    let sale =
        json!({"click_id": click_id, "order_id": "d-1", "amount": "50.00", "currency": "USD"});
    let r = h.postback(&s.secret, &sale).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    assert_eq!(r.body["conversion"]["partner_id"], s.partners[0].0.as_str());
    h.host.stop().await;
}

async fn promo_codes_credit_their_partner_and_the_program_setting_decides_ties(
    backend: TestBackend,
) {
    let h = TestHost::fresh(backend).await;
    let s = set_up(&h, json!({})).await;
    let (ann, ben) = (&s.partners[0], &s.partners[1]);
    let r = h.assign_promo_code("Ben10", &ben.0, "spring").await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let taken = h.assign_promo_code("BEN10", &ann.0, "spring").await;
    assert_eq!(taken.status, StatusCode::CONFLICT);
    let mine = h
        .call(Method::GET, "/v1/me/promo-codes", Some(&ben.1), None)
        .await;
    assert_eq!(mine.body["items"][0]["code"], "BEN10");

    let ann_click = click_id_in(&location(
        &visit(&h, Method::GET, &format!("/r/{}", ann.2), &[]).await,
    ));
    let sale = |order: &str, click: Option<&str>, code: Option<&str>| {
        let mut b = json!({"order_id": order, "amount": "100.00", "currency": "USD"});
        if let Some(c) = click {
            b["click_id"] = json!(c);
        }
        if let Some(c) = code {
            b["promo_code"] = json!(c);
        }
        b
    };
    let send = |body: Value| {
        let h = &h;
        let secret = s.secret.clone();
        async move { h.postback(&secret, &body).await }
    };
    // A code alone credits its partner, whatever its case.
    let r = send(sale("p-1", None, Some("ben10"))).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    assert_eq!(r.body["conversion"]["partner_id"], ben.0.as_str());
    assert_eq!(r.body["conversion"]["attribution"]["method"], "promo_code");
    // Both: the code wins by default, and the line says so.
    let r = send(sale("p-2", Some(&ann_click), Some("BEN10"))).await;
    assert_eq!(r.body["conversion"]["partner_id"], ben.0.as_str());
    let conversion_id = r.body["conversion_id"].as_str().unwrap().to_string();
    let explanation = eventually("the code's line", || async {
        let lines = h.commission_lines(&conversion_id).await;
        lines.first()?["explanation"]["attribution"]
            .as_str()
            .map(str::to_string)
    })
    .await;
    assert!(
        explanation.starts_with("attributed by promo code BEN10")
            && explanation.contains("credits promo codes first"),
        "{explanation}"
    );
    // The operator prefers clicks: the same choice goes the other way.
    let r = h
        .put_program(json!({"name": "Acme", "currency": "USD", "hold_days": 30, "attribution_priority": "click"}))
        .await;
    assert_eq!(r.body["attribution_priority"], "click");
    let r = send(sale("p-3", Some(&ann_click), Some("BEN10"))).await;
    assert_eq!(r.body["conversion"]["partner_id"], ann.0.as_str());
    assert_eq!(r.body["conversion"]["attribution"]["method"], "click");
    assert!(
        r.body["conversion"]["attribution"]["note"]
            .as_str()
            .unwrap()
            .contains("credits clicks first")
    );
    // An unknown code alone is an error naming the field; beside a click it is noted.
    let r = send(sale("p-4", None, Some("NOPE99"))).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.body["errors"][0]["field"], "promo_code");
    let r = send(sale("p-5", Some(&ann_click), Some("NOPE99"))).await;
    assert_eq!(r.body["conversion"]["partner_id"], ann.0.as_str());
    assert!(
        r.body["conversion"]["attribution"]["note"]
            .as_str()
            .unwrap()
            .contains("NOPE99")
    );
    // Withdrawn codes credit nobody new.
    let r = h
        .admin(Method::DELETE, "/v1/admin/promo-codes/ben10", None)
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    let r = send(sale("p-6", None, Some("BEN10"))).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    h.host.stop().await;
}

async fn partner_postbacks_are_retried_on_5xx_and_logged(backend: TestBackend) {
    let h = TestHost::fresh_configured(backend, |c| {
        c.allow_private_postbacks = true;
    })
    .await;
    let s = set_up(&h, json!({})).await;
    let (_, key, code) = &s.partners[0];
    let tracker = PostbackReceiver::start(&[503, 502, 200]).await;
    let url = format!(
        "{}/pb?cid={{click_id}}&s1={{sub1}}&o={{order_id}}&amt={{amount}}&pay={{payout}}&cur={{currency}}&st={{status}}&ev={{event}}",
        tracker.base_url
    );
    let r = h.set_postback_url(key, &url).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let click_id = click_id_in(&location(
        &visit(&h, Method::GET, &format!("/r/{code}?sub1=a%20b%26c"), &[]).await,
    ));
    eventually("the click recorded", || async {
        (h.report("group_by=partner").await["totals"]["clicks"] == 1).then_some(())
    })
    .await;
    let sale = json!({"click_id": click_id, "order_id": "A&B 1", "amount": "120.00",
        "currency": "USD", "event": "sale"});
    let r = h.postback(&s.secret, &sale).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let conversion_id = r.body["conversion_id"].as_str().unwrap().to_string();
    let calls = eventually("three calls: two 5xx, then 200", || async {
        let got = tracker.received();
        (got.len() >= 3).then_some(got)
    })
    .await;
    let expected = format!(
        "/pb?cid={click_id}&s1=a%20b%26c&o=A%26B%201&amt=120.00&pay=12.00&cur=USD&st=pending&ev=sale"
    );
    assert_eq!(calls, [expected.clone(), expected.clone(), expected]);
    let log = eventually("three attempts logged", || async {
        let r = h
            .call(Method::GET, "/v1/me/postback/deliveries", Some(key), None)
            .await;
        let items = r.body["items"].as_array().cloned().unwrap_or_default();
        (items.len() == 3).then_some(items)
    })
    .await;
    let summary: Vec<(u64, u64, &str)> = log
        .iter()
        .rev()
        .map(|d| {
            (
                d["attempt"].as_u64().unwrap(),
                d["http_status"].as_u64().unwrap(),
                d["outcome"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            (1, 503, "retrying"),
            (2, 502, "retrying"),
            (3, 200, "delivered")
        ]
    );
    // A status change is another call, answered at once.
    let r = h.approve_conversion(&conversion_id).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let calls = eventually("the approval call", || async {
        let got = tracker.received();
        (got.len() == 4).then_some(got)
    })
    .await;
    assert!(calls[3].contains("&st=approved&"), "{}", calls[3]);
    h.host.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postback_urls_to_private_addresses_are_refused_when_saved_and_when_called() {
    let h = TestHost::fresh(TestBackend::Embedded).await;
    let s = set_up(&h, json!({})).await;
    let key = &s.partners[0].1;
    let tracker = PostbackReceiver::start(&[200]).await;
    for url in [
        format!("{}/pb?c={{click_id}}", tracker.base_url),
        "http://localhost:9/pb".to_string(),
        "http://169.254.169.254/latest/meta-data/".to_string(),
        "http://[::1]/pb".to_string(),
        "http://10.0.0.5/pb".to_string(),
    ] {
        let r = h.set_postback_url(key, &url).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{url}");
        assert_eq!(r.body["errors"][0]["field"], "url");
    }
    h.host.stop().await;

    // A name that resolves to this machine is refused where the connection would be
    // made, even though it looked fine once (DNS can change after a URL is saved).
    let caller =
        upline_webhooks::HttpPostbackCaller::new(upline_webhooks::AddressPolicy::PublicOnly);
    let port = tracker.base_url.rsplit(':').next().unwrap();
    for url in [
        format!("http://localhost:{port}/pb"),
        format!("http://127.0.0.1:{port}/pb"),
        format!("http://[::ffff:127.0.0.1]:{port}/pb"),
    ] {
        let got = caller.get(&url).await;
        assert!(
            matches!(got, Err(upline_domain::ports::CallError::Refused(_))),
            "{url}: {got:?}"
        );
    }
    assert!(
        tracker.received().is_empty(),
        "no request reached the server"
    );
    let permissive =
        upline_webhooks::HttpPostbackCaller::new(upline_webhooks::AddressPolicy::AllowPrivate);
    assert_eq!(
        permissive
            .get(&format!("http://localhost:{port}/pb"))
            .await
            .unwrap(),
        200,
        "the same call is made when private addresses are allowed"
    );
}

// ---------------------------------------------------------------- on a manual clock

const START: Timestamp = Timestamp(1_795_262_400_000);

/// A world at `START` with a program, a campaign with a `window`-day attribution window,
/// and one approved partner; returns it with the partner's link, resolved.
async fn world_with_link(window: i64) -> (EmbeddedWorld, ResolvedLink) {
    let w = EmbeddedWorld::open(START, 7, "https://go.example.com");
    let s = &w.services;
    put_program(
        s,
        json!({"name": "Acme", "currency": "USD", "hold_days": 0}),
    )
    .await;
    let campaign = json!({"name": "Spring", "destination_url": "https://shop.example.com/",
        "attribution_window_days": window});
    put_campaign(s, "spring", campaign).await;
    let ann = json!({"email": "ann@example.com", "name": "Ann", "type": "affiliate"});
    let partner = approved_partner(s, ann).await;
    let code = link_code(s, partner.id.as_str(), "spring").await;
    let resolved = resolve(s, &code).await;
    (w, resolved)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_attribution_window_ends_exactly_window_days_after_the_click() {
    use upline_domain::conversion::ConversionStatus;
    use upline_domain::usecases::postback::{PostbackRequest, record_postback};
    let (w, resolved) = world_with_link(7).await;
    let click = |ctx| track_click(&w.services, &resolved, ctx).unwrap().click;
    // Click ids carry whole seconds, so clicks are made on a second.
    let c1 = click(ClickContext {
        user_agent: Some(BROWSER),
        ..Default::default()
    });
    w.clock.set(Timestamp(START.0 + 1000));
    let c2 = click(ClickContext {
        user_agent: Some(BROWSER),
        ..Default::default()
    });
    let sale = |click_id: &str, order: &str| -> PostbackRequest {
        request!(json!({"click_id": click_id, "order_id": order,
            "amount": "10.00", "currency": "USD"}))
    };
    // Exactly seven days after c2 (and 7 days + 1 s after c1): c2 inside, c1 outside.
    let week = 7 * 24 * 3600 * 1000;
    w.clock.set(Timestamp(START.0 + 1000 + week));
    let inside = record_postback(&w.services, sale(&c2.click_id, "in"), "t")
        .await
        .unwrap();
    assert_eq!(inside.conversion.status, ConversionStatus::Recorded);
    let outside = record_postback(&w.services, sale(&c1.click_id, "out"), "t")
        .await
        .unwrap();
    assert_eq!(outside.conversion.status, ConversionStatus::Unattributed);
    let reason = outside.conversion.unattributed_reason.clone().unwrap();
    assert!(reason.contains("credits clicks for 7 days"), "{reason}");
    // One millisecond later c2 is outside too.
    w.clock.set(Timestamp(START.0 + 1000 + week + 1));
    let late = record_postback(&w.services, sale(&c2.click_id, "late"), "t")
        .await
        .unwrap();
    assert_eq!(late.conversion.status, ConversionStatus::Unattributed);
    // Unattributed conversions earn nothing and are not the partner's to see.
    let lines = upline_domain::usecases::commissions::commission_conversion(
        &w.services,
        &outside.conversion.id,
        "t",
    )
    .await
    .unwrap();
    assert!(lines.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unique_clicks_over_a_simulated_day() {
    let (w, resolved) = world_with_link(30).await;
    let mut day = Vec::new();
    // (minutes after the first click, ip, user agent)
    let schedule = [
        (0, "203.0.113.1", BROWSER), // unique
        (1, "203.0.113.1", BROWSER),
        (60, "203.0.113.2", BROWSER), // another address: unique
        (90, "203.0.113.1", IPHONE),  // another device: unique
        (23 * 60 + 59, "203.0.113.1", BROWSER),
        (24 * 60, "203.0.113.1", BROWSER), // exactly 24 h: still the same window
        (24 * 60 + 1, "203.0.113.1", BROWSER), // unique again
    ];
    for (minute, ip, ua) in schedule {
        w.clock.set(Timestamp(START.0 + minute * 60_000));
        let t = track_click(
            &w.services,
            &resolved,
            ClickContext {
                ip: Some(ip),
                user_agent: Some(ua),
                ..Default::default()
            },
        )
        .unwrap();
        assert_eq!(t.click.traffic, Traffic::Visit);
        day.push(t.click);
    }
    // In two batches, each shuffled, the first delivered again at the end: uniqueness is
    // decided in time order within a batch and redeliveries count nothing twice.
    let (first, second) = day.split_at(4);
    let mut first = first.to_vec();
    first.reverse();
    let mut second = second.to_vec();
    second.swap(0, 2);
    record_clicks(&w.services.store, &first).await.unwrap();
    record_clicks(&w.services.store, &second).await.unwrap();
    record_clicks(&w.services.store, &first).await.unwrap();
    let days = [START.day(), Timestamp(START.0 + 24 * 3600 * 1000).day()];
    let stats = w.services.store.stats_on_days(&days).await.unwrap();
    let gross: i64 = stats.iter().map(|s| s.clicks).sum();
    let unique: i64 = stats.iter().map(|s| s.unique_clicks).sum();
    assert_eq!((gross, unique), (7, 4));
}

/// A visitor repeating a click all day long, in one batch and out of order: one unique
/// click per 24 hours, whatever the batch decided without writing, and a redelivery of
/// the whole batch changes nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_visitor_repeating_a_click_is_unique_once_per_window() {
    let (w, resolved) = world_with_link(30).await;
    let mut flood = Vec::new();
    // Every five minutes for 25 hours: unique at 0 and at 24 h 5 min, the first click
    // more than 24 hours after the marker's.
    for minute in (0..=25 * 60).step_by(5) {
        w.clock.set(Timestamp(START.0 + minute * 60_000));
        let t = track_click(
            &w.services,
            &resolved,
            ClickContext {
                ip: Some("203.0.113.1"),
                user_agent: Some(BROWSER),
                ..Default::default()
            },
        )
        .unwrap();
        flood.push(t.click);
    }
    flood.reverse();
    flood.swap(3, 200);
    record_clicks(&w.services.store, &flood).await.unwrap();
    record_clicks(&w.services.store, &flood).await.unwrap();
    let days = [START.day(), Timestamp(START.0 + 25 * 3600 * 1000).day()];
    let stats = w.services.store.stats_on_days(&days).await.unwrap();
    let gross: i64 = stats.iter().map(|s| s.clicks).sum();
    let unique: i64 = stats.iter().map(|s| s.unique_clicks).sum();
    assert_eq!((gross, unique), (301, 2));
}

/// Visits without an address are each unique, however many share a batch; and a batch
/// whose transaction failed after its claims, delivered again, gives the click its
/// visitor's marker now holds the uniqueness that click had.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn uniqueness_survives_missing_addresses_and_a_failed_batch() {
    let (w, resolved) = world_with_link(30).await;
    let at = |minute: i64, ip: Option<&str>| {
        w.clock.set(Timestamp(START.0 + minute * 60_000));
        track_click(
            &w.services,
            &resolved,
            ClickContext {
                ip,
                user_agent: Some(BROWSER),
                ..Default::default()
            },
        )
        .unwrap()
        .click
    };
    let anonymous: Vec<_> = (0..3).map(|m| at(m, None)).collect();
    let early = at(10, Some("203.0.113.5"));
    let late = at(10 + 25 * 60, Some("203.0.113.5"));

    // The first delivery claims both of the visitor's clicks, then its transaction fails.
    let failing = std::sync::Arc::new(upline_tests::faulty::WatchedTable::over(
        w.services.store.table().clone(),
    ));
    failing.fail_transactions();
    let failing_store = w.services.store.over(failing.clone());
    let batch = [anonymous.clone(), vec![early.clone(), late.clone()]].concat();
    assert!(record_clicks(&failing_store, &batch).await.is_err());
    failing.recover();
    record_clicks(&failing_store, &batch).await.unwrap();

    let days = [START.day(), Timestamp(START.0 + 26 * 3600 * 1000).day()];
    let stats = w.services.store.stats_on_days(&days).await.unwrap();
    let gross: i64 = stats.iter().map(|s| s.clicks).sum();
    let unique: i64 = stats.iter().map(|s| s.unique_clicks).sum();
    // Three anonymous visits, and the late click, which the marker holds.
    assert_eq!((gross, unique), (5, 4));
}

/// The snippet itself, run by Node against the local host as a landing page would run it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_click_snippet_registers_direct_clicks_and_keeps_redirect_click_ids() {
    let h = TestHost::fresh(TestBackend::Embedded).await;
    let s = set_up(&h, json!({"attribution_window_days": 45})).await;
    let code = &s.partners[0].2;
    let run_on = |page: String, platform: &'static str| {
        let base = h.base.clone();
        async move {
            let script = concat!(env!("CARGO_MANIFEST_DIR"), "/js/snippet.mjs");
            let out = tokio::task::spawn_blocking(move || {
                std::process::Command::new("node")
                    .args([script, &base, &page, platform])
                    .output()
            })
            .await
            .unwrap()
            .expect("node runs (Node is part of the toolchain this project needs)");
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
            serde_json::from_slice::<Value>(&out.stdout).unwrap()
        }
    };
    let run = |page: String| run_on(page, "plain");
    // A direct link: the snippet registers the click and keeps its id for the window.
    let got = run(format!(
        "https://shop.example.com/spring?ref={code}&sub1=snippet"
    ))
    .await;
    let click_id = got["ready"].as_str().expect("a click id").to_string();
    assert_eq!(got["clickId"], click_id.as_str());
    let set = got["lastSet"].as_str().unwrap();
    assert!(
        set.starts_with(&format!(
            "upline_click_id={click_id}; Max-Age=3888000; Path=/; SameSite=Lax; Secure"
        )),
        "{set}"
    );
    let sale =
        json!({"click_id": click_id, "order_id": "js-1", "amount": "20.00", "currency": "USD"});
    let r = h.postback(&s.secret, &sale).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    assert_eq!(r.body["conversion"]["partner_id"], s.partners[0].0.as_str());
    // A landing from a redirect link: the id it carries is kept, no new click is made.
    let got = run("https://shop.example.com/spring?click_id=abc123".into()).await;
    assert_eq!(got["ready"], "abc123");
    assert_eq!(got["cookie"], "upline_click_id=abc123");
    assert_eq!(got["cart"], Value::Null, "no cart off Shopify");
    // On a Shopify storefront the id also goes into the cart's attributes, which the
    // order webhook carries back as note_attributes.
    let got = run_on(
        "https://acme.example.com/?click_id=abc123".into(),
        "shopify",
    )
    .await;
    assert_eq!(got["cart"]["path"], "/cart/update.js");
    assert_eq!(got["cart"]["attributes"]["upline_click_id"], "abc123");
    eventually("one click counted", || async {
        (h.report("group_by=partner").await["totals"]["clicks"] == 1).then_some(())
    })
    .await;
    h.host.stop().await;
}
