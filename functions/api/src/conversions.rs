//! Conversions and commission lines over the admin API: listing by day, approving and
//! rejecting with the lines each decision changed.

use crate::reports::RangeQuery;
use upline_domain::commission::CommissionLine;
use upline_domain::ids::ConversionId;
use upline_domain::store::PageQuery;
use upline_http::{Paging, Params};

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use upline_domain::conversion::Conversion;
use upline_domain::error::AppError;
use upline_domain::ports::Index;
use upline_domain::services::Services;
use upline_domain::store::{decode, keys};
use upline_domain::usecases::conversion_lifecycle::{Decision, decide_conversion};
use upline_domain::usecases::postback::ConversionView;
use upline_domain::usecases::reports::days;
use upline_http::{ApiResult, JsonBody, json};

use crate::views::LineView;
use crate::{Admin, ReasonRequest, answers, audit};

/// Newest-first listing over each day's index partitions (its shards, merged).
pub(crate) async fn by_day<T: serde::Serialize>(
    s: &Services,
    range: &RangeQuery,
    paging: &PageQuery,
    partitions: fn(upline_domain::clock::Day) -> Vec<String>,
    render: impl Fn(&upline_domain::ports::Item) -> Result<T, AppError>,
) -> ApiResult<Response> {
    let (from, to) = range.days(s)?;
    let buckets: Vec<Vec<String>> = days(from, to).into_iter().rev().map(partitions).collect();
    let page = s
        .store
        .query_buckets(
            Index::Gsi2,
            &buckets,
            false,
            paging.limit,
            paging.cursor.as_deref(),
        )
        .await?;
    let items = page
        .items
        .iter()
        .map(render)
        .collect::<Result<Vec<_>, _>>()?;
    Ok(answers::list(items, page.next))
}

pub(crate) async fn list_conversions(
    State(s): State<Services>,
    _: Admin,
    Params(range): Params<RangeQuery>,
    Paging(page): Paging,
) -> ApiResult<Response> {
    by_day(&s, &range, &page, keys::conversions_of_day, |item| {
        decode::<Conversion>(item).map(|c| ConversionView::of(&c))
    })
    .await
}

/// One conversion's lines instead of the lines by day.
#[derive(serde::Deserialize)]
pub(crate) struct CommissionsQuery {
    conversion_id: Option<ConversionId>,
}

pub(crate) async fn list_commissions(
    State(s): State<Services>,
    _: Admin,
    Params(q): Params<CommissionsQuery>,
    Params(range): Params<RangeQuery>,
    Paging(page): Paging,
) -> ApiResult<Response> {
    if let Some(conversion_id) = &q.conversion_id {
        let items: Vec<_> = s
            .store
            .lines_of_conversion(conversion_id)
            .await?
            .iter()
            .map(LineView::of)
            .collect();
        return Ok(answers::list(items, None));
    }
    by_day(&s, &range, &page, keys::lines_of_day, |item| {
        decode(item).map(|l| LineView::of(&l))
    })
    .await
}

#[derive(serde::Serialize)]
pub(crate) struct Decided {
    conversion_id: String,
    /// The lines whose status changed, as they are now.
    lines: Vec<LineView>,
}

/// Approving and rejecting are audited alike and answer with the lines they changed.
async fn decided(
    s: &Services,
    who: &str,
    id: &ConversionId,
    action: &str,
    summary: String,
    lines: &[CommissionLine],
) -> Response {
    audit::record(s, who, action, id, summary).await;
    let view = Decided {
        conversion_id: id.to_string(),
        lines: lines.iter().map(LineView::of).collect(),
    };
    json(StatusCode::OK, &view)
}

pub(crate) async fn approve_conversion(
    State(s): State<Services>,
    Admin(who): Admin,
    Path(id): Path<ConversionId>,
) -> ApiResult<Response> {
    let lines = decide_conversion(&s, &id, Decision::Approve).await?;
    let summary = format!("{} lines approved", lines.len());
    Ok(decided(&s, &who, &id, "conversion.approved", summary, &lines).await)
}

pub(crate) async fn reject_conversion(
    State(s): State<Services>,
    Admin(who): Admin,
    Path(id): Path<ConversionId>,
    JsonBody(req): JsonBody<ReasonRequest>,
) -> ApiResult<Response> {
    let reason = upline_domain::usecases::partner_lifecycle::parse_reason(req.reason)?;
    let reason_text = reason.clone();
    let lines = decide_conversion(&s, &id, Decision::Reject { reason }).await?;
    let summary = format!("{} lines rejected: {reason_text}", lines.len());
    Ok(decided(&s, &who, &id, "conversion.rejected", summary, &lines).await)
}
