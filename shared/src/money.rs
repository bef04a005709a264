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
use serde::{Deserialize, Serialize};

/// Active ISO 4217 codes whose minor unit is not 2 decimal places, with their exponent.
/// Every other code in [`ISO_4217_CODES`] has two.
const NON_TWO_DECIMAL: &[(&str, u8)] = &[
    ("BIF", 0),
    ("CLP", 0),
    ("DJF", 0),
    ("GNF", 0),
    ("ISK", 0),
    ("JPY", 0),
    ("KMF", 0),
    ("KRW", 0),
    ("PYG", 0),
    ("RWF", 0),
    ("UGX", 0),
    ("UYI", 0),
    ("VND", 0),
    ("VUV", 0),
    ("XAF", 0),
    ("XOF", 0),
    ("XPF", 0),
    ("BHD", 3),
    ("IQD", 3),
    ("JOD", 3),
    ("KWD", 3),
    ("LYD", 3),
    ("OMR", 3),
    ("TND", 3),
    ("CLF", 4),
    ("UYW", 4),
];

/// Active ISO 4217 currency codes (funds codes and precious metals excluded).
const ISO_4217_CODES: &str = "AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BHD BIF BMD BND BOB \
BRL BSD BTN BWP BYN BZD CAD CDF CHF CLF CLP CNY COP CRC CUP CVE CZK DJF DKK DOP DZD EGP ERN ETB EUR \
FJD FKP GBP GEL GHS GIP GMD GNF GTQ GYD HKD HNL HTG HUF IDR ILS INR IQD IRR ISK JMD JOD JPY KES KGS \
KHR KMF KPW KRW KWD KYD KZT LAK LBP LKR LRD LSL LYD MAD MDL MGA MKD MMK MNT MOP MRU MUR MVR MWK MXN \
MYR MZN NAD NGN NIO NOK NPR NZD OMR PAB PEN PGK PHP PKR PLN PYG QAR RON RSD RUB RWF SAR SBD SCR SDG \
SEK SGD SHP SLE SOS SRD SSP STN SVC SYP SZL THB TJS TMT TND TOP TRY TTD TWD TZS UAH UGX USD UYI UYU \
UYW UZS VES VND VUV WST XAF XCD XCG XOF XPF YER ZAR ZMW ZWG";

/// The largest amount, in minor units, that any request may carry and that any
/// conversion may produce: 10^14, a trillion dollars or a hundred trillion yen. The bound
/// is what keeps every computation on money exact without overflow: a pro-rata share
/// (a line × a refunded amount, a discount × an item) multiplies two amounts, and 10^28
/// stays below the decimal type's 7.9 × 10^28 even with a currency's 10^4 scale applied;
/// and tens of thousands of maximum sales still fit one i64 counter.
pub const MAX_AMOUNT_MINOR: i64 = 100_000_000_000_000;

/// The largest exchange rate accepted: no pair of ISO 4217 currencies is a billion apart.
pub const MAX_EXCHANGE_RATE: i64 = 1_000_000_000;

/// A currency: its three-letter ISO 4217 code and how many decimal places its minor unit has.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Currency {
    code: [u8; 3],
    exponent: u8,
}

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

impl Currency {
    /// Looks a code up in the ISO 4217 list; lower case is accepted and normalised.
    pub fn from_code(code: &str) -> Result<Self, MoneyError> {
        let upper = code.trim().to_ascii_uppercase();
        let known = upper.len() == 3
            && upper.bytes().all(|b| b.is_ascii_uppercase())
            && ISO_4217_CODES.split_ascii_whitespace().any(|c| c == upper);
        if !known {
            return Err(MoneyError::UnknownCurrency(code.to_string()));
        }
        let exponent = NON_TWO_DECIMAL
            .iter()
            .find(|(c, _)| *c == upper)
            .map_or(2, |(_, e)| *e);
        let b = upper.as_bytes();
        Ok(Currency {
            code: [b[0], b[1], b[2]],
            exponent,
        })
    }

    pub fn code(&self) -> &str {
        // The bytes were checked to be ASCII upper-case letters on construction.
        std::str::from_utf8(&self.code).expect("currency codes are ASCII")
    }

    /// Decimal places of the minor unit: USD 2, JPY 0, BHD 3.
    pub fn exponent(&self) -> u8 {
        self.exponent
    }

    /// Every known currency, for listings and exhaustive tests.
    pub fn all() -> impl Iterator<Item = Currency> {
        ISO_4217_CODES
            .split_ascii_whitespace()
            .map(|c| Currency::from_code(c).expect("listed codes are valid"))
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

impl fmt::Debug for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

impl FromStr for Currency {
    type Err = MoneyError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Currency::from_code(s)
    }
}

impl Serialize for Currency {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.code())
    }
}

impl<'de> Deserialize<'de> for Currency {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Currency::from_code(&s).map_err(serde::de::Error::custom)
    }
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
        Decimal::from_i128_with_scale(i128::from(self.minor), u32::from(self.currency.exponent))
    }

    /// Multiplies by a percentage and rounds with the platform rule.
    pub fn percent(&self, rate: Percent) -> Money {
        let exact = Decimal::from(self.minor) * rate.as_decimal() / Decimal::ONE_HUNDRED;
        Money::from_minor(round_minor(exact), self.currency)
    }
}

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

impl fmt::Display for Money {
    /// Renders with exactly the currency's decimal places: `100.00 USD`, `500 JPY`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {}",
            format_minor(self.minor, self.currency),
            self.currency
        )
    }
}

/// `12345, USD` → `"123.45"`; `-5, USD` → `"-0.05"`; `500, JPY` → `"500"`.
pub fn format_minor(minor: i64, currency: Currency) -> String {
    let exp = currency.exponent() as usize;
    let sign = if minor < 0 { "-" } else { "" };
    let digits = minor.unsigned_abs().to_string();
    if exp == 0 {
        return format!("{sign}{digits}");
    }
    let padded = format!("{digits:0>width$}", width = exp + 1);
    let (whole, frac) = padded.split_at(padded.len() - exp);
    format!("{sign}{whole}.{frac}")
}

/// The platform's one rounding rule: half to even, to a whole number of minor units.
/// Values beyond `i64` saturate, which no real commission reaches.
pub fn round_minor(exact_minor_units: Decimal) -> i64 {
    exact_minor_units
        .round_dp_with_strategy(0, RoundingStrategy::MidpointNearestEven)
        .to_i64()
        .unwrap_or(if exact_minor_units.is_sign_negative() {
            i64::MIN
        } else {
            i64::MAX
        })
}

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
}

impl fmt::Display for Percent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}%", self.0)
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

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn any_amount_survives_formatting_and_parsing(minor in -MAX_AMOUNT_MINOR..=MAX_AMOUNT_MINOR, which in 0usize..200) {
            let currencies: Vec<Currency> = Currency::all().collect();
            let c = currencies[which % currencies.len()];
            let text = format_minor(minor, c);
            prop_assert_eq!(Money::parse(&text, c).unwrap().minor(), minor);
        }

        #[test]
        fn rounding_is_within_half_a_unit_and_ties_go_to_even(units in -1_000_000_000i64..1_000_000_000, frac in 0u32..10_000) {
            let exact = Decimal::from(units) + Decimal::new(i64::from(frac), 4);
            let r = round_minor(exact);
            let diff = (Decimal::from(r) - exact).abs();
            prop_assert!(diff <= Decimal::new(5, 1));
            if diff == Decimal::new(5, 1) {
                prop_assert_eq!(r % 2, 0);
            }
        }

        #[test]
        fn a_converted_amount_is_whole_minor_units_within_half_of_one(
            minor in 0i64..1_000_000_000_000,
            rate_units in 1i64..100_000_000,
            from in 0usize..200,
            to in 0usize..200,
        ) {
            let all: Vec<Currency> = Currency::all().collect();
            let (from, to) = (all[from % all.len()], all[to % all.len()]);
            let rate = ExchangeRate { from, to, rate: Decimal::new(rate_units, 6) };
            let exact = Decimal::from_i128_with_scale(i128::from(minor), u32::from(from.exponent()))
                * rate.rate
                * Decimal::from(10i64.pow(u32::from(to.exponent())));
            match rate.convert(minor) {
                // An integer count of the target's minor units, the nearest one.
                Some(converted) => {
                    prop_assert!((Decimal::from(converted) - exact).abs() <= Decimal::new(5, 1));
                }
                // Refused only past the maximum.
                None => prop_assert!(exact > Decimal::from(MAX_AMOUNT_MINOR)),
            }
        }

        #[test]
        fn a_percent_of_money_never_exceeds_the_money(minor in 0i64..1_000_000_000_000, bp in 0u32..=10_000) {
            let rate = Percent::new(Decimal::new(i64::from(bp), 2)).unwrap();
            let usd = Currency::from_code("USD").unwrap();
            let part = Money::from_minor(minor, usd).percent(rate).minor();
            prop_assert!((0..=minor).contains(&part));
        }
    }

    fn usd() -> Currency {
        Currency::from_code("USD").unwrap()
    }

    #[test]
    fn currency_exponents_follow_iso_4217() {
        assert_eq!(Currency::from_code("usd").unwrap().exponent(), 2);
        assert_eq!(Currency::from_code("JPY").unwrap().exponent(), 0);
        assert_eq!(Currency::from_code("BHD").unwrap().exponent(), 3);
        assert_eq!(Currency::from_code("CLF").unwrap().exponent(), 4);
    }

    #[test]
    fn unknown_or_malformed_currency_codes_are_rejected() {
        for bad in ["", "US", "USDX", "XYZ", "12A", "U$D"] {
            assert!(Currency::from_code(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn amounts_parse_exactly_into_minor_units() {
        assert_eq!(Money::parse("100", usd()).unwrap().minor(), 10_000);
        assert_eq!(Money::parse("100.1", usd()).unwrap().minor(), 10_010);
        assert_eq!(Money::parse("100.10", usd()).unwrap().minor(), 10_010);
        assert_eq!(Money::parse("0.07", usd()).unwrap().minor(), 7);
        assert_eq!(Money::parse(".5", usd()).unwrap().minor(), 50);
        assert_eq!(Money::parse("-3.5", usd()).unwrap().minor(), -350);
        assert_eq!(Money::parse("1.500", usd()).unwrap().minor(), 150);
        let jpy = Currency::from_code("JPY").unwrap();
        assert_eq!(Money::parse("500", jpy).unwrap().minor(), 500);
        let bhd = Currency::from_code("BHD").unwrap();
        assert_eq!(Money::parse("1.234", bhd).unwrap().minor(), 1_234);
    }

    #[test]
    fn amounts_with_more_precision_than_the_currency_are_rejected() {
        assert!(matches!(
            Money::parse("1.005", usd()),
            Err(MoneyError::TooPrecise { places: 3, .. })
        ));
        let jpy = Currency::from_code("JPY").unwrap();
        assert!(Money::parse("1.5", jpy).is_err());
    }

    #[test]
    fn non_decimal_text_is_rejected() {
        for bad in [
            "", "abc", "1e3", "1.", ".", "1,00", "1.2.3", "0x10", "--1", " - 1",
        ] {
            assert!(Money::parse(bad, usd()).is_err(), "{bad:?} accepted");
        }
        assert_eq!(
            Money::parse("99999999999999999999", usd()),
            Err(MoneyError::TooLarge { currency: usd() })
        );
    }

    #[test]
    fn rounding_is_half_to_even() {
        let d = |s: &str| Decimal::from_str(s).unwrap();
        assert_eq!(round_minor(d("0.5")), 0);
        assert_eq!(round_minor(d("1.5")), 2);
        assert_eq!(round_minor(d("2.5")), 2);
        assert_eq!(round_minor(d("2.5000001")), 3);
        assert_eq!(round_minor(d("-2.5")), -2);
        assert_eq!(round_minor(d("-3.5")), -4);
    }

    #[test]
    fn percent_of_money_rounds_once_with_the_platform_rule() {
        let ten = Percent::parse("10").unwrap();
        assert_eq!(Money::from_minor(10_000, usd()).percent(ten).minor(), 1_000);
        // 0.125 % of 100.00 = 12.5 cents → 12 (half to even)
        let p = Percent::parse("0.125").unwrap();
        assert_eq!(Money::from_minor(10_000, usd()).percent(p).minor(), 12);
        // 0.375 % of 100.00 = 37.5 cents → 38
        let p = Percent::parse("0.375").unwrap();
        assert_eq!(Money::from_minor(10_000, usd()).percent(p).minor(), 38);
    }

    #[test]
    fn percentages_outside_0_to_100_are_rejected() {
        assert!(Percent::parse("100.01").is_err());
        assert!(Percent::parse("-1").is_err());
        assert!(Percent::parse("1e2").is_err());
        assert!(Percent::parse("12.5").is_ok());
    }

    #[test]
    fn conversions_cross_exponents_and_round_once() {
        let c = |code: &str| Currency::from_code(code).unwrap();
        let eur_usd = ExchangeRate::parse(c("EUR"), c("USD"), "1.0842").unwrap();
        assert_eq!(eur_usd.convert(10_000), Some(10_842));
        let jpy_usd = ExchangeRate::parse(c("JPY"), c("USD"), "0.0067").unwrap();
        assert_eq!(jpy_usd.convert(100), Some(67));
        let usd_bhd = ExchangeRate::parse(c("USD"), c("BHD"), "0.376").unwrap();
        assert_eq!(
            usd_bhd.convert(1_999),
            Some(7_516),
            "19.99 USD = 7.51624 BHD → 7.516"
        );
        let usd_jpy = ExchangeRate::parse(c("USD"), c("JPY"), "151.25").unwrap();
        assert_eq!(usd_jpy.convert(1), Some(2), "0.01 USD = 1.5125 JPY → 2");
        assert_eq!(eur_usd.to_string(), "1 EUR = 1.0842 USD");
        for bad in ["0", "-1", "abc", "1e3", ""] {
            assert!(
                ExchangeRate::parse(c("EUR"), c("USD"), bad).is_err(),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn amounts_format_with_the_currencys_decimal_places() {
        assert_eq!(Money::from_minor(12_345, usd()).to_string(), "123.45 USD");
        assert_eq!(format_minor(-5, usd()), "-0.05");
        assert_eq!(
            format_minor(7, Currency::from_code("BHD").unwrap()),
            "0.007"
        );
        assert_eq!(
            format_minor(500, Currency::from_code("JPY").unwrap()),
            "500"
        );
    }

    #[test]
    fn amounts_above_the_platform_maximum_are_refused_at_the_edge() {
        assert_eq!(
            Money::parse("1000000000000.00", usd()).unwrap().minor(),
            MAX_AMOUNT_MINOR
        );
        let err = Money::parse("1000000000000.01", usd()).unwrap_err();
        assert_eq!(err, MoneyError::TooLarge { currency: usd() });
        assert_eq!(
            err.to_string(),
            "is too large: amounts are at most 1000000000000.00 USD"
        );
        // The probe's amount: i64::MAX cents.
        assert!(Money::parse("92233720368547758.07", usd()).is_err());
        assert!(Money::parse("-1000000000000.01", usd()).is_err());
        let jpy = Currency::from_code("JPY").unwrap();
        assert!(Money::parse("100000000000000", jpy).is_ok());
        assert!(Money::parse("100000000000001", jpy).is_err());
    }

    #[test]
    fn exchange_rates_are_bounded_and_conversions_never_exceed_the_maximum() {
        let c = |code: &str| Currency::from_code(code).unwrap();
        assert!(matches!(
            ExchangeRate::parse(c("EUR"), c("USD"), "1000000000000"),
            Err(RateError::TooLarge(_))
        ));
        let huge = ExchangeRate::parse(c("EUR"), c("USD"), "1000000000").unwrap();
        assert_eq!(huge.convert(MAX_AMOUNT_MINOR), None);
        assert_eq!(huge.convert(100_000), Some(100_000_000_000_000));
        assert_eq!(huge.convert(100_001), None);
        // Into a currency with more decimals, at the largest rate, from the largest amount.
        let to_clf = ExchangeRate::parse(c("JPY"), c("CLF"), "1000000000").unwrap();
        assert_eq!(to_clf.convert(MAX_AMOUNT_MINOR), None);
    }
}
