//! A table over a real one for tests that watch or break it: it counts the reads of each
//! key, and its transactions can be made to fail, which is what a write that half
//! happened looks like to the code that runs again after it (single writes still land;
//! the transaction does not).

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use upline_domain::ports::{
    Condition, Index, Item, Key, Page, SortKeyCondition, Table, TableError, TxOp, Update,
};

pub struct WatchedTable {
    inner: Arc<dyn Table>,
    failing: AtomicBool,
    reads: Mutex<HashMap<Key, usize>>,
}

impl WatchedTable {
    /// Over `inner`, counting reads, with transactions going through.
    pub fn over(inner: Arc<dyn Table>) -> Self {
        WatchedTable {
            inner,
            failing: AtomicBool::new(false),
            reads: Mutex::default(),
        }
    }

    /// Transactions fail from now until [`WatchedTable::recover`].
    pub fn fail_transactions(&self) {
        self.failing.store(true, Ordering::SeqCst);
    }

    pub fn recover(&self) {
        self.failing.store(false, Ordering::SeqCst);
    }

    /// How often `key` was read.
    pub fn reads_of(&self, key: &Key) -> usize {
        self.reads.lock().unwrap().get(key).copied().unwrap_or(0)
    }
}

#[async_trait]
impl Table for WatchedTable {
    async fn get(&self, key: &Key) -> Result<Option<Item>, TableError> {
        *self.reads.lock().unwrap().entry(key.clone()).or_default() += 1;
        self.inner.get(key).await
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
        self.inner.put(item, condition).await
    }

    async fn update(
        &self,
        key: &Key,
        update: Update,
        condition: Condition,
    ) -> Result<Item, TableError> {
        self.inner.update(key, update, condition).await
    }

    async fn delete(&self, key: &Key, condition: Condition) -> Result<(), TableError> {
        self.inner.delete(key, condition).await
    }

    async fn transact(&self, ops: Vec<TxOp>) -> Result<(), TableError> {
        if self.failing.load(Ordering::SeqCst) {
            return Err(TableError::Unavailable("failing on purpose".into()));
        }
        self.inner.transact(ops).await
    }

    fn transaction_limit(&self) -> usize {
        self.inner.transaction_limit()
    }
}
