//! Load: what a refund is decided on, read from the store — the conversion the request
//! names, a refund already recorded under its id, and the conversion's lines.

use crate::commission::CommissionLine;
use crate::conversion::{Conversion, Refund};
use crate::error::{AppError, FieldErrors};
use crate::ids::{CampaignId, ConversionId};
use crate::services::Services;
use crate::store::{decode, keys};

use super::parse::Target;

/// The conversion `target` names, or `None` with the reason pushed to `errors` under the
/// field that named it.
pub(super) async fn find_conversion(
    services: &Services,
    target: &Target,
    errors: &mut FieldErrors,
) -> Result<Option<Conversion>, AppError> {
    let store = &services.store;
    let (order, campaign) = match target {
        Target::Id(id) => {
            let found = store.conversion(&ConversionId::from(id)).await?;
            if found.is_none() {
                errors.push("conversion_id", format!("no conversion {id}"));
            }
            return Ok(found);
        }
        Target::Order { order, campaign } => (order, campaign),
    };
    let campaigns: Vec<CampaignId> = match campaign {
        Some(c) => vec![CampaignId::from(c)],
        None => store.campaigns().await?.into_iter().map(|c| c.id).collect(),
    };
    let mut found = Vec::new();
    for campaign in &campaigns {
        if let Some(id) = store.conversion_id_for_order(campaign, order).await? {
            found.push((campaign.clone(), id));
        }
    }
    match found.as_slice() {
        [] => {
            errors.push(
                "order_id",
                format!("no conversion was recorded for order {order}"),
            );
            Ok(None)
        }
        [(_, id)] => store.conversion(id).await,
        many => {
            let names: Vec<&str> = many.iter().map(|(c, _)| c.as_str()).collect();
            errors.push(
                "campaign_id",
                format!(
                    "order {order} exists in campaigns {}: say which",
                    names.join(", ")
                ),
            );
            Ok(None)
        }
    }
}

/// The refund recorded under `refund_id` on `conversion`, if there is one.
pub(super) async fn earlier_refund(
    services: &Services,
    conversion: &Conversion,
    refund_id: &str,
) -> Result<Option<Refund>, AppError> {
    let key = keys::refund(&conversion.id, refund_id);
    match services.store.table().get(&key).await? {
        Some(item) => Ok(Some(decode(&item)?)),
        None => Ok(None),
    }
}

/// Every line of `conversion`, reversing ones included (the decision tells them apart).
pub(super) async fn lines(
    services: &Services,
    conversion: &Conversion,
) -> Result<Vec<CommissionLine>, AppError> {
    services.store.lines_of_conversion(&conversion.id).await
}
