//! Payout runs end to end on the local host, on both backends: the minimum carries small
//! balances over, a refund after a payout is subtracted from the next one, a period runs
//! once, the three CSV formats, paid and failed payouts with the partner's balance and
//! statement email; and the local schedule starting the run of the program's cadence.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use upline_domain::clock::{Day, Timestamp};
use upline_tests::host::{TestBackend, TestHost, eventually, strings_of};

upline_tests::on_both_backends!(
    the_minimum_carries_balances_over_and_a_period_runs_once,
    a_refund_after_a_payout_is_subtracted_from_the_next_one,
    runs_export_csv_and_paid_or_failed_payouts_settle_the_balance,
);

struct Program {
    secret: String,
    /// (partner id, partner key, promo code)
    partners: Vec<(String, String, String)>,
}

/// A program paying 10 % with no hold, a minimum of 50.00, and two approved partners
/// with promo codes; Ann is paid by PayPal, Ben by bank transfer.
async fn set_up(h: &TestHost) -> Program {
    let program = json!({"name": "Acme", "currency": "USD", "hold_days": 0,
        "payouts": {"minimum": "50.00"}});
    let r = h
        .program_with_spring(program, "https://shop.example.com/", json!({}))
        .await;
    assert_eq!(r.body["payouts"]["minimum"], "50.00");
    let secret = r.body["postback_secret"].as_str().unwrap().to_string();
    let mut partners = Vec::new();
    for (name, details) in [
        (
            "Ann",
            json!({"method": "paypal", "email": "ann.pay@example.com"}),
        ),
        (
            "Ben",
            json!({"method": "bank_transfer", "account_holder": "Ben Berg, Ltd",
                "iban": "DE89 3704 0044 0532 0130 00", "receiver_type": "business"}),
        ),
    ] {
        let application =
            json!({"email": format!("{name}@example.com"), "name": name, "type": "influencer"});
        let (id, key, _) = h.approve_application(&application).await;
        let r = h.set_payout_details(&key, &details).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
        let code = name.to_ascii_uppercase();
        let r = h.assign_promo_code(&code, &id, "spring").await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
        partners.push((id, key, code));
    }
    Program { secret, partners }
}

/// A sale through a promo code, waited for until its line is approved (no hold).
async fn sale(h: &TestHost, p: &Program, partner: usize, order: &str, amount: &str) -> String {
    let code = &p.partners[partner].2;
    h.promo_sale(&p.secret, code, order, amount).await.0
}

fn today() -> Day {
    Timestamp::from_secs(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs() as i64,
    )
    .day()
}

async fn run(h: &TestHost, period: &str) -> (StatusCode, Value) {
    let r = h.start_payout_run(Some(period)).await;
    (r.status, r.body)
}

async fn balance(h: &TestHost, key: &str) -> Value {
    let r = h.call(Method::GET, "/v1/me/balance", Some(key), None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    r.body["items"][0].clone()
}

fn payout_of<'a>(run: &'a Value, partner: &str) -> Option<&'a Value> {
    run["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["partner_id"] == partner)
}

async fn the_minimum_carries_balances_over_and_a_period_runs_once(backend: TestBackend) {
    let h = TestHost::fresh(backend).await;
    let p = set_up(&h).await;
    let (ann, ben) = (&p.partners[0], &p.partners[1]);
    // Ann earns 30.00, Ben 80.00: only Ben reaches the 50.00 minimum.
    sale(&h, &p, 0, "a-1", "300.00").await;
    sale(&h, &p, 1, "b-1", "800.00").await;
    let first = today().to_string();
    let (status, r1) = run(&h, &first).await;
    assert_eq!(status, StatusCode::CREATED, "{r1}");
    assert_eq!(r1["status"], "complete");
    assert_eq!(
        (r1["payouts"].as_u64(), r1["carried_over"].as_u64()),
        (Some(1), Some(1))
    );
    assert_eq!(
        r1["totals"],
        json!([{"currency": "USD", "amount": "80.00"}])
    );
    assert!(payout_of(&r1, &ann.0).is_none());
    let bens = payout_of(&r1, &ben.0).unwrap();
    assert_eq!(
        (bens["amount"].as_str(), bens["line_count"].as_u64()),
        (Some("80.00"), Some(1))
    );
    assert_eq!(bens["status"], "pending");
    assert_eq!(bens["method"], "bank_transfer");
    let b = balance(&h, &ann.1).await;
    assert_eq!(
        (b["approved"].as_str(), b["in_payout"].as_str()),
        (Some("30.00"), Some("0.00"))
    );

    // The same period again: the same run, nothing new, even with a new sale waiting.
    sale(&h, &p, 0, "a-2", "250.00").await;
    let (status, again) = run(&h, &first).await;
    assert_eq!(status, StatusCode::OK, "{again}");
    assert_eq!(again["items"], r1["items"]);
    // With no hold the new line is due at once, but still pending until a sweep or a run
    // approves it.
    let b = balance(&h, &ann.1).await;
    assert_eq!(
        (b["pending"].as_str(), b["approved"].as_str()),
        (Some("25.00"), Some("30.00"))
    );

    // The next period pays Ann both sales, 55.00, now above the minimum.
    let (status, r2) = run(&h, &today().next().to_string()).await;
    assert_eq!(status, StatusCode::CREATED, "{r2}");
    let anns = payout_of(&r2, &ann.0).expect("Ann is paid in the next run");
    assert_eq!(
        (anns["amount"].as_str(), anns["line_count"].as_u64()),
        (Some("55.00"), Some(2))
    );
    assert!(
        payout_of(&r2, &ben.0).is_none(),
        "Ben's lines were paid already"
    );
    let b = balance(&h, &ann.1).await;
    assert_eq!(
        (b["approved"].as_str(), b["in_payout"].as_str()),
        (Some("0.00"), Some("55.00"))
    );
    // The statement lists the lines with their explanations, for the partner only.
    let path = format!("/v1/me/payouts/{}", anns["id"].as_str().unwrap());
    let st = h.call(Method::GET, &path, Some(&ann.1), None).await;
    assert_eq!(st.status, StatusCode::OK, "{}", st.text);
    let amounts = strings_of(&st.body["lines"], "amount");
    assert_eq!(amounts, ["30.00", "25.00"]);
    assert!(
        st.body["lines"][0]["summary"]
            .as_str()
            .unwrap()
            .contains("10%")
    );
    let other = h.call(Method::GET, &path, Some(&ben.1), None).await;
    assert_eq!(other.status, StatusCode::NOT_FOUND);
    // Runs are listed newest first, and a bad period names the field.
    let list = h.admin(Method::GET, "/v1/admin/payout-runs", None).await;
    assert_eq!(list.body["items"][0]["id"], r2["id"]);
    let (status, bad) = run(&h, "last month").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(bad["errors"][0]["field"], "period");
    h.host.stop().await;
}

async fn a_refund_after_a_payout_is_subtracted_from_the_next_one(backend: TestBackend) {
    let h = TestHost::fresh(backend).await;
    let p = set_up(&h).await;
    let ben = &p.partners[1];
    let conversion = sale(&h, &p, 1, "b-1", "1000.00").await;
    let (_, r1) = run(&h, &today().to_string()).await;
    let first = payout_of(&r1, &ben.0).unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let r = h
        .settle_payout(&first, "paid", json!({"reference": "WISE-1"}))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    // Half the order comes back after Ben was paid 100.00: he owes 50.00.
    let refund = json!({"conversion_id": conversion, "refund_id": "r-1", "amount": "500.00"});
    let r = h.refund(&p.secret, &refund).await;
    assert!(r.status.is_success(), "{}", r.text);
    let b = balance(&h, &ben.1).await;
    assert_eq!(
        (b["approved"].as_str(), b["paid"].as_str()),
        (Some("-50.00"), Some("100.00"))
    );
    // A negative balance is never paid: the next run carries it.
    let (_, r2) = run(&h, &today().next().to_string()).await;
    assert!(payout_of(&r2, &ben.0).is_none());
    assert_eq!(r2["carried_over"], 1);
    // Then a 120.00 commission: the payout is 120.00 − 50.00.
    sale(&h, &p, 1, "b-2", "1200.00").await;
    let (_, r3) = run(&h, &today().next().next().to_string()).await;
    let third = payout_of(&r3, &ben.0).expect("Ben is paid the difference");
    assert_eq!(
        (
            third["amount"].as_str(),
            third["earned"].as_str(),
            third["reversed"].as_str()
        ),
        (Some("70.00"), Some("120.00"), Some("-50.00"))
    );
    assert_eq!(third["line_count"], 2);
    h.host.stop().await;
}

async fn runs_export_csv_and_paid_or_failed_payouts_settle_the_balance(backend: TestBackend) {
    let h = TestHost::fresh(backend).await;
    let p = set_up(&h).await;
    let (ann, ben) = (&p.partners[0], &p.partners[1]);
    sale(&h, &p, 0, "a-1", "612.34").await;
    sale(&h, &p, 1, "b-1", "700.00").await;
    let period = today().to_string();
    let (_, r) = run(&h, &period).await;
    let anns = payout_of(&r, &ann.0).unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let bens = payout_of(&r, &ben.0).unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();

    let export = |format: &'static str| {
        let h = &h;
        let period = period.clone();
        async move {
            let r = h
                .admin(
                    Method::GET,
                    &format!("/v1/admin/payout-runs/{period}/export?format={format}"),
                    None,
                )
                .await;
            assert_eq!(r.status, StatusCode::OK, "{}", r.text);
            assert_eq!(r.headers["content-type"], "text/csv; charset=utf-8");
            r.text
        }
    };
    let generic = export("generic").await;
    let rows: Vec<&str> = generic.lines().collect();
    assert_eq!(
        rows[0],
        "payout_id,partner_id,partner_name,partner_email,amount,currency,lines,method,destination,period"
    );
    assert_eq!(rows.len(), 3, "{generic}");
    assert!(
        rows.contains(
            &format!(
                "{anns},{},Ann,ann@example.com,61.23,USD,1,paypal,ann.pay@example.com,{period}",
                ann.0
            )
            .as_str()
        ),
        "{generic}"
    );
    assert!(rows.contains(&format!(
        "{bens},{},Ben,ben@example.com,70.00,USD,1,bank_transfer,\"Ben Berg, Ltd, DE89370400440532013000\",{period}",
        ben.0
    ).as_str()), "{generic}");
    let paypal = export("paypal").await;
    // PayPal's upload has no header: the first row is the first payment.
    let customer_id: String = format!("{period}-{}", ann.0).chars().take(30).collect();
    assert_eq!(
        paypal,
        format!("ann.pay@example.com,61.23,USD,{customer_id},Commissions for {period}\r\n")
    );
    let wise = export("wise").await;
    assert_eq!(
        wise,
        format!(
            "name,recipientEmail,paymentReference,receiverType,amountCurrency,amount,sourceCurrency,targetCurrency,IBAN,BIC\r\n\
             \"Ben Berg, Ltd\",ben@example.com,Commissions {period},INSTITUTION,target,70.00,USD,USD,DE89370400440532013000,\r\n"
        )
    );
    let bad = h
        .admin(
            Method::GET,
            &format!("/v1/admin/payout-runs/{period}/export?format=xls"),
            None,
        )
        .await;
    assert_eq!(bad.body["errors"][0]["field"], "format");

    // Ann's payment fails: her line is payable again, and the next run pays it anew.
    let r = h
        .settle_payout(&anns, "failed", json!({"reason": "PayPal account closed"}))
        .await;
    assert_eq!(
        (r.status, r.body["status"].as_str()),
        (StatusCode::OK, Some("failed"))
    );
    let b = balance(&h, &ann.1).await;
    assert_eq!(
        (b["approved"].as_str(), b["in_payout"].as_str()),
        (Some("61.23"), Some("0.00"))
    );
    let paid_twice = h.settle_payout(&anns, "paid", json!({})).await;
    assert_eq!(
        paid_twice.status,
        StatusCode::CONFLICT,
        "a failed payout stays failed"
    );
    let (_, next) = run(&h, &today().next().to_string()).await;
    assert_eq!(payout_of(&next, &ann.0).unwrap()["amount"], "61.23");

    // Ben's is paid: his line is paid, his balance moves, he gets one statement email.
    for _ in 0..2 {
        let r = h
            .settle_payout(&bens, "paid", json!({"reference": "TX-778"}))
            .await;
        assert_eq!(
            (r.status, r.body["status"].as_str()),
            (StatusCode::OK, Some("paid"))
        );
        assert_eq!(r.body["note"], "TX-778");
    }
    let b = balance(&h, &ben.1).await;
    assert_eq!(
        (b["in_payout"].as_str(), b["paid"].as_str()),
        (Some("0.00"), Some("70.00"))
    );
    let lines = h
        .call(Method::GET, "/v1/me/commissions", Some(&ben.1), None)
        .await;
    assert_eq!(lines.body["items"][0]["status"], "paid");
    let stem = format!("payout-paid_{}", bens.replace(':', "_"));
    let eml = h.only_email(&stem).await;
    assert!(eml.contains("70.00 USD"), "{eml}");
    assert!(eml.contains("TX-778"), "{eml}");
    // The audit log has both verdicts.
    let log = h.admin(Method::GET, "/v1/admin/audit-log", None).await;
    let actions = strings_of(&log.body["items"], "action");
    assert!(actions.contains(&"payout.marked_paid"), "{actions:?}");
    assert!(actions.contains(&"payout.marked_failed"), "{actions:?}");
    assert_eq!(
        actions
            .iter()
            .filter(|a| **a == "payout.marked_paid")
            .count(),
        1
    );
    h.host.stop().await;
}

/// The local host's stand-in for the hourly schedule starts the run of the period the
/// program's cadence says just ended, once, and says so in the audit log.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_local_schedule_runs_the_cadence_period_once() {
    let h = TestHost::fresh_configured(TestBackend::Embedded, |c| {
        c.schedule_every = Some(std::time::Duration::from_millis(200));
    })
    .await;
    let r = h
        .put_program(json!({"name": "Acme", "currency": "USD", "payouts": {"cadence": "weekly"}}))
        .await;
    assert_eq!(r.body["payouts"]["cadence"], "weekly", "{}", r.text);
    let expected = upline_domain::payout::Cadence::Weekly
        .last_ended(today().start().plus_secs(60))
        .unwrap()
        .name;
    let runs = eventually("the scheduled run", || async {
        let r = h.admin(Method::GET, "/v1/admin/payout-runs", None).await;
        (!r.body["items"].as_array()?.is_empty()).then_some(r.body)
    })
    .await;
    assert_eq!(runs["items"][0]["id"], expected.as_str());
    assert_eq!(runs["items"][0]["started_by"], "schedule");
    // Later ticks find the period done.
    tokio::time::sleep(std::time::Duration::from_millis(700)).await;
    let r = h.admin(Method::GET, "/v1/admin/payout-runs", None).await;
    assert_eq!(r.body["items"].as_array().unwrap().len(), 1);
    let log = h.admin(Method::GET, "/v1/admin/audit-log", None).await;
    let started: Vec<&Value> = log.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"] == "payout_run.started")
        .collect();
    assert_eq!(started.len(), 1);
    assert_eq!(started[0]["actor"], "schedule");
    h.host.stop().await;
}
