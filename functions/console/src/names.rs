//! How the console shows a partner it knows by id: by name, or by the id when the partner
//! record is gone (lines and payouts outlive nothing, but say so rather than fail).

use upline_domain::error::AppError;
use upline_domain::ids::PartnerId;
use upline_domain::services::Services;

/// The partner's name, or their id.
pub async fn partner_name(s: &Services, id: &PartnerId) -> Result<String, AppError> {
    Ok(match s.store.partner(id).await? {
        Some(p) => p.name,
        None => id.to_string(),
    })
}
