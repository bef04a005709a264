//! Idempotency keys on requests that create or change something, with Stripe's rules: a
//! caller that sends `Idempotency-Key` gets, for a repeat with the same key and the same
//! request, the answer the first one got (the API key an approval showed once, say) —
//! kept 24 hours; the same key with another request is refused; while the first is
//! still running a repeat is told so (409) instead of running twice. Keys belong to the
//! caller that used them: the same key from two callers is two keys.
//!
//! The record is claimed with a conditional put before the request runs, so concurrent
//! requests with one key have exactly one execution. A claim whose process died is taken
//! over once its lease has passed. Answers kept are sealed like other secrets, since
//! some carry keys.

use sha2::{Digest, Sha256};

use crate::error::AppError;
use crate::ports::{Attr, Condition, Item, Key, TableError};
use crate::services::Services;

/// How long an answer is kept for replay.
pub const KEEP_SECS: i64 = 24 * 3600;
/// How long a claim holds before another request may take it over (a process that died
/// mid-request never completes its claim).
pub const LEASE_MILLIS: i64 = 60_000;
/// The longest key accepted.
pub const MAX_KEY_CHARS: usize = 255;

const PURPOSE: &str = "idempotency.answer";

/// The answer kept for replay.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeptAnswer {
    pub status: u16,
    pub content_type: Option<String>,
    pub body: String,
}

/// What to do with a request that carries a key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Claim {
    /// First time: run it, then [`complete`] or [`release`].
    Run,
    /// Done before: answer as then.
    Replay(KeptAnswer),
    /// The first request with this key is still running.
    InProgress,
    /// The key was used with a different request.
    Mismatch,
}

/// Checks the header's value: 1 to 255 printable ASCII characters.
pub fn parse_key(text: &str) -> Result<&str, AppError> {
    let ok = !text.is_empty()
        && text.len() <= MAX_KEY_CHARS
        && text.bytes().all(|b| b.is_ascii_graphic());
    if ok {
        Ok(text)
    } else {
        Err(AppError::field(
            "Idempotency-Key",
            format!("must be 1 to {MAX_KEY_CHARS} printable characters without spaces"),
        ))
    }
}

fn hash(parts: &[&[u8]]) -> String {
    let mut h = Sha256::new();
    for p in parts {
        h.update((p.len() as u64).to_be_bytes());
        h.update(p);
    }
    hex::encode(h.finalize())
}

/// The record's key for `key` sent by `caller` (a credential's hash or a client address).
pub fn record_key(caller: &str, key: &str) -> Key {
    Key::new(
        format!("IDEMPOTENCY#{}", hash(&[caller.as_bytes(), key.as_bytes()])),
        "IDEMPOTENCY",
    )
}

/// What identifies a request: its method, path, query and body.
pub fn fingerprint(method: &str, path_and_query: &str, body: &[u8]) -> String {
    hash(&[method.as_bytes(), path_and_query.as_bytes(), body])
}

/// Claims `key` for a request with `fingerprint`, or says why not.
pub async fn claim(services: &Services, key: &Key, fingerprint: &str) -> Result<Claim, AppError> {
    let now = services.now();
    let table = services.store.table();
    let fresh = |lease_from: i64| {
        Item::new(key.clone())
            .with("fingerprint", fingerprint)
            .with("state", "running")
            .with("lease_until", lease_from + LEASE_MILLIS)
            .with("ttl", now.secs() + KEEP_SECS)
    };
    match table.put(fresh(now.millis()), Condition::NotExists).await {
        Ok(()) => return Ok(Claim::Run),
        Err(TableError::ConditionFailed) => {}
        Err(e) => return Err(e.into()),
    }
    let Some(found) = table.get(key).await? else {
        // Expired and removed between the two calls: claim again.
        return match table.put(fresh(now.millis()), Condition::NotExists).await {
            Ok(()) => Ok(Claim::Run),
            Err(TableError::ConditionFailed) => Ok(Claim::InProgress),
            Err(e) => Err(e.into()),
        };
    };
    // Past its 24 hours the key is free again, whether or not the store's TTL sweep (late
    // on DynamoDB, absent locally) has removed the record yet.
    let expires = found.n("ttl").unwrap_or(0);
    if expires < now.secs() {
        let expired = Condition::AttrEquals("ttl".into(), Attr::N(expires));
        return match table.put(fresh(now.millis()), expired).await {
            Ok(()) => Ok(Claim::Run),
            Err(TableError::ConditionFailed) => Ok(Claim::InProgress),
            Err(e) => Err(e.into()),
        };
    }
    if found.s("fingerprint") != Some(fingerprint) {
        return Ok(Claim::Mismatch);
    }
    if found.s("state") == Some("done") {
        let body = services
            .store
            .open(PURPOSE, found.s("body").unwrap_or_default())?;
        return Ok(Claim::Replay(KeptAnswer {
            status: u16::try_from(found.n("status").unwrap_or(200)).unwrap_or(200),
            content_type: found.s("content_type").map(str::to_string),
            body,
        }));
    }
    let lease_until = found.n("lease_until").unwrap_or(0);
    if lease_until > now.millis() {
        return Ok(Claim::InProgress);
    }
    // The claimant died: take the claim over, unless another request just did.
    let takeover = Condition::AttrEquals("lease_until".into(), Attr::N(lease_until));
    match table.put(fresh(now.millis()), takeover).await {
        Ok(()) => Ok(Claim::Run),
        Err(TableError::ConditionFailed) => Ok(Claim::InProgress),
        Err(e) => Err(e.into()),
    }
}

/// Keeps the answer of a request that ran under `key`.
pub async fn complete(
    services: &Services,
    key: &Key,
    fingerprint: &str,
    answer: &KeptAnswer,
) -> Result<(), AppError> {
    let mut item = Item::new(key.clone())
        .with("fingerprint", fingerprint)
        .with("state", "done")
        .with("status", i64::from(answer.status))
        .with("body", services.store.seal(PURPOSE, &answer.body))
        .with("ttl", services.now().secs() + KEEP_SECS);
    if let Some(ct) = &answer.content_type {
        item = item.with("content_type", ct.as_str());
    }
    let mine = Condition::AttrEquals("fingerprint".into(), Attr::S(fingerprint.to_string()));
    services.store.table().put(item, mine).await?;
    Ok(())
}

/// Gives the key up after a request that should not be replayed (a failure worth
/// retrying), so a retry with the same key runs again.
pub async fn release(services: &Services, key: &Key) -> Result<(), AppError> {
    let running = Condition::AttrEquals("state".into(), Attr::S("running".into()));
    match services.store.table().delete(key, running).await {
        Ok(()) | Err(TableError::ConditionFailed) => Ok(()),
        Err(e) => Err(e.into()),
    }
}
