//! Settings read once per batch: a Table over another that remembers, for as long as it
//! lives, the settings items it has read — the program, its campaigns and exchange rates
//! (all in the `PROGRAM` partition) and terms overrides. The commission stage wraps its
//! table in one per batch of messages, so a batch reads each setting once instead of once
//! per conversion: on DynamoDB that keeps the `PROGRAM` partition far under its read rate
//! at thousands of sales a second (`docs/data-model.md`).
//!
//! An operator's change reaches the next batch, at most one batch late. Everything else
//! (partners, caps, tier volume, conversions) is read through every time: those change
//! under the batch and some are re-checked by conditions when written.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use futures::FutureExt;
use futures::future::{BoxFuture, Shared};

use crate::ports::{
    Condition, Index, Item, Key, Page, QueueName, SortKeyCondition, Table, TableError, TxOp, Update,
};

/// Whether `key` is a setting this cache keeps.
fn is_setting(key: &Key) -> bool {
    key.pk == "PROGRAM" || (key.pk.starts_with("CAMPAIGN#") && key.sk.starts_with("TERMS#"))
}

/// One read of a setting, awaited by every handler of the batch that asks for it: the
/// batch's handlers run at once, and would otherwise all miss together.
type Read = Shared<BoxFuture<'static, Result<Option<Item>, TableError>>>;

pub struct BatchReads {
    inner: Arc<dyn Table>,
    /// Settings read or being read (`None`: read and absent).
    seen: Mutex<HashMap<Key, Read>>,
}

impl BatchReads {
    pub fn new(inner: Arc<dyn Table>) -> Self {
        BatchReads {
            inner,
            seen: Mutex::new(HashMap::new()),
        }
    }

    /// A write through this table makes its own reads of that key current again.
    fn forget(&self, key: &Key) {
        if is_setting(key) {
            self.seen.lock().expect("not poisoned").remove(key);
        }
    }

    /// Forgets every key a transaction writes, before it runs; returns them to be
    /// forgotten again once it has (a read may have started in between).
    fn forget_all(&self, ops: &[TxOp]) -> Vec<Key> {
        let keys: Vec<Key> = ops.iter().map(|op| op.key().clone()).collect();
        self.forget_keys(&keys);
        keys
    }

    fn forget_keys(&self, keys: &[Key]) {
        keys.iter().for_each(|key| self.forget(key));
    }
}

#[async_trait]
impl Table for BatchReads {
    async fn get(&self, key: &Key) -> Result<Option<Item>, TableError> {
        if !is_setting(key) {
            return self.inner.get(key).await;
        }
        let read = self
            .seen
            .lock()
            .expect("not poisoned")
            .entry(key.clone())
            .or_insert_with(|| {
                let (inner, key) = (self.inner.clone(), key.clone());
                async move { inner.get(&key).await }.boxed().shared()
            })
            .clone();
        let item = read.await;
        if item.is_err() {
            // A failed read is not remembered: the next asks the table again.
            self.forget(key);
        }
        item
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
        self.inner
            .query(index, partition, condition, forward, limit, cursor)
            .await
    }

    async fn put(&self, item: Item, condition: Condition) -> Result<(), TableError> {
        let key = item.key.clone();
        self.forget(&key);
        let written = self.inner.put(item, condition).await;
        // Again once written: a read that started meanwhile may hold the old value.
        self.forget(&key);
        written
    }

    async fn update(
        &self,
        key: &Key,
        update: Update,
        condition: Condition,
    ) -> Result<Item, TableError> {
        self.forget(key);
        let written = self.inner.update(key, update, condition).await;
        self.forget(key);
        written
    }

    async fn delete(&self, key: &Key, condition: Condition) -> Result<(), TableError> {
        self.forget(key);
        let written = self.inner.delete(key, condition).await;
        self.forget(key);
        written
    }

    async fn transact(&self, ops: Vec<TxOp>) -> Result<(), TableError> {
        let keys = self.forget_all(&ops);
        let written = self.inner.transact(ops).await;
        self.forget_keys(&keys);
        written
    }

    async fn transact_announcing(
        &self,
        ops: Vec<TxOp>,
        queue: QueueName,
        bodies: Vec<String>,
    ) -> Result<Vec<String>, TableError> {
        let keys = self.forget_all(&ops);
        let written = self.inner.transact_announcing(ops, queue, bodies).await;
        self.forget_keys(&keys);
        written
    }

    fn transaction_limit(&self) -> usize {
        self.inner.transaction_limit()
    }
}
