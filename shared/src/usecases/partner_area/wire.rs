//! The JSON shapes of the partner area, in one place: what partners send about
//! themselves (payout details, profile, notification choices), parsed at the edge into
//! their partner record, and their downline as the API renders it.

use serde::{Deserialize, Serialize};

// How the partner is paid (`parse_payout_details`).

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PayoutDetailsRequest {
    /// `paypal` or `bank_transfer`.
    pub method: Option<String>,
    /// PayPal: the account's email address.
    pub email: Option<String>,
    /// Bank transfer: the account holder's name, IBAN, optional BIC, and whether the
    /// holder is a `person` (default) or a `business`.
    pub account_holder: Option<String>,
    pub iban: Option<String>,
    pub bic: Option<String>,
    pub receiver_type: Option<String>,
}

// The profile and notification choices (`update_profile`).

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProfileRequest {
    pub name: Option<String>,
    pub notifications: Option<NotificationsRequest>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NotificationsRequest {
    pub new_conversion: Option<bool>,
    pub commission_approved: Option<bool>,
    /// `true` stops every notification; `false` takes an unsubscribe back.
    pub unsubscribed: Option<bool>,
}

// The downline (`downline`).

/// One partner of someone's downline.
#[derive(Debug, Clone, Serialize)]
pub struct DownlineMember {
    pub id: String,
    pub name: String,
    /// 1 for partners the owner recruited, 2 for theirs, …
    pub level: u8,
    pub recruited_by: String,
    pub status: crate::partner::PartnerStatus,
    pub joined_at: String,
    /// What the owner has earned on this partner's conversions (pending and approved
    /// lines, net of reversals), in the program currency.
    pub contribution: String,
}
