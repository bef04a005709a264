//! Storefront postbacks: a sale (or other event) reported server to server becomes a
//! conversion, stored exactly once per campaign and order id, then handed to the payout
//! stage. The answer is 2xx only once the conversion is durably stored.
//!
//! One module per step, re-exported here under the same paths; the request and the views
//! are in `wire`.

mod attribution;
mod command;
mod parse;
mod record;
mod sweep;
mod wire;

use attribution::*;
use command::*;
pub use parse::*;
pub use record::*;
pub use sweep::*;
pub use wire::{ConversionView, LineItemRequest, LineItemView, PostbackOutcome, PostbackRequest};

use serde::{Deserialize, Serialize};

use crate::click_id::{self, ClickIdError};
use crate::clock::Timestamp;
use crate::commission::LineItem;
use crate::conversion::{
    Attribution, Conversion, ConversionAmounts, ConversionStatus, OriginalAmount, Subscription,
    SubscriptionPayment, months_between, parse_event, parse_order_id,
};
use crate::error::{AppError, FieldErrors};
use crate::messages::Message;
use crate::money::{Currency, ExchangeRate, MAX_AMOUNT_MINOR, Money, format_minor};
use crate::ports::TxOp;
use crate::ports::{Condition, QueueName, TableError};
use crate::program::AttributionPriority;
use crate::services::Services;
use crate::store::{Store, keys};
use crate::store::{decode, encode};
use crate::usecases::admin::require_program;
use crate::usecases::input::{DecimalText, IdText};
use crate::usecases::promo_codes::{self, PromoCode};
