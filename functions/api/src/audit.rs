//! The audit log over the admin API, and the one call every admin route makes after it
//! changed something.

use std::collections::HashMap;

use axum::Router;
use axum::extract::{Query, State};
use axum::response::Response;
use axum::routing::get;
use upline_domain::services::Services;
use upline_domain::store::decode;
use upline_domain::usecases::audit::{self, AuditEntry};
use upline_http::ApiResult;

pub(crate) use upline_domain::usecases::audit::record;

pub(crate) fn routes() -> Router<Services> {
    Router::new().route("/v1/admin/audit-log", get(list_audit_log))
}

async fn list_audit_log(
    State(s): State<Services>,
    _: upline_http::auth::Admin,
    Query(q): Query<HashMap<String, String>>,
) -> ApiResult<Response> {
    crate::by_day(&s, &q, audit::partition, decode::<AuditEntry>).await
}
