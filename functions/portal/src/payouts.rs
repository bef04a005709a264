//! `/portal/payouts`: the partner's balance, their payouts with statements (a page each,
//! and a CSV to download), and the form for how they are paid, with an error next to
//! each wrong field.

use crate::problem::PageParams;
use axum::Form;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect};
use minijinja::context;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use upline_domain::error::AppError;
use upline_domain::ids::PayoutId;
use upline_domain::money::format_minor;
use upline_domain::payout::{Payout, PayoutDetails, ReceiverType};
use upline_domain::services::Services;
use upline_domain::store::PageQuery;
use upline_domain::usecases::partner_area::{
    PayoutDetailsRequest, parse_payout_details, set_payout_details,
};
use upline_domain::usecases::payouts::{balance_of, payout, payouts_of_partner, statement_lines};

use crate::pages::render;
use crate::problem::{PageResult, not_found};
use crate::session::SignedIn;

/// Payouts listed on the page, newest first.
const PAYOUTS_SHOWN: usize = 50;

/// The payout-details form as typed: what is shown again next to its errors.
#[derive(Deserialize, Serialize, Default, Clone)]
pub(crate) struct DetailsForm {
    #[serde(default, skip_serializing)]
    csrf: String,
    #[serde(default)]
    method: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    account_holder: String,
    #[serde(default)]
    iban: String,
    #[serde(default)]
    bic: String,
    #[serde(default)]
    receiver_type: String,
}

impl DetailsForm {
    fn of(details: Option<&PayoutDetails>) -> Self {
        match details {
            None => DetailsForm::default(),
            Some(PayoutDetails::Paypal { email }) => DetailsForm {
                method: "paypal".into(),
                email: email.clone(),
                ..DetailsForm::default()
            },
            Some(PayoutDetails::BankTransfer {
                account_holder,
                iban,
                bic,
                receiver_type,
            }) => DetailsForm {
                method: "bank_transfer".into(),
                account_holder: account_holder.clone(),
                iban: iban.clone(),
                bic: bic.clone().unwrap_or_default(),
                receiver_type: match receiver_type {
                    ReceiverType::Person => "person".into(),
                    ReceiverType::Business => "business".into(),
                },
                ..DetailsForm::default()
            },
        }
    }

    /// The API's request: a blank field is a field not given, so the other method's
    /// empty inputs are not taken for answers.
    fn request(&self) -> PayoutDetailsRequest {
        let given = |v: &str| Some(v.trim().to_string()).filter(|v| !v.is_empty());
        let bank = self.method == "bank_transfer";
        PayoutDetailsRequest {
            method: given(&self.method),
            email: given(&self.email).filter(|_| !bank),
            account_holder: given(&self.account_holder).filter(|_| bank),
            iban: given(&self.iban).filter(|_| bank),
            bic: given(&self.bic).filter(|_| bank),
            receiver_type: given(&self.receiver_type).filter(|_| bank),
        }
    }
}

#[derive(Serialize)]
struct PayoutRow {
    id: String,
    date: String,
    amount: String,
    status: &'static str,
    line_count: u32,
    note: Option<String>,
}

fn payout_row(p: &Payout) -> PayoutRow {
    let currency = p.amounts.currency();
    PayoutRow {
        id: p.id.to_string(),
        date: p.created_at.day().to_string(),
        amount: format!(
            "{} {}",
            format_minor(p.amounts.amount.minor(), currency),
            currency
        ),
        status: p.status.as_str(),
        line_count: p.line_count,
        note: p.note.clone(),
    }
}

#[derive(Deserialize, Default)]
pub(crate) struct PayoutsQuery {
    #[serde(default)]
    saved: Option<String>,
}

pub(crate) async fn payouts_page(
    State(s): State<Services>,
    who: SignedIn,
    PageParams { query: q, .. }: PageParams<PayoutsQuery>,
) -> PageResult {
    let form = DetailsForm::of(who.partner.payout_details.as_ref());
    page(&s, &who, form, BTreeMap::new(), q.saved.is_some()).await
}

async fn page(
    s: &Services,
    who: &SignedIn,
    form: DetailsForm,
    errors: BTreeMap<String, String>,
    saved: bool,
) -> PageResult {
    let balances = balance_of(s, &who.partner.id).await?;
    let payouts =
        payouts_of_partner(&s.store, &who.partner.id, &PageQuery::first(PAYOUTS_SHOWN)).await?;
    let rows: Vec<PayoutRow> = payouts.items.iter().map(payout_row).collect();
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    Ok(render(
        status,
        "payouts.html",
        &who.layout("payouts"),
        context! {
            balances,
            payouts => rows,
            form,
            errors,
            saved,
            has_details => who.partner.payout_details.is_some(),
        },
    ))
}

/// `POST /portal/payout-details`: saves how the partner is paid.
pub(crate) async fn save_details(
    State(s): State<Services>,
    who: SignedIn,
    headers: HeaderMap,
    Form(form): Form<DetailsForm>,
) -> PageResult {
    if let Some(refused) = who.session.form_refused(&headers, &s, &form.csrf) {
        return Ok(refused);
    }
    let details = match parse_payout_details(form.request()) {
        Ok(d) => d,
        Err(AppError::Invalid(errors)) => {
            let errors = errors.into_iter().map(|e| (e.field, e.message)).collect();
            return page(&s, &who, form, errors, false).await;
        }
        Err(e) => return Err(e.into()),
    };
    set_payout_details(&s, &who.partner.id, details).await?;
    Ok(Redirect::to("/portal/payouts?saved=1#details").into_response())
}

/// The partner's payout `id` and its statement; `None` for anybody else's (a 404).
async fn own_statement(
    s: &Services,
    who: &SignedIn,
    id: &str,
) -> Result<Option<(Payout, Vec<StatementRow>)>, AppError> {
    let Some(p) = payout(&s.store, &PayoutId::from(id))
        .await?
        .filter(|p| p.partner_id == who.partner.id)
    else {
        return Ok(None);
    };
    let rows = statement_rows(s, &p).await?;
    Ok(Some((p, rows)))
}

#[derive(Serialize)]
struct StatementRow {
    date: String,
    conversion_id: String,
    campaign_id: String,
    level: u8,
    amount: String,
    summary: String,
}

async fn statement_rows(s: &Services, p: &Payout) -> Result<Vec<StatementRow>, AppError> {
    let lines = statement_lines(&s.store, &p.id).await?;
    Ok(lines
        .iter()
        .map(|l| StatementRow {
            date: l.created_at.day().to_string(),
            conversion_id: l.conversion_id.to_string(),
            campaign_id: l.campaign_id.to_string(),
            level: l.level,
            amount: format_minor(l.amount.minor(), l.amount.currency()),
            summary: l.explanation.summary.clone(),
        })
        .collect())
}

/// `GET /portal/payouts/{id}`: one payout's statement.
pub(crate) async fn statement_page(
    State(s): State<Services>,
    who: SignedIn,
    Path(id): Path<String>,
) -> PageResult {
    let Some((p, lines)) = own_statement(&s, &who, &id).await? else {
        return Ok(not_found());
    };
    let currency = p.amounts.currency();
    Ok(render(
        StatusCode::OK,
        "statement.html",
        &who.layout("payouts"),
        context! {
            payout => payout_row(&p),
            earned => format_minor(p.amounts.earned.minor(), currency),
            reversed => format_minor(p.amounts.reversed.minor(), currency),
            currency => currency.code(),
            csv_href => format!("/portal/payouts/{}/statement.csv", url_segment(&p.id)),
            lines,
        },
    ))
}

/// `GET /portal/payouts/{id}/statement.csv`: the statement as a spreadsheet.
pub(crate) async fn statement_csv(
    State(s): State<Services>,
    who: SignedIn,
    Path(id): Path<String>,
) -> PageResult {
    let Some((p, rows)) = own_statement(&s, &who, &id).await? else {
        return Ok(not_found());
    };
    let currency = p.amounts.currency();
    let body = statement_csv_text(&rows, currency.code())
        .map_err(|e| AppError::Internal(format!("statement CSV: {e}").into()))?;
    let file: String =
        p.id.chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '-' {
                    c
                } else {
                    '_'
                }
            })
            .collect();
    let mut resp = (StatusCode::OK, body).into_response();
    let headers = resp.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/csv; charset=utf-8"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"statement-{file}.csv\""))
    {
        headers.insert(header::CONTENT_DISPOSITION, v);
    }
    Ok(resp)
}

/// The statement's rows as CSV, with a header row.
fn statement_csv_text(rows: &[StatementRow], currency: &str) -> Result<Vec<u8>, csv::Error> {
    let mut out = csv::Writer::from_writer(Vec::new());
    out.write_record([
        "date",
        "conversion_id",
        "campaign_id",
        "level",
        "amount",
        "currency",
        "why",
    ])?;
    for r in rows {
        out.write_record([
            r.date.as_str(),
            &r.conversion_id,
            &r.campaign_id,
            &r.level.to_string(),
            &r.amount,
            currency,
            &r.summary,
        ])?;
    }
    out.into_inner().map_err(|e| e.into_error().into())
}

/// A payout id as one path segment (its `:` separators are fine; anything else is
/// percent-encoded).
fn url_segment(id: &PayoutId) -> String {
    url::form_urlencoded::byte_serialize(id.as_bytes())
        .collect::<String>()
        .replace("%3A", ":")
}
