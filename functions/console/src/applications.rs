//! `/console/applications`: the applicants waiting for a decision, oldest first, with
//! their answers to the signup form and who recruited them; approved or rejected (with a
//! reason the applicant is told) one by one or several at once. Every decision goes
//! through the same use cases as the admin API and is audited under the operator.

use std::collections::BTreeMap;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use minijinja::context;
use serde::Serialize;
use upline_domain::error::AppError;
use upline_domain::ids::PartnerId;
use upline_domain::operator::Permission;
use upline_domain::partner::{Partner, PartnerStatus};
use upline_domain::services::Services;
use upline_domain::usecases::admin;
use upline_domain::usecases::audit;
use upline_domain::usecases::partner_lifecycle::{self, parse_reason};
use upline_http::correlation_id;

use crate::form::Fields;
use crate::pages::render;
use crate::problem::PageResult;
use crate::session::SignedInOperator;

/// An applicant as the queue shows them.
#[derive(Serialize)]
struct Applicant {
    id: String,
    name: String,
    email: String,
    kind: String,
    applied: String,
    /// (question, answer) in the form's order, then answers to questions since removed.
    answers: Vec<(String, String)>,
    recruiter: Option<(String, String)>,
}

fn answer_text(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Array(items) => {
            items.iter().map(answer_text).collect::<Vec<_>>().join(", ")
        }
        serde_json::Value::Bool(true) => "yes".into(),
        serde_json::Value::Bool(false) => "no".into(),
        other => other.to_string(),
    }
}

async fn applicants(s: &Services, who: &SignedInOperator) -> Result<Vec<Applicant>, AppError> {
    let everyone = s.store.all_partners().await?;
    let names: BTreeMap<&PartnerId, &str> =
        everyone.iter().map(|p| (&p.id, p.name.as_str())).collect();
    let form = &who.program.signup.form;
    let mut out: Vec<Applicant> = everyone
        .iter()
        .filter(|p| p.status == PartnerStatus::Pending)
        .map(|p| {
            let mut answers: Vec<(String, String)> = form
                .iter()
                .filter_map(|f| {
                    p.fields
                        .get(&f.name)
                        .map(|v| (f.label.clone(), answer_text(v)))
                })
                .collect();
            answers.extend(
                p.fields
                    .iter()
                    .filter(|(k, _)| !form.iter().any(|f| &f.name == *k))
                    .map(|(k, v)| (k.clone(), answer_text(v))),
            );
            Applicant {
                id: p.id.to_string(),
                name: p.name.clone(),
                email: p.email.clone(),
                kind: p.kind.as_str().to_string(),
                applied: p.created_at.to_rfc3339()[..10].to_string(),
                answers,
                recruiter: p.recruited_by.as_ref().map(|r| {
                    let name = names.get(r).copied().unwrap_or(r.as_str());
                    (r.to_string(), name.to_string())
                }),
            }
        })
        .collect();
    // Oldest first: the queue is worked from the front.
    out.reverse();
    Ok(out)
}

/// What a post did: who was approved or rejected, and what was not done and why.
#[derive(Default)]
struct Outcome {
    done: Vec<String>,
    problems: Vec<String>,
    /// The bulk reason field's problem, shown at the field.
    reason_error: Option<String>,
    /// One applicant's reason field's problem: (applicant id, problem).
    row_error: Option<(String, String)>,
    /// The boxes ticked and the bulk reason typed, kept when the post was refused.
    ticked: Vec<String>,
    bulk_reason: String,
}

async fn page(
    s: &Services,
    who: &SignedInOperator,
    status: StatusCode,
    outcome: Outcome,
) -> PageResult {
    let applicants = applicants(s, who).await?;
    let notice = (!outcome.done.is_empty()).then(|| outcome.done.join(" "));
    Ok(render(
        status,
        "applications.html",
        &who.layout("applications"),
        context! {
            applicants,
            notice,
            problems => outcome.problems,
            reason_error => outcome.reason_error,
            row_error => outcome.row_error,
            ticked => outcome.ticked,
            bulk_reason => outcome.bulk_reason,
        },
    ))
}

pub(crate) async fn applications_page(
    State(s): State<Services>,
    who: SignedInOperator,
) -> PageResult {
    page(&s, &who, StatusCode::OK, Outcome::default()).await
}

#[derive(Clone, Copy)]
enum Decision {
    Approve,
    Reject,
}

/// `POST /console/applications`: one applicant's button (`one=approve:ID`, with that
/// row's `reason-ID`) or the bulk buttons (`bulk=approve|reject` over the ticked `ids`,
/// with the shared `reason`).
pub(crate) async fn decide(
    State(s): State<Services>,
    who: SignedInOperator,
    headers: HeaderMap,
    form: Fields,
) -> Result<Response, crate::problem::PageError> {
    if let Some(refused) = who.refuse(&headers, &s, form.csrf(), Permission::ManagePartners) {
        return Ok(refused);
    }
    let (decision, ids, reason_text) = match (form.given("one"), form.given("bulk")) {
        (Some(one), _) => {
            let (verb, id) = one.split_once(':').unwrap_or((one.as_str(), ""));
            let reason = form.given(&format!("reason-{id}"));
            (verb.to_string(), vec![id.to_string()], reason)
        }
        (None, Some(bulk)) => (
            bulk,
            form.all("ids").into_iter().map(str::to_string).collect(),
            form.given("reason"),
        ),
        (None, None) => (String::new(), Vec::new(), None),
    };
    let decision = match decision.as_str() {
        "approve" => Decision::Approve,
        "reject" => Decision::Reject,
        _ => {
            let outcome = Outcome {
                problems: vec!["Choose approve or reject.".into()],
                ..Outcome::default()
            };
            return page(&s, &who, StatusCode::UNPROCESSABLE_ENTITY, outcome).await;
        }
    };
    let ids: Vec<PartnerId> = ids
        .into_iter()
        .filter(|i| !i.is_empty())
        .map(PartnerId::new)
        .collect();
    if ids.is_empty() {
        let outcome = Outcome {
            problems: vec!["Tick at least one applicant.".into()],
            ..Outcome::default()
        };
        return page(&s, &who, StatusCode::UNPROCESSABLE_ENTITY, outcome).await;
    }
    let one = form.given("one").is_some();
    let reason = match decision {
        Decision::Reject => match parse_reason(reason_text) {
            Ok(r) => Some(r),
            Err(e) => {
                // Nothing is rejected without a reason the applicant can read; the
                // problem is shown at the reason field that was empty.
                let why = format!("The reason {}", field_message(&e));
                let outcome = Outcome {
                    problems: vec![format!(
                        "Nobody was rejected: the reason {}",
                        field_message(&e)
                    )],
                    reason_error: (!one).then(|| why.clone()),
                    row_error: one.then(|| (ids[0].to_string(), why)),
                    ticked: form.all("ids").into_iter().map(str::to_string).collect(),
                    bulk_reason: form.get("reason").to_string(),
                    ..Outcome::default()
                };
                return page(&s, &who, StatusCode::UNPROCESSABLE_ENTITY, outcome).await;
            }
        },
        Decision::Approve => None,
    };
    let correlation = correlation_id(&headers, || s.new_id());
    let mut outcome = Outcome::default();
    let mut approved = Vec::new();
    let mut rejected = Vec::new();
    for id in &ids {
        let result = match (&decision, &reason) {
            (Decision::Approve, _) => admin::approve_partner(&s, id, &correlation)
                .await
                .map(|(p, _)| p),
            (Decision::Reject, Some(reason)) => {
                partner_lifecycle::reject(&s, id, reason.clone(), &correlation).await
            }
            (Decision::Reject, None) => unreachable!("a rejection has its reason by now"),
        };
        match result {
            Ok(p) => {
                let (action, summary) = match decision {
                    Decision::Approve => ("partner.approved", p.email.clone()),
                    Decision::Reject => ("partner.rejected", reason.clone().unwrap_or_default()),
                };
                audit::record(&s, who.actor(), action, &p.id, summary).await;
                match decision {
                    Decision::Approve => approved.push(p.name),
                    Decision::Reject => rejected.push(p.name),
                }
            }
            Err(e) => outcome.problems.push(problem_with(&s, id, e).await),
        }
    }
    if !approved.is_empty() {
        outcome
            .done
            .push(format!("Approved: {}.", approved.join(", ")));
    }
    if !rejected.is_empty() {
        outcome
            .done
            .push(format!("Rejected: {}.", rejected.join(", ")));
    }
    page(&s, &who, StatusCode::OK, outcome).await
}

fn field_message(e: &AppError) -> String {
    match e {
        AppError::Invalid(fields) => fields
            .first()
            .map_or_else(|| e.describe(), |f| f.message.clone()),
        other => other.describe(),
    }
}

/// One applicant's failure in words, named by the applicant.
async fn problem_with(s: &Services, id: &PartnerId, e: AppError) -> String {
    let name = match s.store.partner(id).await {
        Ok(Some(Partner { name, .. })) => name,
        _ => id.to_string(),
    };
    format!("{name}: {}", e.describe())
}
