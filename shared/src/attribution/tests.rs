//! Unit tests of `attribution::decide`: every branch, with no store.

use super::*;

const DAY_MS: i64 = 86_400_000;

fn click(partner: &str, made_at: Timestamp, window_days: u32) -> ClickCandidate {
    ClickCandidate {
        link: Link {
            code: "spring01".into(),
            partner_id: partner.into(),
            campaign_id: "spring-sale".into(),
            created_at: Timestamp(0),
        },
        click_id: "clk-1".into(),
        clicked_at: made_at,
        window_days,
    }
}

fn promo(partner: &str) -> PromoCandidate {
    PromoCandidate {
        code: "ADA10".into(),
        partner_id: partner.into(),
        campaign_id: "spring-sale".into(),
    }
}

fn named(click: Option<ClickCandidate>, promo: Option<PromoCandidate>) -> Candidates {
    let promo_text = promo.as_ref().map(|p| p.code.to_string());
    Candidates {
        subscription: None,
        click,
        promo,
        promo_text,
    }
}

const NOW: Timestamp = Timestamp(100 * DAY_MS);

#[test]
fn a_click_inside_its_window_earns() {
    let c = decide(
        AttributionPriority::Click,
        named(Some(click("p-ada", Timestamp(95 * DAY_MS), 30)), None),
        NOW,
    )
    .unwrap();
    assert_eq!(c.partner_id, "p-ada");
    assert_eq!(c.attribution.method, AttributionMethod::Click);
    assert_eq!(c.unattributed, None);
    assert_eq!(c.link_code.unwrap(), "spring01");
}

#[test]
fn a_click_past_its_window_is_recorded_unattributed_with_the_reason() {
    let c = decide(
        AttributionPriority::Click,
        named(Some(click("p-ada", Timestamp(50 * DAY_MS), 30)), None),
        NOW,
    )
    .unwrap();
    let why = c.unattributed.unwrap();
    assert!(why.contains("credits clicks for 30 days"), "{why}");
    // Exactly at the end of the window it still earns.
    let edge = decide(
        AttributionPriority::Click,
        named(Some(click("p-ada", Timestamp(70 * DAY_MS), 30)), None),
        NOW,
    )
    .unwrap();
    assert_eq!(edge.unattributed, None);
}

#[test]
fn an_expired_click_loses_to_a_valid_code() {
    let c = decide(
        AttributionPriority::Click,
        named(Some(click("p-ada", Timestamp(0), 30)), Some(promo("p-bo"))),
        NOW,
    )
    .unwrap();
    assert_eq!(c.partner_id, "p-bo");
    assert_eq!(c.attribution.method, AttributionMethod::PromoCode);
    assert!(
        c.attribution
            .note
            .unwrap()
            .ends_with("the promo code still earns")
    );
}

#[test]
fn the_programs_priority_decides_between_two_partners() {
    let both = || {
        named(
            Some(click("p-ada", Timestamp(99 * DAY_MS), 30)),
            Some(promo("p-bo")),
        )
    };
    let by_click = decide(AttributionPriority::Click, both(), NOW).unwrap();
    assert_eq!(by_click.partner_id, "p-ada");
    assert!(
        by_click
            .attribution
            .note
            .unwrap()
            .contains("credits clicks first")
    );
    let by_code = decide(AttributionPriority::PromoCode, both(), NOW).unwrap();
    assert_eq!(by_code.partner_id, "p-bo");
    assert!(
        by_code
            .attribution
            .note
            .unwrap()
            .contains("credits promo codes first")
    );
}

#[test]
fn the_same_partners_click_and_code_credit_the_code() {
    let c = decide(
        AttributionPriority::Click,
        named(
            Some(click("p-ada", Timestamp(99 * DAY_MS), 30)),
            Some(promo("p-ada")),
        ),
        NOW,
    )
    .unwrap();
    assert_eq!(c.attribution.method, AttributionMethod::PromoCode);
    assert_eq!(
        c.attribution.note.unwrap(),
        "the click clk-1 was the same partner's"
    );
}

#[test]
fn an_unknown_code_is_noted_beside_a_click_and_refused_alone() {
    let mut with_click = named(Some(click("p-ada", Timestamp(99 * DAY_MS), 30)), None);
    with_click.promo_text = Some("NOPE".into());
    let c = decide(AttributionPriority::Click, with_click, NOW).unwrap();
    assert_eq!(
        c.attribution.note.unwrap(),
        "promo code NOPE is not assigned to any partner"
    );
    let mut alone = named(None, None);
    alone.promo_text = Some("NOPE".into());
    let e = decide(AttributionPriority::Click, alone, NOW).unwrap_err();
    assert_eq!(e.field, "promo_code");
    assert!(e.message.contains("not assigned"), "{}", e.message);
    let e = decide(AttributionPriority::Click, named(None, None), NOW).unwrap_err();
    assert_eq!(e.message, "is required without a click_id");
}

#[test]
fn a_renewal_stays_with_the_subscription_whatever_else_is_named() {
    let sub = Subscription {
        subscription_id: "sub-1".into(),
        campaign_id: "spring-sale".into(),
        partner_id: "p-cleo".into(),
        link_code: None,
        click_id: None,
        clicked_at: None,
        attribution: Attribution::default(),
        started_at: Timestamp(0),
        first_conversion_id: "conv-1".into(),
    };
    let mut candidates = named(
        Some(click("p-ada", Timestamp(99 * DAY_MS), 30)),
        Some(promo("p-bo")),
    );
    candidates.subscription = Some(sub);
    let c = decide(AttributionPriority::Click, candidates, NOW).unwrap();
    assert_eq!(c.partner_id, "p-cleo");
    assert_eq!(c.attribution.method, AttributionMethod::Subscription);
    assert_eq!(
        c.attribution.note.unwrap(),
        "subscription sub-1 started with conversion conv-1"
    );
}
