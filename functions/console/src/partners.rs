//! `/console/partners` and `/console/partners/{id}`: finding partners (by name, email,
//! id or referral code; by status, type, group) and everything about one — profile,
//! status history, links, promo codes, recruiter and downline, terms overrides, group,
//! the last 30 days and the latest commission lines — with the operator's actions on
//! them: suspend, reinstate, rotate the API key, change the recruiter or the group.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use minijinja::context;
use serde::{Deserialize, Serialize};
use upline_domain::error::AppError;
use upline_domain::ids::PartnerId;
use upline_domain::money::format_minor;
use upline_domain::operator::Permission;
use upline_domain::partner::{Partner, PartnerKind, PartnerStatus};
use upline_domain::services::Services;
use upline_domain::store::PageQuery;
use upline_domain::terms::TermsSource;
use upline_domain::usecases::admin::{self, GroupRequest, NewRecruiter};
use upline_domain::usecases::partner_area::{downline, lines_of_partner};
use upline_domain::usecases::partner_lifecycle::{self, parse_reason};
use upline_domain::usecases::reports::partner_performance;
use upline_domain::usecases::{audit, promo_codes};
use upline_http::correlation_id;

use crate::form::Fields;
use crate::pages::render;
use crate::problem::{PageError, PageParams, PageResult};
use crate::session::SignedInOperator;

/// Partners one listing shows at most; a search narrows the rest.
const LISTED: usize = 200;

/// Commission lines the partner's page shows.
const LATEST_LINES: usize = 20;

#[derive(Deserialize, Default)]
pub(crate) struct PartnersQuery {
    #[serde(default)]
    q: String,
    #[serde(default)]
    status: String,
    #[serde(default, rename = "type")]
    kind: String,
    #[serde(default)]
    group: String,
}

#[derive(Serialize)]
struct PartnerRow {
    id: String,
    name: String,
    email: String,
    kind: &'static str,
    status: &'static str,
    group: String,
    joined: String,
}

fn matches(p: &Partner, q: &PartnersQuery) -> bool {
    let needle = q.q.trim().to_lowercase();
    let text = needle.is_empty()
        || [
            p.name.to_lowercase(),
            p.email.clone(),
            p.id.to_string().to_lowercase(),
            p.referral_code.clone(),
        ]
        .iter()
        .any(|hay| hay.contains(&needle));
    text && (q.status.is_empty() || p.status.as_str() == q.status)
        && (q.kind.is_empty() || p.kind.as_str() == q.kind)
        && (q.group.is_empty() || p.group.as_deref() == Some(q.group.trim()))
}

pub(crate) async fn partners_page(
    State(s): State<Services>,
    who: SignedInOperator,
    PageParams { query: q, .. }: PageParams<PartnersQuery>,
) -> PageResult {
    let everyone = s.store.all_partners().await?;
    let mut groups: Vec<String> = everyone.iter().filter_map(|p| p.group.clone()).collect();
    groups.sort();
    groups.dedup();
    let found: Vec<&Partner> = everyone.iter().filter(|p| matches(p, &q)).collect();
    let rows: Vec<PartnerRow> = found
        .iter()
        .take(LISTED)
        .map(|p| PartnerRow {
            id: p.id.to_string(),
            name: p.name.clone(),
            email: p.email.clone(),
            kind: p.kind.as_str(),
            status: p.status.as_str(),
            group: p.group.clone().unwrap_or_default(),
            joined: p.created_at.day().to_string(),
        })
        .collect();
    Ok(render(
        StatusCode::OK,
        "partners.html",
        &who.layout("partners"),
        context! {
            rows,
            found => found.len(),
            total => everyone.len(),
            listed => LISTED,
            q => q.q,
            status => q.status,
            kind => q.kind,
            group => q.group,
            groups,
            statuses => ["pending", "approved", "rejected", "suspended"],
            kinds => PartnerKind::ALL.iter().map(|k| k.as_str()).collect::<Vec<_>>(),
        },
    ))
}

/// What a post on a partner's page did, for the page that follows.
#[derive(Default, Serialize)]
struct Outcome {
    notice: Option<String>,
    /// Field name → problem, shown at the field.
    errors: std::collections::BTreeMap<String, String>,
    /// A new API key, shown this once.
    new_key: Option<String>,
    /// What was typed in a refused form, by field, to show it again.
    typed: std::collections::BTreeMap<String, String>,
}

pub(crate) async fn partner_page(
    State(s): State<Services>,
    who: SignedInOperator,
    Path(id): Path<PartnerId>,
) -> PageResult {
    page(&s, &who, &id, StatusCode::OK, Outcome::default()).await
}

async fn page(
    s: &Services,
    who: &SignedInOperator,
    id: &PartnerId,
    status: StatusCode,
    outcome: Outcome,
) -> PageResult {
    let partner = s.store.require_partner(id).await?;
    let currency = who.program.currency;
    let campaigns = s.store.campaigns().await?;
    let campaign_name = |cid: &str| {
        campaigns
            .iter()
            .find(|c| c.id.as_str() == cid)
            .map_or_else(|| cid.to_string(), |c| c.name.clone())
    };
    let base = &s.deployment.public_base_url;
    let links: Vec<_> = s
        .store
        .links_of(id)
        .await?
        .iter()
        .map(|l| {
            context! {
                url => upline_domain::public_urls::link_url(base, &l.code),
                campaign => campaign_name(l.campaign_id.as_str()),
                created => l.created_at.day().to_string(),
            }
        })
        .collect();
    let codes: Vec<_> = promo_codes::list(&s.store, Some(id))
        .await?
        .iter()
        .map(|c| context! { code => c.code.to_string(), campaign => campaign_name(c.campaign_id.as_str()) })
        .collect();
    let recruiter = match &partner.recruited_by {
        Some(r) => Some(match s.store.partner(r).await? {
            Some(p) => context! { id => p.id.to_string(), name => p.name },
            None => context! { id => r.to_string(), name => r.to_string() },
        }),
        None => None,
    };
    let team = downline(s, id).await?;
    let mut terms = Vec::new();
    for c in &campaigns {
        let (t, source) = s.store.terms_for(c, Some(&partner)).await?;
        if source != TermsSource::Campaign {
            terms.push(context! {
                campaign => c.name.clone(),
                source => source.to_string(),
                terms => serde_json::to_string(&t).unwrap_or_default(),
            });
        }
    }
    let today = s.now().day();
    let from = s.now().plus_days(-29).day();
    let performance = partner_performance(&s.store, id, from, today, currency).await?;
    let lines = lines_of_partner(&s.store, id, None, &PageQuery::first(LATEST_LINES)).await?;
    let lines: Vec<_> = lines
        .items
        .iter()
        .map(|l| {
            let line = &l.line;
            let c = line.amount.currency();
            context! {
                date => l.converted_at.unwrap_or(line.created_at).day().to_string(),
                conversion_id => line.conversion_id.to_string(),
                order_id => l.order_id.clone().unwrap_or_default(),
                campaign => campaign_name(line.campaign_id.as_str()),
                level => line.level,
                amount => format!("{} {c}", format_minor(line.amount.minor(), c)),
                status => line.status.as_str(),
                summary => line.explanation.summary.clone(),
                details => line.explanation.details(line.reverses.as_ref()),
            }
        })
        .collect();
    let history: Vec<_> = partner
        .status_history
        .iter()
        .rev()
        .map(|h| {
            context! {
                status => h.status.as_str(),
                reason => h.reason.clone(),
                at => h.at.to_rfc3339()[..16].replace('T', " "),
            }
        })
        .collect();
    let answers: Vec<(String, String)> = partner
        .fields
        .iter()
        .map(|(k, v)| {
            let label = who
                .program
                .signup
                .form
                .iter()
                .find(|f| &f.name == k)
                .map_or_else(|| k.clone(), |f| f.label.clone());
            (
                label,
                v.as_str().map_or_else(|| v.to_string(), str::to_string),
            )
        })
        .collect();
    Ok(render(
        status,
        "partner.html",
        &who.layout("partners"),
        context! {
            p => context! {
                id => partner.id.to_string(),
                name => partner.name,
                email => partner.email,
                kind => partner.kind.as_str(),
                status => partner.status.as_str(),
                status_reason => partner.status_reason,
                referral_code => partner.referral_code,
                group => partner.group.clone().unwrap_or_default(),
                joined => partner.created_at.day().to_string(),
                has_payout_details => partner.payout_details.is_some(),
                can_suspend => partner.status == PartnerStatus::Approved,
                can_reinstate => partner.status == PartnerStatus::Suspended,
                has_key => matches!(partner.status, PartnerStatus::Approved | PartnerStatus::Suspended),
            },
            answers,
            history,
            links,
            codes,
            recruiter,
            team,
            terms,
            totals => performance.report.totals,
            conversion_rate => performance.conversion_rate,
            epc => performance.epc,
            currency => currency.code(),
            lines,
            notice => outcome.notice,
            errors => outcome.errors,
            new_key => outcome.new_key,
            typed => outcome.typed,
        },
    ))
}

/// `POST /console/partners/{id}`: one of the actions, named by `action`.
pub(crate) async fn act(
    State(s): State<Services>,
    who: SignedInOperator,
    Path(id): Path<PartnerId>,
    headers: HeaderMap,
    form: Fields,
) -> Result<Response, PageError> {
    if let Some(refused) = who.refuse(&headers, &s, form.csrf(), Permission::ManagePartners) {
        return Ok(refused);
    }
    let correlation = correlation_id(&headers, || s.new_id());
    let mut outcome = Outcome::default();
    let done = match form.get("action") {
        "suspend" => match parse_reason(form.given("reason")) {
            Ok(reason) => partner_lifecycle::suspend(&s, &id, reason.clone(), &correlation)
                .await
                .map(|p| {
                    (
                        "partner.suspended",
                        p,
                        reason,
                        "The partner is suspended.".to_string(),
                    )
                }),
            Err(e) => Err(e),
        },
        "reinstate" => partner_lifecycle::reinstate(&s, &id).await.map(|p| {
            (
                "partner.reinstated",
                p,
                String::new(),
                "The partner is reinstated.".to_string(),
            )
        }),
        "rotate_key" => partner_lifecycle::rotate_key(&s, &id, None)
            .await
            .map(|(p, key)| {
                outcome.new_key = Some(key.secret);
                (
                    "partner.key_rotated",
                    p,
                    String::new(),
                    "A new API key was issued; the old one no longer works.".to_string(),
                )
            }),
        "recruiter" => {
            let text = form.get("recruiter");
            let recruiter = if text.is_empty() {
                NewRecruiter::Nobody
            } else if s.store.partner(&PartnerId::from(text)).await?.is_some() {
                NewRecruiter::Partner(PartnerId::from(text))
            } else {
                NewRecruiter::ReferralCode(text.to_ascii_lowercase())
            };
            admin::set_recruiter(&s, &id, recruiter).await.map(|p| {
                let summary = format!(
                    "recruiter {}",
                    p.recruited_by.as_ref().map_or("none", |r| r.as_str())
                );
                (
                    "partner.recruiter_changed",
                    p,
                    summary,
                    "The recruiter is changed.".to_string(),
                )
            })
        }
        "group" => {
            let group = form.given("group");
            match (GroupRequest { group }).parse() {
                Ok(group) => admin::set_group(&s, &id, group).await.map(|p| {
                    let summary = format!("group {:?}", p.group);
                    (
                        "partner.group_set",
                        p,
                        summary,
                        "The group is saved.".to_string(),
                    )
                }),
                Err(e) => Err(e),
            }
        }
        other => Err(AppError::field("action", format!("no action {other:?}"))),
    };
    match done {
        Ok((action, partner, summary, notice)) => {
            audit::record(&s, who.actor(), action, &partner.id, summary).await;
            outcome.notice = Some(notice);
            page(&s, &who, &id, StatusCode::OK, outcome).await
        }
        Err(AppError::NotFound(what)) => Err(AppError::NotFound(what).into()),
        Err(e) => {
            for name in ["reason", "recruiter", "group"] {
                outcome
                    .typed
                    .insert(name.to_string(), form.get(name).to_string());
            }
            // Each problem at its field: the recruiter box shows why a cycle is refused.
            let fields = match &e {
                AppError::Invalid(fields) => fields.clone(),
                AppError::Conflict { field, detail } => {
                    vec![upline_domain::error::FieldError::new(
                        field.clone().unwrap_or_else(|| "action".into()),
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
                    "recruiter_id" | "referral_code" => "recruiter".to_string(),
                    other => other.to_string(),
                };
                outcome.errors.insert(at, f.message);
            }
            page(&s, &who, &id, StatusCode::UNPROCESSABLE_ENTITY, outcome).await
        }
    }
}
