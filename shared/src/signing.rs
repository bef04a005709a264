//! HMAC-SHA256, set up in one place for every keyed hash and signature Upline makes: click
//! ids, postback signatures, visitor and rate-limit hashes. Verification compares in
//! constant time.

use hmac::{Hmac, Mac};
use sha2::Sha256;

fn keyed(key: &[u8], parts: &[&[u8]]) -> Hmac<Sha256> {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key).expect("HMAC takes any key length");
    for part in parts {
        mac.update(part);
    }
    mac
}

/// The HMAC of the concatenated `parts` under `key`.
pub fn tag(key: &[u8], parts: &[&[u8]]) -> [u8; 32] {
    keyed(key, parts).finalize().into_bytes().into()
}

/// Whether `given` is the HMAC of `parts` under `key` (in constant time).
pub fn verify(key: &[u8], parts: &[&[u8]], given: &[u8]) -> bool {
    keyed(key, parts).verify_slice(given).is_ok()
}

/// Whether `given` is the first `given.len()` bytes of the HMAC (in constant time).
pub fn verify_prefix(key: &[u8], parts: &[&[u8]], given: &[u8]) -> bool {
    keyed(key, parts).verify_truncated_left(given).is_ok()
}

/// The first 16 bytes of the HMAC as hex: a keyed hash for recognising a value without
/// storing it.
pub fn keyed_hash_hex(key: &[u8], parts: &[&[u8]]) -> String {
    hex::encode(&tag(key, parts)[..16])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_answer_and_verification() {
        // RFC 4231, test case 2.
        let t = tag(b"Jefe", &[b"what do ya want ", b"for nothing?"]);
        assert_eq!(
            hex::encode(t),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
        assert!(verify(b"Jefe", &[b"what do ya want for nothing?"], &t));
        assert!(!verify(b"Jeff", &[b"what do ya want for nothing?"], &t));
        assert!(verify_prefix(
            b"Jefe",
            &[b"what do ya want for nothing?"],
            &t[..16]
        ));
        assert_eq!(
            keyed_hash_hex(b"Jefe", &[b"what do ya want for nothing?"]).len(),
            32
        );
    }
}
