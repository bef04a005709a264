//! Group commit: every write to the store goes through one writer thread, which takes all
//! the writes waiting when it gets to them, runs them in one redb transaction and commits
//! once. A commit (and its fsync) is the expensive part of a write; while one group
//! commits, the next one gathers, so concurrent clicks, postbacks and acknowledgements
//! share their commits instead of queueing for one each.
//!
//! The promises of a write alone still hold:
//! - A caller hears back only after its group's commit returned: an `Ok` is durable.
//! - A write whose condition fails has written nothing (every write checks before it
//!   writes), so it fails alone and the rest of its group commits.
//! - A write that fails in storage may have written part of its change, so its whole group
//!   is abandoned and every member hears `Unavailable` (and may retry); nobody is told a
//!   change is stored that was not. The same holds when the commit itself fails.

use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::sync::mpsc;
use std::thread::JoinHandle;

use redb::{Database, WriteTransaction};
use tokio::sync::oneshot;
use upline_domain::ports::{QueueError, TableError};

/// How many writes one commit takes at most: enough to absorb a burst, few enough that a
/// group's transaction stays small.
const MAX_GROUP: usize = 512;

/// An error a write may end with, told apart by whether the transaction is still clean.
pub(crate) trait WriteError: Send + 'static {
    /// Whether the write ended before changing anything (a refused condition or request),
    /// so the rest of its group may commit.
    fn wrote_nothing(&self) -> bool;
    /// The error a write gets when its group could not be committed.
    fn group_failed(why: String) -> Self;
}

impl WriteError for TableError {
    fn wrote_nothing(&self) -> bool {
        matches!(
            self,
            TableError::ConditionFailed
                | TableError::TransactionCancelled { .. }
                | TableError::Invalid(_)
                | TableError::BadCursor
        )
    }

    fn group_failed(why: String) -> Self {
        TableError::Unavailable(why)
    }
}

impl WriteError for QueueError {
    fn wrote_nothing(&self) -> bool {
        matches!(self, QueueError::TooLarge(_))
    }

    fn group_failed(why: String) -> Self {
        QueueError::Unavailable(why)
    }
}

/// Answers a write's caller once its group's fate is known (`Some(why)`: the group was
/// not committed).
type Answer = Box<dyn FnOnce(Option<&str>) + Send>;

/// What a write leaves once it ran: whether it spoilt the transaction, and its answer.
struct Ran {
    spoilt: bool,
    answer: Answer,
}

/// A write waiting for the writer: it runs against the group's transaction, or is told
/// why there is none.
type Job = Box<dyn FnOnce(Result<&WriteTransaction, &str>) -> Ran + Send>;

/// The writer thread and the line of writes waiting for it.
pub(crate) struct GroupWriter {
    jobs: Option<mpsc::Sender<Job>>,
    thread: Option<JoinHandle<()>>,
}

impl GroupWriter {
    pub(crate) fn start(db: Arc<Database>) -> std::io::Result<Self> {
        let (jobs, line) = mpsc::channel::<Job>();
        let thread = std::thread::Builder::new()
            .name("upline-store-writer".into())
            .spawn(move || write_groups(&db, &line))?;
        Ok(GroupWriter {
            jobs: Some(jobs),
            thread: Some(thread),
        })
    }

    /// Runs `change` in the next group's transaction; resolves once that group committed
    /// (or failed). `change` must check before it writes: an error it returns for which
    /// [`WriteError::wrote_nothing`] is false abandons its group.
    pub(crate) async fn write<T, E>(
        &self,
        change: impl FnOnce(&WriteTransaction) -> Result<T, E> + Send + 'static,
    ) -> Result<T, E>
    where
        T: Send + 'static,
        E: WriteError,
    {
        let (reply, answer) = oneshot::channel::<Result<T, E>>();
        let job: Job = Box::new(move |txn| {
            let result = match txn {
                Ok(txn) => change(txn),
                Err(why) => Err(E::group_failed(why.to_string())),
            };
            let spoilt = result.as_ref().is_err_and(|e| !e.wrote_nothing());
            Ran {
                spoilt,
                answer: Box::new(move |failed| {
                    let result = match failed {
                        Some(why) => Err(E::group_failed(why.to_string())),
                        None => result,
                    };
                    let _ = reply.send(result);
                }),
            }
        });
        let sent = self.jobs.as_ref().map(|jobs| jobs.send(job));
        if !matches!(sent, Some(Ok(()))) {
            return Err(E::group_failed("the store's writer has stopped".into()));
        }
        answer.await.unwrap_or_else(|_| {
            Err(E::group_failed(
                "the store's writer dropped the write (it panicked)".into(),
            ))
        })
    }
}

impl Drop for GroupWriter {
    /// Lets the writer finish the writes already handed to it, then waits for it, so the
    /// database file is closed when the store is.
    fn drop(&mut self) {
        self.jobs.take();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// The writer thread: a group is every write waiting when the previous commit returned.
fn write_groups(db: &Database, line: &mpsc::Receiver<Job>) {
    while let Ok(first) = line.recv() {
        let mut group = vec![first];
        while group.len() < MAX_GROUP {
            match line.try_recv() {
                Ok(job) => group.push(job),
                Err(_) => break,
            }
        }
        commit_group(db, group);
    }
}

fn commit_group(db: &Database, group: Vec<Job>) {
    let txn = match db.begin_write() {
        Ok(txn) => txn,
        Err(e) => {
            let why = format!("cannot start a write: {e}");
            for job in group {
                (job(Err(&why)).answer)(Some(&why));
            }
            return;
        }
    };
    let mut answers = Vec::with_capacity(group.len());
    let mut spoilt = false;
    for job in group {
        // A write that panics has lost its answer (its caller hears the writer dropped it)
        // and may have written half its change: the group is abandoned.
        match std::panic::catch_unwind(AssertUnwindSafe(|| job(Ok(&txn)))) {
            Ok(ran) => {
                spoilt |= ran.spoilt;
                answers.push(ran.answer);
            }
            Err(_) => spoilt = true,
        }
    }
    let failed = if spoilt {
        drop(txn); // aborts: nothing of the group is written
        Some("a write of the group failed in storage; nothing of the group was stored".into())
    } else {
        txn.commit()
            .err()
            .map(|e| format!("the commit failed: {e}"))
    };
    if let Some(why) = &failed {
        tracing::error!(writes = answers.len(), error = %why, "a group of writes was not stored");
    }
    for answer in answers {
        answer(failed.as_deref());
    }
}
