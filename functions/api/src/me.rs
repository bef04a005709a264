//! The partner area's own views: the partner, their links, commission lines and stats.

use crate::partners::new_key;
use crate::reports::RangeQuery;
use crate::views::LineView;
use crate::{CallingPartner, answers};
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde::{Deserialize, Serialize};
use upline_domain::error::AppError;
use upline_domain::ids::PartnerId;
use upline_domain::partner::{NotificationPrefs, Partner};
use upline_domain::services::Services;
use upline_domain::usecases::admin::{LinkRequest, LinkView, create_link, require_program};
use upline_domain::usecases::partner_area::ProfileRequest;
use upline_domain::usecases::reports::GroupBy;
use upline_domain::usecases::signup::PartnerView;
use upline_domain::usecases::{partner_area, partner_lifecycle, reports};
use upline_http::{ApiResult, JsonBody, json};
use upline_http::{Paging, Params};

/// The calling partner's record; `missing` is what the answer says if it is gone (the
/// partner area's routes name it differently).
pub(crate) async fn own_record(s: &Services, id: &PartnerId, missing: &str) -> ApiResult<Partner> {
    let p = s.store.partner(id).await?;
    Ok(p.ok_or_else(|| AppError::NotFound(missing.into()))?)
}

pub(crate) async fn me(
    State(s): State<Services>,
    CallingPartner(id): CallingPartner,
) -> ApiResult<Response> {
    let p = own_record(&s, &id, "partner").await?;
    Ok(json(StatusCode::OK, &Profile::of(&p)))
}

pub(crate) async fn my_links(
    State(s): State<Services>,
    CallingPartner(id): CallingPartner,
) -> ApiResult<Response> {
    let items: Vec<_> = s
        .store
        .links_of(&id)
        .await?
        .iter()
        .map(|l| LinkView::of(l, &s.deployment.public_base_url))
        .collect();
    Ok(answers::list(items, None))
}

pub(crate) async fn my_commissions(
    State(s): State<Services>,
    CallingPartner(id): CallingPartner,
    Paging(page): Paging,
) -> ApiResult<Response> {
    let lines = s.store.lines_of_partner(&id, &page).await?;
    let items: Vec<_> = lines.items.iter().map(LineView::of).collect();
    Ok(answers::list(items, lines.next))
}

pub(crate) async fn my_stats(
    State(s): State<Services>,
    CallingPartner(id): CallingPartner,
    Params(q): Params<RangeQuery>,
) -> ApiResult<Response> {
    let program = require_program(&s.store).await?;
    let (from, to) = q.days(&s)?;
    let report = reports::partner_report(
        &s.store,
        &id,
        from,
        to,
        q.group_by(GroupBy::Day)?,
        program.currency,
    )
    .await?;
    Ok(json(StatusCode::OK, &report))
}

/// The partner as the partner area shows it: their record, preferences, payout method.
#[derive(Serialize)]
pub(crate) struct Profile {
    #[serde(flatten)]
    partner: PartnerView,
    notifications: NotificationPrefs,
    payout_method: Option<&'static str>,
}

impl Profile {
    pub(crate) fn of(p: &Partner) -> Self {
        Profile {
            partner: PartnerView::of(p),
            notifications: p.notifications,
            payout_method: p.payout_details.as_ref().map(|d| d.method()),
        }
    }
}

pub(crate) async fn rotate_my_key(
    State(s): State<Services>,
    CallingPartner(id): CallingPartner,
    headers: HeaderMap,
) -> ApiResult<Response> {
    // The key replaced is the one presented: a request that authenticated with a key
    // another rotation has just replaced must not revoke that rotation's new key.
    let presented =
        upline_http::bearer(&headers).map(|t| upline_domain::ids::hash_api_key(t.trim()));
    let (p, key) = partner_lifecycle::rotate_key(&s, &id, presented.as_deref()).await?;
    Ok(new_key(&p, key.secret))
}

pub(crate) async fn update_profile(
    State(s): State<Services>,
    CallingPartner(id): CallingPartner,
    JsonBody(req): JsonBody<ProfileRequest>,
) -> ApiResult<Response> {
    let p = partner_area::update_profile(&s, &id, req.parse()?).await?;
    Ok(json(StatusCode::OK, &Profile::of(&p)))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct MyLinkRequest {
    campaign_id: Option<String>,
}

pub(crate) async fn create_my_link(
    State(s): State<Services>,
    CallingPartner(id): CallingPartner,
    JsonBody(req): JsonBody<MyLinkRequest>,
) -> ApiResult<Response> {
    let (link, created) = create_link(
        &s,
        LinkRequest {
            partner_id: Some(id.into_string()),
            campaign_id: req.campaign_id,
        }
        .parse()?,
    )
    .await?;
    let view = LinkView::of(&link, &s.deployment.public_base_url);
    Ok(answers::saved(created, &view))
}

pub(crate) async fn my_downline(
    State(s): State<Services>,
    CallingPartner(id): CallingPartner,
) -> ApiResult<Response> {
    let items = partner_area::downline(&s, &id).await?;
    Ok(answers::list(items, None))
}
