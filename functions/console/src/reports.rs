//! `/console/reports`: the report by day, partner, campaign or (for one partner) sub-id
//! over a range of days, as a table under a chart of the range, and the same rows as a
//! CSV file. Read from the daily counters only.

use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use minijinja::context;
use serde::Deserialize;
use upline_domain::error::AppError;
use upline_domain::ids::PartnerId;
use upline_domain::services::Services;
use upline_domain::usecases::reports::{
    GroupBy, Report, day_by_day, days, parse_range, partner_report, program_report,
};

use crate::pages::render;
use crate::problem::{PageError, PageParams, PageResult};
use crate::session::SignedInOperator;

const GROUPINGS: [&str; 8] = [
    "day", "partner", "campaign", "sub1", "sub2", "sub3", "sub4", "sub5",
];

#[derive(Deserialize, Default, Clone)]
pub(crate) struct ReportQuery {
    #[serde(default)]
    group_by: String,
    #[serde(default)]
    from: String,
    #[serde(default)]
    to: String,
    #[serde(default)]
    partner: String,
}

/// The report the query asks for, or its problems by field.
async fn report(
    s: &Services,
    who: &SignedInOperator,
    q: &ReportQuery,
) -> Result<Result<(Report, Option<PartnerId>), AppError>, AppError> {
    let given = |v: &str| Some(v.trim()).filter(|v| !v.is_empty()).map(str::to_string);
    let group = given(&q.group_by).unwrap_or_else(|| "day".into());
    let group_by = match GroupBy::parse(&group) {
        Ok(g) => g,
        Err(e) => return Ok(Err(AppError::field("group_by", e))),
    };
    let (from, to) = match parse_range(given(&q.from).as_deref(), given(&q.to).as_deref(), s.now())
    {
        Ok(r) => r,
        Err(e) => return Ok(Err(e)),
    };
    let currency = who.program.currency;
    let partner = given(&q.partner).map(PartnerId::from);
    let result = match &partner {
        Some(p) => {
            if s.store.partner(p).await?.is_none() {
                return Ok(Err(AppError::field("partner", format!("no partner {p}"))));
            }
            partner_report(&s.store, p, from, to, group_by, currency).await
        }
        None => program_report(&s.store, from, to, group_by, currency, s.now()).await,
    };
    Ok(result.map(|r| (r, partner)))
}

pub(crate) async fn reports_page(
    State(s): State<Services>,
    who: SignedInOperator,
    PageParams { query: q, .. }: PageParams<ReportQuery>,
) -> PageResult {
    let found = report(&s, &who, &q).await?;
    let mut errors = std::collections::BTreeMap::new();
    let (report, chart) = match found {
        Ok((report, partner)) => {
            // The chart shows the range day by day, whatever the table groups by.
            let figures = match &partner {
                Some(p) => {
                    let stats = s.store.stats_of_partner(p, report.from, report.to).await?;
                    day_by_day(&stats, report.from, report.to)
                }
                None => {
                    let summaries = s
                        .store
                        .day_summaries(&days(report.from, report.to), s.now())
                        .await?;
                    let totals: Vec<_> = summaries.iter().map(|d| d.total.clone()).collect();
                    day_by_day(&totals, report.from, report.to)
                }
            };
            let chart = upline_web::chart::daily(
                &figures,
                who.program.currency,
                &format!(
                    "Clicks, conversions and commission per day, {} to {}",
                    report.from, report.to
                ),
            )
            .map(minijinja::Value::from_safe_string);
            (Some(report), chart)
        }
        Err(AppError::Invalid(fields)) => {
            for f in fields {
                errors.insert(f.field, f.message);
            }
            (None, None)
        }
        Err(e) => return Err(e.into()),
    };
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    let csv_query = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("group_by", &q.group_by)
        .append_pair("from", &q.from)
        .append_pair("to", &q.to)
        .append_pair("partner", &q.partner)
        .finish();
    let now = s.now();
    Ok(render(
        status,
        "reports.html",
        &who.layout("reports"),
        context! {
            report,
            chart,
            errors,
            groupings => GROUPINGS,
            group_by => if q.group_by.is_empty() { "day".to_string() } else { q.group_by.clone() },
            from => report_day(&report, |r| r.from.to_string()).unwrap_or_else(|| if q.from.is_empty() { now.plus_days(-29).day().to_string() } else { q.from.clone() }),
            to => report_day(&report, |r| r.to.to_string()).unwrap_or_else(|| if q.to.is_empty() { now.day().to_string() } else { q.to.clone() }),
            partner => q.partner,
            csv_query,
            currency => who.program.currency.code(),
        },
    ))
}

fn report_day(report: &Option<Report>, f: impl Fn(&Report) -> String) -> Option<String> {
    report.as_ref().map(f)
}

/// A cell a spreadsheet reads as text, not as a formula: sub-id values come from partners'
/// links, and `=HYPERLINK(…)` must not become a live formula in the operator's sheet.
fn spreadsheet_safe(text: &str) -> std::borrow::Cow<'_, str> {
    if text.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{text}").into()
    } else {
        text.into()
    }
}

/// `GET /console/reports.csv`: the report's rows as a spreadsheet, totals last.
pub(crate) async fn reports_csv(
    State(s): State<Services>,
    who: SignedInOperator,
    PageParams { query: q, .. }: PageParams<ReportQuery>,
) -> Result<Response, PageError> {
    let (report, _) = report(&s, &who, &q).await??;
    let mut out = csv::Writer::from_writer(Vec::new());
    let header = [
        report.group_by,
        "clicks",
        "unique_clicks",
        "bot_clicks",
        "rejected_clicks",
        "impressions",
        "conversions",
        "revenue",
        "commission",
        "currency",
    ];
    let csv_error = |e: csv::Error| AppError::Internal(upline_domain::error::Cause::of(e));
    out.write_record(header).map_err(csv_error)?;
    for row in report.rows.iter().chain(std::iter::once(&report.totals)) {
        out.write_record([
            spreadsheet_safe(&row.key).as_ref(),
            &row.clicks.to_string(),
            &row.unique_clicks.to_string(),
            &row.bot_clicks.to_string(),
            &row.rejected_clicks.to_string(),
            &row.impressions.to_string(),
            &row.conversions.to_string(),
            &row.revenue,
            &row.commission,
            report.currency.code(),
        ])
        .map_err(csv_error)?;
    }
    let body = out
        .into_inner()
        .map_err(|e| AppError::Internal(upline_domain::error::Cause::of(e.into_error())))?;
    let mut response = (StatusCode::OK, body).into_response();
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/csv; charset=utf-8"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if let Ok(v) = HeaderValue::from_str(&format!(
        "attachment; filename=\"upline-report-{}-{}-to-{}.csv\"",
        report.group_by, report.from, report.to
    )) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    Ok(response)
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_cell_that_would_be_a_formula_is_kept_as_text() {
        assert_eq!(
            super::spreadsheet_safe("=HYPERLINK(\"x\")"),
            "'=HYPERLINK(\"x\")"
        );
        assert_eq!(super::spreadsheet_safe("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(super::spreadsheet_safe("fb-ads"), "fb-ads");
    }
}
