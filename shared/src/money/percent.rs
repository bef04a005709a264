//! Percentages: exact decimals between 0 and 100, as rates are written.

use std::fmt::{self, Write};
use std::str::FromStr;

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

/// A percentage between 0 and 100 inclusive, held as an exact decimal (`7.5` means 7.5 %).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug, Default)]
pub struct Percent(Decimal);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PercentError {
    #[error("must be a decimal percentage such as 7.5, got {0:?}")]
    NotADecimal(String),
    #[error("must be between 0 and 100, got {0}")]
    OutOfRange(String),
    #[error("may have at most 6 decimal places")]
    TooPrecise,
}

impl Percent {
    pub const ZERO: Percent = Percent(Decimal::ZERO);

    pub fn new(value: Decimal) -> Result<Self, PercentError> {
        if value < Decimal::ZERO || value > Decimal::ONE_HUNDRED {
            return Err(PercentError::OutOfRange(value.to_string()));
        }
        if value.scale() > 6 && value.normalize().scale() > 6 {
            return Err(PercentError::TooPrecise);
        }
        Ok(Percent(value.normalize()))
    }

    pub fn parse(text: &str) -> Result<Self, PercentError> {
        let t = text.trim();
        // Exponent notation and signs other than a leading minus are not percentages people write.
        if t.is_empty()
            || !t
                .bytes()
                .all(|b| b.is_ascii_digit() || b == b'.' || b == b'-')
        {
            return Err(PercentError::NotADecimal(text.to_string()));
        }
        let value =
            Decimal::from_str(t).map_err(|_| PercentError::NotADecimal(text.to_string()))?;
        Percent::new(value)
    }

    pub fn as_decimal(&self) -> Decimal {
        self.0
    }

    pub fn is_zero(&self) -> bool {
        self.0.is_zero()
    }

    /// This percentage of `minor` units, exact: `minor × rate / 100` on integers. A rate
    /// has at most 6 places and 100 at most, so the product stays below 2^90 and fits a
    /// decimal's 96 bits without rounding.
    pub fn of_minor(&self, minor: i64) -> Decimal {
        let product = i128::from(minor) * self.0.mantissa();
        Decimal::from_i128_with_scale(product, self.0.scale() + 2)
    }

    /// This percentage of `value`: `value × rate / 100`, exact but for the multiplication's
    /// own rounding past 28 digits. The division by a hundred is a shift of the decimal
    /// point, done as one where the scale allows: a general decimal division cost more
    /// than the rest of an upline line.
    pub fn of(&self, value: Decimal) -> Decimal {
        let product = value * self.0;
        match product.scale() + 2 {
            scale @ 0..=28 => Decimal::from_i128_with_scale(product.mantissa(), scale),
            _ => product / Decimal::ONE_HUNDRED,
        }
    }
}

impl fmt::Display for Percent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        super::text::write_decimal(f, self.0, false)?;
        f.write_char('%')
    }
}

impl Serialize for Percent {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0.to_string())
    }
}

impl<'de> Deserialize<'de> for Percent {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Percent::parse(&s).map_err(serde::de::Error::custom)
    }
}
