//! Refunds that arrive before their conversion's commission is computed. A platform that
//! does not retry (WooCommerce) may report an order paid and refunded in one delivery;
//! the refund is kept beside the conversion and applied by the commission stage right
//! after it writes the lines, instead of being refused.

use super::*;
use crate::ports::{Condition, Index, Key, SortKeyCondition};
use crate::store::keys;

const PREFIX: &str = "PARKEDREFUND#";

fn key(conversion_id: &crate::ids::ConversionId, refund_id: &str) -> Key {
    Key::new(
        keys::conversion(conversion_id).pk,
        format!("{PREFIX}{refund_id}"),
    )
}

/// Keeps `request` (which names the conversion by id) until the commission stage applies
/// it. Parking the same refund id again changes nothing.
pub async fn park(
    services: &Services,
    conversion: &Conversion,
    refund_id: &str,
    request: &RefundRequest,
) -> Result<(), AppError> {
    let body = serde_json::to_string(&ParkedRefund::of(request))
        .map_err(|e| AppError::Internal(crate::error::Cause::of(e)))?;
    let item = crate::ports::Item::new(key(&conversion.id, refund_id)).with("request", body);
    match services.store.table().put(item, Condition::NotExists).await {
        Ok(()) | Err(crate::ports::TableError::ConditionFailed) => Ok(()),
        Err(e) => Err(e.into()),
    }
}

/// Applies every refund parked on the conversion, each once, and forgets it.
pub async fn apply_parked(
    services: &Services,
    conversion_id: &crate::ids::ConversionId,
) -> Result<usize, AppError> {
    let table = services.store.table();
    let pk = keys::conversion(conversion_id).pk;
    let page = table
        .query(
            Index::Primary,
            &pk,
            &SortKeyCondition::BeginsWith(PREFIX.into()),
            true,
            100,
            None,
        )
        .await?;
    let mut applied = 0;
    for item in &page.items {
        let Some(text) = item.s("request") else {
            continue;
        };
        let parked: ParkedRefund = serde_json::from_str(text)
            .map_err(|e| AppError::Internal(crate::error::Cause::of(e)))?;
        match refund_conversion(services, parked.into_request()).await {
            Ok(_) => applied += 1,
            // Refused for good (more than what is left): logged, not retried forever.
            Err(AppError::Invalid(fields)) => {
                tracing::warn!(conversion_id = %conversion_id, ?fields, "a parked refund was refused");
            }
            Err(e) => return Err(e),
        }
        table.delete(&item.key, Condition::None).await?;
    }
    Ok(applied)
}

/// A parked refund as kept: the request's fields as text.
#[derive(serde::Serialize, serde::Deserialize)]
struct ParkedRefund {
    refund_id: String,
    conversion_id: String,
    amount: Option<String>,
    currency: Option<String>,
    kind: Option<String>,
    reason: Option<String>,
}

impl ParkedRefund {
    fn of(r: &RefundRequest) -> Self {
        ParkedRefund {
            refund_id: r
                .refund_id
                .as_ref()
                .map(|i| i.0.clone())
                .unwrap_or_default(),
            conversion_id: r.conversion_id.clone().unwrap_or_default(),
            amount: r.amount.as_ref().map(|a| a.0.clone()),
            currency: r.currency.clone(),
            kind: r.kind.clone(),
            reason: r.reason.clone(),
        }
    }

    fn into_request(self) -> RefundRequest {
        use crate::usecases::input::{DecimalText, IdText};
        RefundRequest {
            refund_id: Some(IdText(self.refund_id)),
            conversion_id: Some(self.conversion_id),
            amount: self.amount.map(DecimalText),
            currency: self.currency,
            kind: self.kind,
            reason: self.reason,
            ..RefundRequest::default()
        }
    }
}
