//! Unit tests of the engine: every model, tiers, caps, the upline and rounding.
//!
//! Longer than most files: every model of the engine shares these fixtures and the
//! property-test strategies, and a reader checking one rule finds its neighbours here.

use super::*;
use crate::program::LevelRates;
use proptest::prelude::*;
use rust_decimal::Decimal;

fn usd(minor: i64) -> Money {
    Money::from_minor(minor, Currency::from_code("USD").unwrap())
}

fn p(s: &str) -> Percent {
    Percent::parse(s).unwrap()
}

fn chain(n: usize) -> Vec<UplineSeat> {
    (1..=n)
        .map(|i| UplineSeat::Earner(format!("up{i}").into()))
        .collect()
}

mod no_overflow {
    //! No input the edge accepts makes any money computation of the engine overflow
    //! (tests build with overflow checks, so an overflow fails the property).
    use super::*;
    use crate::money::MAX_AMOUNT_MINOR;
    use crate::program::{LevelRates, UplineBase};

    fn amount() -> impl Strategy<Value = i64> {
        prop_oneof![
            Just(0i64),
            Just(MAX_AMOUNT_MINOR),
            0..=MAX_AMOUNT_MINOR,
            0..=100_000i64,
        ]
    }

    fn percent() -> impl Strategy<Value = Percent> {
        (0u32..=100_000_000).prop_map(|n| Percent::new(Decimal::new(i64::from(n), 6)).unwrap())
    }

    prop_compose! {
        /// Items as the edge accepts them: each total and their sum within the bound.
        fn items()(raw in prop::collection::vec((1i64..=1_000_000, amount(), any::<bool>()), 0..6)) -> Vec<LineItem> {
            let mut total = 0i64;
            let mut out = Vec::new();
            for (i, (quantity, unit, in_shoes)) in raw.into_iter().enumerate() {
                let unit = unit / quantity;
                let line = quantity * unit;
                if total + line > MAX_AMOUNT_MINOR {
                    break;
                }
                total += line;
                out.push(LineItem {
                    sku: format!("sku-{i}"),
                    category: in_shoes.then(|| "shoes".to_string()),
                    quantity,
                    unit_price_minor: unit,
                });
            }
            out
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(400))]
        #[test]
        fn any_accepted_sale_terms_and_refund_compute_without_overflow(
            gross in amount(),
            discount in amount(),
            tax in amount(),
            shipping in amount(),
            items in items(),
            cpa in prop::option::of(amount()),
            share in prop::option::of(percent()),
            sku_rate in percent(),
            shoes_rate in percent(),
            bonus in prop::option::of(amount()),
            net in any::<(bool, bool, bool)>(),
            levels in prop::collection::vec(percent(), 0..=10),
            on_sale in any::<bool>(),
            refunded_before in 0..=MAX_AMOUNT_MINOR,
            refund in 1..=MAX_AMOUNT_MINOR,
        ) {
            let currency = Currency::from_code("USD").unwrap();
            let sale = Sale {
                event: "sale".into(),
                amount: Money::from_minor(gross, currency),
                discount_minor: discount,
                tax_minor: tax,
                shipping_minor: shipping,
                items,
                first_time_customer: Some(true),
                renewal_month: None,
            };
            let mut terms = Terms {
                cpa_minor: cpa,
                revenue_share: share,
                base: CommissionBase {
                    net_of_discount: net.0,
                    net_of_tax: net.1,
                    net_of_shipping: net.2,
                },
                ..Terms::default()
            };
            terms.items.by_sku.insert("sku-0".into(), sku_rate);
            terms.items.by_category.insert("shoes".into(), shoes_rate);
            terms.bonuses.new_customer_minor = bonus;
            let plan = UplinePlan {
                depth: levels.len() as u8,
                rates: LevelRates::Explicit { levels },
                base: if on_sale { UplineBase::Sale } else { UplineBase::DirectCommission },
                skip: Default::default(),
            };
            let lines = compute_lines(&sale, &terms, &plan, &"p".into(), &chain(10));
            let amounts: Vec<i64> = lines.iter().map(|l| l.amount.minor()).collect();
            for a in &amounts {
                prop_assert!(*a >= 0);
            }
            // Refunds: the reversal of what is refunded, never more than each line.
            let before = refunded_before.min(gross);
            let reversals = reversal_amounts(&amounts, gross, before, refund);
            for (r, a) in reversals.iter().zip(&amounts) {
                prop_assert!(*r >= 0 && r <= a, "reversal {r} of line {a}");
            }
        }
    }
}

#[test]
fn revenue_share_pays_the_share_of_the_sale() {
    let terms = Terms {
        cpa_minor: None,
        revenue_share: Some(p("10")),
        ..Terms::default()
    };
    let lines = compute_lines(
        &Sale::of(usd(10_000)),
        &terms,
        &UplinePlan::off(),
        &"a".into(),
        &[],
    );
    assert_eq!(lines.len(), 1);
    assert_eq!(lines[0].amount.minor(), 1_000);
    assert_eq!(lines[0].explanation.rule, Rule::RevenueShare);
    assert_eq!(
        lines[0].explanation.summary,
        "10% revenue share of the 100.00 USD sale = 10.00 USD"
    );
}

#[test]
fn hybrid_terms_add_cpa_and_share() {
    let terms = Terms {
        cpa_minor: Some(500),
        revenue_share: Some(p("2.5")),
        ..Terms::default()
    };
    let lines = compute_lines(
        &Sale::of(usd(4_010)),
        &terms,
        &UplinePlan::off(),
        &"a".into(),
        &[],
    );
    // 2.5 % of 40.10 = 1.0025 → 1.00; plus 5.00
    assert_eq!(lines[0].amount.minor(), 600);
    assert_eq!(lines[0].explanation.rule, Rule::Hybrid);
}

#[test]
fn upline_levels_earn_their_rate_of_the_direct_commission() {
    let terms = Terms {
        cpa_minor: None,
        revenue_share: Some(p("10")),
        ..Terms::default()
    };
    let plan = UplinePlan {
        depth: 2,
        rates: LevelRates::FixedStep {
            first: p("50"),
            step: p("25"),
        },
        base: UplineBase::DirectCommission,
        skip: Default::default(),
    };
    let lines = compute_lines(
        &Sale::of(usd(10_000)),
        &terms,
        &plan,
        &"a".into(),
        &chain(3),
    );
    let got: Vec<_> = lines
        .iter()
        .map(|l| (l.partner_id.as_str(), l.level, l.amount.minor()))
        .collect();
    assert_eq!(got, vec![("a", 0, 1_000), ("up1", 1, 500), ("up2", 2, 250)]);
    assert_eq!(
        lines[1].explanation.summary,
        "Level 1 upline: 50% of the direct commission 10.00 USD = 5.00 USD"
    );
    // Every line carries its exact parts, upline lines too.
    let parts: Vec<(&str, &str)> = lines[2]
        .explanation
        .parts
        .iter()
        .map(|p| (p.label.as_str(), p.amount.as_str()))
        .collect();
    assert_eq!(
        parts,
        vec![("25% of the direct commission 10.00 USD", "2.5")]
    );
}

#[test]
fn depths_zero_to_ten_pay_exactly_the_decremented_rates() {
    let terms = Terms {
        cpa_minor: Some(10_000),
        revenue_share: None,
        ..Terms::default()
    };
    for depth in 0..=10u8 {
        let plan = UplinePlan {
            depth,
            rates: LevelRates::FixedStep {
                first: p("10"),
                step: p("1"),
            },
            base: UplineBase::DirectCommission,
            skip: Default::default(),
        };
        let lines = compute_lines(
            &Sale::of(usd(50_000)),
            &terms,
            &plan,
            &"a".into(),
            &chain(12),
        );
        assert_eq!(lines.len(), 1 + usize::from(depth), "depth {depth}");
        for line in &lines[1..] {
            // Level k earns (11 - k) % of the 100.00 CPA.
            let expected = (11 - i64::from(line.level)) * 100;
            assert_eq!(
                line.amount.minor(),
                expected,
                "depth {depth} level {}",
                line.level
            );
        }
    }
}

#[test]
fn a_shorter_upline_than_the_depth_pays_only_the_levels_that_exist() {
    let terms = Terms {
        cpa_minor: Some(1_000),
        revenue_share: None,
        ..Terms::default()
    };
    let plan = UplinePlan {
        depth: 5,
        rates: LevelRates::Explicit {
            levels: vec![p("10"); 5],
        },
        base: UplineBase::Sale,
        skip: Default::default(),
    };
    let lines = compute_lines(
        &Sale::of(usd(10_000)),
        &terms,
        &plan,
        &"a".into(),
        &chain(2),
    );
    assert_eq!(lines.len(), 3);
    assert!(lines[1..].iter().all(|l| l.amount.minor() == 1_000));
}

#[test]
fn a_partial_refund_reverses_each_line_in_proportion() {
    // 30.00 of a 100.00 sale refunded: 30 % of each line.
    assert_eq!(
        reversal_amounts(&[1_000, 500, 250], 10_000, 0, 3_000),
        vec![300, 150, 75]
    );
    // Then the rest: what is left of each line, exactly.
    assert_eq!(
        reversal_amounts(&[1_000, 500, 250], 10_000, 3_000, 7_000),
        vec![700, 350, 175]
    );
}

proptest! {
    #[test]
    fn refunds_adding_up_to_the_sale_net_every_line_to_zero(
        lines in proptest::collection::vec(0i64..1_000_000, 1..12),
        total in 1i64..100_000_000,
        cuts in proptest::collection::vec(1u32..1000, 0..6),
    ) {
        // Split the total into refunds at arbitrary points.
        let mut points: Vec<i64> = cuts.iter().map(|c| total * i64::from(*c) / 1000).collect();
        points.push(total);
        points.sort();
        let mut before = 0;
        let mut reversed = vec![0i64; lines.len()];
        for p in points {
            let step = p - before;
            for (r, a) in reversed.iter_mut().zip(reversal_amounts(&lines, total, before, step)) {
                prop_assert!(a >= 0);
                *r += a;
            }
            for (r, l) in reversed.iter().zip(&lines) {
                prop_assert!(r <= l, "reversed {} of a {} line", r, l);
            }
            before = p;
        }
        prop_assert_eq!(reversed, lines);
    }

    #[test]
    fn a_refund_never_reverses_more_than_was_paid(
        lines in proptest::collection::vec(0i64..1_000_000, 1..12),
        total in 1i64..100_000_000,
        before_frac in 0u32..=1000,
        refund_frac in 0u32..=2000,
    ) {
        let before = total * i64::from(before_frac) / 1000;
        let refund = total * i64::from(refund_frac) / 1000;
        let earlier = reversal_amounts(&lines, total, 0, before);
        let now = reversal_amounts(&lines, total, before, refund);
        for ((e, n), l) in earlier.iter().zip(&now).zip(&lines) {
            prop_assert!(e + n <= *l);
        }
    }
}

fn arb_plan() -> impl Strategy<Value = UplinePlan> {
    let pct = (0u32..=100_000).prop_map(|n| Percent::new(Decimal::new(i64::from(n), 3)).unwrap());
    let rates = prop_oneof![
        proptest::collection::vec(pct.clone(), 0..12)
            .prop_map(|levels| LevelRates::Explicit { levels }),
        (pct.clone(), pct.clone()).prop_map(|(first, step)| LevelRates::FixedStep { first, step }),
        (pct, 0u32..=100).prop_map(|(first, f)| LevelRates::Factor {
            first,
            factor: Decimal::new(i64::from(f), 2)
        }),
    ];
    let base = prop_oneof![Just(UplineBase::DirectCommission), Just(UplineBase::Sale)];
    (0u8..=10, rates, base).prop_map(|(depth, rates, base)| UplinePlan {
        depth,
        rates,
        base,
        skip: Default::default(),
    })
}

proptest! {
    #[test]
    fn lines_are_deterministic(sale in 0i64..10_000_000_000, cpa in proptest::option::of(0i64..1_000_000),
                               share in proptest::option::of(0u32..=100_000), plan in arb_plan(), n in 0usize..12) {
        let terms = Terms { cpa_minor: cpa, revenue_share: share.map(|s| Percent::new(Decimal::new(i64::from(s), 3)).unwrap()),
        ..Terms::default() };
        let a = compute_lines(&Sale::of(usd(sale)), &terms, &plan, &"a".into(), &chain(n));
        let b = compute_lines(&Sale::of(usd(sale)), &terms, &plan, &"a".into(), &chain(n));
        prop_assert_eq!(a, b);
    }

    #[test]
    fn no_line_exceeds_what_its_rate_allows(sale in 0i64..10_000_000_000, cpa in proptest::option::of(0i64..1_000_000),
                               share in proptest::option::of(0u32..=100_000), plan in arb_plan(), n in 0usize..12) {
        let terms = Terms { cpa_minor: cpa, revenue_share: share.map(|s| Percent::new(Decimal::new(i64::from(s), 3)).unwrap()),
        ..Terms::default() };
        let lines = compute_lines(&Sale::of(usd(sale)), &terms, &plan, &"a".into(), &chain(n));
        let hundred = Decimal::ONE_HUNDRED;
        // The direct line is the CPA plus the share, off by at most half a cent.
        let exact_direct = Decimal::from(cpa.unwrap_or(0))
            + terms.revenue_share.map_or(Decimal::ZERO, |r| Decimal::from(sale) * r.as_decimal() / hundred);
        prop_assert!((Decimal::from(lines[0].amount.minor()) - exact_direct).abs() <= Decimal::new(5, 1));
        // Upline lines: only levels within depth and the chain, each within half a cent
        // of rate × base, and together never above the rates' sum times the base plus
        // half a cent per line.
        prop_assert!(lines.len() <= 1 + usize::from(plan.depth).min(n));
        let mut total = Decimal::ZERO;
        let mut allowed = Decimal::ZERO;
        for line in &lines[1..] {
            prop_assert!(line.level >= 1 && line.level <= plan.depth);
            let base = match plan.base {
                UplineBase::DirectCommission => lines[0].amount.minor(),
                UplineBase::Sale => sale,
            };
            let exact = Decimal::from(base) * plan.rate_for_level(line.level).as_decimal() / hundred;
            prop_assert!((Decimal::from(line.amount.minor()) - exact).abs() <= Decimal::new(5, 1));
            prop_assert!(line.amount.minor() >= 0);
            total += Decimal::from(line.amount.minor());
            allowed += exact + Decimal::new(5, 1);
        }
        prop_assert!(total <= allowed);
    }
}

#[test]
fn lines_are_stored_with_amount_minor_and_currency() {
    let line = CommissionLine {
        id: "c-1:0".into(),
        conversion_id: "c-1".into(),
        partner_id: "p-1".into(),
        campaign_id: "spring-sale".into(),
        level: 0,
        amount: Money::from_minor(-1_250, Currency::from_code("JPY").unwrap()),
        status: LineStatus::Pending,
        hold_until: Timestamp(0),
        explanation: compute_lines(
            &Sale::of(usd(100)),
            &Terms::default(),
            &UplinePlan::off(),
            &"p-1".into(),
            &[],
        )[0]
        .explanation
        .clone(),
        created_at: Timestamp(0),
        reverses: Some("r-1".into()),
        payout_id: None,
        held_for: None,
    };
    let written = serde_json::to_value(&line).unwrap();
    assert_eq!(written["amount_minor"], serde_json::json!(-1_250));
    assert_eq!(written["currency"], serde_json::json!("JPY"));
    assert!(written.get("amount").is_none());
    assert_eq!(
        serde_json::from_value::<CommissionLine>(written).unwrap(),
        line
    );
}
