//! The commission engine: from a conversion, the campaign's terms and the converting
//! partner's upline, the commission lines — the partner's own (level 0) and one per paid
//! upline level — each carrying an explanation of its rule, base, rate and level.
//!
//! Pure and deterministic: the same inputs always give the same lines, so a redelivered
//! conversion recomputes identical lines and the store's conditions keep them single.

use crate::ids::{CampaignId, ConversionId, LineId, PartnerId, PayoutId};
use serde::{Deserialize, Serialize};

use rust_decimal::Decimal;

use crate::clock::Timestamp;
use crate::money::{Currency, Money, Percent, format_minor, round_minor, text};
use crate::program::{UplineBase, UplinePlan};
use crate::terms::{
    Cap, CapMetric, CapPeriod, CapUsage, CommissionBase, Terms, TierMetric, TierUsage,
};

mod direct;
mod engine;
mod line;
mod reversal;
mod rules;
mod sale;
mod upline;

use direct::{direct_line, exact_text};
use rules::{disqualification, over_cap, renewal_rule};
use upline::upline_line;

pub use engine::{LineDraft, UplineSeat, compute_lines, compute_lines_in};
pub use line::{CommissionLine, Explanation, LineStatus, Part, Rule, display_amount, line_id};
pub use reversal::reversal_amounts;
pub use sale::{LineItem, Sale, commission_base};

#[cfg(test)]
mod tests;
