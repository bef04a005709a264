//! Upline lines: what a recruiter earns at a level, on the direct commission or on the
//! sale, at the plan's rate for that level.

use super::*;

/// The line of `recruiter` at `level`, which the plan pays `rate`, or `None` when that is
/// nothing.
pub(super) fn upline_line(
    plan: &UplinePlan,
    level: u8,
    rate: Percent,
    recruiter: &PartnerId,
    direct_amount: Money,
    base: i64,
    currency: Currency,
) -> Option<LineDraft> {
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
    // The one exact component, as on direct lines: the amount before its rounding.
    let exact = rate.of_minor(base.minor());
    let amount = Money::from_minor(round_minor(exact), currency);
    let mut label = String::with_capacity(48);
    text::push_percent(&mut label, rate);
    label.push_str(" of ");
    label.push_str(what);
    label.push(' ');
    text::push_money(&mut label, base);
    let mut summary = String::with_capacity(label.len() + 40);
    summary.push_str("Level ");
    text::push_integer(&mut summary, level);
    summary.push_str(" upline: ");
    summary.push_str(&label);
    summary.push_str(" = ");
    text::push_money(&mut summary, amount);
    Some(LineDraft {
        partner_id: recruiter.clone(),
        level,
        amount,
        explanation: Explanation {
            rate: Some(rate),
            parts: vec![Part {
                label,
                amount: exact_text(exact, currency),
            }],
            ..Explanation::new(rule, level, base.minor(), summary)
        },
    })
}
