//! The sample world the files in `events/` refer to: a program, the `spring-sale`
//! campaign, partners `p-cleo` ← `p-bo` ← `p-ada` (approved) and `p-dan` (pending), link
//! `spring01`, conversion `conv-sample-1`, two lines around the 30-day hold, and the sample
//! admin and partner keys. Seeded through the ports, so it works on any adapter set.

use std::path::PathBuf;
use upline_domain::ids::CampaignId;

use upline_domain::clock::Timestamp;
use upline_domain::commission::{CommissionLine, Explanation, LineStatus, Rule};
use upline_domain::conversion::{Conversion, ConversionAmounts, ConversionStatus};
use upline_domain::ids::{Principal, hash_api_key};
use upline_domain::money::{Currency, Money};
use upline_domain::partner::{Partner, PartnerKind, PartnerStatus};
use upline_domain::ports::Condition;
use upline_domain::services::Services;
use upline_domain::store::{Store, keys};
use upline_domain::tracking::Link;
use upline_domain::usecases::admin::{
    self, CampaignRequest, ProgramRequest, TermsRequest, UplineRequest, register_admin_key_hash,
};
use upline_domain::usecases::input::DecimalText;

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
    }
}

/// Writes the sample world through `services`.
pub async fn seed(services: &Services) {
    let dec = |v: &str| Some(DecimalText(v.into()));
    admin::put_program(
        services,
        ProgramRequest {
            name: Some("Demo Outfitters".into()),
            currency: Some("USD".into()),
            hold_days: Some(30),
            upline: Some(UplineRequest {
                depth: Some(2),
                base: None,
                level_percents: Some(vec![DecimalText("50".into()), DecimalText("25".into())]),
                first_level_percent: None,
                decrement_percent: None,
                decay_factor: None,
                skip: None,
            }),
            postback_secret: Some(POSTBACK_SECRET.into()),
            attribution_priority: None,
            payouts: None,
            signup: None,
        },
    )
    .await
    .unwrap();
    admin::put_campaign(
        services,
        "spring-sale",
        CampaignRequest {
            name: Some("Spring sale".into()),
            destination_url: Some("https://shop.example.com/spring?utm_source=upline".into()),
            allowed_domains: None,
            terms: Some(TermsRequest {
                cpa: None,
                revenue_share_percent: dec("10"),
                ..Default::default()
            }),
            upline: None,
            targeting: None,
            attribution_window_days: None,
            status: None,
        },
    )
    .await
    .unwrap();
    let table = services.store.table().clone();
    for p in [
        partner("p-cleo", PartnerStatus::Approved, None, "cleoref1"),
        partner("p-bo", PartnerStatus::Approved, Some("p-cleo"), "boref001"),
        partner("p-ada", PartnerStatus::Approved, Some("p-bo"), "adaref01"),
        partner("p-dan", PartnerStatus::Pending, None, "danref01"),
    ] {
        table
            .transact(vec![
                Store::partner_put(&p, Condition::NotExists),
                Store::unique_marker(keys::partner_email(&p.email), &p.id),
                Store::unique_marker(keys::referral_code(&p.referral_code), &p.id),
            ])
            .await
            .unwrap();
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
    table
        .transact(vec![Store::line_put(&line(
            "conv-old",
            "p-bo",
            NOW.plus_days(-40),
            NOW.plus_days(-10),
        ))])
        .await
        .unwrap();
    table
        .transact(vec![Store::line_put(&line(
            "conv-new",
            "p-bo",
            NOW.plus_days(-5),
            NOW.plus_days(25),
        ))])
        .await
        .unwrap();
}
