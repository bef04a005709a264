//! Click ids: unforgeable and self-describing. A click id names its link and the second it
//! was made, and carries an HMAC-SHA256 tag under the deployment's click secret, so a
//! postback can be attributed before the click record has landed, and a forged or altered
//! id is rejected without a lookup.
//!
//! Layout before base64url (no padding): `version(1) | unix seconds(4, BE) | nonce(6) |
//! link code(UTF-8) | tag(16)`. A 10-character code gives a 50-character id.

use crate::ids::LinkCode;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use crate::clock::Timestamp;

const VERSION: u8 = 1;
const TAG_LEN: usize = 16;
const HEADER_LEN: usize = 1 + 4 + 6;
/// Links codes are short; a longer id is not one of ours.
const MAX_ID_LEN: usize = 200;

/// The deployment secret click ids are signed with. Never logged.
#[derive(Clone)]
pub struct ClickSecret(Vec<u8>);

impl ClickSecret {
    pub fn new(bytes: Vec<u8>) -> Result<Self, &'static str> {
        if bytes.len() < 32 {
            return Err("the click secret needs at least 32 bytes");
        }
        Ok(ClickSecret(bytes))
    }

    /// The key bytes, for other keyed hashes derived from the same secret.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }
}

impl std::fmt::Debug for ClickSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ClickSecret(..)")
    }
}

/// What a verified click id says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClickIdClaims {
    pub link_code: LinkCode,
    pub clicked_at: Timestamp,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClickIdError {
    #[error("is not a click id issued by this program (malformed)")]
    Malformed,
    #[error("has a signature that does not match: it was altered or forged")]
    BadSignature,
}

fn tag(secret: &ClickSecret, payload: &[u8]) -> [u8; TAG_LEN] {
    let full = crate::signing::tag(&secret.0, &[payload]);
    let mut out = [0u8; TAG_LEN];
    out.copy_from_slice(&full[..TAG_LEN]);
    out
}

/// Mints a click id for `link_code` at `at`. `nonce` makes two clicks in one second differ.
pub fn issue(secret: &ClickSecret, link_code: &LinkCode, at: Timestamp, nonce: [u8; 6]) -> String {
    let mut bytes = Vec::with_capacity(HEADER_LEN + link_code.len() + TAG_LEN);
    bytes.push(VERSION);
    bytes.extend_from_slice(&(at.secs().clamp(0, i64::from(u32::MAX)) as u32).to_be_bytes());
    bytes.extend_from_slice(&nonce);
    bytes.extend_from_slice(link_code.as_bytes());
    let t = tag(secret, &bytes);
    bytes.extend_from_slice(&t);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Checks the tag in constant time and reads the claims.
pub fn verify(secret: &ClickSecret, click_id: &str) -> Result<ClickIdClaims, ClickIdError> {
    if click_id.len() > MAX_ID_LEN {
        return Err(ClickIdError::Malformed);
    }
    let bytes = URL_SAFE_NO_PAD
        .decode(click_id.trim())
        .map_err(|_| ClickIdError::Malformed)?;
    if bytes.len() <= HEADER_LEN + TAG_LEN || bytes[0] != VERSION {
        return Err(ClickIdError::Malformed);
    }
    let (payload, given) = bytes.split_at(bytes.len() - TAG_LEN);
    if !crate::signing::verify_prefix(&secret.0, &[payload], given) {
        return Err(ClickIdError::BadSignature);
    }
    let secs = u32::from_be_bytes([payload[1], payload[2], payload[3], payload[4]]);
    let link_code = std::str::from_utf8(&payload[HEADER_LEN..])
        .map_err(|_| ClickIdError::Malformed)?
        .to_string();
    Ok(ClickIdClaims {
        link_code: LinkCode::new(link_code),
        clicked_at: Timestamp::from_secs(i64::from(secs)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn secret(b: u8) -> ClickSecret {
        ClickSecret::new(vec![b; 32]).unwrap()
    }

    proptest! {
        #[test]
        fn click_ids_round_trip(code in "[a-z0-9]{4,16}", secs in 0i64..4_000_000_000, nonce: [u8; 6]) {
            let id = issue(&secret(7), &LinkCode::new(code.clone()), Timestamp::from_secs(secs), nonce);
            let claims = verify(&secret(7), &id).unwrap();
            prop_assert_eq!(claims.link_code, code);
            prop_assert_eq!(claims.clicked_at, Timestamp::from_secs(secs));
        }

        #[test]
        fn any_altered_byte_is_rejected(code in "[a-z0-9]{4,16}", nonce: [u8; 6], pos in 0usize..1000, flip in 1u8..=255) {
            let id = issue(&secret(7), &LinkCode::new(code.clone()), Timestamp::from_secs(1_700_000_000), nonce);
            let mut bytes = URL_SAFE_NO_PAD.decode(&id).unwrap();
            let i = pos % bytes.len();
            bytes[i] ^= flip;
            let altered = URL_SAFE_NO_PAD.encode(&bytes);
            prop_assert!(verify(&secret(7), &altered).is_err());
        }
    }

    #[test]
    fn an_id_signed_with_another_secret_is_a_forgery() {
        let id = issue(
            &secret(1),
            &"abcd1234".into(),
            Timestamp::from_secs(5),
            [0; 6],
        );
        assert_eq!(verify(&secret(2), &id), Err(ClickIdError::BadSignature));
    }

    #[test]
    fn garbage_is_malformed_not_a_panic() {
        for bad in ["", "!!!", "abc", &"a".repeat(500)] {
            assert_eq!(verify(&secret(1), bad), Err(ClickIdError::Malformed));
        }
    }
}
