//! Exchange rates between two currencies, exact, and conversion of an amount by one.

use std::fmt;

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::*;

/// An exchange rate: how many units of `to` one unit of `from` buys, exact.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExchangeRate {
    pub from: Currency,
    pub to: Currency,
    #[serde(with = "rust_decimal::serde::str")]
    pub rate: Decimal,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RateError {
    #[error("must be a positive decimal such as 1.0842, got {0:?}")]
    NotARate(String),
    #[error("must be at most {MAX_EXCHANGE_RATE}, got {0}")]
    TooLarge(String),
}

impl ExchangeRate {
    pub fn parse(from: Currency, to: Currency, text: &str) -> Result<Self, RateError> {
        let t = text.trim();
        let rate = (!t.is_empty() && t.bytes().all(|b| b.is_ascii_digit() || b == b'.'))
            .then(|| Decimal::from_str(t).ok())
            .flatten()
            .filter(|r| *r > Decimal::ZERO && r.scale() <= 12)
            .ok_or_else(|| RateError::NotARate(text.to_string()))?;
        if rate > Decimal::from(MAX_EXCHANGE_RATE) {
            return Err(RateError::TooLarge(text.trim().to_string()));
        }
        Ok(ExchangeRate { from, to, rate })
    }

    /// Converts an amount of `from` into `to`, across the two currencies' exponents
    /// (100 JPY at 0.0067 → 0.67 USD), rounded once with the platform rule. `None` when
    /// the result would exceed [`MAX_AMOUNT_MINOR`] (or the arithmetic overflow).
    pub fn convert(&self, minor: i64) -> Option<i64> {
        let major =
            Decimal::from_i128_with_scale(i128::from(minor), u32::from(self.from.exponent()));
        let target_minor = major
            .checked_mul(self.rate)?
            .checked_mul(Decimal::from(10i64.pow(u32::from(self.to.exponent()))))?;
        let rounded = target_minor.round_dp_with_strategy(0, RoundingStrategy::MidpointNearestEven);
        rounded
            .to_i64()
            .filter(|m| m.unsigned_abs() <= MAX_AMOUNT_MINOR.unsigned_abs())
    }
}

impl fmt::Display for ExchangeRate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "1 {} = {} {}", self.from, self.rate.normalize(), self.to)
    }
}
