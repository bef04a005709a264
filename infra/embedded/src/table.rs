//! The Table port on redb: items keyed by (pk, sk), the two secondary indexes kept in the
//! same write transaction as the items they point to, conditions evaluated inside that
//! transaction. redb allows one writer at a time, so every write and transaction is
//! serialisable, which is at least as strong as DynamoDB's guarantees.

use std::collections::BTreeMap;
use std::ops::Bound;

use async_trait::async_trait;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use redb::{ReadableTable, TableDefinition, WriteTransaction};
use upline_domain::ports::table::{
    apply_update, check_query_limit, check_transaction, condition_holds,
};
use upline_domain::ports::{
    Attr, Condition, Index, Item, Key, Page, SortKeyCondition, Table, TableError, TxOp, Update,
};

use crate::EmbeddedStore;

pub(crate) const ITEMS: TableDefinition<(&str, &str), &[u8]> = TableDefinition::new("items");
const GSI1: TableDefinition<(&str, &str, &str, &str), ()> = TableDefinition::new("gsi1");
const GSI2: TableDefinition<(&str, &str, &str, &str), ()> = TableDefinition::new("gsi2");
const GSI3: TableDefinition<(&str, &str, &str, &str), ()> = TableDefinition::new("gsi3");

fn index_table(
    index: Index,
) -> TableDefinition<'static, (&'static str, &'static str, &'static str, &'static str), ()> {
    match index {
        Index::Gsi1 => GSI1,
        Index::Gsi3 => GSI3,
        _ => GSI2,
    }
}

/// One entry of a redb range scan.
type RangeEntry<'a, K, V> =
    Result<(redb::AccessGuard<'a, K>, redb::AccessGuard<'a, V>), redb::StorageError>;

pub(crate) fn storage(e: impl std::fmt::Display) -> TableError {
    TableError::Unavailable(e.to_string())
}

fn encode_attrs(item: &Item) -> Vec<u8> {
    serde_json::to_vec(&item.attrs).expect("attributes are plain data")
}

fn decode_item(pk: &str, sk: &str, bytes: &[u8]) -> Result<Item, TableError> {
    let attrs: BTreeMap<String, Attr> = serde_json::from_slice(bytes)
        .map_err(|e| storage(format!("corrupt item {pk}/{sk}: {e}")))?;
    Ok(Item {
        key: Key::new(pk, sk),
        attrs,
    })
}

fn read_item(txn: &WriteTransaction, key: &Key) -> Result<Option<Item>, TableError> {
    let table = txn.open_table(ITEMS).map_err(storage)?;
    let got = table
        .get((key.pk.as_str(), key.sk.as_str()))
        .map_err(storage)?;
    match got {
        Some(v) => Ok(Some(decode_item(&key.pk, &key.sk, v.value())?)),
        None => Ok(None),
    }
}

/// Writes `new` (or removes the item when `None`), keeping both indexes in step with it.
fn write_item(
    txn: &WriteTransaction,
    key: &Key,
    old: Option<&Item>,
    new: Option<&Item>,
) -> Result<(), TableError> {
    for index in Index::SECONDARY {
        let old_key = old.and_then(|i| i.index_key(index));
        let new_key = new.and_then(|i| i.index_key(index));
        if old_key == new_key {
            continue;
        }
        let mut t = txn.open_table(index_table(index)).map_err(storage)?;
        if let Some((g, s)) = old_key {
            t.remove((g, s, key.pk.as_str(), key.sk.as_str()))
                .map_err(storage)?;
        }
        if let Some((g, s)) = new_key {
            t.insert((g, s, key.pk.as_str(), key.sk.as_str()), ())
                .map_err(storage)?;
        }
    }
    let mut items = txn.open_table(ITEMS).map_err(storage)?;
    match new {
        Some(item) => {
            items
                .insert(
                    (key.pk.as_str(), key.sk.as_str()),
                    encode_attrs(item).as_slice(),
                )
                .map_err(storage)?;
        }
        None => {
            items
                .remove((key.pk.as_str(), key.sk.as_str()))
                .map_err(storage)?;
        }
    }
    Ok(())
}

/// Checks keys and index attributes the way DynamoDB would refuse them.
fn validate_item(item: &Item) -> Result<(), TableError> {
    if item.key.pk.is_empty() || item.key.sk.is_empty() {
        return Err(TableError::Invalid("keys must not be empty".into()));
    }
    for index in Index::SECONDARY {
        let (p, s) = index.attribute_names().expect("secondary");
        for name in [p, s] {
            match item.attrs.get(name) {
                Some(Attr::N(_)) => {
                    return Err(TableError::Invalid(format!(
                        "index attribute {name} must be a string"
                    )));
                }
                Some(Attr::S(v)) if v.is_empty() => {
                    return Err(TableError::Invalid(format!(
                        "index attribute {name} must not be empty"
                    )));
                }
                _ => {}
            }
        }
    }
    Ok(())
}

fn apply(
    txn: &WriteTransaction,
    op: &TxOp,
    current: Option<Item>,
) -> Result<Option<Item>, TableError> {
    match op {
        TxOp::Put(item, _) => {
            validate_item(item)?;
            write_item(txn, &item.key, current.as_ref(), Some(item))?;
            Ok(Some(item.clone()))
        }
        TxOp::Update(key, update, _) => {
            let next = apply_update(key, current.clone(), update)?;
            validate_item(&next)?;
            write_item(txn, key, current.as_ref(), Some(&next))?;
            Ok(Some(next))
        }
        TxOp::Delete(key, _) => {
            if current.is_some() {
                write_item(txn, key, current.as_ref(), None)?;
            }
            Ok(None)
        }
        TxOp::Check(..) => Ok(current),
    }
}

fn condition_of(op: &TxOp) -> &Condition {
    match op {
        TxOp::Put(_, c) | TxOp::Update(_, _, c) | TxOp::Delete(_, c) | TxOp::Check(_, c) => c,
    }
}

/// Runs one operation alone; returns the item as it is afterwards.
fn single(store: &EmbeddedStore, op: TxOp) -> Result<Option<Item>, TableError> {
    let txn = store.begin_write()?;
    let current = read_item(&txn, op.key())?;
    if !condition_holds(condition_of(&op), current.as_ref()) {
        return Err(TableError::ConditionFailed);
    }
    let after = apply(&txn, &op, current)?;
    txn.commit().map_err(storage)?;
    Ok(after)
}

fn encode_cursor(parts: &[&str]) -> String {
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(parts).expect("strings"))
}

/// Reads a cursor this adapter made, of `len` parts (public for the fuzz target).
pub fn decode_cursor(cursor: &str, len: usize) -> Result<Vec<String>, TableError> {
    let bad = || TableError::BadCursor;
    let bytes = URL_SAFE_NO_PAD.decode(cursor).map_err(|_| bad())?;
    let parts: Vec<String> = serde_json::from_slice(&bytes).map_err(|_| bad())?;
    if parts.len() != len {
        return Err(bad());
    }
    Ok(parts)
}

/// Walks `entries` (already in query order), skipping those before the condition's range
/// and stopping at the first after it; reads one past the page to know whether more follow.
fn page_of<T>(
    entries: impl Iterator<Item = Result<(String, T), TableError>>,
    condition: &SortKeyCondition,
    forward: bool,
    limit: usize,
) -> Result<(Vec<T>, bool), TableError> {
    let before_range = |sk: &str| match condition {
        SortKeyCondition::All => false,
        SortKeyCondition::BeginsWith(p) => {
            if forward {
                sk < p.as_str()
            } else {
                !sk.starts_with(p.as_str()) && sk > p.as_str()
            }
        }
        SortKeyCondition::Between(a, b) => {
            if forward {
                sk < a.as_str()
            } else {
                sk > b.as_str()
            }
        }
    };
    let mut out = Vec::new();
    for entry in entries {
        let (sk, value) = entry?;
        if before_range(&sk) {
            continue;
        }
        if !condition.matches(&sk) {
            break;
        }
        if out.len() == limit {
            return Ok((out, true));
        }
        out.push(value);
    }
    Ok((out, false))
}

impl EmbeddedStore {
    fn query_sync(
        &self,
        index: Index,
        partition: &str,
        condition: &SortKeyCondition,
        forward: bool,
        limit: usize,
        cursor: Option<&str>,
    ) -> Result<Page, TableError> {
        check_query_limit(limit)?;
        let txn = self.begin_read()?;
        // The partition's items lie between (partition, "") and (partition + "\0", "").
        let next_partition = format!("{partition}\0");
        match index {
            Index::Primary => {
                let table = match txn.open_table(ITEMS) {
                    Ok(t) => t,
                    Err(redb::TableError::TableDoesNotExist(_)) => return Ok(empty_page()),
                    Err(e) => return Err(storage(e)),
                };
                let after = cursor.map(|c| decode_cursor(c, 1)).transpose()?;
                let lower = match (&after, forward) {
                    (Some(a), true) => Bound::Excluded((partition, a[0].as_str())),
                    _ => Bound::Included((partition, "")),
                };
                let upper = match (&after, forward) {
                    (Some(a), false) => Bound::Excluded((partition, a[0].as_str())),
                    _ => Bound::Excluded((next_partition.as_str(), "")),
                };
                let range = table
                    .range::<(&str, &str)>((lower, upper))
                    .map_err(storage)?;
                let map = |e: RangeEntry<'_, (&str, &str), &[u8]>| {
                    let (k, v) = e.map_err(storage)?;
                    let (pk, sk) = k.value();
                    Ok((sk.to_string(), decode_item(pk, sk, v.value())?))
                };
                let (items, more) = if forward {
                    page_of(range.map(map), condition, true, limit)?
                } else {
                    page_of(range.rev().map(map), condition, false, limit)?
                };
                let next = more
                    .then(|| encode_cursor(&[items.last().expect("a full page").key.sk.as_str()]));
                Ok(Page { items, next })
            }
            secondary => {
                let table = match txn.open_table(index_table(secondary)) {
                    Ok(t) => t,
                    Err(redb::TableError::TableDoesNotExist(_)) => return Ok(empty_page()),
                    Err(e) => return Err(storage(e)),
                };
                let items_table = txn.open_table(ITEMS).map_err(storage)?;
                let after = cursor.map(|c| decode_cursor(c, 3)).transpose()?;
                let start = (partition, "", "", "");
                let end = (next_partition.as_str(), "", "", "");
                let lower = match (&after, forward) {
                    (Some(a), true) => {
                        Bound::Excluded((partition, a[0].as_str(), a[1].as_str(), a[2].as_str()))
                    }
                    _ => Bound::Included(start),
                };
                let upper = match (&after, forward) {
                    (Some(a), false) => {
                        Bound::Excluded((partition, a[0].as_str(), a[1].as_str(), a[2].as_str()))
                    }
                    _ => Bound::Excluded(end),
                };
                let range = table
                    .range::<(&str, &str, &str, &str)>((lower, upper))
                    .map_err(storage)?;
                let map = |e: RangeEntry<'_, (&str, &str, &str, &str), ()>| {
                    let (k, _) = e.map_err(storage)?;
                    let (_, gsk, pk, sk) = k.value();
                    Ok((gsk.to_string(), (gsk.to_string(), Key::new(pk, sk))))
                };
                let (keys, more) = if forward {
                    page_of(range.map(map), condition, true, limit)?
                } else {
                    page_of(range.rev().map(map), condition, false, limit)?
                };
                let mut items = Vec::with_capacity(keys.len());
                for (_, key) in &keys {
                    let v = items_table
                        .get((key.pk.as_str(), key.sk.as_str()))
                        .map_err(storage)?
                        .ok_or_else(|| storage(format!("index entry for missing item {key:?}")))?;
                    items.push(decode_item(&key.pk, &key.sk, v.value())?);
                }
                let next = more.then(|| {
                    let (gsk, key) = keys.last().expect("a full page");
                    encode_cursor(&[gsk.as_str(), key.pk.as_str(), key.sk.as_str()])
                });
                Ok(Page { items, next })
            }
        }
    }

    fn transact_sync(&self, ops: Vec<TxOp>) -> Result<(), TableError> {
        check_transaction(&ops)?;
        let txn = self.begin_write()?;
        let mut current = Vec::with_capacity(ops.len());
        let mut failed = Vec::with_capacity(ops.len());
        for op in &ops {
            let item = read_item(&txn, op.key())?;
            failed.push(!condition_holds(condition_of(op), item.as_ref()));
            current.push(item);
        }
        if failed.iter().any(|f| *f) {
            // Dropping the transaction aborts it: nothing was written.
            return Err(TableError::TransactionCancelled { failed });
        }
        for (op, item) in ops.iter().zip(current) {
            apply(&txn, op, item)?;
        }
        txn.commit().map_err(storage)
    }
}

fn empty_page() -> Page {
    Page {
        items: vec![],
        next: None,
    }
}

#[async_trait]
impl Table for EmbeddedStore {
    async fn get(&self, key: &Key) -> Result<Option<Item>, TableError> {
        let key = key.clone();
        self.blocking(move |s| {
            let txn = s.begin_read()?;
            let table = match txn.open_table(ITEMS) {
                Ok(t) => t,
                Err(redb::TableError::TableDoesNotExist(_)) => return Ok(None),
                Err(e) => return Err(storage(e)),
            };
            match table
                .get((key.pk.as_str(), key.sk.as_str()))
                .map_err(storage)?
            {
                Some(v) => Ok(Some(decode_item(&key.pk, &key.sk, v.value())?)),
                None => Ok(None),
            }
        })
        .await
    }

    async fn query(
        &self,
        index: Index,
        partition: &str,
        condition: &SortKeyCondition,
        forward: bool,
        limit: usize,
        cursor: Option<&str>,
    ) -> Result<Page, TableError> {
        let (partition, condition, cursor) = (
            partition.to_string(),
            condition.clone(),
            cursor.map(str::to_string),
        );
        self.blocking(move |s| {
            s.query_sync(
                index,
                &partition,
                &condition,
                forward,
                limit,
                cursor.as_deref(),
            )
        })
        .await
    }

    async fn put(&self, item: Item, condition: Condition) -> Result<(), TableError> {
        self.blocking(move |s| single(s, TxOp::Put(item, condition)).map(|_| ()))
            .await
    }

    async fn update(
        &self,
        key: &Key,
        update: Update,
        condition: Condition,
    ) -> Result<Item, TableError> {
        let key = key.clone();
        self.blocking(move |s| {
            single(s, TxOp::Update(key, update, condition))
                .map(|i| i.expect("an update leaves an item"))
        })
        .await
    }

    async fn delete(&self, key: &Key, condition: Condition) -> Result<(), TableError> {
        let key = key.clone();
        self.blocking(move |s| single(s, TxOp::Delete(key, condition)).map(|_| ()))
            .await
    }

    async fn transact(&self, ops: Vec<TxOp>) -> Result<(), TableError> {
        self.blocking(move |s| s.transact_sync(ops)).await
    }
}
