//! `/console/settings/operators`: who runs the program and in which role. Everyone sees
//! the list; owners add people, change roles and remove them (the last owner stays).

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use minijinja::context;
use upline_domain::error::AppError;
use upline_domain::operator::Permission;
use upline_domain::services::Services;
use upline_domain::usecases::operators::{self, OperatorRequest, OperatorView};

use crate::form::Fields;
use crate::pages::render;
use crate::problem::{PageError, PageResult};
use crate::session::SignedInOperator;

#[derive(Default)]
struct Outcome {
    notice: Option<String>,
    errors: std::collections::BTreeMap<String, String>,
    /// The add form as sent, kept when it was refused.
    email: String,
    role: String,
}

async fn page(s: &Services, who: &SignedInOperator, status: StatusCode, o: Outcome) -> PageResult {
    let operators: Vec<_> = operators::list(s)
        .await?
        .iter()
        .map(OperatorView::of)
        .collect();
    Ok(render(
        status,
        "operators.html",
        &who.layout("operators"),
        context! {
            operators,
            roles => ["owner", "manager", "analyst"],
            notice => o.notice,
            errors => o.errors,
            email => o.email,
            role => if o.role.is_empty() { "manager".to_string() } else { o.role },
        },
    ))
}

pub(crate) async fn operators_page(State(s): State<Services>, who: SignedInOperator) -> PageResult {
    page(&s, &who, StatusCode::OK, Outcome::default()).await
}

/// `POST /console/settings/operators`: `action` is `save` (add, or change a role) or
/// `remove`.
pub(crate) async fn change(
    State(s): State<Services>,
    who: SignedInOperator,
    headers: HeaderMap,
    form: Fields,
) -> Result<Response, PageError> {
    if let Some(refused) = who.refuse(&headers, &s, form.csrf(), Permission::ManageOperators) {
        return Ok(refused);
    }
    let email = form.get("email").to_string();
    let done = match form.get("action") {
        "save" => match (OperatorRequest {
            role: form.given("role"),
        })
        .parse(&email)
        {
            Ok(spec) => operators::put(&s, spec, who.actor())
                .await
                .map(|(o, created)| {
                    if created {
                        format!("{} is added as {}.", o.email, o.role.as_str())
                    } else {
                        format!("{} is now {}.", o.email, o.role.as_str())
                    }
                }),
            Err(e) => Err(e),
        },
        "remove" => operators::remove(&s, &email, who.actor())
            .await
            .map(|o| format!("{} is removed.", o.email)),
        other => Err(AppError::field("action", format!("no action {other:?}"))),
    };
    match done {
        Ok(notice) => {
            let o = Outcome {
                notice: Some(notice),
                ..Outcome::default()
            };
            page(&s, &who, StatusCode::OK, o).await
        }
        Err(e) => {
            let mut o = Outcome {
                email,
                role: form.get("role").to_string(),
                ..Outcome::default()
            };
            match e {
                AppError::Invalid(fields) => {
                    for f in fields {
                        o.errors.insert(f.field, f.message);
                    }
                }
                AppError::Conflict { field, detail } => {
                    o.errors
                        .insert(field.unwrap_or_else(|| "email".into()), detail);
                }
                AppError::NotFound(what) => {
                    o.errors.insert("email".into(), what);
                }
                other => return Err(other.into()),
            }
            page(&s, &who, StatusCode::UNPROCESSABLE_ENTITY, o).await
        }
    }
}
