//! The commission engine: from a conversion, the campaign's terms and the converting
//! partner's upline, the commission lines — the partner's own (level 0) and one per paid
//! upline level — each carrying an explanation of its rule, base, rate and level.
//!
//! Pure and deterministic: the same inputs always give the same lines, so a redelivered
//! conversion recomputes identical lines and the store's conditions keep them single.

use serde::{Deserialize, Serialize};

use crate::campaign::Terms;
use crate::clock::Timestamp;
use crate::money::{Currency, Money, Percent, format_minor};
use crate::program::{UplineBase, UplinePlan};

/// A stored commission line. Lines are never edited in amount; corrections are new lines.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommissionLine {
    /// `<conversion id>:<level>`: the business key that keeps a line single.
    pub id: String,
    pub conversion_id: String,
    pub partner_id: String,
    pub campaign_id: String,
    pub level: u8,
    pub amount_minor: i64,
    pub currency: Currency,
    pub status: LineStatus,
    /// Until then the line is pending: refunds and chargebacks can still reverse it.
    pub hold_until: Timestamp,
    pub explanation: Explanation,
    pub created_at: Timestamp,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LineStatus {
    Pending,
    Approved,
    Rejected,
    Paid,
}

impl LineStatus {
    pub fn as_str(&self) -> &'static str {
        match self {
            LineStatus::Pending => "pending",
            LineStatus::Approved => "approved",
            LineStatus::Rejected => "rejected",
            LineStatus::Paid => "paid",
        }
    }
}

/// Why a line has its amount, in fields and in one sentence.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Explanation {
    pub rule: Rule,
    pub level: u8,
    /// What the rate was applied to, in minor units of the line's currency.
    pub base_minor: i64,
    pub rate: Option<Percent>,
    pub cpa_minor: Option<i64>,
    pub summary: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Rule {
    /// No terms pay on this conversion.
    NoTerms,
    Cpa,
    RevenueShare,
    /// CPA plus revenue share.
    Hybrid,
    /// An upline level's share of the direct commission.
    UplineOfCommission,
    /// An upline level's share of the sale.
    UplineOfSale,
}

/// A line as the engine produces it, before it gets ids and a status.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LineDraft {
    pub partner_id: String,
    pub level: u8,
    pub amount: Money,
    pub explanation: Explanation,
}

/// Computes every line for a sale of `sale` by `partner_id`, whose eligible upline is
/// `upline` (nearest recruiter first). Levels beyond the plan's depth earn nothing; levels
/// whose rate is zero get no line.
pub fn compute_lines(
    sale: Money,
    terms: &Terms,
    plan: &UplinePlan,
    partner_id: &str,
    upline: &[String],
) -> Vec<LineDraft> {
    let direct = direct_line(sale, terms, partner_id);
    let direct_amount = direct.amount;
    let mut lines = vec![direct];
    for (i, recruiter) in upline.iter().take(usize::from(plan.depth)).enumerate() {
        let level = (i + 1) as u8;
        let rate = plan.rate_for_level(level);
        if rate.is_zero() {
            continue;
        }
        let (base, rule, what) = match plan.base {
            UplineBase::DirectCommission => (
                direct_amount,
                Rule::UplineOfCommission,
                "the direct commission",
            ),
            UplineBase::Sale => (sale, Rule::UplineOfSale, "the sale"),
        };
        let amount = base.percent(rate);
        lines.push(LineDraft {
            partner_id: recruiter.clone(),
            level,
            amount,
            explanation: Explanation {
                rule,
                level,
                base_minor: base.minor(),
                rate: Some(rate),
                cpa_minor: None,
                summary: format!(
                    "Level {level} upline: {rate} of {what} {} = {}",
                    base, amount
                ),
            },
        });
    }
    lines
}

fn direct_line(sale: Money, terms: &Terms, partner_id: &str) -> LineDraft {
    let currency = sale.currency();
    let cpa = terms.cpa_minor.map(|m| Money::from_minor(m, currency));
    let share = terms.revenue_share.map(|r| (r, sale.percent(r)));
    let (rule, amount, summary) = match (cpa, share) {
        (None, None) => (
            Rule::NoTerms,
            Money::zero(currency),
            "No commission terms apply to this conversion".to_string(),
        ),
        (Some(c), None) => (Rule::Cpa, c, format!("CPA {c} per conversion")),
        (None, Some((r, s))) => (
            Rule::RevenueShare,
            s,
            format!("{r} revenue share of the {sale} sale = {s}"),
        ),
        (Some(c), Some((r, s))) => {
            let total = Money::from_minor(c.minor().saturating_add(s.minor()), currency);
            (
                Rule::Hybrid,
                total,
                format!("CPA {c} + {r} revenue share of the {sale} sale ({s}) = {total}"),
            )
        }
    };
    LineDraft {
        partner_id: partner_id.to_string(),
        level: 0,
        amount,
        explanation: Explanation {
            rule,
            level: 0,
            base_minor: sale.minor(),
            rate: terms.revenue_share,
            cpa_minor: terms.cpa_minor,
            summary,
        },
    }
}

/// The stable id of a conversion's line at `level`.
pub fn line_id(conversion_id: &str, level: u8) -> String {
    format!("{conversion_id}:{level}")
}

/// Human form of a minor-unit amount with its currency, for emails and summaries.
pub fn display_amount(minor: i64, currency: Currency) -> String {
    format!("{} {}", format_minor(minor, currency), currency)
}

#[cfg(test)]
mod tests {
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

    fn chain(n: usize) -> Vec<String> {
        (1..=n).map(|i| format!("up{i}")).collect()
    }

    #[test]
    fn revenue_share_pays_the_share_of_the_sale() {
        let terms = Terms {
            cpa_minor: None,
            revenue_share: Some(p("10")),
        };
        let lines = compute_lines(usd(10_000), &terms, &UplinePlan::off(), "a", &[]);
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
        };
        let lines = compute_lines(usd(4_010), &terms, &UplinePlan::off(), "a", &[]);
        // 2.5 % of 40.10 = 1.0025 → 1.00; plus 5.00
        assert_eq!(lines[0].amount.minor(), 600);
        assert_eq!(lines[0].explanation.rule, Rule::Hybrid);
    }

    #[test]
    fn upline_levels_earn_their_rate_of_the_direct_commission() {
        let terms = Terms {
            cpa_minor: None,
            revenue_share: Some(p("10")),
        };
        let plan = UplinePlan {
            depth: 2,
            rates: LevelRates::FixedStep {
                first: p("50"),
                step: p("25"),
            },
            base: UplineBase::DirectCommission,
        };
        let lines = compute_lines(usd(10_000), &terms, &plan, "a", &chain(3));
        let got: Vec<_> = lines
            .iter()
            .map(|l| (l.partner_id.as_str(), l.level, l.amount.minor()))
            .collect();
        assert_eq!(got, vec![("a", 0, 1_000), ("up1", 1, 500), ("up2", 2, 250)]);
        assert_eq!(
            lines[1].explanation.summary,
            "Level 1 upline: 50% of the direct commission 10.00 USD = 5.00 USD"
        );
    }

    #[test]
    fn depths_zero_to_ten_pay_exactly_the_decremented_rates() {
        let terms = Terms {
            cpa_minor: Some(10_000),
            revenue_share: None,
        };
        for depth in 0..=10u8 {
            let plan = UplinePlan {
                depth,
                rates: LevelRates::FixedStep {
                    first: p("10"),
                    step: p("1"),
                },
                base: UplineBase::DirectCommission,
            };
            let lines = compute_lines(usd(50_000), &terms, &plan, "a", &chain(12));
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
        };
        let plan = UplinePlan {
            depth: 5,
            rates: LevelRates::Explicit {
                levels: vec![p("10"); 5],
            },
            base: UplineBase::Sale,
        };
        let lines = compute_lines(usd(10_000), &terms, &plan, "a", &chain(2));
        assert_eq!(lines.len(), 3);
        assert!(lines[1..].iter().all(|l| l.amount.minor() == 1_000));
    }

    fn arb_plan() -> impl Strategy<Value = UplinePlan> {
        let pct =
            (0u32..=100_000).prop_map(|n| Percent::new(Decimal::new(i64::from(n), 3)).unwrap());
        let rates = prop_oneof![
            proptest::collection::vec(pct.clone(), 0..12)
                .prop_map(|levels| LevelRates::Explicit { levels }),
            (pct.clone(), pct.clone())
                .prop_map(|(first, step)| LevelRates::FixedStep { first, step }),
            (pct, 0u32..=100).prop_map(|(first, f)| LevelRates::Factor {
                first,
                factor: Decimal::new(i64::from(f), 2)
            }),
        ];
        let base = prop_oneof![Just(UplineBase::DirectCommission), Just(UplineBase::Sale)];
        (0u8..=10, rates, base).prop_map(|(depth, rates, base)| UplinePlan { depth, rates, base })
    }

    proptest! {
        #[test]
        fn lines_are_deterministic(sale in 0i64..10_000_000_000, cpa in proptest::option::of(0i64..1_000_000),
                                   share in proptest::option::of(0u32..=100_000), plan in arb_plan(), n in 0usize..12) {
            let terms = Terms { cpa_minor: cpa, revenue_share: share.map(|s| Percent::new(Decimal::new(i64::from(s), 3)).unwrap()) };
            let a = compute_lines(usd(sale), &terms, &plan, "a", &chain(n));
            let b = compute_lines(usd(sale), &terms, &plan, "a", &chain(n));
            prop_assert_eq!(a, b);
        }

        #[test]
        fn no_line_exceeds_what_its_rate_allows(sale in 0i64..10_000_000_000, cpa in proptest::option::of(0i64..1_000_000),
                                   share in proptest::option::of(0u32..=100_000), plan in arb_plan(), n in 0usize..12) {
            let terms = Terms { cpa_minor: cpa, revenue_share: share.map(|s| Percent::new(Decimal::new(i64::from(s), 3)).unwrap()) };
            let lines = compute_lines(usd(sale), &terms, &plan, "a", &chain(n));
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
}
