//! Unit tests of the commission decision (pure: no store, no clock): the engine's lines
//! as stored, a partner who may not earn, terms and exchange in explanations, caps and
//! counters.

use std::collections::BTreeMap;

use super::decide::{Commission, decide};
use super::load::{CapRead, Inputs};
use crate::clock::Timestamp;
use crate::commission::{LineStatus, Rule, UplineSeat, compute_lines};
use crate::conversion::{Attribution, AttributionMethod, Conversion, OriginalAmount};
use crate::ids::PartnerId;
use crate::money::{Currency, ExchangeRate, Money, Percent};
use crate::partner::PartnerStatus;
use crate::ports::Key;
use crate::program::{LevelRates, UplineBase, UplinePlan};
use crate::store::counters;
use crate::terms::{Cap, CapMetric, CapPeriod, CapUsage, Terms, TermsSource};

const T0: Timestamp = Timestamp(1_700_000_000_000);
const NOW: Timestamp = Timestamp(1_700_000_000_000 + 60_000);

/// A recorded sale of 100.00 USD by partner `p`, with one sub-id, in its stored shape.
fn conversion() -> Conversion {
    serde_json::from_value(serde_json::json!({
        "id": "c-1", "campaign_id": "spring", "order_id": "o-1", "partner_id": "p",
        "amount_minor": 10_000, "currency": "USD", "event": "sale",
        "subs": {"sub1": "newsletter"}, "status": "recorded", "created_at": T0.0,
    }))
    .unwrap()
}

fn percent(text: &str) -> Percent {
    Percent::parse(text).unwrap()
}

/// 10 % of the sale to `p` (approved, on the campaign's terms); 50 % and 25 % of that to
/// the two recruiters above; a 30-day hold; no caps.
fn inputs() -> Inputs {
    Inputs {
        hold_days: 30,
        plan: UplinePlan {
            depth: 2,
            rates: LevelRates::Explicit {
                levels: vec![percent("50"), percent("25")],
            },
            base: UplineBase::DirectCommission,
            skip: Default::default(),
        },
        upline: vec![
            UplineSeat::Earner("up1".into()),
            UplineSeat::Earner("up2".into()),
        ],
        partner_status: Some(PartnerStatus::Approved),
        terms: Terms {
            revenue_share: Some(percent("10")),
            ..Terms::default()
        },
        terms_source: TermsSource::Campaign,
        caps: BTreeMap::new(),
        volume: Default::default(),
    }
}

fn amounts(c: &Commission) -> Vec<i64> {
    c.lines.iter().map(|l| l.amount.minor()).collect()
}

#[test]
fn the_engines_lines_are_stored_with_ids_holds_and_the_conversions_story() {
    let (conversion, inputs) = (conversion(), inputs());
    let c = decide(&conversion, &inputs, NOW);
    let engine = compute_lines(
        &conversion.sale(),
        &inputs.terms,
        &inputs.plan,
        &conversion.partner_id,
        &inputs.upline,
    );
    assert_eq!(amounts(&c), vec![1000, 500, 250]);
    for (line, draft) in c.lines.iter().zip(&engine) {
        assert_eq!(line.id.as_str(), format!("c-1:{}", draft.level));
        assert_eq!(
            (&line.partner_id, line.level),
            (&draft.partner_id, draft.level)
        );
        assert_eq!(line.amount, draft.amount);
        assert_eq!(line.explanation.summary, draft.explanation.summary);
        assert_eq!(line.status, LineStatus::Pending);
        assert_eq!(line.hold_until, NOW.plus_days(30));
        assert_eq!(line.created_at, NOW);
        assert_eq!(line.campaign_id.as_str(), "spring");
        assert_eq!(line.reverses, None);
        assert_eq!(
            line.explanation.attribution.as_deref(),
            Some("attributed by click")
        );
        assert_eq!(line.explanation.terms, None, "the campaign's own terms");
        assert_eq!(line.explanation.exchange, None);
    }
    assert_eq!(c.lines.len(), engine.len());
    assert_eq!(c.cap_use, Some(1000));
}

#[test]
fn the_counters_give_the_converting_partner_the_sale_and_every_earner_their_commission() {
    let c = decide(&conversion(), &inputs(), NOW);
    let expected: BTreeMap<PartnerId, BTreeMap<&str, i64>> = [
        (
            "p".into(),
            [
                (counters::COMMISSION, 1000),
                (counters::CONVERSIONS, 1),
                (counters::REVENUE, 10_000),
            ]
            .into(),
        ),
        ("up1".into(), [(counters::COMMISSION, 500)].into()),
        ("up2".into(), [(counters::COMMISSION, 250)].into()),
    ]
    .into();
    assert_eq!(c.counters, expected);
    assert_eq!(
        c.sub_counters,
        [
            (counters::CONVERSIONS, 1),
            (counters::REVENUE, 10_000),
            (counters::COMMISSION, 1000),
        ]
    );
}

#[test]
fn a_suspended_partners_conversion_earns_one_zero_line_and_nothing_upline() {
    let mut inputs = inputs();
    inputs.partner_status = Some(PartnerStatus::Suspended);
    let c = decide(&conversion(), &inputs, NOW);
    assert_eq!(amounts(&c), vec![0]);
    let e = &c.lines[0].explanation;
    assert_eq!(e.rule, Rule::NotQualified);
    assert_eq!(
        e.not_paid_because.as_deref(),
        Some("the partner was suspended when the conversion came in")
    );
    assert_eq!(
        e.summary,
        "Not paid: the partner was suspended when the conversion came in."
    );
    assert!(e.parts.is_empty());
    assert_eq!(
        c.lines[0].amount.currency(),
        Currency::from_code("USD").unwrap()
    );
    assert_eq!(c.cap_use, None, "an unpaid conversion uses no cap");
    assert_eq!(c.counters.len(), 1, "only the converting partner's row");
    assert_eq!(c.sub_counters[2], (counters::COMMISSION, 0));
    // A partner not on record is paid as the engine says.
    inputs.partner_status = None;
    assert_eq!(
        amounts(&decide(&conversion(), &inputs, NOW)),
        vec![1000, 500, 250]
    );
}

#[test]
fn the_partners_line_names_terms_that_are_not_the_campaigns() {
    let mut inputs = inputs();
    inputs.terms_source = TermsSource::Group("gold".into());
    let c = decide(&conversion(), &inputs, NOW);
    let terms: Vec<Option<&str>> = c
        .lines
        .iter()
        .map(|l| l.explanation.terms.as_deref())
        .collect();
    assert_eq!(terms, vec![Some("the terms of group gold"), None, None]);
}

#[test]
fn explanations_carry_the_exchange_and_how_the_conversion_was_credited() {
    let mut conversion = conversion();
    conversion.amounts.sale = Money::from_minor(10_843, Currency::from_code("USD").unwrap());
    conversion.original = Some(OriginalAmount {
        amount: Money::from_minor(10_000, Currency::from_code("EUR").unwrap()),
        rate: ExchangeRate::parse(
            Currency::from_code("EUR").unwrap(),
            Currency::from_code("USD").unwrap(),
            "1.0843",
        )
        .unwrap(),
    });
    conversion.attribution = Attribution {
        method: AttributionMethod::PromoCode,
        promo_code: Some("SPRING10".into()),
        note: None,
    };
    let c = decide(&conversion, &inputs(), NOW);
    assert_eq!(amounts(&c), vec![1084, 542, 271]);
    for line in &c.lines {
        assert_eq!(
            line.explanation.exchange.as_deref(),
            Some("100.00 EUR at 1 EUR = 1.0843 USD = 108.43 USD")
        );
        assert_eq!(
            line.explanation.attribution.as_deref(),
            Some("attributed by promo code SPRING10")
        );
    }
}

#[test]
fn a_conversion_over_a_cap_is_not_paid_and_uses_no_cap() {
    let mut inputs = inputs();
    inputs.terms.caps = vec![Cap {
        period: CapPeriod::Day,
        metric: CapMetric::Conversions,
        limit: 1,
    }];
    let read = |conversions| CapRead {
        key: Key::new("CAP", "DAY"),
        conversions: Some(conversions),
        usage: CapUsage {
            conversions,
            commission_minor: 0,
        },
    };
    inputs.caps = [(CapPeriod::Day, read(1))].into();
    let c = decide(&conversion(), &inputs, NOW);
    assert_eq!(amounts(&c), vec![0]);
    assert_eq!(c.lines[0].explanation.rule, Rule::Capped);
    assert_eq!(c.cap_use, None);
    // Under the cap, it is paid and counts.
    inputs.caps = [(CapPeriod::Day, read(0))].into();
    let c = decide(&conversion(), &inputs, NOW);
    assert_eq!(amounts(&c), vec![1000, 500, 250]);
    assert_eq!(c.cap_use, Some(1000));
}
