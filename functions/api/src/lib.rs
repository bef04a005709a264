//! The API function: the operator's admin API (`/v1/admin/*`, admin key) and the partner
//! area (`/v1/me/*`, partner key). Every route parses, calls one use case, renders.

mod config;
pub use config::Config;

mod views;

use std::collections::HashMap;
use upline_domain::ids::{CampaignId, ConversionId, PartnerId};

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use upline_domain::error::AppError;
use upline_domain::ports::Index;
use upline_domain::services::Services;
use upline_domain::store::{decode, keys};
use upline_domain::tracking::Conversion;
use upline_domain::usecases::admin::{
    self, CampaignRequest, ExchangeRateRequest, ExchangeRateView, GroupRequest, LinkRequest,
    LinkView, OverrideFor, ProgramRequest, ProgramView, RecruiterRequest, TermsRequest,
    require_program,
};
use upline_domain::usecases::lifecycle::{Decision, decide_conversion};
use upline_domain::usecases::postback::ConversionView;
use upline_domain::usecases::reports::{self, GroupBy, days, parse_range};
use upline_domain::usecases::signup::PartnerView;
use upline_http::{ApiError, ApiResult, JsonBody, Listing, correlation_id, json, page_limit};

mod audit;
mod partners;
mod payouts;
mod tracking;

use crate::views::{CampaignView, LineView, TermsView};

type Params = Query<HashMap<String, String>>;

pub fn router(services: Services) -> Router {
    let router = Router::new()
        .route("/v1/admin/program", get(get_program).put(put_program))
        .route("/v1/admin/campaigns", get(list_campaigns))
        .route("/v1/admin/campaigns/{id}", put(put_campaign))
        .route(
            "/v1/admin/campaigns/{id}/partner-terms/{partner_id}",
            put(put_partner_terms).delete(delete_partner_terms),
        )
        .route(
            "/v1/admin/campaigns/{id}/group-terms/{group}",
            put(put_group_terms).delete(delete_group_terms),
        )
        .route("/v1/admin/exchange-rates", get(list_exchange_rates))
        .route(
            "/v1/admin/exchange-rates/{currency}",
            put(put_exchange_rate),
        )
        .route("/v1/admin/partners", get(list_partners))
        .route("/v1/admin/partners/{id}/approve", post(approve_partner))
        .route("/v1/admin/partners/{id}/recruiter", put(set_recruiter))
        .route("/v1/admin/partners/{id}/group", put(set_group))
        .route("/v1/admin/links", post(create_link))
        .route("/v1/admin/conversions", get(list_conversions))
        .route(
            "/v1/admin/conversions/{id}/approve",
            post(approve_conversion),
        )
        .route("/v1/admin/conversions/{id}/reject", post(reject_conversion))
        .route("/v1/admin/commissions", get(list_commissions))
        .route("/v1/admin/reports", get(program_report))
        .route("/v1/me", get(me).patch(partners::update_profile))
        .route("/v1/me/links", get(my_links).post(partners::create_my_link))
        .route("/v1/me/commissions", get(my_commissions))
        .route("/v1/me/stats", get(my_stats))
        .route("/health", get(|| async { "ok" }))
        .merge(tracking::routes())
        .merge(payouts::routes())
        .merge(audit::routes())
        .merge(partners::routes());
    let router = upline_http::idempotent(
        router,
        &services,
        upline_http::idempotency::Callers::ApiKeys,
    );
    upline_http::edge(router, upline_http::limits::API).with_state(services)
}

pub(crate) use upline_http::auth::{Admin, CallingPartner};

pub(crate) fn created_or_ok(created: bool) -> StatusCode {
    if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    }
}

async fn get_program(State(s): State<Services>, _: Admin) -> ApiResult<Response> {
    let program = s
        .store
        .program()
        .await?
        .ok_or_else(|| AppError::NotFound("the program is not set up yet".into()))?;
    Ok(json(StatusCode::OK, &ProgramView::of(&program, false)))
}

async fn put_program(
    State(s): State<Services>,
    Admin(who): Admin,
    JsonBody(req): JsonBody<ProgramRequest>,
) -> ApiResult<Response> {
    let (view, created) = admin::put_program(&s, req).await?;
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
    Ok(json(created_or_ok(created), &view))
}

async fn list_campaigns(State(s): State<Services>, _: Admin) -> ApiResult<Response> {
    let program = require_program(&s.store).await?;
    let items: Vec<_> = s
        .store
        .campaigns()
        .await?
        .iter()
        .map(|c| CampaignView::of(c, program.currency))
        .collect();
    Ok(json(
        StatusCode::OK,
        &Listing {
            items,
            next_cursor: None,
        },
    ))
}

async fn put_campaign(
    State(s): State<Services>,
    Admin(who): Admin,
    Path(id): Path<String>,
    JsonBody(req): JsonBody<CampaignRequest>,
) -> ApiResult<Response> {
    let (campaign, created) = admin::put_campaign(&s, &id, req).await?;
    let program = require_program(&s.store).await?;
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
    Ok(json(
        created_or_ok(created),
        &CampaignView::of(&campaign, program.currency),
    ))
}

async fn list_exchange_rates(State(s): State<Services>, _: Admin) -> ApiResult<Response> {
    let items: Vec<_> = s
        .store
        .exchange_rates()
        .await?
        .iter()
        .map(ExchangeRateView::of)
        .collect();
    Ok(json(
        StatusCode::OK,
        &Listing {
            items,
            next_cursor: None,
        },
    ))
}

async fn put_exchange_rate(
    State(s): State<Services>,
    Admin(who): Admin,
    Path(currency): Path<String>,
    JsonBody(req): JsonBody<ExchangeRateRequest>,
) -> ApiResult<Response> {
    let rate = admin::put_exchange_rate(&s, &currency, req).await?;
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

async fn list_partners(
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
struct Approved {
    partner: PartnerView,
    /// Shown once: only its hash is stored.
    api_key: String,
}

async fn approve_partner(
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

async fn put_override(
    s: &Services,
    who: &str,
    campaign: &CampaignId,
    target: OverrideFor,
    req: TermsRequest,
) -> ApiResult<Response> {
    let (terms, created) = admin::put_terms_override(s, campaign, target.clone(), req).await?;
    let program = require_program(&s.store).await?;
    audit::record(
        s,
        who,
        "terms_override.saved",
        campaign,
        format!("{target:?}"),
    )
    .await;
    Ok(json(
        created_or_ok(created),
        &TermsView::of(&terms, program.currency),
    ))
}

async fn delete_override(
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

async fn put_partner_terms(
    State(s): State<Services>,
    Path((campaign, partner)): Path<(CampaignId, PartnerId)>,
    Admin(who): Admin,
    JsonBody(req): JsonBody<TermsRequest>,
) -> ApiResult<Response> {
    put_override(&s, &who, &campaign, OverrideFor::Partner(partner), req).await
}

async fn delete_partner_terms(
    State(s): State<Services>,
    Path((campaign, partner)): Path<(CampaignId, PartnerId)>,
    Admin(who): Admin,
) -> ApiResult<Response> {
    delete_override(&s, &who, &campaign, OverrideFor::Partner(partner)).await
}

async fn put_group_terms(
    State(s): State<Services>,
    Path((campaign, group)): Path<(CampaignId, String)>,
    Admin(who): Admin,
    JsonBody(req): JsonBody<TermsRequest>,
) -> ApiResult<Response> {
    put_override(&s, &who, &campaign, OverrideFor::Group(group), req).await
}

async fn delete_group_terms(
    State(s): State<Services>,
    Path((campaign, group)): Path<(CampaignId, String)>,
    Admin(who): Admin,
) -> ApiResult<Response> {
    delete_override(&s, &who, &campaign, OverrideFor::Group(group)).await
}

async fn set_group(
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

async fn set_recruiter(
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

async fn create_link(
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

/// Newest-first listing over one index partition per day.
pub(crate) async fn by_day<T: serde::Serialize>(
    s: &Services,
    q: &HashMap<String, String>,
    partition: fn(upline_domain::clock::Day) -> String,
    render: impl Fn(&upline_domain::ports::Item) -> Result<T, AppError>,
) -> ApiResult<Response> {
    let (from, to) = parse_range(
        q.get("from").map(String::as_str),
        q.get("to").map(String::as_str),
        s.now(),
    )?;
    let limit = page_limit(q.get("limit").map(String::as_str))?;
    let partitions: Vec<String> = days(from, to).into_iter().rev().map(partition).collect();
    let page = s
        .store
        .query_buckets(
            Index::Gsi2,
            &partitions,
            false,
            limit,
            q.get("cursor").map(String::as_str),
        )
        .await?;
    let items = page
        .items
        .iter()
        .map(render)
        .collect::<Result<Vec<_>, _>>()?;
    Ok(json(
        StatusCode::OK,
        &Listing {
            items,
            next_cursor: page.next,
        },
    ))
}

async fn list_conversions(
    State(s): State<Services>,
    _: Admin,
    Query(q): Params,
) -> ApiResult<Response> {
    by_day(&s, &q, keys::conversions_on, |item| {
        decode::<Conversion>(item).map(|c| ConversionView::of(&c))
    })
    .await
}

async fn list_commissions(
    State(s): State<Services>,
    _: Admin,
    Query(q): Params,
) -> ApiResult<Response> {
    if let Some(conversion_id) = q.get("conversion_id") {
        let items: Vec<_> = s
            .store
            .lines_of_conversion(&ConversionId::from(conversion_id))
            .await?
            .iter()
            .map(LineView::of)
            .collect();
        return Ok(json(
            StatusCode::OK,
            &Listing {
                items,
                next_cursor: None,
            },
        ));
    }
    by_day(&s, &q, keys::lines_on, |item| {
        decode(item).map(|l| LineView::of(&l))
    })
    .await
}

#[derive(serde::Serialize)]
struct Decided {
    conversion_id: String,
    /// The lines whose status changed, as they are now.
    lines: Vec<LineView>,
}

async fn approve_conversion(
    State(s): State<Services>,
    Admin(who): Admin,
    Path(id): Path<ConversionId>,
) -> ApiResult<Response> {
    let lines = decide_conversion(&s, &id, Decision::Approve).await?;
    audit::record(
        &s,
        &who,
        "conversion.approved",
        &id,
        format!("{} lines approved", lines.len()),
    )
    .await;
    let lines = lines.iter().map(LineView::of).collect();
    Ok(json(
        StatusCode::OK,
        &Decided {
            conversion_id: id.to_string(),
            lines,
        },
    ))
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct RejectRequest {
    reason: Option<String>,
}

async fn reject_conversion(
    State(s): State<Services>,
    Admin(who): Admin,
    Path(id): Path<ConversionId>,
    JsonBody(req): JsonBody<RejectRequest>,
) -> ApiResult<Response> {
    let reason = upline_domain::usecases::partner_lifecycle::parse_reason(req.reason)?;
    let reason_text = reason.clone();
    let lines = decide_conversion(&s, &id, Decision::Reject { reason }).await?;
    audit::record(
        &s,
        &who,
        "conversion.rejected",
        &id,
        format!("{} lines rejected: {reason_text}", lines.len()),
    )
    .await;
    let lines = lines.iter().map(LineView::of).collect();
    Ok(json(
        StatusCode::OK,
        &Decided {
            conversion_id: id.to_string(),
            lines,
        },
    ))
}

fn group_by(q: &HashMap<String, String>, default: GroupBy) -> ApiResult<GroupBy> {
    match q.get("group_by") {
        None => Ok(default),
        Some(g) => GroupBy::parse(g).map_err(|e| ApiError(AppError::field("group_by", e))),
    }
}

async fn program_report(
    State(s): State<Services>,
    _: Admin,
    Query(q): Params,
) -> ApiResult<Response> {
    let program = require_program(&s.store).await?;
    let (from, to) = parse_range(
        q.get("from").map(String::as_str),
        q.get("to").map(String::as_str),
        s.now(),
    )?;
    let group = group_by(&q, GroupBy::Day)?;
    // One partner's numbers, which may be grouped by sub-id.
    let report = match q.get("partner_id") {
        Some(partner_id) => {
            reports::partner_report(
                &s.store,
                &PartnerId::from(partner_id),
                from,
                to,
                group,
                program.currency,
            )
            .await?
        }
        None => reports::program_report(&s.store, from, to, group, program.currency).await?,
    };
    Ok(json(StatusCode::OK, &report))
}

async fn me(State(s): State<Services>, CallingPartner(id): CallingPartner) -> ApiResult<Response> {
    let p = s
        .store
        .partner(&id)
        .await?
        .ok_or_else(|| AppError::NotFound("partner".into()))?;
    Ok(json(StatusCode::OK, &partners::Profile::of(&p)))
}

async fn my_links(
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
    Ok(json(
        StatusCode::OK,
        &Listing {
            items,
            next_cursor: None,
        },
    ))
}

async fn my_commissions(
    State(s): State<Services>,
    CallingPartner(id): CallingPartner,
    Query(q): Params,
) -> ApiResult<Response> {
    let limit = page_limit(q.get("limit").map(String::as_str))?;
    let (lines, next) = s
        .store
        .lines_of_partner(&id, limit, q.get("cursor").map(String::as_str))
        .await?;
    let items: Vec<_> = lines.iter().map(LineView::of).collect();
    Ok(json(
        StatusCode::OK,
        &Listing {
            items,
            next_cursor: next,
        },
    ))
}

async fn my_stats(
    State(s): State<Services>,
    CallingPartner(id): CallingPartner,
    Query(q): Params,
) -> ApiResult<Response> {
    let program = require_program(&s.store).await?;
    let (from, to) = parse_range(
        q.get("from").map(String::as_str),
        q.get("to").map(String::as_str),
        s.now(),
    )?;
    let report = reports::partner_report(
        &s.store,
        &id,
        from,
        to,
        group_by(&q, GroupBy::Day)?,
        program.currency,
    )
    .await?;
    Ok(json(StatusCode::OK, &report))
}
