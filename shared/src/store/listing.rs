//! Time listings over sharded index partitions: one bucket per day, each bucket a set of
//! partitions (a day's shards) read together and merged by their time-ordered sort key,
//! so a listing is newest (or oldest) first across shards and pages across days.
//!
//! The cursor names the bucket it stopped in and the last sort key it returned, not the
//! table's own cursors: a bucket's shards are read again from that key, which keeps the
//! cursor the same size whatever the shard count.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use super::Store;
use crate::error::AppError;
use crate::ports::{Index, Item, Page, SortKeyCondition};

/// Above every time-ordered sort key (they start with a digit) and below DynamoDB's
/// limits, so it can bound a `BETWEEN`.
const ABOVE_ALL: &str = "~";
/// Below every time-ordered sort key; DynamoDB refuses an empty bound.
const BELOW_ALL: &str = "0";

impl Store {
    /// Pages through `buckets` in the order given as one list. Each bucket's partitions
    /// are read at once and merged by the index's sort key (ascending when `forward`),
    /// which must be time-ordered (`keys::time_ordered`).
    pub async fn query_buckets(
        &self,
        index: Index,
        buckets: &[Vec<String>],
        forward: bool,
        limit: usize,
        cursor: Option<&str>,
    ) -> Result<Page, AppError> {
        let (mut at, mut after) = match cursor {
            Some(c) => decode_bucket_cursor(c)?,
            None => (0, None),
        };
        let mut items = Vec::new();
        while at < buckets.len() && items.len() < limit {
            let need = limit - items.len();
            let condition = match &after {
                None => SortKeyCondition::All,
                Some(k) if forward => SortKeyCondition::Between(k.clone(), ABOVE_ALL.into()),
                Some(k) => SortKeyCondition::Between(BELOW_ALL.into(), k.clone()),
            };
            // One more than needed: the bound is inclusive and returns `after` again.
            let reads = buckets[at]
                .iter()
                .map(|p| self.first_items(index, p, &condition, forward, need + 1, &after));
            let pages = futures::future::try_join_all(reads).await?;
            let mut merged: Vec<(String, Item)> = Vec::new();
            // The furthest point every shard has been read to: a shard with more items
            // may hold anything beyond its last one, so nothing past that is returned yet.
            let mut bound: Option<String> = None;
            for page in pages {
                let more = page.next.is_some();
                let mut last = None;
                for item in page.items {
                    let sk = sort_key(index, &item).to_string();
                    last = Some(sk.clone());
                    if after.as_deref() != Some(sk.as_str()) {
                        merged.push((sk, item));
                    }
                }
                if let (true, Some(last)) = (more, last) {
                    let nearer = bound
                        .as_ref()
                        .is_none_or(|b| if forward { last < *b } else { last > *b });
                    if nearer {
                        bound = Some(last);
                    }
                }
            }
            merged.sort_by(|a, b| {
                if forward {
                    a.0.cmp(&b.0)
                } else {
                    b.0.cmp(&a.0)
                }
            });
            // An item rewritten from the unsharded partition into its shard can show in
            // both while the index catches up: once is enough.
            merged.dedup_by(|a, b| a.0 == b.0);
            let whole = bound.is_none() && merged.len() <= need;
            for (sk, item) in merged {
                let beyond = bound
                    .as_ref()
                    .is_some_and(|b| if forward { sk > *b } else { sk < *b });
                if items.len() == limit || beyond {
                    break;
                }
                items.push(item);
                after = Some(sk);
            }
            if whole {
                at += 1;
                after = None;
            }
        }
        let next = (at < buckets.len()).then(|| encode_bucket_cursor(at, after.as_deref()));
        Ok(Page { items, next })
    }

    /// The first page of one partition that holds an item other than `after` (or the
    /// partition's end): a page cut short by the table's size limit may come back with
    /// nothing new and a cursor, and the merge needs every shard to move on.
    async fn first_items(
        &self,
        index: Index,
        partition: &str,
        condition: &SortKeyCondition,
        forward: bool,
        limit: usize,
        after: &Option<String>,
    ) -> Result<Page, AppError> {
        let mut cursor: Option<String> = None;
        loop {
            let page = self
                .table
                .query(
                    index,
                    partition,
                    condition,
                    forward,
                    limit,
                    cursor.as_deref(),
                )
                .await?;
            let nothing_new = page
                .items
                .iter()
                .all(|i| Some(sort_key(index, i)) == after.as_deref());
            match page.next {
                Some(next) if nothing_new => cursor = Some(next),
                _ => return Ok(page),
            }
        }
    }
}

/// An item's sort key in `index`.
fn sort_key(index: Index, item: &Item) -> &str {
    match index.attribute_names() {
        None => &item.key.sk,
        Some((_, attr)) => item.s(attr).unwrap_or_default(),
    }
}

fn encode_bucket_cursor(at: usize, after: Option<&str>) -> String {
    let mut m = serde_json::Map::new();
    m.insert("b".into(), serde_json::json!(at));
    if let Some(k) = after {
        m.insert("k".into(), serde_json::json!(k));
    }
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(&m).expect("plain data"))
}

/// Reads a listing cursor this module made: the bucket and the last sort key returned in
/// it (public for the fuzz target).
pub fn decode_bucket_cursor(cursor: &str) -> Result<(usize, Option<String>), AppError> {
    let bad = || AppError::field("cursor", "is not a cursor this API returned");
    let bytes = URL_SAFE_NO_PAD.decode(cursor).map_err(|_| bad())?;
    let v: serde_json::Value = serde_json::from_slice(&bytes).map_err(|_| bad())?;
    // A cursor from before the shards (`c`: the table's own cursor) would restart its day.
    if v.get("c").is_some() {
        return Err(bad());
    }
    let at = v.get("b").and_then(|b| b.as_u64()).ok_or_else(bad)?;
    let at = usize::try_from(at).map_err(|_| bad())?;
    let after = match v.get("k") {
        None => None,
        Some(k) => {
            let k = k.as_str().ok_or_else(bad)?;
            // Only a time-ordered key fits between the bounds; DynamoDB refuses a
            // `BETWEEN` whose ends are out of order or a key over 1,024 bytes.
            let time_ordered = k.starts_with(|c: char| c.is_ascii_digit()) && k.len() <= 1024;
            if !time_ordered {
                return Err(bad());
            }
            Some(k.to_string())
        }
    };
    Ok((at, after))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cursor_reads_back_what_it_names() {
        let c = encode_bucket_cursor(3, Some("0001700000000000#abc"));
        assert_eq!(
            decode_bucket_cursor(&c).unwrap(),
            (3, Some("0001700000000000#abc".to_string()))
        );
        assert_eq!(
            decode_bucket_cursor(&encode_bucket_cursor(0, None)).unwrap(),
            (0, None)
        );
    }

    #[test]
    fn a_cursor_with_a_key_that_is_not_time_ordered_is_refused() {
        let old = URL_SAFE_NO_PAD.encode(r#"{"b":1,"c":"eyJwayI6IngifQ"}"#);
        assert!(
            decode_bucket_cursor(&old).is_err(),
            "a cursor from before the shards"
        );
        for k in ["", "~", "abc", &"1".repeat(1025)] {
            let forged = URL_SAFE_NO_PAD.encode(format!(r#"{{"b":0,"k":"{k}"}}"#));
            match decode_bucket_cursor(&forged) {
                Err(AppError::Invalid(fields)) => assert_eq!(fields[0].field, "cursor", "{k}"),
                other => panic!("{k}: {other:?}"),
            }
        }
    }
}
