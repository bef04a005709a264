//! Connected stores over the admin API: connect or change one (the answer names the
//! webhook URL to paste into the platform), list, show, disconnect, and read a store's
//! delivery log. Secrets go in and never come out; each change is audited without them.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use upline_domain::services::Services;
use upline_domain::storefronts::StoreRequest;
use upline_domain::storefronts::store::{SecretsChange, parse_store_id};
use upline_domain::usecases::stores::{self, StoreView};
use upline_http::{ApiResult, JsonBody, Paging, json};

use crate::{Admin, answers, audit};

fn view(s: &Services, store: &upline_domain::storefronts::ConnectedStore) -> StoreView {
    StoreView::of(
        store,
        &s.deployment.public_base_url,
        stores::fingerprints(s, store),
    )
}

pub(crate) async fn put_store(
    State(s): State<Services>,
    Admin(who): Admin,
    Path(id): Path<String>,
    JsonBody(req): JsonBody<StoreRequest>,
) -> ApiResult<Response> {
    let id = parse_store_id(&id)?;
    let existing = stores::find(&s, &id).await?;
    let campaigns: Vec<_> = s
        .store
        .campaigns()
        .await?
        .into_iter()
        .map(|c| c.id)
        .collect();
    let spec = req.parse(existing.as_ref(), &campaigns)?;
    let secrets = match &spec.secrets {
        SecretsChange::Keep => "secrets kept",
        SecretsChange::Replace(_) => "secrets replaced",
        SecretsChange::Add(_) => "a secret added (rotation)",
    };
    let (store, created) = stores::connect(&s, &id, spec).await?;
    audit::record(
        &s,
        &who,
        if created {
            "store.connected"
        } else {
            "store.updated"
        },
        &id,
        format!(
            "{} store for campaign {}, {secrets}",
            store.platform.as_str(),
            store.campaign_id
        ),
    )
    .await;
    Ok(answers::saved(created, &view(&s, &store)))
}

pub(crate) async fn list_stores(State(s): State<Services>, _: Admin) -> ApiResult<Response> {
    let items: Vec<StoreView> = stores::list(&s)
        .await?
        .iter()
        .map(|st| view(&s, st))
        .collect();
    Ok(answers::list(items, None))
}

pub(crate) async fn show_store(
    State(s): State<Services>,
    _: Admin,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    let store = stores::require(&s, &parse_store_id(&id)?).await?;
    Ok(json(StatusCode::OK, &view(&s, &store)))
}

pub(crate) async fn delete_store(
    State(s): State<Services>,
    Admin(who): Admin,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    let id = parse_store_id(&id)?;
    let store = stores::disconnect(&s, &id).await?;
    audit::record(
        &s,
        &who,
        "store.disconnected",
        &id,
        format!(
            "{} store for campaign {}",
            store.platform.as_str(),
            store.campaign_id
        ),
    )
    .await;
    Ok(StatusCode::NO_CONTENT.into_response())
}

pub(crate) async fn store_deliveries(
    State(s): State<Services>,
    _: Admin,
    Path(id): Path<String>,
    Paging(page): Paging,
) -> ApiResult<Response> {
    let found = stores::deliveries(&s, &parse_store_id(&id)?, &page).await?;
    Ok(answers::list(found.items, found.next))
}
