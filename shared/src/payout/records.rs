//! Payouts and payout runs as stored: one payment per partner and currency with its
//! statement lines, and the run of a period that made them.

use crate::ids::{CampaignId, ConversionId, LineId, PartnerId, PayoutId, PayoutRunId};
use serde::{Deserialize, Serialize};

use super::PayoutDetails;
use crate::clock::Timestamp;
use crate::money::{Currency, Money};

/// Where a payout stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PayoutStatus {
    /// Its lines are still being gathered (a run that stopped part-way resumes here).
    Building,
    /// Created by a run; waiting for the operator to send the money.
    Pending,
    Paid,
    /// The payment did not go through; its lines went back to the partner's balance.
    Failed,
}

impl PayoutStatus {
    pub fn as_str(&self) -> &'static str {
        match self {
            PayoutStatus::Building => "building",
            PayoutStatus::Pending => "pending",
            PayoutStatus::Paid => "paid",
            PayoutStatus::Failed => "failed",
        }
    }
}

/// One payment to one partner in one currency, with its statement's totals.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Payout {
    /// `<run id>:<partner id>:<currency>`, so a rerun finds the same payout.
    pub id: PayoutId,
    pub run_id: PayoutRunId,
    pub partner_id: PartnerId,
    pub partner_name: String,
    pub partner_email: String,
    /// What is paid, what the lines earned before reversals, and what reversals took back.
    #[serde(flatten)]
    pub amounts: PayoutAmounts,
    pub line_count: u32,
    /// How the partner asked to be paid when the run made the payout.
    pub details: Option<PayoutDetails>,
    pub status: PayoutStatus,
    pub created_at: Timestamp,
    #[serde(default)]
    pub settled_at: Option<Timestamp>,
    /// The operator's reference for a paid payout (a transaction id), or why it failed.
    #[serde(default)]
    pub note: Option<String>,
}

/// A statement line: a line as it was paid.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatementLine {
    pub line_id: LineId,
    pub conversion_id: ConversionId,
    pub campaign_id: CampaignId,
    pub level: u8,
    pub amount_minor: i64,
    pub summary: String,
    pub created_at: Timestamp,
}

/// A run of a period: which payouts it made and what it left for later.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PayoutRun {
    /// The period's name: one run per period.
    pub id: PayoutRunId,
    pub period_end: Timestamp,
    pub started_by: String,
    pub created_at: Timestamp,
    pub status: RunStatus,
    pub payouts: u32,
    /// Totals per currency, in minor units.
    pub totals: Vec<(Currency, i64)>,
    /// Partners whose balance stayed below the minimum (or was not positive).
    pub carried_over: u32,
    /// Payouts to partners who have not given payout details.
    pub missing_details: u32,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunStatus {
    Running,
    Complete,
}

/// A payout's money, in its one currency.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PayoutAmounts {
    /// What is paid: `earned + reversed`.
    pub amount: Money,
    pub earned: Money,
    /// What reversals took back (zero or negative).
    pub reversed: Money,
}

impl PayoutAmounts {
    pub fn currency(&self) -> Currency {
        self.amount.currency()
    }
}

/// Stored as it always was: minor units next to `currency`.
#[derive(Serialize, Deserialize)]
struct StoredAmounts {
    currency: Currency,
    amount_minor: i64,
    earned_minor: i64,
    reversed_minor: i64,
}

impl Serialize for PayoutAmounts {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        StoredAmounts {
            currency: self.currency(),
            amount_minor: self.amount.minor(),
            earned_minor: self.earned.minor(),
            reversed_minor: self.reversed.minor(),
        }
        .serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for PayoutAmounts {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = StoredAmounts::deserialize(deserializer)?;
        let of = |minor| Money::from_minor(minor, s.currency);
        Ok(PayoutAmounts {
            amount: of(s.amount_minor),
            earned: of(s.earned_minor),
            reversed: of(s.reversed_minor),
        })
    }
}
