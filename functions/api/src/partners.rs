//! Partners over the API: the operator's lifecycle actions (reject, suspend, reinstate,
//! rotate a key) and email templates; the partner's profile, notification preferences,
//! own key rotation, self-serve links and downline; and the public unsubscribe link.

use crate::{Admin, Params, audit};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde::{Deserialize, Serialize};
use upline_domain::ids::PartnerId;
use upline_domain::services::Services;
use upline_domain::usecases::admin::{GroupRequest, RecruiterRequest};
use upline_domain::usecases::partner_lifecycle::parse_reason;
use upline_domain::usecases::signup::PartnerView;
use upline_domain::usecases::{admin, partner_lifecycle};
use upline_http::{ApiResult, JsonBody, Listing, correlation_id, json, page_limit};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ReasonRequest {
    reason: Option<String>,
}

pub(crate) async fn reject(
    State(s): State<Services>,
    Admin(who): Admin,
    Path(id): Path<PartnerId>,
    headers: HeaderMap,
    JsonBody(req): JsonBody<ReasonRequest>,
) -> ApiResult<Response> {
    let reason = parse_reason(req.reason)?;
    let cid = correlation_id(&headers, || s.new_id());
    let p = partner_lifecycle::reject(&s, &id, reason.clone(), &cid).await?;
    audit::record(&s, &who, "partner.rejected", &p.id, reason).await;
    Ok(json(StatusCode::OK, &PartnerView::of(&p)))
}

pub(crate) async fn suspend(
    State(s): State<Services>,
    Admin(who): Admin,
    Path(id): Path<PartnerId>,
    headers: HeaderMap,
    JsonBody(req): JsonBody<ReasonRequest>,
) -> ApiResult<Response> {
    let reason = parse_reason(req.reason)?;
    let cid = correlation_id(&headers, || s.new_id());
    let p = partner_lifecycle::suspend(&s, &id, reason.clone(), &cid).await?;
    audit::record(&s, &who, "partner.suspended", &p.id, reason).await;
    Ok(json(StatusCode::OK, &PartnerView::of(&p)))
}

pub(crate) async fn reinstate(
    State(s): State<Services>,
    Admin(who): Admin,
    Path(id): Path<PartnerId>,
) -> ApiResult<Response> {
    let p = partner_lifecycle::reinstate(&s, &id).await?;
    audit::record(
        &s,
        &who,
        "partner.reinstated",
        &p.id,
        "conversions earn again",
    )
    .await;
    Ok(json(StatusCode::OK, &PartnerView::of(&p)))
}

#[derive(Serialize)]
pub(crate) struct NewKey {
    pub(crate) partner: PartnerView,
    /// Shown this once; the previous key stopped working.
    pub(crate) api_key: String,
}

pub(crate) async fn rotate_partner_key(
    State(s): State<Services>,
    Admin(who): Admin,
    Path(id): Path<PartnerId>,
) -> ApiResult<Response> {
    let (p, key) = partner_lifecycle::rotate_key(&s, &id, None).await?;
    audit::record(
        &s,
        &who,
        "partner.api_key_rotated",
        &p.id,
        "old key revoked",
    )
    .await;
    Ok(json(
        StatusCode::OK,
        &NewKey {
            partner: PartnerView::of(&p),
            api_key: key.secret,
        },
    ))
}

pub(crate) async fn list_partners(
    State(s): State<Services>,
    _: Admin,
    Query(q): Params,
) -> ApiResult<Response> {
    let limit = page_limit(q.get("limit").map(String::as_str))?;
    let (partners, next) = s
        .store
        .partners(limit, q.get("cursor").map(String::as_str))
        .await?;
    let items: Vec<_> = partners.iter().map(PartnerView::of).collect();
    Ok(json(
        StatusCode::OK,
        &Listing {
            items,
            next_cursor: next,
        },
    ))
}

#[derive(serde::Serialize)]
pub(crate) struct Approved {
    partner: PartnerView,
    /// Shown once: only its hash is stored.
    api_key: String,
}

pub(crate) async fn approve_partner(
    State(s): State<Services>,
    Admin(who): Admin,
    Path(id): Path<PartnerId>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let correlation = correlation_id(&headers, || s.new_id());
    let (partner, key) = admin::approve_partner(&s, &id, &correlation).await?;
    audit::record(
        &s,
        &who,
        "partner.approved",
        &partner.id,
        partner.email.clone(),
    )
    .await;
    Ok(json(
        StatusCode::OK,
        &Approved {
            partner: PartnerView::of(&partner),
            api_key: key.secret,
        },
    ))
}

pub(crate) async fn set_group(
    State(s): State<Services>,
    Admin(who): Admin,
    Path(id): Path<PartnerId>,
    JsonBody(req): JsonBody<GroupRequest>,
) -> ApiResult<Response> {
    let partner = admin::set_group(&s, &id, req).await?;
    audit::record(
        &s,
        &who,
        "partner.group_set",
        &partner.id,
        format!("group {:?}", partner.group),
    )
    .await;
    Ok(json(StatusCode::OK, &PartnerView::of(&partner)))
}

pub(crate) async fn set_recruiter(
    State(s): State<Services>,
    Admin(who): Admin,
    Path(id): Path<PartnerId>,
    JsonBody(req): JsonBody<RecruiterRequest>,
) -> ApiResult<Response> {
    let partner = admin::set_recruiter(&s, &id, req).await?;
    audit::record(
        &s,
        &who,
        "partner.recruiter_changed",
        &partner.id,
        format!("recruited by {:?}", partner.recruited_by),
    )
    .await;
    Ok(json(StatusCode::OK, &PartnerView::of(&partner)))
}
