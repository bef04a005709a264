//! Tracking settings over the API: promo codes (assigned by the operator, listed for the
//! partner) and partners' own postback URLs with their delivery log.

use upline_http::Paging;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use upline_domain::error::AppError;
use upline_domain::services::Services;
use upline_domain::usecases::partner_postbacks::{self, TemplateRequest, TemplateView};
use upline_domain::usecases::promo_codes::{self, PromoCodeRequest, PromoCodeView};
use upline_http::{ApiResult, JsonBody, json};

use crate::{Admin, CallingPartner, answers};

pub(crate) async fn my_postback(
    State(s): State<Services>,
    CallingPartner(id): CallingPartner,
) -> ApiResult<Response> {
    let template = partner_postbacks::template_of(&s, &id)
        .await?
        .ok_or_else(|| AppError::NotFound("no postback URL is set".into()))?;
    Ok(json(StatusCode::OK, &TemplateView::of(&template)))
}

pub(crate) async fn set_my_postback(
    State(s): State<Services>,
    CallingPartner(id): CallingPartner,
    JsonBody(req): JsonBody<TemplateRequest>,
) -> ApiResult<Response> {
    let template =
        partner_postbacks::set_template(&s, &id, req.parse(s.deployment.allow_private_postbacks)?)
            .await?;
    Ok(json(StatusCode::OK, &TemplateView::of(&template)))
}

pub(crate) async fn remove_my_postback(
    State(s): State<Services>,
    CallingPartner(id): CallingPartner,
) -> ApiResult<Response> {
    partner_postbacks::remove_template(&s, &id).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

pub(crate) async fn my_postback_deliveries(
    State(s): State<Services>,
    CallingPartner(id): CallingPartner,
    Paging(page): Paging,
) -> ApiResult<Response> {
    let found = partner_postbacks::deliveries(&s, &id, &page).await?;
    Ok(answers::list(found.items, found.next))
}

/// Promo codes as one list, not paged.
pub(crate) fn listing(codes: &[promo_codes::PromoCode]) -> Response {
    answers::list(codes.iter().map(PromoCodeView::of).collect(), None)
}

pub(crate) async fn list_promo_codes(State(s): State<Services>, _: Admin) -> ApiResult<Response> {
    let codes = promo_codes::list(&s.store, None).await?;
    Ok(listing(&codes))
}

pub(crate) async fn assign_promo_code(
    State(s): State<Services>,
    Admin(who): Admin,
    JsonBody(req): JsonBody<PromoCodeRequest>,
) -> ApiResult<Response> {
    let (code, created) = promo_codes::assign(&s, req.parse()?).await?;
    let view = PromoCodeView::of(&code);
    if created {
        let summary = format!("to {} for {}", view.partner_id, view.campaign_id);
        crate::audit::record(&s, &who, "promo_code.assigned", &view.code, summary).await;
    }
    Ok(answers::saved(created, &view))
}

pub(crate) async fn withdraw_promo_code(
    State(s): State<Services>,
    Admin(who): Admin,
    Path(code): Path<String>,
) -> ApiResult<Response> {
    promo_codes::withdraw(&s, &code).await?;
    crate::audit::record(
        &s,
        &who,
        "promo_code.withdrawn",
        &code,
        "no longer credits anyone",
    )
    .await;
    Ok(StatusCode::NO_CONTENT.into_response())
}

pub(crate) async fn my_promo_codes(
    State(s): State<Services>,
    CallingPartner(id): CallingPartner,
) -> ApiResult<Response> {
    let codes = promo_codes::list(&s.store, Some(&id)).await?;
    Ok(listing(&codes))
}
