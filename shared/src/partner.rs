//! Partners: who promotes the program, what kind of partner they are, where they stand,
//! and who recruited them (their upline).

use crate::error::Invalid;
use std::collections::BTreeMap;
use std::fmt;

use crate::ids::PartnerId;
use serde::{Deserialize, Serialize};

use crate::clock::Timestamp;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Partner {
    pub id: PartnerId,
    pub email: String,
    pub name: String,
    pub kind: PartnerKind,
    pub status: PartnerStatus,
    /// The partner who recruited this one; the first step of the upline.
    pub recruited_by: Option<PartnerId>,
    /// The code others give as `referred_by` to join under this partner.
    pub referral_code: String,
    /// A group the operator puts partners in for shared terms (`gold`, `resellers-eu`).
    #[serde(default)]
    pub group: Option<String>,
    /// How the partner wants to be paid; a payout run copies it into each payout.
    #[serde(default)]
    pub payout_details: Option<crate::payout::PayoutDetails>,
    /// The answers to the program's own signup questions, by field name.
    #[serde(default)]
    pub fields: BTreeMap<String, serde_json::Value>,
    /// Why the partner was rejected or suspended, as the operator put it.
    #[serde(default)]
    pub status_reason: Option<String>,
    #[serde(default)]
    pub notifications: NotificationPrefs,
    /// Proves an unsubscribe link came from one of this partner's emails.
    #[serde(default)]
    pub unsubscribe_token: String,
    /// The hash of the partner's current API key, so rotating it can revoke the old one.
    #[serde(default)]
    pub api_key_hash: Option<String>,
    /// Every change of status, oldest first (the audit log says who made it). Partners
    /// from before it was kept start theirs at their next change.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub status_history: Vec<StatusChange>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// One change of a partner's status: to what, why (as the partner was told), when.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusChange {
    pub status: PartnerStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    pub at: Timestamp,
}

/// Which notification emails a partner wants. Account and money emails (approval,
/// rejection, payout statements) are not notifications and are always sent.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NotificationPrefs {
    /// An email for every new conversion: opt-in, busy partners get many.
    #[serde(default)]
    pub new_conversion: bool,
    #[serde(default = "yes")]
    pub commission_approved: bool,
    /// Set by the unsubscribe link: no notification emails at all.
    #[serde(default)]
    pub unsubscribed: bool,
}

fn yes() -> bool {
    true
}

impl Default for NotificationPrefs {
    fn default() -> Self {
        NotificationPrefs {
            new_conversion: false,
            commission_approved: true,
            unsubscribed: false,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PartnerKind {
    Affiliate,
    Referral,
    Influencer,
    Reseller,
    IntroducingBroker,
}

impl PartnerKind {
    pub const ALL: [PartnerKind; 5] = [
        PartnerKind::Affiliate,
        PartnerKind::Referral,
        PartnerKind::Influencer,
        PartnerKind::Reseller,
        PartnerKind::IntroducingBroker,
    ];

    pub fn as_str(&self) -> &'static str {
        match self {
            PartnerKind::Affiliate => "affiliate",
            PartnerKind::Referral => "referral",
            PartnerKind::Influencer => "influencer",
            PartnerKind::Reseller => "reseller",
            PartnerKind::IntroducingBroker => "introducing_broker",
        }
    }

    pub fn parse(text: &str) -> Result<Self, Invalid> {
        PartnerKind::ALL
            .into_iter()
            .find(|k| k.as_str() == text)
            .ok_or_else(|| {
                let names: Vec<_> = PartnerKind::ALL.iter().map(|k| k.as_str()).collect();
                Invalid(format!("must be one of {}, got {text:?}", names.join(", ")))
            })
    }
}

/// A move the partner lifecycle does not have (approving a suspended partner, suspending
/// a pending one), in words for the operator who tried it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct IllegalTransition(pub String);

/// The partner lifecycle: pending → approved or rejected; approved ⇄ suspended. Each move
/// records its reason (or clears it) and when it happened, and refuses from any other
/// status; the caller stores the partner on the condition that the status it read is
/// still the stored one.
impl Partner {
    pub fn approve(&mut self, at: Timestamp) -> Result<PartnerStatus, IllegalTransition> {
        if self.status != PartnerStatus::Pending {
            return Err(IllegalTransition(format!(
                "the partner is {}, only pending partners can be approved",
                self.status
            )));
        }
        Ok(self.set_status(PartnerStatus::Approved, None, at))
    }

    pub fn reject(
        &mut self,
        reason: String,
        at: Timestamp,
    ) -> Result<PartnerStatus, IllegalTransition> {
        self.move_to(
            &[PartnerStatus::Pending],
            PartnerStatus::Rejected,
            Some(reason),
            at,
        )
    }

    pub fn suspend(
        &mut self,
        reason: String,
        at: Timestamp,
    ) -> Result<PartnerStatus, IllegalTransition> {
        self.move_to(
            &[PartnerStatus::Approved],
            PartnerStatus::Suspended,
            Some(reason),
            at,
        )
    }

    pub fn reinstate(&mut self, at: Timestamp) -> Result<PartnerStatus, IllegalTransition> {
        self.move_to(
            &[PartnerStatus::Suspended],
            PartnerStatus::Approved,
            None,
            at,
        )
    }

    fn move_to(
        &mut self,
        from: &[PartnerStatus],
        to: PartnerStatus,
        reason: Option<String>,
        at: Timestamp,
    ) -> Result<PartnerStatus, IllegalTransition> {
        if !from.contains(&self.status) {
            let allowed: Vec<&str> = from.iter().map(PartnerStatus::as_str).collect();
            return Err(IllegalTransition(format!(
                "the partner is {}; only {} partners can become {}",
                self.status,
                allowed.join(" or "),
                to
            )));
        }
        Ok(self.set_status(to, reason, at))
    }

    /// The status before.
    fn set_status(
        &mut self,
        to: PartnerStatus,
        reason: Option<String>,
        at: Timestamp,
    ) -> PartnerStatus {
        let before = self.status;
        self.status = to;
        self.status_history.push(StatusChange {
            status: to,
            reason: reason.clone(),
            at,
        });
        self.status_reason = reason;
        self.updated_at = at;
        before
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PartnerStatus {
    Pending,
    Approved,
    Rejected,
    Suspended,
}

impl PartnerStatus {
    pub fn as_str(&self) -> &'static str {
        match self {
            PartnerStatus::Pending => "pending",
            PartnerStatus::Approved => "approved",
            PartnerStatus::Rejected => "rejected",
            PartnerStatus::Suspended => "suspended",
        }
    }
}

impl fmt::Display for PartnerStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An email address by RFC 5322's syntax (the `email_address` crate), narrowed to what a
/// mailbox people type looks like: a plain local part (no quotes, so `a,b@example.com`
/// cannot pass as one address), a dotted domain name (no IP literal), no display name.
/// Deliverability is proven by the application email, not by syntax.
pub fn parse_email(text: &str) -> Result<String, Invalid> {
    let email = text.trim().to_ascii_lowercase();
    let options = email_address::Options {
        minimum_sub_domains: 2,
        allow_domain_literal: false,
        allow_display_text: false,
        allow_long_local_parts: false,
    };
    let ok = email.len() <= 254
        && !email.starts_with('"')
        && !email.chars().any(|c| c.is_whitespace() || c.is_control())
        && email_address::EmailAddress::parse_with_options(&email, options).is_ok();
    if ok {
        Ok(email)
    } else {
        Err(Invalid(format!("{text:?} is not an email address")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn email_addresses_are_normalised_and_checked() {
        assert_eq!(parse_email(" Ann@Example.COM ").unwrap(), "ann@example.com");
        for bad in [
            "",
            "ann",
            "ann@",
            "@x.com",
            "ann@x",
            "a b@x.com",
            "a@b@c.com",
            "a@.com",
            "a,b@example.com",
            "\"a,b\"@example.com",
            "Ann <ann@example.com>",
            "ann@[127.0.0.1]",
            "ann@example..com",
            "ann.@example.com",
        ] {
            assert!(parse_email(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn partner_kinds_parse_from_their_api_names() {
        assert_eq!(
            PartnerKind::parse("introducing_broker"),
            Ok(PartnerKind::IntroducingBroker)
        );
        assert!(
            PartnerKind::parse("Affiliate")
                .unwrap_err()
                .contains("must be one of")
        );
    }

    fn partner(status: PartnerStatus) -> Partner {
        Partner {
            id: "p-1".into(),
            email: "ada@example.com".into(),
            name: "Ada".into(),
            kind: PartnerKind::Affiliate,
            status,
            recruited_by: None,
            referral_code: "k3x9".into(),
            group: None,
            payout_details: None,
            fields: BTreeMap::new(),
            status_reason: Some("earlier".into()),
            notifications: NotificationPrefs::default(),
            unsubscribe_token: String::new(),
            api_key_hash: None,
            status_history: Vec::new(),
            created_at: Timestamp(0),
            updated_at: Timestamp(0),
        }
    }

    #[test]
    fn the_lifecycle_has_its_moves_and_no_others() {
        use PartnerStatus::*;
        let at = Timestamp(5);
        type Move = fn(&mut Partner, Timestamp) -> Result<PartnerStatus, IllegalTransition>;
        let moves: [(&str, Move, PartnerStatus, &[PartnerStatus]); 4] = [
            ("approve", |p, at| p.approve(at), Approved, &[Pending]),
            (
                "reject",
                |p, at| p.reject("no".into(), at),
                Rejected,
                &[Pending],
            ),
            (
                "suspend",
                |p, at| p.suspend("no".into(), at),
                Suspended,
                &[Approved],
            ),
            ("reinstate", |p, at| p.reinstate(at), Approved, &[Suspended]),
        ];
        for (name, step, to, legal) in moves {
            for from in [Pending, Approved, Rejected, Suspended] {
                let mut p = partner(from);
                match step(&mut p, at) {
                    Ok(before) => {
                        assert!(legal.contains(&from), "{name} from {from} allowed");
                        assert_eq!((before, p.status, p.updated_at), (from, to, at));
                    }
                    Err(e) => {
                        assert!(!legal.contains(&from), "{name} from {from} refused: {e}");
                        assert_eq!(p, partner(from), "a refused move changes nothing");
                        assert!(e.0.starts_with(&format!("the partner is {from}")), "{e}");
                    }
                }
            }
        }
        // A reason is kept with the moves that take one, cleared by the others.
        let mut p = partner(Approved);
        p.suspend("brand bidding".into(), at).unwrap();
        assert_eq!(p.status_reason.as_deref(), Some("brand bidding"));
        p.reinstate(at).unwrap();
        assert_eq!(p.status_reason, None);
    }
}
