//! A postback's request (`wire::PostbackRequest`) read into the use case's values: the
//! checks on its amounts and items, each within the platform's bound, also after
//! conversion into the program's currency.

use super::*;

/// Most line items one postback may carry.
pub const MAX_LINE_ITEMS: usize = 100;

pub(crate) fn parse_items(
    items: Vec<LineItemRequest>,
    currency: Currency,
    errors: &mut FieldErrors,
) -> Vec<LineItem> {
    if items.len() > MAX_LINE_ITEMS {
        errors.push(
            "line_items",
            format!("at most {MAX_LINE_ITEMS} items per postback"),
        );
        return vec![];
    }
    let mut out = Vec::new();
    for (i, item) in items.into_iter().enumerate() {
        let f = |name: &str| format!("line_items[{i}].{name}");
        let sku = errors.required(&f("sku"), item.sku).and_then(|s| {
            let s = s.0.trim().to_string();
            let ok = !s.is_empty() && s.len() <= 64 && !s.chars().any(char::is_control);
            errors.take(
                &f("sku"),
                if ok {
                    Ok(s)
                } else {
                    Err("must be 1 to 64 printable characters")
                },
            )
        });
        let quantity = errors
            .required(&f("quantity"), item.quantity)
            .and_then(|q| {
                let n =
                    q.0.parse::<i64>()
                        .ok()
                        .filter(|n| (1..=1_000_000).contains(n));
                errors.take(
                    &f("quantity"),
                    n.ok_or("must be a whole number from 1 to 1000000"),
                )
            });
        let unit_price = errors
            .required(&f("unit_price"), item.unit_price)
            .and_then(|p| {
                let m = errors.take(&f("unit_price"), Money::parse(&p.0, currency))?;
                errors.take(
                    &f("unit_price"),
                    if m.is_negative() {
                        Err("must not be negative")
                    } else {
                        Ok(m.minor())
                    },
                )
            });
        let category = item
            .category
            .map(|c| c.trim().to_ascii_lowercase())
            .filter(|c| !c.is_empty());
        if let (Some(sku), Some(quantity), Some(unit_price_minor)) = (sku, quantity, unit_price) {
            if quantity
                .checked_mul(unit_price_minor)
                .is_none_or(|t| t > MAX_AMOUNT_MINOR)
            {
                errors.push(
                    &f("quantity"),
                    format!(
                        "quantity × unit_price exceeds the largest amount, {}",
                        Money::from_minor(MAX_AMOUNT_MINOR, currency)
                    ),
                );
                continue;
            }
            out.push(LineItem {
                sku,
                category,
                quantity,
                unit_price_minor,
            });
        }
    }
    out
}

/// The items' total must stay within the largest amount too (checked again after an
/// exchange rate applies, since a rate above 1 grows it).
pub(super) fn check_items_total(items: &[LineItem], currency: Currency, errors: &mut FieldErrors) {
    let total = items.iter().try_fold(0i64, |sum, i| {
        sum.checked_add(i.quantity.checked_mul(i.unit_price_minor)?)
    });
    if total.is_none_or(|t| t > MAX_AMOUNT_MINOR) {
        errors.push(
            "line_items",
            format!(
                "the items add up to more than the largest amount, {}",
                Money::from_minor(MAX_AMOUNT_MINOR, currency)
            ),
        );
    }
}

/// An amount in the program's currency: converted at `rate` when the sale came in another
/// one, refused (naming `field`) when the result would pass the largest amount.
pub(super) fn in_program_currency(
    rate: Option<ExchangeRate>,
    field: &str,
    minor: i64,
    errors: &mut FieldErrors,
) -> i64 {
    let Some(rate) = rate else {
        return minor;
    };
    rate.convert(minor).unwrap_or_else(|| {
        errors.push(
            field,
            format!(
                "converted to {} at {} it exceeds the largest amount, {}",
                rate.to,
                rate.rate.normalize(),
                Money::from_minor(MAX_AMOUNT_MINOR, rate.to)
            ),
        );
        0
    })
}

/// An optional non-negative adjustment in the postback's currency.
pub(super) fn adjustment(
    errors: &mut FieldErrors,
    field: &str,
    text: Option<DecimalText>,
    currency: Option<Currency>,
) -> i64 {
    let (Some(t), Some(c)) = (text, currency) else {
        return 0;
    };
    match errors.take(field, Money::parse(&t.0, c)) {
        Some(m) if m.is_negative() => {
            errors.push(field, "must not be negative");
            0
        }
        Some(m) => m.minor(),
        None => 0,
    }
}
