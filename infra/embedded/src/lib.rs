//! Embedded adapters: Upline's ports on the local machine, with no AWS account and no
//! Docker. One redb file holds the table and the queues ([`EmbeddedStore`] implements
//! both the Table and the Queue ports); emails land as `.eml` files in an outbox folder
//! ([`OutboxMailer`]).
//!
//! redb was chosen because it is pure Rust (nothing to install), ACID with a crash-safe
//! copy-on-write B-tree, has a stable file format, and offers ordered range scans over
//! composite keys — exactly the shape of a DynamoDB table and its indexes.

mod group;
mod outbox;
pub mod private;
mod queue;
mod table;

use std::path::Path;
use std::sync::Arc;

use tokio::sync::Notify;
use upline_domain::clock::Clock;
use upline_domain::ports::{QueueName, TableError};

pub use outbox::OutboxMailer;
pub use table::decode_cursor;

/// How many times a message is received before it goes to the dead-letter area, unless
/// configured otherwise (SQS's `maxReceiveCount`).
pub const DEFAULT_MAX_RECEIVES: u32 = 5;

/// A redb database serving the Table and Queue ports. Cheap to clone.
#[derive(Clone)]
pub struct EmbeddedStore {
    inner: Arc<Inner>,
}

struct Inner {
    /// Every write goes through here (group commit); reads open their own transactions
    /// on the caller's thread.
    writer: group::GroupWriter,
    db: Arc<redb::Database>,
    clock: Arc<dyn Clock>,
    max_receives: u32,
    /// Woken on every send, so idle consumers react at once instead of polling.
    arrivals: [Notify; QueueName::ALL.len()],
}

/// Observes whether a store's file has been closed (all clones dropped), so a process can
/// reopen it — a restart — without racing the last in-flight user.
#[derive(Clone)]
pub struct CloseWatch(std::sync::Weak<Inner>);

impl CloseWatch {
    pub fn is_closed(&self) -> bool {
        self.0.strong_count() == 0
    }
}

#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    #[error("cannot open the store at {path}: {reason}")]
    Open { path: String, reason: String },
}

impl EmbeddedStore {
    /// Opens (or creates) the store file at `path`.
    pub fn open(path: &Path, clock: Arc<dyn Clock>, max_receives: u32) -> Result<Self, OpenError> {
        let db = redb::Database::create(path).map_err(|e| OpenError::Open {
            path: path.display().to_string(),
            reason: e.to_string(),
        })?;
        private::private_file(path).map_err(|e| OpenError::Open {
            path: path.display().to_string(),
            reason: format!("cannot make it owner-only: {e}"),
        })?;
        let fail = |reason: String| OpenError::Open {
            path: path.display().to_string(),
            reason,
        };
        queue::index_visible_messages(&db).map_err(|e| fail(e.to_string()))?;
        let db = Arc::new(db);
        let writer = group::GroupWriter::start(db.clone())
            .map_err(|e| fail(format!("cannot start the writer thread: {e}")))?;
        Ok(EmbeddedStore {
            inner: Arc::new(Inner {
                writer,
                db,
                clock,
                max_receives,
                arrivals: std::array::from_fn(|_| Notify::new()),
            }),
        })
    }

    /// A handle that tells when every clone of this store is gone and the file is closed.
    pub fn close_watch(&self) -> CloseWatch {
        CloseWatch(Arc::downgrade(&self.inner))
    }

    /// Runs `change` in the writer's next group commit (see [`group`]).
    async fn write<T: Send + 'static, E: group::WriteError>(
        &self,
        change: impl FnOnce(&redb::WriteTransaction) -> Result<T, E> + Send + 'static,
    ) -> Result<T, E> {
        self.inner.writer.write(change).await
    }

    /// Starts a read. Table reads run on the caller's (async) thread: a redb read does not
    /// wait for the writer's transaction or its sync (at most, briefly, for a page being
    /// written out), and a point read or a page takes microseconds, less than handing it
    /// to the blocking pool and back did. That hand-off (a thread woken per read, hundreds
    /// of pool threads under load) halved the local pipeline's throughput.
    fn begin_read(&self) -> Result<redb::ReadTransaction, TableError> {
        use redb::ReadableDatabase;
        self.inner.db.begin_read().map_err(table::storage)
    }

    /// Wakes `queue`'s idle consumers: every one waiting now, and, through a stored permit,
    /// the next one to wait. Without the permit a message sent between a consumer's empty
    /// receive and the start of its wait went unnoticed until the wait timed out.
    fn announce_arrival(&self, queue: QueueName) {
        let arrivals = self.arrivals(queue);
        arrivals.notify_waiters();
        arrivals.notify_one();
    }

    fn arrivals(&self, queue: QueueName) -> &Notify {
        let i = QueueName::ALL
            .iter()
            .position(|q| *q == queue)
            .expect("listed");
        &self.inner.arrivals[i]
    }

    /// Runs redb's synchronous work off the async executor's threads: for the scans whose
    /// length has no bound (the dead-letter area).
    async fn blocking<T: Send + 'static, E: From<TableError> + Send + 'static>(
        &self,
        f: impl FnOnce(&EmbeddedStore) -> Result<T, E> + Send + 'static,
    ) -> Result<T, E> {
        let store = self.clone();
        tokio::task::spawn_blocking(move || f(&store))
            .await
            .map_err(|e| E::from(TableError::Unavailable(format!("store task failed: {e}"))))?
    }
}
