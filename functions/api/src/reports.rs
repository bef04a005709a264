//! Reports over the admin API: the program by day, partner, campaign or sub-id.

use upline_domain::clock::Day;
use upline_domain::ids::PartnerId;
use upline_http::Params;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use upline_domain::error::AppError;
use upline_domain::services::Services;
use upline_domain::usecases::admin::require_program;
use upline_domain::usecases::reports::{self, GroupBy, parse_range};
use upline_http::{ApiError, ApiResult, json};

use crate::Admin;

/// The days a report or a by-day listing covers (`from`, `to`, both inclusive, 30 days to
/// today by default), how a report groups them, and whose numbers.
#[derive(serde::Deserialize)]
pub(crate) struct RangeQuery {
    from: Option<String>,
    to: Option<String>,
    group_by: Option<String>,
    partner_id: Option<PartnerId>,
}

impl RangeQuery {
    pub(crate) fn days(&self, s: &Services) -> ApiResult<(Day, Day)> {
        Ok(parse_range(
            self.from.as_deref(),
            self.to.as_deref(),
            s.now(),
        )?)
    }

    pub(crate) fn group_by(&self, default: GroupBy) -> ApiResult<GroupBy> {
        match &self.group_by {
            None => Ok(default),
            Some(g) => GroupBy::parse(g).map_err(|e| ApiError(AppError::field("group_by", e))),
        }
    }
}

pub(crate) async fn program_report(
    State(s): State<Services>,
    _: Admin,
    Params(q): Params<RangeQuery>,
) -> ApiResult<Response> {
    let program = require_program(&s.store).await?;
    let (from, to) = q.days(&s)?;
    let group = q.group_by(GroupBy::Day)?;
    // One partner's numbers, which may be grouped by sub-id.
    let report = match &q.partner_id {
        Some(partner_id) => {
            reports::partner_report(&s.store, partner_id, from, to, group, program.currency).await?
        }
        None => {
            reports::program_report(&s.store, from, to, group, program.currency, s.now()).await?
        }
    };
    Ok(json(StatusCode::OK, &report))
}
