//! Upline lines: what a recruiter earns at a level, on the direct commission or on the
//! sale, at the plan's rate for that level.

use super::*;

/// The line of `recruiter` at `level`, or `None` when the plan pays that level nothing.
pub(super) fn upline_line(
    plan: &UplinePlan,
    level: u8,
    recruiter: &PartnerId,
    direct_amount: Money,
    base: i64,
    currency: Currency,
) -> Option<LineDraft> {
    let rate = plan.rate_for_level(level);
    if rate.is_zero() {
        return None;
    }
    let (base, rule, what) = match plan.base {
        UplineBase::DirectCommission => (
            direct_amount,
            Rule::UplineOfCommission,
            "the direct commission",
        ),
        UplineBase::Sale => (
            Money::from_minor(base, currency),
            Rule::UplineOfSale,
            "the sale",
        ),
    };
    let amount = base.percent(rate);
    // The one exact component, as on direct lines: the amount before its rounding.
    let exact = Decimal::from(base.minor()) * rate.as_decimal() / Decimal::ONE_HUNDRED;
    Some(LineDraft {
        partner_id: recruiter.clone(),
        level,
        amount,
        explanation: Explanation {
            rate: Some(rate),
            parts: vec![Part {
                label: format!("{rate} of {what} {base}"),
                amount: exact_text(exact, currency),
            }],
            ..Explanation::new(
                rule,
                level,
                base.minor(),
                format!("Level {level} upline: {rate} of {what} {base} = {amount}"),
            )
        },
    })
}
