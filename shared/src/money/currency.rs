//! Currencies: the active ISO 4217 codes and the decimal places of their minor units.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::MoneyError;

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

/// A currency: its three-letter ISO 4217 code and how many decimal places its minor unit has.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Currency {
    code: [u8; 3],
    exponent: u8,
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
