//! `/portal/links`: every link of the partner with its URL (copy button, QR code),
//! clicks and conversions over the last 90 days; a builder for deep links with sub-ids
//! (the same rules the redirect applies, as field errors); a form to take a link on
//! another campaign; and the partner's promo codes.

use std::collections::BTreeMap;

use axum::Form;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect};
use minijinja::context;
use serde::{Deserialize, Serialize};
use upline_domain::campaign::{Campaign, CampaignStatus};
use upline_domain::error::AppError;
use upline_domain::ids::{CampaignId, LinkCode};
use upline_domain::services::Services;
use upline_domain::tracking::{Link, SUB_IDS};
use upline_domain::usecases::admin::{NewLink, create_link};
use upline_domain::usecases::partner_area::{LinkRecipe, build_link};
use upline_domain::usecases::promo_codes;
use upline_domain::usecases::reports::{GroupBy, partner_report};

use crate::pages::render;
use crate::problem::{PageResult, not_found};
use crate::session::SignedIn;

/// Days of clicks and conversions shown next to each link.
const STATS_DAYS: i64 = 90;

#[derive(Serialize)]
struct LinkRow {
    code: String,
    campaign_name: String,
    url: String,
    clicks: i64,
    conversions: i64,
}

#[derive(Serialize)]
struct Built {
    code: String,
    url: Option<String>,
    /// The recipe as asked, to keep it in the form.
    wanted_url: String,
    subs: BTreeMap<String, String>,
    errors: BTreeMap<String, String>,
    qr_query: String,
}

fn pairs(query: &Option<String>) -> Vec<(String, String)> {
    url::form_urlencoded::parse(query.as_deref().unwrap_or_default().as_bytes())
        .into_owned()
        .collect()
}

/// The partner's link `code` and its campaign; `None` for anybody else's (a 404).
async fn own_link(
    s: &Services,
    who: &SignedIn,
    code: &str,
) -> Result<Option<(Link, Campaign)>, AppError> {
    let Some(link) = s.store.link(&LinkCode::from(code)).await? else {
        return Ok(None);
    };
    if link.partner_id != who.partner.id {
        return Ok(None);
    }
    let campaign = s.store.campaign(&link.campaign_id).await?;
    Ok(campaign.map(|c| (link, c)))
}

pub(crate) async fn links_page(
    State(s): State<Services>,
    who: SignedIn,
    RawQuery(query): RawQuery,
) -> PageResult {
    links(&s, &who, &query, None).await
}

async fn links(
    s: &Services,
    who: &SignedIn,
    query: &Option<String>,
    create_error: Option<String>,
) -> PageResult {
    let base = &s.deployment.public_base_url;
    let links = s.store.links_of(&who.partner.id).await?;
    let campaigns: BTreeMap<CampaignId, Campaign> = s
        .store
        .campaigns()
        .await?
        .into_iter()
        .map(|c| (c.id.clone(), c))
        .collect();
    let today = s.now().day();
    let from = s.now().plus_days(1 - STATS_DAYS).day();
    let currency = who.session.program.currency;
    let report = partner_report(
        &s.store,
        &who.partner.id,
        from,
        today,
        GroupBy::Campaign,
        currency,
    )
    .await?;
    let stats: BTreeMap<&str, (i64, i64)> = report
        .rows
        .iter()
        .map(|r| (r.key.as_str(), (r.clicks, r.conversions)))
        .collect();
    let rows: Vec<LinkRow> = links
        .iter()
        .map(|l| {
            let (clicks, conversions) =
                stats.get(l.campaign_id.as_str()).copied().unwrap_or((0, 0));
            LinkRow {
                code: l.code.to_string(),
                campaign_name: campaigns
                    .get(&l.campaign_id)
                    .map_or_else(|| l.campaign_id.to_string(), |c| c.name.clone()),
                url: upline_domain::public_urls::link_url(base, &l.code),
                clicks,
                conversions,
            }
        })
        .collect();
    // The builder's answer, when the page was opened from its form.
    let asked = pairs(query);
    let built = match asked.iter().find(|(k, _)| k == "code") {
        None => None,
        Some((_, code)) => {
            let Some((link, campaign)) = own_link(s, who, code).await? else {
                return Ok(not_found());
            };
            let recipe =
                LinkRecipe::from_pairs(asked.iter().map(|(k, v)| (k.as_str(), v.as_str())));
            let (url, errors) = match build_link(base, &link, &campaign, &recipe) {
                Ok(url) => (Some(url), BTreeMap::new()),
                Err(AppError::Invalid(errors)) => (
                    None,
                    errors.into_iter().map(|e| (e.field, e.message)).collect(),
                ),
                Err(e) => return Err(e.into()),
            };
            let qr_query = url::form_urlencoded::Serializer::new(String::new())
                .extend_pairs(recipe.url.iter().map(|u| ("url", u.as_str())))
                .extend_pairs(recipe.subs.iter())
                .finish();
            Some(Built {
                code: link.code.to_string(),
                url,
                wanted_url: recipe.url.clone().unwrap_or_default(),
                subs: recipe.subs.clone(),
                errors,
                qr_query,
            })
        }
    };
    let linked: Vec<&CampaignId> = links.iter().map(|l| &l.campaign_id).collect();
    let open_campaigns: Vec<_> = campaigns
        .values()
        .filter(|c| c.status == CampaignStatus::Active && !linked.contains(&&c.id))
        .map(|c| context! { id => c.id.to_string(), name => c.name })
        .collect();
    let codes: Vec<_> = promo_codes::list(&s.store, Some(&who.partner.id))
        .await?
        .iter()
        .map(|p| {
            context! {
                code => p.code.to_string(),
                campaign_name => campaigns.get(&p.campaign_id).map_or_else(|| p.campaign_id.to_string(), |c| c.name.clone()),
            }
        })
        .collect();
    let status = if create_error.is_some() || built.as_ref().is_some_and(|b| !b.errors.is_empty()) {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    Ok(render(
        status,
        "links.html",
        &who.layout("links"),
        context! {
            links => rows,
            stats_days => STATS_DAYS,
            built,
            sub_ids => SUB_IDS,
            open_campaigns,
            create_error,
            promo_codes => codes,
        },
    ))
}

#[derive(Deserialize)]
pub(crate) struct NewLinkForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    campaign_id: String,
}

/// `POST /portal/links`: takes a link on another campaign.
pub(crate) async fn create(
    State(s): State<Services>,
    who: SignedIn,
    headers: HeaderMap,
    Form(form): Form<NewLinkForm>,
) -> PageResult {
    if let Some(refused) = who.session.form_refused(&headers, &s, &form.csrf) {
        return Ok(refused);
    }
    let new = NewLink {
        partner_id: who.partner.id.clone(),
        campaign_id: CampaignId::from(form.campaign_id.trim()),
    };
    let campaign = s.store.campaign(&new.campaign_id).await?;
    if !campaign.is_some_and(|c| c.status == CampaignStatus::Active) {
        let why = "Choose one of the campaigns in the list.";
        return links(&s, &who, &None, Some(why.into())).await;
    }
    let (link, _) = create_link(&s, new).await?;
    Ok(Redirect::to(&format!("/portal/links#link-{}", link.code)).into_response())
}

/// `GET /portal/links/{code}/qr.svg`: the QR code of the link, or of the deep link its
/// query describes (the same recipe as the builder's).
pub(crate) async fn qr_code(
    State(s): State<Services>,
    who: SignedIn,
    Path(code): Path<String>,
    RawQuery(query): RawQuery,
) -> PageResult {
    let Some((link, campaign)) = own_link(&s, &who, &code).await? else {
        return Ok(not_found());
    };
    let asked = pairs(&query);
    let recipe = LinkRecipe::from_pairs(asked.iter().map(|(k, v)| (k.as_str(), v.as_str())));
    let url = build_link(&s.deployment.public_base_url, &link, &campaign, &recipe)?;
    let svg =
        crate::qr::svg(&url).ok_or_else(|| AppError::field("url", "is too long for a QR code"))?;
    Ok((
        [
            (header::CONTENT_TYPE, "image/svg+xml"),
            (header::CACHE_CONTROL, "private, max-age=3600"),
        ],
        svg,
    )
        .into_response())
}
