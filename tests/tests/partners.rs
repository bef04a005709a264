//! The partner lifecycle end to end on the local host, on both backends: the program's
//! signup form and automatic approval, referral chains and the downline, cycles refused,
//! rejection, suspension and reinstatement with their emails, key rotation; and emails
//! that honour preferences, operator overrides and the unsubscribe link.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use upline_tests::host::{TestBackend, TestHost, error_fields, strings_of};

upline_tests::on_both_backends!(
    the_signup_form_referral_chains_and_automatic_approval,
    rejection_suspension_and_key_rotation_with_their_emails,
    notifications_follow_preferences_overrides_and_unsubscribe_but_statements_do_not,
);

fn program(auto_approve: bool) -> Value {
    json!({"name": "Acme", "currency": "USD", "hold_days": 0,
        "upline": {"depth": 2, "level_percents": ["50", "20"]},
        "signup": {"auto_approve": auto_approve, "form": [
            {"name": "website", "label": "Your website", "type": "url", "required": true},
            {"name": "country", "label": "Country", "type": "country"},
            {"name": "traffic", "label": "Traffic", "type": "multi_select", "options": ["seo", "social"]},
            {"name": "terms", "label": "I accept the terms", "type": "checkbox", "required": true}]}})
}

const SECRET: &str = "whsec_partner_tests_secret_0123456789";

async fn set_up(h: &TestHost, auto_approve: bool) -> String {
    let mut p = program(auto_approve);
    p["postback_secret"] = json!(SECRET);
    let r = h
        .program_with_spring(p, "https://shop.example.com/", json!({}))
        .await;
    assert_eq!(r.body["signup"]["form"][0]["name"], "website");
    SECRET.to_string()
}

fn applicant(name: &str, referred_by: Option<&str>) -> Value {
    json!({"email": format!("{name}@example.com"), "name": name, "type": "affiliate",
        "referred_by": referred_by,
        "fields": {"website": format!("https://{name}.example"), "terms": true}})
}

/// Applies and approves; returns (id, key, referral code).
async fn partner(h: &TestHost, name: &str, referred_by: Option<&str>) -> (String, String, String) {
    h.approve_application(&applicant(name, referred_by)).await
}

/// Gives the partner a promo code for the spring campaign.
async fn give_code(h: &TestHost, partner_id: &str, code: &str) {
    let r = h.assign_promo_code(code, partner_id, "spring").await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
}

/// A 100.00 sale with the code; returns the conversion id and its lines once computed.
async fn sale(h: &TestHost, secret: &str, code: &str, order: &str) -> (String, Vec<Value>) {
    h.promo_sale(secret, code, order, "100.00").await
}

/// A sale with a fresh code for the partner.
async fn promo_sale(
    h: &TestHost,
    secret: &str,
    partner_id: &str,
    order: &str,
) -> (String, Vec<Value>) {
    let code = format!("C{}", order.replace('-', ""));
    give_code(h, partner_id, &code).await;
    sale(h, secret, &code, order).await
}

async fn the_signup_form_referral_chains_and_automatic_approval(backend: TestBackend) {
    let h = TestHost::fresh(backend).await;
    let secret = set_up(&h, false).await;

    // Every wrong answer is named, and nothing is stored.
    let r = h
        .apply(
        &json!({"email": "x@example.com", "name": "X", "type": "affiliate", "referred_by": "nobody",
            "fields": {"website": "ftp://x.example", "country": "Atlantis", "traffic": ["tv"], "age": 3}}),
    )
    .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
    assert_eq!(
        error_fields(&r.body),
        [
            "fields.age",
            "fields.website",
            "fields.country",
            "fields.traffic",
            "fields.terms",
            "referred_by"
        ]
    );
    let list = h.admin(Method::GET, "/v1/admin/partners", None).await;
    assert_eq!(list.body["items"].as_array().unwrap().len(), 0);

    // A chain: Ann recruits Ben, Ben recruits Cy.
    let ann = partner(&h, "ann", None).await;
    let r = h.apply(&applicant("ann", None)).await;
    assert_eq!(error_fields(&r.body), ["email"], "duplicate email");
    let ben = partner(&h, "ben", Some(&ann.2)).await;
    let cy = partner(&h, "cy", Some(&ben.2.to_uppercase())).await;
    let me = h.me(&cy.1).await;
    assert_eq!(me.body["recruited_by"], ben.0.as_str());
    assert_eq!(me.body["fields"]["website"], "https://cy.example/");
    assert_eq!(me.body["notifications"]["commission_approved"], true);
    // Ann under Cy would close the loop.
    let r = h
        .admin(
            Method::PUT,
            &format!("/v1/admin/partners/{}/recruiter", ann.0),
            Some(json!({"recruiter_id": cy.0})),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
    assert!(r.text.contains("cycle"), "{}", r.text);

    // Approval emails: the application, the approval, the welcome with link and key.
    h.only_email(&format!("application-received_{}", cy.0))
        .await;
    h.only_email(&format!("partner-approved_{}", cy.0)).await;
    let welcome = h.only_email(&format!("welcome_{}", cy.0)).await;
    assert!(welcome.contains(&cy.1), "the key is in the welcome email");
    assert!(welcome.contains(&cy.2), "and the referral code");
    let links = h.call(Method::GET, "/v1/me/links", Some(&cy.1), None).await;
    let url = links.body["items"][0]["url"].as_str().unwrap();
    assert!(welcome.contains(url), "and the link made for the campaign");
    // Creating the link again returns the same one.
    let again = h
        .call(
            Method::POST,
            "/v1/me/links",
            Some(&cy.1),
            Some(r#"{"campaign_id":"spring"}"#),
        )
        .await;
    assert_eq!(
        (again.status, again.body["url"].as_str()),
        (StatusCode::OK, Some(url))
    );

    // Cy sells: Ben earns level 1, Ann level 2; Ann's downline shows both by level.
    promo_sale(&h, &secret, &cy.0, "o-1").await;
    let d = h
        .call(Method::GET, "/v1/me/downline", Some(&ann.1), None)
        .await;
    let rows: Vec<(String, u64, String)> = d.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["id"].as_str().unwrap().to_string(),
                m["level"].as_u64().unwrap(),
                m["contribution"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    // 10 % of 100.00 is 10.00; Ann's level 2 earns 20 % of it, on Cy's conversion.
    assert_eq!(
        rows,
        [
            (ben.0.clone(), 1, "0.00".into()),
            (cy.0.clone(), 2, "2.00".into())
        ]
    );

    // With automatic approval the applicant gets their key at once.
    let mut p = program(true);
    p["postback_secret"] = json!(secret);
    h.put_program(p).await;
    let r = h.apply(&applicant("dee", Some(&ann.2))).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    assert_eq!(r.body["status"], "approved");
    let key = r.body["api_key"].as_str().unwrap();
    let me = h.me(key).await;
    assert_eq!(me.status, StatusCode::OK);
    h.host.stop().await;
}

async fn rejection_suspension_and_key_rotation_with_their_emails(backend: TestBackend) {
    let h = TestHost::fresh(backend).await;
    let secret = set_up(&h, false).await;

    let r = h.apply(&applicant("eve", None)).await;
    let eve = r.body["id"].as_str().unwrap().to_string();
    let r = h.partner_action(&eve, "reject", Some(json!({}))).await;
    assert_eq!(error_fields(&r.body), ["reason"]);
    let reason = json!({"reason": "Coupon sites only, sorry."});
    let r = h.partner_action(&eve, "reject", Some(reason)).await;
    assert_eq!(
        (r.body["status"].as_str(), r.body["status_reason"].as_str()),
        (Some("rejected"), Some("Coupon sites only, sorry."))
    );
    let email = h.only_email(&format!("partner-rejected_{eve}")).await;
    assert!(email.contains("Coupon sites only, sorry."), "{email}");
    let r = h.approve(&eve).await;
    assert_eq!(r.status, StatusCode::CONFLICT);

    // Fay is suspended: her link still redirects, her sale earns nothing.
    let fay = partner(&h, "fay", None).await;
    give_code(&h, &fay.0, "FAY10").await;
    let reason = json!({"reason": "Brand bidding"});
    let r = h.partner_action(&fay.0, "suspend", Some(reason)).await;
    assert_eq!(r.body["status"], "suspended", "{}", r.text);
    let email = h.only_email(&format!("partner-suspended_{}", fay.0)).await;
    assert!(email.contains("Brand bidding"));
    let links = h
        .call(Method::GET, "/v1/me/links", Some(&fay.1), None)
        .await;
    let code = links.body["items"][0]["code"].as_str().unwrap().to_string();
    let visit = h
        .client
        .get(format!("{}/r/{code}", h.base))
        .send()
        .await
        .unwrap();
    assert_eq!(visit.status(), StatusCode::FOUND);
    assert!(
        visit.headers()["location"]
            .to_str()
            .unwrap()
            .starts_with("https://shop.example.com/")
    );
    let (_, suspended) = sale(&h, &secret, "FAY10", "s-1").await;
    let line = &suspended[0];
    assert_eq!(line["amount"], "0.00");
    assert!(
        line["explanation"]["summary"]
            .as_str()
            .unwrap()
            .contains("suspended"),
        "{line}"
    );
    // Reinstated, she earns again.
    let r = h.partner_action(&fay.0, "reinstate", None).await;
    assert_eq!(r.body["status"], "approved");
    let (_, reinstated) = sale(&h, &secret, "FAY10", "s-2").await;
    assert_eq!(reinstated[0]["amount"], "10.00");

    // Keys: the partner rotates hers, then the operator does; each old key stops working.
    let r = h
        .call(Method::POST, "/v1/me/api-key", Some(&fay.1), None)
        .await;
    let second = r.body["api_key"].as_str().unwrap().to_string();
    assert_ne!(second, fay.1);
    assert_eq!(h.me(&fay.1).await.status, StatusCode::UNAUTHORIZED);
    assert_eq!(h.me(&second).await.status, StatusCode::OK);
    let r = h.partner_action(&fay.0, "api-key", None).await;
    let third = r.body["api_key"].as_str().unwrap().to_string();
    assert_eq!(h.me(&second).await.status, StatusCode::UNAUTHORIZED);
    assert_eq!(h.me(&third).await.status, StatusCode::OK);

    let log = h.admin(Method::GET, "/v1/admin/audit-log", None).await;
    let actions = strings_of(&log.body["items"], "action");
    for action in [
        "partner.rejected",
        "partner.suspended",
        "partner.reinstated",
        "partner.api_key_rotated",
        "partner.approved",
        "program.created",
        "campaign.created",
        "promo_code.assigned",
    ] {
        assert!(
            actions.contains(&action),
            "{action} missing from {actions:?}"
        );
    }
    assert_eq!(log.body["items"][0]["actor"], "local");
    h.host.stop().await;
}

async fn notifications_follow_preferences_overrides_and_unsubscribe_but_statements_do_not(
    backend: TestBackend,
) {
    let h = TestHost::fresh(backend).await;
    let secret = set_up(&h, false).await;
    let gus = partner(&h, "gus", None).await;

    // An override that does not render is refused on save, naming the part.
    let path = "/v1/admin/email-templates/commission_approved";
    let r = h
        .admin(
            Method::PUT,
            path,
            Some(json!({"subject": "Approved: {{ amount }}", "text": "{{ amount_due }}", "html": "<p>{{ amount }}</p>"})),
        )
        .await;
    assert_eq!(error_fields(&r.body), ["text"], "{}", r.text);
    let r = h
        .admin(
            Method::PUT,
            path,
            Some(json!({"subject": "Cha-ching: {{ amount }} approved",
                "text": "{{ summary }}\n{{ unsubscribe_url }}", "html": "<p>{{ summary }}</p>"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    assert_eq!(r.body["subject"], "Cha-ching: 10.00 USD approved");
    let shown = h.admin(Method::GET, path, None).await;
    assert_eq!(shown.body["overridden"], true);

    // Gus opts in to an email per conversion; a sale and its approval email him twice.
    let r = h.opt_in_to_conversion_emails(&gus.1).await;
    assert_eq!(
        r.body["notifications"]["new_conversion"], true,
        "{}",
        r.text
    );
    let (conversion, first) = promo_sale(&h, &secret, &gus.0, "g-1").await;
    let line_id = first[0]["id"].as_str().unwrap().replace(':', "_");
    let earned = h.only_email(&format!("commission_{line_id}")).await;
    assert!(earned.contains("List-Unsubscribe: <"), "{earned}");
    let r = h.approve_conversion(&conversion).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let approved = h
        .only_email(&format!("commission-approved_{line_id}"))
        .await;
    assert!(
        approved.contains("Subject: Cha-ching: 10.00 USD approved"),
        "{approved}"
    );

    // The link in the email: a page first (scanners follow links), then the button.
    let link = approved
        .lines()
        .find(|l| l.trim().starts_with("http") && l.contains("/v1/unsubscribe?"))
        .unwrap()
        .trim()
        .to_string();
    let path = &link[link.find("/v1/unsubscribe").unwrap()..];
    let page = h.call(Method::GET, path, None, None).await;
    assert!(page.text.contains("<form method=\"post\""), "{}", page.text);
    let me = h.me(&gus.1).await;
    assert_eq!(
        me.body["notifications"]["unsubscribed"], false,
        "a GET changes nothing"
    );
    let forged = h
        .call(
            Method::POST,
            &format!("/v1/unsubscribe?partner={}&token=nope", gus.0),
            None,
            None,
        )
        .await;
    assert_eq!(forged.status, StatusCode::NOT_FOUND);
    let done = h.call(Method::POST, path, None, None).await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.text);
    let me = h.me(&gus.1).await;
    assert_eq!(me.body["notifications"]["unsubscribed"], true);

    // Another sale, approved and paid: no notifications, but the statement comes.
    let (conversion, second) = promo_sale(&h, &secret, &gus.0, "g-2").await;
    let line_id = second[0]["id"].as_str().unwrap().replace(':', "_");
    h.approve_conversion(&conversion).await;
    let run = h.start_payout_run(None).await;
    let payout = run.body["items"][0]["id"].as_str().unwrap().to_string();
    h.settle_payout(&payout, "paid", json!({})).await;
    let statement = h
        .only_email(&format!("payout-paid_{}", payout.replace(':', "_")))
        .await;
    assert!(statement.contains("20.00 USD"), "{statement}");
    assert!(
        !statement.contains("List-Unsubscribe"),
        "statements are not notifications"
    );
    assert!(h.emails(&format!("commission_{line_id}")).await.is_empty());
    assert!(
        h.emails(&format!("commission-approved_{line_id}"))
            .await
            .is_empty()
    );
    h.host.stop().await;
}
