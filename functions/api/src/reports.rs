//! Reports over the admin API: the program by day, partner, campaign or sub-id.

use std::collections::HashMap;
use upline_domain::ids::PartnerId;

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use upline_domain::error::AppError;
use upline_domain::services::Services;
use upline_domain::usecases::admin::require_program;
use upline_domain::usecases::reports::{self, GroupBy, parse_range};
use upline_http::{ApiError, ApiResult, json};

use crate::{Admin, Params};

pub(crate) fn group_by(q: &HashMap<String, String>, default: GroupBy) -> ApiResult<GroupBy> {
    match q.get("group_by") {
        None => Ok(default),
        Some(g) => GroupBy::parse(g).map_err(|e| ApiError(AppError::field("group_by", e))),
    }
}

pub(crate) async fn program_report(
    State(s): State<Services>,
    _: Admin,
    Query(q): Params,
) -> ApiResult<Response> {
    let program = require_program(&s.store).await?;
    let (from, to) = parse_range(
        q.get("from").map(String::as_str),
        q.get("to").map(String::as_str),
        s.now(),
    )?;
    let group = group_by(&q, GroupBy::Day)?;
    // One partner's numbers, which may be grouped by sub-id.
    let report = match q.get("partner_id") {
        Some(partner_id) => {
            reports::partner_report(
                &s.store,
                &PartnerId::from(partner_id),
                from,
                to,
                group,
                program.currency,
            )
            .await?
        }
        None => reports::program_report(&s.store, from, to, group, program.currency).await?,
    };
    Ok(json(StatusCode::OK, &report))
}
