//! The Table port: an ordered key-value table in the shape of a DynamoDB single table.
//!
//! Items live under a (partition key, sort key) pair and carry named attributes that are
//! either strings or integers. Two secondary indexes are available by convention: an item
//! with `gsi1pk`/`gsi1sk` (`gsi2pk`/`gsi2sk`, `gsi3pk`/`gsi3sk`) attributes appears in that
//! index; an item without them is simply not in it (a sparse index). Sort
//! keys and index keys order as UTF-8 bytes, as DynamoDB orders strings.
//!
//! Semantics every adapter must share (the conformance suite checks them):
//! - `get` and base-table `query` read the latest committed write; index queries may lag
//!   on DynamoDB, so no correctness decision is taken on an index read.
//! - A failed condition changes nothing and is reported as [`TableError::ConditionFailed`];
//!   a cancelled transaction changes nothing and names which operations failed.
//! - An `Update` creates the item if it is missing (like DynamoDB's `UpdateItem`).
//! - The `ttl` attribute (seconds since the epoch) marks an item for eventual deletion; it
//!   is not a read filter, because DynamoDB does not filter either.

use std::collections::BTreeMap;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use super::QueueName;

/// An attribute value: a string or an integer (DynamoDB `S` and `N`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Attr {
    S(String),
    N(i64),
}

impl Attr {
    pub fn as_s(&self) -> Option<&str> {
        match self {
            Attr::S(s) => Some(s),
            Attr::N(_) => None,
        }
    }

    pub fn as_n(&self) -> Option<i64> {
        match self {
            Attr::N(n) => Some(*n),
            Attr::S(_) => None,
        }
    }
}

impl From<&str> for Attr {
    fn from(s: &str) -> Self {
        Attr::S(s.to_string())
    }
}

impl From<String> for Attr {
    fn from(s: String) -> Self {
        Attr::S(s)
    }
}

impl From<i64> for Attr {
    fn from(n: i64) -> Self {
        Attr::N(n)
    }
}

/// The primary key of an item.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Key {
    pub pk: String,
    pub sk: String,
}

impl Key {
    pub fn new(pk: impl Into<String>, sk: impl Into<String>) -> Self {
        Key {
            pk: pk.into(),
            sk: sk.into(),
        }
    }
}

/// An item: its key and its other attributes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Item {
    pub key: Key,
    pub attrs: BTreeMap<String, Attr>,
}

impl Item {
    pub fn new(key: Key) -> Self {
        Item {
            key,
            attrs: BTreeMap::new(),
        }
    }

    pub fn with(mut self, name: &str, value: impl Into<Attr>) -> Self {
        self.attrs.insert(name.to_string(), value.into());
        self
    }

    pub fn s(&self, name: &str) -> Option<&str> {
        self.attrs.get(name).and_then(Attr::as_s)
    }

    pub fn n(&self, name: &str) -> Option<i64> {
        self.attrs.get(name).and_then(Attr::as_n)
    }

    /// The index key (partition, sort) this item has in `index`, if any.
    pub fn index_key(&self, index: Index) -> Option<(&str, &str)> {
        let (p, s) = index.attribute_names()?;
        Some((self.s(p)?, self.s(s)?))
    }
}

/// Which ordering to query: the table itself or a secondary index.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Index {
    Primary,
    Gsi1,
    Gsi2,
    Gsi3,
}

impl Index {
    pub const SECONDARY: [Index; 3] = [Index::Gsi1, Index::Gsi2, Index::Gsi3];

    /// The attributes holding this index's partition and sort key.
    pub fn attribute_names(&self) -> Option<(&'static str, &'static str)> {
        match self {
            Index::Primary => None,
            Index::Gsi1 => Some(("gsi1pk", "gsi1sk")),
            Index::Gsi2 => Some(("gsi2pk", "gsi2sk")),
            Index::Gsi3 => Some(("gsi3pk", "gsi3sk")),
        }
    }

    pub fn name(&self) -> &'static str {
        match self {
            Index::Primary => "primary",
            Index::Gsi1 => "gsi1",
            Index::Gsi2 => "gsi2",
            Index::Gsi3 => "gsi3",
        }
    }
}

/// Which sort keys of a partition a query returns.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SortKeyCondition {
    All,
    BeginsWith(String),
    /// Inclusive at both ends, like DynamoDB's `BETWEEN`.
    Between(String, String),
}

impl SortKeyCondition {
    pub fn matches(&self, sk: &str) -> bool {
        match self {
            SortKeyCondition::All => true,
            SortKeyCondition::BeginsWith(p) => sk.starts_with(p.as_str()),
            SortKeyCondition::Between(a, b) => a.as_str() <= sk && sk <= b.as_str(),
        }
    }
}

/// A page of query results. `next` is an opaque cursor to pass back for the following page.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Page {
    pub items: Vec<Item>,
    pub next: Option<String>,
}

/// A guard on a write, evaluated against the item as it is before the write.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Condition {
    None,
    NotExists,
    Exists,
    /// The item exists and the attribute has exactly this value.
    AttrEquals(String, Attr),
    /// The item exists and the integer attribute is below this value.
    AttrLessThan(String, i64),
    /// The attribute is absent (also when the item is).
    AttrMissing(String),
    /// At least one of these holds (none given: never holds).
    Any(Vec<Condition>),
    /// Every one of these holds (none given: always holds).
    All(Vec<Condition>),
}

/// An update of one item: integer attributes added to (missing counts as 0) and attributes
/// set. Creates the item if it does not exist.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Update {
    pub add: Vec<(String, i64)>,
    pub set: Vec<(String, Attr)>,
}

impl Update {
    pub fn add(mut self, name: &str, delta: i64) -> Self {
        self.add.push((name.to_string(), delta));
        self
    }

    pub fn set(mut self, name: &str, value: impl Into<Attr>) -> Self {
        self.set.push((name.to_string(), value.into()));
        self
    }
}

/// One operation of a transaction. No two operations may name the same key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TxOp {
    Put(Item, Condition),
    Update(Key, Update, Condition),
    Delete(Key, Condition),
    Check(Key, Condition),
}

impl TxOp {
    pub fn key(&self) -> &Key {
        match self {
            TxOp::Put(item, _) => &item.key,
            TxOp::Update(k, _, _) | TxOp::Delete(k, _) | TxOp::Check(k, _) => k,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TableError {
    #[error("condition failed")]
    ConditionFailed,
    /// One flag per operation, in order: `true` where that operation's condition failed.
    #[error("transaction cancelled by a condition")]
    TransactionCancelled { failed: Vec<bool> },
    /// Another writer raced this transaction; trying again may succeed.
    #[error("transaction conflict")]
    TransactionConflict,
    #[error("throttled by the table")]
    Throttled,
    #[error("invalid request: {0}")]
    Invalid(String),
    /// A paging cursor this table never returned (mangled, or from another listing).
    #[error("not a cursor this table returned")]
    BadCursor,
    #[error("table unavailable: {0}")]
    Unavailable(String),
}

/// The most operations one transaction may hold (DynamoDB's limit).
pub const MAX_TRANSACTION_OPS: usize = 100;

#[async_trait]
pub trait Table: Send + Sync {
    async fn get(&self, key: &Key) -> Result<Option<Item>, TableError>;

    /// Items of one partition of `index`, in sort-key order (reversed when `forward` is
    /// false), at most `limit`, continuing after `cursor` when given.
    async fn query(
        &self,
        index: Index,
        partition: &str,
        condition: &SortKeyCondition,
        forward: bool,
        limit: usize,
        cursor: Option<&str>,
    ) -> Result<Page, TableError>;

    async fn put(&self, item: Item, condition: Condition) -> Result<(), TableError>;

    /// Applies the update and returns the item as it is afterwards.
    async fn update(
        &self,
        key: &Key,
        update: Update,
        condition: Condition,
    ) -> Result<Item, TableError>;

    async fn delete(&self, key: &Key, condition: Condition) -> Result<(), TableError>;

    /// All operations or none.
    async fn transact(&self, ops: Vec<TxOp>) -> Result<(), TableError>;

    /// [`Table::transact`], with `bodies` for `queue` announcing the change. A table that
    /// keeps the queue in its own database (the embedded store) writes them in the same
    /// commit, as the transaction's outbox rows: all or nothing, and one commit to wait for
    /// instead of two. Any other table transacts and hands the bodies back, for the caller
    /// to send once the change is stored. Returns the bodies still to send.
    ///
    /// So a deployment whose table sends in its own commit must read its queues from that
    /// same store (the local host and the embedded test worlds do): an embedded table
    /// beside another queue would leave these messages where no consumer looks.
    async fn transact_announcing(
        &self,
        ops: Vec<TxOp>,
        queue: QueueName,
        bodies: Vec<String>,
    ) -> Result<Vec<String>, TableError> {
        let _ = queue;
        self.transact(ops).await?;
        Ok(bodies)
    }

    /// The most operations one [`Table::transact`] takes here: DynamoDB's 100 unless the
    /// adapter can take more. Writers that batch (the click recorder) fill transactions up
    /// to it, so a store without DynamoDB's limit commits a batch in one go.
    fn transaction_limit(&self) -> usize {
        MAX_TRANSACTION_OPS
    }
}

/// The request rules every adapter enforces the same way, before touching storage: a
/// query asks for at least one item; a transaction holds 1 to `limit` (the adapter's
/// [`Table::transaction_limit`]) operations on distinct items.
pub fn check_query_limit(limit: usize) -> Result<(), TableError> {
    if limit == 0 {
        return Err(TableError::Invalid("limit must be at least 1".into()));
    }
    Ok(())
}

pub fn check_transaction(ops: &[TxOp], limit: usize) -> Result<(), TableError> {
    if ops.is_empty() || ops.len() > limit {
        return Err(TableError::Invalid(format!(
            "a transaction holds 1 to {limit} operations, got {}",
            ops.len()
        )));
    }
    let mut seen = std::collections::HashSet::new();
    if !ops.iter().all(|op| seen.insert(op.key())) {
        return Err(TableError::Invalid(
            "a transaction names the same item twice".into(),
        ));
    }
    Ok(())
}

/// Whether `condition` holds for `current` (the item as stored, if any). Adapters that
/// evaluate conditions themselves use this so the rule is written once.
pub fn condition_holds(condition: &Condition, current: Option<&Item>) -> bool {
    match condition {
        Condition::None => true,
        Condition::NotExists => current.is_none(),
        Condition::Exists => current.is_some(),
        Condition::AttrEquals(name, value) => {
            current.and_then(|i| i.attrs.get(name)) == Some(value)
        }
        Condition::AttrLessThan(name, bound) => {
            current.and_then(|i| i.n(name)).is_some_and(|n| n < *bound)
        }
        Condition::AttrMissing(name) => current.is_none_or(|i| !i.attrs.contains_key(name)),
        Condition::Any(options) => options.iter().any(|c| condition_holds(c, current)),
        Condition::All(options) => options.iter().all(|c| condition_holds(c, current)),
    }
}

/// Applies `update` to `current`, creating the item under `key` when missing.
pub fn apply_update(key: &Key, current: Option<Item>, update: &Update) -> Result<Item, TableError> {
    let mut item = current.unwrap_or_else(|| Item::new(key.clone()));
    for (name, delta) in &update.add {
        let now = match item.attrs.get(name) {
            None => 0,
            Some(Attr::N(n)) => *n,
            Some(Attr::S(_)) => {
                return Err(TableError::Invalid(format!(
                    "cannot add to string attribute {name}"
                )));
            }
        };
        let next = now
            .checked_add(*delta)
            .ok_or_else(|| TableError::Invalid(format!("counter {name} overflows")))?;
        item.attrs.insert(name.clone(), Attr::N(next));
    }
    for (name, value) in &update.set {
        item.attrs.insert(name.clone(), value.clone());
    }
    Ok(item)
}
