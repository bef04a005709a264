//! Each platform's webhook signature, checked over the raw bytes of a delivery (never a
//! re-serialised body: one changed byte breaks the MAC) against every configured secret,
//! so a secret can be rotated without losing deliveries. Comparisons are in constant time
//! (`crate::signing`).
//!
//! | platform | header | what is signed | MAC encoding |
//! |---|---|---|---|
//! | Shopify | `X-Shopify-Hmac-Sha256` | the body | base64 |
//! | WooCommerce | `X-WC-Webhook-Signature` | the body | base64 |
//! | Stripe | `Stripe-Signature: t=…,v1=…` | `"{t}.{body}"` | hex, several `v1` allowed |
//! | Paddle Billing | `Paddle-Signature: ts=…;h1=…` | `"{ts}:{body}"` | hex, several `h1` allowed |
//!
//! The timestamped schemes also refuse a signature made more than
//! [`TIMESTAMP_TOLERANCE_SECS`] before or after now, so a captured delivery cannot be
//! replayed later.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde::{Deserialize, Serialize};

use crate::clock::Timestamp;

/// The platforms a store can be connected from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Platform {
    Shopify,
    Woocommerce,
    Stripe,
    Paddle,
}

impl Platform {
    /// Whether the platform's delivery or event id names one delivery's content, so a
    /// repeat of it is a redelivery. Not WooCommerce's: its `X-WC-Webhook-Delivery-ID`
    /// is a hash of the webhook and the second, shared by different orders sent in the
    /// same second.
    pub fn delivery_ids_are_unique(&self) -> bool {
        *self != Platform::Woocommerce
    }
}

/// How far a Stripe or Paddle signature's time may be from ours: Stripe's own libraries
/// allow 300 s, and the same suits Paddle (whose SDK defaults to 5 s, too tight for a
/// Lambda behind a queue of retries and some clock skew).
pub const TIMESTAMP_TOLERANCE_SECS: i64 = 300;

/// Why a delivery's signature was refused (the receiver answers `401` and stores nothing).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("the {0} header is missing")]
    Missing(&'static str),
    #[error("the {header} header does not read: {why}")]
    Malformed {
        header: &'static str,
        why: &'static str,
    },
    #[error(
        "the signature was made {age_secs} s from now, outside the {TIMESTAMP_TOLERANCE_SECS} s allowed"
    )]
    Stale { age_secs: i64 },
    #[error("no configured secret makes this signature")]
    Mismatch,
}

/// Checks a delivery of `platform`: `header` looks a header up by its lower-case name,
/// `body` is the raw request body, `secrets` the store's one or two secrets.
pub fn verify<'h>(
    platform: Platform,
    header: impl Fn(&str) -> Option<&'h str>,
    body: &[u8],
    secrets: &[&[u8]],
    now: Timestamp,
) -> Result<(), SignatureError> {
    match platform {
        Platform::Shopify => body_mac(header, "x-shopify-hmac-sha256", body, secrets),
        Platform::Woocommerce => body_mac(header, "x-wc-webhook-signature", body, secrets),
        Platform::Stripe => STRIPE.check(header, body, secrets, now),
        Platform::Paddle => PADDLE.check(header, body, secrets, now),
    }
}

/// A base64 HMAC-SHA256 of the body alone (Shopify, WooCommerce).
fn body_mac<'h>(
    header: impl Fn(&str) -> Option<&'h str>,
    name: &'static str,
    body: &[u8],
    secrets: &[&[u8]],
) -> Result<(), SignatureError> {
    let text = header(name).ok_or(SignatureError::Missing(name))?;
    let given = STANDARD
        .decode(text.trim())
        .map_err(|_| SignatureError::Malformed {
            header: name,
            why: "not base64",
        })?;
    if secrets
        .iter()
        .any(|secret| crate::signing::verify(secret, &[body], &given))
    {
        Ok(())
    } else {
        Err(SignatureError::Mismatch)
    }
}

/// A scheme that signs `"{time}{joiner}{body}"` in hex, sent in a header of `key=value`
/// pairs split by `separator` (Stripe, Paddle).
struct Timestamped {
    header: &'static str,
    separator: char,
    time_key: &'static str,
    signature_key: &'static str,
    joiner: &'static [u8],
}

const STRIPE: Timestamped = Timestamped {
    header: "stripe-signature",
    separator: ',',
    time_key: "t",
    signature_key: "v1",
    joiner: b".",
};

const PADDLE: Timestamped = Timestamped {
    header: "paddle-signature",
    separator: ';',
    time_key: "ts",
    signature_key: "h1",
    joiner: b":",
};

impl Timestamped {
    /// Any of the header's signatures may match any secret.
    fn check<'h>(
        &self,
        header: impl Fn(&str) -> Option<&'h str>,
        body: &[u8],
        secrets: &[&[u8]],
        now: Timestamp,
    ) -> Result<(), SignatureError> {
        let name = self.header;
        let text = header(name).ok_or(SignatureError::Missing(name))?;
        let mut time = None;
        let mut signatures = Vec::new();
        for pair in text.split(self.separator) {
            let Some((key, value)) = pair.trim().split_once('=') else {
                continue;
            };
            if key == self.time_key {
                time = Some(value);
            } else if key == self.signature_key {
                // A value that is not hex is one signature that cannot match, not an
                // error: the header may carry other schemes beside the one we check.
                if let Ok(bytes) = hex::decode(value) {
                    signatures.push(bytes);
                }
            }
        }
        let malformed = |why| SignatureError::Malformed { header: name, why };
        let time = time.ok_or(malformed("no timestamp"))?;
        let secs: i64 = time
            .parse()
            .map_err(|_| malformed("the timestamp is not a whole number of seconds"))?;
        if signatures.is_empty() {
            return Err(malformed("no signature of the scheme we check"));
        }
        let age_secs = now.secs().saturating_sub(secs);
        if age_secs.unsigned_abs() > TIMESTAMP_TOLERANCE_SECS.unsigned_abs() {
            return Err(SignatureError::Stale { age_secs });
        }
        let signed = [time.as_bytes(), self.joiner, body];
        let matches = secrets.iter().any(|secret| {
            signatures
                .iter()
                .any(|given| crate::signing::verify(secret, &signed, given))
        });
        if matches {
            Ok(())
        } else {
            Err(SignatureError::Mismatch)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Known answers computed apart from this code (Python's `hmac` module).
    const SHOPIFY_BODY: &[u8] = br#"{"id":820982911946154508,"email":"jon@example.com","total_price":"199.00","currency":"USD"}"#;
    const SHOPIFY_MAC: &str = "AGbp00R/nM5aPDgs0HDj9rToBHWBcdLtNPLtrHvbMus=";
    const WOO_BODY: &[u8] =
        br#"{"id":727,"status":"processing","currency":"EUR","total":"21.500"}"#;
    const WOO_MAC: &str = "YA4hlojwpdn+a1+Jh+Vk7HOJ6jRwgp0FhQIWbQApJ1c=";
    const STRIPE_BODY: &[u8] = br#"{"id":"evt_1","type":"checkout.session.completed"}"#;
    const STRIPE_MAC: &str = "e47f463ec35dcefe2a4da0673d696d892e950175252d7f4202d0103a31190e6c";
    const PADDLE_BODY: &[u8] = br#"{"event_id":"evt_01","event_type":"transaction.completed"}"#;
    const PADDLE_MAC: &str = "41ceefff46d3a3b22301efe32922e3237c258f584420d3d59690f84c6525b0ec";
    const SIGNED_AT: i64 = 1_795_262_400;

    fn at(secs: i64) -> Timestamp {
        Timestamp::from_secs(secs)
    }

    fn check(
        platform: Platform,
        headers: &[(&str, &str)],
        body: &[u8],
        secrets: &[&[u8]],
        now: i64,
    ) -> Result<(), SignatureError> {
        verify(
            platform,
            |name| headers.iter().find(|(n, _)| *n == name).map(|(_, v)| *v),
            body,
            secrets,
            at(now),
        )
    }

    #[test]
    fn shopify_and_woocommerce_sign_the_body_in_base64() {
        let shopify = [("x-shopify-hmac-sha256", SHOPIFY_MAC)];
        let secret: &[u8] = b"shpss_test_secret_1";
        assert_eq!(
            check(Platform::Shopify, &shopify, SHOPIFY_BODY, &[secret], 0),
            Ok(())
        );
        // During a rotation either secret is accepted, in either order.
        let old: &[u8] = b"shpss_old";
        assert_eq!(
            check(Platform::Shopify, &shopify, SHOPIFY_BODY, &[old, secret], 0),
            Ok(())
        );
        assert_eq!(
            check(Platform::Shopify, &shopify, SHOPIFY_BODY, &[old], 0),
            Err(SignatureError::Mismatch)
        );
        // One byte of the body changed.
        let mut tampered = SHOPIFY_BODY.to_vec();
        tampered[10] ^= 1;
        assert_eq!(
            check(Platform::Shopify, &shopify, &tampered, &[secret], 0),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            check(Platform::Shopify, &[], SHOPIFY_BODY, &[secret], 0),
            Err(SignatureError::Missing("x-shopify-hmac-sha256"))
        );
        assert!(matches!(
            check(
                Platform::Shopify,
                &[("x-shopify-hmac-sha256", "%%%")],
                SHOPIFY_BODY,
                &[secret],
                0
            ),
            Err(SignatureError::Malformed { .. })
        ));
        let woo = [("x-wc-webhook-signature", WOO_MAC)];
        let secret: &[u8] = b"wc-secret-2";
        assert_eq!(
            check(Platform::Woocommerce, &woo, WOO_BODY, &[secret], 0),
            Ok(())
        );
        // The other platform's header does not stand in for this one's.
        assert_eq!(
            check(
                Platform::Woocommerce,
                &[("x-shopify-hmac-sha256", WOO_MAC)],
                WOO_BODY,
                &[secret],
                0
            ),
            Err(SignatureError::Missing("x-wc-webhook-signature"))
        );
    }

    #[test]
    fn stripe_signs_time_and_body_in_hex_within_five_minutes() {
        let secret: &[u8] = b"whsec_test_abc";
        let header = format!("t={SIGNED_AT},v1={STRIPE_MAC},v0={}", "11".repeat(32));
        let headers = [("stripe-signature", header.as_str())];
        assert_eq!(
            check(
                Platform::Stripe,
                &headers,
                STRIPE_BODY,
                &[secret],
                SIGNED_AT
            ),
            Ok(())
        );
        assert_eq!(
            check(
                Platform::Stripe,
                &headers,
                STRIPE_BODY,
                &[secret],
                SIGNED_AT + 300
            ),
            Ok(()),
            "at the edge of the tolerance"
        );
        assert_eq!(
            check(
                Platform::Stripe,
                &headers,
                STRIPE_BODY,
                &[secret],
                SIGNED_AT + 301
            ),
            Err(SignatureError::Stale { age_secs: 301 })
        );
        assert_eq!(
            check(
                Platform::Stripe,
                &headers,
                STRIPE_BODY,
                &[secret],
                SIGNED_AT - 301
            ),
            Err(SignatureError::Stale { age_secs: -301 }),
            "from the future"
        );
        // Several v1 signatures (Stripe sends one per active secret): any one may match.
        let rolled = format!("t={SIGNED_AT},v1={},v1={STRIPE_MAC}", "00".repeat(32));
        assert_eq!(
            check(
                Platform::Stripe,
                &[("stripe-signature", &rolled)],
                STRIPE_BODY,
                &[secret],
                SIGNED_AT
            ),
            Ok(())
        );
        // The time is part of what is signed: another t with the same MAC fails.
        let moved = format!("t={},v1={STRIPE_MAC}", SIGNED_AT + 1);
        assert_eq!(
            check(
                Platform::Stripe,
                &[("stripe-signature", &moved)],
                STRIPE_BODY,
                &[secret],
                SIGNED_AT
            ),
            Err(SignatureError::Mismatch)
        );
        for bad in [
            format!("v1={STRIPE_MAC}"),
            format!("t=soon,v1={STRIPE_MAC}"),
            format!("t={SIGNED_AT}"),
        ] {
            assert!(
                matches!(
                    check(
                        Platform::Stripe,
                        &[("stripe-signature", &bad)],
                        STRIPE_BODY,
                        &[secret],
                        SIGNED_AT
                    ),
                    Err(SignatureError::Malformed { .. })
                ),
                "{bad}"
            );
        }
    }

    #[test]
    fn paddle_signs_time_and_body_with_a_colon() {
        let secret: &[u8] = b"pdl_ntfset_secret";
        let header = format!("ts={SIGNED_AT};h1={PADDLE_MAC}");
        let headers = [("paddle-signature", header.as_str())];
        assert_eq!(
            check(
                Platform::Paddle,
                &headers,
                PADDLE_BODY,
                &[secret],
                SIGNED_AT + 12
            ),
            Ok(())
        );
        assert_eq!(
            check(
                Platform::Paddle,
                &headers,
                PADDLE_BODY,
                &[secret],
                SIGNED_AT + 3_600
            ),
            Err(SignatureError::Stale { age_secs: 3_600 })
        );
        // Stripe's joiner over the same parts is a different MAC.
        let as_stripe = format!("t={SIGNED_AT},v1={PADDLE_MAC}");
        assert_eq!(
            check(
                Platform::Stripe,
                &[("stripe-signature", &as_stripe)],
                PADDLE_BODY,
                &[secret],
                SIGNED_AT
            ),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            check(
                Platform::Paddle,
                &headers,
                PADDLE_BODY,
                &[b"another".as_slice()],
                SIGNED_AT
            ),
            Err(SignatureError::Mismatch)
        );
    }
}
