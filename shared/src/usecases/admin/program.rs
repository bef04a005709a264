//! The program's settings: currency, hold, upline plan, payout cadence, signup form and
//! postback secret, read from the admin API and checked field by field.

use super::*;

/// Shortest postback secret an operator may set.
pub const MIN_POSTBACK_SECRET_LEN: usize = 24;

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

/// The program settings an operator sent, every field checked: what `put_program` stores.
#[derive(Debug, Clone)]
pub struct ProgramSettings {
    pub name: String,
    pub currency: Currency,
    pub hold_days: u32,
    pub upline: UplinePlan,
    pub attribution_priority: AttributionPriority,
    pub payouts: PayoutSettings,
    pub signup: crate::signup_form::SignupSettings,
    /// A secret the operator chose; `None` keeps the current one (or generates one).
    pub postback_secret: Option<String>,
}

impl ProgramRequest {
    /// The settings, or an error for every field that is missing or wrong.
    pub fn parse(self) -> Result<ProgramSettings, AppError> {
        let req = self;
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
        let postback_secret = req.postback_secret.map(|s| s.trim().to_string());
        if let Some(secret) = &postback_secret
            && secret.len() < MIN_POSTBACK_SECRET_LEN
        {
            errors.push(
                "postback_secret",
                format!("must be at least {MIN_POSTBACK_SECRET_LEN} characters"),
            );
        }
        let (name, currency, hold_days, upline) =
            errors.finish((name, currency, hold_days, upline))?;
        Ok(ProgramSettings {
            name,
            currency,
            hold_days,
            upline,
            attribution_priority,
            payouts,
            signup,
            postback_secret,
        })
    }
}

/// Creates or replaces the program settings. The currency is fixed once set, because
/// stored amounts are in it. A new program gets a generated postback secret unless one is
/// given; the response reveals the secret only when this request set it.
pub async fn put_program(
    services: &Services,
    settings: ProgramSettings,
) -> Result<(ProgramView, bool), AppError> {
    let existing = services.store.program().await?;
    if let Some(old) = &existing
        && old.currency != settings.currency
    {
        return Err(AppError::field(
            "currency",
            format!(
                "is {} and cannot change once the program is set up",
                old.currency
            ),
        ));
    }
    let (postback_secret, secret_set_now) = match (settings.postback_secret, &existing) {
        (Some(s), _) => (s, true),
        (None, Some(old)) => (old.postback_secret.clone(), false),
        (None, None) => (
            format!("whsec_{}", base32(&services.ids.random_bytes(24))),
            true,
        ),
    };
    let program = Program {
        name: settings.name,
        currency: settings.currency,
        hold_days: settings.hold_days,
        upline: settings.upline,
        postback_secret,
        attribution_priority: settings.attribution_priority,
        payouts: settings.payouts,
        signup: settings.signup,
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
