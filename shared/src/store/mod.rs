//! The single-table data model: every entity's key, its index entries and its mapping to
//! and from a Table item, written once, above the Table port. `docs/data-model.md` lists
//! the same keys with the access pattern each serves.
//!
//! Entities are stored as a JSON `body` attribute plus the few top-level attributes that
//! conditions, counters, indexes and TTL need. Keys are upper-case prefixes joined by `#`.

use crate::error::Cause;
use std::sync::Arc;

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::campaign::Campaign;
use crate::clock::{Day, Timestamp};
use crate::commission::{CommissionLine, LineStatus};
use crate::conversion::Conversion;
use crate::error::AppError;
use crate::ids::Principal;
use crate::money::{Currency, ExchangeRate};
use crate::partner::Partner;
use crate::ports::{
    Attr, Condition, Index, Item, Key, SortKeyCondition, Table, TableError, TxOp, Update,
};
use crate::program::Program;
use crate::secrets::SecretsKey;
use crate::terms::{Terms, TermsSource, TierUsage};
use crate::tracking::{Click, Link};

/// How long raw click records are kept (the TTL); counters keep the totals for good.
pub const CLICK_RETENTION_DAYS: i64 = 90;

mod batch_reads;
mod conversions;
pub mod counters;
pub mod keys;
mod links;
mod listing;
mod partners;
mod program;
mod stats;
mod summaries;

pub use batch_reads::BatchReads;
pub use listing::decode_bucket_cursor;
pub use summaries::{DaySummary, KEEP_SECS, SETTLED_AFTER_DAYS};

/// One (day, campaign, partner) row of counters.
#[derive(Clone, Debug, PartialEq, Eq, Default, Serialize)]
pub struct StatsRow {
    pub day: String,
    pub campaign_id: String,
    pub partner_id: String,
    /// For sub-id rows: `sub1=value`; empty for the main counters.
    pub sub: String,
    pub clicks: i64,
    pub unique_clicks: i64,
    pub bot_clicks: i64,
    pub rejected_clicks: i64,
    pub rejected_country: i64,
    pub rejected_device: i64,
    pub rejected_os: i64,
    pub impressions: i64,
    pub conversions: i64,
    pub revenue_minor: i64,
    pub commission_minor: i64,
}

/// Serialises an entity into an item under `key`.
/// Which page of a listing to read: at most `limit` items, after `cursor` (from the page
/// before) when given.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PageQuery {
    pub limit: usize,
    pub cursor: Option<String>,
}

impl PageQuery {
    pub const DEFAULT_LIMIT: usize = 50;
    pub const MAX_LIMIT: usize = 200;

    /// The first page of `limit` items.
    pub fn first(limit: usize) -> Self {
        PageQuery {
            limit,
            cursor: None,
        }
    }
}

/// One page of a listing and the cursor of the next, if there is one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PageOf<T> {
    pub items: Vec<T>,
    pub next: Option<String>,
}

pub fn encode<T: Serialize>(key: Key, entity: &T) -> Item {
    let body = serde_json::to_string(entity).expect("entities are plain data");
    Item::new(key).with("body", body)
}

/// Reads an entity back from its item's body.
pub fn decode<T: DeserializeOwned>(item: &Item) -> Result<T, AppError> {
    let body = item
        .s("body")
        .ok_or_else(|| AppError::Internal(format!("item {:?} has no body", item.key).into()))?;
    serde_json::from_str(body).map_err(|e| {
        AppError::Internal(Cause::with(
            format!("item {:?} does not decode: {e}", item.key),
            e,
        ))
    })
}

/// Typed access to the table for every entity of the domain.
#[derive(Clone)]
pub struct Store {
    table: Arc<dyn Table>,
    /// Seals and opens the secrets kept in the table; functions that never read a
    /// secret run without it and pass sealed values through untouched.
    secrets: Option<Arc<SecretsKey>>,
    /// During a key rotation, the key values sealed before it still open with.
    previous_secrets: Option<Arc<SecretsKey>>,
    /// Settled days' counters, summed (`summaries.rs`); shared by clones of this store.
    summaries: Arc<summaries::Summaries>,
    /// Whether this process has seen the approval sweep's start recorded
    /// ([`Store::record_sweep_start`]); shared by clones of this store.
    sweep_start_recorded: Arc<std::sync::atomic::AtomicBool>,
}

/// What the program's postback secret is sealed as.
pub const POSTBACK_SECRET_PURPOSE: &str = "program.postback_secret";

impl Store {
    pub fn new(table: Arc<dyn Table>) -> Self {
        Store {
            table,
            secrets: None,
            previous_secrets: None,
            summaries: Arc::default(),
            sweep_start_recorded: Arc::default(),
        }
    }

    /// Records, once, where the approval sweep starts when it has never run: the day
    /// before `today`, so that lines written from now on (decided a moment earlier,
    /// perhaps before midnight) are never older. Without it the first sweep looks a year
    /// back, which on a fresh deployment is 33 index queries a day for a year of empty
    /// days. Called before lines are written; the first call per process reads the
    /// sweep's marker and writes it only if absent (a marker already there is the sweep's
    /// own, and is never moved). Later calls cost nothing.
    pub async fn record_sweep_start(&self, today: Day) -> Result<(), AppError> {
        use std::sync::atomic::Ordering;
        if self.sweep_start_recorded.load(Ordering::Relaxed) {
            return Ok(());
        }
        if self.table.get(&keys::approval_sweep()).await?.is_none() {
            let start = Item::new(keys::approval_sweep())
                .with("approved_through_day", i64::from(today.0) - 2);
            match self.table.put(start, Condition::NotExists).await {
                Ok(()) | Err(TableError::ConditionFailed) => {}
                Err(e) => return Err(e.into()),
            }
        }
        self.sweep_start_recorded.store(true, Ordering::Relaxed);
        Ok(())
    }

    /// This store, also opening values sealed with `key` (the one before a rotation);
    /// every write seals with the current key.
    pub fn with_previous_secrets_key(mut self, key: SecretsKey) -> Self {
        self.previous_secrets = Some(Arc::new(key));
        self
    }

    /// This store over `table` instead, with the same secrets and caches: how a stage
    /// reads through a [`BatchReads`] for one batch.
    pub fn over(&self, table: Arc<dyn Table>) -> Self {
        Store {
            table,
            ..self.clone()
        }
    }

    /// This store, sealing secrets with `key` on write and opening them on read.
    pub fn with_secrets_key(mut self, key: SecretsKey) -> Self {
        self.secrets = Some(Arc::new(key));
        self
    }

    /// A secret as stored: sealed when a key is configured.
    pub fn seal(&self, purpose: &str, plaintext: &str) -> String {
        match &self.secrets {
            Some(key) => key.seal(purpose, plaintext),
            None => plaintext.to_string(),
        }
    }

    /// A hash of `data` for `purpose` that only holders of the secrets key can recompute
    /// (plain SHA-256 where no key is configured).
    pub fn keyed_hash(&self, purpose: &str, data: &str) -> String {
        match &self.secrets {
            Some(key) => key.keyed_hash(purpose, data),
            None => {
                use sha2::{Digest, Sha256};
                let digest = Sha256::new()
                    .chain_update(purpose.as_bytes())
                    .chain_update(b"\0")
                    .chain_update(data.as_bytes())
                    .finalize();
                hex::encode(&digest[..16])
            }
        }
    }

    /// A stored secret's plaintext; sealed values need the key.
    pub fn open(&self, purpose: &str, stored: &str) -> Result<String, AppError> {
        match &self.secrets {
            Some(key) => key
                .open(purpose, stored)
                .or_else(|e| match &self.previous_secrets {
                    Some(previous) => previous.open(purpose, stored),
                    None => Err(e),
                })
                .map_err(|e| AppError::Internal(Cause::of(e))),
            None if crate::secrets::is_sealed(stored) => Err(AppError::Internal(
                crate::secrets::SecretsError::NoKey(purpose.to_string())
                    .to_string()
                    .into(),
            )),
            None => Ok(stored.to_string()),
        }
    }

    pub fn table(&self) -> &Arc<dyn Table> {
        &self.table
    }

    async fn get_entity<T: DeserializeOwned>(&self, key: &Key) -> Result<Option<T>, AppError> {
        match self.table.get(key).await? {
            Some(item) => Ok(Some(decode(&item)?)),
            None => Ok(None),
        }
    }

    /// One page of an index partition, newest first, decoded: what every paged listing
    /// (partners, lines, payouts, runs, deliveries) reads.
    pub async fn page_of<T: DeserializeOwned>(
        &self,
        index: Index,
        partition: &str,
        page: &PageQuery,
    ) -> Result<PageOf<T>, AppError> {
        let found = self
            .table
            .query(
                index,
                partition,
                &SortKeyCondition::All,
                false,
                page.limit,
                page.cursor.as_deref(),
            )
            .await?;
        Ok(PageOf {
            items: found.items.iter().map(decode).collect::<Result<_, _>>()?,
            next: found.next,
        })
    }

    /// Every item of an index partition, following pages (for small partitions only).
    pub async fn query_all(
        &self,
        index: Index,
        partition: &str,
        condition: &SortKeyCondition,
    ) -> Result<Vec<Item>, AppError> {
        let mut out = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let page = self
                .table
                .query(index, partition, condition, true, 500, cursor.as_deref())
                .await?;
            out.extend(page.items);
            match page.next {
                Some(c) => cursor = Some(c),
                None => return Ok(out),
            }
        }
    }
}

fn stats_row(item: &Item) -> StatsRow {
    let s = |n: &str| item.s(n).unwrap_or_default().to_string();
    let n = |n: &str| item.n(n).unwrap_or(0);
    let sub = match (item.s("sub"), item.s("sub_value")) {
        (Some(k), Some(v)) => format!("{k}={v}"),
        _ => String::new(),
    };
    StatsRow {
        day: s("day"),
        campaign_id: s("campaign_id"),
        partner_id: s("partner_id"),
        sub,
        clicks: n(counters::CLICKS),
        unique_clicks: n(counters::UNIQUE_CLICKS),
        bot_clicks: n(counters::BOT_CLICKS),
        rejected_clicks: n(counters::REJECTED_CLICKS),
        rejected_country: n("rejected_country"),
        rejected_device: n("rejected_device"),
        rejected_os: n("rejected_os"),
        impressions: n(counters::IMPRESSIONS),
        conversions: n(counters::CONVERSIONS),
        revenue_minor: n(counters::REVENUE),
        commission_minor: n(counters::COMMISSION),
    }
}

/// Whether a table error is the cancellation of a transaction by one of its conditions.
pub fn cancelled_by_condition(e: &TableError) -> bool {
    matches!(
        e,
        TableError::TransactionCancelled { .. } | TableError::ConditionFailed
    )
}

/// The value of an attribute as a string, for building conditions.
pub fn status_is(status: &str) -> Condition {
    Condition::AttrEquals("status".into(), Attr::S(status.to_string()))
}
