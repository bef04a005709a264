//! What every Table adapter must do, as DynamoDB does it.

use std::sync::Arc;

use upline_domain::ports::{
    Attr, Condition, Index, Item, Key, Page, SortKeyCondition, Table, TableError, TxOp, Update,
};

/// A fresh, empty table.
pub struct TableFixture {
    /// Whatever must live as long as the fixture (a temporary folder, a server).
    pub keep_alive: Option<Box<dyn std::any::Any + Send + Sync>>,
    pub table: Arc<dyn Table>,
}

impl TableFixture {
    /// Puts `item` with no condition (panics if the table fails): leaves it stored.
    async fn put(&self, item: Item) {
        self.table.put(item, Condition::None).await.unwrap();
    }

    /// The item at (`pk`, `sk`), if there is one (panics if the table fails).
    async fn get(&self, pk: &str, sk: &str) -> Option<Item> {
        self.table.get(&Key::new(pk, sk)).await.unwrap()
    }

    /// The sort keys of `partition` in `index` that match `cond`, in the order `forward`
    /// says, read page after page of at most `limit` items.
    async fn sort_keys(
        &self,
        index: Index,
        partition: &str,
        cond: &SortKeyCondition,
        forward: bool,
        limit: usize,
    ) -> Vec<String> {
        let mut out = Vec::new();
        let mut cursor: Option<String> = None;
        for _ in 0..1000 {
            let Page { items, next } = self
                .table
                .query(index, partition, cond, forward, limit, cursor.as_deref())
                .await
                .unwrap();
            assert!(items.len() <= limit, "a page holds at most the limit");
            out.extend(items.into_iter().map(|i| i.key.sk));
            match next {
                Some(n) => cursor = Some(n),
                None => return out,
            }
        }
        panic!("paging did not end");
    }
}

fn item(pk: &str, sk: &str) -> Item {
    Item::new(Key::new(pk, sk)).with("body", format!("{pk}/{sk}"))
}

pub async fn put_then_get_returns_the_item(f: &TableFixture) {
    let it = item("P#1", "A").with("n", 42i64).with("s", "x");
    f.put(it.clone()).await;
    assert_eq!(f.get("P#1", "A").await, Some(it));
}

pub async fn get_of_a_missing_item_is_none(f: &TableFixture) {
    assert_eq!(f.get("P#1", "nope").await, None);
}

pub async fn put_replaces_every_attribute(f: &TableFixture) {
    let k = Key::new("P#1", "A");
    f.put(item("P#1", "A").with("old", 1i64)).await;
    f.put(item("P#1", "A").with("new", 2i64)).await;
    let got = f.table.get(&k).await.unwrap().unwrap();
    assert_eq!(got.n("old"), None);
    assert_eq!(got.n("new"), Some(2));
}

pub async fn a_put_that_must_not_exist_fails_on_an_existing_item(f: &TableFixture) {
    f.table
        .put(item("P#1", "A").with("v", 1i64), Condition::NotExists)
        .await
        .unwrap();
    let second = f
        .table
        .put(item("P#1", "A").with("v", 2i64), Condition::NotExists)
        .await;
    assert_eq!(second, Err(TableError::ConditionFailed));
    let got = f.get("P#1", "A").await.unwrap();
    assert_eq!(got.n("v"), Some(1), "a failed condition changes nothing");
}

pub async fn attribute_conditions_compare_exact_values(f: &TableFixture) {
    f.put(item("P#1", "A").with("status", "recorded")).await;
    let wrong = Condition::AttrEquals("status".into(), Attr::S("commissioned".into()));
    assert_eq!(
        f.table
            .put(item("P#1", "A").with("status", "x"), wrong)
            .await,
        Err(TableError::ConditionFailed)
    );
    let missing = Condition::AttrEquals("status".into(), Attr::S("recorded".into()));
    assert_eq!(
        f.table.put(item("P#1", "B"), missing.clone()).await,
        Err(TableError::ConditionFailed),
        "an attribute condition on a missing item fails"
    );
    f.table
        .put(item("P#1", "A").with("status", "commissioned"), missing)
        .await
        .unwrap();
    assert_eq!(
        f.get("P#1", "A").await.unwrap().s("status"),
        Some("commissioned")
    );
    assert_eq!(
        f.table.put(item("P#1", "C"), Condition::Exists).await,
        Err(TableError::ConditionFailed)
    );
}

/// How the click recorder claims a visitor as unique: absent, or its last claim too old,
/// or already claimed by the same click (a redelivery).
pub async fn either_of_several_conditions_may_hold(f: &TableFixture) {
    let k = Key::new("UNIQ#1", "V");
    let claim = |at: i64, click: &str| {
        let cond = Condition::Any(vec![
            Condition::NotExists,
            Condition::AttrLessThan("at".into(), at - 100),
            Condition::AttrEquals("click".into(), Attr::S(click.into())),
        ]);
        let item = item("UNIQ#1", "V").with("at", at).with("click", click);
        let table = f.table.clone();
        async move { table.put(item, cond).await }
    };
    claim(1_000, "a").await.expect("absent: claimed");
    claim(1_000, "a")
        .await
        .expect("the same click again: claimed");
    assert_eq!(
        claim(1_050, "b").await,
        Err(TableError::ConditionFailed),
        "a second click inside the window is refused"
    );
    claim(1_100, "c")
        .await
        .expect_err("exactly the window's length is still inside");
    claim(1_101, "c").await.expect("after the window: claimed");
    let got = f.table.get(&k).await.unwrap().unwrap();
    assert_eq!((got.n("at"), got.s("click")), (Some(1_101), Some("c")));
    // Inside a transaction too, naming the failed operation.
    let cond = Condition::Any(vec![Condition::AttrLessThan("at".into(), 0)]);
    let result = f
        .table
        .transact(vec![
            TxOp::Put(item("UNIQ#2", "W"), Condition::None),
            TxOp::Put(item("UNIQ#1", "V").with("at", 5), cond),
        ])
        .await;
    assert_eq!(
        result,
        Err(TableError::TransactionCancelled {
            failed: vec![false, true]
        })
    );
    assert_eq!(
        f.table
            .put(item("UNIQ#3", "X"), Condition::Any(vec![]))
            .await,
        Err(TableError::ConditionFailed),
        "no alternative holds"
    );
}

/// How a key rotation guards itself: the item's status is still the one read and its key
/// attribute still the one being replaced (or still absent) — both at once.
pub async fn every_one_of_several_conditions_must_hold(f: &TableFixture) {
    let k = Key::new("ROT#1", "P");
    let guard = |hash: Option<&str>| {
        Condition::All(vec![
            Condition::AttrEquals("status".into(), Attr::S("approved".into())),
            match hash {
                Some(h) => Condition::AttrEquals("key_hash".into(), Attr::S(h.into())),
                None => Condition::AttrMissing("key_hash".into()),
            },
        ])
    };
    f.table
        .put(
            item("ROT#1", "P").with("status", "approved"),
            Condition::None,
        )
        .await
        .unwrap();
    let rotate = |from: Option<&'static str>, to: &'static str| {
        let table = f.table.clone();
        let cond = guard(from);
        async move {
            table
                .put(
                    item("ROT#1", "P")
                        .with("status", "approved")
                        .with("key_hash", to),
                    cond,
                )
                .await
        }
    };
    rotate(None, "h1")
        .await
        .expect("no key yet: the first one is set");
    assert_eq!(
        rotate(None, "h2").await,
        Err(TableError::ConditionFailed),
        "a key is there now"
    );
    assert_eq!(
        rotate(Some("h0"), "h2").await,
        Err(TableError::ConditionFailed),
        "not the key being replaced"
    );
    rotate(Some("h1"), "h2")
        .await
        .expect("the current key is replaced");
    f.table
        .put(
            item("ROT#1", "P")
                .with("status", "suspended")
                .with("key_hash", "h2"),
            Condition::None,
        )
        .await
        .unwrap();
    assert_eq!(
        rotate(Some("h2"), "h3").await,
        Err(TableError::ConditionFailed),
        "one part of the guard no longer holds"
    );
    assert_eq!(
        f.table.get(&k).await.unwrap().unwrap().s("key_hash"),
        Some("h2")
    );
    assert_eq!(
        f.table
            .put(
                item("ROT#2", "Q"),
                Condition::AttrMissing("key_hash".into())
            )
            .await,
        Ok(()),
        "an absent item has no attributes"
    );
    assert_eq!(
        f.table
            .put(item("ROT#3", "R"), Condition::All(vec![]))
            .await,
        Ok(()),
        "no requirement always holds"
    );
}

pub async fn deletes_honour_their_condition(f: &TableFixture) {
    let k = Key::new("P#1", "A");
    f.put(item("P#1", "A").with("status", "a")).await;
    let cond = Condition::AttrEquals("status".into(), Attr::S("b".into()));
    assert_eq!(
        f.table.delete(&k, cond).await,
        Err(TableError::ConditionFailed)
    );
    assert!(f.table.get(&k).await.unwrap().is_some());
    f.table.delete(&k, Condition::Exists).await.unwrap();
    assert_eq!(f.table.get(&k).await.unwrap(), None);
    // Deleting what is not there is not an error without a condition.
    f.table.delete(&k, Condition::None).await.unwrap();
}

pub async fn updates_create_missing_items_and_add_to_counters(f: &TableFixture) {
    let k = Key::new("STATS#d", "c#p");
    let after = f
        .table
        .update(
            &k,
            Update::default().add("clicks", 3).set("day", "d"),
            Condition::None,
        )
        .await
        .unwrap();
    assert_eq!(after.n("clicks"), Some(3));
    let after = f
        .table
        .update(
            &k,
            Update::default().add("clicks", 4).add("conversions", 1),
            Condition::None,
        )
        .await
        .unwrap();
    assert_eq!(after.n("clicks"), Some(7));
    assert_eq!(after.n("conversions"), Some(1));
    assert_eq!(after.s("day"), Some("d"));
    assert_eq!(f.table.get(&k).await.unwrap(), Some(after));
}

pub async fn an_update_with_a_failed_condition_changes_nothing(f: &TableFixture) {
    let k = Key::new("P#1", "A");
    f.put(item("P#1", "A").with("n", 1i64)).await;
    let r = f
        .table
        .update(
            &k,
            Update::default().add("n", 1),
            Condition::AttrEquals("n".into(), Attr::N(5)),
        )
        .await;
    assert_eq!(r, Err(TableError::ConditionFailed));
    assert_eq!(f.table.get(&k).await.unwrap().unwrap().n("n"), Some(1));
}

pub async fn concurrent_counter_updates_lose_nothing(f: &TableFixture) {
    let k = Key::new("STATS#d", "hot");
    let mut tasks = Vec::new();
    for i in 0..20 {
        let t = f.table.clone();
        let k = k.clone();
        tasks.push(tokio::spawn(async move {
            t.update(&k, Update::default().add("n", i), Condition::None)
                .await
                .unwrap();
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    assert_eq!(
        f.table.get(&k).await.unwrap().unwrap().n("n"),
        Some((0..20).sum())
    );
}

pub async fn concurrent_conditional_puts_have_exactly_one_winner(f: &TableFixture) {
    let mut tasks = Vec::new();
    for i in 0..10i64 {
        let t = f.table.clone();
        tasks.push(tokio::spawn(async move {
            t.put(item("ORDER#x", "ORDER").with("by", i), Condition::NotExists)
                .await
        }));
    }
    let mut wins = 0;
    for t in tasks {
        match t.await.unwrap() {
            Ok(()) => wins += 1,
            Err(TableError::ConditionFailed) => {}
            Err(e) => panic!("unexpected {e:?}"),
        }
    }
    assert_eq!(wins, 1);
}

async fn put_sort_keys(f: &TableFixture, pk: &str, sks: &[&str]) {
    for sk in sks {
        f.put(item(pk, sk)).await;
    }
}

pub async fn queries_return_one_partition_in_byte_order(f: &TableFixture) {
    put_sort_keys(f, "P", &["b", "a", "B", "a#2", "é", "c"]).await;
    // Partitions whose names extend another's must not leak into it.
    put_sort_keys(f, "P2", &["a"]).await;
    put_sort_keys(f, "O", &["z"]).await;
    let all = f
        .sort_keys(Index::Primary, "P", &SortKeyCondition::All, true, 100)
        .await;
    assert_eq!(all, vec!["B", "a", "a#2", "b", "c", "é"]);
    let back = f
        .sort_keys(Index::Primary, "P", &SortKeyCondition::All, false, 100)
        .await;
    assert_eq!(back, vec!["é", "c", "b", "a#2", "a", "B"]);
}

pub async fn sort_key_conditions_select_prefixes_and_inclusive_ranges(f: &TableFixture) {
    put_sort_keys(
        f,
        "P",
        &["LINE#00", "LINE#01", "LINE#02", "CONVERSION", "LINF", "LIN"],
    )
    .await;
    let prefix = SortKeyCondition::BeginsWith("LINE#".into());
    let fwd = f.sort_keys(Index::Primary, "P", &prefix, true, 100).await;
    assert_eq!(fwd, vec!["LINE#00", "LINE#01", "LINE#02"]);
    let rev = f.sort_keys(Index::Primary, "P", &prefix, false, 100).await;
    assert_eq!(rev, vec!["LINE#02", "LINE#01", "LINE#00"]);
    let between = SortKeyCondition::Between("LINE#01".into(), "LINF".into());
    let fwd = f.sort_keys(Index::Primary, "P", &between, true, 100).await;
    assert_eq!(fwd, vec!["LINE#01", "LINE#02", "LINF"]);
    let rev = f.sort_keys(Index::Primary, "P", &between, false, 100).await;
    assert_eq!(rev, vec!["LINF", "LINE#02", "LINE#01"]);
    let none = SortKeyCondition::BeginsWith("ZZZ".into());
    assert!(
        f.sort_keys(Index::Primary, "P", &none, false, 100)
            .await
            .is_empty()
    );
}

pub async fn paging_returns_every_item_once_in_order(f: &TableFixture) {
    let sks: Vec<String> = (0..23).map(|i| format!("{i:03}")).collect();
    let refs: Vec<&str> = sks.iter().map(String::as_str).collect();
    put_sort_keys(f, "P", &refs).await;
    for limit in [1, 5, 23, 50] {
        let fwd = f
            .sort_keys(Index::Primary, "P", &SortKeyCondition::All, true, limit)
            .await;
        assert_eq!(fwd, sks, "limit {limit}");
        let mut rev_expected = sks.clone();
        rev_expected.reverse();
        let rev = f
            .sort_keys(Index::Primary, "P", &SortKeyCondition::All, false, limit)
            .await;
        assert_eq!(rev, rev_expected, "limit {limit}");
    }
    let prefix = SortKeyCondition::BeginsWith("01".into());
    let got = f.sort_keys(Index::Primary, "P", &prefix, true, 3).await;
    assert_eq!(got, (10..20).map(|i| format!("{i:03}")).collect::<Vec<_>>());
}

pub async fn secondary_indexes_follow_their_items(f: &TableFixture) {
    let with_index =
        |sk: &str, g: &str, gs: &str| item("BASE", sk).with("gsi1pk", g).with("gsi1sk", gs);
    f.put(with_index("a", "G", "2")).await;
    f.put(with_index("b", "G", "1")).await;
    f.put(with_index("c", "H", "1")).await;
    f.put(item("BASE", "d")).await;
    let in_g = || f.sort_keys(Index::Gsi1, "G", &SortKeyCondition::All, true, 1);
    assert_eq!(
        in_g().await,
        vec!["b", "a"],
        "index order is by index sort key"
    );
    // Moving an item to another index partition, and removing its index key, updates the index.
    f.put(with_index("a", "H", "0")).await;
    assert_eq!(in_g().await, vec!["b"]);
    f.table
        .update(
            &Key::new("BASE", "d"),
            Update::default().set("gsi1pk", "G").set("gsi1sk", "0"),
            Condition::None,
        )
        .await
        .unwrap();
    assert_eq!(in_g().await, vec!["d", "b"]);
    f.table
        .delete(&Key::new("BASE", "b"), Condition::None)
        .await
        .unwrap();
    assert_eq!(in_g().await, vec!["d"]);
    let h = f
        .sort_keys(Index::Gsi1, "H", &SortKeyCondition::All, false, 1)
        .await;
    assert_eq!(h, vec!["c", "a"]);
    // The two indexes are independent.
    assert!(
        f.sort_keys(Index::Gsi2, "G", &SortKeyCondition::All, true, 10)
            .await
            .is_empty()
    );
    // A sparse index: an item is in gsi3 only while it carries gsi3 keys, and a put
    // without them takes it out (how open commission lines leave the payable index).
    let open = |sk: &str| item("BASE", sk).with("gsi3pk", "OPEN").with("gsi3sk", sk);
    for sk in ["e", "f"] {
        f.put(open(sk)).await;
    }
    let in_open = || f.sort_keys(Index::Gsi3, "OPEN", &SortKeyCondition::All, true, 10);
    assert_eq!(in_open().await, vec!["e", "f"]);
    f.put(item("BASE", "e").with("status", "paid")).await;
    assert_eq!(in_open().await, vec!["f"]);
    let items = f
        .table
        .query(
            Index::Gsi1,
            "H",
            &SortKeyCondition::Between("1".into(), "1".into()),
            true,
            10,
            None,
        )
        .await
        .unwrap()
        .items;
    assert_eq!(items.len(), 1);
    assert_eq!(
        items[0].s("body"),
        Some("BASE/c"),
        "index queries return whole items"
    );
}

/// An index range takes every item at both of its ends, however many share an end's
/// index sort key and however small the pages, in either direction; the embedded store
/// starts its walk at the range rather than at the partition's first key.
pub async fn index_ranges_take_every_item_at_their_ends(f: &TableFixture) {
    let indexed = |sk: &str, gs: &str| item("BASE", sk).with("gsi1pk", "G").with("gsi1sk", gs);
    for (sk, gs) in [
        ("a", "1"),
        ("b", "2"),
        ("c", "2"),
        ("d", "2#x"),
        ("e", "3"),
        ("f", "2"),
    ] {
        f.put(indexed(sk, gs)).await;
    }
    let between = SortKeyCondition::Between("2".into(), "2".into());
    let prefix = SortKeyCondition::BeginsWith("2".into());
    for limit in [1, 2, 10] {
        let fwd = f.sort_keys(Index::Gsi1, "G", &between, true, limit).await;
        assert_eq!(fwd, vec!["b", "c", "f"], "limit {limit}");
        let rev = f.sort_keys(Index::Gsi1, "G", &between, false, limit).await;
        assert_eq!(rev, vec!["f", "c", "b"], "limit {limit}");
        let fwd = f.sort_keys(Index::Gsi1, "G", &prefix, true, limit).await;
        assert_eq!(fwd, vec!["b", "c", "f", "d"], "limit {limit}");
        let rev = f.sort_keys(Index::Gsi1, "G", &prefix, false, limit).await;
        assert_eq!(rev, vec!["d", "f", "c", "b"], "limit {limit}");
        let wide = SortKeyCondition::Between("1".into(), "2#x".into());
        let rev = f.sort_keys(Index::Gsi1, "G", &wide, false, limit).await;
        assert_eq!(rev, vec!["d", "f", "c", "b", "a"], "limit {limit}");
    }
    // The same ends in the items' own sort keys, with most of the partition after the
    // prefix (which a reverse walk meets first).
    put_sort_keys(f, "P", &["1", "2", "2#x", "20", "3", "4", "5", "6"]).await;
    let between = SortKeyCondition::Between("1".into(), "2".into());
    for limit in [1, 2, 10] {
        let fwd = f
            .sort_keys(Index::Primary, "P", &between, true, limit)
            .await;
        assert_eq!(fwd, vec!["1", "2"], "limit {limit}");
        let rev = f
            .sort_keys(Index::Primary, "P", &between, false, limit)
            .await;
        assert_eq!(rev, vec!["2", "1"], "limit {limit}");
        let fwd = f.sort_keys(Index::Primary, "P", &prefix, true, limit).await;
        assert_eq!(fwd, vec!["2", "2#x", "20"], "limit {limit}");
        let rev = f
            .sort_keys(Index::Primary, "P", &prefix, false, limit)
            .await;
        assert_eq!(rev, vec!["20", "2#x", "2"], "limit {limit}");
    }
}

pub async fn transactions_apply_all_or_nothing(f: &TableFixture) {
    f.put(item("P", "exists")).await;
    // Each transaction creates `new1` and counts, then does what `rest` says.
    let new_and_counted = |rest: Vec<TxOp>| {
        let mut ops = vec![
            TxOp::Put(item("P", "new1"), Condition::NotExists),
            TxOp::Update(
                Key::new("P", "counter"),
                Update::default().add("n", 1),
                Condition::None,
            ),
        ];
        ops.extend(rest);
        ops
    };
    let ops = new_and_counted(vec![TxOp::Put(
        item("P", "exists").with("changed", 1i64),
        Condition::NotExists,
    )]);
    match f.table.transact(ops).await {
        Err(TableError::TransactionCancelled { failed }) => {
            assert_eq!(failed, vec![false, false, true])
        }
        other => panic!("expected a cancellation, got {other:?}"),
    }
    assert_eq!(f.get("P", "new1").await, None);
    assert_eq!(f.get("P", "counter").await, None);
    assert_eq!(f.get("P", "exists").await.unwrap().n("changed"), None);

    let ops = new_and_counted(vec![
        TxOp::Check(Key::new("P", "exists"), Condition::Exists),
        TxOp::Delete(Key::new("P", "gone"), Condition::None),
    ]);
    f.table.transact(ops).await.unwrap();
    assert!(f.get("P", "new1").await.is_some());
    assert_eq!(f.get("P", "counter").await.unwrap().n("n"), Some(1));
}

pub async fn a_transaction_may_not_name_an_item_twice(f: &TableFixture) {
    let ops = vec![
        TxOp::Put(item("P", "a"), Condition::None),
        TxOp::Update(
            Key::new("P", "a"),
            Update::default().add("n", 1),
            Condition::None,
        ),
    ];
    assert!(matches!(
        f.table.transact(ops).await,
        Err(TableError::Invalid(_))
    ));
    assert_eq!(f.get("P", "a").await, None);
}

/// Every check above, by name, for the macro.
#[macro_export]
macro_rules! table_conformance {
    ($make:expr) => {
        $crate::conformance_tests!(
            $crate::conformance::table,
            $make,
            [
                put_then_get_returns_the_item,
                get_of_a_missing_item_is_none,
                put_replaces_every_attribute,
                a_put_that_must_not_exist_fails_on_an_existing_item,
                attribute_conditions_compare_exact_values,
                either_of_several_conditions_may_hold,
                every_one_of_several_conditions_must_hold,
                deletes_honour_their_condition,
                updates_create_missing_items_and_add_to_counters,
                an_update_with_a_failed_condition_changes_nothing,
                concurrent_counter_updates_lose_nothing,
                concurrent_conditional_puts_have_exactly_one_winner,
                queries_return_one_partition_in_byte_order,
                sort_key_conditions_select_prefixes_and_inclusive_ranges,
                paging_returns_every_item_once_in_order,
                secondary_indexes_follow_their_items,
                index_ranges_take_every_item_at_their_ends,
                transactions_apply_all_or_nothing,
                a_transaction_may_not_name_an_item_twice,
                sharded_day_listings_merge_in_time_order,
            ]
        );
    };
}

/// `Store::query_buckets` over a day's shards: every item once, in time order across the
/// shards and the days, whatever the page size, even when one shard holds most of a day
/// (its pages run ahead of the others').
pub async fn sharded_day_listings_merge_in_time_order(f: &TableFixture) {
    use upline_domain::clock::{Day, Timestamp};
    use upline_domain::store::{Store, keys};

    let days = [Day(20_400), Day(20_401), Day(20_402)];
    let mut written: Vec<(usize, String)> = Vec::new();
    let mut put = |day_at: usize, partition: String, millis: i64, id: String| {
        let sk = keys::time_ordered(Timestamp(millis), &id);
        written.push((day_at, sk.clone()));
        Item::new(Key::new(format!("CONVERSION#{id}"), "CONVERSION"))
            .with("gsi2pk", partition)
            .with("gsi2sk", sk)
    };
    let mut items = Vec::new();
    let first = keys::conversions_of_day(days[0]);
    let base = i64::from(days[0].0) * 86_400_000;
    for i in 0..12 {
        items.push(put(
            0,
            first[0].clone(),
            base + i * 1000,
            format!("a{i:02}"),
        ));
    }
    for i in 0..4 {
        items.push(put(
            0,
            first[7].clone(),
            base + i * 2500 + 1,
            format!("b{i}"),
        ));
    }
    // Written before the day was sharded.
    let legacy = first.last().unwrap().clone();
    for i in 0..2 {
        items.push(put(0, legacy.clone(), base + i * 7000 + 2, format!("c{i}")));
    }
    // Nothing on the middle day; the last day's shards tie on time and order by id.
    let third = keys::conversions_of_day(days[2]);
    let base = i64::from(days[2].0) * 86_400_000;
    for shard in [3usize, 4, 5] {
        for i in 0..2 {
            items.push(put(
                2,
                third[shard].clone(),
                base + i,
                format!("d{shard}{i}"),
            ));
        }
    }
    for item in items {
        f.put(item).await;
    }
    let store = Store::new(f.table.clone());
    for forward in [false, true] {
        let mut buckets: Vec<Vec<String>> =
            days.iter().map(|d| keys::conversions_of_day(*d)).collect();
        let mut expected = written.clone();
        expected.sort();
        if !forward {
            buckets.reverse();
            expected.sort_by(|a, b| b.cmp(a));
        }
        let expected: Vec<String> = expected.into_iter().map(|(_, sk)| sk).collect();
        for limit in [1, 5, 50] {
            let mut got = Vec::new();
            let mut cursor: Option<String> = None;
            for _ in 0..100 {
                let page = store
                    .query_buckets(Index::Gsi2, &buckets, forward, limit, cursor.as_deref())
                    .await
                    .unwrap();
                assert!(page.items.len() <= limit, "a page holds at most the limit");
                got.extend(
                    page.items
                        .iter()
                        .map(|i| i.s("gsi2sk").unwrap().to_string()),
                );
                cursor = page.next;
                if cursor.is_none() {
                    break;
                }
            }
            assert_eq!(got, expected, "forward {forward}, limit {limit}");
        }
    }
}
