//! Tracking links over the admin API.

use axum::extract::State;
use axum::response::Response;
use upline_domain::services::Services;
use upline_domain::usecases::admin::{self, LinkRequest, LinkView};
use upline_http::{ApiResult, JsonBody};

use crate::{Admin, answers};

pub(crate) async fn create_link(
    State(s): State<Services>,
    _: Admin,
    JsonBody(req): JsonBody<LinkRequest>,
) -> ApiResult<Response> {
    let (link, created) = admin::create_link(&s, req.parse()?).await?;
    let view = LinkView::of(&link, &s.deployment.public_base_url);
    Ok(answers::saved(created, &view))
}
