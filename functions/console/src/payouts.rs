//! `/console/payouts`: payout runs — start one for a period, see each payout with its
//! statement, download the PayPal, Wise or generic file to pay them, and mark each paid
//! (with the payment's reference) or failed (its lines go back to the partner's balance).
//! Only owners see the buttons; others read.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use minijinja::context;
use serde::Deserialize;
use upline_domain::error::AppError;
use upline_domain::ids::{PayoutId, PayoutRunId};
use upline_domain::money::format_minor;
use upline_domain::operator::Permission;
use upline_domain::payout::{ExportFormat, Payout, PayoutDetails, PayoutStatus, Period};
use upline_domain::services::Services;
use upline_domain::store::PageQuery;
use upline_domain::usecases::audit;
use upline_domain::usecases::partner_lifecycle::parse_reason;
use upline_domain::usecases::payouts::{self, Settlement};
use upline_http::correlation_id;

use crate::form::Fields;
use crate::pages::render;
use crate::problem::{PageError, PageParams, PageResult};
use crate::session::SignedInOperator;

/// Runs the list shows.
const RUNS_LISTED: usize = 24;

fn money(minor: i64, currency: upline_domain::money::Currency) -> String {
    format!("{} {currency}", format_minor(minor, currency))
}

/// The last day a run covers: its end is the start of the day after.
fn last_day(end: upline_domain::clock::Timestamp) -> String {
    upline_domain::clock::Timestamp(end.0 - 1).day().to_string()
}

fn payout_row(p: &Payout) -> minijinja::Value {
    let c = p.amounts.currency();
    context! {
        id => p.id.to_string(),
        partner_id => p.partner_id.to_string(),
        partner => p.partner_name.clone(),
        amount => money(p.amounts.amount.minor(), c),
        earned => money(p.amounts.earned.minor(), c),
        reversed => money(p.amounts.reversed.minor(), c),
        lines => p.line_count,
        method => p.details.as_ref().map(PayoutDetails::method),
        destination => p.details.as_ref().map(PayoutDetails::destination),
        status => p.status.as_str(),
        pending => p.status == PayoutStatus::Pending,
        note => p.note.clone(),
    }
}

#[derive(Default)]
struct Outcome {
    notice: Option<String>,
    errors: std::collections::BTreeMap<String, String>,
    period: String,
}

pub(crate) async fn payouts_page(State(s): State<Services>, who: SignedInOperator) -> PageResult {
    runs_page(&s, &who, StatusCode::OK, Outcome::default()).await
}

async fn runs_page(
    s: &Services,
    who: &SignedInOperator,
    status: StatusCode,
    o: Outcome,
) -> PageResult {
    let runs: Vec<_> = payouts::payout_runs(&s.store, &PageQuery::first(RUNS_LISTED))
        .await?
        .items
        .iter()
        .map(|r| {
            context! {
                id => r.id.to_string(),
                period_end => last_day(r.period_end),
                status => format!("{:?}", r.status).to_lowercase(),
                payouts => r.payouts,
                totals => r.totals.iter().map(|(c, m)| money(*m, *c)).collect::<Vec<_>>().join(", "),
                carried_over => r.carried_over,
                missing_details => r.missing_details,
                started_by => r.started_by.clone(),
            }
        })
        .collect();
    let period = if o.period.is_empty() {
        s.now().day().to_string()
    } else {
        o.period
    };
    Ok(render(
        status,
        "payouts.html",
        &who.layout("payouts"),
        context! {
            runs,
            period,
            minimum => money(who.program.payouts.minimum_minor, who.program.currency),
            notice => o.notice,
            errors => o.errors,
        },
    ))
}

/// `POST /console/payouts`: starts (or finishes) the run of a period.
pub(crate) async fn start_run(
    State(s): State<Services>,
    who: SignedInOperator,
    headers: HeaderMap,
    form: Fields,
) -> Result<Response, PageError> {
    if let Some(refused) = who.refuse(&headers, &s, form.csrf(), Permission::ManagePayouts) {
        return Ok(refused);
    }
    let text = form.get("period").to_string();
    let period = match Period::parse(&text) {
        Ok(p) => p,
        Err(e) => {
            let mut o = Outcome {
                period: text,
                ..Outcome::default()
            };
            o.errors.insert("period".into(), e.to_string());
            return runs_page(&s, &who, StatusCode::UNPROCESSABLE_ENTITY, o).await;
        }
    };
    let (run, created) =
        payouts::run_period(&s, &period, &format!("console:{}", who.actor())).await?;
    if created {
        let summary = format!("{} payouts, {} carried over", run.payouts, run.carried_over);
        audit::record(&s, who.actor(), "payout_run.started", &run.id, summary).await;
    }
    Ok(axum::response::Redirect::to(&format!("/console/payouts/runs/{}", run.id)).into_response())
}

#[derive(Default)]
struct RunOutcome {
    notice: Option<String>,
    /// A payout id → the problem of the form posted for it.
    errors: std::collections::BTreeMap<String, String>,
    /// The refused form's payout id and what was typed in it: (id, reference, reason).
    typed: Option<(String, String, String)>,
}

pub(crate) async fn run_page(
    State(s): State<Services>,
    who: SignedInOperator,
    Path(id): Path<PayoutRunId>,
) -> PageResult {
    show_run(&s, &who, &id, StatusCode::OK, RunOutcome::default()).await
}

async fn show_run(
    s: &Services,
    who: &SignedInOperator,
    id: &PayoutRunId,
    status: StatusCode,
    o: RunOutcome,
) -> PageResult {
    let run = payouts::payout_run(&s.store, id)
        .await?
        .ok_or_else(|| AppError::NotFound(format!("no payout run {id}")))?;
    let items: Vec<_> = payouts::payouts_of_run(&s.store, id)
        .await?
        .iter()
        .map(payout_row)
        .collect();
    let mut currencies: Vec<String> = run
        .totals
        .iter()
        .map(|(c, _)| c.code().to_string())
        .collect();
    currencies.sort();
    Ok(render(
        status,
        "payout_run.html",
        &who.layout("payouts"),
        context! {
            run => context! {
                id => run.id.to_string(),
                period_end => last_day(run.period_end),
                totals => run.totals.iter().map(|(c, m)| money(*m, *c)).collect::<Vec<_>>().join(", "),
                carried_over => run.carried_over,
                missing_details => run.missing_details,
                started_by => run.started_by.clone(),
            },
            items,
            currencies,
            notice => o.notice,
            errors => o.errors,
            typed => o.typed.map(|(id, reference, reason)| context! { id, reference, reason }),
        },
    ))
}

#[derive(Deserialize, Default)]
pub(crate) struct ExportQuery {
    #[serde(default)]
    format: String,
    #[serde(default)]
    currency: String,
}

/// `GET /console/payouts/runs/{id}/export.csv?format=paypal|wise|generic`: the file to
/// pay the run's payouts with. Reading it changes nothing, so every role may.
pub(crate) async fn export(
    State(s): State<Services>,
    _who: SignedInOperator,
    Path(id): Path<PayoutRunId>,
    PageParams { query: q, .. }: PageParams<ExportQuery>,
) -> Result<Response, PageError> {
    let format = if q.format.is_empty() {
        "generic"
    } else {
        q.format.as_str()
    };
    let parsed = ExportFormat::parse(format).map_err(|e| AppError::field("format", e))?;
    let currency = if q.currency.is_empty() {
        None
    } else {
        Some(
            upline_domain::money::Currency::from_code(&q.currency)
                .map_err(|e| AppError::field("currency", e))?,
        )
    };
    let csv = payouts::export_run(&s, &id, parsed, currency).await?;
    let name = format!(
        "upline-payouts-{}-{format}.csv",
        id.replace(|c: char| !c.is_ascii_alphanumeric() && c != '-', "_")
    );
    let mut response = (StatusCode::OK, csv).into_response();
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/csv; charset=utf-8"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{name}\"")) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    Ok(response)
}

/// `POST /console/payouts/{id}`: `action` is `paid` (with an optional `reference`) or
/// `failed` (with a `reason`); the run's page follows.
pub(crate) async fn settle(
    State(s): State<Services>,
    who: SignedInOperator,
    Path(id): Path<PayoutId>,
    headers: HeaderMap,
    form: Fields,
) -> Result<Response, PageError> {
    if let Some(refused) = who.refuse(&headers, &s, form.csrf(), Permission::ManagePayouts) {
        return Ok(refused);
    }
    let before = payouts::payout(&s.store, &id)
        .await?
        .ok_or_else(|| AppError::NotFound(format!("no payout {id}")))?;
    let settlement = match form.get("action") {
        "paid" => {
            let reference = form.given("reference");
            if reference.as_ref().is_some_and(|r| r.chars().count() > 500) {
                Err(AppError::field(
                    "reference",
                    "must be at most 500 characters",
                ))
            } else {
                Ok(Settlement::Paid { reference })
            }
        }
        "failed" => parse_reason(form.given("reason")).map(|reason| Settlement::Failed { reason }),
        other => Err(AppError::field("action", format!("no action {other:?}"))),
    };
    let cid = correlation_id(&headers, || s.new_id());
    let result = match settlement {
        Ok(settlement) => payouts::settle(&s, &id, settlement, &cid).await,
        Err(e) => Err(e),
    };
    let mut o = RunOutcome::default();
    let status = match result {
        Ok(p) => {
            if p.status != before.status {
                let action = match p.status {
                    PayoutStatus::Paid => "payout.marked_paid",
                    _ => "payout.marked_failed",
                };
                let summary = format!(
                    "{} to {}{}",
                    money(p.amounts.amount.minor(), p.amounts.currency()),
                    p.partner_id,
                    p.note
                        .as_ref()
                        .map(|n| format!(": {n}"))
                        .unwrap_or_default()
                );
                audit::record(&s, who.actor(), action, &p.id, summary).await;
            }
            o.notice = Some(format!(
                "The payout to {} is {}.",
                p.partner_name,
                p.status.as_str()
            ));
            StatusCode::OK
        }
        Err(AppError::NotFound(what)) => return Err(AppError::NotFound(what).into()),
        Err(e) => {
            o.errors.insert(id.to_string(), e.describe());
            o.typed = Some((
                id.to_string(),
                form.get("reference").to_string(),
                form.get("reason").to_string(),
            ));
            StatusCode::UNPROCESSABLE_ENTITY
        }
    };
    show_run(&s, &who, &before.run_id, status, o).await
}

/// `GET /console/payouts/{id}`: one payout's statement, line by line.
pub(crate) async fn statement_page(
    State(s): State<Services>,
    who: SignedInOperator,
    Path(id): Path<PayoutId>,
) -> PageResult {
    let p = payouts::payout(&s.store, &id)
        .await?
        .ok_or_else(|| AppError::NotFound(format!("no payout {id}")))?;
    let lines: Vec<_> = payouts::statement_lines(&s.store, &id)
        .await?
        .iter()
        .map(|l| {
            context! {
                date => l.created_at.day().to_string(),
                conversion_id => l.conversion_id.to_string(),
                level => l.level,
                amount => money(l.amount.minor(), l.amount.currency()),
                summary => l.explanation.summary.clone(),
            }
        })
        .collect();
    Ok(render(
        StatusCode::OK,
        "statement.html",
        &who.layout("payouts"),
        context! { p => payout_row(&p), run_id => p.run_id.to_string(), lines },
    ))
}
