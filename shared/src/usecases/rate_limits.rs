//! Rate limits that hold across every instance of a function: a fixed-window counter per
//! limit and subject in the Table, expiring by TTL. A subject is a client address or a
//! target (an email address), hashed with the deployment's secrets key before it is
//! stored: the counters need to tell callers apart, not to know who they are.
//!
//! The failed-authentication limit answers `429` to wrong credentials once a client
//! address is over it, while the right key still works: keys carry 160 random bits, so
//! the limit is not what stops guessing; it sheds the load of a flood and makes one
//! visible (a rise in `429`s), without letting an attacker lock operators out. API Gateway's throttling in `template.yaml`
//! is the outer ring; these are the inner one, per caller.

use crate::error::AppError;
use crate::ports::Update;
use crate::services::Services;
use crate::store::keys;

/// A limit: at most `max` counted events per subject in each window of `window_secs`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RateLimit {
    pub name: &'static str,
    pub max: i64,
    pub window_secs: i64,
}

/// Failed authentications (a wrong or missing admin, partner or postback credential)
/// per client address.
pub const FAILED_AUTH: RateLimit = RateLimit {
    name: "failed-auth",
    max: 30,
    window_secs: 60,
};

/// Partner applications per client address: each sends an email.
pub const SIGNUPS_PER_ADDRESS: RateLimit = RateLimit {
    name: "signup-address",
    max: 10,
    window_secs: 3600,
};

/// Counts one event for `subject` under `limit`; `RateLimited` once the window's count
/// passes the maximum, saying when the window ends. A counter that cannot be written
/// lets the request through: a limit must not turn a storage hiccup into an outage.
pub async fn count(services: &Services, limit: &RateLimit, subject: &str) -> Result<(), AppError> {
    let now = services.now().secs();
    let window_start = now - now.rem_euclid(limit.window_secs);
    // Keyed, so the table does not hold addresses anyone could recompute from a guess.
    let subject = services.store.keyed_hash(limit.name, subject);
    let key = keys::rate_window(limit.name, &subject, window_start);
    let update = Update::default()
        .add("count", 1)
        .set("ttl", window_start + 2 * limit.window_secs);
    let counted = match services
        .store
        .table()
        .update(&key, update, crate::ports::Condition::None)
        .await
    {
        Ok(item) => item.n("count").unwrap_or(0),
        Err(e) => {
            tracing::warn!(limit = limit.name, error = %e, "rate limit counter not written");
            return Ok(());
        }
    };
    if counted > limit.max {
        return Err(AppError::RateLimited {
            retry_after_secs: u64::try_from(window_start + limit.window_secs - now)
                .unwrap_or(1)
                .max(1),
        });
    }
    Ok(())
}

/// After a failed authentication: the caller's error, or `RateLimited` once this client
/// address has failed too often.
pub async fn after_failed_auth(
    services: &Services,
    client: Option<&str>,
    error: AppError,
) -> AppError {
    let Some(client) = client else {
        return error;
    };
    match count(services, &services.rate_limits.failed_auth, client).await {
        Err(limited) => limited,
        Ok(()) => error,
    }
}
