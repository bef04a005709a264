//! `/portal/join`: the public application page, drawn from the program's signup form
//! (every field type, required marks, choices), with `?ref=` filling in the recruiter.
//! A wrong answer is shown next to its field with everything typed kept; a good
//! application becomes a pending partner (or an approved one, where the program approves
//! at once) exactly as `POST /v1/partners` makes it.

use std::collections::BTreeMap;

use crate::problem::PageParams;
use axum::Form;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use minijinja::context;
use serde::Deserialize;
use serde_json::Value;
use upline_domain::error::AppError;
#[cfg(test)]
use upline_domain::partner::PartnerKind;
use upline_domain::partner::PartnerStatus;
use upline_domain::program::Program;
use upline_domain::services::Services;
use upline_domain::signup_form::{FieldKind, FormField};
use upline_domain::usecases::rate_limits;
use upline_domain::usecases::signup::{SignupRequest, apply};
use upline_http::auth::ClientAddress;
use upline_http::correlation_id;

use crate::pages::{Layout, message, render};
use crate::problem::page_error;
use crate::session::{PublicForm, PublicPage};

/// What partners call each kind, for the "I am" choice.
const KINDS: [(&str, &str); 5] = [
    ("affiliate", "An affiliate (a site, a blog, a newsletter)"),
    ("influencer", "An influencer or creator"),
    ("referral", "A customer who recommends the shop"),
    ("reseller", "A reseller or agency"),
    ("introducing_broker", "An introducing broker"),
];

#[derive(Deserialize, Default)]
pub(crate) struct JoinQuery {
    #[serde(default, rename = "ref")]
    referral: Option<String>,
}

/// The form as typed, by input name (repeated names for multi-select choices).
type Typed = BTreeMap<String, Vec<String>>;

fn render_form(
    program: &Program,
    typed: &Typed,
    errors: &BTreeMap<String, String>,
    status: StatusCode,
) -> Response {
    let value = |name: &str| {
        typed
            .get(name)
            .and_then(|v| v.first())
            .cloned()
            .unwrap_or_default()
    };
    let fields: Vec<_> = program
        .signup
        .form
        .iter()
        .map(|f| {
            let input = format!("fields.{}", f.name);
            context! {
                name => f.name,
                input => input,
                label => f.label,
                kind => f.kind,
                required => f.required,
                options => f.options,
                max_length => f.max_length,
                value => value(&input),
                chosen => typed.get(&input).cloned().unwrap_or_default(),
                error => errors.get(&input),
            }
        })
        .collect();
    render(
        status,
        "join.html",
        &Layout::public(&program.name),
        context! {
            email => value("email"),
            name => value("name"),
            kind => value("type"),
            referred_by => value("referred_by"),
            kinds => KINDS,
            fields,
            errors,
        },
    )
}

pub(crate) async fn join_page(
    PublicPage { program, .. }: PublicPage,
    PageParams { query: q, .. }: PageParams<JoinQuery>,
) -> Response {
    let mut typed = Typed::new();
    if let Some(code) = q.referral.filter(|c| !c.trim().is_empty()) {
        typed.insert("referred_by".into(), vec![code.trim().to_string()]);
    }
    render_form(&program, &typed, &BTreeMap::new(), StatusCode::OK)
}

/// An answer as the signup form's checks take it: numbers as JSON numbers, ticks as
/// `true`, several choices as a list.
fn answer(field: &FormField, typed: &[String]) -> Option<Value> {
    let first = typed.first().map(|v| v.trim()).filter(|v| !v.is_empty());
    match field.kind {
        FieldKind::MultiSelect => {
            let chosen: Vec<Value> = typed
                .iter()
                .filter(|v| !v.is_empty())
                .map(|v| Value::String(v.clone()))
                .collect();
            (!chosen.is_empty()).then_some(Value::Array(chosen))
        }
        FieldKind::Checkbox => first.map(|_| Value::Bool(true)),
        // Not a number stays text, so the check says "must be a number".
        FieldKind::Number => first.map(|v| {
            serde_json::from_str::<serde_json::Number>(v)
                .map(Value::Number)
                .unwrap_or_else(|_| Value::String(v.to_string()))
        }),
        _ => first.map(|v| Value::String(v.to_string())),
    }
}

pub(crate) async fn submit(
    State(s): State<Services>,
    PublicForm { program, .. }: PublicForm,
    ClientAddress(client): ClientAddress,
    headers: HeaderMap,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Response {
    let mut typed = Typed::new();
    for (name, value) in pairs {
        typed.entry(name).or_default().push(value);
    }
    // Each application sends an email: the API's limit per client address holds here too.
    if let Some(client) = &client
        && let Err(e) = rate_limits::count(&s, &s.rate_limits.signups, client).await
    {
        return page_error(e);
    }
    let first = |name: &str| {
        typed
            .get(name)
            .and_then(|v| v.first())
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty())
    };
    let answers: BTreeMap<String, Value> = program
        .signup
        .form
        .iter()
        .filter_map(|f| {
            let typed = typed.get(&format!("fields.{}", f.name))?;
            Some((f.name.clone(), answer(f, typed)?))
        })
        .collect();
    let request = SignupRequest {
        email: first("email"),
        name: first("name"),
        kind: first("type"),
        referred_by: first("referred_by"),
        fields: Some(answers),
    };
    let application = match request.parse(&program.signup.form, &s.store).await {
        Ok(a) => a,
        Err(AppError::Invalid(errors)) => {
            let errors = errors.into_iter().map(|e| (e.field, e.message)).fold(
                BTreeMap::new(),
                |mut all, (field, message)| {
                    all.entry(field).or_insert(message);
                    all
                },
            );
            return render_form(&program, &typed, &errors, StatusCode::UNPROCESSABLE_ENTITY);
        }
        Err(e) => return page_error(e),
    };
    let correlation = correlation_id(&headers, || s.new_id());
    let layout = Layout::public(&program.name);
    match apply(&s, &program, application, &correlation).await {
        Ok((partner, _)) if partner.status == PartnerStatus::Approved => message(
            StatusCode::CREATED,
            &layout,
            "Welcome aboard",
            &[
                "Your application is approved. A welcome email with your links is on its way.",
                "Sign in to the portal with your email address to see your links and earnings.",
            ],
            Some(("/portal/login", "Sign in")),
        ),
        Ok(_) => message(
            StatusCode::CREATED,
            &layout,
            "Thank you for applying",
            &[
                "Check your email: we sent a note that your application arrived.",
                "The program team reviews it and emails you their decision. Once approved, sign in here with your email address.",
            ],
            None,
        ),
        Err(AppError::Invalid(errors)) => {
            // A signup racing this one took the email between the check and the write.
            let errors = errors.into_iter().map(|e| (e.field, e.message)).collect();
            render_form(&program, &typed, &errors, StatusCode::UNPROCESSABLE_ENTITY)
        }
        Err(e) => page_error(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_partner_kind_can_be_chosen() {
        for kind in PartnerKind::ALL {
            assert!(
                KINDS.iter().any(|(name, _)| *name == kind.as_str()),
                "{kind:?}"
            );
        }
    }
}
