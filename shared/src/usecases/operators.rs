//! Operator accounts: adding people by email with a role, changing the role, removing
//! them. The admin API adds the first owner (`PUT /v1/admin/operators/{email}`); owners
//! manage the rest. A program always keeps at least one owner once it has operators:
//! the last owner can be neither removed nor demoted.

use serde::{Deserialize, Serialize};

use crate::error::{AppError, FieldErrors};
use crate::operator::{Operator, Role};
use crate::partner::parse_email;
use crate::ports::{Condition, Index, SortKeyCondition};
use crate::services::Services;
use crate::store::{decode, encode, keys};

/// `PUT /v1/admin/operators/{email}`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OperatorRequest {
    pub role: Option<String>,
}

/// An operator to add or change, read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OperatorSpec {
    pub email: String,
    pub role: Role,
}

impl OperatorRequest {
    /// The operator under `email` (from the path) with the request's role, every problem
    /// at once.
    pub fn parse(self, email: &str) -> Result<OperatorSpec, AppError> {
        let mut errors = FieldErrors::default();
        let email = errors.take("email", parse_email(email));
        let role = errors
            .required("role", self.role)
            .and_then(|r| errors.take("role", Role::parse(&r)));
        let (email, role) = errors.finish((email, role))?;
        Ok(OperatorSpec { email, role })
    }
}

/// An operator as the API shows them.
#[derive(Debug, Serialize)]
pub struct OperatorView {
    pub email: String,
    pub role: Role,
    pub added_by: String,
    pub added_at: String,
    pub updated_at: String,
}

impl OperatorView {
    pub fn of(o: &Operator) -> Self {
        OperatorView {
            email: o.email.clone(),
            role: o.role,
            added_by: o.added_by.clone(),
            added_at: o.added_at.to_rfc3339(),
            updated_at: o.updated_at.to_rfc3339(),
        }
    }
}

/// Every operator, by email.
pub async fn list(services: &Services) -> Result<Vec<Operator>, AppError> {
    services
        .store
        .query_all(
            Index::Primary,
            "PROGRAM",
            &SortKeyCondition::BeginsWith(keys::OPERATORS_PREFIX.into()),
        )
        .await?
        .iter()
        .map(decode)
        .collect()
}

/// The operator with this (lower-case) email, if any.
pub async fn find(services: &Services, email: &str) -> Result<Option<Operator>, AppError> {
    match services.store.table().get(&keys::operator(email)).await? {
        Some(item) => Ok(Some(decode(&item)?)),
        None => Ok(None),
    }
}

/// Adds the operator or changes their role, `by` an admin key's name or an owner's
/// email, and audits it under `by`; returns them and whether they are new. Demoting the
/// last owner is refused.
pub async fn put(
    services: &Services,
    spec: OperatorSpec,
    by: &str,
) -> Result<(Operator, bool), AppError> {
    let existing = find(services, &spec.email).await?;
    if let Some(e) = &existing
        && e.role == Role::Owner
        && spec.role != Role::Owner
    {
        refuse_if_last_owner(services, &e.email, "role", "demoted").await?;
    }
    let now = services.now();
    let operator = Operator {
        email: spec.email,
        role: spec.role,
        added_by: existing
            .as_ref()
            .map_or_else(|| by.to_string(), |e| e.added_by.clone()),
        added_at: existing.as_ref().map_or(now, |e| e.added_at),
        updated_at: now,
    };
    services
        .store
        .table()
        .put(
            encode(keys::operator(&operator.email), &operator),
            Condition::None,
        )
        .await?;
    let created = existing.is_none();
    crate::usecases::audit::record(
        services,
        by,
        if created {
            "operator.added"
        } else {
            "operator.changed"
        },
        &operator.email,
        format!("role {}", operator.role.as_str()),
    )
    .await;
    Ok((operator, created))
}

/// Removes the operator, audited under `by`; the last owner stays. Their console
/// session ends with them: each request reads the operator afresh.
pub async fn remove(services: &Services, email: &str, by: &str) -> Result<Operator, AppError> {
    let email = parse_email(email).map_err(|e| AppError::field("email", e))?;
    let existing = find(services, &email)
        .await?
        .ok_or_else(|| AppError::NotFound(format!("no operator {email}")))?;
    if existing.role == Role::Owner {
        refuse_if_last_owner(services, &email, "email", "removed").await?;
    }
    services
        .store
        .table()
        .delete(&keys::operator(&email), Condition::Exists)
        .await?;
    crate::usecases::audit::record(
        services,
        by,
        "operator.removed",
        &existing.email,
        format!("was {}", existing.role.as_str()),
    )
    .await;
    Ok(existing)
}

async fn refuse_if_last_owner(
    services: &Services,
    email: &str,
    field: &str,
    what: &str,
) -> Result<(), AppError> {
    let owners = list(services)
        .await?
        .into_iter()
        .filter(|o| o.role == Role::Owner && o.email != email)
        .count();
    if owners == 0 {
        return Err(AppError::Conflict {
            field: Some(field.into()),
            detail: format!(
                "{email} is the program's only owner and cannot be {what}; make someone else an owner first"
            ),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_request_names_every_problem() {
        let err = OperatorRequest {
            role: Some("boss".into()),
        }
        .parse("not an email")
        .unwrap_err();
        let AppError::Invalid(fields) = err else {
            panic!("{err:?}")
        };
        let names: Vec<&str> = fields.iter().map(|f| f.field.as_str()).collect();
        assert_eq!(names, ["email", "role"]);
        let spec = OperatorRequest {
            role: Some("analyst".into()),
        }
        .parse(" Fin@Example.COM ")
        .unwrap();
        assert_eq!(
            spec,
            OperatorSpec {
                email: "fin@example.com".into(),
                role: Role::Analyst
            }
        );
    }
}
