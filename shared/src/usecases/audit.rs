//! The audit log: every admin action — who did it, what, to which thing, when — kept in
//! per-day partitions so the admin API lists it newest first over a date range.

use serde::{Deserialize, Serialize};

use crate::clock::Day;
use crate::error::AppError;
use crate::ports::{Condition, Key};
use crate::services::Services;
use crate::store::{encode, keys};

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEntry {
    pub id: String,
    /// The admin key's name, or `schedule` for what the schedule did on its own.
    pub actor: String,
    /// A dotted verb: `partner.approved`, `program.updated`, `payout.marked_paid`, …
    pub action: String,
    /// The id of what was acted on (a partner, a campaign, a payout).
    pub target: String,
    /// The change in words: the reason given, the amount, the fields set.
    pub summary: String,
    pub at: String,
}

/// The day partition of the audit log (also its index partition, for day listings).
pub fn partition(day: Day) -> String {
    format!("AUDIT#{day}")
}

/// A day's audit partition as a listing bucket: the log is far too slow to need shards.
pub fn day_partitions(day: Day) -> Vec<String> {
    vec![partition(day)]
}

/// Writes one entry. The action it records has already happened, so a failure here is
/// logged loudly rather than undoing it or failing the caller.
pub async fn record(
    services: &Services,
    actor: &str,
    action: &str,
    target: &str,
    summary: impl Into<String>,
) {
    if let Err(e) = try_record(services, actor, action, target, summary.into()).await {
        tracing::error!(actor, action, target, error = %e, "audit entry not written");
    }
}

/// Entries from `from` to `to` (days, inclusive), newest first, that `keep` keeps; at most
/// `max` of them. One query per day, newest day first, stopping once `max` are found.
pub async fn entries_between(
    services: &Services,
    from: Day,
    to: Day,
    max: usize,
    keep: impl Fn(&AuditEntry) -> bool,
) -> Result<Vec<AuditEntry>, AppError> {
    let mut out = Vec::new();
    let mut day = to;
    while day >= from && out.len() < max {
        let items = services
            .store
            .query_all(
                crate::ports::Index::Primary,
                &partition(day),
                &crate::ports::SortKeyCondition::All,
            )
            .await?;
        for item in items.iter().rev() {
            let entry: AuditEntry = crate::store::decode(item)?;
            if keep(&entry) {
                out.push(entry);
                if out.len() == max {
                    break;
                }
            }
        }
        day = Day(day.0 - 1);
    }
    Ok(out)
}

async fn try_record(
    services: &Services,
    actor: &str,
    action: &str,
    target: &str,
    summary: String,
) -> Result<(), AppError> {
    let now = services.now();
    let entry = AuditEntry {
        id: services.new_id(),
        actor: actor.to_string(),
        action: action.to_string(),
        target: target.to_string(),
        summary: summary.chars().take(1000).collect(),
        at: now.to_rfc3339(),
    };
    let sk = keys::time_ordered(now, &entry.id);
    let item = encode(Key::new(partition(now.day()), sk.clone()), &entry)
        .with("gsi2pk", partition(now.day()))
        .with("gsi2sk", sk);
    services
        .store
        .table()
        .put(item, Condition::NotExists)
        .await?;
    Ok(())
}
