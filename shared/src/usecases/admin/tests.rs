//! The admin requests' parsers: every wrong field named at once, and the values a use
//! case receives when nothing is wrong.

use super::*;
use serde_json::json;

fn read<T: serde::de::DeserializeOwned>(json: serde_json::Value) -> T {
    serde_json::from_value(json).unwrap()
}

fn fields(e: AppError) -> Vec<String> {
    match e {
        AppError::Invalid(errors) => errors.into_iter().map(|e| e.field).collect(),
        other => panic!("not a validation error: {other:?}"),
    }
}

fn usd() -> Currency {
    Currency::from_code("USD").unwrap()
}

#[test]
fn program_settings_name_every_wrong_field_and_default_the_rest() {
    let e = read::<ProgramRequest>(json!({
        "name": " ", "hold_days": 400, "attribution_priority": "last",
        "postback_secret": "short", "upline": {"depth": 2}
    }))
    .parse()
    .unwrap_err();
    assert_eq!(
        fields(e),
        [
            "name",
            "currency",
            "hold_days",
            "upline.level_percents",
            "attribution_priority",
            "postback_secret"
        ]
    );
    let settings = read::<ProgramRequest>(json!({
        "name": " Acme ", "currency": "eur", "postback_secret": "  0123456789abcdef01234567  "
    }))
    .parse()
    .unwrap();
    assert_eq!(settings.name, "Acme");
    assert_eq!(settings.currency.code(), "EUR");
    assert_eq!(settings.hold_days, 30, "the default hold");
    assert_eq!(settings.upline, UplinePlan::off());
    assert_eq!(
        settings.postback_secret.as_deref(),
        Some("0123456789abcdef01234567"),
        "a chosen secret is trimmed"
    );
}

#[test]
fn campaign_amounts_are_read_in_the_program_currency() {
    let spec = read::<CampaignRequest>(json!({
        "name": "Spring", "destination_url": "https://shop.example.com/",
        "terms": {"cpa": "5.5"}, "status": "paused"
    }))
    .parse(usd())
    .unwrap();
    assert_eq!(spec.status, CampaignStatus::Paused);
    assert_eq!(
        spec.attribution_window_days,
        crate::campaign::DEFAULT_ATTRIBUTION_WINDOW_DAYS
    );
    let jpy = Currency::from_code("JPY").unwrap();
    let e = read::<CampaignRequest>(json!({
        "name": "Spring", "terms": {"cpa": "5.5"}, "attribution_window_days": 0,
        "allowed_domains": ["ok.example.com", "https://not a domain"]
    }))
    .parse(jpy)
    .unwrap_err();
    assert_eq!(
        fields(e),
        [
            "destination_url",
            "allowed_domains[1]",
            "terms.cpa",
            "attribution_window_days"
        ],
        "a yen amount has no cents"
    );
    assert_eq!(
        parse_campaign_id("Spring Sale")
            .map_err(fields)
            .unwrap_err(),
        ["id"]
    );
}

#[test]
fn an_exchange_rate_needs_a_foreign_currency_and_a_rate() {
    let rate = read::<ExchangeRateRequest>(json!({"rate": "1.0842"}))
        .parse("EUR", usd())
        .unwrap();
    assert_eq!(rate.from.code(), "EUR");
    assert_eq!(rate.to, usd());
    let same = read::<ExchangeRateRequest>(json!({"rate": "1"})).parse("USD", usd());
    assert_eq!(fields(same.unwrap_err()), ["currency"]);
    let missing = read::<ExchangeRateRequest>(json!({})).parse("EUR", usd());
    assert_eq!(fields(missing.unwrap_err()), ["rate"]);
}

#[test]
fn a_recruiter_is_named_one_way_and_a_group_is_a_slug() {
    let by_code = read::<RecruiterRequest>(json!({"referral_code": " AB12 "})).parse();
    assert_eq!(by_code.unwrap(), NewRecruiter::ReferralCode("ab12".into()));
    let nobody = read::<RecruiterRequest>(json!({"recruiter_id": null})).parse();
    assert_eq!(nobody.unwrap(), NewRecruiter::Nobody);
    let both = read::<RecruiterRequest>(json!({"recruiter_id": "p1", "referral_code": "x"}));
    assert_eq!(fields(both.parse().unwrap_err()), ["recruiter_id"]);
    let group = read::<GroupRequest>(json!({"group": " gold "})).parse();
    assert_eq!(group.unwrap().as_deref(), Some("gold"));
    let bad = read::<GroupRequest>(json!({"group": "Gold Tier"})).parse();
    assert_eq!(fields(bad.unwrap_err()), ["group"]);
    assert_eq!(read::<GroupRequest>(json!({})).parse().unwrap(), None);
}
