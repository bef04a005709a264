//! Admin keys: minted for a local host, or registered by their hash for a deployment.

use super::*;

/// The shortest admin key an operator may choose (generated ones carry 160 random bits).
pub const MIN_ADMIN_KEY_CHARS: usize = 24;

/// Stores an admin key under `name` and returns it; used to bootstrap a deployment.
pub async fn create_admin_key(
    services: &Services,
    name: &str,
    secret: Option<&str>,
) -> Result<NewApiKey, AppError> {
    let key = match secret {
        Some(s) if s.trim().chars().count() < MIN_ADMIN_KEY_CHARS => {
            return Err(AppError::field(
                "admin_key",
                format!(
                    "must be at least {MIN_ADMIN_KEY_CHARS} characters: an admin key can do \
                     everything, and a short one can be guessed"
                ),
            ));
        }
        Some(s) => NewApiKey {
            secret: s.trim().to_string(),
            hash: crate::ids::hash_api_key(s.trim()),
        },
        None => new_api_key(services.ids.as_ref(), "admin"),
    };
    register_admin_key_hash(&services.store, name, &key.hash).await?;
    Ok(key)
}

/// Registers an admin key by its SHA-256 hash: deployments are given the hash, never the
/// key. Registering the same hash again is a no-op.
pub async fn register_admin_key_hash(
    store: &Store,
    name: &str,
    hash: &str,
) -> Result<(), AppError> {
    let hash = hash.trim().to_ascii_lowercase();
    if hash.len() != 64 || !hash.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(AppError::field(
            "admin_key_hash",
            "must be the 64-hex-digit SHA-256 of the key",
        ));
    }
    let principal = Principal::Admin {
        name: name.to_string(),
    };
    match store
        .table()
        .transact(vec![Store::api_key_put(&hash, &principal)])
        .await
    {
        Ok(()) | Err(TableError::TransactionCancelled { .. }) => Ok(()),
        Err(e) => Err(e.into()),
    }
}
