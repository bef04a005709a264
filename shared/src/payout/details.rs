//! How a partner wants to be paid: the method and its validated details (PayPal email,
//! bank account with IBAN and BIC).

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

/// Checks an IBAN: country code, length for its country where known, and the ISO 13616
/// mod-97 check digits. Returns it without spaces, upper case.
pub fn parse_iban(text: &str) -> Result<String, String> {
    let iban: String = text
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect::<String>()
        .to_ascii_uppercase();
    if iban.len() < 15 || iban.len() > 34 || !iban.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return Err("is not an IBAN (15 to 34 letters and digits)".into());
    }
    let (country, check) = (&iban[..2], &iban[2..4]);
    if !country.bytes().all(|b| b.is_ascii_uppercase())
        || !check.bytes().all(|b| b.is_ascii_digit())
    {
        return Err("must start with a country code and two check digits".into());
    }
    if let Some(expected) = IBAN_LENGTHS
        .iter()
        .find(|(c, _)| *c == country)
        .map(|(_, n)| *n)
        && iban.len() != expected
    {
        return Err(format!(
            "has {} characters; {country} IBANs have {expected}",
            iban.len()
        ));
    }
    let rearranged = iban[4..].bytes().chain(iban[..4].bytes());
    let mut remainder: u32 = 0;
    for b in rearranged {
        let value = if b.is_ascii_digit() {
            u32::from(b - b'0')
        } else {
            u32::from(b - b'A') + 10
        };
        remainder = if value >= 10 {
            (remainder * 100 + value) % 97
        } else {
            (remainder * 10 + value) % 97
        };
    }
    if remainder != 1 {
        return Err("has wrong check digits (mistyped?)".into());
    }
    Ok(iban)
}

/// IBAN lengths of the countries partners most often bank in (SWIFT's IBAN registry).
const IBAN_LENGTHS: &[(&str, usize)] = &[
    ("AT", 20),
    ("BE", 16),
    ("CH", 21),
    ("CY", 28),
    ("CZ", 24),
    ("DE", 22),
    ("DK", 18),
    ("EE", 20),
    ("ES", 24),
    ("FI", 18),
    ("FR", 27),
    ("GB", 22),
    ("GR", 27),
    ("HR", 21),
    ("HU", 28),
    ("IE", 22),
    ("IT", 27),
    ("LT", 20),
    ("LU", 20),
    ("LV", 21),
    ("MT", 31),
    ("NL", 18),
    ("NO", 15),
    ("PL", 28),
    ("PT", 25),
    ("RO", 24),
    ("SE", 24),
    ("SI", 19),
    ("SK", 24),
];

/// Checks a BIC (SWIFT code): 8 or 11 letters and digits, country letters in place.
pub fn parse_bic(text: &str) -> Result<String, String> {
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
