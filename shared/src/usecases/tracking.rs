//! The tracking side: turning a link code into a destination and a click (classified as a
//! visit, a bot or a visitor targeting turned away), impressions, and recording clicks in
//! batches so counters get one update per key per batch, with unique visits told apart.

use crate::ids::{CampaignId, LinkCode, PartnerId};
use std::collections::BTreeMap;

use sha2::{Digest, Sha256};

use crate::campaign::Campaign;
use crate::click_id::{self, ClickSecret};
use crate::clock::Day;
use crate::error::AppError;
use crate::ports::{Attr, Condition, Item, Key, TableError, TxOp};
use crate::services::Services;
use crate::store::{Store, counters, keys};
use crate::targeting::Decision;
use crate::tracking::{Click, Link, SUB_IDS, Traffic};
use crate::visitor::classify;

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
    let Some(link) = store.link(&LinkCode::from(code)).await? else {
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
    crate::signing::keyed_hash_hex(secret.as_bytes(), &[b"ip:", ip.as_bytes()])
}

/// What the tracking endpoint learned from one request.
#[derive(Clone, Debug, Default)]
pub struct ClickContext<'a> {
    pub ip: Option<&'a str>,
    pub user_agent: Option<&'a str>,
    /// The edge's geolocation header value.
    pub country: Option<&'a str>,
    /// A HEAD request: a link checker, redirected but never counted.
    pub head: bool,
    pub subs: BTreeMap<String, String>,
    /// A deep link the partner asked for (used only if the campaign allows its host).
    pub deep_link: Option<&'a str>,
}

/// A tracked request: the click record to publish and where to send the visitor.
#[derive(Clone, Debug)]
pub struct Tracked {
    pub click: Click,
    pub landing: String,
}

impl Tracked {
    /// Whether the visitor gets the click cookie: only people the campaign accepted.
    pub fn is_visit(&self) -> bool {
        self.click.traffic == Traffic::Visit
    }
}

/// A new click on `resolved` from a person with this user agent (the simple form of
/// [`track_click`]).
pub fn new_click(
    services: &Services,
    resolved: &ResolvedLink,
    ip: Option<&str>,
    user_agent: Option<&str>,
) -> Result<(Click, String), AppError> {
    let tracked = track_click(
        services,
        resolved,
        ClickContext {
            ip,
            user_agent,
            ..ClickContext::default()
        },
    )?;
    Ok((tracked.click, tracked.landing))
}

/// Classifies the request (bot or person, country, device, OS), applies the campaign's
/// targeting and issues a signed click id. Bots and HEAD requests go where a person would
/// but are recorded as bot traffic; people targeting turns away go to the fallback URL,
/// without a click id, and are recorded as rejected with the reason.
pub fn track_click(
    services: &Services,
    resolved: &ResolvedLink,
    ctx: ClickContext<'_>,
) -> Result<Tracked, AppError> {
    let now = services.now();
    let mut nonce = [0u8; 6];
    nonce.copy_from_slice(&services.ids.random_bytes(6));
    let secret = services.deployment.click_secret()?;
    let click_id = click_id::issue(secret, &resolved.link.code, now, nonce);
    let campaign = &resolved.campaign;
    let visitor = classify(ctx.user_agent, ctx.country);
    let decision = campaign.targeting.decide(&visitor);
    let landing = |rule_url: Option<&str>| {
        campaign
            .landing_url_with(&click_id, ctx.deep_link, rule_url)
            .map_err(|e| {
                AppError::Internal(format!("campaign {} destination: {e}", campaign.id).into())
            })
    };
    let bot = if ctx.head {
        Some("HEAD request".to_string())
    } else {
        visitor.bot.clone()
    };
    let (traffic, landing) = match (bot, decision) {
        (Some(reason), Decision::Accept { rule_url }) => {
            (Traffic::Bot { reason }, landing(rule_url.as_deref())?)
        }
        (Some(reason), Decision::Reject { fallback_url, .. }) => {
            (Traffic::Bot { reason }, fallback_url)
        }
        (None, Decision::Accept { rule_url }) => (Traffic::Visit, landing(rule_url.as_deref())?),
        (
            None,
            Decision::Reject {
                reason,
                fallback_url,
            },
        ) => (Traffic::Rejected { reason }, fallback_url),
    };
    let click = Click {
        click_id,
        link_code: resolved.link.code.clone(),
        partner_id: resolved.link.partner_id.clone(),
        campaign_id: resolved.link.campaign_id.clone(),
        at: now,
        ip_hash: ctx.ip.map(|ip| hash_ip(secret, ip)),
        user_agent: ctx.user_agent.map(|ua| ua.chars().take(512).collect()),
        subs: ctx.subs,
        traffic,
        country: visitor.country,
        device: Some(visitor.device),
        os: Some(visitor.os),
    };
    Ok(Tracked { click, landing })
}

/// An impression of `resolved` (a banner or pixel shown), or `None` for a bot, whose
/// impressions are not counted at all.
pub fn new_impression(
    services: &Services,
    resolved: &ResolvedLink,
    ctx: ClickContext<'_>,
) -> Option<Click> {
    let visitor = classify(ctx.user_agent, ctx.country);
    if visitor.bot.is_some() || ctx.head {
        return None;
    }
    let now = services.now();
    Some(Click {
        click_id: format!("imp_{}", services.new_id()),
        link_code: resolved.link.code.clone(),
        partner_id: resolved.link.partner_id.clone(),
        campaign_id: resolved.link.campaign_id.clone(),
        at: now,
        ip_hash: None,
        user_agent: None,
        subs: ctx.subs,
        traffic: Traffic::Impression,
        country: visitor.country,
        device: Some(visitor.device),
        os: Some(visitor.os),
    })
}

/// How long a visitor's click keeps later clicks on the same link from being unique.
pub const UNIQUE_WINDOW_MS: i64 = 24 * 3600 * 1000;

/// The counter deltas one click adds to its (day, campaign, partner) row.
fn click_counters(click: &Click, unique: bool) -> Vec<(&'static str, i64)> {
    match &click.traffic {
        Traffic::Visit => {
            let mut d = vec![(counters::CLICKS, 1)];
            if unique {
                d.push((counters::UNIQUE_CLICKS, 1));
            }
            d
        }
        Traffic::Bot { .. } => vec![(counters::BOT_CLICKS, 1)],
        Traffic::Rejected { reason } => vec![
            (counters::REJECTED_CLICKS, 1),
            (counters::rejected(*reason), 1),
        ],
        Traffic::Impression => vec![(counters::IMPRESSIONS, 1)],
    }
}

/// The key of the marker holding the last unique click of `click`'s visitor on its link;
/// none for a visit without an IP, which cannot be told apart from others.
fn visitor_marker(click: &Click) -> Option<Key> {
    let ip_hash = click.ip_hash.as_ref()?;
    let mut visitor = Sha256::new();
    visitor.update(ip_hash.as_bytes());
    visitor.update(b"\n");
    visitor.update(click.user_agent.as_deref().unwrap_or("").as_bytes());
    let visitor = hex::encode(&visitor.finalize()[..16]);
    Some(keys::unique_visitor(&click.link_code, &visitor))
}

/// Whether `click` is the first by its visitor on its link in [`UNIQUE_WINDOW_MS`]: claims
/// the visitor's marker if it is absent, older than the window, or already this click's
/// (a redelivery gets the same answer). Visits without an IP count as unique.
async fn claim_unique(store: &Store, click: &Click) -> Result<bool, AppError> {
    let Some(key) = visitor_marker(click) else {
        return Ok(true);
    };
    let at = click.at.millis();
    let marker = Item::new(key)
        .with("at", at)
        .with("click", click.click_id.as_str())
        .with("ttl", click.at.plus_days(2).secs());
    let condition = Condition::Any(vec![
        Condition::NotExists,
        Condition::AttrLessThan("at".into(), at - UNIQUE_WINDOW_MS),
        Condition::AttrEquals("click".into(), Attr::S(click.click_id.clone())),
    ]);
    match store.table().put(marker, condition).await {
        Ok(()) => Ok(true),
        Err(TableError::ConditionFailed) => Ok(false),
        Err(e) => Err(e.into()),
    }
}

/// One visitor's clicks of a batch, oldest first: which are unique. Claims are made one
/// after another, but once the marker's time is known every click inside its window is
/// not unique without a write, so a visitor repeating a click thousands of times costs
/// one claim and one read per window, not a conditional write per click.
async fn claim_visitor<'c>(
    store: &Store,
    clicks: Vec<&'c Click>,
) -> Result<Vec<(&'c str, bool)>, AppError> {
    let mut out = Vec::with_capacity(clicks.len());
    // The unique click the marker holds (time, click id), as far as this batch knows.
    let mut marker: Option<(i64, String)> = None;
    for c in clicks {
        let Some(key) = visitor_marker(c) else {
            // No address: no marker, and every such visit counts as unique.
            out.push((c.click_id.as_str(), true));
            continue;
        };
        // A click the marker already holds is a redelivery, and unique as it was.
        let inside = marker.as_ref().is_some_and(|(at, held)| {
            c.at.millis() < at.saturating_add(UNIQUE_WINDOW_MS) && *held != c.click_id
        });
        if inside {
            out.push((c.click_id.as_str(), false));
            continue;
        }
        let unique = claim_unique(store, c).await?;
        marker = if unique {
            Some((c.at.millis(), c.click_id.clone()))
        } else {
            store
                .table()
                .get(&key)
                .await?
                .and_then(|m| Some((m.n("at")?, m.s("click").unwrap_or_default().to_string())))
        };
        out.push((c.click_id.as_str(), unique));
    }
    Ok(out)
}

/// A visitor on a link: (link code, hashed IP, user agent).
type VisitorKey<'a> = (&'a str, Option<&'a str>, Option<&'a str>);
/// A sub-id counter row: (day, partner, campaign, sub-id, value).
type SubRow<'a> = (Day, &'a PartnerId, &'a CampaignId, &'a str, &'a str);
type Counts<'a> = BTreeMap<&'a str, i64>;

/// How many clicks one transaction of `table` takes: each needs its record, its row's
/// counters and at most one row per sub-id.
fn clicks_per_transaction(table: &dyn crate::ports::Table) -> usize {
    (table.transaction_limit() / (2 + SUB_IDS.len())).max(1)
}

/// Records a batch of clicks: each raw click once (its record's existence makes a
/// redelivery a no-op), whether each visit is unique, and the counters with one update per
/// (day, campaign, partner) and per sub-id value. Returns how many clicks were new.
pub async fn record_clicks(store: &Store, clicks: &[Click]) -> Result<usize, AppError> {
    // Earlier clicks claim uniqueness first; one visitor's clicks are claimed in order,
    // different visitors' at once.
    let mut ordered: Vec<&Click> = clicks.iter().collect();
    ordered.sort_by_key(|c| c.at);
    let mut by_visitor: BTreeMap<VisitorKey, Vec<&Click>> = BTreeMap::new();
    for c in ordered.iter().filter(|c| c.traffic == Traffic::Visit) {
        by_visitor
            .entry((
                c.link_code.as_str(),
                c.ip_hash.as_deref(),
                c.user_agent.as_deref(),
            ))
            .or_default()
            .push(c);
    }
    let claims = futures::future::join_all(
        by_visitor
            .into_values()
            .map(|group| claim_visitor(store, group)),
    )
    .await;
    let mut unique: BTreeMap<&str, bool> = BTreeMap::new();
    for group in claims {
        unique.extend(group?);
    }
    let mut recorded = 0;
    for chunk in ordered.chunks(clicks_per_transaction(store.table().as_ref())) {
        let mut pending: Vec<&Click> = chunk.to_vec();
        // Drop clicks already recorded (redelivery) and retry the rest, until none fail.
        loop {
            if pending.is_empty() {
                break;
            }
            let mut per_row: BTreeMap<(Day, &CampaignId, &PartnerId), BTreeMap<&str, i64>> =
                BTreeMap::new();
            let mut per_sub: BTreeMap<SubRow, Counts> = BTreeMap::new();
            for c in &pending {
                let is_unique = unique.get(c.click_id.as_str()).copied().unwrap_or(false);
                let deltas = click_counters(c, is_unique);
                let row = per_row
                    .entry((c.at.day(), &c.campaign_id, &c.partner_id))
                    .or_default();
                for (name, n) in &deltas {
                    *row.entry(name).or_default() += n;
                }
                if c.traffic != Traffic::Visit {
                    continue;
                }
                for (sub, value) in &c.subs {
                    let row = per_sub
                        .entry((
                            c.at.day(),
                            &c.partner_id,
                            &c.campaign_id,
                            sub.as_str(),
                            value.as_str(),
                        ))
                        .or_default();
                    for (name, n) in &deltas {
                        *row.entry(name).or_default() += n;
                    }
                }
            }
            let mut ops: Vec<TxOp> = pending.iter().map(|c| Store::click_put(c)).collect();
            ops.extend(per_row.iter().map(|((day, campaign, partner), deltas)| {
                let deltas: Vec<(&str, i64)> = deltas.iter().map(|(k, v)| (*k, *v)).collect();
                Store::stats_add(*day, campaign, partner, &deltas)
            }));
            ops.extend(
                per_sub
                    .iter()
                    .map(|((day, partner, campaign, sub, value), deltas)| {
                        let deltas: Vec<(&str, i64)> =
                            deltas.iter().map(|(k, v)| (*k, *v)).collect();
                        Store::sub_stats_add(*day, partner, campaign, sub, value, &deltas)
                    }),
            );
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
