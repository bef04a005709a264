//! Connected stores: Shopify, WooCommerce, Stripe and Paddle sending their own webhooks.
//! The operator connects a store (`admin`); the receiver (`receive`) checks a delivery's
//! signature over its raw bytes, reads it with the platform's reader
//! (`crate::storefronts`), records orders through the postback use case (`orders`) and
//! money taken back through the refund use case (`takeback`), once per delivery and once
//! per order, and keeps a log of every delivery (ids and reasons, never customer data).

mod admin;
mod orders;
mod receive;
mod takeback;
mod wire;

pub use admin::{connect, deliveries, disconnect, find, fingerprints, list, require};
pub use receive::receive;
pub use wire::{Action, DeliveryRecord, Outcome, Receipt, StoreView};

use crate::error::AppError;
use crate::ids::StoreId;
use crate::money::format_minor;
use crate::ports::{Condition, Index, SortKeyCondition};
use crate::services::Services;
use crate::store::{PageOf, PageQuery, decode, encode, keys};
use crate::storefronts::store::{SECRET_PURPOSE, SecretsChange};
use crate::storefronts::{ConnectedStore, Platform, StoreEvent, StoreOrder, StoreSpec};
use crate::usecases::input::{DecimalText, IdText};
