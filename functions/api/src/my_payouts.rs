//! The partner's side of payouts: balance, payouts and statements, and payout details.

use upline_domain::ids::PayoutId;
use upline_http::Paging;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use upline_domain::error::AppError;
use upline_domain::services::Services;
use upline_domain::usecases::partner_area::{self, PayoutDetailsRequest};
use upline_domain::usecases::payouts::{self};
use upline_http::{ApiResult, JsonBody, json};

use crate::me::own_record;
use crate::payouts::{PayoutView, statement};
use crate::{CallingPartner, answers};

pub(crate) async fn my_balance(
    State(s): State<Services>,
    CallingPartner(id): CallingPartner,
) -> ApiResult<Response> {
    let items = payouts::balance_of(&s, &id).await?;
    Ok(answers::list(items, None))
}

pub(crate) async fn my_payouts(
    State(s): State<Services>,
    CallingPartner(id): CallingPartner,
    Paging(page): Paging,
) -> ApiResult<Response> {
    let found = payouts::payouts_of_partner(&s.store, &id, &page).await?;
    let items: Vec<_> = found.items.iter().map(PayoutView::of).collect();
    Ok(answers::list(items, found.next))
}

pub(crate) async fn my_payout(
    State(s): State<Services>,
    CallingPartner(id): CallingPartner,
    Path(payout_id): Path<PayoutId>,
) -> ApiResult<Response> {
    let p = payouts::payout(&s.store, &payout_id)
        .await?
        .filter(|p| p.partner_id == id)
        // Another partner's payout is as absent as a missing one.
        .ok_or_else(|| AppError::NotFound(format!("no payout {payout_id}")))?;
    Ok(json(StatusCode::OK, &statement(&s, &p).await?))
}

pub(crate) async fn my_payout_details(
    State(s): State<Services>,
    CallingPartner(id): CallingPartner,
) -> ApiResult<Response> {
    let p = own_record(&s, &id, "no such partner").await?;
    let details = p
        .payout_details
        .ok_or_else(|| AppError::NotFound("no payout details yet".into()))?;
    Ok(json(StatusCode::OK, &details))
}

pub(crate) async fn set_my_payout_details(
    State(s): State<Services>,
    CallingPartner(id): CallingPartner,
    JsonBody(req): JsonBody<PayoutDetailsRequest>,
) -> ApiResult<Response> {
    let p =
        partner_area::set_payout_details(&s, &id, partner_area::parse_payout_details(req)?).await?;
    Ok(json(StatusCode::OK, &p.payout_details))
}
