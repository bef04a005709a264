//! The audit log over the admin API, and the one call every admin route makes after it
//! changed something.

use crate::reports::RangeQuery;
use upline_http::{Paging, Params};

use axum::extract::State;
use axum::response::Response;
use upline_domain::services::Services;
use upline_domain::store::decode;
use upline_domain::usecases::audit::{self, AuditEntry};
use upline_http::ApiResult;

pub(crate) use upline_domain::usecases::audit::record;

pub(crate) async fn list_audit_log(
    State(s): State<Services>,
    _: upline_http::auth::Admin,
    Params(range): Params<RangeQuery>,
    Paging(page): Paging,
) -> ApiResult<Response> {
    crate::conversions::by_day(
        &s,
        &range,
        &page,
        audit::day_partitions,
        decode::<AuditEntry>,
    )
    .await
}
