//! `GET /v1/postbacks?click_id=…&order_id=…&amount=…&currency=…`: the postback as a URL,
//! the form trackers (RedTrack, Everflow, Trackier) and many shop plugins fire. The same
//! fields as the JSON form, the same answers, idempotency and errors.
//!
//! Authenticated by either
//! - `t=<unix seconds>&sig=<hex HMAC-SHA256(secret, "<t>.<query>")>`, where `<query>` is
//!   the query string exactly as sent with the `sig` parameter taken out — for senders
//!   that can compute a MAC; or
//! - `secret=<postback secret>` — for tools that can only fill in a URL template. The
//!   secret then travels in the URL (and so in the sender's logs); `sig` is preferred.

use upline_domain::usecases::input::{DecimalText, IdText};
use upline_domain::usecases::postback::PostbackRequest;

/// The credentials a postback URL carries, in the terms the JSON form's check takes: a
/// signature header's value and the text it signs, or the secret itself.
pub(crate) struct UrlCredentials {
    pub(crate) signature: Option<String>,
    pub(crate) signed_text: String,
    pub(crate) secret: Option<String>,
}

/// Reads the credentials from the raw query: `sig` (with `t`) or `secret`.
pub(crate) fn credentials(raw_query: &str) -> UrlCredentials {
    let mut sig = None;
    let mut t = None;
    let mut secret = None;
    let mut kept = Vec::new();
    for part in raw_query.split('&').filter(|p| !p.is_empty()) {
        let (name, value) = part.split_once('=').unwrap_or((part, ""));
        let value = decode(value);
        match name {
            "sig" => {
                sig = Some(value);
                continue;
            }
            "t" => t = Some(value),
            "secret" => secret = Some(value),
            _ => {}
        }
        kept.push(part);
    }
    UrlCredentials {
        signature: sig.map(|s| format!("t={},v1={s}", t.unwrap_or_default())),
        signed_text: kept.join("&"),
        secret,
    }
}

fn decode(value: &str) -> String {
    let spaced = value.replace('+', " ");
    percent_encoding::percent_decode_str(&spaced)
        .decode_utf8_lossy()
        .into_owned()
}

/// The query's fields as the postback request; parameters Upline does not know (a
/// tracker's own) are ignored, like unknown JSON fields.
pub(crate) fn request(raw_query: &str) -> PostbackRequest {
    let mut req = PostbackRequest::default();
    for part in raw_query.split('&').filter(|p| !p.is_empty()) {
        let (name, value) = part.split_once('=').unwrap_or((part, ""));
        let value = decode(value);
        // An empty parameter is an unfilled macro: as if it were not sent.
        if value.trim().is_empty() {
            continue;
        }
        match name {
            "click_id" => req.click_id = Some(value),
            "order_id" => req.order_id = Some(IdText(value)),
            "amount" => req.amount = Some(DecimalText(value)),
            "currency" => req.currency = Some(value),
            "event" => req.event = Some(value),
            "discount" => req.discount = Some(DecimalText(value)),
            "tax" => req.tax = Some(DecimalText(value)),
            "shipping" => req.shipping = Some(DecimalText(value)),
            "customer_id" => req.customer_id = Some(IdText(value)),
            "new_customer" => {
                req.new_customer = match value.as_str() {
                    "1" | "true" => Some(true),
                    "0" | "false" => Some(false),
                    _ => None,
                }
            }
            "subscription_id" => req.subscription_id = Some(IdText(value)),
            "promo_code" => req.promo_code = Some(IdText(value)),
            _ => {}
        }
    }
    req
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_signature_covers_the_query_without_itself() {
        let c = credentials(
            "click_id=abc&order_id=A%2F1&amount=10.00&currency=EUR&t=1700000000&sig=ff00",
        );
        assert_eq!(c.signature.as_deref(), Some("t=1700000000,v1=ff00"));
        assert_eq!(
            c.signed_text,
            "click_id=abc&order_id=A%2F1&amount=10.00&currency=EUR&t=1700000000"
        );
        assert_eq!(c.secret, None);
    }

    #[test]
    fn fields_are_decoded_and_unfilled_macros_dropped() {
        let r = request(
            "click_id=abc.def&order_id=A%2F1&amount=10.50&currency=eur&promo_code=&sub1=x&new_customer=1",
        );
        assert_eq!(r.click_id.as_deref(), Some("abc.def"));
        assert_eq!(r.order_id, Some(IdText("A/1".into())));
        assert_eq!(r.amount, Some(DecimalText("10.50".into())));
        assert_eq!(r.promo_code, None);
        assert_eq!(r.new_customer, Some(true));
    }
}
