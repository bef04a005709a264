//! The converting partner's own line: CPA, revenue share, hybrids and per-SKU or
//! category rates, with every component of the amount kept exact until one rounding.

use super::*;

/// Exact minor units as major-unit text: 400.5 cents → "4.005".
pub(super) fn exact_text(minor: Decimal, currency: crate::money::Currency) -> String {
    (minor / Decimal::from(10i64.pow(u32::from(currency.exponent()))))
        .normalize()
        .to_string()
}

/// The converting partner's own line (level 0) for `sale` under `terms`.
pub(super) fn direct_line(sale: &Sale, terms: &Terms, partner_id: &PartnerId) -> LineDraft {
    // Longer than most: it lays out one explanation in its fixed order (qualification,
    // CPA, shares, bonuses, rule, summary); each kind of part is computed elsewhere.
    let currency = sale.amount.currency();
    let base_minor = commission_base(sale, &terms.base);
    let mut parts: Vec<(String, Decimal)> = Vec::new();
    let zero = |rule: Rule, why: Option<String>, summary: String| LineDraft {
        partner_id: partner_id.clone(),
        level: 0,
        amount: Money::zero(currency),
        explanation: Explanation {
            rate: terms.revenue_share,
            cpa_minor: terms.cpa_minor,
            not_paid_because: why,
            ..Explanation::new(rule, 0, base_minor, summary)
        },
    };
    if let Some(why) = disqualification(sale, terms) {
        return zero(
            Rule::NotQualified,
            Some(why.clone()),
            format!("Not paid: {why}"),
        );
    }

    let cpa = terms
        .cpa_by_event
        .get(&sale.event)
        .copied()
        .or(terms.cpa_minor);
    if let Some(c) = cpa {
        parts.push((format!("CPA for {}", sale.event), Decimal::from(c)));
    }
    let itemized =
        !sale.items.is_empty() && (!terms.items.is_empty() || terms.revenue_share.is_some());
    if itemized {
        parts.extend(item_parts(sale, terms));
    } else if let Some(r) = terms.revenue_share {
        let amount = Decimal::from(base_minor) * r.as_decimal() / Decimal::ONE_HUNDRED;
        let what = if terms.base.is_gross() {
            "sale"
        } else {
            "net amount"
        };
        parts.push((
            format!(
                "{r} revenue share of the {} {what}",
                Money::from_minor(base_minor, currency)
            ),
            amount,
        ));
    }
    let shares = itemized || terms.revenue_share.is_some();
    parts.extend(bonus_parts(sale, terms));
    if parts.is_empty() {
        return zero(
            Rule::NoTerms,
            None,
            "No commission terms apply to this conversion".into(),
        );
    }
    let rule = match (cpa.is_some(), shares) {
        (true, true) => Rule::Hybrid,
        (false, true) if itemized => Rule::Itemized,
        (false, true) => Rule::RevenueShare,
        (true, false) => Rule::Cpa,
        (false, false) => Rule::Bonus,
    };
    let exact: Decimal = parts.iter().map(|(_, a)| *a).sum();
    let amount = Money::from_minor(round_minor(exact), currency);
    let summary = match parts.as_slice() {
        [(label, _)] => format!("{label} = {amount}"),
        many => format!(
            "{} = {amount}",
            many.iter()
                .map(|(l, a)| format!("{l} ({})", exact_text(*a, currency)))
                .collect::<Vec<_>>()
                .join(" + ")
        ),
    };
    LineDraft {
        partner_id: partner_id.clone(),
        level: 0,
        amount,
        explanation: Explanation {
            rate: terms.revenue_share,
            cpa_minor: cpa,
            parts: parts
                .into_iter()
                .map(|(label, a)| Part {
                    label,
                    amount: exact_text(a, currency),
                })
                .collect(),
            ..Explanation::new(rule, 0, base_minor, summary)
        },
    }
}

/// One part per item: its SKU or category rate (or the campaign's), on its value less its
/// share of the order discount; excluded items show as zero parts.
fn item_parts(sale: &Sale, terms: &Terms) -> Vec<(String, Decimal)> {
    let currency = sale.amount.currency();
    let mut parts = Vec::new();
    let items_gross: i64 = sale
        .items
        .iter()
        .map(LineItem::total_minor)
        .fold(0, i64::saturating_add);
    for item in &sale.items {
        let total = Decimal::from(item.total_minor());
        let excluded = terms.items.excluded_skus.contains(&item.sku)
            || item
                .category
                .as_ref()
                .is_some_and(|c| terms.items.excluded_categories.contains(c));
        let label = format!("{} × {}", item.sku, item.quantity);
        if excluded {
            parts.push((format!("{label}: excluded"), Decimal::ZERO));
            continue;
        }
        let (rate, source) = match (
            terms.items.by_sku.get(&item.sku),
            item.category
                .as_ref()
                .and_then(|c| terms.items.by_category.get(c)),
            terms.revenue_share,
        ) {
            (Some(r), _, _) => (*r, "SKU rate"),
            (None, Some(r), _) => (*r, "category rate"),
            (None, None, Some(r)) => (r, "campaign rate"),
            (None, None, None) => continue,
        };
        // An order-level discount is shared across items in proportion to their value.
        let item_base = if terms.base.net_of_discount && items_gross > 0 {
            total - Decimal::from(sale.discount_minor) * total / Decimal::from(items_gross)
        } else {
            total
        }
        .max(Decimal::ZERO);
        let amount = item_base * rate.as_decimal() / Decimal::ONE_HUNDRED;
        parts.push((
            format!(
                "{label}: {rate} ({source}) of {}",
                exact_text(item_base, currency)
            ),
            amount,
        ));
    }
    parts
}

/// The bonuses a sale earns on top: new customer, order value.
fn bonus_parts(sale: &Sale, terms: &Terms) -> Vec<(String, Decimal)> {
    let currency = sale.amount.currency();
    let mut parts = Vec::new();
    if sale.first_time_customer == Some(true)
        && let Some(b) = terms.bonuses.new_customer_minor
    {
        parts.push(("new-customer bonus".into(), Decimal::from(b)));
    }
    if let Some(ov) = terms.bonuses.order_value
        && sale.amount.minor() >= ov.threshold_minor
    {
        parts.push((
            format!(
                "order-value bonus (from {})",
                Money::from_minor(ov.threshold_minor, currency)
            ),
            Decimal::from(ov.bonus_minor),
        ));
    }
    parts
}
