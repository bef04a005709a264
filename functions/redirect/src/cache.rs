//! The warm function's link cache. A link rarely changes, so a minute of staleness buys a
//! redirect with no table read; unknown codes are cached briefly too, so a crawler
//! guessing codes cannot turn every request into a read.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use upline_domain::clock::{Clock, Timestamp};
use upline_domain::usecases::tracking::ResolvedLink;

const FOUND_TTL_SECS: i64 = 60;
const MISSING_TTL_SECS: i64 = 10;
/// Bounds memory on a function that sees many distinct codes.
const MAX_ENTRIES: usize = 50_000;

pub struct LinkCache {
    clock: Arc<dyn Clock>,
    entries: Mutex<HashMap<String, (Timestamp, Option<ResolvedLink>)>>,
}

impl LinkCache {
    pub fn new(clock: Arc<dyn Clock>) -> Self {
        LinkCache {
            clock,
            entries: Mutex::new(HashMap::new()),
        }
    }

    /// `Some(found)` on a fresh hit (which may say "no such link"), `None` on a miss.
    pub fn get(&self, code: &str) -> Option<Option<ResolvedLink>> {
        let now = self.clock.now();
        let entries = self
            .entries
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        match entries.get(code) {
            Some((expires, found)) if *expires > now => Some(found.clone()),
            _ => None,
        }
    }

    pub fn put(&self, code: &str, found: Option<ResolvedLink>) {
        let now = self.clock.now();
        let ttl = if found.is_some() {
            FOUND_TTL_SECS
        } else {
            MISSING_TTL_SECS
        };
        let mut entries = self
            .entries
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if entries.len() >= MAX_ENTRIES {
            entries.retain(|_, (expires, _)| *expires > now);
            if entries.len() >= MAX_ENTRIES {
                entries.clear();
            }
        }
        entries.insert(code.to_string(), (now.plus_secs(ttl), found));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use upline_domain::clock::ManualClock;

    #[test]
    fn entries_expire_after_their_ttl() {
        let clock = Arc::new(ManualClock::at(Timestamp(0)));
        let cache = LinkCache::new(clock.clone());
        cache.put("nope", None);
        assert_eq!(cache.get("nope"), Some(None));
        clock.advance_secs(MISSING_TTL_SECS);
        assert_eq!(cache.get("nope"), None);
        assert_eq!(cache.get("other"), None);
    }
}
