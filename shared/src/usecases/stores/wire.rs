//! The JSON shapes of stores: the store as the admin API shows it (never its secrets),
//! the receiver's answer to a delivery, and the delivery log's entries.

use serde::{Deserialize, Serialize};

use crate::ids::{CampaignId, ConversionId, StoreId};
use crate::storefronts::{ConnectedStore, Platform, StoreOptions};

/// A store as the admin API shows it: where to point the platform, and fingerprints of
/// its secrets instead of the secrets.
#[derive(Debug, Serialize)]
pub struct StoreView {
    pub id: StoreId,
    pub platform: Platform,
    pub campaign_id: CampaignId,
    /// The address to paste into the platform's webhook settings.
    pub webhook_url: String,
    /// A keyed fingerprint per secret, newest first (two while rotating).
    pub secret_fingerprints: Vec<String>,
    #[serde(flatten)]
    pub options: StoreOptions,
    pub created_at: String,
    pub updated_at: String,
}

impl StoreView {
    pub fn of(store: &ConnectedStore, base: &str, fingerprints: Vec<String>) -> Self {
        StoreView {
            id: store.id.clone(),
            platform: store.platform,
            campaign_id: store.campaign_id.clone(),
            webhook_url: crate::public_urls::store_webhook_url(base, &store.id),
            secret_fingerprints: fingerprints,
            options: store.options.clone(),
            created_at: store.created_at.to_rfc3339(),
            updated_at: store.updated_at.to_rfc3339(),
        }
    }
}

/// What the receiver did with a delivery.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// A new conversion was recorded.
    Recorded,
    /// The delivery, or the order it reports, was already recorded.
    Duplicate,
    /// Part of a sale was given back: its commission lines were partly reversed.
    Refunded,
    /// Everything left of a sale was taken back (cancelled, refunded in full, lost
    /// dispute).
    Reversed,
    /// A dispute was opened: the sale's pending commission is held.
    Held,
    /// A dispute closed in the merchant's favour: the hold ended.
    Released,
    /// Nothing to do; the reason says why.
    Ignored,
    /// A sale nobody can be credited for; the reason says what was tried.
    Unattributed,
}

impl Outcome {
    pub fn as_str(&self) -> &'static str {
        match self {
            Outcome::Recorded => "recorded",
            Outcome::Duplicate => "duplicate",
            Outcome::Refunded => "refunded",
            Outcome::Reversed => "reversed",
            Outcome::Held => "held",
            Outcome::Released => "released",
            Outcome::Ignored => "ignored",
            Outcome::Unattributed => "unattributed",
        }
    }
}

/// One thing a delivery did.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Action {
    pub outcome: Outcome,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub order_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conversion_id: Option<ConversionId>,
}

impl Action {
    pub fn new(outcome: Outcome) -> Self {
        Action {
            outcome,
            reason: None,
            order_id: None,
            conversion_id: None,
        }
    }

    pub fn because(mut self, reason: impl Into<String>) -> Self {
        self.reason = Some(reason.into());
        self
    }

    pub fn order(mut self, order_id: &str) -> Self {
        self.order_id = Some(order_id.to_string());
        self
    }

    pub fn conversion(mut self, id: &ConversionId) -> Self {
        self.conversion_id = Some(id.clone());
        self
    }
}

/// The receiver's answer: the delivery's outcome (its first action's), and every action
/// when it did more than one thing (a WooCommerce order paid and refunded at once).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Receipt {
    #[serde(flatten)]
    pub first: Action,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub actions: Vec<Action>,
}

impl Receipt {
    pub fn of(mut actions: Vec<Action>) -> Self {
        let first = actions
            .first()
            .cloned()
            .unwrap_or_else(|| Action::new(Outcome::Ignored).because("the delivery said nothing"));
        if actions.len() < 2 {
            actions.clear();
        }
        Receipt { first, actions }
    }

    pub fn outcome(&self) -> Outcome {
        self.first.outcome
    }
}

/// One entry of a store's delivery log: when, what the platform called it, and what was
/// done — ids and reasons only, never the customer's data.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeliveryRecord {
    pub at: String,
    /// The platform's id of the delivery or event, when it sends one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delivery_id: Option<String>,
    /// The topic or event type.
    pub event: String,
    /// `recorded`, `duplicate`, …, or `unreadable` for a body that did not read.
    pub outcome: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub actions: Vec<Action>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub order_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conversion_id: Option<ConversionId>,
}
