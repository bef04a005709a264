//! Refunds and dispute holds that arrive before their conversion's commission is
//! computed. A platform that does not retry (WooCommerce) may report an order paid and
//! refunded in one delivery, and a dispute may open before the lines exist; each is kept
//! beside the conversion and applied by the commission stage right after it writes the
//! lines (holds first), instead of being refused or lost.

use super::*;
use crate::ports::{Condition, Index, Key, SortKeyCondition};
use crate::store::keys;

const PREFIX: &str = "PARKED#";
const HOLD: &str = "PARKED#HOLD#";
const REFUND: &str = "PARKED#REFUND#";

fn key(conversion_id: &crate::ids::ConversionId, refund_id: &str) -> Key {
    Key::new(
        keys::conversion(conversion_id).pk,
        format!("{REFUND}{refund_id}"),
    )
}

fn hold_key(conversion_id: &crate::ids::ConversionId, dispute_id: &str) -> Key {
    Key::new(
        keys::conversion(conversion_id).pk,
        format!("{HOLD}{dispute_id}"),
    )
}

/// Keeps a dispute's hold until the conversion's lines exist.
pub async fn park_hold(
    services: &Services,
    conversion_id: &crate::ids::ConversionId,
    dispute_id: &str,
) -> Result<(), AppError> {
    let item = crate::ports::Item::new(hold_key(conversion_id, dispute_id));
    Ok(services.store.table().put(item, Condition::None).await?)
}

/// Forgets a parked hold (its dispute closed before the lines were written).
pub async fn drop_parked_hold(
    services: &Services,
    conversion_id: &crate::ids::ConversionId,
    dispute_id: &str,
) -> Result<(), AppError> {
    Ok(services
        .store
        .table()
        .delete(&hold_key(conversion_id, dispute_id), Condition::None)
        .await?)
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
    // Holds sort before refunds, so a refund parked with them reverses held lines.
    for item in &page.items {
        if let Some(dispute_id) = item.key.sk.strip_prefix(HOLD) {
            // Taken first: a dispute closed meanwhile has dropped it, and must not be
            // held again after its release.
            match table.delete(&item.key, Condition::Exists).await {
                Ok(()) => {
                    crate::usecases::disputes::hold_lines(services, conversion_id, dispute_id)
                        .await?;
                }
                Err(crate::ports::TableError::ConditionFailed) => {}
                Err(e) => return Err(e.into()),
            }
            continue;
        }
        let Some(text) = item.s("request") else {
            continue;
        };
        let parked: ParkedRefund = serde_json::from_str(text)
            .map_err(|e| AppError::Internal(crate::error::Cause::of(e)))?;
        match refund_conversion(services, parked.into_request()).await {
            Ok(_) => applied += 1,
            // Refused for good (nothing left to take back, the id used for another
            // amount): logged, not retried forever.
            Err(AppError::Invalid(fields)) => {
                tracing::warn!(conversion_id = %conversion_id, ?fields, "a parked refund was refused");
            }
            Err(AppError::Conflict { detail, .. }) => {
                tracing::warn!(conversion_id = %conversion_id, %detail, "a parked refund was refused");
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
    #[serde(default)]
    refunded_total: Option<String>,
    #[serde(default)]
    up_to_rest: bool,
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
            refunded_total: r.refunded_total.as_ref().map(|a| a.0.clone()),
            up_to_rest: r.up_to_rest,
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
            refunded_total: self.refunded_total.map(DecimalText),
            up_to_rest: self.up_to_rest,
            currency: self.currency,
            kind: self.kind,
            reason: self.reason,
            ..RefundRequest::default()
        }
    }
}
