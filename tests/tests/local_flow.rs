//! End to end on the local host: a partner program set up through the admin API, a
//! referral chain of three partners, a click, a postback, and the commission lines,
//! emails, reports and partner stats that follow — then all of it again after a restart.
//! Every scenario runs twice with the same body: on the embedded store, and on DynamoDB,
//! SQS and SES (moto), asserting the same ledger.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use upline_tests::host::{
    Reply, TestBackend, TestHost, cents, click_id_in, eventually, strings_of,
};

upline_tests::on_both_backends!(
    a_click_and_a_sale_pay_the_partner_and_two_upline_levels_and_survive_a_restart,
    ten_concurrent_identical_postbacks_make_one_conversion,
    a_signed_postback_is_accepted_and_a_stale_signature_is_not,
    itemized_terms_and_first_time_customers_work_through_the_postback,
    refunds_reverse_every_level_until_the_sale_nets_to_zero,
    sales_in_other_currencies_are_converted_at_the_operators_rate,
    deep_links_go_only_where_the_campaign_allows_and_sub_ids_reach_the_conversion,
);

/// Where campaign `spring` sends visitors.
const LANDING: &str = "https://shop.example.com/landing?src=aff";

struct Program {
    postback_secret: String,
    /// Partner ids and keys, recruiter first: C, B, A.
    partners: Vec<(String, String)>,
    link_code: String,
}

async fn set_up(h: &TestHost) -> Program {
    let program = json!({"name": "Acme", "currency": "USD", "hold_days": 30,
        "upline": {"depth": 2, "base": "direct_commission", "first_level_percent": "50", "decrement_percent": "25"}});
    let r = h.program_with_spring(program, LANDING, json!({})).await;
    let postback_secret = r.body["postback_secret"].as_str().unwrap().to_string();

    let mut partners = Vec::new();
    let mut referred_by = Value::Null;
    for (name, email) in [
        ("C", "c@example.com"),
        ("B", "b@example.com"),
        ("A", "a@example.com"),
    ] {
        let body =
            json!({"email": email, "name": name, "type": "affiliate", "referred_by": referred_by});
        let r = h.apply(&body).await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
        assert_eq!(r.body["status"], "pending");
        let id = r.body["id"].as_str().unwrap().to_string();
        referred_by = r.body["referral_code"].clone();
        let r = h.approve(&id).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
        assert_eq!(r.body["partner"]["status"], "approved");
        partners.push((id, r.body["api_key"].as_str().unwrap().to_string()));
    }
    let r = h.link(&partners[2].0, "spring").await;
    // Approval gave the partner a link to every active campaign: this is that link.
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let link_code = r.body["code"].as_str().unwrap().to_string();
    assert_eq!(r.body["url"], format!("{}/r/{link_code}", h.base));
    Program {
        postback_secret,
        partners,
        link_code,
    }
}

async fn click(h: &TestHost, code: &str) -> String {
    let r = h.call(Method::GET, &format!("/r/{code}"), None, None).await;
    assert_eq!(r.status, StatusCode::FOUND);
    let location = r.headers["location"].to_str().unwrap().to_string();
    assert!(
        location.starts_with("https://shop.example.com/landing?src=aff&click_id="),
        "{location}"
    );
    click_id_in(&location)
}

async fn postback(h: &TestHost, secret: &str, body: &Value) -> (StatusCode, Value) {
    let r = h.postback(secret, body).await;
    (r.status, r.body)
}

/// (partner id, level, amount) of a conversion's lines, by level.
async fn lines(h: &TestHost, conversion_id: &str) -> Vec<(String, u64, String)> {
    let mut out: Vec<_> = h
        .commission_lines(conversion_id)
        .await
        .iter()
        .map(|l| {
            (
                l["partner_id"].as_str().unwrap().to_string(),
                l["level"].as_u64().unwrap(),
                l["amount"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    out.sort_by_key(|l| l.1);
    out
}

/// Sends a refund as the storefront would.
async fn refund(h: &TestHost, p: &Program, body: Value) -> Reply {
    h.refund(&p.postback_secret, &body).await
}

async fn report_totals(h: &TestHost) -> Value {
    h.report("group_by=partner").await["totals"].clone()
}

async fn a_click_and_a_sale_pay_the_partner_and_two_upline_levels_and_survive_a_restart(
    backend: TestBackend,
) {
    let h = TestHost::fresh(backend).await;
    let p = set_up(&h).await;
    let (c, b, a) = (&p.partners[0], &p.partners[1], &p.partners[2]);

    // All three asked for an email per conversion (it is opt-in).
    for (_, key) in &p.partners {
        let r = h.opt_in_to_conversion_emails(key).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    }
    let click_id = click(&h, &p.link_code).await;
    let sale =
        json!({"click_id": click_id, "order_id": "o-1", "amount": "100.00", "currency": "USD"});
    let (status, first) = postback(&h, &p.postback_secret, &sale).await;
    assert_eq!(status, StatusCode::CREATED, "{first}");
    let conversion_id = first["conversion_id"].as_str().unwrap().to_string();
    assert_eq!(first["conversion"]["partner_id"], a.0.as_str());

    let (status, again) = postback(&h, &p.postback_secret, &sale).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(again["conversion_id"], conversion_id.as_str());
    assert_eq!(again["created"], false);

    let expected = vec![
        (a.0.clone(), 0, "10.00".to_string()),
        (b.0.clone(), 1, "5.00".to_string()),
        (c.0.clone(), 2, "2.50".to_string()),
    ];
    let got = eventually("three commission lines", || async {
        let l = lines(&h, &conversion_id).await;
        (l.len() == 3).then_some(l)
    })
    .await;
    assert_eq!(got, expected);

    // Every line's explanation says how it was reached.
    let r = h
        .call(Method::GET, "/v1/me/commissions", Some(&b.1), None)
        .await;
    assert_eq!(r.status, StatusCode::OK);
    let items = r.body["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "B sees only B's line");
    assert_eq!(
        items[0]["explanation"]["summary"],
        "Level 1 upline: 50% of the direct commission 10.00 USD = 5.00 USD"
    );

    let totals = eventually("a counted click", || async {
        let t = report_totals(&h).await;
        (t["clicks"] == 1).then_some(t)
    })
    .await;
    assert_eq!(totals["conversions"], 1);
    assert_eq!(totals["revenue"], "100.00");
    assert_eq!(totals["commission"], "17.50");
    let stats = h.call(Method::GET, "/v1/me/stats", Some(&a.1), None).await;
    assert_eq!(stats.body["totals"]["clicks"], 1);
    assert_eq!(stats.body["totals"]["conversions"], 1);
    assert_eq!(stats.body["totals"]["commission"], "10.00");

    let emails = eventually("three commission emails", || async {
        let e = h.emails("commission_").await;
        (e.len() == 3).then_some(e)
    })
    .await;
    assert_eq!(
        emails,
        (0..3)
            .map(|l| format!("commission_{conversion_id}_{l}.eml"))
            .collect::<Vec<_>>()
    );
    assert_eq!(h.emails("application-received_").await.len(), 3);
    assert_eq!(h.emails("partner-approved_").await.len(), 3);
    let eml = h.email(&emails[0]).await;
    assert!(eml.contains("To: a@example.com"));
    assert!(eml.contains("Subject: You earned 10.00 USD with Acme"));

    // The replayed postback added nothing, however long the consumers run.
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_eq!(lines(&h, &conversion_id).await.len(), 3);
    let convs = h.admin(Method::GET, "/v1/admin/conversions", None).await;
    assert_eq!(convs.body["items"].as_array().unwrap().len(), 1);

    let h = h.restart().await;
    assert_eq!(lines(&h, &conversion_id).await, expected);
    let totals = report_totals(&h).await;
    assert_eq!(
        (totals["clicks"].clone(), totals["conversions"].clone()),
        (json!(1), json!(1))
    );
    let me = h.me(&a.1).await;
    assert_eq!(me.status, StatusCode::OK, "partner keys survive a restart");
    assert_eq!(me.body["id"], a.0.as_str());
    let (status, after) = postback(&h, &p.postback_secret, &sale).await;
    assert_eq!(
        status,
        StatusCode::OK,
        "the order is still known after a restart"
    );
    assert_eq!(after["conversion_id"], conversion_id.as_str());
    // A click id issued before the restart still verifies: the secret is kept.
    let second =
        json!({"click_id": click_id, "order_id": "o-2", "amount": "20.00", "currency": "USD"});
    assert_eq!(
        postback(&h, &p.postback_secret, &second).await.0,
        StatusCode::CREATED
    );
    // The consumers run again after the restart: the new sale is commissioned and mailed.
    eventually("three more commission emails", || async {
        (h.emails("commission_").await.len() == 6).then_some(())
    })
    .await;
    h.host.stop().await;
}

async fn ten_concurrent_identical_postbacks_make_one_conversion(backend: TestBackend) {
    let h = TestHost::fresh(backend).await;
    let p = set_up(&h).await;
    let click_id = click(&h, &p.link_code).await;
    let sale =
        json!({"click_id": click_id, "order_id": "race-1", "amount": "55.55", "currency": "USD"});
    let mut tasks = Vec::new();
    for _ in 0..10 {
        let client = h.client.clone();
        let url = format!("{}/v1/postbacks", h.base);
        let (secret, body) = (p.postback_secret.clone(), sale.to_string());
        tasks.push(tokio::spawn(async move {
            let r = client
                .post(url)
                .bearer_auth(secret)
                .header("content-type", "application/json")
                .body(body)
                .send()
                .await
                .unwrap();
            let status = r.status();
            let v: Value = r.json().await.unwrap();
            (status, v["conversion_id"].as_str().unwrap().to_string())
        }));
    }
    let mut created = 0;
    let mut ids = std::collections::BTreeSet::new();
    for t in tasks {
        let (status, id) = t.await.unwrap();
        assert!(
            status == StatusCode::CREATED || status == StatusCode::OK,
            "{status}"
        );
        created += usize::from(status == StatusCode::CREATED);
        ids.insert(id);
    }
    assert_eq!(created, 1);
    assert_eq!(ids.len(), 1);
    let id = ids.into_iter().next().unwrap();
    eventually("lines", || async {
        (lines(&h, &id).await.len() == 3).then_some(())
    })
    .await;
    let convs = h.admin(Method::GET, "/v1/admin/conversions", None).await;
    let listed = strings_of(&convs.body["items"], "id");
    assert_eq!(
        listed,
        vec![id.as_str()],
        "exactly the one conversion is stored"
    );
    h.host.stop().await;
}

async fn a_signed_postback_is_accepted_and_a_stale_signature_is_not(backend: TestBackend) {
    let h = TestHost::fresh(backend).await;
    let p = set_up(&h).await;
    let click_id = click(&h, &p.link_code).await;
    let body = json!({"click_id": click_id, "order_id": 981, "amount": 12.5, "currency": "usd"})
        .to_string();
    let send = |t: i64| {
        let sig = upline_domain::postback_auth::sign(&p.postback_secret, t, body.as_bytes());
        h.client
            .post(format!("{}/v1/postbacks", h.base))
            .header("upline-signature", format!("t={t},v1={sig}"))
            .header("content-type", "application/json")
            .body(body.clone())
            .send()
    };
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let stale = send(now - 3600).await.unwrap();
    assert_eq!(stale.status(), StatusCode::UNAUTHORIZED);
    let r = send(now).await.unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let v: Value = r.json().await.unwrap();
    assert_eq!(
        v["conversion"]["order_id"], "981",
        "numeric order ids are kept as text"
    );
    assert_eq!(
        v["conversion"]["amount"], "12.50",
        "numeric amounts are read exactly"
    );
    h.host.stop().await;
}

async fn itemized_terms_and_first_time_customers_work_through_the_postback(backend: TestBackend) {
    let h = TestHost::fresh(backend).await;
    let p = set_up(&h).await;
    let r = h
        .put_campaign(
            "spring",
            json!({"name": "Spring", "destination_url": LANDING,
                "terms": {"revenue_share_percent": "10", "sku_rates": {"BOOT-1": "15"}, "excluded_categories": ["gift-cards"],
                          "base": {"net_of_discount": true},
                          "qualification": {"first_time_customer_only": true}, "bonuses": {"new_customer": "5.00"}}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["terms"]["sku_rates"]["BOOT-1"], "15");
    let order = |id: &str, click_id: &str| {
        json!({"click_id": click_id, "order_id": id, "amount": "150.00", "currency": "USD", "discount": "15.00",
               "customer_id": "cust-77", "line_items": [
                   {"sku": "BOOT-1", "category": "boots", "quantity": 1, "unit_price": "100.00"},
                   {"sku": "CARD-25", "category": "gift-cards", "quantity": 2, "unit_price": "25.00"}]})
    };
    let click_id = click(&h, &p.link_code).await;
    let bad = json!({"click_id": click_id, "order_id": "o-bad", "amount": "1.00", "currency": "USD",
                     "line_items": [{"sku": "X", "quantity": 0, "unit_price": "1.00"}]});
    let r = h.postback(&p.postback_secret, &bad).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.body["errors"][0]["field"], "line_items[0].quantity");

    let (status, first) = postback(&h, &p.postback_secret, &order("o-1", &click_id)).await;
    assert_eq!(status, StatusCode::CREATED, "{first}");
    assert_eq!(first["conversion"]["first_time_customer"], true);
    let (status, second) = postback(&h, &p.postback_secret, &order("o-2", &click_id)).await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(
        second["conversion"]["first_time_customer"], false,
        "the same customer again"
    );

    let first_id = first["conversion_id"].as_str().unwrap().to_string();
    let second_id = second["conversion_id"].as_str().unwrap().to_string();
    // First order: the 15.00 discount is shared 2:1 between the boots (100.00) and the
    // gift cards (50.00), so the boots earn 15 % of 90.00 = 13.50; gift cards are
    // excluded; plus the 5.00 new-customer bonus = 18.50. Level 1 earns 50 %, level 2 25 %.
    let got = eventually("the first order's lines", || async {
        let l = lines(&h, &first_id).await;
        (l.len() == 3).then_some(l)
    })
    .await;
    let amounts: Vec<&str> = got.iter().map(|l| l.2.as_str()).collect();
    assert_eq!(amounts, vec!["18.50", "9.25", "4.62"]);
    // Second order: a returning customer does not qualify, and the line says so.
    let items = h.wait_for_line_count(&second_id, 1).await;
    let line = &items[0];
    assert_eq!(line["amount"], "0.00");
    assert_eq!(line["explanation"]["rule"], "not_qualified");
    assert!(
        line["explanation"]["not_paid_because"]
            .as_str()
            .unwrap()
            .contains("converted before")
    );
    h.host.stop().await;
}

/// The sum of a partner's lines for one conversion, in cents, from their own view.
async fn partner_net(h: &TestHost, key: &str, conversion_id: &str) -> i64 {
    let r = h
        .call(Method::GET, "/v1/me/commissions?limit=200", Some(key), None)
        .await;
    r.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|l| l["conversion_id"] == conversion_id)
        .map(|l| cents(l["amount"].as_str().unwrap()))
        .sum()
}

async fn refunds_reverse_every_level_until_the_sale_nets_to_zero(backend: TestBackend) {
    let h = TestHost::fresh(backend).await;
    let p = set_up(&h).await;
    let click_id = click(&h, &p.link_code).await;
    let sale =
        json!({"click_id": click_id, "order_id": "o-9", "amount": "100.00", "currency": "USD"});
    let (_, created) = postback(&h, &p.postback_secret, &sale).await;
    let id = created["conversion_id"].as_str().unwrap().to_string();
    eventually("lines", || async {
        (lines(&h, &id).await.len() == 3).then_some(())
    })
    .await;

    let r = refund(
        &h,
        &p,
        json!({"refund_id": "r-1", "order_id": "o-9", "amount": "33.33"}),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let reversed = strings_of(&r.body["reversals"], "amount");
    // 33.33 % of 10.00, 5.00 and 2.50: 3.333 → 3.33, 1.6665 → 1.67, 0.83325 → 0.83.
    assert_eq!(reversed, vec!["-3.33", "-1.67", "-0.83"]);
    let again = refund(
        &h,
        &p,
        json!({"refund_id": "r-1", "order_id": "o-9", "amount": "33.33"}),
    )
    .await;
    assert_eq!(again.status, StatusCode::OK);
    let too_much = refund(
        &h,
        &p,
        json!({"refund_id": "r-2", "order_id": "o-9", "amount": "70.00"}),
    )
    .await;
    assert_eq!(too_much.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(too_much.text.contains("66.67"), "{}", too_much.text);
    let unknown = refund(&h, &p, json!({"refund_id": "r-3", "order_id": "nope"})).await;
    assert_eq!(unknown.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(unknown.body["errors"][0]["field"], "order_id");

    // A chargeback for everything left.
    let rest = refund(
        &h,
        &p,
        json!({"refund_id": "cb-1", "conversion_id": id, "kind": "chargeback"}),
    )
    .await;
    assert_eq!(rest.status, StatusCode::CREATED, "{}", rest.text);
    assert_eq!(rest.body["refunded_total"], "100.00");
    for (partner, key) in &p.partners {
        assert_eq!(
            partner_net(&h, key, &id).await,
            0,
            "partner {partner} nets to zero"
        );
    }
    let nothing_left = refund(&h, &p, json!({"refund_id": "r-4", "conversion_id": id})).await;
    assert_eq!(nothing_left.status, StatusCode::UNPROCESSABLE_ENTITY);
    let totals = report_totals(&h).await;
    assert_eq!(totals["revenue"], "0.00", "revenue net of refunds");
    assert_eq!(totals["commission"], "0.00");
    h.host.stop().await;
}

async fn sales_in_other_currencies_are_converted_at_the_operators_rate(backend: TestBackend) {
    let h = TestHost::fresh(backend).await;
    let p = set_up(&h).await;
    for (currency, rate) in [("EUR", "1.0843"), ("JPY", "0.0067")] {
        let r = h.put_exchange_rate(currency, rate).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    }
    let r = h.put_exchange_rate("USD", "1").await;
    assert_eq!(
        r.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "the program currency needs no rate"
    );

    let click_id = click(&h, &p.link_code).await;
    let sale = |order: &str, amount: &str, currency: &str| json!({"click_id": click_id, "order_id": order, "amount": amount, "currency": currency});
    let (status, gbp) = postback(&h, &p.postback_secret, &sale("o-gbp", "10.00", "GBP")).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        gbp["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("/v1/admin/exchange-rates/GBP")
    );

    let (status, eur) = postback(&h, &p.postback_secret, &sale("o-eur", "100.00", "EUR")).await;
    assert_eq!(status, StatusCode::CREATED, "{eur}");
    let c = &eur["conversion"];
    assert_eq!(
        (c["amount"].as_str(), c["currency"].as_str()),
        (Some("108.43"), Some("USD"))
    );
    assert_eq!(
        (
            c["original_amount"].as_str(),
            c["original_currency"].as_str()
        ),
        (Some("100.00"), Some("EUR"))
    );
    let (status, jpy) = postback(&h, &p.postback_secret, &sale("o-jpy", "1000", "JPY")).await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(jpy["conversion"]["amount"], "6.70");
    // The same order again, as first sent, is a repeat; in dollars it is a changed amount.
    assert_eq!(
        postback(&h, &p.postback_secret, &sale("o-eur", "100.00", "EUR"))
            .await
            .0,
        StatusCode::OK
    );
    assert_eq!(
        postback(&h, &p.postback_secret, &sale("o-eur", "108.43", "USD"))
            .await
            .0,
        StatusCode::CONFLICT
    );

    let id = eur["conversion_id"].as_str().unwrap().to_string();
    let items = h.wait_for_line_count(&id, 3).await;
    let direct = items.iter().find(|l| l["level"] == 0).unwrap().clone();
    assert_eq!(direct["amount"], "10.84", "10 % of 108.43");
    assert_eq!(
        direct["explanation"]["exchange"],
        "100.00 EUR at 1 EUR = 1.0843 USD = 108.43 USD"
    );

    // Two refunds of 50.00 EUR: 54.215 → 54.22, then 108.43 − 54.22 = 54.21; exactly the sale.
    let first = refund(
        &h,
        &p,
        json!({"refund_id": "r-1", "order_id": "o-eur", "amount": "50.00"}),
    )
    .await;
    assert_eq!(first.status, StatusCode::CREATED, "{}", first.text);
    assert_eq!(first.body["amount"], "54.22");
    let second = refund(
        &h,
        &p,
        json!({"refund_id": "r-2", "order_id": "o-eur", "amount": "50.00"}),
    )
    .await;
    assert_eq!(second.body["amount"], "54.21");
    assert_eq!(second.body["refunded_total"], "108.43");
    for (partner, key) in &p.partners {
        assert_eq!(
            partner_net(&h, key, &id).await,
            0,
            "partner {partner} nets to zero"
        );
    }
    h.host.stop().await;
}

async fn deep_links_go_only_where_the_campaign_allows_and_sub_ids_reach_the_conversion(
    backend: TestBackend,
) {
    let h = TestHost::fresh(backend).await;
    let p = set_up(&h).await;
    let go = |query: &str| {
        let h = &h;
        let path = format!("/r/{}?{query}", p.link_code);
        async move {
            let r = h.call(Method::GET, &path, None, None).await;
            assert_eq!(r.status, StatusCode::FOUND);
            r.headers["location"].to_str().unwrap().to_string()
        }
    };
    let deep =
        go("url=https%3A%2F%2Fshop.example.com%2Fboots%3Fsize%3D42&sub1=fb&sub2=adset%207").await;
    assert!(
        deep.starts_with("https://shop.example.com/boots?size=42&click_id="),
        "{deep}"
    );
    for hostile in [
        "url=%2F%2Fevil.com",
        "url=https%3A%2F%2Fshop.example.com%40evil.com",
        "url=javascript%3Aalert(1)",
    ] {
        let to = go(hostile).await;
        assert!(
            to.starts_with("https://shop.example.com/landing?src=aff&click_id="),
            "{hostile} → {to}"
        );
    }
    let click_id = click_id_in(&deep);
    eventually("the clicks recorded", || async {
        (report_totals(&h).await["clicks"] == 4).then_some(())
    })
    .await;
    let sale =
        json!({"click_id": click_id, "order_id": "o-subs", "amount": "10.00", "currency": "USD"});
    let (status, body) = postback(&h, &p.postback_secret, &sale).await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(
        body["conversion"]["subs"],
        json!({"sub1": "fb", "sub2": "adset 7"})
    );
    h.host.stop().await;
}
