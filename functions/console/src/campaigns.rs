//! `/console/campaigns` and `/console/campaigns/{id}`: the campaigns, and one campaign's
//! editor — name, destination and deep-link hosts, status and attribution window, the
//! payout (CPA, revenue share or both), its own upline levels, and every other term the
//! engine supports (per-event CPA, SKU and category rates, exclusions, qualification,
//! bonuses, caps, tiers, recurring) and the targeting as JSON in the admin API's shape —
//! read by the same parser as the API, every problem shown at its field and nothing
//! saved. Beside it, the preview: what a sale would pay, decided by the engine, stored
//! nowhere.

use std::collections::BTreeMap;

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use minijinja::context;
use serde::Deserialize;
use serde_json::{Map, Value, json};
use upline_domain::campaign::{Campaign, CampaignStatus};
use upline_domain::error::{AppError, FieldError};
use upline_domain::ids::CampaignId;
use upline_domain::money::format_minor;
use upline_domain::operator::Permission;
use upline_domain::services::Services;
use upline_domain::usecases::admin::{self, CampaignRequest, TermsView};
use upline_domain::usecases::audit;
use upline_domain::usecases::commissions::{PreviewRequest, preview};
use upline_domain::usecases::input::{DecimalText, IdText};
use upline_domain::usecases::postback::LineItemRequest;

use crate::form::Fields;
use crate::pages::render;
use crate::problem::{PageError, PageParams, PageResult};
use crate::session::SignedInOperator;

/// The campaign form as typed (or as the stored campaign fills it).
#[derive(Default, Clone, serde::Serialize)]
struct CampaignForm {
    id: String,
    name: String,
    destination_url: String,
    allowed_domains: String,
    status: String,
    attribution_window_days: String,
    cpa: String,
    revenue_share_percent: String,
    /// `program` (the program's plan), `none` (no upline) or `own` (the levels below).
    upline_mode: String,
    upline_levels: String,
    upline_base: String,
    upline_skip: String,
    more_terms: String,
    targeting: String,
}

/// A settings value as the admin API names it (`direct_commission`, `forfeit`).
fn api_name(v: impl serde::Serialize) -> String {
    serde_json::to_value(v)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

/// Keeps only members that say something: `null`, `false`, `[]`, `{}` and `""` are the
/// defaults the parser assumes anyway.
fn pruned(v: Value) -> Value {
    match v {
        Value::Object(map) => Value::Object(
            map.into_iter()
                .map(|(k, v)| (k, pruned(v)))
                .filter(|(_, v)| !is_default(v))
                .collect(),
        ),
        other => other,
    }
}

fn is_default(v: &Value) -> bool {
    match v {
        Value::Null | Value::Bool(false) => true,
        Value::Array(a) => a.is_empty(),
        Value::Object(o) => o.is_empty(),
        Value::String(s) => s.is_empty(),
        Value::Number(_) | Value::Bool(true) => false,
    }
}

fn pretty(v: &Value) -> String {
    if is_default(v) {
        String::new()
    } else {
        serde_json::to_string_pretty(v).unwrap_or_default()
    }
}

impl CampaignForm {
    fn of(c: &Campaign, currency: upline_domain::money::Currency) -> Self {
        let terms = TermsView::of(&c.terms, currency);
        let mut more = pruned(serde_json::to_value(&terms).unwrap_or_default());
        if let Value::Object(map) = &mut more {
            map.remove("cpa");
            map.remove("revenue_share_percent");
            // The default base (the whole sale) need not be spelt out.
            if map
                .get("base")
                .is_some_and(|b| is_default(&pruned(b.clone())))
            {
                map.remove("base");
            }
            // Recurring for life is `{}`: present, with nothing in it to keep.
            if c.terms.recurring.is_some() && !map.contains_key("recurring") {
                map.insert("recurring".into(), json!({}));
            }
        }
        let targeting = pruned(serde_json::to_value(&c.targeting).unwrap_or_default());
        CampaignForm {
            id: c.id.to_string(),
            name: c.name.clone(),
            destination_url: c.destination_url.clone(),
            allowed_domains: c.allowed_domains.join(", "),
            status: match c.status {
                CampaignStatus::Active => "active".into(),
                CampaignStatus::Paused => "paused".into(),
            },
            attribution_window_days: c.attribution_window_days.to_string(),
            cpa: terms.cpa.clone().unwrap_or_default(),
            revenue_share_percent: terms
                .revenue_share_percent
                .map(|p| p.as_decimal().to_string())
                .unwrap_or_default(),
            upline_mode: match &c.upline {
                None => "program",
                Some(u) if u.depth == 0 => "none",
                Some(_) => "own",
            }
            .into(),
            upline_levels: c
                .upline
                .as_ref()
                .map(|u| {
                    u.level_percents()
                        .iter()
                        .map(|p| p.as_decimal().to_string())
                        .collect::<Vec<_>>()
                        .join(", ")
                })
                .unwrap_or_default(),
            upline_base: c
                .upline
                .as_ref()
                .map_or_else(|| "direct_commission".into(), |u| api_name(u.base)),
            upline_skip: c
                .upline
                .as_ref()
                .map_or_else(|| "forfeit".into(), |u| api_name(u.skip)),
            more_terms: pretty(&more),
            targeting: pretty(&targeting),
        }
    }

    fn from_post(form: &Fields) -> Self {
        let get = |n: &str| form.get(n).to_string();
        CampaignForm {
            id: get("id"),
            name: get("name"),
            destination_url: get("destination_url"),
            allowed_domains: get("allowed_domains"),
            status: get("status"),
            attribution_window_days: get("attribution_window_days"),
            cpa: get("cpa"),
            revenue_share_percent: get("revenue_share_percent"),
            upline_mode: get("upline_mode"),
            upline_levels: get("upline_levels"),
            upline_base: get("upline_base"),
            upline_skip: get("upline_skip"),
            more_terms: get("more_terms"),
            targeting: get("targeting"),
        }
    }

    /// The admin API's request this form stands for, or the form's own problems (a JSON
    /// box that is no JSON, a window that is no number).
    fn request(&self) -> Result<CampaignRequest, Vec<FieldError>> {
        let mut problems = Vec::new();
        // Each box is read into the admin API's shape on its own, so a problem is named
        // by its box and the member's path in it.
        let json_box = |name: &str, path: &str, text: &str, problems: &mut Vec<FieldError>| {
            if text.trim().is_empty() {
                return Map::new();
            }
            let value = match serde_json::from_str::<Value>(text) {
                Ok(Value::Object(map)) => map,
                Ok(_) => {
                    problems.push(FieldError::new(name, "must be a JSON object: { … }"));
                    return Map::new();
                }
                Err(e) => {
                    problems.push(FieldError::new(name, format!("is not JSON: {e}")));
                    return Map::new();
                }
            };
            let checked = match name {
                "targeting" => read_as::<upline_domain::targeting::TargetingRequest>(&value),
                _ => read_as::<upline_domain::usecases::admin::TermsRequest>(&value),
            };
            if let Err((at, why)) = checked {
                problems.push(FieldError::new(format!("{path}.{at}"), why));
            }
            value
        };
        let mut terms = json_box("more_terms", "terms", &self.more_terms, &mut problems);
        for key in ["cpa", "revenue_share_percent"] {
            if terms.contains_key(key) {
                problems.push(FieldError::new(
                    "more_terms",
                    format!("{key} has its own field above; take it out of here"),
                ));
            }
        }
        if !self.cpa.is_empty() {
            terms.insert("cpa".into(), json!(self.cpa));
        }
        if !self.revenue_share_percent.is_empty() {
            terms.insert(
                "revenue_share_percent".into(),
                json!(self.revenue_share_percent.trim_end_matches('%').trim()),
            );
        }
        let targeting = json_box("targeting", "targeting", &self.targeting, &mut problems);
        let mut request = Map::new();
        request.insert("name".into(), json!(self.name));
        request.insert("destination_url".into(), json!(self.destination_url));
        let hosts: Vec<&str> = self
            .allowed_domains
            .split([',', ' ', '\n', '\r'])
            .filter(|h| !h.is_empty())
            .collect();
        request.insert("allowed_domains".into(), json!(hosts));
        request.insert("terms".into(), Value::Object(terms));
        let levels = crate::form::percents(&self.upline_levels);
        let or = |text: &str, default: &'static str| {
            if text.is_empty() {
                default.to_string()
            } else {
                text.to_string()
            }
        };
        match self.upline_mode.as_str() {
            "program" => {}
            // Without the choice (a post made by hand), levels typed mean its own.
            "" if levels.is_empty() => {}
            "none" => {
                request.insert("upline".into(), json!({"depth": 0}));
            }
            "" | "own" => {
                if levels.is_empty() {
                    problems.push(FieldError::new(
                        "upline_levels",
                        "give the levels' percents, or choose the program's plan or no upline",
                    ));
                }
                request.insert(
                    "upline".into(),
                    json!({"depth": levels.len(), "level_percents": levels,
                           "base": or(&self.upline_base, "direct_commission"),
                           "skip": or(&self.upline_skip, "forfeit")}),
                );
            }
            other => problems.push(FieldError::new(
                "upline_mode",
                format!("must be program, none or own, got {other:?}"),
            )),
        }
        if !targeting.is_empty() {
            request.insert("targeting".into(), Value::Object(targeting));
        }
        if !self.attribution_window_days.is_empty() {
            match self.attribution_window_days.parse::<i64>() {
                Ok(d) => {
                    request.insert("attribution_window_days".into(), json!(d));
                }
                Err(_) => problems.push(FieldError::new(
                    "attribution_window_days",
                    "must be a whole number of days",
                )),
            }
        }
        if !self.status.is_empty() {
            request.insert("status".into(), json!(self.status));
        }
        if !problems.is_empty() {
            return Err(problems);
        }
        serde_json::from_value(Value::Object(request)).map_err(|e| {
            // Only the JSON boxes can carry a member the API does not know.
            let field = if e.to_string().contains("targeting") || e.to_string().contains("rules") {
                "targeting"
            } else {
                "more_terms"
            };
            vec![FieldError::new(field, e.to_string())]
        })
    }
}

/// Whether `value` reads as a `T`: else where in it, and why.
fn read_as<T: serde::de::DeserializeOwned>(
    value: &Map<String, Value>,
) -> Result<(), (String, String)> {
    serde_path_to_error::deserialize::<_, T>(Value::Object(value.clone()))
        .map(|_| ())
        .map_err(|e| (e.path().to_string(), e.inner().to_string()))
}

/// Which box of the form an API field's problem belongs in.
fn form_field(api_field: &str) -> &'static str {
    let f = api_field;
    match f {
        "id" => "id",
        "name" => "name",
        "destination_url" => "destination_url",
        "status" => "status",
        "attribution_window_days" => "attribution_window_days",
        "terms.cpa" => "cpa",
        "terms.revenue_share_percent" => "revenue_share_percent",
        "more_terms" => "more_terms",
        _ if f.starts_with("allowed_domains") => "allowed_domains",
        _ if f.starts_with("upline.base") => "upline_base",
        _ if f.starts_with("upline.skip") => "upline_skip",
        "upline_mode" => "upline_mode",
        _ if f.starts_with("upline") => "upline_levels",
        _ if f.starts_with("targeting") => "targeting",
        _ => "more_terms",
    }
}

fn errors_by_field(fields: Vec<FieldError>) -> BTreeMap<&'static str, Vec<String>> {
    crate::form::errors_at(
        fields,
        form_field,
        &["more_terms", "targeting", "upline_levels"],
    )
}

fn terms_summary(c: &Campaign, currency: upline_domain::money::Currency) -> String {
    let t = &c.terms;
    let mut parts = Vec::new();
    if let Some(p) = t.revenue_share {
        parts.push(format!("{p} of the sale"));
    }
    if let Some(m) = t.cpa_minor {
        parts.push(format!(
            "{} {currency} per conversion",
            format_minor(m, currency)
        ));
    }
    if !t.cpa_by_event.is_empty() {
        parts.push(format!("CPA on {} events", t.cpa_by_event.len()));
    }
    if !t.items.by_sku.is_empty() || !t.items.by_category.is_empty() {
        parts.push("item rates".into());
    }
    if !t.tiers.is_empty() {
        parts.push(format!("{} tiers", t.tiers.len()));
    }
    if !t.caps.is_empty() {
        parts.push("capped".into());
    }
    if t.recurring.is_some() {
        parts.push("recurring".into());
    }
    if parts.is_empty() {
        "pays nothing yet".into()
    } else {
        parts.join(" + ")
    }
}

pub(crate) async fn campaigns_page(State(s): State<Services>, who: SignedInOperator) -> PageResult {
    list(
        &s,
        &who,
        StatusCode::OK,
        CampaignForm::default(),
        BTreeMap::new(),
    )
    .await
}

async fn list(
    s: &Services,
    who: &SignedInOperator,
    status: StatusCode,
    form: CampaignForm,
    errors: BTreeMap<&'static str, Vec<String>>,
) -> PageResult {
    let currency = who.program.currency;
    let campaigns: Vec<_> = s
        .store
        .campaigns()
        .await?
        .iter()
        .map(|c| {
            context! {
                id => c.id.to_string(),
                name => c.name.clone(),
                status => if c.status == CampaignStatus::Active { "active" } else { "paused" },
                terms => terms_summary(c, currency),
                destination => c.destination_url.clone(),
            }
        })
        .collect();
    let form = CampaignForm {
        status: if form.status.is_empty() {
            "active".into()
        } else {
            form.status
        },
        upline_mode: if form.upline_mode.is_empty() {
            "program".into()
        } else {
            form.upline_mode
        },
        upline_base: if form.upline_base.is_empty() {
            "direct_commission".into()
        } else {
            form.upline_base
        },
        upline_skip: if form.upline_skip.is_empty() {
            "forfeit".into()
        } else {
            form.upline_skip
        },
        attribution_window_days: if form.attribution_window_days.is_empty() {
            "30".into()
        } else {
            form.attribution_window_days
        },
        ..form
    };
    Ok(render(
        status,
        "campaigns.html",
        &who.layout("campaigns"),
        context! { campaigns, form, errors, currency => currency.code(), editing => false },
    ))
}

/// `POST /console/campaigns`: a new campaign under the id typed.
pub(crate) async fn create(
    State(s): State<Services>,
    who: SignedInOperator,
    headers: HeaderMap,
    fields: Fields,
) -> Result<Response, PageError> {
    if let Some(refused) = who.refuse(&headers, &s, fields.csrf(), Permission::ManageCampaigns) {
        return Ok(refused);
    }
    let form = CampaignForm::from_post(&fields);
    let id = match admin::parse_campaign_id(&form.id) {
        Ok(id) => id,
        Err(AppError::Invalid(f)) => {
            return list(
                &s,
                &who,
                StatusCode::UNPROCESSABLE_ENTITY,
                form,
                errors_by_field(f),
            )
            .await;
        }
        Err(e) => return Err(e.into()),
    };
    match save(&s, &who, id, &form, Saving::New).await? {
        Ok(campaign) => Ok(saved_redirect(&campaign)),
        Err(errors) => list(&s, &who, StatusCode::UNPROCESSABLE_ENTITY, form, errors).await,
    }
}

/// After a save, the campaign's page says so (a reload does not post again).
fn saved_redirect(campaign: &Campaign) -> Response {
    axum::response::IntoResponse::into_response(axum::response::Redirect::to(&format!(
        "/console/campaigns/{}?saved=1",
        campaign.id
    )))
}

/// Whether a save makes a new campaign (under an id nobody has) or changes one.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Saving {
    New,
    Existing,
}

/// Saves the form as campaign `id`, audited; the form's problems by field otherwise.
async fn save(
    s: &Services,
    who: &SignedInOperator,
    id: CampaignId,
    form: &CampaignForm,
    saving: Saving,
) -> Result<Result<Campaign, BTreeMap<&'static str, Vec<String>>>, AppError> {
    let request = match form.request() {
        Ok(r) => r,
        Err(problems) => return Ok(Err(errors_by_field(problems))),
    };
    let spec = match request.parse(who.program.currency) {
        Ok(spec) => spec,
        Err(AppError::Invalid(fields)) => return Ok(Err(errors_by_field(fields))),
        Err(e) => return Err(e),
    };
    let (campaign, created) = match saving {
        Saving::New => match admin::create_campaign(s, id, spec).await {
            Ok(campaign) => (campaign, true),
            Err(AppError::Conflict { detail, .. }) => {
                return Ok(Err(errors_by_field(vec![FieldError::new("id", detail)])));
            }
            Err(e) => return Err(e),
        },
        Saving::Existing => admin::put_campaign(s, id, spec).await?,
    };
    audit::record(
        s,
        who.actor(),
        if created {
            "campaign.created"
        } else {
            "campaign.terms_changed"
        },
        &campaign.id,
        format!(
            "{:?}, {}",
            campaign.name,
            terms_summary(&campaign, who.program.currency)
        ),
    )
    .await;
    Ok(Ok(campaign))
}

#[derive(Deserialize, Default)]
pub(crate) struct CampaignQuery {
    #[serde(default)]
    saved: Option<String>,
    /// The preview's sale, when one was asked for.
    #[serde(default)]
    partner_id: Option<String>,
    #[serde(default)]
    amount: Option<String>,
    #[serde(default)]
    items: Option<String>,
    #[serde(default)]
    event: Option<String>,
}

pub(crate) async fn campaign_page(
    State(s): State<Services>,
    who: SignedInOperator,
    Path(id): Path<CampaignId>,
    PageParams { query: q, .. }: PageParams<CampaignQuery>,
) -> PageResult {
    let campaign = require_campaign(&s, &id).await?;
    let form = CampaignForm::of(&campaign, who.program.currency);
    let shown = Editor {
        status: StatusCode::OK,
        form,
        errors: BTreeMap::new(),
        notice: q.saved.is_some().then_some("The campaign is saved."),
    };
    edit_page(&s, &who, &campaign, shown, &q).await
}

async fn require_campaign(s: &Services, id: &CampaignId) -> Result<Campaign, AppError> {
    s.store
        .campaign(id)
        .await?
        .ok_or_else(|| AppError::NotFound(format!("no campaign {id}")))
}

/// The items box: one item per line, `SKU, quantity, unit price[, category]`.
fn items_of(text: &str) -> Result<Vec<LineItemRequest>, String> {
    let mut items = Vec::new();
    for (n, line) in text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
    {
        let parts: Vec<&str> = line.split(',').map(str::trim).collect();
        if !(3..=4).contains(&parts.len()) {
            return Err(format!(
                "line {}: write SKU, quantity, unit price and, if you like, a category, separated by commas",
                n + 1
            ));
        }
        items.push(LineItemRequest {
            sku: Some(IdText(parts[0].to_string())),
            quantity: Some(IdText(parts[1].to_string())),
            unit_price: Some(DecimalText(parts[2].to_string())),
            category: parts.get(3).map(|c| c.to_string()),
        });
    }
    Ok(items)
}

/// The editor as shown: its status, the form (stored or as sent), its problems.
struct Editor {
    status: StatusCode,
    form: CampaignForm,
    errors: BTreeMap<&'static str, Vec<String>>,
    notice: Option<&'static str>,
}

async fn edit_page(
    s: &Services,
    who: &SignedInOperator,
    campaign: &Campaign,
    shown: Editor,
    q: &CampaignQuery,
) -> PageResult {
    let Editor {
        status,
        form,
        errors,
        notice,
    } = shown;
    let currency = who.program.currency;
    let mut preview_errors: BTreeMap<String, String> = BTreeMap::new();
    let mut lines = None;
    let asked = q.partner_id.is_some() || q.amount.is_some();
    if asked {
        match items_of(q.items.as_deref().unwrap_or_default()) {
            Err(e) => {
                preview_errors.insert("items".into(), e);
            }
            Ok(items) => {
                let request = PreviewRequest {
                    partner_id: q.partner_id.clone().unwrap_or_default(),
                    amount: q.amount.clone().unwrap_or_default(),
                    event: q.event.clone().unwrap_or_default(),
                    items,
                    first_time_customer: None,
                };
                match preview(s, &campaign.id, request).await {
                    Ok(found) => {
                        let mut rows = Vec::new();
                        for l in &found {
                            let name = crate::names::partner_name(s, &l.partner_id).await?;
                            rows.push(context! {
                                partner => name,
                                level => l.level,
                                amount => format!("{} {}", format_minor(l.amount.minor(), l.amount.currency()), l.amount.currency()),
                                summary => l.explanation.summary.clone(),
                                details => l.explanation.details(l.reverses.as_ref()),
                            });
                        }
                        lines = Some(rows);
                    }
                    Err(AppError::Invalid(fields)) => {
                        for f in fields {
                            let at = if f.field.starts_with("line_items") {
                                "items".to_string()
                            } else {
                                f.field.clone()
                            };
                            let message = if at == "items" {
                                format!("{}: {}", f.field, f.message)
                            } else {
                                f.message
                            };
                            preview_errors.insert(at, message);
                        }
                    }
                    Err(e) => return Err(e.into()),
                }
            }
        }
    }
    let partners: Vec<_> = s
        .store
        .all_partners()
        .await?
        .into_iter()
        .filter(|p| p.status == upline_domain::partner::PartnerStatus::Approved)
        .map(|p| context! { id => p.id.to_string(), name => p.name })
        .collect();
    Ok(render(
        status,
        "campaign.html",
        &who.layout("campaigns"),
        context! {
            campaign => context! { id => campaign.id.to_string(), name => campaign.name.clone(),
                                   terms => terms_summary(campaign, currency) },
            form,
            errors,
            notice,
            currency => currency.code(),
            editing => true,
            partners,
            preview => context! {
                asked,
                partner_id => q.partner_id.clone().unwrap_or_default(),
                amount => q.amount.clone().unwrap_or_default(),
                items => q.items.clone().unwrap_or_default(),
                event => q.event.clone().unwrap_or_default(),
                errors => preview_errors,
                lines,
            },
        },
    ))
}

/// `POST /console/campaigns/{id}`: saves the edited campaign.
pub(crate) async fn update(
    State(s): State<Services>,
    who: SignedInOperator,
    Path(id): Path<CampaignId>,
    headers: HeaderMap,
    fields: Fields,
) -> Result<Response, PageError> {
    if let Some(refused) = who.refuse(&headers, &s, fields.csrf(), Permission::ManageCampaigns) {
        return Ok(refused);
    }
    let campaign = require_campaign(&s, &id).await?;
    let form = CampaignForm {
        id: id.to_string(),
        ..CampaignForm::from_post(&fields)
    };
    match save(&s, &who, id.clone(), &form, Saving::Existing).await? {
        Ok(saved) => Ok(saved_redirect(&saved)),
        Err(errors) => {
            let shown = Editor {
                status: StatusCode::UNPROCESSABLE_ENTITY,
                form,
                errors,
                notice: None,
            };
            edit_page(&s, &who, &campaign, shown, &CampaignQuery::default()).await
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use upline_domain::clock::Timestamp;
    use upline_domain::money::Currency;

    fn campaign(json: serde_json::Value) -> Campaign {
        let usd = Currency::from_code("USD").unwrap();
        let request: CampaignRequest = serde_json::from_value(json).unwrap();
        let spec = request.parse(usd).unwrap();
        Campaign {
            id: "spring".into(),
            name: spec.name,
            destination_url: spec.destination.to_string(),
            allowed_domains: spec.allowed_domains,
            terms: spec.terms,
            upline: spec.upline,
            targeting: spec.targeting,
            attribution_window_days: spec.attribution_window_days,
            status: spec.status,
            created_at: Timestamp(0),
            updated_at: Timestamp(0),
        }
    }

    /// The campaign as the form shows it, saved back unchanged.
    fn round_trip(c: &Campaign) -> Campaign {
        let usd = Currency::from_code("USD").unwrap();
        let form = CampaignForm::of(c, usd);
        let spec = form.request().unwrap().parse(usd).unwrap();
        Campaign {
            terms: spec.terms,
            upline: spec.upline,
            targeting: spec.targeting,
            allowed_domains: spec.allowed_domains,
            attribution_window_days: spec.attribution_window_days,
            status: spec.status,
            ..c.clone()
        }
    }

    #[test]
    fn a_campaign_saved_unchanged_from_its_form_stays_the_same() {
        let rich = campaign(serde_json::json!({
            "name": "Spring", "destination_url": "https://shop.example.com/spring",
            "allowed_domains": ["blog.example.com"], "attribution_window_days": 45, "status": "paused",
            "terms": {
                "cpa": "2.00", "revenue_share_percent": "12.5",
                "cpa_by_event": {"lead": "1.50"},
                "base": {"net_of_tax": true, "net_of_shipping": true},
                "sku_rates": {"BOOT-1": "15"}, "category_rates": {"tents": "8"},
                "excluded_skus": ["GIFT"], "excluded_categories": ["sale"],
                "qualification": {"min_amount": "20.00", "first_time_customer_only": true},
                "bonuses": {"new_customer": "5.00", "order_value": {"threshold": "200.00", "bonus": "10.00"}},
                "caps": [{"period": "month", "metric": "conversions", "limit": "100"}],
                "tiers": [{"name": "gold", "metric": "approved_conversions", "from": "10", "revenue_share_percent": "15"}],
                "recurring": {}
            },
            "upline": {"depth": 2, "level_percents": ["50", "25"], "skip": "compress", "base": "sale"},
            "targeting": {"countries": ["US", "CA"], "fallback_url": "https://shop.example.com/intl"}
        }));
        assert!(rich.terms.recurring.is_some(), "recurring for life");
        assert_eq!(round_trip(&rich), rich);
        for upline in [serde_json::json!(null), serde_json::json!({"depth": 0})] {
            let mut json = serde_json::json!({"name": "Plain", "destination_url": "https://shop.example.com/",
                "terms": {"revenue_share_percent": "10"}});
            if !upline.is_null() {
                json["upline"] = upline;
            }
            let plain = campaign(json);
            assert_eq!(round_trip(&plain), plain, "{:?}", plain.upline);
        }
    }
}
