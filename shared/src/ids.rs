//! Identifiers and secrets: the [`Ids`] port that mints them (so tests are exact), the
//! typed ids of the domain, and the shapes of API keys and codes.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::clock::Timestamp;

/// The Ids port: unique, time-ordered ids and unguessable secrets.
pub trait Ids: Send + Sync {
    /// A unique id whose text sorts by creation time (a ULID in production).
    fn new_id(&self, now: Timestamp) -> String;
    /// `bytes` bytes from a cryptographically secure source.
    fn random_bytes(&self, bytes: usize) -> Vec<u8>;
}

/// ULIDs from the clock and a cryptographically secure generator per thread (ChaCha12,
/// seeded and reseeded from the operating system), so minting one costs no system call.
#[derive(Default, Debug, Clone, Copy)]
pub struct RandomIds;

impl Ids for RandomIds {
    fn new_id(&self, now: Timestamp) -> String {
        let mut rnd = [0u8; 10];
        rand::RngCore::fill_bytes(&mut rand::rng(), &mut rnd);
        let mut random = 0u128;
        for b in rnd {
            random = (random << 8) | u128::from(b);
        }
        ulid::Ulid::from_parts(now.millis().max(0) as u64, random)
            .to_string()
            .to_ascii_lowercase()
    }

    fn random_bytes(&self, bytes: usize) -> Vec<u8> {
        let mut out = vec![0u8; bytes];
        rand::RngCore::fill_bytes(&mut rand::rng(), &mut out);
        out
    }
}

/// Counting ids for tests: `id-000001`, `id-000002`, …; random bytes derived from the count.
#[derive(Default, Debug)]
pub struct SequentialIds(AtomicU64);

impl Ids for SequentialIds {
    fn new_id(&self, _now: Timestamp) -> String {
        format!("id-{:06}", self.0.fetch_add(1, Ordering::SeqCst) + 1)
    }

    fn random_bytes(&self, bytes: usize) -> Vec<u8> {
        let n = self.0.fetch_add(1, Ordering::SeqCst) + 1;
        Sha256::digest(n.to_be_bytes())
            .iter()
            .cycle()
            .take(bytes)
            .copied()
            .collect()
    }
}

/// Crockford base32 without padding, lower case: short, unambiguous codes for URLs.
pub fn base32(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 32] = b"0123456789abcdefghjkmnpqrstvwxyz";
    let mut out = String::with_capacity(bytes.len() * 8 / 5 + 1);
    let (mut buffer, mut bits) = (0u32, 0u32);
    for &b in bytes {
        buffer = (buffer << 8) | u32::from(b);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(ALPHABET[((buffer >> bits) & 31) as usize] as char);
        }
    }
    if bits > 0 {
        out.push(ALPHABET[((buffer << (5 - bits)) & 31) as usize] as char);
    }
    out
}

/// Declares a typed id: a string on the wire and in storage (`#[serde(transparent)]`, so
/// stored items are unchanged), its own type everywhere else, so a partner id cannot be
/// passed where a campaign id is expected.
macro_rules! typed_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            pub fn new(id: impl Into<String>) -> Self {
                $name(id.into())
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }

            pub fn into_string(self) -> String {
                self.0
            }
        }

        // Reading an id as text (formatting, hashing into keys, comparing with a path
        // segment) is always safe; only making one from text is explicit.
        impl std::ops::Deref for $name {
            type Target = str;
            fn deref(&self) -> &str {
                &self.0
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl std::borrow::Borrow<str> for $name {
            fn borrow(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Debug::fmt(&self.0, f)
            }
        }

        impl From<String> for $name {
            fn from(id: String) -> Self {
                $name(id)
            }
        }

        impl From<&str> for $name {
            fn from(id: &str) -> Self {
                $name(id.to_string())
            }
        }

        impl From<&String> for $name {
            fn from(id: &String) -> Self {
                $name(id.clone())
            }
        }

        impl From<$name> for String {
            fn from(id: $name) -> String {
                id.0
            }
        }

        impl PartialEq<str> for $name {
            fn eq(&self, other: &str) -> bool {
                self.0 == other
            }
        }

        impl PartialEq<&str> for $name {
            fn eq(&self, other: &&str) -> bool {
                self.0 == *other
            }
        }

        impl PartialEq<String> for $name {
            fn eq(&self, other: &String) -> bool {
                &self.0 == other
            }
        }

        impl PartialEq<$name> for &str {
            fn eq(&self, other: &$name) -> bool {
                *self == other.0
            }
        }

        impl From<&$name> for crate::ports::Attr {
            fn from(id: &$name) -> Self {
                crate::ports::Attr::S(id.0.clone())
            }
        }

        impl From<$name> for crate::ports::Attr {
            fn from(id: $name) -> Self {
                crate::ports::Attr::S(id.0)
            }
        }

        impl PartialEq<$name> for String {
            fn eq(&self, other: &$name) -> bool {
                *self == other.0
            }
        }
    };
}

typed_id!(
    /// A partner: minted at signup (a ULID in production).
    PartnerId
);
typed_id!(
    /// A campaign: chosen by the operator (`spring-sale`).
    CampaignId
);
typed_id!(
    /// A conversion: minted when the postback is recorded.
    ConversionId
);
typed_id!(
    /// A tracking link's short code, the `{code}` of `/r/{code}`.
    LinkCode
);
typed_id!(
    /// A commission line: `<conversion id>:<level>`, or with the refund for a reversing
    /// line, so a redelivered conversion finds the same line.
    LineId
);
typed_id!(
    /// A payout: `<run id>:<partner id>:<currency>`, so a rerun finds the same payout.
    PayoutId
);
typed_id!(
    /// A payout run: the name of its period (`2026-11`, `2026-W47`, `2026-11-21`).
    PayoutRunId
);
typed_id!(
    /// A promo code as matched: upper case.
    PromoCodeId
);
typed_id!(
    /// A connected storefront (a Shopify shop, a WooCommerce site, a Stripe or Paddle
    /// account): a slug the operator chooses, the `{id}` of its webhook URL.
    StoreId
);

/// Who an API key belongs to.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "role", rename_all = "snake_case")]
pub enum Principal {
    Admin { name: String },
    Partner { partner_id: PartnerId },
}

/// A freshly minted API key: the secret (shown once) and the hash that is stored.
pub struct NewApiKey {
    pub secret: String,
    pub hash: String,
}

impl fmt::Debug for NewApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The secret never reaches a log through Debug.
        f.debug_struct("NewApiKey")
            .field("hash", &self.hash)
            .finish()
    }
}

/// Mints an API key such as `upl_admin_…` or `upl_partner_…` with 160 bits of entropy.
pub fn new_api_key(ids: &dyn Ids, kind: &str) -> NewApiKey {
    let secret = format!("upl_{kind}_{}", base32(&ids.random_bytes(20)));
    let hash = hash_api_key(&secret);
    NewApiKey { secret, hash }
}

/// The stored form of an API key. Keys carry 160 random bits, so a plain SHA-256 is enough:
/// there is nothing to brute-force that a slow hash would protect.
pub fn hash_api_key(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base32_encodes_bits_in_order() {
        assert_eq!(base32(&[0]), "00");
        assert_eq!(base32(&[0xff]), "zw");
        assert_eq!(base32(&[0xff; 5]), "zzzzzzzz");
    }

    #[test]
    fn ulids_sort_by_time() {
        let ids = RandomIds;
        let a = ids.new_id(Timestamp(1_000));
        let b = ids.new_id(Timestamp(2_000));
        assert!(a < b);
        assert_eq!(a.len(), 26);
    }

    #[test]
    fn api_keys_hash_stably_and_differ() {
        let ids = RandomIds;
        let k1 = new_api_key(&ids, "admin");
        let k2 = new_api_key(&ids, "admin");
        assert!(k1.secret.starts_with("upl_admin_"));
        assert_ne!(k1.secret, k2.secret);
        assert_eq!(hash_api_key(&k1.secret), k1.hash);
        assert!(!format!("{k1:?}").contains(&k1.secret));
    }
}
