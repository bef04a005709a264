//! Unit tests of the refund decision (pure: no store, no clock) and of the request's
//! parsing: partial and stepwise refunds, refusals, chargebacks, converted sales, repeats.

use std::collections::BTreeMap;

use super::decide::{Decision, RefundPlan, decide};
use super::parse::{RefundCommand, Target, parse};
use super::*;
use crate::clock::Timestamp;
use crate::commission::{CommissionLine, LineStatus, Rule, line_id, reversal_amounts};
use crate::conversion::{ConversionStatus, OriginalAmount, RefundKind};
use crate::ids::PartnerId;
use crate::money::Currency;
use crate::money::{ExchangeRate, Money};
use crate::store::counters;

const T0: Timestamp = Timestamp(1_700_000_000_000);
const NOW: Timestamp = Timestamp(1_700_000_000_000 + 86_400_000);

fn currency(code: &str) -> Currency {
    Currency::from_code(code).unwrap()
}

/// A commissioned sale of `sale_minor` (in USD) by partner `p`, in its stored shape.
fn conversion(sale_minor: i64) -> Conversion {
    serde_json::from_value(serde_json::json!({
        "id": "c-1", "campaign_id": "spring", "order_id": "o-1", "partner_id": "p",
        "amount_minor": sale_minor, "currency": "USD", "event": "sale",
        "status": "commissioned", "created_at": T0.0,
    }))
    .unwrap()
}

/// The line of `partner` at `level` for `amount_minor`, pending until 30 days after T0.
fn line(partner: &str, level: u8, amount_minor: i64) -> CommissionLine {
    let c = conversion(0);
    let explanation = serde_json::json!({"rule": "revenue_share", "level": level, "base_minor": 0, "summary": ""});
    CommissionLine {
        id: line_id(&c.id, level),
        conversion_id: c.id,
        partner_id: partner.into(),
        campaign_id: c.campaign_id,
        level,
        amount: Money::from_minor(amount_minor, currency("USD")),
        status: LineStatus::Pending,
        hold_until: T0.plus_days(30),
        explanation: serde_json::from_value(explanation).unwrap(),
        created_at: T0,
        reverses: None,
        payout_id: None,
        held_for: None,
    }
}

/// 10 % of a 100.00 sale to `p`, half of that to `up1`, a quarter to `up2`.
fn three_levels() -> Vec<CommissionLine> {
    vec![line("p", 0, 1000), line("up1", 1, 500), line("up2", 2, 250)]
}

fn refund(id: &str, amount: Option<&str>) -> RefundCommand {
    RefundCommand {
        refund_id: id.into(),
        kind: RefundKind::Refund,
        amount: amount.map(str::to_string),
        refunded_total: None,
        up_to_rest: false,
        currency: None,
        reason: None,
    }
}

fn record(
    conversion: &Conversion,
    lines: &[CommissionLine],
    command: &RefundCommand,
) -> RefundPlan {
    match decide(conversion, lines, None, command, NOW) {
        Ok(Decision::Record(plan)) => *plan,
        other => panic!("expected a refund to record, got {other:?}"),
    }
}

/// The conversion and lines after `plan` is written.
fn apply(lines: &mut Vec<CommissionLine>, plan: &RefundPlan) -> Conversion {
    lines.extend(plan.reversals.iter().cloned());
    plan.updated.clone()
}

fn amounts(lines: &[CommissionLine]) -> Vec<i64> {
    lines.iter().map(|l| l.amount.minor()).collect()
}

/// The one field error of a refusal: its field and message.
fn field_error(result: Result<Decision, AppError>) -> (String, String) {
    match result {
        Err(AppError::Invalid(errors)) if errors.len() == 1 => {
            (errors[0].field.clone(), errors[0].message.clone())
        }
        other => panic!("expected one field error, got {other:?}"),
    }
}

#[test]
fn a_partial_refund_reverses_every_level_in_proportion() {
    let c = conversion(10_000);
    let plan = record(&c, &three_levels(), &refund("r-1", Some("33.33")));
    // 33.33 % of 10.00, 5.00 and 2.50: 3.333 → 3.33, 1.6665 → 1.67, 0.83325 → 0.83.
    assert_eq!(amounts(&plan.reversals), vec![-333, -167, -83]);
    let partners: Vec<(&str, u8)> = plan
        .reversals
        .iter()
        .map(|l| (l.partner_id.as_str(), l.level))
        .collect();
    assert_eq!(partners, vec![("p", 0), ("up1", 1), ("up2", 2)]);
    for (reversal, original) in plan.reversals.iter().zip(three_levels()) {
        assert_eq!(reversal.id.as_str(), format!("{}:refund:r-1", original.id));
        assert_eq!(reversal.reverses.as_deref(), Some("r-1"));
        assert_eq!(reversal.explanation.rule, Rule::Reversal);
        assert_eq!(reversal.explanation.base_minor, original.amount.minor());
        // Still in their hold, the originals keep the reversals held with them.
        assert_eq!(reversal.status, LineStatus::Pending);
        assert_eq!(reversal.hold_until, original.hold_until);
        assert_eq!(reversal.created_at, NOW);
    }
    assert_eq!(
        plan.reversals[1].explanation.summary,
        "Refund r-1 of 33.33 USD (33.33% of the sale) reverses 1.67 USD of this 5.00 USD line"
    );
    assert_eq!(plan.refund.amount.minor(), 3333);
    assert_eq!(plan.refund.at, NOW);
    assert_eq!(plan.updated.amounts.refunded.minor(), 3333);
    assert_eq!(plan.updated.refunded_original_minor, 0);
    let expected: BTreeMap<PartnerId, BTreeMap<&str, i64>> = [
        (
            "p".into(),
            [(counters::COMMISSION, -333), (counters::REVENUE, -3333)].into(),
        ),
        ("up1".into(), [(counters::COMMISSION, -167)].into()),
        ("up2".into(), [(counters::COMMISSION, -83)].into()),
    ]
    .into();
    assert_eq!(plan.counters, expected);
}

#[test]
fn refunds_in_steps_reverse_every_line_exactly() {
    let mut c = conversion(10_000);
    let mut lines = three_levels();
    for (id, amount) in [
        ("r-1", Some("33.33")),
        ("r-2", Some("33.33")),
        ("r-3", None),
    ] {
        let plan = record(&c, &lines, &refund(id, amount));
        c = apply(&mut lines, &plan);
    }
    assert_eq!(c.amounts.refunded.minor(), 10_000);
    for level in 0..3u8 {
        let net: i64 = lines
            .iter()
            .filter(|l| l.level == level)
            .map(|l| l.amount.minor())
            .sum();
        assert_eq!(net, 0, "level {level} nets to zero");
    }
    // The steps are the engine's: each the cumulative share less what went before.
    let steps: Vec<i64> = lines
        .iter()
        .filter(|l| l.level == 2 && l.reverses.is_some())
        .map(|l| -l.amount.minor())
        .collect();
    let engine: Vec<i64> = [(0, 3333), (3333, 3333), (6666, 3334)]
        .iter()
        .map(|&(before, r)| reversal_amounts(&[250], 10_000, before, r)[0])
        .collect();
    assert_eq!(steps, engine);
    assert_eq!(
        field_error(decide(&c, &lines, None, &refund("r-4", None), NOW)),
        (
            "amount".into(),
            "the conversion is already fully refunded".into()
        )
    );
}

#[test]
fn a_refund_past_what_is_left_is_refused() {
    let mut c = conversion(10_000);
    let mut lines = three_levels();
    let plan = record(&c, &lines, &refund("r-1", Some("33.33")));
    c = apply(&mut lines, &plan);
    let (field, message) =
        field_error(decide(&c, &lines, None, &refund("r-2", Some("70.00")), NOW));
    assert_eq!(field, "amount");
    assert_eq!(
        message,
        "exceeds the 66.67 USD not yet refunded on this conversion"
    );
    // Exactly what is left is fine.
    let rest = record(&c, &lines, &refund("r-2", Some("66.67")));
    assert_eq!(rest.updated.amounts.refunded.minor(), 10_000);
    for zero in ["0", "-1.00"] {
        assert_eq!(
            field_error(decide(&c, &lines, None, &refund("r-3", Some(zero)), NOW)).1,
            "must be more than zero"
        );
    }
}

#[test]
fn a_refunded_total_takes_back_only_what_it_adds_and_a_capped_refund_only_what_is_left() {
    let mut c = conversion(10_000);
    let mut lines = three_levels();
    let total = |id: &str, t: &str| RefundCommand {
        refunded_total: Some(t.into()),
        ..refund(id, None)
    };
    // The order's refunded total is now 30.00, then 50.00: 30.00 and 20.00 taken back.
    let plan = record(&c, &lines, &total("t-30", "30.00"));
    assert_eq!(plan.refund.amount.minor(), 3_000);
    c = apply(&mut lines, &plan);
    let plan = record(&c, &lines, &total("t-50", "50.00"));
    assert_eq!(plan.refund.amount.minor(), 2_000);
    c = apply(&mut lines, &plan);
    // A total reported late (30.00 after 50.00) adds nothing.
    let (field, message) = field_error(decide(&c, &lines, None, &total("t-30b", "30.00"), NOW));
    assert_eq!(field, "refunded_total");
    assert_eq!(message, "is not more than the 50.00 USD already refunded");
    // A refund counted on a wider base takes back at most what is left.
    let capped = RefundCommand {
        up_to_rest: true,
        ..refund("wide", Some("80.00"))
    };
    let plan = record(&c, &lines, &capped);
    assert_eq!(plan.refund.amount.minor(), 5_000);
    c = apply(&mut lines, &plan);
    // Repeated after everything was taken back, the refund answers as it was recorded.
    let earlier = plan.refund.clone();
    assert!(matches!(
        decide(&c, &lines, Some(&earlier), &capped, NOW),
        Ok(Decision::Repeat(r)) if r.refund_id == "wide"
    ));
}

#[test]
fn a_chargeback_of_approved_lines_counts_at_once() {
    let c = conversion(10_000);
    let mut lines = three_levels();
    lines[0].status = LineStatus::Approved;
    lines[1].status = LineStatus::Paid;
    let command = RefundCommand {
        kind: RefundKind::Chargeback,
        reason: Some("fraud".into()),
        ..refund("cb-1", None)
    };
    let plan = record(&c, &lines, &command);
    assert_eq!(plan.refund.kind, RefundKind::Chargeback);
    assert_eq!(plan.refund.reason.as_deref(), Some("fraud"));
    assert_eq!(amounts(&plan.reversals), vec![-1000, -500, -250]);
    let states: Vec<(LineStatus, Timestamp)> = plan
        .reversals
        .iter()
        .map(|l| (l.status, l.hold_until))
        .collect();
    assert_eq!(
        states,
        vec![
            (LineStatus::Approved, NOW),
            (LineStatus::Approved, NOW),
            (LineStatus::Pending, T0.plus_days(30)),
        ]
    );
    assert_eq!(plan.reversals[0].id.as_str(), "c-1:0:chargeback:cb-1");
    assert!(
        plan.reversals[0]
            .explanation
            .summary
            .starts_with("Chargeback cb-1 of 100.00 USD (100% of the sale)"),
        "{}",
        plan.reversals[0].explanation.summary
    );
}

#[test]
fn rejected_lines_and_earlier_reversals_are_not_reversed() {
    let mut c = conversion(10_000);
    let mut lines = three_levels();
    lines[2].status = LineStatus::Rejected;
    let plan = record(&c, &lines, &refund("r-1", Some("50.00")));
    assert_eq!(amounts(&plan.reversals), vec![-500, -250]);
    c = apply(&mut lines, &plan);
    let plan = record(&c, &lines, &refund("r-2", None));
    assert_eq!(amounts(&plan.reversals), vec![-500, -250]);
}

/// 100.00 EUR converted at 1.0843: a sale of 108.43 USD.
fn converted() -> Conversion {
    let mut c = conversion(10_843);
    c.original = Some(OriginalAmount {
        amount: Money::from_minor(10_000, currency("EUR")),
        rate: ExchangeRate::parse(currency("EUR"), currency("USD"), "1.0843").unwrap(),
    });
    c
}

#[test]
fn refunds_of_a_converted_sale_come_in_its_original_currency_and_add_up_exactly() {
    let mut c = converted();
    let mut lines = vec![line("p", 0, 1084), line("up1", 1, 542)];
    // Two refunds of 50.00 EUR: 54.215 → 54.22, then 108.43 − 54.22 = 54.21.
    let first = record(&c, &lines, &refund("r-1", Some("50.00")));
    assert_eq!(
        first.refund.amount,
        Money::from_minor(5422, currency("USD"))
    );
    assert_eq!(first.updated.refunded_original_minor, 5000);
    c = apply(&mut lines, &first);
    let (field, message) =
        field_error(decide(&c, &lines, None, &refund("r-2", Some("50.01")), NOW));
    assert_eq!(
        (field.as_str(), message.as_str()),
        (
            "amount",
            "exceeds the 50.00 EUR not yet refunded on this conversion"
        )
    );
    let second = record(&c, &lines, &refund("r-2", Some("50.00")));
    assert_eq!(second.refund.amount.minor(), 5421);
    c = apply(&mut lines, &second);
    assert_eq!(c.amounts.refunded.minor(), 10_843);
    assert_eq!(c.refunded_original_minor, 10_000);
    assert_eq!(lines.iter().map(|l| l.amount.minor()).sum::<i64>(), 0);
}

#[test]
fn a_capped_refund_after_one_in_the_program_currency_takes_what_is_left() {
    // 100.00 EUR sold (108.43 USD); 100.00 USD refunded in the program's currency, which
    // leaves the euro count behind; a store's refund of 60.00 EUR capped at what is left
    // takes the 8.43 USD left, not an error.
    let mut c = converted();
    let mut lines = vec![line("p", 0, 1084), line("up1", 1, 542)];
    let usd = RefundCommand {
        currency: Some("USD".into()),
        ..refund("r-usd", Some("100.00"))
    };
    let first = record(&c, &lines, &usd);
    c = apply(&mut lines, &first);
    let capped = RefundCommand {
        up_to_rest: true,
        currency: Some("EUR".into()),
        ..refund("store-1", Some("60.00"))
    };
    let plan = record(&c, &lines, &capped);
    assert_eq!(plan.refund.amount.minor(), 843);
    c = apply(&mut lines, &plan);
    assert_eq!(c.amounts.refunded.minor(), 10_843);
}

#[test]
fn a_converted_sale_takes_refunds_in_the_program_currency_too_but_no_third_one() {
    let c = converted();
    let lines = vec![line("p", 0, 1084)];
    let usd = RefundCommand {
        currency: Some("USD".into()),
        ..refund("r-1", Some("10.00"))
    };
    let plan = record(&c, &lines, &usd);
    assert_eq!(plan.refund.amount.minor(), 1000);
    assert_eq!(
        plan.updated.refunded_original_minor, 0,
        "no EUR amount given"
    );
    let gbp = RefundCommand {
        currency: Some("GBP".into()),
        ..refund("r-1", Some("10.00"))
    };
    assert_eq!(
        field_error(decide(&c, &lines, None, &gbp, NOW)),
        (
            "currency".into(),
            "the conversion is in USD (sent in EUR)".into()
        )
    );
    let bad = RefundCommand {
        currency: Some("nope".into()),
        ..refund("r-1", Some("10.00"))
    };
    assert_eq!(
        field_error(decide(&c, &lines, None, &bad, NOW)).0,
        "currency"
    );
    // Everything left, in both currencies.
    let mut c = c;
    c.amounts.refunded = Money::from_minor(5422, currency("USD"));
    c.refunded_original_minor = 5000;
    let rest = record(&c, &lines, &refund("r-2", None));
    assert_eq!(rest.refund.amount.minor(), 5421);
    assert_eq!(rest.updated.refunded_original_minor, 10_000);
}

#[test]
fn a_refund_id_used_before_answers_with_its_refund_or_refuses_a_new_amount() {
    let c = conversion(10_000);
    let lines = three_levels();
    let earlier = record(&c, &lines, &refund("r-1", Some("33.33"))).refund;
    for same in [Some("33.33"), None] {
        assert_eq!(
            decide(&c, &lines, Some(&earlier), &refund("r-1", same), NOW),
            Ok(Decision::Repeat(earlier.clone()))
        );
    }
    match decide(
        &c,
        &lines,
        Some(&earlier),
        &refund("r-1", Some("10.00")),
        NOW,
    ) {
        Err(AppError::Conflict { field, detail }) => {
            assert_eq!(field.as_deref(), Some("refund_id"));
            assert!(detail.contains("33.33 USD"), "{detail}");
        }
        other => panic!("expected a conflict, got {other:?}"),
    }
}

#[test]
fn a_conversion_whose_commission_is_being_computed_is_not_refunded_yet() {
    let mut c = conversion(10_000);
    c.status = ConversionStatus::Recorded;
    assert!(matches!(
        decide(&c, &[], None, &refund("r-1", None), NOW),
        Err(AppError::Unavailable(_))
    ));
}

#[test]
fn a_request_reports_every_field_error_at_once() {
    let req: RefundRequest =
        serde_json::from_value(serde_json::json!({"kind": "gift", "order_id": " "})).unwrap();
    let parsed = parse(&req);
    assert_eq!(parsed.target, None);
    let fields: Vec<&str> = parsed.errors.fields().collect();
    assert_eq!(fields, vec!["refund_id", "kind", "order_id"]);

    let req: RefundRequest = serde_json::from_value(serde_json::json!({
        "refund_id": " r-1 ", "conversion_id": "c-1", "order_id": "o-1", "amount": 12.5,
        "reason": "x".repeat(600),
    }))
    .unwrap();
    let parsed = parse(&req);
    assert_eq!(parsed.target, Some(Target::Id("c-1".into())));
    let (command, _) = parsed.finish(Some(conversion(10_000))).unwrap();
    assert_eq!(command.refund_id, "r-1");
    assert_eq!(command.kind, RefundKind::Refund);
    assert_eq!(command.amount.as_deref(), Some("12.5"));
    assert_eq!(command.reason.map(|r| r.len()), Some(500));
}
