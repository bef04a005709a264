//! Promo codes: a code the operator assigns to a partner on a campaign (influencers,
//! podcasts), so a sale that used the code is credited to the partner without any click.
//! Codes are matched case-insensitively and belong to one partner at a time.

mod wire;

pub use wire::{NewPromoCode, PromoCodeRequest, PromoCodeView};

use crate::error::Invalid;
use crate::ids::{CampaignId, PartnerId, PromoCodeId};
use serde::{Deserialize, Serialize};

use crate::clock::Timestamp;
use crate::error::AppError;
use crate::ports::{Condition, Index, SortKeyCondition, TableError};
use crate::services::Services;
use crate::store::{Store, decode, encode, keys};

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PromoCode {
    /// Upper case, as matched.
    pub code: PromoCodeId,
    pub partner_id: PartnerId,
    pub campaign_id: CampaignId,
    pub created_at: Timestamp,
}

/// Normalises a code: 3 to 40 letters, digits, `-` or `_`, upper case.
pub fn parse_code(text: &str) -> Result<String, Invalid> {
    let code = text.trim().to_ascii_uppercase();
    let ok = (3..=40).contains(&code.len())
        && code
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if ok {
        Ok(code)
    } else {
        Err("must be 3 to 40 letters, digits, - or _".into())
    }
}

fn promo_item(p: &PromoCode) -> crate::ports::Item {
    encode(keys::promo_code(&p.code), p)
        .with("gsi1pk", keys::partner_promo_codes(&p.partner_id))
        .with("gsi1sk", p.code.clone())
        .with("gsi2pk", keys::promo_codes_listing())
        .with("gsi2sk", p.code.clone())
}

/// Assigns a code to an approved partner on a campaign. Assigning it again to the same
/// pair changes nothing (`false`); a code held by another pair is a conflict.
pub async fn assign(services: &Services, new: NewPromoCode) -> Result<(PromoCode, bool), AppError> {
    let NewPromoCode {
        code,
        partner_id,
        campaign_id,
    } = new;
    let store = &services.store;
    crate::usecases::admin::require_partner_on_campaign(store, &partner_id, &campaign_id, "codes")
        .await?;
    let promo = PromoCode {
        code: code.clone(),
        partner_id,
        campaign_id,
        created_at: services.now(),
    };
    match store
        .table()
        .put(promo_item(&promo), Condition::NotExists)
        .await
    {
        Ok(()) => Ok((promo, true)),
        Err(TableError::ConditionFailed) => {
            let held = find(store, &code)
                .await?
                .ok_or_else(|| AppError::Unavailable("the code changed; retry".into()))?;
            if held.partner_id == promo.partner_id && held.campaign_id == promo.campaign_id {
                Ok((held, false))
            } else {
                Err(AppError::Conflict {
                    field: Some("code".into()),
                    detail: format!(
                        "{code} is assigned to partner {} on campaign {}; delete it first",
                        held.partner_id, held.campaign_id
                    ),
                })
            }
        }
        Err(e) => Err(e.into()),
    }
}

/// The assignment of `code` (any case), if any.
pub async fn find(store: &Store, code: &str) -> Result<Option<PromoCode>, AppError> {
    let Ok(code) = parse_code(code).map(PromoCodeId::new) else {
        return Ok(None);
    };
    match store.table().get(&keys::promo_code(&code)).await? {
        Some(item) => Ok(Some(decode(&item)?)),
        None => Ok(None),
    }
}

/// Withdraws a code; sales that used it earlier keep their attribution.
pub async fn withdraw(services: &Services, code: &str) -> Result<(), AppError> {
    let code = PromoCodeId::new(parse_code(code).map_err(|e| AppError::field("code", e))?);
    match services
        .store
        .table()
        .delete(&keys::promo_code(&code), Condition::Exists)
        .await
    {
        Ok(()) => Ok(()),
        Err(TableError::ConditionFailed) => Err(AppError::NotFound(format!("promo code {code}"))),
        Err(e) => Err(e.into()),
    }
}

/// Every code, or one partner's, in code order.
pub async fn list(
    store: &Store,
    partner_id: Option<&PartnerId>,
) -> Result<Vec<PromoCode>, AppError> {
    let (index, partition) = match partner_id {
        Some(p) => (Index::Gsi1, keys::partner_promo_codes(p)),
        None => (Index::Gsi2, keys::promo_codes_listing()),
    };
    store
        .query_all(index, &partition, &SortKeyCondition::All)
        .await?
        .iter()
        .map(decode)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_matched_in_upper_case_and_bounded() {
        assert_eq!(parse_code(" spring-10 ").unwrap(), "SPRING-10");
        assert!(parse_code("ab").is_err());
        assert!(parse_code("has space").is_err());
        assert!(parse_code(&"x".repeat(41)).is_err());
    }
}
