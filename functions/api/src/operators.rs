//! Operator accounts over the admin API: the admin key adds the first owner, and lists,
//! changes or removes operators. Each change is audited (by the use case).

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use upline_domain::services::Services;
use upline_domain::usecases::operators::{self, OperatorRequest, OperatorView};
use upline_http::{ApiResult, JsonBody};

use crate::{Admin, answers};

pub(crate) async fn list_operators(State(s): State<Services>, _: Admin) -> ApiResult<Response> {
    let items: Vec<_> = operators::list(&s)
        .await?
        .iter()
        .map(OperatorView::of)
        .collect();
    Ok(answers::list(items, None))
}

pub(crate) async fn put_operator(
    State(s): State<Services>,
    Admin(who): Admin,
    Path(email): Path<String>,
    JsonBody(req): JsonBody<OperatorRequest>,
) -> ApiResult<Response> {
    let spec = req.parse(&email)?;
    let (operator, created) = operators::put(&s, spec, &who).await?;
    Ok(answers::saved(created, &OperatorView::of(&operator)))
}

pub(crate) async fn delete_operator(
    State(s): State<Services>,
    Admin(who): Admin,
    Path(email): Path<String>,
) -> ApiResult<Response> {
    operators::remove(&s, &email, &who).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
