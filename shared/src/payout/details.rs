//! How a partner wants to be paid: the method and its validated details (PayPal email,
//! bank account with IBAN and BIC).

use crate::error::Invalid;
use iban::{Iban, IbanLike, ParseBaseIbanError, ParseIbanError};
use serde::{Deserialize, Serialize};

/// How a partner is paid.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "method", rename_all = "snake_case")]
pub enum PayoutDetails {
    /// PayPal Payouts, to the account of this email address.
    Paypal { email: String },
    /// A bank transfer (exported for Wise batches): the holder's name and IBAN.
    BankTransfer {
        account_holder: String,
        iban: String,
        #[serde(default)]
        bic: Option<String>,
        /// `person` or `business`: what Wise calls the receiver type.
        receiver_type: ReceiverType,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReceiverType {
    Person,
    Business,
}

impl PayoutDetails {
    pub fn method(&self) -> &'static str {
        match self {
            PayoutDetails::Paypal { .. } => "paypal",
            PayoutDetails::BankTransfer { .. } => "bank_transfer",
        }
    }

    /// Where the money goes, in one line for statements and the generic export; the IBAN
    /// is shown whole because the operator needs it to pay.
    pub fn destination(&self) -> String {
        match self {
            PayoutDetails::Paypal { email } => email.clone(),
            PayoutDetails::BankTransfer {
                iban,
                bic,
                account_holder,
                ..
            } => match bic {
                Some(b) => format!("{account_holder}, {iban}, {b}"),
                None => format!("{account_holder}, {iban}"),
            },
        }
    }
}

/// Checks an IBAN with the `iban_validate` crate, against SWIFT's IBAN registry: a country
/// that has IBANs, that country's length and account number format, and the ISO 13616
/// mod-97 check digits. Returns it without spaces, upper case.
pub fn parse_iban(text: &str) -> Result<String, Invalid> {
    let compact = text
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect::<String>()
        .to_ascii_uppercase();
    let error = match compact.parse::<Iban>() {
        Ok(iban) => return Ok(iban.electronic_str().to_string()),
        Err(error) => error,
    };
    if error == ParseIbanError::from(ParseBaseIbanError::InvalidFormat) {
        return Err(
            "is not an IBAN (a country code, two check digits, then up to 30 letters and digits)"
                .into(),
        );
    }
    // Past the format check it starts with the two letters of a country code. A length
    // that is wrong for the country is the likelier mistake (a digit dropped or doubled),
    // and it breaks the check digits too: named first.
    let country = compact.get(..2).unwrap_or_default();
    if let Some(expected) = iban_length(country)
        && compact.len() != expected
    {
        return Err(Invalid(format!(
            "has {} characters; {country} IBANs have {expected}",
            compact.len()
        )));
    }
    Err(match error {
        ParseIbanError::UnknownCountry(_) => Invalid(format!(
            "starts with {country}, which is not a country with IBANs"
        )),
        ParseIbanError::InvalidBban(_) => Invalid(format!(
            "does not have the account number format of {country} IBANs"
        )),
        ParseIbanError::InvalidBaseIban { .. } => "has wrong check digits (mistyped?)".into(),
    })
}

/// The IBAN length of a country, for the wrong-length message only: the crate decides
/// what is valid.
pub(super) fn iban_length(country: &str) -> Option<usize> {
    IBAN_LENGTHS
        .iter()
        .find(|(_, countries)| countries.contains(&country))
        .map(|(length, _)| *length)
}

/// Every country of the registry by its IBAN length. `iban_validate` keeps its formats
/// private (`country_pattern` in its `src/generated.rs`, generated from SWIFT's registry),
/// so these are the sums of those patterns plus four (country code and check digits),
/// taken from iban_validate 5.0.1; when the crate is updated,
/// `payout::tests::iban_lengths_agree_with_the_crate` names any country that disagrees.
const IBAN_LENGTHS: &[(usize, &[&str])] = &[
    (15, &["NO"]),
    (16, &["BE"]),
    (18, &["DK", "FI", "FK", "FO", "GL", "NL", "SD"]),
    (19, &["MK", "SI"]),
    (20, &["AT", "BA", "EE", "KZ", "LT", "LU", "MN", "XK"]),
    (21, &["CH", "HR", "LI", "LV"]),
    (
        22,
        &["BG", "BH", "CR", "DE", "GB", "GE", "IE", "ME", "RS", "VA"],
    ),
    (23, &["AE", "GI", "IL", "IQ", "OM", "SO", "TL"]),
    (
        24,
        &["AD", "CZ", "ES", "MD", "RO", "SA", "SE", "SK", "TN", "VG"],
    ),
    (25, &["LY", "PT", "ST"]),
    (26, &["IS", "TR"]),
    (27, &["BI", "DJ", "FR", "GR", "IT", "MC", "MR", "SM"]),
    (
        28,
        &[
            "AL", "AZ", "BY", "CY", "DO", "GT", "HU", "LB", "NI", "PL", "SV",
        ],
    ),
    (29, &["BR", "EG", "PS", "QA", "UA"]),
    (30, &["JO", "KW", "MU", "YE"]),
    (31, &["MT", "SC"]),
    (32, &["LC"]),
    (33, &["RU"]),
];

/// Checks a BIC (SWIFT code) by its ISO 9362 shape: 8 or 11 letters and digits, country
/// letters in place. Written here: `iban_validate` has no BICs, and the BIC crates on
/// crates.io (`rust_iso9362`, `use-bic`) are young single releases, too new to take on
/// for a three-line check.
pub fn parse_bic(text: &str) -> Result<String, Invalid> {
    let bic = text.trim().to_ascii_uppercase();
    let ok = (bic.len() == 8 || bic.len() == 11)
        && bic.bytes().all(|b| b.is_ascii_alphanumeric())
        && bic[..6].bytes().skip(4).all(|b| b.is_ascii_uppercase());
    if ok {
        Ok(bic)
    } else {
        Err("is not a BIC (8 or 11 letters and digits, like DEUTDEFF)".into())
    }
}
