//! Reversals: how much of each line a refund takes back.

use super::*;

/// How much each line is reversed by a refund of `refund_minor`, when `refunded_before`
/// of the conversion's `total_minor` was already refunded. Each line's reversal is its
/// share of the *cumulative* refund, rounded with the platform rule, less what earlier
/// refunds reversed: so refunds that add up to the whole amount reverse every line
/// exactly, in any number of steps, and no line is ever reversed past what it paid.
/// Returned amounts are positive (the reversing lines carry them negated).
pub fn reversal_amounts(
    lines: &[i64],
    total_minor: i64,
    refunded_before: i64,
    refund_minor: i64,
) -> Vec<i64> {
    if total_minor <= 0 {
        // Nothing was sold: a line earned (a CPA on a zero-amount lead) is reversed whole.
        return lines
            .iter()
            .map(|l| if refunded_before == 0 { *l } else { 0 })
            .collect();
    }
    let share = |line: i64, refunded: i64| {
        round_minor(Decimal::from(line) * Decimal::from(refunded) / Decimal::from(total_minor))
    };
    let after = (refunded_before + refund_minor).min(total_minor);
    lines
        .iter()
        .map(|&l| share(l, after) - share(l, refunded_before))
        .collect()
}
