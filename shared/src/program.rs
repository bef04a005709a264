//! The partner program's settings: its currency, hold period and the multi-level (upline)
//! plan that decides what recruiters earn on their downline's conversions.

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::clock::Timestamp;
use crate::money::{Currency, Percent};

/// The most upline levels a program may pay.
pub const MAX_UPLINE_DEPTH: u8 = 10;

#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Program {
    pub name: String,
    pub currency: Currency,
    /// Days a commission stays pending (refunds, chargebacks) before it can be approved.
    pub hold_days: u32,
    pub upline: UplinePlan,
    /// Authenticates storefront postbacks. Stored, never shown again after it is set.
    pub postback_secret: String,
    /// Which credit wins when a postback carries both a click id and a promo code.
    #[serde(default)]
    pub attribution_priority: AttributionPriority,
    /// When runs happen on their own and the smallest amount paid out.
    #[serde(default)]
    pub payouts: crate::payout::PayoutSettings,
    /// The signup form's extra questions and whether applicants are approved at once.
    #[serde(default)]
    pub signup: crate::signup_form::SignupSettings,
    pub updated_at: Timestamp,
}

/// Every field but the postback secret, which never reaches a log.
impl std::fmt::Debug for Program {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Program")
            .field("name", &self.name)
            .field("currency", &self.currency)
            .field("hold_days", &self.hold_days)
            .field("upline", &self.upline)
            .field("postback_secret", &"…")
            .field("attribution_priority", &self.attribution_priority)
            .field("payouts", &self.payouts)
            .field("signup", &self.signup)
            .field("updated_at", &self.updated_at)
            .finish()
    }
}

#[cfg(test)]
mod debug_tests {
    #[test]
    fn the_postback_secret_never_shows_in_debug_output() {
        let program = super::Program {
            name: "Acme".into(),
            currency: crate::money::Currency::from_code("USD").unwrap(),
            hold_days: 0,
            upline: super::UplinePlan::off(),
            postback_secret: "whsec_do_not_print".into(),
            attribution_priority: Default::default(),
            payouts: Default::default(),
            signup: Default::default(),
            updated_at: crate::clock::Timestamp(0),
        };
        let printed = format!("{program:?}");
        assert!(!printed.contains("whsec_do_not_print"), "{printed}");
        assert!(printed.contains("Acme"));
    }
}

/// The rule for a sale that names both a click and a promo code of different partners.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AttributionPriority {
    /// The code: the buyer typed it at checkout, the latest and most deliberate signal.
    #[default]
    PromoCode,
    /// The click.
    Click,
}

impl AttributionPriority {
    pub fn as_str(&self) -> &'static str {
        match self {
            AttributionPriority::PromoCode => "promo_code",
            AttributionPriority::Click => "click",
        }
    }
}

/// What upline partners earn: how many levels, at which rates, on which base.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct UplinePlan {
    /// 0 turns multi-level commissions off.
    pub depth: u8,
    pub rates: LevelRates,
    pub base: UplineBase,
    /// What happens to the level of a recruiter who is not approved.
    #[serde(default)]
    pub skip: SkipRule,
}

/// The rule for upline partners who are suspended, rejected or still pending.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SkipRule {
    /// Their level earns nothing; the chain continues above them at the next level.
    #[default]
    Forfeit,
    /// They are passed over: the next approved recruiter above takes their level.
    Compress,
}

impl UplinePlan {
    /// What each level earns, level 1 first, whatever the rate model.
    pub fn level_percents(&self) -> Vec<Percent> {
        self.level_rates().collect()
    }

    /// What each level earns, level 1 first, up to the depth: the same rates as
    /// [`UplinePlan::rate_for_level`], with a factor model's powers built up one
    /// multiplication per level rather than from scratch at each (the engine asks for
    /// every level of every conversion).
    pub fn level_rates(&self) -> impl Iterator<Item = Percent> + '_ {
        let mut running_factor: Option<Decimal> = None;
        (1..=self.depth).map(move |level| match &self.rates {
            LevelRates::Factor { first, factor } => {
                let r = match running_factor {
                    None => first.as_decimal(),
                    Some(previous) => previous * *factor,
                };
                running_factor = Some(r);
                factor_rate(r)
            }
            other => other.rate_for_level(level),
        })
    }

    pub fn off() -> Self {
        UplinePlan {
            depth: 0,
            rates: LevelRates::Explicit { levels: vec![] },
            base: UplineBase::DirectCommission,
            skip: SkipRule::Forfeit,
        }
    }

    /// The rate for `level` (1 = the converting partner's recruiter); zero past the depth.
    pub fn rate_for_level(&self, level: u8) -> Percent {
        if level == 0 || level > self.depth {
            return Percent::ZERO;
        }
        self.rates.rate_for_level(level)
    }
}

/// How per-level rates are given.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum LevelRates {
    /// Level 1 earns the first, level 2 the second, …; missing levels earn nothing.
    Explicit { levels: Vec<Percent> },
    /// Level 1 earns `first`; each further level `step` percentage points less, never below 0.
    FixedStep { first: Percent, step: Percent },
    /// Level 1 earns `first`; each further level earns `factor` times the level above
    /// (`factor` between 0 and 1), kept exact and rounded only on the money.
    Factor { first: Percent, factor: Decimal },
}

impl LevelRates {
    fn rate_for_level(&self, level: u8) -> Percent {
        let k = u32::from(level - 1);
        match self {
            LevelRates::Explicit { levels } => {
                levels.get(k as usize).copied().unwrap_or(Percent::ZERO)
            }
            LevelRates::FixedStep { first, step } => {
                let r = first.as_decimal() - step.as_decimal() * Decimal::from(k);
                Percent::new(r.max(Decimal::ZERO)).unwrap_or(Percent::ZERO)
            }
            LevelRates::Factor { first, factor } => {
                let mut r = first.as_decimal();
                for _ in 0..k {
                    r *= *factor;
                }
                factor_rate(r)
            }
        }
    }
}

/// A factor model's exact product for a level as its rate: 6 places kept, so repeated
/// factors cannot exceed a percentage's precision.
fn factor_rate(product: Decimal) -> Percent {
    let r = product.round_dp_with_strategy(6, rust_decimal::RoundingStrategy::ToZero);
    Percent::new(r).unwrap_or(Percent::ZERO)
}

/// What an upline rate is a percentage of.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UplineBase {
    /// The converting partner's commission (the usual "override" model).
    DirectCommission,
    /// The sale amount itself.
    Sale,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> Percent {
        Percent::parse(s).unwrap()
    }

    #[test]
    fn fixed_step_rates_decrease_and_stop_at_zero() {
        let plan = UplinePlan {
            depth: 5,
            rates: LevelRates::FixedStep {
                first: p("10"),
                step: p("4"),
            },
            base: UplineBase::Sale,
            skip: SkipRule::Forfeit,
        };
        let rates: Vec<_> = (1..=6).map(|l| plan.rate_for_level(l)).collect();
        assert_eq!(rates, vec![p("10"), p("6"), p("2"), p("0"), p("0"), p("0")]);
    }

    #[test]
    fn factor_rates_multiply_per_level() {
        let plan = UplinePlan {
            depth: 3,
            rates: LevelRates::Factor {
                first: p("8"),
                factor: Decimal::new(5, 1),
            },
            base: UplineBase::Sale,
            skip: SkipRule::Forfeit,
        };
        assert_eq!(plan.rate_for_level(1), p("8"));
        assert_eq!(plan.rate_for_level(2), p("4"));
        assert_eq!(plan.rate_for_level(3), p("2"));
        assert_eq!(plan.rate_for_level(4), p("0"));
    }

    #[test]
    fn explicit_rates_beyond_the_list_are_zero() {
        let plan = UplinePlan {
            depth: 3,
            rates: LevelRates::Explicit {
                levels: vec![p("5"), p("2")],
            },
            base: UplineBase::Sale,
            skip: SkipRule::Forfeit,
        };
        assert_eq!(plan.rate_for_level(2), p("2"));
        assert_eq!(plan.rate_for_level(3), p("0"));
        assert_eq!(plan.rate_for_level(0), p("0"));
    }

    proptest::proptest! {
        #[test]
        fn every_level_rate_is_the_rate_for_that_level(
            depth in 0u8..=20,
            first_micro in 0i64..=100_000_000,
            step_micro in 0i64..=100_000_000,
            factor_milli in 0i64..=1_000,
            model in 0u8..3,
        ) {
            let first = Percent::new(Decimal::new(first_micro, 6)).unwrap();
            let rates = match model {
                0 => LevelRates::Factor { first, factor: Decimal::new(factor_milli, 3) },
                1 => LevelRates::FixedStep { first, step: Percent::new(Decimal::new(step_micro, 6)).unwrap() },
                _ => LevelRates::Explicit { levels: vec![first; usize::from(depth / 2)] },
            };
            let plan = UplinePlan { depth, rates, base: UplineBase::Sale, skip: SkipRule::Forfeit };
            let each: Vec<Percent> = (1..=depth).map(|l| plan.rate_for_level(l)).collect();
            proptest::prop_assert_eq!(plan.level_rates().collect::<Vec<_>>(), each);
        }
    }
}
