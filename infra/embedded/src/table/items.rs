//! How items and their index entries are laid out in redb: the items table keyed by
//! (pk, sk), one table per secondary index, and the reads and writes that keep them in step.

use std::collections::BTreeMap;

use redb::{ReadableTable, TableDefinition, WriteTransaction};
use upline_domain::ports::{Attr, Index, Item, Key, TableError};

pub(super) const ITEMS: TableDefinition<(&str, &str), &[u8]> = TableDefinition::new("items");
const GSI1: TableDefinition<(&str, &str, &str, &str), ()> = TableDefinition::new("gsi1");
const GSI2: TableDefinition<(&str, &str, &str, &str), ()> = TableDefinition::new("gsi2");
const GSI3: TableDefinition<(&str, &str, &str, &str), ()> = TableDefinition::new("gsi3");

pub(super) fn index_table(
    index: Index,
) -> TableDefinition<'static, (&'static str, &'static str, &'static str, &'static str), ()> {
    match index {
        Index::Gsi1 => GSI1,
        Index::Gsi3 => GSI3,
        _ => GSI2,
    }
}

pub(crate) fn storage(e: impl std::fmt::Display) -> TableError {
    TableError::Unavailable(e.to_string())
}

fn encode_attrs(item: &Item) -> Vec<u8> {
    serde_json::to_vec(&item.attrs).expect("attributes are plain data")
}

pub(super) fn decode_item(pk: &str, sk: &str, bytes: &[u8]) -> Result<Item, TableError> {
    let attrs: BTreeMap<String, Attr> = serde_json::from_slice(bytes)
        .map_err(|e| storage(format!("corrupt item {pk}/{sk}: {e}")))?;
    Ok(Item {
        key: Key::new(pk, sk),
        attrs,
    })
}

pub(super) fn read_item(txn: &WriteTransaction, key: &Key) -> Result<Option<Item>, TableError> {
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
pub(super) fn write_item(
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
