//! `/console/settings`: the program's settings (name, hold, upline levels, which credit
//! wins, payout cadence and minimum, the signup form with a preview of `/portal/join`),
//! exchange rates, and rotating the postback secret, shown once. Settings are read by the
//! same parser as the admin API's `PUT /v1/admin/program`, every problem at its field.

use std::collections::BTreeMap;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use minijinja::context;
use serde::Serialize;
use serde_json::{Value, json};
use upline_domain::error::{AppError, FieldError, FieldErrors};
use upline_domain::ids::base32;
use upline_domain::operator::Permission;
use upline_domain::program::Program;
use upline_domain::services::Services;
use upline_domain::signup_form::{FormField, FormFieldRequest, parse_form};
use upline_domain::usecases::admin::{self, ExchangeRateRequest, ExchangeRateView, ProgramRequest};
use upline_domain::usecases::audit;
use upline_domain::usecases::input::DecimalText;

use crate::form::Fields;
use crate::pages::render;
use crate::problem::{PageError, PageResult};
use crate::session::SignedInOperator;

/// A value of a settings enum as the API names it (`monthly`, `promo_code`, …).
fn name_of(v: impl Serialize) -> String {
    serde_json::to_value(v)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

/// The settings form as typed, or as the stored program fills it.
#[derive(Default, Serialize)]
struct SettingsForm {
    name: String,
    hold_days: String,
    upline_levels: String,
    upline_base: String,
    upline_skip: String,
    attribution_priority: String,
    cadence: String,
    minimum: String,
    auto_approve: bool,
    signup_form: String,
}

impl SettingsForm {
    fn of(p: &Program) -> Self {
        let form: Vec<Value> = p
            .signup
            .form
            .iter()
            .map(|f| serde_json::to_value(f).unwrap_or_default())
            .collect();
        SettingsForm {
            name: p.name.clone(),
            hold_days: p.hold_days.to_string(),
            upline_levels: p
                .upline
                .level_percents()
                .iter()
                .map(|l| l.as_decimal().to_string())
                .collect::<Vec<_>>()
                .join(", "),
            upline_base: name_of(p.upline.base),
            upline_skip: name_of(p.upline.skip),
            attribution_priority: name_of(p.attribution_priority),
            cadence: name_of(p.payouts.cadence),
            minimum: upline_domain::money::format_minor(p.payouts.minimum_minor, p.currency),
            auto_approve: p.signup.auto_approve,
            signup_form: if form.is_empty() {
                String::new()
            } else {
                serde_json::to_string_pretty(&form).unwrap_or_default()
            },
        }
    }

    fn from_post(f: &Fields) -> Self {
        let get = |n: &str| f.get(n).to_string();
        SettingsForm {
            name: get("name"),
            hold_days: get("hold_days"),
            upline_levels: get("upline_levels"),
            upline_base: get("upline_base"),
            upline_skip: get("upline_skip"),
            attribution_priority: get("attribution_priority"),
            cadence: get("cadence"),
            minimum: get("minimum"),
            auto_approve: f.get("auto_approve") == "yes",
            signup_form: get("signup_form"),
        }
    }

    /// The signup form's fields as typed: a JSON list of the API's form fields.
    fn signup_fields(&self) -> Result<Vec<FormFieldRequest>, FieldError> {
        if self.signup_form.trim().is_empty() {
            return Ok(Vec::new());
        }
        serde_json::from_str(&self.signup_form).map_err(|e| {
            FieldError::new("signup_form", format!("is not a JSON list of fields: {e}"))
        })
    }

    /// The admin API's program request for these settings in `currency` (which never
    /// changes), with `secret` when the postback secret is to be replaced.
    fn request(
        &self,
        currency: &str,
        secret: Option<String>,
    ) -> Result<ProgramRequest, Vec<FieldError>> {
        let mut problems = Vec::new();
        let hold_days = match self.hold_days.trim().parse::<i64>() {
            Ok(d) => Some(d),
            Err(_) => {
                problems.push(FieldError::new(
                    "hold_days",
                    "must be a whole number of days",
                ));
                None
            }
        };
        let levels = crate::form::percents(&self.upline_levels);
        let form = match self.signup_fields() {
            Ok(f) => f,
            Err(e) => {
                problems.push(e);
                Vec::new()
            }
        };
        if !problems.is_empty() {
            return Err(problems);
        }
        let request = json!({
            "name": self.name,
            "currency": currency,
            "hold_days": hold_days,
            "upline": {"depth": levels.len(), "level_percents": levels,
                       "base": self.upline_base, "skip": self.upline_skip},
            "attribution_priority": self.attribution_priority,
            "payouts": {"cadence": self.cadence, "minimum": self.minimum},
            "postback_secret": secret,
        });
        let mut request: ProgramRequest = serde_json::from_value(request)
            .map_err(|e| vec![FieldError::new("name", e.to_string())])?;
        request.signup = Some(upline_domain::usecases::admin::SignupSettingsRequest {
            auto_approve: Some(self.auto_approve),
            form: Some(form),
        });
        Ok(request)
    }
}

/// Which field of the form an API field's problem belongs at.
fn form_field(api: &str) -> &'static str {
    match api {
        "name" => "name",
        "hold_days" => "hold_days",
        "attribution_priority" => "attribution_priority",
        "payouts.cadence" => "cadence",
        "payouts.minimum" => "minimum",
        "upline.base" => "upline_base",
        "upline.skip" => "upline_skip",
        _ if api.starts_with("upline") => "upline_levels",
        _ if api.starts_with("signup") => "signup_form",
        // Shown in the list at the top of the form.
        _ => "program",
    }
}

fn by_field(fields: Vec<FieldError>) -> BTreeMap<&'static str, Vec<String>> {
    crate::form::errors_at(fields, form_field, &["signup_form", "upline_levels"])
}

/// What the page shows besides the stored settings.
#[derive(Default)]
struct Shown {
    form: Option<SettingsForm>,
    errors: BTreeMap<&'static str, Vec<String>>,
    notice: Option<String>,
    /// A new postback secret, shown this once.
    secret: Option<String>,
    /// The signup form to preview when it is not the stored one.
    preview: Option<Vec<FormField>>,
    rate_error: Option<String>,
    /// The rate form as sent, kept when it was refused: (currency, rate).
    rate_typed: (String, String),
}

async fn page(
    s: &Services,
    who: &SignedInOperator,
    status: StatusCode,
    shown: Shown,
) -> PageResult {
    let program = &who.program;
    let preview = shown.preview.unwrap_or_else(|| program.signup.form.clone());
    let preview: Vec<_> = preview
        .iter()
        .map(|f| {
            context! {
                name => f.name.clone(), label => f.label.clone(), kind => name_of(f.kind),
                required => f.required, options => f.options.clone(),
            }
        })
        .collect();
    let rates: Vec<_> = s
        .store
        .exchange_rates()
        .await?
        .iter()
        .map(ExchangeRateView::of)
        .collect();
    Ok(render(
        status,
        "settings.html",
        &who.layout("settings"),
        context! {
            form => shown.form.unwrap_or_else(|| SettingsForm::of(program)),
            errors => shown.errors,
            notice => shown.notice,
            secret => shown.secret,
            preview,
            rates,
            rate_error => shown.rate_error,
            rate_currency => shown.rate_typed.0,
            rate_value => shown.rate_typed.1,
            currency => program.currency.code(),
            cadences => ["manual", "weekly", "monthly"],
            priorities => ["promo_code", "click"],
        },
    ))
}

pub(crate) async fn settings_page(State(s): State<Services>, who: SignedInOperator) -> PageResult {
    page(&s, &who, StatusCode::OK, Shown::default()).await
}

/// `POST /console/settings`: `action` is `save` or `preview` (the signup form as typed,
/// nothing saved).
pub(crate) async fn save(
    State(s): State<Services>,
    who: SignedInOperator,
    headers: HeaderMap,
    fields: Fields,
) -> Result<Response, PageError> {
    // Previewing the signup form changes nothing: every role may.
    let preview = fields.get("action") == "preview";
    let needs = if preview {
        Permission::Read
    } else {
        Permission::ManageSettings
    };
    if let Some(refused) = who.refuse(&headers, &s, fields.csrf(), needs) {
        return Ok(refused);
    }
    let form = SettingsForm::from_post(&fields);
    if preview {
        let mut errors = FieldErrors::default();
        let preview = match form.signup_fields() {
            Ok(requests) => parse_form(requests, &mut errors),
            Err(e) => {
                errors.push(&e.field, e.message);
                Vec::new()
            }
        };
        let problems: Vec<FieldError> = match errors.into_result() {
            Ok(()) => Vec::new(),
            Err(AppError::Invalid(f)) => f,
            Err(e) => return Err(e.into()),
        };
        let shown = Shown {
            errors: by_field(problems),
            preview: Some(preview),
            notice: Some("The preview below shows the form as typed; nothing is saved yet.".into()),
            form: Some(form),
            ..Shown::default()
        };
        return page(&s, &who, StatusCode::OK, shown).await;
    }
    let parsed = form
        .request(who.program.currency.code(), None)
        .and_then(|r| match r.parse() {
            Ok(settings) => Ok(settings),
            Err(AppError::Invalid(f)) => Err(f),
            Err(e) => Err(vec![FieldError::new("name", e.describe())]),
        });
    match parsed {
        Ok(settings) => {
            let (view, _) = admin::put_program(&s, settings).await?;
            let summary = format!(
                "name {:?}, hold {} days, payouts {:?}",
                view.name, view.hold_days, view.payouts.cadence
            );
            audit::record(&s, who.actor(), "program.updated", "program", summary).await;
            let who = SignedInOperator {
                program: admin::require_program(&s.store).await?,
                ..who
            };
            let shown = Shown {
                notice: Some("The settings are saved.".into()),
                ..Shown::default()
            };
            page(&s, &who, StatusCode::OK, shown).await
        }
        Err(problems) => {
            let shown = Shown {
                errors: by_field(problems),
                form: Some(form),
                ..Shown::default()
            };
            page(&s, &who, StatusCode::UNPROCESSABLE_ENTITY, shown).await
        }
    }
}

/// `POST /console/settings/postback-secret`: a new postback secret, shown once; the old
/// one stops working at once.
pub(crate) async fn rotate_secret(
    State(s): State<Services>,
    who: SignedInOperator,
    headers: HeaderMap,
    fields: Fields,
) -> Result<Response, PageError> {
    if let Some(refused) = who.refuse(&headers, &s, fields.csrf(), Permission::ManageSecrets) {
        return Ok(refused);
    }
    let secret = format!("whsec_{}", base32(&s.ids.random_bytes(24)));
    let form = SettingsForm::of(&who.program);
    let request = form
        .request(who.program.currency.code(), Some(secret))
        .map_err(AppError::Invalid)?;
    let (view, _) = admin::put_program(&s, request.parse()?).await?;
    audit::record(
        &s,
        who.actor(),
        "program.postback_secret_rotated",
        "program",
        "new postback secret",
    )
    .await;
    let shown = Shown {
        secret: view.postback_secret,
        notice: Some("The postback secret is replaced; the old one no longer works.".into()),
        ..Shown::default()
    };
    page(&s, &who, StatusCode::OK, shown).await
}

/// `POST /console/settings/exchange-rates`: sets the rate of one currency.
pub(crate) async fn set_rate(
    State(s): State<Services>,
    who: SignedInOperator,
    headers: HeaderMap,
    fields: Fields,
) -> Result<Response, PageError> {
    if let Some(refused) = who.refuse(&headers, &s, fields.csrf(), Permission::ManageSettings) {
        return Ok(refused);
    }
    let request = ExchangeRateRequest {
        rate: fields.given("rate").map(DecimalText),
    };
    let currency = fields.get("currency").to_ascii_uppercase();
    let shown = match request.parse(&currency, who.program.currency) {
        Ok(rate) => {
            let rate = admin::put_exchange_rate(&s, rate).await?;
            let means = ExchangeRateView::of(&rate).means;
            audit::record(
                &s,
                who.actor(),
                "exchange_rate.set",
                rate.from.code(),
                means.clone(),
            )
            .await;
            Shown {
                notice: Some(format!("Saved: {means}.")),
                ..Shown::default()
            }
        }
        Err(AppError::Invalid(f)) => Shown {
            rate_error: Some(upline_domain::error::describe_fields(&f)),
            rate_typed: (currency.clone(), fields.get("rate").to_string()),
            ..Shown::default()
        },
        Err(e) => return Err(e.into()),
    };
    let status = if shown.rate_error.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    page(&s, &who, status, shown).await
}
