//! The JSON shapes of partner signup, in one place: the application as the public form
//! sends it, parsed at the edge (`signup`) into a pending partner, and the partner as
//! the API renders it.

use serde::{Deserialize, Serialize};

use crate::ids::PartnerId;
use crate::partner::{Partner, PartnerKind, PartnerStatus};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignupRequest {
    pub email: Option<String>,
    pub name: Option<String>,
    #[serde(rename = "type")]
    pub kind: Option<String>,
    pub referred_by: Option<String>,
    /// Answers to the program's own signup questions, by field name.
    pub fields: Option<std::collections::BTreeMap<String, serde_json::Value>>,
}

#[derive(Debug, Serialize)]
pub struct PartnerView {
    pub id: PartnerId,
    pub email: String,
    pub name: String,
    #[serde(rename = "type")]
    pub kind: PartnerKind,
    pub status: PartnerStatus,
    pub referral_code: String,
    pub recruited_by: Option<PartnerId>,
    pub group: Option<String>,
    pub fields: std::collections::BTreeMap<String, serde_json::Value>,
    /// Why the partner was rejected or suspended.
    pub status_reason: Option<String>,
    pub created_at: String,
}

impl PartnerView {
    pub fn of(p: &Partner) -> Self {
        PartnerView {
            id: p.id.clone(),
            email: p.email.clone(),
            name: p.name.clone(),
            kind: p.kind,
            status: p.status,
            referral_code: p.referral_code.clone(),
            recruited_by: p.recruited_by.clone(),
            group: p.group.clone(),
            fields: p.fields.clone(),
            status_reason: p.status_reason.clone(),
            created_at: p.created_at.to_rfc3339(),
        }
    }
}
