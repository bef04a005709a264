//! The consumer stages under redelivery and bad messages, on the embedded adapters: a
//! click delivered twice is counted once, a conversion commissioned twice pays once, and
//! an undecodable message is poison without holding up the rest of its batch.

use std::sync::Arc;
use upline_domain::commission::UplineSeat;
use upline_domain::ids::{CampaignId, ConversionId, LineId, PartnerId};

use upline_clicks::ClickRecorder;
use upline_domain::click_id::ClickSecret;
use upline_domain::clock::{ManualClock, Timestamp};
use upline_domain::ids::SequentialIds;
use upline_domain::messages::Message;
use upline_domain::ports::{Delivery, DeliveryOutcome, MessageHandler, QueueName};
use upline_domain::services::{Deployment, Services};
use upline_domain::tracking::Click;

/// A person's browser: clicks from it count as visits, not bots.
const BROWSER: &str = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36";
use upline_domain::usecases::admin::{
    self, CampaignRequest, LinkRequest, ProgramRequest, TermsRequest, UplineRequest,
};
use upline_domain::usecases::input::DecimalText;
use upline_domain::usecases::postback::{PostbackRequest, record_postback};
use upline_domain::usecases::signup::{SignupRequest, signup};
use upline_domain::usecases::tracking::{new_click, resolve_link};
use upline_embedded::EmbeddedStore;
use upline_payout::CommissionCalculator;

struct World {
    services: Services,
    clock: Arc<ManualClock>,
    /// The same store as the services', as the queue's consumer side.
    queues: EmbeddedStore,
    _dir: tempfile::TempDir,
}

fn delivery(n: u32, body: String) -> Delivery {
    Delivery {
        message_id: format!("m-{n}"),
        receipt: format!("r-{n}"),
        body,
        receive_count: 1,
    }
}

async fn world() -> World {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::at(Timestamp(1_795_000_000_000)));
    let store = EmbeddedStore::open(&dir.path().join("s.redb"), clock.clone(), 3).unwrap();
    let services = Services::new(
        Arc::new(store.clone()),
        Arc::new(store.clone()),
        clock.clone(),
        Arc::new(SequentialIds::default()),
        Deployment {
            click_secret: Some(ClickSecret::new(vec![9; 32]).unwrap()),
            public_base_url: "http://links.test".into(),
            allow_private_postbacks: false,
        },
    );
    World {
        services,
        clock,
        queues: store,
        _dir: dir,
    }
}

/// A program with a two-level upline and a partner chain C ← B ← A; returns A's link code.
async fn program(s: &Services) -> String {
    let dec = |v: &str| Some(DecimalText(v.into()));
    admin::put_program(
        s,
        ProgramRequest {
            name: Some("P".into()),
            currency: Some("USD".into()),
            hold_days: Some(0),
            upline: Some(UplineRequest {
                depth: Some(2),
                base: Some("sale".into()),
                level_percents: Some(vec![DecimalText("3".into()), DecimalText("1.5".into())]),
                first_level_percent: None,
                decrement_percent: None,
                decay_factor: None,
                skip: None,
            }),
            postback_secret: None,
            attribution_priority: None,
            payouts: None,
            signup: None,
        },
    )
    .await
    .unwrap();
    set_terms(
        s,
        TermsRequest {
            cpa: dec("2.00"),
            revenue_share_percent: dec("5"),
            ..Default::default()
        },
        None,
    )
    .await;
    let mut referred_by = None;
    let mut last = None;
    for email in ["c@x.test", "b@x.test", "a@x.test"] {
        let p = signup(
            s,
            SignupRequest {
                email: Some(email.into()),
                name: Some("N".into()),
                kind: Some("reseller".into()),
                referred_by: referred_by.clone(),
                fields: None,
            },
            "t",
        )
        .await
        .unwrap();
        admin::approve_partner(s, &p.id, "t").await.unwrap();
        referred_by = Some(p.referral_code.clone());
        last = Some(p.id);
    }
    let (link, _) = admin::create_link(
        s,
        LinkRequest {
            partner_id: last.map(String::from),
            campaign_id: Some("c".into()),
        },
    )
    .await
    .unwrap();
    link.code.to_string()
}

async fn clicks_counted(s: &Services) -> i64 {
    let today = s.now().day();
    s.store
        .stats_on_days(&[today])
        .await
        .unwrap()
        .iter()
        .map(|r| r.clicks)
        .sum()
}

fn click_message(click: &Click) -> String {
    Message::ClickRecorded(click.clone()).encode("e", Timestamp(0), "corr")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redelivered_click_is_counted_once() {
    let w = world().await;
    let code = program(&w.services).await;
    let resolved = resolve_link(&w.services.store, &code)
        .await
        .unwrap()
        .unwrap();
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
    let resolved = resolve_link(&w.services.store, &code)
        .await
        .unwrap()
        .unwrap();
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
    let resolved = resolve_link(&s.store, &code).await.unwrap().unwrap();
    let (click, _) = new_click(s, &resolved, None, Some(BROWSER)).unwrap();
    let outcome = record_postback(
        s,
        PostbackRequest {
            click_id: Some(click.click_id),
            order_id: Some(upline_domain::usecases::input::IdText("o-9".into())),
            amount: Some(DecimalText("80.10".into())),
            currency: Some("USD".into()),
            event: None,
            ..Default::default()
        },
        "t",
    )
    .await
    .unwrap();
    let id = outcome.conversion.id;
    let message = Message::ConversionRecorded {
        conversion_id: id.clone(),
    }
    .encode("e", Timestamp(0), "c");
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
    let day = s.now().day();
    let totals: i64 = s
        .store
        .stats_on_days(&[day])
        .await
        .unwrap()
        .iter()
        .map(|r| r.commission_minor)
        .sum();
    assert_eq!(totals, 960, "counters added once");
    let conversions: i64 = s
        .store
        .stats_on_days(&[day])
        .await
        .unwrap()
        .iter()
        .map(|r| r.conversions)
        .sum();
    assert_eq!(conversions, 1);
    let unknown = Message::ConversionRecorded {
        conversion_id: "nope".into(),
    }
    .encode("e", Timestamp(0), "c");
    assert!(matches!(
        calculator.handle(&[delivery(9, unknown)]).await.as_slice(),
        [DeliveryOutcome::DeadLetter(reason)] if reason.contains("nope")
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn through_lambdas_sqs_trigger_undecodable_and_unknown_messages_are_acknowledged() {
    let w = world().await;
    let code = program(&w.services).await;
    let resolved = resolve_link(&w.services.store, &code)
        .await
        .unwrap()
        .unwrap();
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
    let message = Message::ConversionRecorded {
        conversion_id: "missing".into(),
    }
    .encode("e", Timestamp(0), "c");
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
    let dec = |v: &str| Some(DecimalText(v.into()));
    let caps: Vec<upline_domain::usecases::admin::CapRequest> =
        vec![upline_domain::usecases::admin::CapRequest {
            period: Some("day".into()),
            metric: Some("conversions".into()),
            limit: dec("2"),
        }];
    set_terms(
        s,
        TermsRequest {
            cpa: dec("2.00"),
            caps: Some(caps),
            ..Default::default()
        },
        None,
    )
    .await;
    let resolved = resolve_link(&s.store, &code).await.unwrap().unwrap();
    let mut ids = Vec::new();
    for n in 0..5 {
        let (click, _) = new_click(s, &resolved, None, Some(BROWSER)).unwrap();
        let outcome = record_postback(
            s,
            PostbackRequest {
                click_id: Some(click.click_id),
                order_id: Some(upline_domain::usecases::input::IdText(format!("race-{n}"))),
                amount: Some(DecimalText("10.00".into())),
                currency: Some("USD".into()),
                ..Default::default()
            },
            "t",
        )
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
async fn sell(
    s: &Services,
    resolved: &upline_domain::usecases::tracking::ResolvedLink,
    order: &str,
) -> (String, upline_domain::commission::CommissionLine) {
    let (click, _) = new_click(s, resolved, None, Some(BROWSER)).unwrap();
    let out = record_postback(
        s,
        PostbackRequest {
            click_id: Some(click.click_id),
            order_id: Some(upline_domain::usecases::input::IdText(order.into())),
            amount: Some(DecimalText("100.00".into())),
            currency: Some("USD".into()),
            ..Default::default()
        },
        "t",
    )
    .await
    .unwrap();
    let lines =
        upline_domain::usecases::commissions::commission_conversion(s, &out.conversion.id, "t")
            .await
            .unwrap();
    let direct = lines.into_iter().find(|l| l.level == 0).unwrap();
    (out.conversion.id.to_string(), direct)
}

/// Replaces campaign `c`'s terms (and optionally its upline plan).
async fn set_terms(s: &Services, terms: TermsRequest, upline: Option<UplineRequest>) {
    admin::put_campaign(
        s,
        "c",
        CampaignRequest {
            name: Some("C".into()),
            destination_url: Some("https://shop.test/".into()),
            allowed_domains: None,
            terms: Some(terms),
            upline,
            targeting: None,
            attribution_window_days: None,
            status: None,
        },
    )
    .await
    .unwrap();
}

async fn id_of(s: &Services, email: &str) -> String {
    s.store
        .partner_id_by_email(email)
        .await
        .unwrap()
        .unwrap()
        .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_recruiter_change_that_would_make_a_cycle_is_refused() {
    let w = world().await;
    let s = &w.services;
    program(s).await;
    let (c, b, a) = (
        id_of(s, "c@x.test").await,
        id_of(s, "b@x.test").await,
        id_of(s, "a@x.test").await,
    );
    let set = |who: String, to: Option<String>| {
        let s = s.clone();
        async move {
            admin::set_recruiter(
                &s,
                &PartnerId::from(who),
                admin::RecruiterRequest {
                    recruiter_id: to,
                    referral_code: None,
                },
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
    let (c, b, a) = (
        id_of(s, "c@x.test").await,
        id_of(s, "b@x.test").await,
        id_of(s, "a@x.test").await,
    );
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
    use upline_domain::usecases::admin::{GroupRequest, OverrideFor};
    let w = world().await;
    let s = &w.services;
    let code = program(s).await;
    let a = id_of(s, "a@x.test").await;
    let resolved = resolve_link(&s.store, &code).await.unwrap().unwrap();
    let mut n = 0;
    let mut direct_of_a_sale = || {
        n += 1;
        let (s, resolved, order) = (s.clone(), resolved.clone(), format!("ov-{n}"));
        async move {
            let (_, direct) = sell(&s, &resolved, &order).await;
            (direct.amount.minor(), direct.explanation.terms)
        }
    };
    let pct = |p: &str| TermsRequest {
        revenue_share_percent: Some(DecimalText(p.into())),
        ..Default::default()
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
    admin::set_group(
        s,
        &PartnerId::from(a.as_str()),
        GroupRequest {
            group: Some("gold".into()),
        },
    )
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
    use upline_domain::usecases::lifecycle::{Decision, decide_conversion};
    let w = world().await;
    let s = &w.services;
    let code = program(s).await;
    let tier = upline_domain::usecases::admin::TierRequest {
        name: Some("gold".into()),
        metric: Some("approved_conversions".into()),
        from: Some(DecimalText("2".into())),
        revenue_share_percent: Some(DecimalText("15".into())),
        ..Default::default()
    };
    set_terms(
        s,
        TermsRequest {
            revenue_share_percent: Some(DecimalText("5".into())),
            tiers: Some(vec![tier]),
            ..Default::default()
        },
        None,
    )
    .await;
    let resolved = resolve_link(&s.store, &code).await.unwrap().unwrap();
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
    set_terms(
        s,
        TermsRequest {
            revenue_share_percent: Some(DecimalText("40".into())),
            recurring: Some(upline_domain::usecases::admin::RecurringRequest {
                months: Some(12),
                later: Some(upline_domain::usecases::admin::LaterRateRequest {
                    after_months: Some(3),
                    revenue_share_percent: Some(DecimalText("20".into())),
                    cpa: None,
                }),
            }),
            ..Default::default()
        },
        None,
    )
    .await;
    let resolved = resolve_link(&s.store, &code).await.unwrap().unwrap();
    let (click, _) = new_click(s, &resolved, None, Some(BROWSER)).unwrap();
    let pay = |order: &str, click_id: Option<String>| {
        let s = s.clone();
        let order = order.to_string();
        async move {
            let out = record_postback(
                &s,
                PostbackRequest {
                    click_id,
                    order_id: Some(upline_domain::usecases::input::IdText(order)),
                    amount: Some(DecimalText("29.00".into())),
                    currency: Some("USD".into()),
                    subscription_id: Some(upline_domain::usecases::input::IdText("sub-1".into())),
                    ..Default::default()
                },
                "t",
            )
            .await?;
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
    let unknown = record_postback(
        s,
        PostbackRequest {
            order_id: Some(upline_domain::usecases::input::IdText("x".into())),
            amount: Some(DecimalText("29.00".into())),
            currency: Some("USD".into()),
            subscription_id: Some(upline_domain::usecases::input::IdText("sub-unknown".into())),
            ..Default::default()
        },
        "t",
    )
    .await;
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
    let resolved = resolve_link(&s.store, &code).await.unwrap().unwrap();
    let (id, _) = sell(s, &resolved, "plan-1").await;
    let levels: Vec<(u8, i64)> = s
        .store
        .lines_of_conversion(&ConversionId::from(id))
        .await
        .unwrap()
        .iter()
        .map(|l| (l.level, l.amount.minor()))
        .collect();
    assert_eq!(
        levels,
        vec![(0, 700), (1, 300), (2, 150)],
        "the program's plan: 3 % and 1.5 % of the sale"
    );
    set_terms(
        s,
        TermsRequest {
            cpa: Some(DecimalText("2.00".into())),
            revenue_share_percent: Some(DecimalText("5".into())),
            ..Default::default()
        },
        Some(UplineRequest {
            depth: Some(1),
            base: Some("sale".into()),
            level_percents: Some(vec![DecimalText("10".into())]),
            first_level_percent: None,
            decrement_percent: None,
            decay_factor: None,
            skip: None,
        }),
    )
    .await;
    let (id, _) = sell(s, &resolved, "plan-2").await;
    let levels: Vec<(u8, i64)> = s
        .store
        .lines_of_conversion(&ConversionId::from(id))
        .await
        .unwrap()
        .iter()
        .map(|l| (l.level, l.amount.minor()))
        .collect();
    assert_eq!(
        levels,
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
                let money = |minor: i64| DecimalText(upline_domain::money::format_minor(minor, upline_domain::money::Currency::from_code("USD").unwrap()));
                set_terms(s, TermsRequest {
                            cpa: cpa.map(money),
                            revenue_share_percent: share_bp.map(|b| DecimalText(rust_decimal::Decimal::new(i64::from(b), 2).to_string())),
                            ..Default::default()
                        }, None).await;
                let resolved = resolve_link(&s.store, &code).await.unwrap().unwrap();
                let (click, _) = new_click(s, &resolved, None, Some(BROWSER)).unwrap();
                let out = record_postback(
                    s,
                    PostbackRequest {
                        click_id: Some(click.click_id),
                        order_id: Some(upline_domain::usecases::input::IdText("o".into())),
                        amount: Some(money(amount)),
                        currency: Some("USD".into()),
                        ..Default::default()
                    },
                    "t",
                )
                .await
                .unwrap();
                let id = out.conversion.id;
                let message = Message::ConversionRecorded { conversion_id: id.clone() }.encode("e", Timestamp(0), "c");
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
    let resolved = resolve_link(&s.store, &code).await.unwrap().unwrap();
    let (click, _) = new_click(s, &resolved, None, Some(BROWSER)).unwrap();
    let mut outage = s.clone();
    outage.queue = Arc::new(RefusingQueue);
    let request = PostbackRequest {
        click_id: Some(click.click_id),
        order_id: Some(upline_domain::usecases::input::IdText(order.into())),
        amount: Some(DecimalText("100.00".into())),
        currency: Some("USD".into()),
        ..Default::default()
    };
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
        let q = w.queues.clone();
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
    w.queues
        .send(
            QueueName::Emails,
            vec!["first".into(), "boom".into(), "second".into()],
        )
        .await
        .unwrap();
    let handler = Arc::new(PanicsOnBoom(Default::default()));
    let (stop, stop_rx) = tokio::sync::watch::channel(false);
    let consumer: Arc<dyn QueueConsumer> = Arc::new(w.queues.clone());
    let running = tokio::spawn(upline_local::consumers::run(
        consumer,
        QueueName::Emails,
        handler.clone(),
        upline_local::consumers::ConsumerSettings::default(),
        stop_rx,
    ));
    upline_tests::host::eventually("the batch is settled", || {
        let q = w.queues.clone();
        async move {
            let dead = q.dead_letters(QueueName::Emails, 10).await.unwrap();
            (!dead.is_empty()).then_some(dead)
        }
    })
    .await;
    let _ = stop.send(true);
    running.await.expect("the consumer loop survives the panic");
    assert_eq!(
        w.queues.dead_letters(QueueName::Emails, 10).await.unwrap(),
        vec!["boom".to_string()]
    );
    let reasons = w
        .queues
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
        w.queues
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
    w.queues
        .send(QueueName::Emails, vec!["after the crash".into()])
        .await
        .unwrap();
    let handler = Arc::new(PanicsOnBoom(Default::default()));
    let health = upline_local::consumers::ConsumerHealth::default();
    let (stop, stop_rx) = tokio::sync::watch::channel(false);
    let consumer = Arc::new(DiesOnce {
        inner: w.queues.clone(),
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
