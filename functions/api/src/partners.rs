//! Partners over the API: the operator's lifecycle actions (reject, suspend, reinstate,
//! rotate a key) and email templates; the partner's profile, notification preferences,
//! own key rotation, self-serve links and downline; and the public unsubscribe link.

use crate::{Admin, ReasonRequest, answers, audit};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde::Serialize;
use upline_domain::ids::PartnerId;
use upline_domain::partner::Partner;
use upline_domain::services::Services;
use upline_domain::usecases::admin::{GroupRequest, RecruiterRequest};
use upline_domain::usecases::partner_lifecycle::parse_reason;
use upline_domain::usecases::signup::PartnerView;
use upline_domain::usecases::{admin, partner_lifecycle};
use upline_http::Paging;
use upline_http::{ApiResult, JsonBody, correlation_id, json};

/// The two lifecycle actions an operator takes for a reason the partner is told.
#[derive(Clone, Copy)]
enum ForReason {
    Reject,
    Suspend,
}

/// What rejecting and suspending both take, extracted in this order: the services, the
/// operator, the partner, the headers (for the correlation id) and the body.
type ForReasonCall = (
    State<Services>,
    Admin,
    Path<PartnerId>,
    HeaderMap,
    JsonBody<ReasonRequest>,
);

pub(crate) async fn reject(call: ForReasonCall) -> ApiResult<Response> {
    act_for_reason(call, ForReason::Reject).await
}

pub(crate) async fn suspend(call: ForReasonCall) -> ApiResult<Response> {
    act_for_reason(call, ForReason::Suspend).await
}

/// Rejecting and suspending read the same body, are audited alike and answer with the
/// partner; only the use case and the audit action differ.
async fn act_for_reason(call: ForReasonCall, action: ForReason) -> ApiResult<Response> {
    let (State(s), Admin(who), Path(id), headers, JsonBody(req)) = call;
    let reason = parse_reason(req.reason)?;
    let cid = correlation_id(&headers, || s.new_id());
    let (p, audit_action) = match action {
        ForReason::Reject => (
            partner_lifecycle::reject(&s, &id, reason.clone(), &cid).await?,
            "partner.rejected",
        ),
        ForReason::Suspend => (
            partner_lifecycle::suspend(&s, &id, reason.clone(), &cid).await?,
            "partner.suspended",
        ),
    };
    Ok(changed(&s, &who, audit_action, &p, reason).await)
}

/// An operator's change to a partner: recorded in the audit log, answered with the
/// partner as it is now.
async fn changed(
    s: &Services,
    who: &str,
    action: &str,
    p: &Partner,
    summary: impl Into<String>,
) -> Response {
    audit::record(s, who, action, &p.id, summary).await;
    json(StatusCode::OK, &PartnerView::of(p))
}

pub(crate) async fn reinstate(
    State(s): State<Services>,
    Admin(who): Admin,
    Path(id): Path<PartnerId>,
) -> ApiResult<Response> {
    let p = partner_lifecycle::reinstate(&s, &id).await?;
    let summary = "conversions earn again";
    Ok(changed(&s, &who, "partner.reinstated", &p, summary).await)
}

/// A partner's new API key, shown this once: only its hash is stored (after a rotation,
/// the previous key stopped working).
#[derive(Serialize)]
struct NewKey {
    partner: PartnerView,
    api_key: String,
}

/// The answer of the routes that issue a key: approving a partner, and rotating a key
/// (the operator's and the partner's own).
pub(crate) fn new_key(partner: &Partner, api_key: String) -> Response {
    let view = NewKey {
        partner: PartnerView::of(partner),
        api_key,
    };
    json(StatusCode::OK, &view)
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
    Ok(new_key(&p, key.secret))
}

pub(crate) async fn list_partners(
    State(s): State<Services>,
    _: Admin,
    Paging(page): Paging,
) -> ApiResult<Response> {
    let partners = s.store.partners(&page).await?;
    let items: Vec<_> = partners.items.iter().map(PartnerView::of).collect();
    Ok(answers::list(items, partners.next))
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
    Ok(new_key(&partner, key.secret))
}

pub(crate) async fn set_group(
    State(s): State<Services>,
    Admin(who): Admin,
    Path(id): Path<PartnerId>,
    JsonBody(req): JsonBody<GroupRequest>,
) -> ApiResult<Response> {
    let partner = admin::set_group(&s, &id, req.parse()?).await?;
    let summary = format!("group {:?}", partner.group);
    Ok(changed(&s, &who, "partner.group_set", &partner, summary).await)
}

pub(crate) async fn set_recruiter(
    State(s): State<Services>,
    Admin(who): Admin,
    Path(id): Path<PartnerId>,
    JsonBody(req): JsonBody<RecruiterRequest>,
) -> ApiResult<Response> {
    let partner = admin::set_recruiter(&s, &id, req.parse()?).await?;
    let summary = format!("recruited by {:?}", partner.recruited_by);
    Ok(changed(&s, &who, "partner.recruiter_changed", &partner, summary).await)
}
