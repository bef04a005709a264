//! The converting partner's own line: CPA, revenue share, hybrids and per-SKU or
//! category rates, with every component of the amount kept exact until one rounding.

use super::*;

/// Exact minor units as major-unit text: 400.5 cents → "4.005".
pub(super) fn exact_text(minor: Decimal, currency: crate::money::Currency) -> String {
    // Room for a 28-digit quotient, so the text is written without growing.
    let mut text = String::with_capacity(32);
    write_exact(&mut text, minor, currency);
    text
}

/// Writes exact minor units as major-unit text (see [`exact_text`]).
fn write_exact(out: &mut String, minor: Decimal, currency: crate::money::Currency) {
    let exponent = u32::from(currency.exponent());
    // From minor to major units is a shift of the decimal point where the scale allows it.
    let major = match minor.scale() + exponent {
        scale @ 0..=28 => Decimal::from_i128_with_scale(minor.mantissa(), scale),
        _ => minor / Decimal::from(10i64.pow(exponent)),
    };
    // Writing into a String cannot fail.
    let _ = text::write_decimal(out, major, true);
}

/// The converting partner's own line (level 0) for `sale` under `terms`.
pub(super) fn direct_line(sale: &Sale, terms: &Terms, partner_id: &PartnerId) -> LineDraft {
    // Longer than most: it lays out one explanation in its fixed order (qualification,
    // CPA, shares, bonuses, rule, summary); each kind of part is computed elsewhere.
    let currency = sale.amount.currency();
    let base_minor = commission_base(sale, &terms.base);
    // A CPA, one part per item and two bonuses at most.
    let mut parts: Vec<(String, Decimal)> = Vec::with_capacity(sale.items.len() + 3);
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
        item_parts(sale, terms, &mut parts);
    } else if let Some(r) = terms.revenue_share {
        let amount = r.of_minor(base_minor);
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
    bonus_parts(sale, terms, &mut parts);
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
    let parts: Vec<Part> = parts
        .into_iter()
        .map(|(label, a)| Part {
            label,
            amount: exact_text(a, currency),
        })
        .collect();
    let mut summary = String::with_capacity(
        parts
            .iter()
            .map(|p| p.label.len() + p.amount.len() + 6)
            .sum::<usize>()
            + 32,
    );
    match parts.as_slice() {
        [only] => summary.push_str(&only.label),
        many => {
            for (i, part) in many.iter().enumerate() {
                if i > 0 {
                    summary.push_str(" + ");
                }
                summary.push_str(&part.label);
                summary.push_str(" (");
                summary.push_str(&part.amount);
                summary.push(')');
            }
        }
    }
    summary.push_str(" = ");
    text::push_money(&mut summary, amount);
    LineDraft {
        partner_id: partner_id.clone(),
        level: 0,
        amount,
        explanation: Explanation {
            rate: terms.revenue_share,
            cpa_minor: cpa,
            parts,
            ..Explanation::new(rule, 0, base_minor, summary)
        },
    }
}

/// One part per item: its SKU or category rate (or the campaign's), on its value less its
/// share of the order discount; excluded items show as zero parts.
fn item_parts(sale: &Sale, terms: &Terms, parts: &mut Vec<(String, Decimal)>) {
    let currency = sale.amount.currency();
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
        let mut label = String::with_capacity(64);
        label.push_str(&item.sku);
        label.push_str(" × ");
        text::push_integer(&mut label, item.quantity);
        if excluded {
            label.push_str(": excluded");
            parts.push((label, Decimal::ZERO));
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
        let amount = rate.of(item_base);
        label.push_str(": ");
        text::push_percent(&mut label, rate);
        label.push_str(" (");
        label.push_str(source);
        label.push_str(") of ");
        write_exact(&mut label, item_base, currency);
        parts.push((label, amount));
    }
}

/// The bonuses a sale earns on top: new customer, order value.
fn bonus_parts(sale: &Sale, terms: &Terms, parts: &mut Vec<(String, Decimal)>) {
    let currency = sale.amount.currency();
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
}
