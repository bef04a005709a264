//! A table whose transactions can be made to fail, over a real one: what a write that
//! half happened looks like to the code that runs again after it (single writes still
//! land; the transaction does not).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use async_trait::async_trait;
use upline_domain::ports::{
    Condition, Index, Item, Key, Page, SortKeyCondition, Table, TableError, TxOp, Update,
};

pub struct FailingTransactions {
    inner: Arc<dyn Table>,
    failing: AtomicBool,
}

impl FailingTransactions {
    /// Over `inner`, with transactions failing until [`FailingTransactions::recover`].
    pub fn over(inner: Arc<dyn Table>) -> Self {
        FailingTransactions {
            inner,
            failing: AtomicBool::new(true),
        }
    }

    pub fn recover(&self) {
        self.failing.store(false, Ordering::SeqCst);
    }
}

#[async_trait]
impl Table for FailingTransactions {
    async fn get(&self, key: &Key) -> Result<Option<Item>, TableError> {
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
