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

/// ULIDs from the clock and the operating system's secure random source.
#[derive(Default, Debug, Clone, Copy)]
pub struct RandomIds;

impl Ids for RandomIds {
    fn new_id(&self, now: Timestamp) -> String {
        let mut rnd = [0u8; 10];
        getrandom::fill(&mut rnd).expect("the OS random source is available");
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
        getrandom::fill(&mut out).expect("the OS random source is available");
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

/// Who an API key belongs to.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "role", rename_all = "snake_case")]
pub enum Principal {
    Admin { name: String },
    Partner { partner_id: String },
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
