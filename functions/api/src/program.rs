//! The program over the admin API: its settings and its exchange rates.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use upline_domain::error::AppError;
use upline_domain::services::Services;
use upline_domain::usecases::admin::{
    self, ExchangeRateRequest, ExchangeRateView, ProgramRequest, ProgramView,
};
use upline_http::{ApiResult, JsonBody, json};

use crate::{Admin, answers, audit};

pub(crate) async fn get_program(State(s): State<Services>, _: Admin) -> ApiResult<Response> {
    let program = s
        .store
        .program()
        .await?
        .ok_or_else(|| AppError::NotFound("the program is not set up yet".into()))?;
    Ok(json(StatusCode::OK, &ProgramView::of(&program, false)))
}

pub(crate) async fn put_program(
    State(s): State<Services>,
    Admin(who): Admin,
    JsonBody(req): JsonBody<ProgramRequest>,
) -> ApiResult<Response> {
    let (view, created) = admin::put_program(&s, req.parse()?).await?;
    audit::record(
        &s,
        &who,
        if created {
            "program.created"
        } else {
            "program.updated"
        },
        "program",
        format!(
            "name {:?}, currency {}, hold {} days, payouts {:?}",
            view.name, view.currency, view.hold_days, view.payouts.cadence
        ),
    )
    .await;
    Ok(answers::saved(created, &view))
}

pub(crate) async fn list_exchange_rates(
    State(s): State<Services>,
    _: Admin,
) -> ApiResult<Response> {
    let items: Vec<_> = s
        .store
        .exchange_rates()
        .await?
        .iter()
        .map(ExchangeRateView::of)
        .collect();
    Ok(answers::list(items, None))
}

pub(crate) async fn put_exchange_rate(
    State(s): State<Services>,
    Admin(who): Admin,
    Path(currency): Path<String>,
    JsonBody(req): JsonBody<ExchangeRateRequest>,
) -> ApiResult<Response> {
    let program = admin::require_program(&s.store).await?;
    let rate = admin::put_exchange_rate(&s, req.parse(&currency, program.currency)?).await?;
    audit::record(
        &s,
        &who,
        "exchange_rate.set",
        rate.from.code(),
        ExchangeRateView::of(&rate).means,
    )
    .await;
    Ok(json(StatusCode::OK, &ExchangeRateView::of(&rate)))
}
