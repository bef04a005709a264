//! Campaigns and their terms over the admin API: the campaign itself, and the terms a
//! partner or a group gets instead of the campaign's.

use upline_domain::ids::{CampaignId, PartnerId};

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use upline_domain::services::Services;
use upline_domain::usecases::admin::{
    self, CampaignRequest, OverrideFor, TermsRequest, require_program,
};
use upline_http::{ApiResult, JsonBody};

use crate::views::{CampaignView, TermsView};
use crate::{Admin, answers, audit};

pub(crate) async fn list_campaigns(State(s): State<Services>, _: Admin) -> ApiResult<Response> {
    let program = require_program(&s.store).await?;
    let items: Vec<_> = s
        .store
        .campaigns()
        .await?
        .iter()
        .map(|c| CampaignView::of(c, program.currency))
        .collect();
    Ok(answers::list(items, None))
}

pub(crate) async fn put_campaign(
    State(s): State<Services>,
    Admin(who): Admin,
    Path(id): Path<String>,
    JsonBody(req): JsonBody<CampaignRequest>,
) -> ApiResult<Response> {
    let id = admin::parse_campaign_id(&id)?;
    let program = require_program(&s.store).await?;
    let (campaign, created) = admin::put_campaign(&s, id, req.parse(program.currency)?).await?;
    audit::record(
        &s,
        &who,
        if created {
            "campaign.created"
        } else {
            "campaign.terms_changed"
        },
        &campaign.id,
        format!("{:?}, status {:?}", campaign.name, campaign.status),
    )
    .await;
    let view = CampaignView::of(&campaign, program.currency);
    Ok(answers::saved(created, &view))
}

pub(crate) async fn put_override(
    s: &Services,
    who: &str,
    campaign: &CampaignId,
    target: OverrideFor,
    req: TermsRequest,
) -> ApiResult<Response> {
    let program = require_program(&s.store).await?;
    let terms = req.parse(program.currency)?;
    let (terms, created) = admin::put_terms_override(s, campaign, target.clone(), terms).await?;
    audit::record(
        s,
        who,
        "terms_override.saved",
        campaign,
        format!("{target:?}"),
    )
    .await;
    let view = TermsView::of(&terms, program.currency);
    Ok(answers::saved(created, &view))
}

pub(crate) async fn delete_override(
    s: &Services,
    who: &str,
    campaign: &CampaignId,
    target: OverrideFor,
) -> ApiResult<Response> {
    admin::delete_terms_override(s, campaign, target.clone()).await?;
    audit::record(
        s,
        who,
        "terms_override.removed",
        campaign,
        format!("{target:?}"),
    )
    .await;
    Ok(StatusCode::NO_CONTENT.into_response())
}

pub(crate) async fn put_partner_terms(
    State(s): State<Services>,
    Path((campaign, partner)): Path<(CampaignId, PartnerId)>,
    Admin(who): Admin,
    JsonBody(req): JsonBody<TermsRequest>,
) -> ApiResult<Response> {
    put_override(&s, &who, &campaign, OverrideFor::Partner(partner), req).await
}

pub(crate) async fn delete_partner_terms(
    State(s): State<Services>,
    Path((campaign, partner)): Path<(CampaignId, PartnerId)>,
    Admin(who): Admin,
) -> ApiResult<Response> {
    delete_override(&s, &who, &campaign, OverrideFor::Partner(partner)).await
}

pub(crate) async fn put_group_terms(
    State(s): State<Services>,
    Path((campaign, group)): Path<(CampaignId, String)>,
    Admin(who): Admin,
    JsonBody(req): JsonBody<TermsRequest>,
) -> ApiResult<Response> {
    put_override(&s, &who, &campaign, OverrideFor::group(&group)?, req).await
}

pub(crate) async fn delete_group_terms(
    State(s): State<Services>,
    Path((campaign, group)): Path<(CampaignId, String)>,
    Admin(who): Admin,
) -> ApiResult<Response> {
    delete_override(&s, &who, &campaign, OverrideFor::Group(group)).await
}
