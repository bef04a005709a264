//! `/console/conversions` and `/console/conversions/{id}`: conversions day by day,
//! filtered by the state of their commission, campaign, partner and dates; one
//! conversion with its lines (and the reversing lines its refunds wrote); approving it
//! before its hold ends, rejecting it with a reason, refunding part or all of it.

use std::collections::BTreeMap;

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use minijinja::context;
use serde::Deserialize;
use upline_domain::commission::{CommissionLine, LineStatus};
use upline_domain::conversion::{Conversion, ConversionStatus};
use upline_domain::error::AppError;
use upline_domain::ids::ConversionId;
use upline_domain::money::format_minor;
use upline_domain::operator::Permission;
use upline_domain::ports::Index;
use upline_domain::services::Services;
use upline_domain::store::{decode, keys};
use upline_domain::usecases::audit;
use upline_domain::usecases::conversion_lifecycle::{Decision, decide_conversion};
use upline_domain::usecases::input::{DecimalText, IdText};
use upline_domain::usecases::partner_lifecycle::parse_reason;
use upline_domain::usecases::refunds::{RefundRequest, refund_conversion};
use upline_domain::usecases::reports::{days, parse_range};

use crate::form::Fields;
use crate::pages::render;
use crate::problem::{PageError, PageParams, PageResult};
use crate::session::SignedInOperator;

/// Conversions one page lists.
const PAGE: usize = 50;

/// Store pages a filtered listing reads at most to fill one page.
const PAGES_SCANNED: usize = 10;

/// What the status filter offers: the state of the partner's own line, or of the
/// conversion when it has none.
const STATES: [&str; 6] = [
    "pending",
    "approved",
    "paid",
    "rejected",
    "reversed",
    "unattributed",
];

#[derive(Deserialize, Default)]
pub(crate) struct ConversionsQuery {
    #[serde(default)]
    status: String,
    #[serde(default)]
    campaign: String,
    #[serde(default)]
    partner: String,
    #[serde(default)]
    from: String,
    #[serde(default)]
    to: String,
    #[serde(default)]
    cursor: String,
}

/// Where a conversion stands, in one word: its partner's line's status, `reversed` once
/// refunds took all of it back, or the conversion's own for those without lines.
fn state(c: &Conversion, lines: &[CommissionLine]) -> &'static str {
    match c.status {
        ConversionStatus::Unattributed => return "unattributed",
        ConversionStatus::Rejected => return "rejected",
        ConversionStatus::Recorded => return "recorded",
        ConversionStatus::Commissioned => {}
    }
    if c.amounts.refunded.minor() > 0 && c.amounts.refunded.minor() >= c.amounts.sale.minor() {
        return "reversed";
    }
    lines
        .iter()
        .find(|l| l.level == 0 && l.reverses.is_none())
        .map_or("commissioned", |l| l.status.as_str())
}

fn money(minor: i64, currency: upline_domain::money::Currency) -> String {
    format!("{} {currency}", format_minor(minor, currency))
}

pub(crate) async fn conversions_page(
    State(s): State<Services>,
    who: SignedInOperator,
    PageParams { query: q, .. }: PageParams<ConversionsQuery>,
) -> PageResult {
    let now = s.now();
    let given = |v: &str| Some(v.trim().to_string()).filter(|v| !v.is_empty());
    let default_from = now.plus_days(-6).day().to_string();
    let (range, error) = match parse_range(
        Some(given(&q.from).unwrap_or(default_from.clone()).as_str()),
        given(&q.to).as_deref(),
        now,
    ) {
        Ok(r) => (r, None),
        Err(e) => (
            parse_range(Some(&default_from), None, now)?,
            Some(e.describe()),
        ),
    };
    let buckets: Vec<Vec<String>> = days(range.0, range.1)
        .into_iter()
        .rev()
        .map(keys::conversions_of_day)
        .collect();
    let campaigns: BTreeMap<String, String> = s
        .store
        .campaigns()
        .await?
        .into_iter()
        .map(|c| (c.id.to_string(), c.name))
        .collect();
    // A filter is applied to whole store pages: more are read (a bounded number) until
    // the page holds enough matches, every match of a page read is shown, and `next`
    // goes on after the last page read — so no match is skipped.
    let mut names: BTreeMap<String, String> = BTreeMap::new();
    let mut rows = Vec::new();
    let mut cursor = given(&q.cursor);
    let mut next;
    let mut scanned = 0;
    loop {
        let page = s
            .store
            .query_buckets(Index::Gsi2, &buckets, false, PAGE, cursor.as_deref())
            .await?;
        scanned += 1;
        next = page.next;
        for item in &page.items {
            let c: Conversion = decode(item)?;
            if !q.campaign.is_empty() && c.campaign_id.as_str() != q.campaign {
                continue;
            }
            if !q.partner.is_empty() && c.partner_id.as_str() != q.partner.trim() {
                continue;
            }
            let lines = s.store.lines_of_conversion(&c.id).await?;
            let state = state(&c, &lines);
            if !q.status.is_empty() && state != q.status {
                continue;
            }
            if !names.contains_key(c.partner_id.as_str()) {
                let name = crate::names::partner_name(&s, &c.partner_id).await?;
                names.insert(c.partner_id.to_string(), name);
            }
            let currency = c.amounts.sale.currency();
            let commission: i64 = lines.iter().map(|l| l.amount.minor()).sum();
            rows.push(context! {
                id => c.id.to_string(),
                at => c.created_at.to_rfc3339()[..16].replace('T', " "),
                order_id => c.order_id,
                partner_id => c.partner_id.to_string(),
                partner => names[c.partner_id.as_str()].clone(),
                campaign => campaigns.get(c.campaign_id.as_str()).cloned().unwrap_or_else(|| c.campaign_id.to_string()),
                amount => money(c.amounts.sale.minor(), currency),
                commission => money(commission, currency),
                state,
            });
        }
        if rows.len() >= PAGE || next.is_none() || scanned >= PAGES_SCANNED {
            break;
        }
        cursor = next.clone();
    }
    let next = next.map(|cursor| {
        url::form_urlencoded::Serializer::new(String::new())
            .append_pair("status", &q.status)
            .append_pair("campaign", &q.campaign)
            .append_pair("partner", &q.partner)
            .append_pair("from", &range.0.to_string())
            .append_pair("to", &range.1.to_string())
            .append_pair("cursor", &cursor)
            .finish()
    });
    Ok(render(
        StatusCode::OK,
        "conversions.html",
        &who.layout("conversions"),
        context! {
            rows,
            next,
            states => STATES,
            status => q.status,
            campaign => q.campaign,
            partner => q.partner,
            campaigns => campaigns.into_iter().collect::<Vec<_>>(),
            from => range.0.to_string(),
            to => range.1.to_string(),
            error,
        },
    ))
}

/// What a post on a conversion did.
#[derive(Default)]
struct Outcome {
    notice: Option<String>,
    errors: BTreeMap<String, String>,
    /// The reversing lines a refund just wrote: (partner, level, amount).
    reversals: Vec<(String, u8, String)>,
    /// What was typed in the form that was refused, to show it again.
    typed: BTreeMap<String, String>,
}

pub(crate) async fn conversion_page(
    State(s): State<Services>,
    who: SignedInOperator,
    Path(id): Path<ConversionId>,
) -> PageResult {
    page(&s, &who, &id, StatusCode::OK, Outcome::default()).await
}

async fn page(
    s: &Services,
    who: &SignedInOperator,
    id: &ConversionId,
    status: StatusCode,
    outcome: Outcome,
) -> PageResult {
    let c = s
        .store
        .conversion(id)
        .await?
        .ok_or_else(|| AppError::NotFound(format!("no conversion {id}")))?;
    let lines = s.store.lines_of_conversion(id).await?;
    let currency = c.amounts.sale.currency();
    let mut names: BTreeMap<String, String> = BTreeMap::new();
    for l in &lines {
        if !names.contains_key(l.partner_id.as_str()) {
            let name = crate::names::partner_name(s, &l.partner_id).await?;
            names.insert(l.partner_id.to_string(), name);
        }
    }
    let partner = crate::names::partner_name(s, &c.partner_id).await?;
    let campaign = match s.store.campaign(&c.campaign_id).await? {
        Some(x) => x.name,
        None => c.campaign_id.to_string(),
    };
    let line_rows: Vec<_> = lines
        .iter()
        .map(|l| {
            context! {
                partner_id => l.partner_id.to_string(),
                partner => names[l.partner_id.as_str()].clone(),
                level => l.level,
                amount => money(l.amount.minor(), l.amount.currency()),
                status => l.status.as_str(),
                reversal => l.reverses.is_some(),
                held_for => l.held_for.clone(),
                hold_until => l.hold_until.day().to_string(),
                summary => l.explanation.summary.clone(),
                details => l.explanation.details(l.reverses.as_ref()),
            }
        })
        .collect();
    let pending = lines.iter().any(|l| l.status == LineStatus::Pending);
    let refundable = c.status == ConversionStatus::Commissioned
        && c.amounts.refunded.minor() < c.amounts.sale.minor();
    let state = state(&c, &lines);
    Ok(render(
        status,
        "conversion.html",
        &who.layout("conversions"),
        context! {
            c => context! {
                id => c.id.to_string(),
                order_id => c.order_id.clone(),
                partner_id => c.partner_id.to_string(),
                partner,
                campaign,
                at => c.created_at.to_rfc3339()[..16].replace('T', " "),
                event => c.event.clone(),
                amount => money(c.amounts.sale.minor(), currency),
                refunded => money(c.amounts.refunded.minor(), currency),
                left => format_minor(c.amounts.sale.minor() - c.amounts.refunded.minor(), currency),
                attribution => c.attribution.describe(),
                unattributed_reason => c.unattributed_reason.clone(),
                items => c.items.iter().map(|i| context! {
                    sku => i.sku.clone(), quantity => i.quantity,
                    price => money(i.unit_price_minor, currency),
                }).collect::<Vec<_>>(),
            },
            currency => currency.code(),
            state,
            lines => line_rows,
            can_decide => pending,
            can_reject => pending && !lines.iter().any(|l| l.reverses.is_none() && matches!(l.status, LineStatus::Approved | LineStatus::Paid)),
            refundable,
            notice => outcome.notice,
            errors => outcome.errors,
            reversals => outcome.reversals,
            typed => {
                let mut typed = outcome.typed;
                for name in ["amount", "reference", "reason", "kind"] {
                    typed.entry(name.to_string()).or_default();
                }
                typed
            },
            // The refund's id, drawn with the page: sending the form twice (a reload, a
            // double click) refunds once.
            refund_id => format!("console-{}", s.new_id()),
        },
    ))
}

/// `POST /console/conversions/{id}`: `action` is `approve`, `reject` (with `reason`) or
/// `refund` (with `amount`, empty for all that is left, and an optional `reference`).
pub(crate) async fn act(
    State(s): State<Services>,
    who: SignedInOperator,
    Path(id): Path<ConversionId>,
    headers: HeaderMap,
    form: Fields,
) -> Result<Response, PageError> {
    if let Some(refused) = who.refuse(&headers, &s, form.csrf(), Permission::ManageConversions) {
        return Ok(refused);
    }
    let mut outcome = Outcome::default();
    let done: Result<String, AppError> = match form.get("action") {
        "approve" => match decide_conversion(&s, &id, Decision::Approve).await {
            Ok(lines) => {
                let summary = format!("{} lines approved", lines.len());
                audit::record(&s, who.actor(), "conversion.approved", &id, summary).await;
                Ok(format!(
                    "Approved: {} line(s) are payable now.",
                    lines.len()
                ))
            }
            Err(e) => Err(e),
        },
        "reject" => match parse_reason(form.given("reason")) {
            Ok(reason) => {
                match decide_conversion(
                    &s,
                    &id,
                    Decision::Reject {
                        reason: reason.clone(),
                    },
                )
                .await
                {
                    Ok(lines) => {
                        let summary = format!("{} lines rejected: {reason}", lines.len());
                        audit::record(&s, who.actor(), "conversion.rejected", &id, summary).await;
                        Ok(format!(
                            "Rejected: {} line(s) will not be paid.",
                            lines.len()
                        ))
                    }
                    Err(e) => Err(e),
                }
            }
            Err(e) => Err(e),
        },
        "refund" => {
            let reference = form
                .given("reference")
                .or_else(|| form.given("refund_id"))
                .unwrap_or_else(|| format!("console-{}", s.new_id()));
            // The form's amount is in the program currency, which the conversion's
            // amounts are in, whatever currency the sale was made in.
            let currency = s
                .store
                .conversion(&id)
                .await?
                .map(|c| c.amounts.sale.currency().code().to_string());
            let request = RefundRequest {
                refund_id: Some(IdText(reference)),
                conversion_id: Some(id.to_string()),
                currency,
                amount: form.given("amount").map(DecimalText),
                kind: form.given("kind"),
                reason: form.given("reason"),
                ..RefundRequest::default()
            };
            match refund_conversion(&s, request).await {
                Ok(r) => {
                    let summary = format!("refund {} of {} {}", r.refund_id, r.amount, r.currency);
                    audit::record(&s, who.actor(), "conversion.refunded", &id, summary).await;
                    for rev in &r.reversals {
                        let name =
                            crate::names::partner_name(&s, &rev.partner_id.as_str().into()).await?;
                        outcome.reversals.push((
                            name,
                            rev.level,
                            format!("{} {}", rev.amount, r.currency),
                        ));
                    }
                    Ok(if r.created {
                        format!(
                            "Refunded {} {}; the lines below reverse it.",
                            r.amount, r.currency
                        )
                    } else {
                        format!(
                            "Refund {} was already recorded; nothing changed.",
                            r.refund_id
                        )
                    })
                }
                Err(e) => Err(e),
            }
        }
        other => Err(AppError::field("action", format!("no action {other:?}"))),
    };
    match done {
        Ok(notice) => {
            outcome.notice = Some(notice);
            page(&s, &who, &id, StatusCode::OK, outcome).await
        }
        Err(AppError::NotFound(what)) => Err(AppError::NotFound(what).into()),
        Err(e) => {
            for name in ["amount", "reference", "reason", "kind"] {
                outcome
                    .typed
                    .insert(name.to_string(), form.get(name).to_string());
            }
            let fields = match e {
                AppError::Invalid(fields) => fields,
                AppError::Conflict { field, detail } => {
                    vec![upline_domain::error::FieldError::new(
                        field.unwrap_or_else(|| "action".into()),
                        detail,
                    )]
                }
                other => vec![upline_domain::error::FieldError::new(
                    "action",
                    other.describe(),
                )],
            };
            for f in fields {
                let at = match f.field.as_str() {
                    "amount" | "reason" | "currency" => f.field.clone(),
                    "refund_id" => "reference".to_string(),
                    _ => "action".to_string(),
                };
                outcome.errors.insert(at, f.message);
            }
            page(&s, &who, &id, StatusCode::UNPROCESSABLE_ENTITY, outcome).await
        }
    }
}
