//! The Mailer port as a folder: each email becomes an RFC 5322 `.eml` file (text and HTML
//! alternatives) that any mail client opens. Files are named after the email's
//! idempotency key; a second send of the same key gets a numbered file, so a duplicate
//! would show rather than hide.
//!
//! A send returns only once its file is on disk under its final name, because the email
//! stage records the email as sent right after. Making each file durable alone cost an
//! `fsync` per email, which bounded the local pipeline; instead sends are written and
//! synced in groups, like the store's commits (`group.rs`): one outbox thread takes every
//! message waiting, writes each to a temporary file, flushes their data, renames them into
//! place and flushes again, then answers each. A crash leaves at most temporary files
//! (names starting with a dot), never half a message under an `.eml` name.
//!
//! The files are created by that one thread rather than by each sender because creating a
//! file takes the folder's lock: with senders creating files side by side, a profile of
//! the local pipeline showed a third of the file creations' time spinning on that lock,
//! and a blocking-pool thread handed each file besides.

use std::path::{Path, PathBuf};
use std::sync::mpsc;

use async_trait::async_trait;
use tokio::sync::oneshot;
use upline_domain::clock::{Clock, SystemClock};
use upline_domain::emails::{file_stem, mime_message};
use upline_domain::ports::{MailError, Mailer, OutgoingEmail};

/// At most this many messages are placed per sync, so one group cannot grow without end.
const MAX_GROUP: usize = 512;

pub struct OutboxMailer {
    dir: PathBuf,
    from: String,
    outbox: mpsc::Sender<Waiting>,
}

/// A rendered message waiting for the outbox thread to write it and make it durable
/// under its name.
struct Waiting {
    stem: String,
    eml: String,
    placed: oneshot::Sender<std::io::Result<PathBuf>>,
}

/// A message in its temporary file, written but not yet synced.
struct Written {
    tmp: PathBuf,
    stem: String,
    placed: oneshot::Sender<std::io::Result<PathBuf>>,
}

impl OutboxMailer {
    pub fn new(dir: PathBuf, from: String) -> std::io::Result<Self> {
        crate::private::private_dir(&dir)?;
        // Temporary files left by a crash were never answered as sent: their emails are
        // sent again, so the files only take space (and names).
        for entry in std::fs::read_dir(&dir)?.flatten() {
            let name = entry.file_name();
            let name = name.to_string_lossy();
            if name.starts_with('.') && name.ends_with(".tmp") {
                let _ = std::fs::remove_file(entry.path());
            }
        }
        let (outbox, waiting) = mpsc::channel();
        let outbox_dir = dir.clone();
        std::thread::Builder::new()
            .name("upline-outbox-sync".into())
            .spawn(move || write_groups(&outbox_dir, &waiting))?;
        Ok(OutboxMailer { dir, from, outbox })
    }

    pub fn dir(&self) -> &std::path::Path {
        &self.dir
    }
}

#[async_trait]
impl Mailer for OutboxMailer {
    async fn send(&self, email: &OutgoingEmail) -> Result<(), MailError> {
        if !email.to.contains('@') {
            return Err(MailError::Rejected(format!(
                "{:?} is not an address",
                email.to
            )));
        }
        let eml = mime_message(&self.from, email, SystemClock.now());
        let stem = file_stem(&email.idempotency_key);
        let (placed, answer) = oneshot::channel();
        let stopped = || MailError::Transient("the outbox writer has stopped".into());
        self.outbox
            .send(Waiting { stem, eml, placed })
            .map_err(|_| stopped())?;
        answer
            .await
            .map_err(|_| stopped())?
            .map(|_| ())
            .map_err(|e| MailError::Transient(format!("outbox write failed: {e}")))
    }
}

/// Writes a new owner-only file without waiting for the disk: the outbox thread syncs the
/// whole group at once. A file this call did not create is left alone.
fn write_unsynced(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    let written = file
        .write_all(bytes)
        .and_then(|()| crate::private::private_open_file(&file));
    if written.is_err() {
        let _ = std::fs::remove_file(path);
    }
    written
}

/// The outbox thread: until every mailer is dropped, takes the messages waiting, writes
/// them, makes them durable and answers each.
fn write_groups(dir: &Path, waiting: &mpsc::Receiver<Waiting>) {
    // Temporary names differ from any a previous run of this folder used.
    let mut n = SystemClock.now().millis().unsigned_abs() << 16;
    while let Ok(first) = waiting.recv() {
        let mut group = vec![first];
        while group.len() < MAX_GROUP {
            match waiting.try_recv() {
                Ok(next) => group.push(next),
                Err(_) => break,
            }
        }
        let group: Vec<Written> = group
            .into_iter()
            .filter_map(|w| {
                n += 1;
                let tmp = dir.join(format!(".{}.{n}.tmp", w.stem));
                match write_unsynced(&tmp, w.eml.as_bytes()) {
                    Ok(()) => Some(Written {
                        tmp,
                        stem: w.stem,
                        placed: w.placed,
                    }),
                    Err(e) => {
                        let _ = w.placed.send(Err(e));
                        None
                    }
                }
            })
            .collect();
        if group.is_empty() {
            continue;
        }
        let tmps: Vec<&Path> = group.iter().map(|w| w.tmp.as_path()).collect();
        // The data first, so a name never points at a message that is not all there.
        if let Err(e) = flush(dir, &tmps) {
            for w in group {
                let _ = std::fs::remove_file(&w.tmp);
                let _ = w.placed.send(Err(copy_error(&e)));
            }
            continue;
        }
        let placed: Vec<(Written, std::io::Result<PathBuf>)> = group
            .into_iter()
            .map(|w| {
                let path = place(dir, &w.tmp, &w.stem);
                if path.is_err() {
                    let _ = std::fs::remove_file(&w.tmp);
                }
                (w, path)
            })
            .collect();
        // Then the names: once this returns, every renamed message survives a crash. The
        // files already show under their names, so a failure here would have every one
        // sent again as a numbered duplicate: worth a second try.
        let names = flush(dir, &[]).or_else(|_| flush(dir, &[]));
        for (w, path) in placed {
            let result = match (&names, path) {
                (Ok(()), path) => path,
                (Err(e), _) => Err(copy_error(e)),
            };
            let _ = w.placed.send(result);
        }
    }
}

/// Renames a synced temporary file to its message's name: the first free of `stem.eml`,
/// `stem.2.eml`, … (only this thread names files, so two sends cannot take one name).
fn place(dir: &Path, tmp: &Path, stem: &str) -> std::io::Result<PathBuf> {
    let mut path = dir.join(format!("{stem}.eml"));
    let mut n = 1;
    while path.exists() {
        n += 1;
        path = dir.join(format!("{stem}.{n}.eml"));
    }
    std::fs::rename(tmp, &path)?;
    Ok(path)
}

/// Makes the files written so far (and the folder's names) durable. On Linux one
/// `syncfs` covers the whole group; elsewhere each file, then the folder.
fn flush(dir: &Path, files: &[&Path]) -> std::io::Result<()> {
    let folder = std::fs::File::open(dir)?;
    #[cfg(target_os = "linux")]
    {
        let _ = files;
        rustix::fs::syncfs(&folder)?;
    }
    #[cfg(not(target_os = "linux"))]
    {
        for file in files {
            std::fs::File::open(file)?.sync_all()?;
        }
        folder.sync_all()?;
    }
    Ok(())
}

fn copy_error(e: &std::io::Error) -> std::io::Error {
    std::io::Error::new(e.kind(), e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn email(key: &str) -> OutgoingEmail {
        OutgoingEmail {
            to: "ada@example.com".into(),
            subject: format!("About {key}"),
            text: format!("Text of {key}"),
            html: format!("<p>HTML of {key}</p>"),
            idempotency_key: key.into(),
            unsubscribe_url: None,
            tags: Vec::new(),
        }
    }

    /// Sends arriving together share syncs, yet each ends as one whole file under its own
    /// name, a repeated key gets a numbered file, and nothing temporary is left.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_sends_each_end_as_a_whole_named_file() {
        let dir = tempfile::tempdir().unwrap();
        let outbox = std::sync::Arc::new(
            OutboxMailer::new(dir.path().join("outbox"), "Demo <p@example.com>".into()).unwrap(),
        );
        let mut sends = tokio::task::JoinSet::new();
        for i in 0..60 {
            let outbox = outbox.clone();
            sends.spawn(async move { outbox.send(&email(&format!("email-{i:02}"))).await });
        }
        for _ in 0..3 {
            let outbox = outbox.clone();
            sends.spawn(async move { outbox.send(&email("email-again")).await });
        }
        while let Some(sent) = sends.join_next().await {
            sent.unwrap().unwrap();
        }
        let mut names: Vec<String> = std::fs::read_dir(outbox.dir())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        assert_eq!(names.len(), 63, "{names:?}");
        assert!(names.iter().all(|n| n.ends_with(".eml")), "{names:?}");
        let again: Vec<&String> = names.iter().filter(|n| n.contains("again")).collect();
        assert_eq!(again.len(), 3, "{again:?}");
        for i in [0, 17, 59] {
            let key = format!("email-{i:02}");
            let eml = std::fs::read_to_string(outbox.dir().join(format!("{key}.eml"))).unwrap();
            assert!(eml.contains(&format!("About {key}")), "{eml}");
            assert!(eml.contains(&format!("Text of {key}")), "{eml}");
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn an_address_without_an_at_sign_is_rejected_before_any_file_is_written() {
        let dir = tempfile::tempdir().unwrap();
        let outbox =
            OutboxMailer::new(dir.path().join("outbox"), "Demo <p@example.com>".into()).unwrap();
        let mut bad = email("email-bad");
        bad.to = "nobody".into();
        assert!(matches!(
            outbox.send(&bad).await,
            Err(MailError::Rejected(_))
        ));
        assert_eq!(std::fs::read_dir(outbox.dir()).unwrap().count(), 0);
    }
}
