//! `/console/audit`: the audit log, newest first, filtered by who (an operator's email or
//! an admin key's name), what (an action or its area: `partner`, `payout.marked_paid`)
//! and when (a range of days, the last 7 by default).

use axum::extract::State;
use axum::http::StatusCode;
use minijinja::context;
use serde::Deserialize;
use upline_domain::services::Services;
use upline_domain::usecases::audit::entries_between;
use upline_domain::usecases::reports::parse_range;

use crate::pages::render;
use crate::problem::{PageParams, PageResult};
use crate::session::SignedInOperator;

/// Entries one page shows at most.
const SHOWN: usize = 300;

#[derive(Deserialize, Default)]
pub(crate) struct AuditQuery {
    #[serde(default)]
    who: String,
    #[serde(default)]
    what: String,
    #[serde(default)]
    from: String,
    #[serde(default)]
    to: String,
}

pub(crate) async fn audit_page(
    State(s): State<Services>,
    op: SignedInOperator,
    PageParams { query: q, .. }: PageParams<AuditQuery>,
) -> PageResult {
    let now = s.now();
    let given = |v: &str| Some(v.trim()).filter(|v| !v.is_empty()).map(str::to_string);
    // A bad range is shown at its field, with the default week listed meanwhile.
    let default_from = now.plus_days(-6).day().to_string();
    let (range, error) = match parse_range(
        Some(given(&q.from).unwrap_or(default_from).as_str()),
        given(&q.to).as_deref(),
        now,
    ) {
        Ok(r) => (r, None),
        Err(e) => (
            parse_range(Some(&now.plus_days(-6).day().to_string()), None, now)?,
            Some(e.describe()),
        ),
    };
    let who = q.who.trim().to_lowercase();
    let what = q.what.trim().to_lowercase();
    let entries = entries_between(&s, range.0, range.1, SHOWN, |e| {
        (who.is_empty() || e.actor.to_lowercase().contains(&who))
            && (what.is_empty() || e.action == what || e.action.starts_with(&format!("{what}.")))
    })
    .await?;
    Ok(render(
        StatusCode::OK,
        "audit.html",
        &op.layout("audit"),
        context! {
            entries,
            shown => SHOWN,
            who => q.who,
            what => q.what,
            from => range.0.to_string(),
            to => range.1.to_string(),
            error,
        },
    ))
}
