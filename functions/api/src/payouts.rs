//! Payouts over the API: the operator's runs (start, list, export for mass payment,
//! mark paid or failed) and the partner's balance, payouts, statements and payout
//! details.

use upline_domain::ids::{PayoutId, PayoutRunId};
use upline_http::{Paging, Params};

use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use upline_domain::commission::CommissionLine;
use upline_domain::error::{AppError, Cause};
use upline_domain::money::{Currency, format_minor};
use upline_domain::payout::{ExportFormat, Payout, PayoutDetails, PayoutRun, Period};
use upline_domain::services::Services;
use upline_domain::usecases::payouts::{self, Settlement};
use upline_http::{ApiResult, JsonBody, correlation_id, json};

use crate::{Admin, ReasonRequest, answers};

#[derive(Serialize)]
pub(crate) struct Amount {
    currency: Currency,
    amount: String,
}

#[derive(Serialize)]
pub(crate) struct RunView {
    id: String,
    period_end: String,
    status: upline_domain::payout::RunStatus,
    started_by: String,
    created_at: String,
    payouts: u32,
    totals: Vec<Amount>,
    carried_over: u32,
    missing_details: u32,
}

impl RunView {
    pub(crate) fn of(r: &PayoutRun) -> Self {
        RunView {
            id: r.id.to_string(),
            period_end: r.period_end.to_rfc3339(),
            status: r.status,
            started_by: r.started_by.clone(),
            created_at: r.created_at.to_rfc3339(),
            payouts: r.payouts,
            totals: r
                .totals
                .iter()
                .map(|(c, m)| Amount {
                    currency: *c,
                    amount: format_minor(*m, *c),
                })
                .collect(),
            carried_over: r.carried_over,
            missing_details: r.missing_details,
        }
    }
}

#[derive(Serialize)]
pub(crate) struct PayoutView {
    id: String,
    run_id: String,
    partner_id: String,
    partner_name: String,
    currency: Currency,
    amount: String,
    earned: String,
    reversed: String,
    line_count: u32,
    method: Option<&'static str>,
    status: upline_domain::payout::PayoutStatus,
    created_at: String,
    settled_at: Option<String>,
    note: Option<String>,
}

impl PayoutView {
    pub(crate) fn of(p: &Payout) -> Self {
        PayoutView {
            id: p.id.to_string(),
            run_id: p.run_id.to_string(),
            partner_id: p.partner_id.to_string(),
            partner_name: p.partner_name.clone(),
            currency: p.amounts.currency(),
            amount: format_minor(p.amounts.amount.minor(), p.amounts.currency()),
            earned: format_minor(p.amounts.earned.minor(), p.amounts.currency()),
            reversed: format_minor(p.amounts.reversed.minor(), p.amounts.currency()),
            line_count: p.line_count,
            method: p.details.as_ref().map(PayoutDetails::method),
            status: p.status,
            created_at: p.created_at.to_rfc3339(),
            settled_at: p.settled_at.map(|t| t.to_rfc3339()),
            note: p.note.clone(),
        }
    }
}

#[derive(Serialize)]
pub(crate) struct StatementLineView {
    line_id: String,
    conversion_id: String,
    campaign_id: String,
    level: u8,
    amount: String,
    summary: String,
    created_at: String,
}

#[derive(Serialize)]
pub(crate) struct Statement {
    #[serde(flatten)]
    payout: PayoutView,
    lines: Vec<StatementLineView>,
}

pub(crate) async fn statement(s: &Services, p: &Payout) -> ApiResult<Statement> {
    let lines = payouts::statement_lines(&s.store, &p.id).await?;
    Ok(Statement {
        payout: PayoutView::of(p),
        lines: lines.iter().map(line_view).collect(),
    })
}

pub(crate) fn line_view(l: &CommissionLine) -> StatementLineView {
    StatementLineView {
        line_id: l.id.to_string(),
        conversion_id: l.conversion_id.to_string(),
        campaign_id: l.campaign_id.to_string(),
        level: l.level,
        amount: format_minor(l.amount.minor(), l.amount.currency()),
        summary: l.explanation.summary.clone(),
        created_at: l.created_at.to_rfc3339(),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RunRequest {
    /// `2026-11`, `2026-W47` or `2026-11-21`; default today.
    period: Option<String>,
}

#[derive(Serialize)]
pub(crate) struct RunWithPayouts {
    #[serde(flatten)]
    run: RunView,
    items: Vec<PayoutView>,
}

pub(crate) async fn run_with_payouts(s: &Services, run: &PayoutRun) -> ApiResult<RunWithPayouts> {
    let items = payouts::payouts_of_run(&s.store, &run.id).await?;
    Ok(RunWithPayouts {
        run: RunView::of(run),
        items: items.iter().map(PayoutView::of).collect(),
    })
}

pub(crate) async fn start_run(
    State(s): State<Services>,
    Admin(who): Admin,
    JsonBody(req): JsonBody<RunRequest>,
) -> ApiResult<Response> {
    let period = match req.period {
        Some(p) => Period::parse(&p).map_err(|e| AppError::field("period", e))?,
        None => Period::parse(&s.now().day().to_string())
            .map_err(|e| AppError::Internal(Cause::of(e)))?,
    };
    let (run, created) = payouts::run_period(&s, &period, &format!("admin:{who}")).await?;
    if created {
        crate::audit::record(
            &s,
            &who,
            "payout_run.started",
            &run.id,
            format!("{} payouts, {} carried over", run.payouts, run.carried_over),
        )
        .await;
    }
    Ok(answers::saved(created, &run_with_payouts(&s, &run).await?))
}

pub(crate) async fn list_runs(
    State(s): State<Services>,
    _: Admin,
    Paging(page): Paging,
) -> ApiResult<Response> {
    let runs = payouts::payout_runs(&s.store, &page).await?;
    let items: Vec<_> = runs.items.iter().map(RunView::of).collect();
    Ok(answers::list(items, runs.next))
}

pub(crate) async fn find_run(s: &Services, id: &PayoutRunId) -> ApiResult<PayoutRun> {
    Ok(payouts::payout_run(&s.store, id)
        .await?
        .ok_or_else(|| AppError::NotFound(format!("no payout run {id}")))?)
}

pub(crate) async fn show_run(
    State(s): State<Services>,
    _: Admin,
    Path(id): Path<PayoutRunId>,
) -> ApiResult<Response> {
    let run = find_run(&s, &id).await?;
    Ok(json(StatusCode::OK, &run_with_payouts(&s, &run).await?))
}

/// Which mass-payment file, and for PayPal which currency.
#[derive(Deserialize)]
pub(crate) struct ExportQuery {
    format: Option<String>,
    currency: Option<String>,
}

pub(crate) async fn export_run(
    State(s): State<Services>,
    _: Admin,
    Path(id): Path<PayoutRunId>,
    Params(q): Params<ExportQuery>,
) -> ApiResult<Response> {
    let format = match &q.format {
        None => ExportFormat::Generic,
        Some(f) => ExportFormat::parse(f).map_err(|e| AppError::field("format", e))?,
    };
    let currency = match &q.currency {
        None => None,
        Some(c) => Some(Currency::from_code(c).map_err(|e| AppError::field("currency", e))?),
    };
    let csv = payouts::export_run(&s, &id, format, currency).await?;
    let name = format!(
        "upline-payouts-{}-{}.csv",
        id.replace(|c: char| !c.is_ascii_alphanumeric() && c != '-', "_"),
        q.format.as_deref().unwrap_or("generic")
    );
    let mut response = (StatusCode::OK, csv).into_response();
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/csv; charset=utf-8"),
    );
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{name}\"")) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    Ok(response)
}

pub(crate) async fn find_payout(s: &Services, id: &PayoutId) -> ApiResult<Payout> {
    Ok(payouts::payout(&s.store, id)
        .await?
        .ok_or_else(|| AppError::NotFound(format!("no payout {id}")))?)
}

pub(crate) async fn show_payout(
    State(s): State<Services>,
    _: Admin,
    Path(id): Path<PayoutId>,
) -> ApiResult<Response> {
    let p = find_payout(&s, &id).await?;
    Ok(json(StatusCode::OK, &statement(&s, &p).await?))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct PaidRequest {
    /// The payment's id at PayPal, Wise or the bank.
    reference: Option<String>,
}

/// An optional payment reference: trimmed, at most 500 characters.
pub(crate) fn parse_reference(text: Option<String>) -> Result<Option<String>, AppError> {
    match text.map(|t| t.trim().to_string()).filter(|t| !t.is_empty()) {
        Some(t) if t.chars().count() > 500 => Err(AppError::field(
            "reference",
            "must be at most 500 characters",
        )),
        other => Ok(other),
    }
}

pub(crate) async fn mark_paid(
    State(s): State<Services>,
    Admin(who): Admin,
    Path(id): Path<PayoutId>,
    headers: HeaderMap,
    JsonBody(req): JsonBody<PaidRequest>,
) -> ApiResult<Response> {
    let reference = parse_reference(req.reference)?;
    let cid = correlation_id(&headers, || s.new_id());
    let before = find_payout(&s, &id).await?;
    let p = payouts::settle(&s, &id, Settlement::Paid { reference }, &cid).await?;
    if before.status != p.status {
        crate::audit::record(
            &s,
            &who,
            "payout.marked_paid",
            &p.id,
            format!(
                "{} {} to {}",
                format_minor(p.amounts.amount.minor(), p.amounts.currency()),
                p.amounts.currency(),
                p.partner_id
            ),
        )
        .await;
    }
    Ok(json(StatusCode::OK, &PayoutView::of(&p)))
}

pub(crate) async fn mark_failed(
    State(s): State<Services>,
    Admin(who): Admin,
    Path(id): Path<PayoutId>,
    headers: HeaderMap,
    JsonBody(req): JsonBody<ReasonRequest>,
) -> ApiResult<Response> {
    let reason = upline_domain::usecases::partner_lifecycle::parse_reason(req.reason)?;
    let cid = correlation_id(&headers, || s.new_id());
    let before = find_payout(&s, &id).await?;
    let p = payouts::settle(
        &s,
        &id,
        Settlement::Failed {
            reason: reason.clone(),
        },
        &cid,
    )
    .await?;
    if before.status != p.status {
        crate::audit::record(&s, &who, "payout.marked_failed", &p.id, reason).await;
    }
    Ok(json(StatusCode::OK, &PayoutView::of(&p)))
}
