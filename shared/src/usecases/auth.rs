//! Who is calling: admin and partner API keys, looked up by their hash.

use crate::error::AppError;
use crate::ids::{PartnerId, Principal, hash_api_key};
use crate::store::Store;

/// Resolves a bearer token to its principal. The same answer for a missing and a wrong
/// key, so the API does not tell which keys exist.
pub async fn authenticate(store: &Store, bearer: Option<&str>) -> Result<Principal, AppError> {
    let token = bearer
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .ok_or_else(|| AppError::Unauthorized("send Authorization: Bearer <api key>".into()))?;
    store
        .principal(&hash_api_key(token))
        .await?
        .ok_or_else(|| AppError::Unauthorized("the API key is not valid".into()))
}

pub async fn require_admin(store: &Store, bearer: Option<&str>) -> Result<String, AppError> {
    match authenticate(store, bearer).await? {
        Principal::Admin { name } => Ok(name),
        Principal::Partner { .. } => {
            Err(AppError::Forbidden("this route needs an admin key".into()))
        }
    }
}

pub async fn require_partner(store: &Store, bearer: Option<&str>) -> Result<PartnerId, AppError> {
    match authenticate(store, bearer).await? {
        Principal::Partner { partner_id } => Ok(partner_id),
        Principal::Admin { .. } => {
            Err(AppError::Forbidden("this route needs a partner key".into()))
        }
    }
}
