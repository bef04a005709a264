//! What the operator does through the admin API: set the program up, define campaigns,
//! approve partners (issuing their API key), create tracking links, mint admin keys.

use serde::{Deserialize, Serialize};

use std::collections::BTreeMap;

use crate::campaign::{Campaign, CampaignStatus, parse_allowed_domain, parse_destination};
use crate::error::{AppError, FieldErrors};
use crate::ids::{NewApiKey, Principal, base32, new_api_key};
use crate::messages::{EmailRequest, Message};
use crate::money::{Currency, Money, Percent};
use crate::partner::{Partner, PartnerStatus};
use crate::payout::{Cadence, PayoutSettings};
use crate::ports::{Attr, Condition, QueueName, TableError, TxOp};
use crate::program::{
    AttributionPriority, LevelRates, MAX_UPLINE_DEPTH, Program, SkipRule, UplineBase, UplinePlan,
};
use crate::services::Services;
use crate::store::{Store, keys, status_is};
use crate::terms::{
    Bonuses, Cap, CapMetric, CapPeriod, CommissionBase, ItemRates, LaterRate, OrderValueBonus,
    Qualification, Recurring, Terms, Tier, TierMetric,
};
use crate::tracking::Link;
use crate::tracking::parse_event;
use crate::usecases::input::DecimalText;

/// Shortest postback secret an operator may set.
pub const MIN_POSTBACK_SECRET_LEN: usize = 24;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProgramRequest {
    pub name: Option<String>,
    pub currency: Option<String>,
    pub hold_days: Option<i64>,
    pub upline: Option<UplineRequest>,
    pub postback_secret: Option<String>,
    /// `promo_code` (default) or `click`: which wins when a postback has both.
    pub attribution_priority: Option<String>,
    pub payouts: Option<PayoutSettingsRequest>,
    pub signup: Option<SignupSettingsRequest>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignupSettingsRequest {
    pub auto_approve: Option<bool>,
    pub form: Option<Vec<crate::signup_form::FormFieldRequest>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PayoutSettingsRequest {
    /// `manual` (default), `weekly` or `monthly`.
    pub cadence: Option<String>,
    /// The smallest payout, in the program currency (`"50.00"`); default none.
    pub minimum: Option<DecimalText>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UplineRequest {
    pub depth: Option<i64>,
    pub base: Option<String>,
    pub level_percents: Option<Vec<DecimalText>>,
    pub first_level_percent: Option<DecimalText>,
    pub decrement_percent: Option<DecimalText>,
    pub decay_factor: Option<DecimalText>,
    /// `forfeit` (default) or `compress`.
    pub skip: Option<String>,
}

/// The program as the admin API shows it: never the postback secret, except once, in the
/// response to the request that created or changed it.
#[derive(Debug, Serialize)]
pub struct ProgramView {
    pub name: String,
    pub currency: Currency,
    pub hold_days: u32,
    pub upline: UplinePlan,
    pub attribution_priority: AttributionPriority,
    pub payouts: PayoutSettingsView,
    pub signup: crate::signup_form::SignupSettings,
    pub updated_at: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub postback_secret: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct PayoutSettingsView {
    pub cadence: Cadence,
    pub minimum: String,
}

impl ProgramView {
    pub fn of(p: &Program, reveal_secret: bool) -> Self {
        ProgramView {
            name: p.name.clone(),
            currency: p.currency,
            hold_days: p.hold_days,
            upline: p.upline.clone(),
            attribution_priority: p.attribution_priority,
            payouts: PayoutSettingsView {
                cadence: p.payouts.cadence,
                minimum: crate::money::format_minor(p.payouts.minimum_minor, p.currency),
            },
            signup: p.signup.clone(),
            updated_at: p.updated_at.to_rfc3339(),
            postback_secret: reveal_secret.then(|| p.postback_secret.clone()),
        }
    }
}

pub fn parse_upline(req: &UplineRequest, errors: &mut FieldErrors) -> Option<UplinePlan> {
    let depth = req.depth.unwrap_or(0);
    if !(0..=i64::from(MAX_UPLINE_DEPTH)).contains(&depth) {
        errors.push(
            "upline.depth",
            format!("must be between 0 and {MAX_UPLINE_DEPTH}"),
        );
        return None;
    }
    let base = match req.base.as_deref().unwrap_or("direct_commission") {
        "direct_commission" => UplineBase::DirectCommission,
        "sale" => UplineBase::Sale,
        other => {
            errors.push(
                "upline.base",
                format!("must be direct_commission or sale, got {other:?}"),
            );
            return None;
        }
    };
    let pct = |field: &str, v: &DecimalText, errors: &mut FieldErrors| {
        errors.take(field, Percent::parse(&v.0))
    };
    let rates = match (&req.level_percents, &req.first_level_percent) {
        (Some(_), Some(_)) => {
            errors.push(
                "upline.level_percents",
                "give either level_percents or first_level_percent, not both",
            );
            return None;
        }
        (Some(list), None) => {
            let mut rates = Vec::new();
            for (i, v) in list.iter().enumerate() {
                rates.push(pct(&format!("upline.level_percents[{i}]"), v, errors)?);
            }
            LevelRates::Explicit { levels: rates }
        }
        (None, Some(first)) => {
            let first = pct("upline.first_level_percent", first, errors)?;
            match (&req.decrement_percent, &req.decay_factor) {
                (Some(_), Some(_)) => {
                    errors.push(
                        "upline.decay_factor",
                        "give either decrement_percent or decay_factor, not both",
                    );
                    return None;
                }
                (Some(step), None) => LevelRates::FixedStep {
                    first,
                    step: pct("upline.decrement_percent", step, errors)?,
                },
                (None, Some(f)) => {
                    let factor = f.0.parse::<rust_decimal::Decimal>().ok().filter(|f| {
                        *f >= rust_decimal::Decimal::ZERO && *f <= rust_decimal::Decimal::ONE
                    });
                    match factor {
                        Some(factor) => LevelRates::Factor { first, factor },
                        None => {
                            errors.push("upline.decay_factor", "must be a decimal between 0 and 1");
                            return None;
                        }
                    }
                }
                (None, None) => LevelRates::FixedStep {
                    first,
                    step: Percent::ZERO,
                },
            }
        }
        (None, None) if depth == 0 => LevelRates::Explicit { levels: vec![] },
        (None, None) => {
            errors.push(
                "upline.level_percents",
                "a depth above 0 needs level_percents or first_level_percent",
            );
            return None;
        }
    };
    let skip = match req.skip.as_deref() {
        None | Some("forfeit") => SkipRule::Forfeit,
        Some("compress") => SkipRule::Compress,
        Some(other) => {
            errors.push(
                "upline.skip",
                format!("must be forfeit or compress, got {other:?}"),
            );
            return None;
        }
    };
    Some(UplinePlan {
        depth: depth as u8,
        rates,
        base,
        skip,
    })
}

/// Creates or replaces the program settings. The currency is fixed once set, because
/// stored amounts are in it. A new program gets a generated postback secret unless one is
/// given; the response reveals the secret only when this request set it.
pub async fn put_program(
    services: &Services,
    req: ProgramRequest,
) -> Result<(ProgramView, bool), AppError> {
    let existing = services.store.program().await?;
    let mut errors = FieldErrors::default();
    let name = errors.required("name", req.name);
    let name = name.and_then(|n| errors.take("name", parse_name(&n)));
    let currency = errors
        .required("currency", req.currency)
        .and_then(|c| errors.take("currency", Currency::from_code(&c)));
    let hold_days = match req.hold_days {
        None => Some(30),
        Some(d) if (0..=365).contains(&d) => Some(d as u32),
        Some(_) => {
            errors.push("hold_days", "must be between 0 and 365");
            None
        }
    };
    let upline = match &req.upline {
        None => Some(UplinePlan::off()),
        Some(u) => parse_upline(u, &mut errors),
    };
    let attribution_priority = match req.attribution_priority.as_deref() {
        None | Some("promo_code") => AttributionPriority::PromoCode,
        Some("click") => AttributionPriority::Click,
        Some(other) => {
            errors.push(
                "attribution_priority",
                format!("must be promo_code or click, got {other:?}"),
            );
            AttributionPriority::PromoCode
        }
    };
    let payouts = parse_payout_settings(req.payouts.as_ref(), currency, &mut errors);
    let signup = match req.signup {
        None => crate::signup_form::SignupSettings::default(),
        Some(s) => crate::signup_form::SignupSettings {
            auto_approve: s.auto_approve.unwrap_or(false),
            form: crate::signup_form::parse_form(s.form.unwrap_or_default(), &mut errors),
        },
    };
    if let Some(secret) = &req.postback_secret
        && secret.trim().len() < MIN_POSTBACK_SECRET_LEN
    {
        errors.push(
            "postback_secret",
            format!("must be at least {MIN_POSTBACK_SECRET_LEN} characters"),
        );
    }
    if let (Some(old), Some(new)) = (&existing, currency)
        && old.currency != new
    {
        errors.push(
            "currency",
            format!(
                "is {} and cannot change once the program is set up",
                old.currency
            ),
        );
    }
    errors.into_result()?;
    let (Some(name), Some(currency), Some(hold_days), Some(upline)) =
        (name, currency, hold_days, upline)
    else {
        return Err(AppError::Internal("validated fields missing".into()));
    };
    let (postback_secret, secret_set_now) = match (req.postback_secret, &existing) {
        (Some(s), _) => (s.trim().to_string(), true),
        (None, Some(old)) => (old.postback_secret.clone(), false),
        (None, None) => (
            format!("whsec_{}", base32(&services.ids.random_bytes(24))),
            true,
        ),
    };
    let program = Program {
        name,
        currency,
        hold_days,
        upline,
        postback_secret,
        attribution_priority,
        payouts,
        signup,
        updated_at: services.now(),
    };
    services.store.put_program(&program).await?;
    Ok((
        ProgramView::of(&program, secret_set_now),
        existing.is_none(),
    ))
}

fn parse_payout_settings(
    req: Option<&PayoutSettingsRequest>,
    currency: Option<Currency>,
    errors: &mut FieldErrors,
) -> PayoutSettings {
    let Some(req) = req else {
        return PayoutSettings::default();
    };
    let cadence = match req.cadence.as_deref() {
        None => Cadence::Manual,
        Some(c) => errors
            .take("payouts.cadence", Cadence::parse(c))
            .unwrap_or_default(),
    };
    let minimum_minor = match (&req.minimum, currency) {
        (Some(m), Some(currency)) => match Money::parse(&m.0, currency) {
            Ok(m) if !m.is_negative() => m.minor(),
            Ok(_) => {
                errors.push("payouts.minimum", "must not be negative");
                0
            }
            Err(e) => {
                errors.push("payouts.minimum", e);
                0
            }
        },
        _ => 0,
    };
    PayoutSettings {
        cadence,
        minimum_minor,
    }
}

pub async fn require_program(store: &Store) -> Result<Program, AppError> {
    store.program().await?.ok_or_else(|| AppError::Conflict {
        field: None,
        detail: "the program is not set up yet: PUT /v1/admin/program first".into(),
    })
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CampaignRequest {
    pub name: Option<String>,
    pub destination_url: Option<String>,
    pub allowed_domains: Option<Vec<String>>,
    pub terms: Option<TermsRequest>,
    /// An upline plan for this campaign only, in place of the program's.
    pub upline: Option<UplineRequest>,
    pub targeting: Option<crate::targeting::TargetingRequest>,
    /// Days after a click that a conversion still earns (default 30).
    pub attribution_window_days: Option<i64>,
    pub status: Option<String>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct TermsRequest {
    /// Fixed amount per conversion, in the program currency, e.g. "25.00".
    pub cpa: Option<DecimalText>,
    /// Fixed amounts per event type: `{"lead": "1.00", "first_deposit": "50.00"}`.
    pub cpa_by_event: Option<BTreeMap<String, DecimalText>>,
    pub revenue_share_percent: Option<DecimalText>,
    pub base: Option<BaseRequest>,
    pub sku_rates: Option<BTreeMap<String, DecimalText>>,
    pub category_rates: Option<BTreeMap<String, DecimalText>>,
    pub excluded_skus: Option<Vec<String>>,
    pub excluded_categories: Option<Vec<String>>,
    pub qualification: Option<QualificationRequest>,
    pub bonuses: Option<BonusesRequest>,
    pub caps: Option<Vec<CapRequest>>,
    pub tiers: Option<Vec<TierRequest>>,
    pub recurring: Option<RecurringRequest>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct RecurringRequest {
    /// Months from the subscription's start that renewals earn for; absent or null = life.
    pub months: Option<u32>,
    pub later: Option<LaterRateRequest>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct LaterRateRequest {
    pub after_months: Option<u32>,
    pub cpa: Option<DecimalText>,
    pub revenue_share_percent: Option<DecimalText>,
}

fn parse_recurring(errors: &mut FieldErrors, r: RecurringRequest, currency: Currency) -> Recurring {
    if r.months == Some(0) {
        errors.push(
            "terms.recurring.months",
            "must be at least 1, or absent for life",
        );
    }
    let later = r.later.and_then(|l| {
        let after = errors.required("terms.recurring.later.after_months", l.after_months);
        let cpa_minor = l
            .cpa
            .as_ref()
            .and_then(|c| amount(errors, "terms.recurring.later.cpa", c, currency));
        let revenue_share = l.revenue_share_percent.as_ref().and_then(|p| {
            errors.take(
                "terms.recurring.later.revenue_share_percent",
                Percent::parse(&p.0),
            )
        });
        Some(LaterRate {
            after_months: after?,
            cpa_minor,
            revenue_share,
        })
    });
    Recurring {
        months: r.months,
        later,
    }
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct TierRequest {
    pub name: Option<String>,
    /// `approved_conversions` (from is a count) or `approved_revenue` (from is an amount).
    pub metric: Option<String>,
    pub from: Option<DecimalText>,
    pub cpa: Option<DecimalText>,
    pub revenue_share_percent: Option<DecimalText>,
}

fn parse_tiers(errors: &mut FieldErrors, tiers: Vec<TierRequest>, currency: Currency) -> Vec<Tier> {
    let mut out = Vec::new();
    for (i, t) in tiers.into_iter().enumerate() {
        let f = |n: &str| format!("terms.tiers[{i}].{n}");
        let name = errors.required(&f("name"), t.name);
        let name = name.and_then(|n| errors.take(&f("name"), parse_name(&n)));
        let metric = match t.metric.as_deref() {
            Some("approved_conversions") => Some(TierMetric::ApprovedConversions),
            Some("approved_revenue") => Some(TierMetric::ApprovedRevenue),
            other => {
                errors.push(
                    &f("metric"),
                    format!("must be approved_conversions or approved_revenue, got {other:?}"),
                );
                None
            }
        };
        let from = errors.required(&f("from"), t.from);
        let from = match (metric, from) {
            (Some(TierMetric::ApprovedConversions), Some(v)) => {
                let n = v.0.parse::<i64>().ok().filter(|n| *n >= 1);
                errors.take(
                    &f("from"),
                    n.ok_or("must be a whole number of conversions, at least 1"),
                )
            }
            (Some(TierMetric::ApprovedRevenue), Some(v)) => {
                amount(errors, &f("from"), &v, currency)
            }
            _ => None,
        };
        let cpa_minor = t
            .cpa
            .as_ref()
            .and_then(|c| amount(errors, &f("cpa"), c, currency));
        let revenue_share = t
            .revenue_share_percent
            .as_ref()
            .and_then(|r| errors.take(&f("revenue_share_percent"), Percent::parse(&r.0)));
        if cpa_minor.is_none()
            && revenue_share.is_none()
            && t.cpa.is_none()
            && t.revenue_share_percent.is_none()
        {
            errors.push(
                &f("revenue_share_percent"),
                "a tier sets a cpa, a revenue_share_percent, or both",
            );
        }
        if let (Some(name), Some(metric), Some(from)) = (name, metric, from) {
            out.push(Tier {
                name,
                metric,
                from,
                cpa_minor,
                revenue_share,
            });
        }
    }
    out
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct CapRequest {
    /// `day` or `month` (UTC).
    pub period: Option<String>,
    /// `conversions` (limit is a count) or `commission` (limit is an amount).
    pub metric: Option<String>,
    pub limit: Option<DecimalText>,
}

fn parse_caps(errors: &mut FieldErrors, caps: Vec<CapRequest>, currency: Currency) -> Vec<Cap> {
    let mut out = Vec::new();
    for (i, c) in caps.into_iter().enumerate() {
        let f = |n: &str| format!("terms.caps[{i}].{n}");
        let period = match c.period.as_deref() {
            Some("day") => Some(CapPeriod::Day),
            Some("month") => Some(CapPeriod::Month),
            other => {
                errors.push(&f("period"), format!("must be day or month, got {other:?}"));
                None
            }
        };
        let metric = match c.metric.as_deref() {
            Some("conversions") => Some(CapMetric::Conversions),
            Some("commission") => Some(CapMetric::Commission),
            other => {
                errors.push(
                    &f("metric"),
                    format!("must be conversions or commission, got {other:?}"),
                );
                None
            }
        };
        let limit = errors.required(&f("limit"), c.limit);
        let limit = match (metric, limit) {
            (Some(CapMetric::Conversions), Some(l)) => {
                let n = l.0.parse::<i64>().ok().filter(|n| *n >= 0);
                errors.take(
                    &f("limit"),
                    n.ok_or("must be a whole number of conversions"),
                )
            }
            (Some(CapMetric::Commission), Some(l)) => amount(errors, &f("limit"), &l, currency),
            _ => None,
        };
        if let (Some(period), Some(metric), Some(limit)) = (period, metric, limit) {
            out.push(Cap {
                period,
                metric,
                limit,
            });
        }
    }
    out
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct BaseRequest {
    pub net_of_discount: Option<bool>,
    pub net_of_tax: Option<bool>,
    pub net_of_shipping: Option<bool>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct QualificationRequest {
    pub min_amount: Option<DecimalText>,
    pub events: Option<Vec<String>>,
    pub first_time_customer_only: Option<bool>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct BonusesRequest {
    pub new_customer: Option<DecimalText>,
    pub order_value: Option<OrderValueRequest>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct OrderValueRequest {
    pub threshold: Option<DecimalText>,
    pub bonus: Option<DecimalText>,
}

/// A non-negative amount in the program currency, or a field error.
fn amount(
    errors: &mut FieldErrors,
    field: &str,
    text: &DecimalText,
    currency: Currency,
) -> Option<i64> {
    let m = errors.take(field, Money::parse(&text.0, currency))?;
    if m.is_negative() {
        errors.push(field, "must not be negative");
        return None;
    }
    Some(m.minor())
}

fn percent_map(
    errors: &mut FieldErrors,
    field: &str,
    map: Option<BTreeMap<String, DecimalText>>,
) -> BTreeMap<String, Percent> {
    let mut out = BTreeMap::new();
    for (k, v) in map.unwrap_or_default() {
        if let Some(p) = errors.take(&format!("{field}.{k}"), Percent::parse(&v.0)) {
            out.insert(k, p);
        }
    }
    out
}

fn event_names(
    errors: &mut FieldErrors,
    field: &str,
    names: impl IntoIterator<Item = String>,
) -> Vec<String> {
    names
        .into_iter()
        .enumerate()
        .filter_map(|(i, n)| errors.take(&format!("{field}[{i}]"), parse_event(&n)))
        .collect()
}

/// Reads a campaign's terms; amounts are in the program currency.
pub fn parse_terms(t: TermsRequest, currency: Currency, errors: &mut FieldErrors) -> Terms {
    let cpa_minor = t
        .cpa
        .as_ref()
        .and_then(|c| amount(errors, "terms.cpa", c, currency));
    let mut cpa_by_event = BTreeMap::new();
    for (event, v) in t.cpa_by_event.unwrap_or_default() {
        let field = format!("terms.cpa_by_event.{event}");
        let name = errors.take(&field, parse_event(&event));
        if let (Some(name), Some(a)) = (name, amount(errors, &field, &v, currency)) {
            cpa_by_event.insert(name, a);
        }
    }
    let revenue_share = t
        .revenue_share_percent
        .as_ref()
        .and_then(|r| errors.take("terms.revenue_share_percent", Percent::parse(&r.0)));
    let caps = parse_caps(errors, t.caps.unwrap_or_default(), currency);
    let tiers = parse_tiers(errors, t.tiers.unwrap_or_default(), currency);
    let recurring = t.recurring.map(|r| parse_recurring(errors, r, currency));
    let b = t.base.unwrap_or_default();
    let q = t.qualification.unwrap_or_default();
    let bonuses = t.bonuses.unwrap_or_default();
    let order_value = bonuses.order_value.and_then(|ov| {
        let threshold = errors.required("terms.bonuses.order_value.threshold", ov.threshold);
        let bonus = errors.required("terms.bonuses.order_value.bonus", ov.bonus);
        let threshold = threshold
            .and_then(|v| amount(errors, "terms.bonuses.order_value.threshold", &v, currency));
        let bonus =
            bonus.and_then(|v| amount(errors, "terms.bonuses.order_value.bonus", &v, currency));
        Some(OrderValueBonus {
            threshold_minor: threshold?,
            bonus_minor: bonus?,
        })
    });
    Terms {
        cpa_minor,
        cpa_by_event,
        revenue_share,
        base: CommissionBase {
            net_of_discount: b.net_of_discount.unwrap_or(false),
            net_of_tax: b.net_of_tax.unwrap_or(false),
            net_of_shipping: b.net_of_shipping.unwrap_or(false),
        },
        items: ItemRates {
            by_sku: percent_map(errors, "terms.sku_rates", t.sku_rates),
            by_category: percent_map(errors, "terms.category_rates", t.category_rates),
            excluded_skus: t.excluded_skus.unwrap_or_default().into_iter().collect(),
            excluded_categories: t
                .excluded_categories
                .unwrap_or_default()
                .into_iter()
                .collect(),
        },
        qualification: Qualification {
            min_amount_minor: q
                .min_amount
                .as_ref()
                .and_then(|m| amount(errors, "terms.qualification.min_amount", m, currency)),
            events: event_names(
                errors,
                "terms.qualification.events",
                q.events.unwrap_or_default(),
            )
            .into_iter()
            .collect(),
            first_time_customer_only: q.first_time_customer_only.unwrap_or(false),
        },
        bonuses: Bonuses {
            new_customer_minor: bonuses
                .new_customer
                .as_ref()
                .and_then(|v| amount(errors, "terms.bonuses.new_customer", v, currency)),
            order_value,
        },
        caps,
        tiers,
        recurring,
    }
}

/// Ids chosen by operators appear in URLs and keys: keep them plain.
pub fn parse_slug(field: &str, text: &str) -> Result<String, AppError> {
    let ok = !text.is_empty()
        && text.len() <= 64
        && text
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_');
    if ok {
        Ok(text.to_string())
    } else {
        Err(AppError::field(
            field,
            "must be 1 to 64 characters of a-z, 0-9, - and _",
        ))
    }
}

/// Creates or replaces a campaign under the id the operator chose.
pub async fn put_campaign(
    services: &Services,
    id: &str,
    req: CampaignRequest,
) -> Result<(Campaign, bool), AppError> {
    let id = parse_slug("id", id)?;
    let program = require_program(&services.store).await?;
    let existing = services.store.campaign(&id).await?;
    let mut errors = FieldErrors::default();
    let name = errors.required("name", req.name);
    let name = name.and_then(|n| errors.take("name", parse_name(&n)));
    let destination = errors
        .required("destination_url", req.destination_url)
        .and_then(|d| errors.take("destination_url", parse_destination(&d)));
    let mut allowed_domains = Vec::new();
    for (i, d) in req.allowed_domains.unwrap_or_default().iter().enumerate() {
        if let Some(d) = errors.take(&format!("allowed_domains[{i}]"), parse_allowed_domain(d)) {
            allowed_domains.push(d);
        }
    }
    let terms = parse_terms(req.terms.unwrap_or_default(), program.currency, &mut errors);
    let upline = req
        .upline
        .as_ref()
        .and_then(|u| parse_upline(u, &mut errors));
    let targeting =
        crate::targeting::parse_targeting(req.targeting.unwrap_or_default(), &mut errors);
    let max_window = crate::campaign::MAX_ATTRIBUTION_WINDOW_DAYS;
    let attribution_window_days = match req.attribution_window_days {
        None => crate::campaign::DEFAULT_ATTRIBUTION_WINDOW_DAYS,
        Some(d) if (1..=i64::from(max_window)).contains(&d) => d as u32,
        Some(_) => {
            errors.push(
                "attribution_window_days",
                format!("must be between 1 and {max_window}"),
            );
            crate::campaign::DEFAULT_ATTRIBUTION_WINDOW_DAYS
        }
    };
    let status = match req.status.as_deref() {
        None | Some("active") => CampaignStatus::Active,
        Some("paused") => CampaignStatus::Paused,
        Some(other) => {
            errors.push("status", format!("must be active or paused, got {other:?}"));
            CampaignStatus::Active
        }
    };
    errors.into_result()?;
    let (Some(name), Some(destination)) = (name, destination) else {
        return Err(AppError::Internal("validated fields missing".into()));
    };
    let now = services.now();
    let campaign = Campaign {
        id,
        name,
        destination_url: destination.to_string(),
        allowed_domains,
        terms,
        upline,
        targeting,
        attribution_window_days,
        status,
        created_at: existing.as_ref().map_or(now, |c| c.created_at),
        updated_at: now,
    };
    services.store.put_campaign(&campaign).await?;
    Ok((campaign, existing.is_none()))
}

/// Approves a pending partner and issues their API key (shown once, stored hashed), gives
/// them a link for every active campaign, and emails the approval and the welcome (links,
/// referral code and key).
#[tracing::instrument(skip_all, fields(partner_id = %partner_id, correlation_id = %correlation_id))]
pub async fn approve_partner(
    services: &Services,
    partner_id: &str,
    correlation_id: &str,
) -> Result<(Partner, NewApiKey), AppError> {
    let program = require_program(&services.store).await?;
    let mut partner = services
        .store
        .partner(partner_id)
        .await?
        .ok_or_else(|| AppError::NotFound(format!("no partner {partner_id}")))?;
    if partner.status != PartnerStatus::Pending {
        return Err(AppError::Conflict {
            field: Some("status".into()),
            detail: format!(
                "the partner is {}, only pending partners can be approved",
                partner.status
            ),
        });
    }
    let key = new_api_key(services.ids.as_ref(), "partner");
    partner.status = PartnerStatus::Approved;
    partner.status_reason = None;
    partner.api_key_hash = Some(key.hash.clone());
    partner.updated_at = services.now();
    let ops = vec![
        Store::partner_put_replacing_key(
            &partner,
            None,
            status_is(PartnerStatus::Pending.as_str()),
        ),
        Store::api_key_put(
            &key.hash,
            &Principal::Partner {
                partner_id: partner.id.clone(),
            },
        ),
    ];
    services
        .store
        .table()
        .transact(ops)
        .await
        .map_err(|e| match e {
            TableError::TransactionCancelled { .. } => AppError::Conflict {
                field: Some("status".into()),
                detail: "the partner changed while being approved; reload and try again".into(),
            },
            other => other.into(),
        })?;
    // Committed: from here on nothing may fail the approval, or the key shown once in
    // this answer would be lost. Partners start with a link to every active campaign
    // (more on request); a campaign list that cannot be read leaves them without.
    let campaigns = services.store.campaigns().await.unwrap_or_else(|e| {
        tracing::error!(partner_id = %partner.id, error = %e, "campaigns not read for the welcome links");
        Vec::new()
    });
    let mut links = Vec::new();
    for campaign in campaigns
        .iter()
        .filter(|c| c.status == CampaignStatus::Active)
        .take(20)
    {
        let req = LinkRequest {
            partner_id: Some(partner.id.clone()),
            campaign_id: Some(campaign.id.clone()),
        };
        match create_link(services, req).await {
            Ok((link, _)) => links.push(serde_json::json!({
                "campaign_name": campaign.name,
                "url": LinkView::of(&link, &services.deployment.public_base_url).url,
            })),
            Err(e) => {
                tracing::warn!(partner_id = %partner.id, campaign_id = %campaign.id, error = %e, "welcome link not created")
            }
        }
    }
    let emails = [
        Message::EmailRequested(EmailRequest {
            email_id: format!("partner-approved:{}", partner.id),
            partner_id: partner.id.clone(),
            template: "partner_approved".into(),
            data: serde_json::json!({ "program_name": program.name }),
        }),
        Message::EmailRequested(EmailRequest {
            email_id: format!("welcome:{}", partner.id),
            partner_id: partner.id.clone(),
            template: "welcome".into(),
            data: serde_json::json!({
                "program_name": program.name,
                "referral_code": partner.referral_code,
                "api_key": services.store.seal(
                    &crate::usecases::emails::email_secret_purpose("api_key"),
                    &key.secret,
                ),
                "partner_area_url": format!("{}/v1/me", services.deployment.public_base_url),
                "links": links,
            }),
        }),
    ];
    if let Err(e) = services
        .publish(QueueName::Emails, &emails, correlation_id)
        .await
    {
        // The approval stands; the emails are the part that can be resent.
        tracing::warn!(partner_id = %partner.id, error = %e, "approval emails not queued");
    }
    Ok((partner, key))
}

/// The shortest admin key an operator may choose (generated ones carry 160 random bits).
pub const MIN_ADMIN_KEY_CHARS: usize = 24;

/// Stores an admin key under `name` and returns it; used to bootstrap a deployment.
pub async fn create_admin_key(
    services: &Services,
    name: &str,
    secret: Option<&str>,
) -> Result<NewApiKey, AppError> {
    let key = match secret {
        Some(s) if s.trim().chars().count() < MIN_ADMIN_KEY_CHARS => {
            return Err(AppError::field(
                "admin_key",
                format!(
                    "must be at least {MIN_ADMIN_KEY_CHARS} characters: an admin key can do \
                     everything, and a short one can be guessed"
                ),
            ));
        }
        Some(s) => NewApiKey {
            secret: s.trim().to_string(),
            hash: crate::ids::hash_api_key(s.trim()),
        },
        None => new_api_key(services.ids.as_ref(), "admin"),
    };
    register_admin_key_hash(&services.store, name, &key.hash).await?;
    Ok(key)
}

/// Registers an admin key by its SHA-256 hash: deployments are given the hash, never the
/// key. Registering the same hash again is a no-op.
pub async fn register_admin_key_hash(
    store: &Store,
    name: &str,
    hash: &str,
) -> Result<(), AppError> {
    let hash = hash.trim().to_ascii_lowercase();
    if hash.len() != 64 || !hash.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(AppError::field(
            "admin_key_hash",
            "must be the 64-hex-digit SHA-256 of the key",
        ));
    }
    let principal = Principal::Admin {
        name: name.to_string(),
    };
    match store
        .table()
        .transact(vec![Store::api_key_put(&hash, &principal)])
        .await
    {
        Ok(()) | Err(TableError::TransactionCancelled { .. }) => Ok(()),
        Err(e) => Err(e.into()),
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LinkRequest {
    pub partner_id: Option<String>,
    pub campaign_id: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct LinkView {
    pub code: String,
    pub url: String,
    pub partner_id: String,
    pub campaign_id: String,
    pub created_at: String,
}

impl LinkView {
    pub fn of(link: &Link, base_url: &str) -> Self {
        LinkView {
            code: link.code.clone(),
            url: format!("{base_url}/r/{}", link.code),
            partner_id: link.partner_id.clone(),
            campaign_id: link.campaign_id.clone(),
            created_at: link.created_at.to_rfc3339(),
        }
    }
}

/// Checks that an approved partner and a campaign exist before something of theirs (a
/// link, a promo code: `what`) is made, naming the field at fault.
pub async fn require_partner_on_campaign(
    store: &Store,
    partner_id: &str,
    campaign_id: &str,
    what: &str,
) -> Result<(), AppError> {
    let partner = store
        .partner(partner_id)
        .await?
        .ok_or_else(|| AppError::field("partner_id", format!("no partner {partner_id}")))?;
    if partner.status != PartnerStatus::Approved {
        return Err(AppError::field(
            "partner_id",
            format!(
                "the partner is {}; {what} are for approved partners",
                partner.status
            ),
        ));
    }
    if store.campaign(campaign_id).await?.is_none() {
        return Err(AppError::field(
            "campaign_id",
            format!("no campaign {campaign_id}"),
        ));
    }
    Ok(())
}

/// The tracking link of a partner for a campaign, created on first request; one per pair.
pub async fn create_link(services: &Services, req: LinkRequest) -> Result<(Link, bool), AppError> {
    let mut errors = FieldErrors::default();
    let partner_id = errors.required("partner_id", req.partner_id);
    let campaign_id = errors.required("campaign_id", req.campaign_id);
    errors.into_result()?;
    let (Some(partner_id), Some(campaign_id)) = (partner_id, campaign_id) else {
        return Err(AppError::Internal("validated fields missing".into()));
    };
    let store = &services.store;
    require_partner_on_campaign(store, &partner_id, &campaign_id, "links").await?;
    for _ in 0..5 {
        if let Some(code) = store.link_code_for(&partner_id, &campaign_id).await? {
            let link = store
                .link(&code)
                .await?
                .ok_or_else(|| AppError::Internal(format!("link {code} missing")))?;
            return Ok((link, false));
        }
        let link = Link {
            code: base32(&services.ids.random_bytes(5)),
            partner_id: partner_id.clone(),
            campaign_id: campaign_id.clone(),
            created_at: services.now(),
        };
        let ops = vec![
            Store::link_put(&link),
            Store::unique_marker(keys::link_of(&partner_id, &campaign_id), &link.code),
        ];
        match store.table().transact(ops).await {
            Ok(()) => return Ok((link, true)),
            // A code collision or a concurrent create: look again, then retry with a new code.
            Err(TableError::TransactionCancelled { .. }) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(AppError::Unavailable(
        "could not allocate a link code; try again".into(),
    ))
}

/// Display names: trimmed, 1 to 120 characters, none of them a control character — a
/// name goes into email subjects and headers, where a line break would end the header.
pub fn parse_name(text: &str) -> Result<String, String> {
    let t = text.trim();
    if t.is_empty() || t.chars().count() > 120 {
        Err("must be 1 to 120 characters".into())
    } else if t.chars().any(char::is_control) {
        Err("must not contain line breaks or other control characters".into())
    } else {
        Ok(t.to_string())
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExchangeRateRequest {
    /// Units of the program currency one unit of the path's currency buys, e.g. "1.0842".
    pub rate: Option<DecimalText>,
}

#[derive(Debug, Serialize)]
pub struct ExchangeRateView {
    pub currency: Currency,
    pub program_currency: Currency,
    pub rate: String,
    pub means: String,
}

impl ExchangeRateView {
    pub fn of(r: &crate::money::ExchangeRate) -> Self {
        ExchangeRateView {
            currency: r.from,
            program_currency: r.to,
            rate: r.rate.normalize().to_string(),
            means: r.to_string(),
        }
    }
}

/// Sets the rate at which sales in `currency` are converted into the program currency.
/// Conversions already stored keep the rate they were converted at.
pub async fn put_exchange_rate(
    services: &Services,
    currency: &str,
    req: ExchangeRateRequest,
) -> Result<crate::money::ExchangeRate, AppError> {
    let program = require_program(&services.store).await?;
    let from = Currency::from_code(currency).map_err(|e| AppError::field("currency", e))?;
    if from == program.currency {
        return Err(AppError::field(
            "currency",
            format!("{from} is the program currency; it needs no rate"),
        ));
    }
    let text = req
        .rate
        .ok_or_else(|| AppError::field("rate", "is required"))?;
    let rate = crate::money::ExchangeRate::parse(from, program.currency, &text.0)
        .map_err(|e| AppError::field("rate", e))?;
    services.store.put_exchange_rate(&rate).await?;
    Ok(rate)
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecruiterRequest {
    /// The new recruiter's id, or null to detach the partner from any upline.
    pub recruiter_id: Option<String>,
    /// Or the new recruiter's referral code.
    pub referral_code: Option<String>,
}

/// The longest chain a recruiter change can verify in one transaction (DynamoDB's limit
/// of 100 operations, less the partner's own write).
const MAX_VERIFIED_CHAIN: usize = 98;

/// Moves a partner under another recruiter, refusing any change that would make a
/// recruitment cycle. Every partner on the new recruiter's upline is re-checked inside
/// the write's transaction, so two changes racing to close a loop cannot both succeed.
pub async fn set_recruiter(
    services: &Services,
    partner_id: &str,
    req: RecruiterRequest,
) -> Result<Partner, AppError> {
    let store = &services.store;
    let mut partner = store
        .partner(partner_id)
        .await?
        .ok_or_else(|| AppError::NotFound(format!("no partner {partner_id}")))?;
    let new_recruiter = match (req.recruiter_id, req.referral_code) {
        (Some(_), Some(_)) => {
            return Err(AppError::field(
                "recruiter_id",
                "give recruiter_id or referral_code, not both",
            ));
        }
        (Some(id), None) => Some(
            store
                .partner(&id)
                .await?
                .ok_or_else(|| AppError::field("recruiter_id", format!("no partner {id}")))?,
        ),
        (None, Some(code)) => {
            let id = store
                .partner_id_by_referral_code(&code.trim().to_ascii_lowercase())
                .await?
                .ok_or_else(|| {
                    AppError::field(
                        "referral_code",
                        format!("no partner has the referral code {code:?}"),
                    )
                })?;
            store.partner(&id).await?
        }
        (None, None) => None,
    };
    let mut ops = Vec::new();
    if let Some(recruiter) = &new_recruiter {
        // Walk up from the new recruiter: meeting the partner means a cycle.
        let mut current = Some(recruiter.clone());
        while let Some(p) = current {
            if p.id == partner.id {
                return Err(AppError::field(
                    "recruiter_id",
                    format!(
                        "{} is in {}'s own downline: the change would make a recruitment cycle",
                        recruiter.id, partner.id
                    ),
                ));
            }
            if ops.len() >= MAX_VERIFIED_CHAIN {
                return Err(AppError::field(
                    "recruiter_id",
                    "the recruiter's upline is too long to verify",
                ));
            }
            ops.push(TxOp::Check(
                crate::store::keys::partner(&p.id),
                Condition::AttrEquals(
                    "recruited_by".into(),
                    Attr::S(p.recruited_by.clone().unwrap_or_default()),
                ),
            ));
            current = match &p.recruited_by {
                Some(up) => store.partner(up).await?,
                None => None,
            };
        }
    }
    let before = partner.recruited_by.clone().unwrap_or_default();
    partner.recruited_by = new_recruiter.map(|r| r.id);
    partner.updated_at = services.now();
    ops.push(Store::partner_put(
        &partner,
        Condition::AttrEquals("recruited_by".into(), Attr::S(before)),
    ));
    match store.table().transact(ops).await {
        Ok(()) => Ok(partner),
        Err(TableError::TransactionCancelled { .. }) => Err(AppError::Conflict {
            field: Some("recruiter_id".into()),
            detail: "the upline changed while this change was checked; try again".into(),
        }),
        Err(e) => Err(e.into()),
    }
}

/// Whose terms an override sets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OverrideFor {
    Partner(String),
    Group(String),
}

impl OverrideFor {
    fn key(&self, campaign_id: &str) -> crate::ports::Key {
        match self {
            OverrideFor::Partner(p) => crate::store::keys::partner_terms(campaign_id, p),
            OverrideFor::Group(g) => crate::store::keys::group_terms(campaign_id, g),
        }
    }
}

/// Replaces the campaign's terms for one partner or one group; returns the terms and
/// whether they are new.
pub async fn put_terms_override(
    services: &Services,
    campaign_id: &str,
    target: OverrideFor,
    req: TermsRequest,
) -> Result<(Terms, bool), AppError> {
    let program = require_program(&services.store).await?;
    let campaign = services
        .store
        .campaign(campaign_id)
        .await?
        .ok_or_else(|| AppError::NotFound(format!("no campaign {campaign_id}")))?;
    match &target {
        OverrideFor::Partner(p) => {
            if services.store.partner(p).await?.is_none() {
                return Err(AppError::NotFound(format!("no partner {p}")));
            }
        }
        OverrideFor::Group(g) => {
            parse_slug("group", g)?;
        }
    }
    let mut errors = FieldErrors::default();
    let terms = parse_terms(req, program.currency, &mut errors);
    errors.into_result()?;
    let created = services
        .store
        .put_terms_override(target.key(&campaign.id), &terms)
        .await?;
    Ok((terms, created))
}

/// Removes an override; the partner or group falls back to the campaign's terms.
pub async fn delete_terms_override(
    services: &Services,
    campaign_id: &str,
    target: OverrideFor,
) -> Result<(), AppError> {
    if services
        .store
        .delete_terms_override(target.key(campaign_id))
        .await?
    {
        Ok(())
    } else {
        Err(AppError::NotFound("no such override".into()))
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GroupRequest {
    /// The group's name, or null to take the partner out of any group.
    pub group: Option<String>,
}

pub async fn set_group(
    services: &Services,
    partner_id: &str,
    req: GroupRequest,
) -> Result<Partner, AppError> {
    let mut partner = services
        .store
        .partner(partner_id)
        .await?
        .ok_or_else(|| AppError::NotFound(format!("no partner {partner_id}")))?;
    let group = match req.group {
        Some(g) => Some(parse_slug("group", g.trim())?),
        None => None,
    };
    let before = partner.status;
    partner.group = group;
    partner.updated_at = services.now();
    services
        .store
        .table()
        .transact(vec![Store::partner_put(
            &partner,
            crate::store::status_is(before.as_str()),
        )])
        .await
        .map_err(|e| match e {
            TableError::TransactionCancelled { .. } => AppError::Conflict {
                field: None,
                detail: "the partner changed meanwhile; try again".into(),
            },
            other => other.into(),
        })?;
    Ok(partner)
}
