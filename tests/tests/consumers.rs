//! The consumer stages under redelivery and bad messages, on the embedded adapters: a
//! click delivered twice is counted once, a conversion commissioned twice pays once, and
//! an undecodable message is poison without holding up the rest of its batch.

use serde_json::{Value, json};
use std::sync::Arc;
use upline_domain::commission::{CommissionLine, UplineSeat};
use upline_domain::ids::{CampaignId, ConversionId, LineId, PartnerId};

use upline_clicks::ClickRecorder;
use upline_domain::clock::Timestamp;
use upline_domain::messages::Message;
use upline_domain::ports::{Delivery, DeliveryOutcome, MessageHandler, QueueName};
use upline_domain::services::Services;
use upline_domain::store::StatsRow;
use upline_domain::tracking::Click;
use upline_domain::usecases::admin;
use upline_domain::usecases::postback::{PostbackRequest, record_postback};
use upline_domain::usecases::tracking::{ResolvedLink, new_click};
use upline_embedded::EmbeddedStore;
use upline_payout::CommissionCalculator;
use upline_tests::host::BROWSER;
use upline_tests::request;
use upline_tests::world::{
    EmbeddedWorld, approved_partner, link_code, put_campaign, put_program, resolve,
};

type World = EmbeddedWorld;

fn delivery(n: u32, body: String) -> Delivery {
    Delivery {
        message_id: format!("m-{n}"),
        receipt: format!("r-{n}"),
        body,
        receive_count: 1,
    }
}

/// An empty world on the consumers' own clock and click secret.
async fn world() -> World {
    EmbeddedWorld::open(Timestamp(1_795_000_000_000), 9, "http://links.test")
}

/// A program with a two-level upline and a partner chain C ← B ← A; returns A's link code.
async fn program(s: &Services) -> String {
    let program = json!({"name": "P", "currency": "USD", "hold_days": 0,
        "upline": {"depth": 2, "base": "sale", "level_percents": ["3", "1.5"]}});
    put_program(s, program).await;
    set_terms(
        s,
        json!({"cpa": "2.00", "revenue_share_percent": "5"}),
        Value::Null,
    )
    .await;
    let mut referred_by = Value::Null;
    let mut last = None;
    for email in ["c@x.test", "b@x.test", "a@x.test"] {
        let application =
            json!({"email": email, "name": "N", "type": "reseller", "referred_by": referred_by});
        let p = approved_partner(s, application).await;
        referred_by = json!(p.referral_code);
        last = Some(p.id);
    }
    link_code(s, last.unwrap().as_str(), "c").await
}

/// Today's report rows, summed by `count`.
async fn today_total(s: &Services, count: fn(&StatsRow) -> i64) -> i64 {
    let today = s.now().day();
    s.store
        .stats_on_days(&[today])
        .await
        .unwrap()
        .iter()
        .map(count)
        .sum()
}

async fn clicks_counted(s: &Services) -> i64 {
    today_total(s, |r| r.clicks).await
}

/// A USD sale of `amount` for `order`, through the click `click_id` if given.
fn sale(click_id: Option<String>, order: &str, amount: &str) -> PostbackRequest {
    request!(
        json!({"click_id": click_id, "order_id": order, "amount": amount,
        "currency": "USD"})
    )
}

/// The (level, amount) of each of a conversion's lines.
async fn levels(s: &Services, id: &str) -> Vec<(u8, i64)> {
    s.store
        .lines_of_conversion(&ConversionId::from(id))
        .await
        .unwrap()
        .iter()
        .map(|l| (l.level, l.amount.minor()))
        .collect()
}

/// The message the postback stage queues for a recorded conversion.
fn conversion_message(conversion_id: &str) -> String {
    Message::ConversionRecorded {
        conversion_id: conversion_id.into(),
    }
    .encode("e", Timestamp(0), "c")
}

fn click_message(click: &Click) -> String {
    Message::ClickRecorded(click.clone()).encode("e", Timestamp(0), "corr")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redelivered_click_is_counted_once() {
    let w = world().await;
    let code = program(&w.services).await;
    let resolved = resolve(&w.services, &code).await;
    let (c1, _) = new_click(&w.services, &resolved, Some("203.0.113.9"), Some(BROWSER)).unwrap();
    let (c2, _) = new_click(&w.services, &resolved, None, Some(BROWSER)).unwrap();
    let recorder = ClickRecorder::new(w.services.store.clone());
    let first = recorder.handle(&[delivery(1, click_message(&c1))]).await;
    assert_eq!(first, vec![DeliveryOutcome::Done]);
    // The same click again, in a batch with a new one: only the new one counts.
    let again = recorder
        .handle(&[
            delivery(2, click_message(&c1)),
            delivery(3, click_message(&c2)),
        ])
        .await;
    assert_eq!(again, vec![DeliveryOutcome::Done, DeliveryOutcome::Done]);
    assert_eq!(clicks_counted(&w.services).await, 2);
    let stored = w.services.store.click(&c1.click_id).await.unwrap().unwrap();
    assert_ne!(
        stored.ip_hash.as_deref(),
        Some("203.0.113.9"),
        "IPs are never stored in the clear"
    );
    assert_eq!(stored.ip_hash.as_ref().map(String::len), Some(32));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_undecodable_message_is_poison_and_the_rest_of_the_batch_still_counts() {
    let w = world().await;
    let code = program(&w.services).await;
    let resolved = resolve(&w.services, &code).await;
    let (c1, _) = new_click(&w.services, &resolved, None, Some(BROWSER)).unwrap();
    let wrong_kind = Message::ConversionRecorded {
        conversion_id: "x".into(),
    }
    .encode("e", Timestamp(0), "c");
    let outcomes = ClickRecorder::new(w.services.store.clone())
        .handle(&[
            delivery(1, "{not json".into()),
            delivery(2, click_message(&c1)),
            delivery(3, wrong_kind),
        ])
        .await;
    let dead_lettered = |o: &DeliveryOutcome| matches!(o, DeliveryOutcome::DeadLetter(_));
    assert!(dead_lettered(&outcomes[0]), "{outcomes:?}");
    assert_eq!(outcomes[1], DeliveryOutcome::Done);
    assert!(dead_lettered(&outcomes[2]), "{outcomes:?}");
    assert_eq!(clicks_counted(&w.services).await, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_conversion_commissioned_twice_pays_once_with_the_same_lines() {
    let w = world().await;
    let s = &w.services;
    let code = program(s).await;
    let resolved = resolve(s, &code).await;
    let (click, _) = new_click(s, &resolved, None, Some(BROWSER)).unwrap();
    let outcome = record_postback(s, sale(Some(click.click_id), "o-9", "80.10"), "t")
        .await
        .unwrap();
    let id = outcome.conversion.id;
    let message = conversion_message(id.as_str());
    let calculator = CommissionCalculator::new(s.clone());
    for n in 0..3 {
        assert_eq!(
            calculator.handle(&[delivery(n, message.clone())]).await,
            vec![DeliveryOutcome::Done]
        );
    }
    let lines = s.store.lines_of_conversion(&id).await.unwrap();
    let amounts: Vec<(u8, i64)> = lines.iter().map(|l| (l.level, l.amount.minor())).collect();
    // Direct: 2.00 + 5 % of 80.10 (4.005 → 4.00, half to even) = 6.00;
    // level 1: 3 % of the sale = 2.403 → 2.40; level 2: 1.5 % = 1.2015 → 1.20.
    assert_eq!(amounts, vec![(0, 600), (1, 240), (2, 120)]);
    let totals = today_total(s, |r| r.commission_minor).await;
    assert_eq!(totals, 960, "counters added once");
    let conversions = today_total(s, |r| r.conversions).await;
    assert_eq!(conversions, 1);
    let unknown = conversion_message("nope");
    assert!(matches!(
        calculator.handle(&[delivery(9, unknown)]).await.as_slice(),
        [DeliveryOutcome::DeadLetter(reason)] if reason.contains("nope")
    ));
}

/// The commission stage reads the program and the campaign once per batch, however many
/// conversions the batch holds, and again for the next batch (an operator's change is at
/// most one batch late).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_reads_the_program_and_its_campaign_once() {
    let w = world().await;
    let s = &w.services;
    let code = program(s).await;
    let resolved = resolve(s, &code).await;
    let mut messages = Vec::new();
    for n in 0..12 {
        let (click, _) = new_click(s, &resolved, None, Some(BROWSER)).unwrap();
        let out = record_postback(
            s,
            sale(Some(click.click_id), &format!("o-{n}"), "10.00"),
            "t",
        )
        .await
        .unwrap();
        let message = conversion_message(out.conversion.id.as_str());
        messages.push((out.conversion.id, message));
    }
    let counting = Arc::new(upline_tests::faulty::WatchedTable::over(
        s.store.table().clone(),
    ));
    let counted = Services {
        store: s.store.over(counting.clone()),
        ..s.clone()
    };
    let calculator = CommissionCalculator::new(counted);
    let (first, second) = messages.split_at(8);
    let batch = |part: &[(ConversionId, String)]| -> Vec<Delivery> {
        part.iter()
            .enumerate()
            .map(|(n, (_, m))| delivery(n as u32, m.clone()))
            .collect()
    };
    let outcomes = calculator.handle(&batch(first)).await;
    assert!(
        outcomes.iter().all(|o| *o == DeliveryOutcome::Done),
        "{outcomes:?}"
    );
    let program_key = upline_domain::store::keys::program();
    let campaign_key = upline_domain::store::keys::campaign(&CampaignId::from("c"));
    assert_eq!(
        (
            counting.reads_of(&program_key),
            counting.reads_of(&campaign_key)
        ),
        (1, 1),
        "one read each for a batch of eight"
    );
    let outcomes = calculator.handle(&batch(second)).await;
    assert!(
        outcomes.iter().all(|o| *o == DeliveryOutcome::Done),
        "{outcomes:?}"
    );
    assert_eq!(
        (
            counting.reads_of(&program_key),
            counting.reads_of(&campaign_key)
        ),
        (2, 2)
    );
    for (id, _) in &messages {
        assert_eq!(
            s.store.lines_of_conversion(id).await.unwrap().len(),
            3,
            "{id}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn through_lambdas_sqs_trigger_undecodable_and_unknown_messages_are_acknowledged() {
    let w = world().await;
    let code = program(&w.services).await;
    let resolved = resolve(&w.services, &code).await;
    let (click, _) = new_click(&w.services, &resolved, None, Some(BROWSER)).unwrap();
    let record = |id: &str, body: &str| {
        serde_json::json!({"messageId": id, "receiptHandle": format!("rh-{id}"), "body": body,
            "attributes": {"ApproximateReceiveCount": "1"}, "messageAttributes": {}, "eventSource": "aws:sqs"})
    };
    let event: aws_lambda_events::event::sqs::SqsEvent = serde_json::from_value(serde_json::json!({
        "Records": [record("good", &click_message(&click)), record("garbage", "%%% not an envelope")]
    }))
    .unwrap();
    let recorder = ClickRecorder::new(w.services.store.clone());
    let dead = upline_tests::DeadLettered::default();
    let response = upline_aws::handle_sqs_event(&recorder, event, &dead, QueueName::Clicks).await;
    assert!(
        response.batch_item_failures.is_empty(),
        "the garbage is not retried"
    );
    let taken = dead.taken();
    assert_eq!(taken.len(), 1, "the garbage goes to the dead-letter queue");
    assert_eq!(taken[0].1, "%%% not an envelope");
    assert!(taken[0].2.contains("not an envelope"), "{}", taken[0].2);
    assert_eq!(clicks_counted(&w.services).await, 1);

    // A conversion that does not exist can never be commissioned: poison, acknowledged.
    let message = conversion_message("missing");
    let event: aws_lambda_events::event::sqs::SqsEvent =
        serde_json::from_value(serde_json::json!({ "Records": [record("conv", &message)] }))
            .unwrap();
    let calculator = CommissionCalculator::new(w.services.clone());
    let dead = upline_tests::DeadLettered::default();
    let response =
        upline_aws::handle_sqs_event(&calculator, event, &dead, QueueName::Conversions).await;
    assert!(
        response.batch_item_failures.is_empty(),
        "an unknown conversion is not retried"
    );
    let taken = dead.taken();
    assert_eq!(taken.len(), 1, "it is dead-lettered, never dropped");
    assert!(
        taken[0].2.contains("missing"),
        "the reason names it: {}",
        taken[0].2
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn racing_conversions_cannot_both_take_the_last_place_under_a_cap() {
    let w = world().await;
    let s = &w.services;
    let code = program(s).await;
    let caps = json!([{"period": "day", "metric": "conversions", "limit": "2"}]);
    set_terms(s, json!({"cpa": "2.00", "caps": caps}), Value::Null).await;
    let resolved = resolve(s, &code).await;
    let mut ids = Vec::new();
    for n in 0..5 {
        let (click, _) = new_click(s, &resolved, None, Some(BROWSER)).unwrap();
        let order = format!("race-{n}");
        let outcome = record_postback(s, sale(Some(click.click_id), &order, "10.00"), "t")
            .await
            .unwrap();
        ids.push(outcome.conversion.id);
    }
    // All five commissioned at once; a transaction that lost a race is retried, as the
    // queue would redeliver it.
    let mut tasks = Vec::new();
    for id in ids.clone() {
        let s = s.clone();
        tasks.push(tokio::spawn(async move {
            for _ in 0..20 {
                match upline_domain::usecases::commissions::commission_conversion(&s, &id, "t")
                    .await
                {
                    Ok(_) => return,
                    Err(e) if e.is_transient() => tokio::task::yield_now().await,
                    Err(e) => panic!("{e:?}"),
                }
            }
            panic!("never commissioned");
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let mut paid = 0;
    let mut capped = 0;
    for id in &ids {
        let lines = s.store.lines_of_conversion(id).await.unwrap();
        let direct = lines.iter().find(|l| l.level == 0).unwrap();
        if direct.amount.minor() > 0 {
            paid += 1;
        } else {
            assert!(
                direct
                    .explanation
                    .not_paid_because
                    .as_deref()
                    .unwrap()
                    .contains("daily cap of 2 conversions")
            );
            assert_eq!(lines.len(), 1, "a capped conversion pays no upline");
            capped += 1;
        }
    }
    assert_eq!((paid, capped), (2, 3));
}

/// Records a 100.00 USD sale through `resolved`'s link and commissions it: the
/// conversion's id and the partner's (level 0) line.
async fn sell(s: &Services, resolved: &ResolvedLink, order: &str) -> (String, CommissionLine) {
    let (click, _) = new_click(s, resolved, None, Some(BROWSER)).unwrap();
    let out = record_postback(s, sale(Some(click.click_id), order, "100.00"), "t")
        .await
        .unwrap();
    let lines =
        upline_domain::usecases::commissions::commission_conversion(s, &out.conversion.id, "t")
            .await
            .unwrap();
    let direct = lines.into_iter().find(|l| l.level == 0).unwrap();
    (out.conversion.id.to_string(), direct)
}

/// Replaces campaign `c`'s terms, and its upline plan (`null`: the program's); both as the
/// admin API takes them.
async fn set_terms(s: &Services, terms: Value, upline: Value) {
    let campaign = json!({"name": "C", "destination_url": "https://shop.test/",
        "terms": terms, "upline": upline});
    put_campaign(s, "c", campaign).await;
}

async fn id_of(s: &Services, email: &str) -> String {
    s.store
        .partner_id_by_email(email)
        .await
        .unwrap()
        .unwrap()
        .to_string()
}

/// The ids of the program's partners C, B and A (A recruited by B, B by C).
async fn chain(s: &Services) -> (String, String, String) {
    (
        id_of(s, "c@x.test").await,
        id_of(s, "b@x.test").await,
        id_of(s, "a@x.test").await,
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_recruiter_change_that_would_make_a_cycle_is_refused() {
    let w = world().await;
    let s = &w.services;
    program(s).await;
    let (c, b, a) = chain(s).await;
    let set = |who: String, to: Option<String>| {
        let s = s.clone();
        async move {
            admin::set_recruiter(
                &s,
                &PartnerId::from(who),
                to.map_or(admin::NewRecruiter::Nobody, |id| {
                    admin::NewRecruiter::Partner(id.into())
                }),
            )
            .await
        }
    };
    for (who, to) in [
        (c.clone(), a.clone()),
        (b.clone(), a.clone()),
        (a.clone(), a.clone()),
    ] {
        match set(who.clone(), Some(to.clone())).await {
            Err(upline_domain::error::AppError::Invalid(f)) => {
                assert_eq!(f[0].field, "recruiter_id");
                assert!(f[0].message.contains("cycle"), "{}", f[0].message);
            }
            other => panic!("{who} under {to}: expected a refusal, got {other:?}"),
        }
    }
    // A legitimate move: A straight under C; then B detached.
    assert_eq!(
        set(a.clone(), Some(c.clone()))
            .await
            .unwrap()
            .recruited_by
            .as_deref(),
        Some(c.as_str())
    );
    assert_eq!(set(b.clone(), None).await.unwrap().recruited_by, None);
    // Two changes racing to close a loop (C under B while B goes under C): one loses.
    let (r1, r2) = tokio::join!(
        set(c.clone(), Some(b.clone())),
        set(b.clone(), Some(c.clone()))
    );
    assert!(
        r1.is_ok() != r2.is_ok(),
        "exactly one of the two may win: {r1:?} / {r2:?}"
    );
    let upline = upline_domain::usecases::commissions::upline_of(
        s,
        &PartnerId::from(a.as_str()),
        10,
        upline_domain::program::SkipRule::Forfeit,
    )
    .await
    .unwrap();
    assert!(upline.len() <= 3, "no loop in the chain: {upline:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_suspended_recruiter_forfeits_their_level_or_is_passed_over() {
    use upline_domain::program::SkipRule;
    use upline_domain::usecases::commissions::upline_of;
    let w = world().await;
    let s = &w.services;
    program(s).await;
    let (c, b, a) = chain(s).await;
    let mut suspended = s.store.partner(&PartnerId::from(b)).await.unwrap().unwrap();
    suspended.status = upline_domain::partner::PartnerStatus::Suspended;
    s.store
        .table()
        .transact(vec![upline_domain::store::Store::partner_put(
            &suspended,
            upline_domain::ports::Condition::Exists,
        )])
        .await
        .unwrap();
    assert_eq!(
        upline_of(s, &PartnerId::from(a.as_str()), 2, SkipRule::Forfeit)
            .await
            .unwrap(),
        vec![UplineSeat::Forfeited, UplineSeat::Earner(c.clone().into())]
    );
    assert_eq!(
        upline_of(s, &PartnerId::from(a.as_str()), 2, SkipRule::Compress)
            .await
            .unwrap(),
        vec![UplineSeat::Earner(c.into())]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_partners_own_terms_beat_their_groups_which_beat_the_campaigns() {
    use upline_domain::usecases::admin::OverrideFor;
    let w = world().await;
    let s = &w.services;
    let code = program(s).await;
    let a = id_of(s, "a@x.test").await;
    let resolved = resolve(s, &code).await;
    let mut n = 0;
    let mut direct_of_a_sale = || {
        n += 1;
        let (s, resolved, order) = (s.clone(), resolved.clone(), format!("ov-{n}"));
        async move {
            let (_, direct) = sell(&s, &resolved, &order).await;
            (direct.amount.minor(), direct.explanation.terms)
        }
    };
    let usd = upline_domain::money::Currency::from_code("USD").unwrap();
    let pct = |p: &str| {
        let terms: admin::TermsRequest = request!(json!({"revenue_share_percent": p}));
        terms.parse(usd).unwrap()
    };
    // The campaign: 2.00 CPA + 5 % of 100.00.
    assert_eq!(direct_of_a_sale().await, (700, None));
    admin::put_terms_override(
        s,
        &CampaignId::from("c"),
        OverrideFor::Group("gold".into()),
        pct("12"),
    )
    .await
    .unwrap();
    assert_eq!(
        direct_of_a_sale().await,
        (700, None),
        "not in the group yet"
    );
    admin::set_group(s, &PartnerId::from(a.as_str()), Some("gold".into()))
        .await
        .unwrap();
    assert_eq!(
        direct_of_a_sale().await,
        (1_200, Some("the terms of group gold".into()))
    );
    admin::put_terms_override(
        s,
        &CampaignId::from("c"),
        OverrideFor::Partner(a.clone().into()),
        pct("20"),
    )
    .await
    .unwrap();
    assert_eq!(
        direct_of_a_sale().await,
        (2_000, Some("this partner's own terms".into()))
    );
    admin::delete_terms_override(
        s,
        &CampaignId::from("c"),
        OverrideFor::Partner(a.clone().into()),
    )
    .await
    .unwrap();
    assert_eq!(
        direct_of_a_sale().await,
        (1_200, Some("the terms of group gold".into()))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn approvals_lift_later_conversions_into_a_tier_without_touching_earlier_ones() {
    use upline_domain::usecases::conversion_lifecycle::{Decision, decide_conversion};
    let w = world().await;
    let s = &w.services;
    let code = program(s).await;
    let tier = json!({"name": "gold", "metric": "approved_conversions", "from": "2",
        "revenue_share_percent": "15"});
    let terms = json!({"revenue_share_percent": "5", "tiers": [tier]});
    set_terms(s, terms, Value::Null).await;
    let resolved = resolve(s, &code).await;
    let mut n = 0;
    let mut sale = || {
        n += 1;
        let (s, resolved, order) = (s.clone(), resolved.clone(), format!("t-{n}"));
        async move {
            let (id, direct) = sell(&s, &resolved, &order).await;
            (id, direct.amount.minor(), direct.explanation.tier)
        }
    };
    let (first, a1, t1) = sale().await;
    let (second, a2, _) = sale().await;
    assert_eq!((a1, a2, t1), (500, 500, None), "the base 5 %");
    decide_conversion(s, &ConversionId::from(first.as_str()), Decision::Approve)
        .await
        .unwrap();
    let (_, a3, _) = sale().await;
    assert_eq!(a3, 500, "one approved conversion: not gold yet");
    decide_conversion(s, &ConversionId::from(second), Decision::Approve)
        .await
        .unwrap();
    let (_, a4, t4) = sale().await;
    assert_eq!(a4, 1_500, "two approved: gold's 15 %");
    assert_eq!(
        t4.as_deref(),
        Some("gold (from 2 approved conversions this month)")
    );
    let first_lines = s
        .store
        .lines_of_conversion(&ConversionId::from(first.as_str()))
        .await
        .unwrap();
    assert_eq!(
        first_lines
            .iter()
            .find(|l| l.level == 0)
            .unwrap()
            .amount
            .minor(),
        500,
        "not retroactive"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn renewals_stay_with_the_subscriptions_partner_and_follow_the_recurring_terms() {
    let w = world().await;
    let s = &w.services;
    let code = program(s).await;
    let a = id_of(s, "a@x.test").await;
    let recurring = json!({"months": 12,
        "later": {"after_months": 3, "revenue_share_percent": "20"}});
    let terms = json!({"revenue_share_percent": "40", "recurring": recurring});
    set_terms(s, terms, Value::Null).await;
    let resolved = resolve(s, &code).await;
    let (click, _) = new_click(s, &resolved, None, Some(BROWSER)).unwrap();
    let pay = |order: &str, click_id: Option<String>| {
        let s = s.clone();
        let order = order.to_string();
        async move {
            let payment = json!({"click_id": click_id, "order_id": order, "amount": "29.00",
                "currency": "USD", "subscription_id": "sub-1"});
            let out = record_postback(&s, request!(payment), "t").await?;
            let lines = upline_domain::usecases::commissions::commission_conversion(
                &s,
                &out.conversion.id,
                "t",
            )
            .await?;
            Ok::<_, upline_domain::error::AppError>(
                lines.into_iter().find(|l| l.level == 0).unwrap(),
            )
        }
    };
    let first = pay("m0", Some(click.click_id.clone())).await.unwrap();
    assert_eq!(
        (first.partner_id.as_str(), first.amount.minor()),
        (a.as_str(), 1_160),
        "40 % of 29.00"
    );
    w.clock.advance_secs(4 * 31 * 86_400);
    let renewal = pay("m4", None).await.unwrap();
    assert_eq!(
        renewal.partner_id, a,
        "attributed to the subscription's partner without a click id"
    );
    assert_eq!(renewal.amount.minor(), 580, "20 % from month 3 on");
    assert_eq!(
        renewal.explanation.renewal.as_deref(),
        Some("renewal, month 4 of the subscription")
    );
    w.clock.advance_secs(9 * 31 * 86_400);
    let late = pay("m13", None).await.unwrap();
    assert_eq!(late.amount.minor(), 0);
    assert!(
        late.explanation
            .not_paid_because
            .unwrap()
            .contains("first 12 months")
    );
    // A renewal of a subscription nobody started needs its click id.
    let renewal = json!({"order_id": "x", "amount": "29.00", "currency": "USD",
        "subscription_id": "sub-unknown"});
    let unknown = record_postback(s, request!(renewal), "t").await;
    assert!(
        matches!(unknown, Err(upline_domain::error::AppError::Invalid(ref f)) if f[0].field == "click_id"),
        "{unknown:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_campaign_can_pay_its_upline_on_its_own_plan() {
    let w = world().await;
    let s = &w.services;
    let code = program(s).await;
    let resolved = resolve(s, &code).await;
    let (id, _) = sell(s, &resolved, "plan-1").await;
    assert_eq!(
        levels(s, &id).await,
        vec![(0, 700), (1, 300), (2, 150)],
        "the program's plan: 3 % and 1.5 % of the sale"
    );
    let terms = json!({"cpa": "2.00", "revenue_share_percent": "5"});
    let upline = json!({"depth": 1, "base": "sale", "level_percents": ["10"]});
    set_terms(s, terms, upline).await;
    let (id, _) = sell(s, &resolved, "plan-2").await;
    assert_eq!(
        levels(s, &id).await,
        vec![(0, 700), (1, 1_000)],
        "the campaign's plan: one level at 10 % of the sale"
    );
}

mod redelivery {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

        /// However often the conversions queue delivers a conversion, it is commissioned
        /// once: the same line ids and amounts, no extra lines, counters added once.
        #[test]
        fn redelivering_a_conversion_yields_the_same_lines_and_no_more(
            amount in 1i64..10_000_000,
            cpa in proptest::option::of(0i64..100_000),
            share_bp in proptest::option::of(0u32..=5_000),
            deliveries in 2usize..5,
        ) {
            let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
            runtime.block_on(async move {
                let w = world().await;
                let s = &w.services;
                let code = program(s).await;
                let money = |minor: i64| upline_domain::money::format_minor(minor, upline_domain::money::Currency::from_code("USD").unwrap());
                let share = share_bp.map(|b| rust_decimal::Decimal::new(i64::from(b), 2).to_string());
                set_terms(s, json!({"cpa": cpa.map(money), "revenue_share_percent": share}), Value::Null).await;
                let resolved = resolve(s, &code).await;
                let (click, _) = new_click(s, &resolved, None, Some(BROWSER)).unwrap();
                let out = record_postback(s, sale(Some(click.click_id), "o", &money(amount)), "t")
                .await
                .unwrap();
                let id = out.conversion.id;
                let message = conversion_message(id.as_str());
                let calculator = CommissionCalculator::new(s.clone());
                let mut seen: Option<Vec<(LineId, i64)>> = None;
                for n in 0..deliveries {
                    assert_eq!(calculator.handle(&[delivery(n as u32, message.clone())]).await, vec![DeliveryOutcome::Done]);
                    let lines: Vec<(LineId, i64)> = s.store.lines_of_conversion(&id).await.unwrap().into_iter().map(|l| (l.id, l.amount.minor())).collect();
                    match &seen {
                        None => seen = Some(lines),
                        Some(first) => assert_eq!(&lines, first, "delivery {n}"),
                    }
                }
                let day = s.now().day();
                let stats = s.store.stats_on_days(&[day]).await.unwrap();
                assert_eq!(stats.iter().map(|r| r.conversions).sum::<i64>(), 1);
                let paid: i64 = seen.unwrap().iter().map(|(_, a)| a).sum();
                assert_eq!(stats.iter().map(|r| r.commission_minor).sum::<i64>(), paid, "counters added once");
            });
        }
    }
}

/// A queue that refuses every send, as SQS does in an outage.
struct RefusingQueue;

#[async_trait::async_trait]
impl upline_domain::ports::Queue for RefusingQueue {
    async fn send(
        &self,
        _queue: QueueName,
        _bodies: Vec<String>,
    ) -> Result<(), upline_domain::ports::QueueError> {
        Err(upline_domain::ports::QueueError::Unavailable(
            "the queue is down".into(),
        ))
    }
}

/// A 100.00 sale through the program's link whose conversion is stored, then the hand-off
/// to the queue fails (the queue is down) and the storefront never retries.
async fn stored_but_never_queued(s: &Services, order: &str) {
    let code = program(s).await;
    let resolved = resolve(s, &code).await;
    let (click, _) = new_click(s, &resolved, None, Some(BROWSER)).unwrap();
    let mut outage = s.clone();
    outage.queue = Arc::new(RefusingQueue);
    let request = sale(Some(click.click_id), order, "100.00");
    let err = record_postback(&outage, request, "t").await.unwrap_err();
    assert!(
        matches!(err, upline_domain::error::AppError::Unavailable(_)),
        "{err:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_conversion_stored_but_never_queued_is_swept_to_the_commission_stage() {
    use upline_domain::ports::QueueConsumer;
    let w = world().await;
    let s = &w.services;
    stored_but_never_queued(s, "o-stuck").await;
    let id = s
        .store
        .conversion_id_for_order(&CampaignId::from("c"), "o-stuck")
        .await
        .unwrap()
        .expect("the conversion was stored before the hand-off failed");
    let pending = |w: &World| {
        let q = w.store.clone();
        async move {
            q.receive(QueueName::Conversions, 10, std::time::Duration::ZERO)
                .await
                .unwrap()
        }
    };
    assert!(pending(&w).await.is_empty(), "nothing reached the queue");

    // A sweep within the first minutes leaves it alone: its hand-off may be under way.
    w.clock.advance_secs(60);
    let early = upline_domain::usecases::payouts::scheduled(s)
        .await
        .unwrap();
    assert_eq!(early.requeued_conversions, 0);
    // After five minutes the hourly sweep hands it to the commission stage again.
    w.clock.advance_secs(5 * 60);
    let swept = upline_domain::usecases::payouts::scheduled(s)
        .await
        .unwrap();
    assert_eq!(swept.requeued_conversions, 1);
    let batch = pending(&w).await;
    assert_eq!(batch.len(), 1);
    let outcomes = CommissionCalculator::new(s.clone()).handle(&batch).await;
    assert_eq!(outcomes, vec![DeliveryOutcome::Done]);
    let conversion = s.store.conversion(&id).await.unwrap().unwrap();
    assert_eq!(conversion.status.as_str(), "commissioned");
    assert_eq!(s.store.lines_of_conversion(&id).await.unwrap().len(), 3);
    // Once commissioned it leaves the open index: later sweeps find nothing.
    w.clock.advance_secs(3600);
    let later = upline_domain::usecases::payouts::scheduled(s)
        .await
        .unwrap();
    assert_eq!(later.requeued_conversions, 0);
}

/// A stage that panics on the message `boom` and handles every other.
struct PanicsOnBoom(std::sync::Mutex<Vec<String>>);

#[async_trait::async_trait]
impl MessageHandler for PanicsOnBoom {
    async fn handle(&self, batch: &[Delivery]) -> Vec<DeliveryOutcome> {
        batch
            .iter()
            .map(|d| {
                assert_ne!(d.body, "boom", "the stage broke on boom");
                self.0.lock().unwrap().push(d.body.clone());
                DeliveryOutcome::Done
            })
            .collect()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panicking_message_reaches_the_dead_letter_area_and_the_next_is_still_handled() {
    use upline_domain::ports::{Queue, QueueConsumer};
    let w = world().await;
    w.store
        .send(
            QueueName::Emails,
            vec!["first".into(), "boom".into(), "second".into()],
        )
        .await
        .unwrap();
    let handler = Arc::new(PanicsOnBoom(Default::default()));
    let (stop, stop_rx) = tokio::sync::watch::channel(false);
    let consumer: Arc<dyn QueueConsumer> = Arc::new(w.store.clone());
    let running = tokio::spawn(upline_local::consumers::run(
        consumer,
        QueueName::Emails,
        handler.clone(),
        upline_local::consumers::ConsumerSettings::default(),
        stop_rx,
    ));
    upline_tests::host::eventually("the batch is settled", || {
        let q = w.store.clone();
        async move {
            let dead = q.dead_letters(QueueName::Emails, 10).await.unwrap();
            (!dead.is_empty()).then_some(dead)
        }
    })
    .await;
    let _ = stop.send(true);
    running.await.expect("the consumer loop survives the panic");
    assert_eq!(
        w.store.dead_letters(QueueName::Emails, 10).await.unwrap(),
        vec!["boom".to_string()]
    );
    let reasons = w
        .store
        .dead_letter_reasons(QueueName::Emails, 10)
        .await
        .unwrap();
    assert!(
        reasons[0].contains("the stage broke on boom"),
        "the reason travels with it: {reasons:?}"
    );
    let mut handled = handler.0.lock().unwrap().clone();
    handled.sort();
    assert!(handled.contains(&"second".to_string()), "{handled:?}");
    assert!(handled.contains(&"first".to_string()), "{handled:?}");
    // Nothing is left to deliver: the good ones were acknowledged, the bad one moved.
    assert!(
        w.store
            .receive(QueueName::Emails, 10, std::time::Duration::ZERO)
            .await
            .unwrap()
            .is_empty()
    );
}

/// The embedded queue, except that its first receive panics: a consumer loop that dies
/// outside any handler.
struct DiesOnce {
    inner: EmbeddedStore,
    died: std::sync::atomic::AtomicBool,
}

#[async_trait::async_trait]
impl upline_domain::ports::QueueConsumer for DiesOnce {
    async fn receive(
        &self,
        queue: QueueName,
        max: usize,
        visibility: std::time::Duration,
    ) -> Result<Vec<Delivery>, upline_domain::ports::QueueError> {
        if !self.died.swap(true, std::sync::atomic::Ordering::SeqCst) {
            panic!("the poller broke");
        }
        self.inner.receive(queue, max, visibility).await
    }
    async fn ack(&self, q: QueueName, r: &str) -> Result<(), upline_domain::ports::QueueError> {
        self.inner.ack(q, r).await
    }
    async fn release(
        &self,
        q: QueueName,
        r: &str,
        d: std::time::Duration,
    ) -> Result<(), upline_domain::ports::QueueError> {
        self.inner.release(q, r, d).await
    }
    async fn dead_letter(
        &self,
        q: QueueName,
        d: &Delivery,
        why: &str,
    ) -> Result<(), upline_domain::ports::QueueError> {
        self.inner.dead_letter(q, d, why).await
    }
    async fn dead_letters(
        &self,
        q: QueueName,
        max: usize,
    ) -> Result<Vec<String>, upline_domain::ports::QueueError> {
        self.inner.dead_letters(q, max).await
    }
    async fn wait_for_messages(&self, q: QueueName, t: std::time::Duration) {
        self.inner.wait_for_messages(q, t).await
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_consumer_that_dies_is_reported_down_and_restarted() {
    use upline_domain::ports::Queue;
    let w = world().await;
    w.store
        .send(QueueName::Emails, vec!["after the crash".into()])
        .await
        .unwrap();
    let handler = Arc::new(PanicsOnBoom(Default::default()));
    let health = upline_local::consumers::ConsumerHealth::default();
    let (stop, stop_rx) = tokio::sync::watch::channel(false);
    let consumer = Arc::new(DiesOnce {
        inner: w.store.clone(),
        died: Default::default(),
    });
    let settings = upline_local::consumers::ConsumerSettings {
        // Long enough for a poll every 50 ms to see the consumer down.
        restart_pause: std::time::Duration::from_secs(1),
        ..Default::default()
    };
    let running = tokio::spawn(upline_local::consumers::supervise(
        consumer,
        QueueName::Emails,
        handler.clone(),
        settings,
        stop_rx,
        health.clone(),
    ));
    // While it waits to restart, health names the queue and why.
    let down = upline_tests::host::eventually("the consumer reported down", || {
        let health = health.clone();
        async move {
            let down = health.down();
            (!down.is_empty()).then_some(down)
        }
    })
    .await;
    assert!(down[&QueueName::Emails].contains("restarting"), "{down:?}");
    // Then it is back: the message is handled and health is clear.
    upline_tests::host::eventually("the message handled after the restart", || {
        let handled = handler.0.lock().unwrap().clone();
        let health = health.clone();
        async move { (handled == ["after the crash"] && health.down().is_empty()).then_some(()) }
    })
    .await;
    assert_eq!(health.restarts(QueueName::Emails), 1);
    let _ = stop.send(true);
    running.await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sweep_gives_up_on_a_conversion_the_commission_stage_never_takes() {
    let w = world().await;
    let s = &w.services;
    stored_but_never_queued(s, "o-never").await;
    // Nobody consumes the queue (as if every attempt were dead-lettered): three sweeps
    // re-queue it, the fourth gives up and moves it out of the sweep's way.
    let mut requeued = Vec::new();
    for _ in 0..5 {
        w.clock.advance_secs(3600);
        requeued.push(
            upline_domain::usecases::payouts::scheduled(s)
                .await
                .unwrap()
                .requeued_conversions,
        );
    }
    assert_eq!(requeued, [1, 1, 1, 0, 0]);
    let gave_up = s
        .store
        .table()
        .query(
            upline_domain::ports::Index::Gsi3,
            upline_domain::store::keys::GAVE_UP_AWAITING,
            &upline_domain::ports::SortKeyCondition::All,
            true,
            10,
            None,
        )
        .await
        .unwrap();
    assert_eq!(
        gave_up.items.len(),
        1,
        "listed where an operator can find it"
    );
}

/// A dispute holds a sale's pending lines against the approval sweep however their hold
/// runs; its release approves those past their hold at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_disputed_sale_waits_for_its_dispute_not_the_clock() {
    let w = world().await;
    let s = &w.services;
    let code = program(s).await;
    let resolved = resolve(s, &code).await;
    let (click, _) = new_click(s, &resolved, None, Some(BROWSER)).unwrap();
    let sale = json!({"click_id": click.click_id, "order_id": "d-1", "amount": "100.00",
        "currency": "USD"});
    let out = record_postback(s, request!(sale), "t").await.unwrap();
    upline_domain::usecases::commissions::commission_conversion(s, &out.conversion.id, "t")
        .await
        .unwrap();
    let conversion = s
        .store
        .conversion(&out.conversion.id)
        .await
        .unwrap()
        .unwrap();
    let change = upline_domain::usecases::disputes::hold(s, &conversion, "dp_1")
        .await
        .unwrap();
    assert_eq!(
        change,
        upline_domain::usecases::disputes::HoldChange::Lines(3)
    );
    w.clock.advance_secs(86_400);
    let approved = upline_domain::usecases::conversion_lifecycle::approve_due_lines(s)
        .await
        .unwrap();
    assert_eq!(approved, 0, "held lines are not the sweep's");
    let statuses = |lines: Vec<CommissionLine>| -> Vec<&'static str> {
        lines.iter().map(|l| l.status.as_str()).collect()
    };
    let lines = s.store.lines_of_conversion(&conversion.id).await.unwrap();
    assert_eq!(statuses(lines), ["pending", "pending", "pending"]);
    upline_domain::usecases::disputes::release(s, &conversion, "dp_1")
        .await
        .unwrap();
    let lines = s.store.lines_of_conversion(&conversion.id).await.unwrap();
    assert!(lines.iter().all(|l| l.held_for.is_none()));
    assert_eq!(statuses(lines), ["approved", "approved", "approved"]);
}
