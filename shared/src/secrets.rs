//! Secrets at rest. Secrets Upline must read back — the program's postback secret, the
//! local host's click secret, later storefront webhook secrets — are kept in the table
//! sealed with XChaCha20-Poly1305 under a key from configuration (a NoEcho stack
//! parameter on AWS, a key file beside the data on the local host), so a copy of the
//! table, a backup or a stray export does not hand out the means to forge postbacks or
//! click ids. Each sealed value is bound to its purpose: a value sealed as one secret
//! does not open as another. (API keys are not here: they are stored as hashes, since
//! Upline never needs them back.)

use std::fmt;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};

use crate::ids::{Ids, RandomIds};

const SEALED: &str = "sealed:v1:";
const NONCE_BYTES: usize = 24;

/// The key secrets are sealed with: 32 bytes, never printed.
#[derive(Clone, PartialEq, Eq)]
pub struct SecretsKey([u8; 32]);

impl fmt::Debug for SecretsKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretsKey(…)")
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SecretsError {
    #[error("the secrets key must be 64 hexadecimal characters (32 bytes)")]
    BadKey,
    #[error("a sealed {0} does not open with this key (wrong key, or the value was altered)")]
    DoesNotOpen(String),
    #[error("a sealed {0} is sealed but no secrets key is configured")]
    NoKey(String),
}

impl SecretsKey {
    pub fn from_hex(text: &str) -> Result<SecretsKey, SecretsError> {
        let bytes = hex::decode(text.trim()).map_err(|_| SecretsError::BadKey)?;
        let bytes: [u8; 32] = bytes.try_into().map_err(|_| SecretsError::BadKey)?;
        Ok(SecretsKey(bytes))
    }

    /// A new random key, as hex (for a key file made on first start).
    pub fn generate_hex() -> String {
        hex::encode(RandomIds.random_bytes(32))
    }

    /// `plaintext` sealed for `purpose`. A value already sealed is returned as it is, so a
    /// function that only passes an entity through never seals twice.
    pub fn seal(&self, purpose: &str, plaintext: &str) -> String {
        if is_sealed(plaintext) {
            return plaintext.to_string();
        }
        let nonce = RandomIds.random_bytes(NONCE_BYTES);
        let cipher = XChaCha20Poly1305::new((&self.0).into());
        let sealed = cipher
            .encrypt(
                XNonce::from_slice(&nonce),
                Payload {
                    msg: plaintext.as_bytes(),
                    aad: purpose.as_bytes(),
                },
            )
            .expect("sealing a short secret cannot fail");
        let mut out = nonce;
        out.extend_from_slice(&sealed);
        format!("{SEALED}{}", URL_SAFE_NO_PAD.encode(out))
    }

    /// A keyed hash of `data` for `purpose` (HMAC-SHA256, hex): what the table keeps of
    /// values it must recognise but never read back, such as a client address.
    pub fn keyed_hash(&self, purpose: &str, data: &str) -> String {
        crate::signing::keyed_hash_hex(&self.0, &[purpose.as_bytes(), b"\0", data.as_bytes()])
    }

    /// The plaintext of a value stored for `purpose`. A value stored before secrets were
    /// sealed is plaintext and passes through (the next write seals it).
    pub fn open(&self, purpose: &str, stored: &str) -> Result<String, SecretsError> {
        let Some(encoded) = stored.strip_prefix(SEALED) else {
            return Ok(stored.to_string());
        };
        let fail = || SecretsError::DoesNotOpen(purpose.to_string());
        let bytes = URL_SAFE_NO_PAD.decode(encoded).map_err(|_| fail())?;
        if bytes.len() < NONCE_BYTES {
            return Err(fail());
        }
        let (nonce, sealed) = bytes.split_at(NONCE_BYTES);
        let cipher = XChaCha20Poly1305::new((&self.0).into());
        let plain = cipher
            .decrypt(
                XNonce::from_slice(nonce),
                Payload {
                    msg: sealed,
                    aad: purpose.as_bytes(),
                },
            )
            .map_err(|_| fail())?;
        String::from_utf8(plain).map_err(|_| fail())
    }
}

/// A secret held in memory (an admin key from the command line, say): usable, never
/// printed by `Debug`.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Secret {
        Secret(value.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(…)")
    }
}

/// Whether a stored value is sealed.
pub fn is_sealed(stored: &str) -> bool {
    stored.starts_with(SEALED)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(byte: u8) -> SecretsKey {
        SecretsKey::from_hex(&hex::encode([byte; 32])).unwrap()
    }

    #[test]
    fn a_sealed_secret_opens_with_its_key_and_purpose_only() {
        let k = key(7);
        let sealed = k.seal("program.postback_secret", "whsec_abc");
        assert!(is_sealed(&sealed));
        assert!(!sealed.contains("whsec_abc"));
        assert_eq!(
            k.open("program.postback_secret", &sealed).unwrap(),
            "whsec_abc"
        );
        assert!(k.open("deployment.click_secret", &sealed).is_err());
        assert!(key(8).open("program.postback_secret", &sealed).is_err());
        // Sealing twice gives different texts (fresh nonces), both opening the same.
        let again = k.seal("program.postback_secret", "whsec_abc");
        assert_ne!(again, sealed);
        // Altered by one character: refused, not misread.
        let mut altered = sealed.clone().into_bytes();
        let last = altered.len() - 1;
        altered[last] = if altered[last] == b'A' { b'B' } else { b'A' };
        let altered = String::from_utf8(altered).unwrap();
        assert!(k.open("program.postback_secret", &altered).is_err());
    }

    #[test]
    fn plaintext_from_before_sealing_passes_through_and_sealed_values_are_not_resealed() {
        let k = key(1);
        assert_eq!(k.open("p", "legacy").unwrap(), "legacy");
        let sealed = k.seal("p", "x");
        assert_eq!(k.seal("p", &sealed), sealed);
    }

    #[test]
    fn keys_are_checked_and_never_printed() {
        assert!(SecretsKey::from_hex("abc").is_err());
        assert!(SecretsKey::from_hex(&"g".repeat(64)).is_err());
        assert_eq!(SecretsKey::generate_hex().len(), 64);
        assert_eq!(format!("{:?}", key(3)), "SecretsKey(…)");
    }
}
