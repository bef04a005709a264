//! Authenticating storefront postbacks with the program's postback secret.
//!
//! Two ways, because storefronts differ in what they can do:
//! - `Upline-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<raw body>")>`:
//!   the body cannot be altered and an old request cannot be replayed outside the tolerance.
//! - `Authorization: Bearer <secret>`: for platforms that can only add a static header.
//!
//! Both compare in constant time.

use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::clock::Timestamp;

/// How far a signature's timestamp may be from now, either way.
pub const SIGNATURE_TOLERANCE_SECS: i64 = 300;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PostbackAuthError {
    #[error(
        "missing credentials: send Upline-Signature (HMAC) or Authorization: Bearer <postback secret>"
    )]
    Missing,
    #[error("the postback secret does not match")]
    WrongSecret,
    #[error("Upline-Signature must look like t=<unix seconds>,v1=<hex>")]
    MalformedSignature,
    #[error("Upline-Signature timestamp is more than {SIGNATURE_TOLERANCE_SECS} seconds from now")]
    StaleSignature,
    #[error("Upline-Signature does not match the body")]
    BadSignature,
}

/// Computes the `v1` value of a signature header; storefront SDKs and tests use it.
pub fn sign(secret: &str, t_secs: i64, body: &[u8]) -> String {
    let t = t_secs.to_string();
    hex::encode(crate::signing::tag(
        secret.as_bytes(),
        &[t.as_bytes(), b".", body],
    ))
}

/// Checks whichever credential the request carries.
pub fn authenticate(
    secret: &str,
    signature_header: Option<&str>,
    bearer: Option<&str>,
    body: &[u8],
    now: Timestamp,
) -> Result<(), PostbackAuthError> {
    if let Some(header) = signature_header {
        let mut t = None;
        let mut v1 = None;
        for part in header.split(',') {
            match part.trim().split_once('=') {
                Some(("t", v)) => t = v.parse::<i64>().ok(),
                Some(("v1", v)) => v1 = hex::decode(v).ok(),
                _ => {}
            }
        }
        let (Some(t), Some(given)) = (t, v1) else {
            return Err(PostbackAuthError::MalformedSignature);
        };
        // `abs_diff`: any i64 the header carries is compared without overflowing.
        if now.secs().abs_diff(t) > SIGNATURE_TOLERANCE_SECS.unsigned_abs() {
            return Err(PostbackAuthError::StaleSignature);
        }
        let t = t.to_string();
        let parts: [&[u8]; 3] = [t.as_bytes(), b".", body];
        return if crate::signing::verify(secret.as_bytes(), &parts, &given) {
            Ok(())
        } else {
            Err(PostbackAuthError::BadSignature)
        };
    }
    if let Some(token) = bearer {
        // Hashing both sides first makes the comparison length-independent as well.
        let given = Sha256::digest(token.trim().as_bytes());
        let expected = Sha256::digest(secret.as_bytes());
        return if bool::from(given.ct_eq(&expected)) {
            Ok(())
        } else {
            Err(PostbackAuthError::WrongSecret)
        };
    }
    Err(PostbackAuthError::Missing)
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: Timestamp = Timestamp(1_700_000_000_000);

    #[test]
    fn a_correct_signature_is_accepted() {
        let body = br#"{"order_id":"o-1"}"#;
        let header = format!("t={},v1={}", NOW.secs(), sign("s3cret", NOW.secs(), body));
        assert_eq!(
            authenticate("s3cret", Some(&header), None, body, NOW),
            Ok(())
        );
    }

    #[test]
    fn a_signature_over_another_body_is_rejected() {
        let header = format!("t={},v1={}", NOW.secs(), sign("s3cret", NOW.secs(), b"a"));
        assert_eq!(
            authenticate("s3cret", Some(&header), None, b"b", NOW),
            Err(PostbackAuthError::BadSignature)
        );
    }

    #[test]
    fn an_old_signature_is_rejected() {
        let t = NOW.secs() - SIGNATURE_TOLERANCE_SECS - 1;
        let header = format!("t={t},v1={}", sign("s3cret", t, b"a"));
        assert_eq!(
            authenticate("s3cret", Some(&header), None, b"a", NOW),
            Err(PostbackAuthError::StaleSignature)
        );
    }

    #[test]
    fn bearer_secret_must_match_exactly() {
        assert_eq!(
            authenticate("s3cret", None, Some("s3cret"), b"", NOW),
            Ok(())
        );
        assert_eq!(
            authenticate("s3cret", None, Some("s3cre"), b"", NOW),
            Err(PostbackAuthError::WrongSecret)
        );
        assert_eq!(
            authenticate("s3cret", None, None, b"", NOW),
            Err(PostbackAuthError::Missing)
        );
    }
}
