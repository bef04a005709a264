//! Tracking records: links (a short code per partner × campaign) and clicks as the
//! redirect reports them. Conversions are in [`crate::conversion`].

use std::collections::BTreeMap;

use crate::ids::{CampaignId, LinkCode, PartnerId};
use serde::{Deserialize, Serialize};

use crate::clock::Timestamp;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Link {
    pub code: LinkCode,
    pub partner_id: PartnerId,
    pub campaign_id: CampaignId,
    pub created_at: Timestamp,
}

/// A click as the redirect saw it. Carries no IP address, only a keyed hash of it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Click {
    pub click_id: String,
    pub link_code: LinkCode,
    pub partner_id: PartnerId,
    pub campaign_id: CampaignId,
    pub at: Timestamp,
    pub ip_hash: Option<String>,
    pub user_agent: Option<String>,
    /// The partner's own tracking values, `sub1`..`sub5`, as the link carried them.
    #[serde(default)]
    pub subs: BTreeMap<String, String>,
    /// What kind of traffic this was: a visit, a bot, a visitor targeting turned away, an
    /// impression.
    #[serde(default)]
    pub traffic: Traffic,
    /// The visitor's country, device type and OS, as far as the request told.
    #[serde(default)]
    pub country: Option<String>,
    #[serde(default)]
    pub device: Option<crate::visitor::Device>,
    #[serde(default)]
    pub os: Option<crate::visitor::Os>,
}

/// How a tracked request is counted.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Traffic {
    /// A person following the link: a gross click, and unique unless the same visitor
    /// clicked the same link in the last 24 hours.
    #[default]
    Visit,
    /// Redirected but not a click: crawlers, link previews, HEAD requests.
    Bot { reason: String },
    /// A person targeting turned away to the fallback URL.
    Rejected {
        reason: crate::targeting::RejectReason,
    },
    /// The partner's banner or pixel was shown.
    Impression,
}

/// The sub-id parameters a link may carry.
pub const SUB_IDS: [&str; 5] = ["sub1", "sub2", "sub3", "sub4", "sub5"];

/// Keeps the sub-ids worth keeping: at most 100 printable characters each. A bad value is
/// dropped rather than failing the redirect.
pub fn parse_subs<'a>(query: impl Iterator<Item = (&'a str, &'a str)>) -> BTreeMap<String, String> {
    query
        .filter(|(k, _)| SUB_IDS.contains(k))
        .filter(|(_, v)| {
            !v.is_empty() && v.chars().count() <= 100 && !v.chars().any(char::is_control)
        })
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}
