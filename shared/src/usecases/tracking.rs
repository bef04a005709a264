//! The tracking side: turning a link code into a destination and a click, and recording
//! clicks in batches so counters get one update per key per batch.

use std::collections::BTreeMap;

use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::campaign::Campaign;
use crate::click_id::{self, ClickSecret};
use crate::clock::Day;
use crate::error::AppError;
use crate::ports::table::MAX_TRANSACTION_OPS;
use crate::ports::{TableError, TxOp};
use crate::services::Services;
use crate::store::{Store, counters};
use crate::tracking::{Click, Link};

/// What the redirect needs to know about a link; cached by warm functions.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ResolvedLink {
    pub link: Link,
    pub campaign: Campaign,
}

/// Looks a link code up; `None` when no such link (or its campaign) exists.
pub async fn resolve_link(store: &Store, code: &str) -> Result<Option<ResolvedLink>, AppError> {
    if code.is_empty() || code.len() > 64 || !code.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return Ok(None);
    }
    let Some(link) = store.link(code).await? else {
        return Ok(None);
    };
    let Some(campaign) = store.campaign(&link.campaign_id).await? else {
        return Ok(None);
    };
    Ok(Some(ResolvedLink { link, campaign }))
}

/// A keyed hash of a visitor's IP: lets clicks from one address be recognised without the
/// address being stored or recoverable.
pub fn hash_ip(secret: &ClickSecret, ip: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("any key length");
    mac.update(b"ip:");
    mac.update(ip.as_bytes());
    hex::encode(&mac.finalize().into_bytes()[..16])
}

/// A new click on `resolved`: its signed id, the record to publish and where to send the
/// visitor.
pub fn new_click(
    services: &Services,
    resolved: &ResolvedLink,
    ip: Option<&str>,
    user_agent: Option<&str>,
) -> Result<(Click, String), AppError> {
    new_click_with(
        services,
        resolved,
        ip,
        user_agent,
        std::collections::BTreeMap::new(),
        None,
    )
}

/// [`new_click`] with the link's sub-ids and a requested deep link (used only if the
/// campaign allows its host).
pub fn new_click_with(
    services: &Services,
    resolved: &ResolvedLink,
    ip: Option<&str>,
    user_agent: Option<&str>,
    subs: std::collections::BTreeMap<String, String>,
    deep_link: Option<&str>,
) -> Result<(Click, String), AppError> {
    let now = services.now();
    let mut nonce = [0u8; 6];
    nonce.copy_from_slice(&services.ids.random_bytes(6));
    let secret = services.deployment.click_secret()?;
    let click_id = click_id::issue(secret, &resolved.link.code, now, nonce);
    let landing = resolved
        .campaign
        .landing_url_for(&click_id, deep_link)
        .map_err(|e| {
            AppError::Internal(format!(
                "campaign {} destination: {e}",
                resolved.campaign.id
            ))
        })?;
    let click = Click {
        click_id,
        link_code: resolved.link.code.clone(),
        partner_id: resolved.link.partner_id.clone(),
        campaign_id: resolved.link.campaign_id.clone(),
        at: now,
        ip_hash: ip.map(|ip| hash_ip(secret, ip)),
        user_agent: user_agent.map(|ua| ua.chars().take(512).collect()),
        subs,
    };
    Ok((click, landing))
}

/// Each click needs its record and at most one counter update.
const CLICKS_PER_TRANSACTION: usize = MAX_TRANSACTION_OPS / 2;

/// Records a batch of clicks: each raw click once (its record's existence makes a
/// redelivery a no-op) and the counters with one update per (day, campaign, partner).
/// Returns how many clicks were new.
pub async fn record_clicks(store: &Store, clicks: &[Click]) -> Result<usize, AppError> {
    let mut recorded = 0;
    for chunk in clicks.chunks(CLICKS_PER_TRANSACTION) {
        let mut pending: Vec<&Click> = chunk.iter().collect();
        // Drop clicks already recorded (redelivery) and retry the rest, until none fail.
        loop {
            if pending.is_empty() {
                break;
            }
            let mut per_row: BTreeMap<(Day, &str, &str), i64> = BTreeMap::new();
            for c in &pending {
                *per_row
                    .entry((c.at.day(), c.campaign_id.as_str(), c.partner_id.as_str()))
                    .or_default() += 1;
            }
            let mut ops: Vec<TxOp> = pending.iter().map(|c| Store::click_put(c)).collect();
            ops.extend(per_row.iter().map(|((day, campaign, partner), n)| {
                Store::stats_add(*day, campaign, partner, &[(counters::CLICKS, *n)])
            }));
            match store.table().transact(ops).await {
                Ok(()) => {
                    recorded += pending.len();
                    break;
                }
                Err(TableError::TransactionCancelled { failed }) => {
                    let before = pending.len();
                    pending = pending
                        .into_iter()
                        .enumerate()
                        .filter(|(i, _)| !failed.get(*i).copied().unwrap_or(false))
                        .map(|(_, c)| c)
                        .collect();
                    if pending.len() == before {
                        // Cancelled, but not by a click record: nothing to drop, so retry later.
                        return Err(AppError::Unavailable(
                            "click batch transaction cancelled".into(),
                        ));
                    }
                }
                Err(e) => return Err(e.into()),
            }
        }
    }
    Ok(recorded)
}
