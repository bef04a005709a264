//! The public URLs Upline hands out (in API answers and in emails): tracking links, the
//! partner area, the one-click unsubscribe link. This is the one place that knows their
//! paths; use cases and views ask here instead of formatting routes themselves.

use crate::ids::LinkCode;
use crate::partner::Partner;

/// A tracking link: `{base}/r/{code}`, which counts the click and redirects.
pub fn link_url(base: &str, code: &LinkCode) -> String {
    format!("{base}/r/{code}")
}

/// The partner area: `{base}/v1/me`.
pub fn partner_area_url(base: &str) -> String {
    format!("{base}/v1/me")
}

/// The partner portal: `{base}/portal`.
pub fn portal_url(base: &str) -> String {
    format!("{}/portal", base.trim_end_matches('/'))
}

/// The portal's application page with the recruiter's referral code filled in:
/// `{base}/portal/join?ref={code}`.
pub fn portal_join_url(base: &str, referral_code: &str) -> String {
    format!(
        "{}/join?ref={}",
        portal_url(base),
        percent_encoding::utf8_percent_encode(referral_code, percent_encoding::NON_ALPHANUMERIC)
    )
}

/// An emailed sign-in link to the partner portal: `{base}/portal/auth?token={token}`
/// (tokens are base32, safe in a query as they are).
pub fn portal_sign_in_url(base: &str, token: &str) -> String {
    format!("{}/auth?token={token}", portal_url(base))
}

/// An emailed sign-in link to the operator console: `{base}/console/auth?token={token}`.
pub fn console_sign_in_url(base: &str, token: &str) -> String {
    format!("{}/console/auth?token={token}", base.trim_end_matches('/'))
}

/// Where a connected store's platform sends its webhooks:
/// `{base}/v1/stores/{id}/webhook`.
pub fn store_webhook_url(base: &str, store: &crate::ids::StoreId) -> String {
    format!("{}/v1/stores/{store}/webhook", base.trim_end_matches('/'))
}

/// The one-click unsubscribe address of a partner's notifications:
/// `{base}/v1/unsubscribe?partner={id}&token={token}`, the id percent-encoded and a
/// trailing `/` of `base` dropped.
pub fn unsubscribe_url(base: &str, partner: &Partner) -> String {
    format!(
        "{}/v1/unsubscribe?partner={}&token={}",
        base.trim_end_matches('/'),
        percent_encoding::utf8_percent_encode(&partner.id, percent_encoding::NON_ALPHANUMERIC),
        partner.unsubscribe_token
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::Timestamp;
    use crate::partner::{NotificationPrefs, PartnerKind, PartnerStatus};

    #[test]
    fn each_url_has_its_path() {
        let base = "https://go.example.com";
        assert_eq!(
            link_url(base, &LinkCode::new("k3x9a".to_string())),
            "https://go.example.com/r/k3x9a"
        );
        assert_eq!(partner_area_url(base), "https://go.example.com/v1/me");
        let partner = Partner {
            id: "p 1/ü".into(),
            email: "ada@example.com".into(),
            name: "Ada".into(),
            kind: PartnerKind::Affiliate,
            status: PartnerStatus::Approved,
            recruited_by: None,
            referral_code: "k3x9".into(),
            group: None,
            payout_details: None,
            fields: Default::default(),
            status_reason: None,
            notifications: NotificationPrefs::default(),
            unsubscribe_token: "tok".into(),
            api_key_hash: None,
            status_history: Vec::new(),
            created_at: Timestamp(0),
            updated_at: Timestamp(0),
        };
        let want = "https://go.example.com/v1/unsubscribe?partner=p%201%2F%C3%BC&token=tok";
        assert_eq!(unsubscribe_url(base, &partner), want);
        assert_eq!(unsubscribe_url(&format!("{base}/"), &partner), want);
    }
}
