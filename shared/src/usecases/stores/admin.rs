//! Connecting, listing and disconnecting stores, and reading a store's delivery log.

use super::*;

/// Connects a store, or changes one (its campaign checked to exist when the request was
/// parsed): its secrets sealed.
/// Returns the store and whether it is new.
pub async fn connect(
    services: &Services,
    id: &StoreId,
    spec: StoreSpec,
) -> Result<(ConnectedStore, bool), AppError> {
    let store = &services.store;
    let existing = find(services, id).await?;
    let now = services.now();
    let secrets = match (spec.secrets, &existing) {
        (SecretsChange::Keep, Some(e)) => e.secrets.clone(),
        (SecretsChange::Keep, None) => {
            return Err(AppError::field("secrets", "is required for a new store"));
        }
        (SecretsChange::Replace(list), _) => {
            list.iter().map(|s| store.seal(SECRET_PURPOSE, s)).collect()
        }
        (SecretsChange::Add(new), Some(e)) => {
            let mut kept = vec![store.seal(SECRET_PURPOSE, &new)];
            // The newest secret already stored stays accepted until the next change.
            if let Some(newest) = e.secrets.first()
                && store.open(SECRET_PURPOSE, newest)? != new
            {
                kept.push(newest.clone());
            }
            kept
        }
        (SecretsChange::Add(_), None) => {
            return Err(AppError::field("add_secret", "is for a connected store"));
        }
    };
    let connected = ConnectedStore {
        id: id.clone(),
        platform: spec.platform,
        campaign_id: spec.campaign_id,
        secrets,
        options: spec.options,
        created_at: existing.as_ref().map_or(now, |e| e.created_at),
        updated_at: now,
    };
    store
        .table()
        .put(encode(keys::store(id), &connected), Condition::None)
        .await?;
    Ok((connected, existing.is_none()))
}

/// The store with this id, if connected.
pub async fn find(services: &Services, id: &StoreId) -> Result<Option<ConnectedStore>, AppError> {
    match services.store.table().get(&keys::store(id)).await? {
        Some(item) => Ok(Some(decode(&item)?)),
        None => Ok(None),
    }
}

/// The store with this id, or `404`.
pub async fn require(services: &Services, id: &StoreId) -> Result<ConnectedStore, AppError> {
    find(services, id)
        .await?
        .ok_or_else(|| AppError::NotFound(format!("no store {id} is connected")))
}

/// Every connected store, by id.
pub async fn list(services: &Services) -> Result<Vec<ConnectedStore>, AppError> {
    services
        .store
        .query_all(
            Index::Primary,
            "PROGRAM",
            &SortKeyCondition::BeginsWith(keys::STORES_PREFIX.into()),
        )
        .await?
        .iter()
        .map(decode)
        .collect()
}

/// Disconnects a store: its deliveries are refused from now on (`404`); its conversions
/// and delivery log stay.
pub async fn disconnect(services: &Services, id: &StoreId) -> Result<ConnectedStore, AppError> {
    let existing = require(services, id).await?;
    services
        .store
        .table()
        .delete(&keys::store(id), Condition::None)
        .await?;
    Ok(existing)
}

/// A page of a store's delivery log, newest first.
pub async fn deliveries(
    services: &Services,
    id: &StoreId,
    page: &PageQuery,
) -> Result<PageOf<DeliveryRecord>, AppError> {
    require(services, id).await?;
    services
        .store
        .page_of(Index::Primary, &keys::store_log_partition(id), page)
        .await
}

/// A short, keyed fingerprint of each secret, so an operator can tell which ones are
/// configured without the secrets being shown.
pub fn fingerprints(services: &Services, store: &ConnectedStore) -> Vec<String> {
    store
        .secrets
        .iter()
        .map(|sealed| match services.store.open(SECRET_PURPOSE, sealed) {
            Ok(plain) => services.store.keyed_hash(SECRET_PURPOSE, &plain)[..8].to_string(),
            Err(_) => "unreadable".to_string(),
        })
        .collect()
}
