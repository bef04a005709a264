//! The sample world the files in `events/` refer to: a program, the `spring-sale`
//! campaign, partners `p-cleo` ← `p-bo` ← `p-ada` (approved) and `p-dan` (pending), link
//! `spring01`, conversion `conv-sample-1`, two lines around the 30-day hold, and the sample
//! admin and partner keys. Seeded through the ports, so it works on any adapter set.

use std::path::PathBuf;
use upline_domain::ids::{CampaignId, ConversionId};

use serde_json::json;
use upline_domain::clock::Timestamp;
use upline_domain::commission::{CommissionLine, Explanation, LineStatus, Rule};
use upline_domain::conversion::{Conversion, ConversionAmounts, ConversionStatus};
use upline_domain::ids::{Principal, hash_api_key};
use upline_domain::money::{Currency, Money};
use upline_domain::partner::{Partner, PartnerKind, PartnerStatus};
use upline_domain::ports::{Condition, Item};
use upline_domain::services::Services;
use upline_domain::store::{Store, keys};
use upline_domain::tracking::Link;
use upline_domain::usecases::admin::register_admin_key_hash;

use crate::world::{put_campaign, put_program};

pub const ADMIN_KEY: &str = "upl_admin_sample_events_only";
pub const ADA_KEY: &str = "upl_partner_sample_events_ada";
pub const POSTBACK_SECRET: &str = "whsec_sample_events_secret_0123456789";
/// The events' own time: 2026-11-21T12:00:00Z.
pub const NOW: Timestamp = Timestamp(1_795_262_400_000);

/// The click secret the sample click id is signed with, as bytes and as the hex a
/// deployment is configured with.
pub const CLICK_SECRET_BYTE: u8 = 7;

pub fn click_secret_hex() -> String {
    "07".repeat(32)
}

pub fn events_dir() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../events"))
}

pub fn read_event(file: &str) -> String {
    std::fs::read_to_string(events_dir().join(file)).unwrap_or_else(|e| panic!("{file}: {e}"))
}

/// Stores `p` as signup would: with its email and referral code taken.
pub async fn insert_partner(services: &Services, p: &Partner) {
    services
        .store
        .table()
        .transact(vec![
            Store::partner_put(p, Condition::NotExists),
            Store::unique_marker(keys::partner_email(&p.email), &p.id),
            Store::unique_marker(keys::referral_code(&p.referral_code), &p.id),
        ])
        .await
        .unwrap();
}

pub fn partner(
    id: &str,
    status: PartnerStatus,
    recruited_by: Option<&str>,
    referral_code: &str,
) -> Partner {
    Partner {
        id: id.into(),
        email: format!("{id}@example.com"),
        name: id.trim_start_matches("p-").to_string(),
        kind: PartnerKind::Affiliate,
        status,
        recruited_by: recruited_by.map(str::to_string).map(Into::into),
        referral_code: referral_code.into(),
        group: None,
        payout_details: None,
        fields: Default::default(),
        status_reason: None,
        notifications: Default::default(),
        unsubscribe_token: String::new(),
        api_key_hash: None,
        status_history: Vec::new(),
        created_at: NOW.plus_days(-60),
        updated_at: NOW.plus_days(-60),
    }
}

pub fn line(
    conversion: &str,
    partner: &str,
    created: Timestamp,
    hold_until: Timestamp,
) -> CommissionLine {
    CommissionLine {
        id: format!("{conversion}:0").into(),
        conversion_id: conversion.into(),
        partner_id: partner.into(),
        campaign_id: "spring-sale".into(),
        level: 0,
        amount: Money::from_minor(1_000, Currency::from_code("USD").unwrap()),
        status: LineStatus::Pending,
        hold_until,
        explanation: Explanation {
            rule: Rule::RevenueShare,
            level: 0,
            base_minor: 10_000,
            rate: None,
            cpa_minor: None,
            parts: vec![],
            not_paid_because: None,
            exchange: None,
            terms: None,
            tier: None,
            renewal: None,
            attribution: None,
            summary: "sample".into(),
        },
        created_at: created,
        reverses: None,
        payout_id: None,
        held_for: None,
    }
}

/// Writes the sample world through `services`.
pub async fn seed(services: &Services) {
    let program = json!({"name": "Demo Outfitters", "currency": "USD", "hold_days": 30,
        "upline": {"depth": 2, "level_percents": ["50", "25"]},
        "postback_secret": POSTBACK_SECRET});
    put_program(services, program).await;
    let campaign = json!({"name": "Spring sale",
        "destination_url": "https://shop.example.com/spring?utm_source=upline",
        "terms": {"revenue_share_percent": "10"}});
    put_campaign(services, "spring-sale", campaign).await;
    let table = services.store.table().clone();
    for p in [
        partner("p-cleo", PartnerStatus::Approved, None, "cleoref1"),
        partner("p-bo", PartnerStatus::Approved, Some("p-cleo"), "boref001"),
        partner("p-ada", PartnerStatus::Approved, Some("p-bo"), "adaref01"),
        partner("p-dan", PartnerStatus::Pending, None, "danref01"),
    ] {
        insert_partner(services, &p).await;
    }
    let link = Link {
        code: "spring01".into(),
        partner_id: "p-ada".into(),
        campaign_id: "spring-sale".into(),
        created_at: NOW.plus_days(-30),
    };
    table
        .transact(vec![
            Store::link_put(&link),
            Store::unique_marker(
                keys::link_of(&"p-ada".into(), &"spring-sale".into()),
                "spring01",
            ),
        ])
        .await
        .unwrap();
    register_admin_key_hash(&services.store, "samples", &hash_api_key(ADMIN_KEY))
        .await
        .unwrap();
    let ada = Principal::Partner {
        partner_id: "p-ada".into(),
    };
    table
        .transact(vec![Store::api_key_put(&hash_api_key(ADA_KEY), &ada)])
        .await
        .unwrap();
    let conversion = Conversion {
        id: "conv-sample-1".into(),
        campaign_id: "spring-sale".into(),
        order_id: "order-2026-000001".into(),
        partner_id: "p-ada".into(),
        link_code: Some("spring01".into()),
        click_id: Some("AWsANkABAgMEBQZzcHJpbmcwMbyDq_6R5G-rFnSZecVCUKM".into()),
        clicked_at: Some(NOW.plus_days(-1)),
        attribution: Default::default(),
        unattributed_reason: None,
        amounts: ConversionAmounts::of_sale(Money::from_minor(
            10_000,
            Currency::from_code("USD").unwrap(),
        )),
        event: "sale".into(),
        items: vec![],
        customer_id: None,
        first_time_customer: None,
        refunded_original_minor: 0,
        original: None,
        subscription: None,
        subs: Default::default(),
        status: ConversionStatus::Recorded,
        created_at: NOW.plus_secs(-3_600),
    };
    table
        .transact(vec![
            Store::unique_marker(
                keys::order(&CampaignId::from("spring-sale"), &conversion.order_id),
                &conversion.id,
            ),
            Store::conversion_put(&conversion, Condition::NotExists),
        ])
        .await
        .unwrap();
    // A line past its 30-day hold, and one still inside it.
    for (conversion, created, hold_until) in [("conv-old", -40, -10), ("conv-new", -5, 25)] {
        let line = line(
            conversion,
            "p-bo",
            NOW.plus_days(created),
            NOW.plus_days(hold_until),
        );
        table.transact(vec![Store::line_put(&line)]).await.unwrap();
    }
    // Those lines came from a deployment whose hourly sweep has been running: it last
    // finished the day before the older one. (A sweep that never ran would take its start
    // from the first commission, `Store::record_sweep_start`.)
    let swept = Item::new(keys::approval_sweep()).with(
        "approved_through_day",
        i64::from(NOW.plus_days(-41).day().0),
    );
    table.put(swept, Condition::None).await.unwrap();
}

/// The sample conversion whose sale pays the whole chain.
pub const SAMPLE_CONVERSION: &str = "conv-sample-1";

/// Commissions [`SAMPLE_CONVERSION`] (a 100.00 sale by `p-ada`): leaves its three pending
/// lines, 10.00 to `p-ada`, 5.00 to `p-bo` and 2.50 to `p-cleo`, and returns them.
pub async fn commission_sample(services: &Services) -> Vec<CommissionLine> {
    let id = ConversionId::from(SAMPLE_CONVERSION);
    upline_domain::usecases::commissions::commission_conversion(services, &id, "t")
        .await
        .unwrap()
}

/// The lines stored for `conversion`.
pub async fn lines_of(store: &Store, conversion: &str) -> Vec<CommissionLine> {
    store
        .lines_of_conversion(&ConversionId::from(conversion))
        .await
        .unwrap()
}

/// Asserts [`SAMPLE_CONVERSION`] was commissioned once, through the two-level upline:
/// 10.00 to `p-ada`, 5.00 to `p-bo`, 2.50 to `p-cleo`, and no other line.
pub async fn assert_the_sample_paid_the_chain(store: &Store) {
    let lines = lines_of(store, SAMPLE_CONVERSION).await;
    let paid: Vec<(&str, i64)> = lines
        .iter()
        .map(|l| (l.partner_id.as_str(), l.amount.minor()))
        .collect();
    assert_eq!(paid, vec![("p-ada", 1_000), ("p-bo", 500), ("p-cleo", 250)]);
}
