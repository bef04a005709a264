//! What partners keep for themselves in the partner area: how they are paid (method and
//! its validated fields).

use serde::Deserialize;

use crate::error::{AppError, FieldErrors};
use crate::partner::{Partner, parse_email};
use crate::payout::{PayoutDetails, ReceiverType, parse_bic, parse_iban};
use crate::services::Services;
use crate::store::Store;
use crate::usecases::admin::parse_name;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PayoutDetailsRequest {
    /// `paypal` or `bank_transfer`.
    pub method: Option<String>,
    /// PayPal: the account's email address.
    pub email: Option<String>,
    /// Bank transfer: the account holder's name, IBAN, optional BIC, and whether the
    /// holder is a `person` (default) or a `business`.
    pub account_holder: Option<String>,
    pub iban: Option<String>,
    pub bic: Option<String>,
    pub receiver_type: Option<String>,
}

/// Validates payout details, naming every wrong or missing field at once.
pub fn parse_payout_details(req: PayoutDetailsRequest) -> Result<PayoutDetails, AppError> {
    let mut errors = FieldErrors::default();
    let method = errors.required("method", req.method);
    let bank_only = [
        ("account_holder", req.account_holder.is_some()),
        ("iban", req.iban.is_some()),
        ("bic", req.bic.is_some()),
        ("receiver_type", req.receiver_type.is_some()),
    ];
    let details = match method.as_deref() {
        Some("paypal") => {
            for (field, given) in bank_only {
                if given {
                    errors.push(field, "is for bank_transfer, not paypal");
                }
            }
            let email = errors.required("email", req.email);
            email
                .and_then(|e| errors.take("email", parse_email(&e)))
                .map(|email| PayoutDetails::Paypal { email })
        }
        Some("bank_transfer") => {
            if req.email.is_some() {
                errors.push("email", "is for paypal; bank transfers go to the iban");
            }
            let holder = errors
                .required("account_holder", req.account_holder)
                .and_then(|h| errors.take("account_holder", parse_name(&h)));
            let iban = errors
                .required("iban", req.iban)
                .and_then(|i| errors.take("iban", parse_iban(&i)));
            let bic = match req.bic.filter(|b| !b.trim().is_empty()) {
                None => Some(None),
                Some(b) => errors.take("bic", parse_bic(&b)).map(Some),
            };
            let receiver_type = match req.receiver_type.as_deref() {
                None | Some("person") => Some(ReceiverType::Person),
                Some("business") => Some(ReceiverType::Business),
                Some(other) => {
                    errors.push(
                        "receiver_type",
                        format!("must be person or business, got {other:?}"),
                    );
                    None
                }
            };
            match (holder, iban, bic, receiver_type) {
                (Some(account_holder), Some(iban), Some(bic), Some(receiver_type)) => {
                    Some(PayoutDetails::BankTransfer {
                        account_holder,
                        iban,
                        bic,
                        receiver_type,
                    })
                }
                _ => None,
            }
        }
        Some(other) => {
            errors.push(
                "method",
                format!("must be paypal or bank_transfer, got {other:?}"),
            );
            None
        }
        None => None,
    };
    errors.into_result()?;
    details.ok_or_else(|| AppError::Internal("validated payout details missing".into()))
}

/// Replaces the partner's payout details. Payouts already made keep the details they
/// were made with.
pub async fn set_payout_details(
    services: &Services,
    partner_id: &str,
    req: PayoutDetailsRequest,
) -> Result<Partner, AppError> {
    let details = parse_payout_details(req)?;
    let store = &services.store;
    let mut partner = store
        .partner(partner_id)
        .await?
        .ok_or_else(|| AppError::NotFound(format!("no partner {partner_id}")))?;
    partner.payout_details = Some(details);
    partner.updated_at = services.now();
    store
        .table()
        .transact(vec![Store::partner_put(
            &partner,
            crate::ports::Condition::Exists,
        )])
        .await?;
    Ok(partner)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(json: serde_json::Value) -> PayoutDetailsRequest {
        serde_json::from_value(json).unwrap()
    }

    fn fields(e: AppError) -> Vec<String> {
        match e {
            AppError::Invalid(errors) => errors.into_iter().map(|e| e.field).collect(),
            other => panic!("not a validation error: {other:?}"),
        }
    }

    #[test]
    fn payout_details_name_each_wrong_field() {
        let ok = parse_payout_details(req(serde_json::json!({
            "method": "bank_transfer", "account_holder": "Ann Lee",
            "iban": "DE89 3704 0044 0532 0130 00", "bic": "deutdeff"
        })))
        .unwrap();
        assert_eq!(
            ok.destination(),
            "Ann Lee, DE89370400440532013000, DEUTDEFF"
        );
        let e = parse_payout_details(req(serde_json::json!({
            "method": "bank_transfer", "iban": "DE89370400440532013001", "bic": "x",
            "receiver_type": "robot"
        })))
        .unwrap_err();
        assert_eq!(
            fields(e),
            ["account_holder", "iban", "bic", "receiver_type"]
        );
        let e = parse_payout_details(req(serde_json::json!({
            "method": "paypal", "email": "not-an-email", "iban": "DE89370400440532013000"
        })))
        .unwrap_err();
        assert_eq!(fields(e), ["iban", "email"]);
        let e = parse_payout_details(req(serde_json::json!({"method": "cheque"}))).unwrap_err();
        assert_eq!(fields(e), ["method"]);
    }
}
