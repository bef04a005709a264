//! The Table port on redb: items keyed by (pk, sk), the two secondary indexes kept in the
//! same write transaction as the items they point to, conditions evaluated inside that
//! transaction. redb allows one writer at a time, so every write and transaction is
//! serialisable, which is at least as strong as DynamoDB's guarantees.

mod items;
mod query;
mod write;

use async_trait::async_trait;
use upline_domain::ports::{
    Condition, Index, Item, Key, Page, QueueName, SortKeyCondition, Table, TableError, TxOp, Update,
};

use crate::EmbeddedStore;
use items::{ITEMS, decode_item};
use write::{single, transact};

pub(crate) use items::storage;
pub use query::decode_cursor;

#[async_trait]
impl Table for EmbeddedStore {
    async fn get(&self, key: &Key) -> Result<Option<Item>, TableError> {
        let txn = self.begin_read()?;
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
        // A page walks only the condition's keys and stops one past the limit, so it reads
        // on the caller's thread like a point read (see `EmbeddedStore::begin_read`).
        self.query_sync(index, partition, condition, forward, limit, cursor)
    }

    async fn put(&self, item: Item, condition: Condition) -> Result<(), TableError> {
        self.write(move |txn| single(txn, TxOp::Put(item, condition)).map(|_| ()))
            .await
    }

    async fn update(
        &self,
        key: &Key,
        update: Update,
        condition: Condition,
    ) -> Result<Item, TableError> {
        let key = key.clone();
        self.write(move |txn| {
            single(txn, TxOp::Update(key, update, condition))
                .map(|i| i.expect("an update leaves an item"))
        })
        .await
    }

    async fn delete(&self, key: &Key, condition: Condition) -> Result<(), TableError> {
        let key = key.clone();
        self.write(move |txn| single(txn, TxOp::Delete(key, condition)).map(|_| ()))
            .await
    }

    async fn transact(&self, ops: Vec<TxOp>) -> Result<(), TableError> {
        self.write(move |txn| transact(txn, ops)).await
    }

    /// The queue lives in this database, so the announcement is written in the
    /// transaction's own commit: the outbox rows are the queue's messages.
    async fn transact_announcing(
        &self,
        ops: Vec<TxOp>,
        queue: QueueName,
        bodies: Vec<String>,
    ) -> Result<Vec<String>, TableError> {
        if bodies
            .iter()
            .any(|b| b.len() > crate::queue::MAX_BODY_BYTES)
        {
            // Stored alone, and the send refuses the body as it would have anyway.
            self.transact(ops).await?;
            return Ok(bodies);
        }
        let now_ms = self.inner.clock.now().millis();
        self.write(move |txn| {
            transact(txn, ops)?;
            crate::queue::enqueue(txn, queue, bodies, now_ms)
                .map_err(|e| TableError::Unavailable(e.to_string()))
        })
        .await?;
        self.announce_arrival(queue);
        Ok(vec![])
    }

    fn transaction_limit(&self) -> usize {
        write::TRANSACTION_LIMIT
    }
}
