//! Public partner signup: an applicant becomes a pending partner, optionally under the
//! recruiter whose referral code they give, and is emailed that the application arrived.

mod wire;

pub use wire::{PartnerView, SignupRequest};

use crate::emails::EmailTemplate;
use crate::ids::PartnerId;

use crate::error::{AppError, FieldErrors};
use crate::ids::base32;
use crate::messages::{EmailRequest, Message};
use crate::partner::{Partner, PartnerKind, PartnerStatus, parse_email};
use crate::ports::{Condition, QueueName, TableError};
use crate::program::Program;
use crate::services::Services;
use crate::signup_form::{FormField, validate_answers};
use crate::store::{Store, keys};
use crate::usecases::admin::{parse_name, require_program};
use std::collections::BTreeMap;

/// A signup as the public form makes it: the application, then, when the program
/// approves applicants at once, the approval — whose key is returned, shown only here.
/// `program` is the one the application was parsed against (the edge read it already).
#[tracing::instrument(skip_all, fields(correlation_id = %correlation_id))]
pub async fn apply(
    services: &Services,
    program: &Program,
    application: Application,
    correlation_id: &str,
) -> Result<(Partner, Option<crate::ids::NewApiKey>), AppError> {
    let partner = signup_to(services, program, application, correlation_id).await?;
    if !program.signup.auto_approve {
        return Ok((partner, None));
    }
    let (partner, key) =
        crate::usecases::admin::approve_partner(services, &partner.id, correlation_id).await?;
    crate::usecases::audit::record(
        services,
        "signup",
        "partner.approved",
        &partner.id,
        "approved at signup: the program approves applicants automatically",
    )
    .await;
    Ok((partner, Some(key)))
}

/// An application as the public form sends it, every field checked against the
/// program's signup form and the recruiter's referral code resolved.
#[derive(Debug, Clone)]
pub struct Application {
    pub email: String,
    pub name: String,
    pub kind: PartnerKind,
    /// Answers to the program's own questions, by field name.
    pub fields: BTreeMap<String, serde_json::Value>,
    /// The partner whose referral code the applicant gave.
    pub recruited_by: Option<PartnerId>,
}

impl SignupRequest {
    /// The application, or an error for every field that is missing or wrong — the
    /// answers checked against `form` (the program's signup form), the referral code and
    /// the email against the partners in `store`, all reported at once.
    pub async fn parse(self, form: &[FormField], store: &Store) -> Result<Application, AppError> {
        let mut errors = FieldErrors::default();
        let email = errors.required("email", self.email);
        let email = email.and_then(|e| errors.take("email", parse_email(&e)));
        let name = errors.required("name", self.name);
        let name = name.and_then(|n| errors.take("name", parse_name(&n)));
        let kind = errors.required("type", self.kind);
        let kind = kind.and_then(|k| errors.take("type", PartnerKind::parse(&k)));
        let fields = validate_answers(form, self.fields.unwrap_or_default(), &mut errors);
        let mut recruited_by = None;
        if let Some(code) = self
            .referred_by
            .as_deref()
            .map(str::trim)
            .filter(|c| !c.is_empty())
        {
            match store
                .partner_id_by_referral_code(&code.to_ascii_lowercase())
                .await?
            {
                Some(id) => recruited_by = Some(id),
                None => errors.push(
                    "referred_by",
                    format!("no partner has the referral code {code:?}"),
                ),
            }
        }
        if let Some(e) = &email
            && store.partner_id_by_email(e).await?.is_some()
        {
            errors.push("email", "a partner with this email already exists");
        }
        let (email, name, kind) = errors.finish((email, name, kind))?;
        Ok(Application {
            email,
            name,
            kind,
            fields,
            recruited_by,
        })
    }
}

/// Stores the application as a pending partner and emails the applicant that it
/// arrived. An email taken by a signup racing this one is refused here.
pub async fn signup(
    services: &Services,
    application: Application,
    correlation_id: &str,
) -> Result<Partner, AppError> {
    let program = require_program(&services.store).await?;
    signup_to(services, &program, application, correlation_id).await
}

/// [`signup`] to a program already read.
async fn signup_to(
    services: &Services,
    program: &Program,
    application: Application,
    correlation_id: &str,
) -> Result<Partner, AppError> {
    let Application {
        email,
        name,
        kind,
        fields,
        recruited_by,
    } = application;
    let now = services.now();
    let mut partner = Partner {
        id: PartnerId::new(services.new_id()),
        email,
        name,
        kind,
        status: PartnerStatus::Pending,
        recruited_by,
        referral_code: String::new(),
        group: None,
        fields,
        status_reason: None,
        notifications: Default::default(),
        unsubscribe_token: base32(&services.ids.random_bytes(16)),
        api_key_hash: None,
        payout_details: None,
        status_history: vec![crate::partner::StatusChange {
            status: PartnerStatus::Pending,
            reason: None,
            at: now,
        }],
        created_at: now,
        updated_at: now,
    };
    let mut stored = false;
    for _ in 0..5 {
        partner.referral_code = base32(&services.ids.random_bytes(5));
        let ops = vec![
            Store::partner_put(&partner, Condition::NotExists),
            Store::unique_marker(keys::partner_email(&partner.email), &partner.id),
            Store::unique_marker(keys::referral_code(&partner.referral_code), &partner.id),
        ];
        match services.store.table().transact(ops).await {
            Ok(()) => {
                stored = true;
                break;
            }
            Err(TableError::TransactionCancelled { failed }) if failed.get(1) == Some(&true) => {
                // Another signup with this email won the race.
                return Err(AppError::field(
                    "email",
                    "a partner with this email already exists",
                ));
            }
            // A referral code collision: draw another.
            Err(TableError::TransactionCancelled { .. }) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    if !stored {
        return Err(AppError::Unavailable(
            "could not allocate a referral code; try again".into(),
        ));
    }
    let email = Message::EmailRequested(EmailRequest {
        email_id: format!("application-received:{}", partner.id),
        partner_id: partner.id.clone(),
        template: EmailTemplate::ApplicationReceived,
        data: serde_json::json!({ "program_name": program.name }),
    });
    if let Err(e) = services
        .publish(QueueName::Emails, &[email], correlation_id)
        .await
    {
        tracing::warn!(partner_id = %partner.id, error = %e, "application email not queued");
    }
    Ok(partner)
}
