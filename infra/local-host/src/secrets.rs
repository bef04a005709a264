//! The deployment's own secrets: the click secret, made once and kept sealed in the
//! store, and the key that seals it, which on the embedded backend lives in the data folder.

use upline_domain::click_id::ClickSecret;
use upline_domain::ids::Ids;
use upline_domain::ports::{Condition, Item, Table, TableError};
use upline_domain::secrets::SecretsKey;
use upline_domain::store::keys;

use crate::HostError;

/// What the local host's click secret is sealed as in the store.
const CLICK_SECRET_PURPOSE: &str = "deployment.click_secret";

/// The deployment's click secret, made on first start and kept in the store, sealed.
pub(crate) async fn click_secret(
    store: &dyn Table,
    ids: &dyn Ids,
    sealing: &SecretsKey,
) -> Result<(ClickSecret, bool), HostError> {
    let setup = |e: TableError| HostError::Setup(e.to_string());
    let key = keys::deployment_secrets();
    let fresh = sealing.seal(CLICK_SECRET_PURPOSE, &hex::encode(ids.random_bytes(32)));
    let first = match store
        .put(
            Item::new(key.clone()).with("click_secret", fresh),
            Condition::NotExists,
        )
        .await
    {
        Ok(()) => true,
        Err(TableError::ConditionFailed) => false,
        Err(e) => return Err(setup(e)),
    };
    let item = store
        .get(&key)
        .await
        .map_err(setup)?
        .ok_or_else(|| HostError::Setup("secrets vanished".into()))?;
    let stored = item
        .s("click_secret")
        .ok_or_else(|| HostError::Setup("stored click secret is missing".into()))?;
    let opened = sealing.open(CLICK_SECRET_PURPOSE, stored).map_err(|e| {
        HostError::Setup(format!("{e} (is this the data folder's own secrets.key?)"))
    })?;
    let bytes = hex::decode(&opened)
        .map_err(|_| HostError::Setup("stored click secret is unreadable".into()))?;
    if !upline_domain::secrets::is_sealed(stored) {
        // Sealed from now on: a data folder from before secrets were sealed.
        let item = Item::new(key.clone())
            .with("click_secret", sealing.seal(CLICK_SECRET_PURPOSE, &opened));
        store.put(item, Condition::Exists).await.map_err(setup)?;
    }
    let secret = ClickSecret::new(bytes).map_err(|e| HostError::Setup(e.into()))?;
    Ok((secret, first))
}

/// The secrets key of an embedded data folder: `secrets.key` beside the store, made
/// (owner-only) on first start. Whoever has the folder has the key too — the seal
/// protects copies of the store file and exports, not the folder itself.
pub(crate) fn data_dir_secrets_key(data_dir: &std::path::Path) -> Result<SecretsKey, HostError> {
    let path = data_dir.join("secrets.key");
    let dir_error = |e| HostError::DataDir(path.display().to_string(), e);
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let fresh = SecretsKey::generate_hex();
            upline_embedded::private::write_private(&path, fresh.as_bytes()).map_err(dir_error)?;
            fresh
        }
        Err(e) => return Err(dir_error(e)),
    };
    upline_embedded::private::private_file(&path).map_err(dir_error)?;
    SecretsKey::from_hex(&text).map_err(|e| HostError::Setup(format!("{}: {e}", path.display())))
}
