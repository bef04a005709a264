//! How an amount is stored and sent: `amount_minor` (integer minor units) next to
//! `currency`, the shape every item and message has had since the first release. Entities
//! hold [`Money`]; this keeps their stored form unchanged.
//!
//! Use as `#[serde(flatten, with = "crate::money::stored")]` on a `Money` field.

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::{Currency, Money};

#[derive(Serialize, Deserialize)]
struct Stored {
    amount_minor: i64,
    currency: Currency,
}

pub fn serialize<S: Serializer>(money: &Money, serializer: S) -> Result<S::Ok, S::Error> {
    Stored {
        amount_minor: money.minor(),
        currency: money.currency(),
    }
    .serialize(serializer)
}

pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Money, D::Error> {
    let s = Stored::deserialize(deserializer)?;
    Ok(Money::from_minor(s.amount_minor, s.currency))
}
