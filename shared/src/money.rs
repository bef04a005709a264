//! Money: ISO 4217 currencies with their minor-unit exponents, amounts held as integer
//! minor units, exact parsing of decimal text, and the one rounding rule of the platform.
//!
//! The rounding rule: a computed amount is rounded **half to even** to a whole number of
//! the currency's minor units, once, where the amount is produced ([`round_minor`]).
//! Nothing in this crate converts money to or from a float.

use std::fmt;
use std::str::FromStr;

use rust_decimal::prelude::ToPrimitive;
use rust_decimal::{Decimal, RoundingStrategy};

/// The largest amount, in minor units, that any request may carry and that any
/// conversion may produce: 10^14, a trillion dollars or a hundred trillion yen. The bound
/// is what keeps every computation on money exact without overflow: a pro-rata share
/// (a line × a refunded amount, a discount × an item) multiplies two amounts, and 10^28
/// stays below the decimal type's 7.9 × 10^28 even with a currency's 10^4 scale applied;
/// and tens of thousands of maximum sales still fit one i64 counter.
pub const MAX_AMOUNT_MINOR: i64 = 100_000_000_000_000;

/// The largest exchange rate accepted: no pair of ISO 4217 currencies is a billion apart.
pub const MAX_EXCHANGE_RATE: i64 = 1_000_000_000;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MoneyError {
    #[error("must be a three-letter ISO 4217 currency code, got {0:?}")]
    UnknownCurrency(String),
    #[error("must be a decimal number such as 100.00, got {0:?}")]
    NotADecimal(String),
    #[error("has {places} decimal places but {currency} has {allowed}")]
    TooPrecise {
        currency: Currency,
        places: usize,
        allowed: u8,
    },
    #[error("is too large: amounts are at most {} {currency}", format_minor(MAX_AMOUNT_MINOR, *currency))]
    TooLarge { currency: Currency },
    #[error("must not be negative")]
    Negative,
    #[error("currencies differ: {0} and {1}")]
    CurrencyMismatch(Currency, Currency),
}

/// An amount of money in integer minor units (cents for USD, yen for JPY).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct Money {
    minor: i64,
    currency: Currency,
}

impl Money {
    pub fn from_minor(minor: i64, currency: Currency) -> Self {
        Money { minor, currency }
    }

    pub fn zero(currency: Currency) -> Self {
        Money { minor: 0, currency }
    }

    /// Parses decimal text exactly: `"100"`, `"100.1"`, `"100.10"`, `"-3.5"`. More decimal
    /// places than the currency has are rejected unless they are zeros: `"1.005"` USD is an
    /// error, never silently rounded, because a postback amount is a fact, not a computation.
    /// Magnitudes above [`MAX_AMOUNT_MINOR`] are refused.
    pub fn parse(text: &str, currency: Currency) -> Result<Self, MoneyError> {
        let t = text.trim();
        let bad = || MoneyError::NotADecimal(text.to_string());
        let (negative, digits) = match t.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, t.strip_prefix('+').unwrap_or(t)),
        };
        let (whole, frac) = match digits.split_once('.') {
            Some((w, f)) => (w, f),
            None => (digits, ""),
        };
        let all_digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
        if whole.is_empty() && frac.is_empty()
            || !all_digits(whole)
            || !all_digits(frac)
            || (digits.contains('.') && frac.is_empty())
        {
            return Err(bad());
        }
        let exp = currency.exponent() as usize;
        let significant_frac = frac.trim_end_matches('0');
        if significant_frac.len() > exp {
            return Err(MoneyError::TooPrecise {
                currency,
                places: significant_frac.len(),
                allowed: currency.exponent(),
            });
        }
        let too_large = MoneyError::TooLarge { currency };
        let mut minor: i64 = 0;
        for b in whole
            .bytes()
            .chain(significant_frac.bytes())
            .chain(std::iter::repeat_n(b'0', exp - significant_frac.len()))
        {
            minor = minor
                .checked_mul(10)
                .and_then(|m| m.checked_add(i64::from(b - b'0')))
                .filter(|m| *m <= MAX_AMOUNT_MINOR)
                .ok_or_else(|| too_large.clone())?;
        }
        Ok(Money {
            minor: if negative { -minor } else { minor },
            currency,
        })
    }

    pub fn minor(&self) -> i64 {
        self.minor
    }

    pub fn currency(&self) -> Currency {
        self.currency
    }

    pub fn is_negative(&self) -> bool {
        self.minor < 0
    }

    pub fn checked_add(&self, other: Money) -> Result<Money, MoneyError> {
        if self.currency != other.currency {
            return Err(MoneyError::CurrencyMismatch(self.currency, other.currency));
        }
        let minor = self
            .minor
            .checked_add(other.minor)
            .ok_or(MoneyError::TooLarge {
                currency: self.currency,
            })?;
        Ok(Money::from_minor(minor, self.currency))
    }

    /// The amount as an exact decimal in major units (`12345` cents → `123.45`).
    pub fn to_decimal(&self) -> Decimal {
        Decimal::from_i128_with_scale(i128::from(self.minor), u32::from(self.currency.exponent()))
    }

    /// Multiplies by a percentage and rounds with the platform rule.
    pub fn percent(&self, rate: Percent) -> Money {
        Money::from_minor(round_minor(rate.of_minor(self.minor)), self.currency)
    }
}

impl fmt::Display for Money {
    /// Renders with exactly the currency's decimal places: `100.00 USD`, `500 JPY`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        text::write_minor(f, self.minor, self.currency)?;
        write!(f, " {}", self.currency)
    }
}

/// `12345, USD` → `"123.45"`; `-5, USD` → `"-0.05"`; `500, JPY` → `"500"`.
pub fn format_minor(minor: i64, currency: Currency) -> String {
    let mut out = String::with_capacity(24);
    // Writing into a String cannot fail.
    let _ = text::write_minor(&mut out, minor, currency);
    out
}

/// The platform's one rounding rule: half to even, to a whole number of minor units.
/// Values beyond `i64` saturate, which no real commission reaches.
pub fn round_minor(exact_minor_units: Decimal) -> i64 {
    // On the decimal's own integer and scale: a 96-bit mantissa and a power of ten up to
    // 10^28 both fit an i128, and this is several times quicker than `round_dp`.
    let mantissa = exact_minor_units.mantissa();
    let unit = 10i128.pow(exact_minor_units.scale());
    let (whole, rest) = (mantissa / unit, (mantissa % unit).abs());
    let away = match (2 * rest).cmp(&unit) {
        std::cmp::Ordering::Greater => true,
        std::cmp::Ordering::Equal => whole % 2 != 0,
        std::cmp::Ordering::Less => false,
    };
    let rounded = if away {
        whole + mantissa.signum()
    } else {
        whole
    };
    i64::try_from(rounded).unwrap_or(if mantissa < 0 { i64::MIN } else { i64::MAX })
}

mod currency;
mod percent;
mod rate;
pub mod stored;
pub mod text;

pub use currency::Currency;
pub use percent::{Percent, PercentError};
pub use rate::{ExchangeRate, RateError};

#[cfg(test)]
mod tests;
