//! Tracking links over the admin API.

use axum::extract::State;
use axum::response::Response;
use upline_domain::services::Services;
use upline_domain::usecases::admin::{self, LinkRequest, LinkView};
use upline_http::{ApiResult, JsonBody, json};

use crate::{Admin, created_or_ok};

pub(crate) async fn create_link(
    State(s): State<Services>,
    _: Admin,
    JsonBody(req): JsonBody<LinkRequest>,
) -> ApiResult<Response> {
    let (link, created) = admin::create_link(&s, req).await?;
    Ok(json(
        created_or_ok(created),
        &LinkView::of(&link, &s.deployment.public_base_url),
    ))
}
