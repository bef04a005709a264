//! Time as the domain sees it: instants in milliseconds since the Unix epoch, UTC days for
//! counters and reports, and the [`Clock`] port that is injected so tests are exact.

use std::fmt;
use std::sync::atomic::{AtomicI64, Ordering};

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// An instant, in milliseconds since 1970-01-01T00:00:00Z.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Timestamp(pub i64);

impl Timestamp {
    pub fn from_secs(secs: i64) -> Self {
        Timestamp(secs * 1000)
    }

    pub fn millis(&self) -> i64 {
        self.0
    }

    pub fn secs(&self) -> i64 {
        self.0.div_euclid(1000)
    }

    pub fn plus_secs(&self, secs: i64) -> Timestamp {
        Timestamp(self.0 + secs * 1000)
    }

    pub fn plus_days(&self, days: i64) -> Timestamp {
        self.plus_secs(days * 86_400)
    }

    /// The UTC calendar day this instant falls on.
    pub fn day(&self) -> Day {
        Day(self.0.div_euclid(86_400_000) as i32)
    }

    /// RFC 3339 in UTC with millisecond precision, as the API shows times.
    pub fn to_rfc3339(&self) -> String {
        let nanos = i128::from(self.0) * 1_000_000;
        OffsetDateTime::from_unix_timestamp_nanos(nanos)
            .ok()
            .and_then(|t| t.format(&Rfc3339).ok())
            .unwrap_or_else(|| self.0.to_string())
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_rfc3339())
    }
}

/// A UTC calendar day, counted from 1970-01-01; shown and parsed as `YYYY-MM-DD`.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
pub struct Day(pub i32);

impl Day {
    pub fn parse(text: &str) -> Option<Day> {
        let format = time::macros::format_description!("[year]-[month]-[day]");
        let date = time::Date::parse(text, &format).ok()?;
        let epoch = time::Date::from_calendar_date(1970, time::Month::January, 1).ok()?;
        Some(Day((date - epoch).whole_days() as i32))
    }

    pub fn start(&self) -> Timestamp {
        Timestamp(i64::from(self.0) * 86_400_000)
    }

    pub fn next(&self) -> Day {
        Day(self.0 + 1)
    }
}

impl fmt::Display for Day {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let epoch = time::Date::from_calendar_date(1970, time::Month::January, 1)
            .expect("the epoch is a valid date");
        match epoch.checked_add(time::Duration::days(i64::from(self.0))) {
            Some(d) => write!(
                f,
                "{:04}-{:02}-{:02}",
                d.year(),
                u8::from(d.month()),
                d.day()
            ),
            None => write!(f, "day{}", self.0),
        }
    }
}

impl Serialize for Day {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Day {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Day::parse(&s).ok_or_else(|| serde::de::Error::custom("expected a day as YYYY-MM-DD"))
    }
}

/// The Clock port: where "now" comes from.
pub trait Clock: Send + Sync {
    fn now(&self) -> Timestamp;
}

/// The wall clock.
#[derive(Default, Debug, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Timestamp {
        let since = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default();
        Timestamp(since.as_millis() as i64)
    }
}

/// A clock that only moves when told, for tests that must be exact about holds and windows.
#[derive(Debug)]
pub struct ManualClock(AtomicI64);

impl ManualClock {
    pub fn at(t: Timestamp) -> Self {
        ManualClock(AtomicI64::new(t.0))
    }

    pub fn advance_secs(&self, secs: i64) {
        self.0.fetch_add(secs * 1000, Ordering::SeqCst);
    }

    pub fn set(&self, t: Timestamp) {
        self.0.store(t.0, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Timestamp {
        Timestamp(self.0.load(Ordering::SeqCst))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_round_trip_through_their_text_form() {
        let d = Day::parse("2026-11-21").unwrap();
        assert_eq!(d.to_string(), "2026-11-21");
        assert_eq!(d.next().to_string(), "2026-11-22");
        assert_eq!(d.start().day(), d);
        assert_eq!(Day::parse("2026-13-01"), None);
    }

    #[test]
    fn instants_before_the_epoch_fall_on_the_previous_day() {
        assert_eq!(Timestamp(-1).day().to_string(), "1969-12-31");
    }
}
