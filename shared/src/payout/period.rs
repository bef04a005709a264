//! Pay periods and the program's payout settings: the cadence that starts runs on its own,
//! the minimum, and the month / ISO week / day a run covers.

use crate::error::Invalid;
use serde::{Deserialize, Serialize};
use time::{Date, Month, Weekday};

use crate::clock::{Day, Timestamp};

/// How often the schedule starts a payout run on its own.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Cadence {
    /// Only when the operator asks (`POST /v1/admin/payout-runs`).
    #[default]
    Manual,
    /// Every Monday, for the ISO week that just ended.
    Weekly,
    /// On the 1st, for the month that just ended.
    Monthly,
}

impl Cadence {
    pub fn parse(text: &str) -> Result<Self, Invalid> {
        match text {
            "manual" => Ok(Cadence::Manual),
            "weekly" => Ok(Cadence::Weekly),
            "monthly" => Ok(Cadence::Monthly),
            other => Err(Invalid(format!(
                "must be manual, weekly or monthly, got {other:?}"
            ))),
        }
    }

    /// The most recent period of this cadence that has ended by `now`.
    pub fn last_ended(&self, now: Timestamp) -> Option<Period> {
        let today = date_of(now.day());
        match self {
            Cadence::Manual => None,
            Cadence::Weekly => {
                let back = i64::from(today.weekday().number_days_from_monday());
                Period::of_week_ending(today.checked_sub(time::Duration::days(back))?)
            }
            Cadence::Monthly => {
                let first = today.replace_day(1).ok()?;
                let last_month = first.previous_day()?;
                Some(Period::month(last_month.year(), last_month.month()))
            }
        }
    }
}

/// The program's payout rules.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PayoutSettings {
    #[serde(default)]
    pub cadence: Cadence,
    /// Below this a partner's balance carries over to the next run (program currency).
    #[serde(default)]
    pub minimum_minor: i64,
}

/// The years a pay period may fall in: wide enough for any real program, and narrow
/// enough that every date computed from a period (its end, the next month) exists.
pub const PERIOD_YEARS: std::ops::RangeInclusive<i32> = 2000..=2999;

/// A pay period: its name (`2026-11`, `2026-W47`, `2026-11-21`), which identifies its
/// run, and its end — lines that became payable before the end belong to it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Period {
    pub name: String,
    pub end: Timestamp,
}

impl Period {
    /// Reads `YYYY-MM` (a month), `YYYY-Www` (an ISO week) or `YYYY-MM-DD` (a day).
    pub fn parse(text: &str) -> Result<Period, Invalid> {
        let text = text.trim();
        let bad = || {
            Invalid(format!(
                "{text:?} is not a period: give a month (2026-11), an ISO week (2026-W47) or a day (2026-11-21)"
            ))
        };
        let out_of_range = || {
            format!(
                "{text:?} is outside the years {} to {} that pay periods may name",
                PERIOD_YEARS.start(),
                PERIOD_YEARS.end()
            )
        };
        if let Some((year, week)) = text.split_once("-W") {
            let year: i32 = year.parse().map_err(|_| bad())?;
            let week: u8 = week.parse().map_err(|_| bad())?;
            if !PERIOD_YEARS.contains(&year) {
                return Err(out_of_range().into());
            }
            let monday =
                Date::from_iso_week_date(year, week, Weekday::Monday).map_err(|_| bad())?;
            return Period::of_week_ending(
                monday
                    .checked_add(time::Duration::days(7))
                    .ok_or_else(bad)?,
            )
            .ok_or_else(bad);
        }
        if let Some(day) = Day::parse(text) {
            let year: i32 = text.get(..4).and_then(|y| y.parse().ok()).unwrap_or(0);
            if !PERIOD_YEARS.contains(&year) || text.starts_with('-') {
                return Err(out_of_range().into());
            }
            return Ok(Period {
                name: day.to_string(),
                end: day.next().start(),
            });
        }
        let (year, month) = text.split_once('-').ok_or_else(bad)?;
        let year: i32 = year.parse().map_err(|_| bad())?;
        let month: u8 = month.parse().map_err(|_| bad())?;
        if text.len() != 7 {
            return Err(bad());
        }
        let month = Month::try_from(month).map_err(|_| bad())?;
        if !PERIOD_YEARS.contains(&year) {
            return Err(out_of_range().into());
        }
        Ok(Period::month(year, month))
    }

    fn month(year: i32, month: Month) -> Period {
        let next_first = if month == Month::December {
            Date::from_calendar_date(year + 1, Month::January, 1)
        } else {
            Date::from_calendar_date(year, month.next(), 1)
        }
        .expect("the 1st of a month exists");
        Period {
            name: format!("{year:04}-{:02}", u8::from(month)),
            end: timestamp_of(next_first),
        }
    }

    /// The ISO week that ends on the Monday `next_monday` (exclusive).
    fn of_week_ending(next_monday: Date) -> Option<Period> {
        let sunday = next_monday.previous_day()?;
        let (year, week, _) = sunday.to_iso_week_date();
        Some(Period {
            name: format!("{year:04}-W{week:02}"),
            end: timestamp_of(next_monday),
        })
    }
}

fn date_of(day: Day) -> Date {
    Date::from_calendar_date(1970, Month::January, 1).expect("the epoch")
        + time::Duration::days(i64::from(day.0))
}

fn timestamp_of(date: Date) -> Timestamp {
    let epoch = Date::from_calendar_date(1970, Month::January, 1).expect("the epoch");
    Day((date - epoch).whole_days() as i32).start()
}
