//! What partners keep for themselves in the partner area: their profile, how they are
//! paid (method and its validated fields), which notifications they get (and the
//! unsubscribe link that turns them all off), and their downline with what it earned
//! them, and the links they share (`link_builder`).

mod lines;
mod link_builder;
mod wire;

pub use lines::{LineOnStatement, lines_of_partner};
pub use link_builder::{LinkRecipe, build_link};
pub use wire::{DownlineMember, NotificationsRequest, PayoutDetailsRequest, ProfileRequest};

use crate::ids::ConversionId;
use crate::ids::PartnerId;

use crate::error::{AppError, FieldErrors};
use crate::partner::{Partner, parse_email};
use crate::payout::{PayoutDetails, ReceiverType, parse_bic, parse_iban};
use crate::services::Services;
use crate::usecases::admin::parse_name;

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
    let (details,) = errors.finish((details,))?;
    Ok(details)
}

/// Replaces the partner's payout details. Payouts already made keep the details they
/// were made with.
pub async fn set_payout_details(
    services: &Services,
    partner_id: &PartnerId,
    details: PayoutDetails,
) -> Result<Partner, AppError> {
    let store = &services.store;
    let mut partner = store.require_partner(partner_id).await?;
    partner.payout_details = Some(details);
    partner.updated_at = services.now();
    store.save_partner(&partner).await?;
    Ok(partner)
}

/// What a partner changes about themselves; `None` leaves a setting as it is.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProfileChange {
    pub name: Option<String>,
    pub new_conversion: Option<bool>,
    pub commission_approved: Option<bool>,
    pub unsubscribed: Option<bool>,
}

impl ProfileRequest {
    pub fn parse(self) -> Result<ProfileChange, AppError> {
        let name = self
            .name
            .map(|n| parse_name(&n).map_err(|e| AppError::field("name", e)))
            .transpose()?;
        let n = self.notifications;
        Ok(ProfileChange {
            name,
            new_conversion: n.as_ref().and_then(|n| n.new_conversion),
            commission_approved: n.as_ref().and_then(|n| n.commission_approved),
            unsubscribed: n.as_ref().and_then(|n| n.unsubscribed),
        })
    }
}

/// Changes what the partner may change about themselves; settings left out stay.
pub async fn update_profile(
    services: &Services,
    partner_id: &PartnerId,
    change: ProfileChange,
) -> Result<Partner, AppError> {
    let mut partner = crate::usecases::partner_lifecycle::load(services, partner_id).await?;
    if let Some(name) = change.name {
        partner.name = name;
    }
    let prefs = &mut partner.notifications;
    prefs.new_conversion = change.new_conversion.unwrap_or(prefs.new_conversion);
    prefs.commission_approved = change
        .commission_approved
        .unwrap_or(prefs.commission_approved);
    prefs.unsubscribed = change.unsubscribed.unwrap_or(prefs.unsubscribed);
    save(services, partner).await
}

async fn save(services: &Services, mut partner: Partner) -> Result<Partner, AppError> {
    partner.updated_at = services.now();
    services.store.save_partner(&partner).await?;
    Ok(partner)
}

/// The unsubscribe link's action: no more notification emails. Account and payout
/// emails still go out. A wrong token changes nothing and says only that the link is
/// not valid.
pub async fn unsubscribe(
    services: &Services,
    partner_id: &PartnerId,
    token: &str,
) -> Result<Partner, AppError> {
    let partner = services.store.partner(partner_id).await?;
    let valid = partner.as_ref().is_some_and(|p| {
        !p.unsubscribe_token.is_empty()
            && subtle::ConstantTimeEq::ct_eq(p.unsubscribe_token.as_bytes(), token.as_bytes())
                .into()
    });
    let Some(mut partner) = partner.filter(|_| valid) else {
        return Err(AppError::NotFound(
            "this unsubscribe link is not valid".into(),
        ));
    };
    if partner.notifications.unsubscribed {
        return Ok(partner);
    }
    partner.notifications.unsubscribed = true;
    save(services, partner).await
}

/// The partners below `partner_id`, level by level down to the program's upline depth
/// (at least one level), with what each contributed to the owner's commissions.
pub async fn downline(
    services: &Services,
    partner_id: &PartnerId,
) -> Result<Vec<DownlineMember>, AppError> {
    let store = &services.store;
    let program = crate::usecases::admin::require_program(store).await?;
    let depth = program.upline.depth.max(1);
    // What the owner earned per converting partner, from their upline lines.
    let mut earned: std::collections::BTreeMap<PartnerId, i64> = Default::default();
    let mut conversion_partner: std::collections::BTreeMap<ConversionId, PartnerId> =
        Default::default();
    let lines = store
        .query_all(
            crate::ports::Index::Gsi1,
            &crate::store::keys::partner_lines(partner_id),
            &crate::ports::SortKeyCondition::All,
        )
        .await?;
    for item in &lines {
        let line: crate::commission::CommissionLine = crate::store::decode(item)?;
        if line.level == 0 || line.status == crate::commission::LineStatus::Rejected {
            continue;
        }
        let who = match conversion_partner.get(&line.conversion_id) {
            Some(p) => p.clone(),
            None => {
                let Some(c) = store.conversion(&line.conversion_id).await? else {
                    continue;
                };
                conversion_partner.insert(line.conversion_id.clone(), c.partner_id.clone());
                c.partner_id
            }
        };
        *earned.entry(who).or_default() += line.amount.minor();
    }
    let mut out = Vec::new();
    let mut frontier = vec![partner_id.clone()];
    let mut seen = std::collections::BTreeSet::from([partner_id.clone()]);
    for level in 1..=depth {
        let mut next = Vec::new();
        for recruiter in &frontier {
            let items = store
                .query_all(
                    crate::ports::Index::Gsi1,
                    &crate::store::keys::recruits_of(recruiter),
                    &crate::ports::SortKeyCondition::All,
                )
                .await?;
            for item in &items {
                let p: Partner = crate::store::decode(item)?;
                // The index can lag a recruiter change: trust the partner's own record.
                if p.recruited_by.as_ref() != Some(recruiter) || !seen.insert(p.id.clone()) {
                    continue;
                }
                out.push(DownlineMember {
                    id: p.id.to_string(),
                    name: p.name.clone(),
                    level,
                    recruited_by: recruiter.to_string(),
                    status: p.status,
                    joined_at: p.created_at.to_rfc3339(),
                    contribution: crate::money::format_minor(
                        earned.get(&p.id).copied().unwrap_or(0),
                        program.currency,
                    ),
                });
                next.push(p.id);
            }
        }
        frontier = next;
        if frontier.is_empty() {
            break;
        }
    }
    Ok(out)
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
