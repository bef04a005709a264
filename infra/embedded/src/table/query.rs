//! Queries over the items table or an index: a key range per partition, the sort-key
//! condition applied while walking it, and opaque cursors that resume after a page's last key.

use std::ops::Bound;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use upline_domain::ports::table::check_query_limit;
use upline_domain::ports::{Index, Key, Page, SortKeyCondition, TableError};

use super::items::{ITEMS, decode_item, index_table, storage};
use crate::EmbeddedStore;

/// One entry of a redb range scan.
type RangeEntry<'a, K, V> =
    Result<(redb::AccessGuard<'a, K>, redb::AccessGuard<'a, V>), redb::StorageError>;

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
    pub(super) fn query_sync(
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
        // The partition's items lie between (partition, "") and (partition + "\0", "");
        // the walk starts where the condition's keys start and ends where they end, so a
        // page reads the keys it may return (and one more), not the partition around them.
        // (A range whose start is past its end selects nothing: redb returns no entries.)
        let next_partition = format!("{partition}\0");
        let (first, past) = sort_key_span(condition);
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
                    _ => Bound::Included((partition, first)),
                };
                let upper = match (&after, forward, &past) {
                    (Some(a), false, _) => Bound::Excluded((partition, a[0].as_str())),
                    (_, _, Some(past)) => Bound::Excluded((partition, past.as_str())),
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
                let start = (partition, first, "", "");
                let end = match &past {
                    Some(past) => (partition, past.as_str(), "", ""),
                    None => (next_partition.as_str(), "", "", ""),
                };
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
}

/// The sort keys a condition admits, as a seek: the least of them, and the least key past
/// them (`None`: the partition's end). Keys compare byte by byte, which for UTF-8 is the
/// order of their characters.
fn sort_key_span(condition: &SortKeyCondition) -> (&str, Option<String>) {
    match condition {
        SortKeyCondition::All => ("", None),
        SortKeyCondition::BeginsWith(p) => (p.as_str(), past_prefix(p)),
        // `b` followed by NUL is the first string after `b`.
        SortKeyCondition::Between(a, b) => (a.as_str(), Some(format!("{b}\0"))),
    }
}

/// The least string after every string that starts with `prefix`: the prefix with its
/// last character that has a successor raised by one, and what followed it dropped.
/// `None` when there is none (an empty prefix, or one made only of `char::MAX`).
fn past_prefix(prefix: &str) -> Option<String> {
    let mut chars: Vec<char> = prefix.chars().collect();
    while let Some(last) = chars.pop() {
        // The next character skips the surrogates, which no string holds.
        let next = (u32::from(last) + 1..=u32::from(char::MAX)).find_map(char::from_u32);
        if let Some(next) = next {
            chars.push(next);
            return Some(chars.into_iter().collect());
        }
    }
    None
}

fn empty_page() -> Page {
    Page {
        items: vec![],
        next: None,
    }
}

#[cfg(test)]
mod tests {
    use super::past_prefix;
    use proptest::prelude::*;

    #[test]
    fn the_key_past_a_prefix_raises_its_last_character_that_can_be_raised() {
        assert_eq!(past_prefix("LINE#"), Some("LINE$".into()));
        assert_eq!(past_prefix("a\u{10FFFF}"), Some("b".into()));
        assert_eq!(past_prefix("x\u{D7FF}"), Some("x\u{E000}".into()));
        assert_eq!(past_prefix("\u{10FFFF}\u{10FFFF}"), None);
        assert_eq!(past_prefix(""), None);
    }

    proptest! {
        /// Exactly the strings that start with the prefix lie between it and the key past
        /// it, in the byte order redb compares keys by.
        #[test]
        fn only_the_prefixs_strings_lie_before_the_key_past_it(
            prefix in "[a-c\u{10FFFF}\u{D7FF}\u{E000}]{0,3}",
            key in "[a-c\u{10FFFF}\u{D7FF}\u{E000}]{0,5}",
        ) {
            let inside = key.as_bytes() >= prefix.as_bytes()
                && past_prefix(&prefix).is_none_or(|past| key.as_bytes() < past.as_bytes());
            prop_assert_eq!(inside, key.starts_with(&prefix));
        }
    }
}
