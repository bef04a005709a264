//! Amounts as the platforms send them, read exactly: decimal strings in major units
//! (Shopify, WooCommerce), integers in minor units (Stripe) and strings of minor units
//! (Paddle), each in its currency's ISO 4217 minor unit — and Stripe's two exceptions —
//! never through floats.

use crate::error::AppError;
use crate::money::{Currency, MAX_AMOUNT_MINOR, Money};

/// A field of a delivery that does not read, named by its path in the payload: the
/// receiver answers `400` with it, so the platform's own log shows what was wrong.
pub fn unreadable(field: &str, problem: impl std::fmt::Display) -> AppError {
    AppError::field(field, problem)
}

/// A currency code as a platform sends it (`usd`, `EUR`).
pub fn currency(field: &str, code: Option<&str>) -> Result<Currency, AppError> {
    let code = code.ok_or_else(|| unreadable(field, "is missing"))?;
    Currency::from_code(code).map_err(|e| unreadable(field, e))
}

/// A decimal string in major units (`"12.50"`); missing or empty reads as zero, since the
/// platforms leave out amounts that are nothing.
pub fn major(field: &str, text: Option<&str>, currency: Currency) -> Result<Money, AppError> {
    match text.map(str::trim).filter(|t| !t.is_empty()) {
        None => Ok(Money::zero(currency)),
        Some(t) => Money::parse(t, currency).map_err(|e| unreadable(field, e)),
    }
}

/// A whole number of minor units as Paddle sends it, a string (`"1999"`); missing reads
/// as zero.
pub fn minor_text(field: &str, text: Option<&str>, currency: Currency) -> Result<Money, AppError> {
    match text.map(str::trim).filter(|t| !t.is_empty()) {
        None => Ok(Money::zero(currency)),
        Some(t) => {
            let n: i64 = t.parse().map_err(|_| {
                unreadable(
                    field,
                    format!("must be a whole number of minor units, got {t:?}"),
                )
            })?;
            bounded(field, n, currency)
        }
    }
}

/// An amount as Stripe sends it: an integer in the currency's smallest unit, except that
/// Stripe writes ISK and UGX (zero-decimal in ISO 4217) with two decimals that are always
/// zero, so 5 ISK arrives as 500. HUF and TWD arrive with their ISO two decimals, as read.
pub fn stripe(field: &str, amount: Option<i64>, currency: Currency) -> Result<Money, AppError> {
    let n = amount.unwrap_or(0);
    let n = if matches!(currency.code(), "ISK" | "UGX") {
        if n % 100 != 0 {
            return Err(unreadable(
                field,
                format!("{n} is not a whole amount of {currency} (Stripe writes it ×100)"),
            ));
        }
        n / 100
    } else {
        n
    };
    bounded(field, n, currency)
}

fn bounded(field: &str, n: i64, currency: Currency) -> Result<Money, AppError> {
    if n.checked_abs().is_none_or(|a| a > MAX_AMOUNT_MINOR) {
        return Err(unreadable(
            field,
            format!(
                "is beyond the largest amount, {}",
                Money::from_minor(MAX_AMOUNT_MINOR, currency)
            ),
        ));
    }
    Ok(Money::from_minor(n, currency))
}

/// `a - b`, never below zero, in `a`'s currency.
pub fn less(a: Money, b: Money) -> Money {
    Money::from_minor(a.minor().saturating_sub(b.minor()).max(0), a.currency())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(code: &str) -> Currency {
        Currency::from_code(code).unwrap()
    }

    #[test]
    fn zero_and_three_decimal_currencies_read_exactly() {
        assert_eq!(major("a", Some("1500"), c("JPY")).unwrap().minor(), 1500);
        assert!(major("a", Some("1500.5"), c("JPY")).is_err());
        assert_eq!(
            major("a", Some("12.345"), c("KWD")).unwrap().minor(),
            12_345
        );
        assert_eq!(major("a", Some("0.10"), c("USD")).unwrap().minor(), 10);
        assert_eq!(major("a", None, c("USD")).unwrap().minor(), 0);
        assert_eq!(
            minor_text("a", Some("1999"), c("EUR")).unwrap().minor(),
            1999
        );
        assert!(minor_text("a", Some("19.99"), c("EUR")).is_err());
        assert_eq!(stripe("a", Some(1500), c("JPY")).unwrap().minor(), 1500);
        assert_eq!(stripe("a", Some(12_340), c("BHD")).unwrap().minor(), 12_340);
    }

    #[test]
    fn stripe_writes_isk_and_ugx_with_two_zero_decimals() {
        assert_eq!(stripe("a", Some(500), c("ISK")).unwrap().minor(), 5);
        assert_eq!(stripe("a", Some(250_000), c("UGX")).unwrap().minor(), 2500);
        assert!(stripe("a", Some(550), c("ISK")).is_err());
        // HUF keeps its ISO two decimals.
        assert_eq!(
            stripe("a", Some(150_000), c("HUF")).unwrap().minor(),
            150_000
        );
    }

    #[test]
    fn amounts_beyond_the_bound_are_refused() {
        assert!(stripe("a", Some(i64::MAX), c("USD")).is_err());
        assert!(stripe("a", Some(i64::MIN), c("USD")).is_err());
        assert!(minor_text("a", Some("99999999999999999"), c("USD")).is_err());
    }
}
