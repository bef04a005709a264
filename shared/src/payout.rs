//! Payouts, pure: the program's payout settings (cadence, minimum), pay periods, how a
//! partner wants to be paid (method and validated details), payouts and payout runs as
//! stored, and the mass-payment files an operator uploads to PayPal or Wise.

use serde::{Deserialize, Serialize};
use time::{Date, Month, Weekday};

use crate::clock::{Day, Timestamp};
use crate::money::{Currency, format_minor};

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
    pub fn parse(text: &str) -> Result<Self, String> {
        match text {
            "manual" => Ok(Cadence::Manual),
            "weekly" => Ok(Cadence::Weekly),
            "monthly" => Ok(Cadence::Monthly),
            other => Err(format!("must be manual, weekly or monthly, got {other:?}")),
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
    pub fn parse(text: &str) -> Result<Period, String> {
        let text = text.trim();
        let bad = || {
            format!(
                "{text:?} is not a period: give a month (2026-11), an ISO week (2026-W47) or a day (2026-11-21)"
            )
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
                return Err(out_of_range());
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
                return Err(out_of_range());
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
            return Err(out_of_range());
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

/// How a partner is paid.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "method", rename_all = "snake_case")]
pub enum PayoutDetails {
    /// PayPal Payouts, to the account of this email address.
    Paypal { email: String },
    /// A bank transfer (exported for Wise batches): the holder's name and IBAN.
    BankTransfer {
        account_holder: String,
        iban: String,
        #[serde(default)]
        bic: Option<String>,
        /// `person` or `business`: what Wise calls the receiver type.
        receiver_type: ReceiverType,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReceiverType {
    Person,
    Business,
}

impl PayoutDetails {
    pub fn method(&self) -> &'static str {
        match self {
            PayoutDetails::Paypal { .. } => "paypal",
            PayoutDetails::BankTransfer { .. } => "bank_transfer",
        }
    }

    /// Where the money goes, in one line for statements and the generic export; the IBAN
    /// is shown whole because the operator needs it to pay.
    pub fn destination(&self) -> String {
        match self {
            PayoutDetails::Paypal { email } => email.clone(),
            PayoutDetails::BankTransfer {
                iban,
                bic,
                account_holder,
                ..
            } => match bic {
                Some(b) => format!("{account_holder}, {iban}, {b}"),
                None => format!("{account_holder}, {iban}"),
            },
        }
    }
}

/// Checks an IBAN: country code, length for its country where known, and the ISO 13616
/// mod-97 check digits. Returns it without spaces, upper case.
pub fn parse_iban(text: &str) -> Result<String, String> {
    let iban: String = text
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect::<String>()
        .to_ascii_uppercase();
    if iban.len() < 15 || iban.len() > 34 || !iban.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return Err("is not an IBAN (15 to 34 letters and digits)".into());
    }
    let (country, check) = (&iban[..2], &iban[2..4]);
    if !country.bytes().all(|b| b.is_ascii_uppercase())
        || !check.bytes().all(|b| b.is_ascii_digit())
    {
        return Err("must start with a country code and two check digits".into());
    }
    if let Some(expected) = IBAN_LENGTHS
        .iter()
        .find(|(c, _)| *c == country)
        .map(|(_, n)| *n)
        && iban.len() != expected
    {
        return Err(format!(
            "has {} characters; {country} IBANs have {expected}",
            iban.len()
        ));
    }
    let rearranged = iban[4..].bytes().chain(iban[..4].bytes());
    let mut remainder: u32 = 0;
    for b in rearranged {
        let value = if b.is_ascii_digit() {
            u32::from(b - b'0')
        } else {
            u32::from(b - b'A') + 10
        };
        remainder = if value >= 10 {
            (remainder * 100 + value) % 97
        } else {
            (remainder * 10 + value) % 97
        };
    }
    if remainder != 1 {
        return Err("has wrong check digits (mistyped?)".into());
    }
    Ok(iban)
}

/// IBAN lengths of the countries partners most often bank in (SWIFT's IBAN registry).
const IBAN_LENGTHS: &[(&str, usize)] = &[
    ("AT", 20),
    ("BE", 16),
    ("CH", 21),
    ("CY", 28),
    ("CZ", 24),
    ("DE", 22),
    ("DK", 18),
    ("EE", 20),
    ("ES", 24),
    ("FI", 18),
    ("FR", 27),
    ("GB", 22),
    ("GR", 27),
    ("HR", 21),
    ("HU", 28),
    ("IE", 22),
    ("IT", 27),
    ("LT", 20),
    ("LU", 20),
    ("LV", 21),
    ("MT", 31),
    ("NL", 18),
    ("NO", 15),
    ("PL", 28),
    ("PT", 25),
    ("RO", 24),
    ("SE", 24),
    ("SI", 19),
    ("SK", 24),
];

/// Checks a BIC (SWIFT code): 8 or 11 letters and digits, country letters in place.
pub fn parse_bic(text: &str) -> Result<String, String> {
    let bic = text.trim().to_ascii_uppercase();
    let ok = (bic.len() == 8 || bic.len() == 11)
        && bic.bytes().all(|b| b.is_ascii_alphanumeric())
        && bic[..6].bytes().skip(4).all(|b| b.is_ascii_uppercase());
    if ok {
        Ok(bic)
    } else {
        Err("is not a BIC (8 or 11 letters and digits, like DEUTDEFF)".into())
    }
}

/// Where a payout stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PayoutStatus {
    /// Its lines are still being gathered (a run that stopped part-way resumes here).
    Building,
    /// Created by a run; waiting for the operator to send the money.
    Pending,
    Paid,
    /// The payment did not go through; its lines went back to the partner's balance.
    Failed,
}

impl PayoutStatus {
    pub fn as_str(&self) -> &'static str {
        match self {
            PayoutStatus::Building => "building",
            PayoutStatus::Pending => "pending",
            PayoutStatus::Paid => "paid",
            PayoutStatus::Failed => "failed",
        }
    }
}

/// One payment to one partner in one currency, with its statement's totals.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Payout {
    /// `<run id>:<partner id>:<currency>`, so a rerun finds the same payout.
    pub id: String,
    pub run_id: String,
    pub partner_id: String,
    pub partner_name: String,
    pub partner_email: String,
    pub currency: Currency,
    pub amount_minor: i64,
    /// What the lines earned before reversals, and what reversals took back (≤ 0).
    pub earned_minor: i64,
    pub reversed_minor: i64,
    pub line_count: u32,
    /// How the partner asked to be paid when the run made the payout.
    pub details: Option<PayoutDetails>,
    pub status: PayoutStatus,
    pub created_at: Timestamp,
    #[serde(default)]
    pub settled_at: Option<Timestamp>,
    /// The operator's reference for a paid payout (a transaction id), or why it failed.
    #[serde(default)]
    pub note: Option<String>,
}

/// A statement line: a line as it was paid.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatementLine {
    pub line_id: String,
    pub conversion_id: String,
    pub campaign_id: String,
    pub level: u8,
    pub amount_minor: i64,
    pub summary: String,
    pub created_at: Timestamp,
}

/// A run of a period: which payouts it made and what it left for later.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PayoutRun {
    /// The period's name: one run per period.
    pub id: String,
    pub period_end: Timestamp,
    pub started_by: String,
    pub created_at: Timestamp,
    pub status: RunStatus,
    pub payouts: u32,
    /// Totals per currency, in minor units.
    pub totals: Vec<(Currency, i64)>,
    /// Partners whose balance stayed below the minimum (or was not positive).
    pub carried_over: u32,
    /// Payouts to partners who have not given payout details.
    pub missing_details: u32,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunStatus {
    Running,
    Complete,
}

/// The mass-payment file formats.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExportFormat {
    /// Every payout, with its method and destination: for a bank's bulk upload or a
    /// spreadsheet.
    Generic,
    /// PayPal Payouts web upload: no header row; recipient, amount, currency, an id of
    /// at most 30 characters, a note. One currency per file.
    Paypal,
    /// Wise batch payment ("send to bank accounts") template columns.
    Wise,
}

impl ExportFormat {
    pub fn parse(text: &str) -> Result<Self, String> {
        match text {
            "generic" => Ok(ExportFormat::Generic),
            "paypal" => Ok(ExportFormat::Paypal),
            "wise" => Ok(ExportFormat::Wise),
            other => Err(format!("must be generic, paypal or wise, got {other:?}")),
        }
    }
}

/// Renders the payouts waiting to be paid as a CSV file in `format`. PayPal files hold
/// one currency, so a `currency` filter applies; payouts whose method does not suit the
/// format are left out (the generic file has them all).
pub fn export_csv(
    payouts: &[Payout],
    format: ExportFormat,
    currency: Option<Currency>,
    source_currency: Currency,
) -> String {
    let mut w = csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .from_writer(Vec::new());
    let amount = |p: &Payout| format_minor(p.amount_minor, p.currency);
    let selected = payouts
        .iter()
        .filter(|p| p.status == PayoutStatus::Pending)
        .filter(|p| currency.is_none_or(|c| c == p.currency));
    // Writing to a Vec cannot fail; the results are checked by the tests' parsing.
    match format {
        ExportFormat::Generic => {
            let _ = w.write_record([
                "payout_id",
                "partner_id",
                "partner_name",
                "partner_email",
                "amount",
                "currency",
                "lines",
                "method",
                "destination",
                "period",
            ]);
            for p in selected {
                let (method, destination) = p
                    .details
                    .as_ref()
                    .map_or(("", String::new()), |d| (d.method(), d.destination()));
                let _ = w.write_record([
                    p.id.as_str(),
                    &p.partner_id,
                    &p.partner_name,
                    &p.partner_email,
                    &amount(p),
                    p.currency.code(),
                    &p.line_count.to_string(),
                    method,
                    &destination,
                    &p.run_id,
                ]);
            }
        }
        ExportFormat::Paypal => {
            for p in selected {
                let Some(PayoutDetails::Paypal { email }) = &p.details else {
                    continue;
                };
                let _ = w.write_record([
                    email.as_str(),
                    &amount(p),
                    p.currency.code(),
                    &paypal_customer_id(p),
                    &format!("Commissions for {}", p.run_id),
                ]);
            }
        }
        ExportFormat::Wise => {
            let _ = w.write_record([
                "name",
                "recipientEmail",
                "paymentReference",
                "receiverType",
                "amountCurrency",
                "amount",
                "sourceCurrency",
                "targetCurrency",
                "IBAN",
                "BIC",
            ]);
            for p in selected {
                let Some(PayoutDetails::BankTransfer {
                    account_holder,
                    iban,
                    bic,
                    receiver_type,
                }) = &p.details
                else {
                    continue;
                };
                let receiver = match receiver_type {
                    ReceiverType::Person => "PERSON",
                    ReceiverType::Business => "INSTITUTION",
                };
                let _ = w.write_record([
                    account_holder.as_str(),
                    &p.partner_email,
                    &wise_reference(p),
                    receiver,
                    // The partner receives exactly the statement's amount.
                    "target",
                    &amount(p),
                    source_currency.code(),
                    p.currency.code(),
                    iban,
                    bic.as_deref().unwrap_or(""),
                ]);
            }
        }
    }
    String::from_utf8(w.into_inner().unwrap_or_default()).unwrap_or_default()
}

/// PayPal's customer id: at most 30 characters, no spaces. The payout id is longer, so
/// the period and the partner's id (truncated) identify the payment in PayPal's report.
fn paypal_customer_id(p: &Payout) -> String {
    let id: String = format!("{}-{}", p.run_id, p.partner_id)
        .chars()
        .filter(|c| !c.is_whitespace() && *c != ',')
        .collect();
    id.chars().take(30).collect()
}

/// Wise payment references are short and plain: letters, digits, spaces and dashes.
fn wise_reference(p: &Payout) -> String {
    format!("Commissions {}", p.run_id)
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == ' ' || *c == '-')
        .take(35)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(text: &str) -> Timestamp {
        Day::parse(text).unwrap().start()
    }

    #[test]
    fn periods_parse_months_weeks_and_days() {
        let m = Period::parse("2026-11").unwrap();
        assert_eq!((m.name.as_str(), m.end), ("2026-11", ts("2026-12-01")));
        let d = Period::parse("2026-12").unwrap();
        assert_eq!(d.end, ts("2027-01-01"));
        let w = Period::parse("2026-W47").unwrap();
        // ISO week 47 of 2026 runs Monday 16 to Sunday 22 November.
        assert_eq!((w.name.as_str(), w.end), ("2026-W47", ts("2026-11-23")));
        let day = Period::parse("2026-11-21").unwrap();
        assert_eq!(
            (day.name.as_str(), day.end),
            ("2026-11-21", ts("2026-11-22"))
        );
        for bad in [
            "",
            "2026",
            "2026-13",
            "2026-1",
            "2026-W54",
            "26-11",
            "2026-11-31",
            "soon",
        ] {
            assert!(Period::parse(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn cadences_name_the_period_that_just_ended() {
        // Sunday 22 November 2026, noon.
        let sunday = ts("2026-11-22").plus_secs(12 * 3600);
        assert_eq!(Cadence::Weekly.last_ended(sunday).unwrap().name, "2026-W46");
        let monday = ts("2026-11-23");
        assert_eq!(Cadence::Weekly.last_ended(monday).unwrap().name, "2026-W47");
        assert_eq!(Cadence::Monthly.last_ended(sunday).unwrap().name, "2026-10");
        assert_eq!(
            Cadence::Monthly.last_ended(ts("2027-01-01")).unwrap().end,
            ts("2027-01-01")
        );
        assert_eq!(Cadence::Manual.last_ended(sunday), None);
    }

    #[test]
    fn ibans_are_checked_by_their_digits() {
        assert_eq!(
            parse_iban("de89 3704 0044 0532 0130 00").unwrap(),
            "DE89370400440532013000"
        );
        assert!(parse_iban("GB82WEST12345698765432").is_ok());
        assert!(
            parse_iban("DE89370400440532013001")
                .unwrap_err()
                .contains("check digits")
        );
        assert!(
            parse_iban("DE8937040044053201300")
                .unwrap_err()
                .contains("DE IBANs have 22")
        );
        assert!(parse_iban("hello").is_err());
        assert!(parse_bic("deutdeff").is_ok());
        assert!(parse_bic("DEUT1EFF").is_err());
    }

    fn payout(partner: &str, minor: i64, details: Option<PayoutDetails>) -> Payout {
        Payout {
            id: format!("2026-11:{partner}:USD"),
            run_id: "2026-11".into(),
            partner_id: partner.into(),
            partner_name: format!("{partner}, Ltd"),
            partner_email: format!("{partner}@example.com"),
            currency: Currency::from_code("USD").unwrap(),
            amount_minor: minor,
            earned_minor: minor,
            reversed_minor: 0,
            line_count: 2,
            details,
            status: PayoutStatus::Pending,
            created_at: Timestamp(0),
            settled_at: None,
            note: None,
        }
    }

    #[test]
    fn each_export_format_has_its_columns_and_only_its_payouts() {
        let usd = Currency::from_code("USD").unwrap();
        let payouts = [
            payout(
                "ann",
                12_345,
                Some(PayoutDetails::Paypal {
                    email: "ann@pay.example".into(),
                }),
            ),
            payout(
                "bo",
                5_000,
                Some(PayoutDetails::BankTransfer {
                    account_holder: "Bo Berg".into(),
                    iban: "DE89370400440532013000".into(),
                    bic: None,
                    receiver_type: ReceiverType::Business,
                }),
            ),
            payout("cy", 7_000, None),
        ];
        let generic = export_csv(&payouts, ExportFormat::Generic, None, usd);
        let rows: Vec<&str> = generic.split("\r\n").collect();
        assert_eq!(
            rows[0],
            "payout_id,partner_id,partner_name,partner_email,amount,currency,lines,method,destination,period"
        );
        assert_eq!(
            rows[1],
            "2026-11:ann:USD,ann,\"ann, Ltd\",ann@example.com,123.45,USD,2,paypal,ann@pay.example,2026-11"
        );
        assert_eq!(
            rows[3],
            "2026-11:cy:USD,cy,\"cy, Ltd\",cy@example.com,70.00,USD,2,,,2026-11"
        );
        let paypal = export_csv(&payouts, ExportFormat::Paypal, Some(usd), usd);
        assert_eq!(
            paypal,
            "ann@pay.example,123.45,USD,2026-11-ann,Commissions for 2026-11\r\n"
        );
        let wise = export_csv(&payouts, ExportFormat::Wise, None, usd);
        assert_eq!(
            wise,
            "name,recipientEmail,paymentReference,receiverType,amountCurrency,amount,sourceCurrency,targetCurrency,IBAN,BIC\r\n\
             Bo Berg,bo@example.com,Commissions 2026-11,INSTITUTION,target,50.00,USD,USD,DE89370400440532013000,\r\n"
        );
    }
}
