//! What the operator does through the admin API: set the program up, define campaigns,
//! approve partners (issuing their API key), create tracking links, mint admin keys.
//!
//! One module per concern; everything is re-exported here, so callers name
//! `usecases::admin::…` whichever module it lives in. The request bodies and views of
//! them all are in `wire`. The imports below serve the modules, which take them with
//! `use super::*`.

mod admin_keys;
mod campaigns;
mod links;
mod partners;
mod program;
mod rates;
mod terms;
#[cfg(test)]
mod tests;
mod views;
mod wire;

pub use admin_keys::*;
pub use campaigns::*;
pub use links::*;
pub use partners::*;
pub use program::*;
pub use rates::*;
pub use terms::*;
pub use views::*;
pub use wire::{
    BaseRequest, BonusesRequest, CampaignRequest, CapRequest, ExchangeRateRequest,
    ExchangeRateView, GroupRequest, LaterRateRequest, LinkRequest, LinkView, NewLink,
    OrderValueRequest, PayoutSettingsRequest, PayoutSettingsView, ProgramRequest, ProgramView,
    QualificationRequest, RecruiterRequest, RecurringRequest, SignupSettingsRequest, TermsRequest,
    TierRequest, UplineRequest,
};

use serde::{Deserialize, Serialize};

use std::collections::BTreeMap;

use crate::campaign::{Campaign, CampaignStatus, parse_allowed_domain, parse_destination};
use crate::conversion::parse_event;
use crate::error::{AppError, FieldErrors};
use crate::ids::{NewApiKey, Principal, base32, new_api_key};
use crate::messages::{EmailRequest, Message};
use crate::money::{Currency, Money, Percent};
use crate::partner::{Partner, PartnerStatus};
use crate::payout::{Cadence, PayoutSettings};
use crate::ports::{Attr, Condition, QueueName, TableError, TxOp};
use crate::program::{
    AttributionPriority, LevelRates, MAX_UPLINE_DEPTH, Program, SkipRule, UplineBase, UplinePlan,
};
use crate::services::Services;
use crate::store::{Store, keys, status_is};
use crate::terms::{
    Bonuses, Cap, CapMetric, CapPeriod, CommissionBase, ItemRates, LaterRate, OrderValueBonus,
    Qualification, Recurring, Terms, Tier, TierMetric,
};
use crate::tracking::Link;
use crate::usecases::input::DecimalText;
