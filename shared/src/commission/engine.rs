//! The engine's entry points: every line of a sale, the partner's own first, then one
//! per paid upline level.

use super::*;

/// One level of the converting partner's upline, nearest recruiter first.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum UplineSeat {
    /// A recruiter who may earn the level.
    Earner(PartnerId),
    /// A level whose recruiter may not earn (not approved, under the forfeit rule): it
    /// keeps its place, so the levels above are paid at their own rates, and pays no one.
    Forfeited,
}

/// A line as the engine produces it, before it gets ids and a status.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LineDraft {
    pub partner_id: PartnerId,
    pub level: u8,
    pub amount: Money,
    pub explanation: Explanation,
}

/// Computes every line for `sale` by `partner_id`, whose eligible upline is `upline`
/// (nearest recruiter first), with no cap used and no tier reached. See
/// [`compute_lines_in`].
pub fn compute_lines(
    sale: &Sale,
    terms: &Terms,
    plan: &UplinePlan,
    partner_id: &PartnerId,
    upline: &[UplineSeat],
) -> Vec<LineDraft> {
    let no_usage = |_: &Cap| CapUsage::default();
    compute_lines_in(
        sale,
        terms,
        plan,
        partner_id,
        upline,
        &no_usage,
        TierUsage::default(),
    )
}

/// Every line for `sale`: the partner's, then one per paid upline level. The partner's
/// line uses the highest tier `volume` reaches, if the terms have tiers. Levels beyond
/// the plan's depth earn nothing; levels whose rate is zero get no line; a conversion that
/// does not qualify, or would go over one of the campaign's caps (`usage` says what each
/// cap's period has used so far), pays no one and gets a zero line saying why.
pub fn compute_lines_in(
    sale: &Sale,
    terms: &Terms,
    plan: &UplinePlan,
    partner_id: &PartnerId,
    upline: &[UplineSeat],
    usage: &dyn Fn(&Cap) -> CapUsage,
    volume: TierUsage,
) -> Vec<LineDraft> {
    let currency = sale.amount.currency();
    let base = commission_base(sale, &terms.base);
    // A renewal earns only under recurring terms, for their months, at their later rate.
    let renewal_terms;
    let terms = match sale.renewal_month {
        None => terms,
        Some(month) => match renewal_rule(terms, month) {
            Ok(t) => {
                renewal_terms = t;
                &renewal_terms
            }
            Err(why) => {
                let mut zero = direct_line(
                    &Sale::of(Money::zero(currency)),
                    &Terms::default(),
                    partner_id,
                );
                zero.explanation.rule = Rule::NotQualified;
                zero.explanation.summary = format!("Not paid: {why}");
                zero.explanation.not_paid_because = Some(why.into());
                zero.explanation.base_minor = base;
                zero.explanation.renewal =
                    Some(format!("renewal, month {month} of the subscription"));
                return vec![zero];
            }
        },
    };
    let tier = terms.tier_for(volume);
    let tiered;
    let terms = match tier {
        Some(t) => {
            tiered = terms.with_tier(t);
            &tiered
        }
        None => terms,
    };
    let mut direct = direct_line(sale, terms, partner_id);
    if let Some(month) = sale.renewal_month {
        direct.explanation.renewal = Some(format!("renewal, month {month} of the subscription"));
    }
    if let Some(t) = tier {
        let reached = match t.metric {
            TierMetric::ApprovedConversions => format!("{} approved conversions", t.from),
            TierMetric::ApprovedRevenue => {
                format!("{} approved revenue", Money::from_minor(t.from, currency))
            }
        };
        direct.explanation.tier = Some(format!("{} (from {reached} this month)", t.name));
    }
    if direct.explanation.rule == Rule::NotQualified {
        return vec![direct];
    }
    if let Some(why) = over_cap(terms, usage, direct.amount) {
        direct.explanation.rule = Rule::Capped;
        direct.explanation.summary =
            format!("Not paid: {why} (it would have earned {})", direct.amount);
        direct.explanation.not_paid_because = Some(why);
        direct.amount = Money::zero(currency);
        return vec![direct];
    }
    let direct_amount = direct.amount;
    let mut lines = vec![direct];
    lines.reserve_exact(upline.len().min(usize::from(plan.depth)));
    for ((i, seat), rate) in upline.iter().enumerate().zip(plan.level_rates()) {
        let level = (i + 1) as u8;
        if let UplineSeat::Earner(recruiter) = seat
            && let Some(line) =
                upline_line(plan, level, rate, recruiter, direct_amount, base, currency)
        {
            lines.push(line);
        }
    }
    lines
}
