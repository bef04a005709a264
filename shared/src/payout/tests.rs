//! Unit tests of periods, payout details and the export formats.

use super::*;
use crate::clock::{Day, Timestamp};
use crate::money::{Currency, Money};

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

/// `country` and `bban` with the check digits that make them an IBAN, found by asking the
/// crate's base check (which knows no countries) for each pair of digits.
fn with_check_digits(country: &str, bban: &str) -> String {
    (2..=98)
        .map(|d| format!("{country}{d:02}{bban}"))
        .find(|candidate| candidate.parse::<iban::BaseIban>().is_ok())
        .unwrap()
}

#[test]
fn iban_errors_say_what_is_wrong() {
    assert!(
        parse_iban("hello")
            .unwrap_err()
            .starts_with("is not an IBAN")
    );
    assert!(
        parse_iban(&"DE89".repeat(10))
            .unwrap_err()
            .starts_with("is not an IBAN")
    );
    // Every registry country, not only the ones partners most often bank in.
    assert!(parse_iban(&with_check_digits("BR", "00360305000010009795493P1")).is_ok());
    assert!(parse_iban(&with_check_digits("MU", "BOMM0101101030300200000MUR")).is_ok());
    assert_eq!(
        parse_iban(&with_check_digits("BR", "0036030500001000979549")).unwrap_err(),
        ("has 26 characters; BR IBANs have 29").into()
    );
    assert_eq!(
        parse_iban(&with_check_digits("US", "123456789012345678")).unwrap_err(),
        "starts with US, which is not a country with IBANs".into()
    );
    // The right length, but GB account numbers start with four letters (the bank).
    assert_eq!(
        parse_iban(&with_check_digits("GB", "123412345698765432")).unwrap_err(),
        "does not have the account number format of GB IBANs".into()
    );
    assert_eq!(
        parse_iban("GB82 WEST 1234 5698 7654 33").unwrap_err(),
        ("has wrong check digits (mistyped?)").into()
    );
    // What the payouts scenario sends: spaced, and exported compact.
    assert_eq!(
        parse_iban("DE89 3704 0044 0532 0130 00").unwrap(),
        "DE89370400440532013000"
    );
}

#[test]
fn iban_lengths_agree_with_the_crate() {
    let mut checked = 0;
    for a in 'A'..='Z' {
        for b in 'A'..='Z' {
            let country = format!("{a}{b}");
            let probe = with_check_digits(&country, &"0".repeat(18));
            let known = !matches!(
                probe.parse::<iban::Iban>(),
                Err(iban::ParseIbanError::UnknownCountry(_))
            );
            assert_eq!(
                known,
                details::iban_length(&country).is_some(),
                "{country}: known to iban_validate, or listed in IBAN_LENGTHS, not both"
            );
            // Where an account number of zeros fits the country's format, the one length
            // the crate accepts is the listed one.
            let accepted: Vec<usize> = (11..=30)
                .filter(|n| {
                    with_check_digits(&country, &"0".repeat(*n))
                        .parse::<iban::Iban>()
                        .is_ok()
                })
                .map(|n| n + 4)
                .collect();
            if let [length] = accepted[..] {
                assert_eq!(details::iban_length(&country), Some(length), "{country}");
                checked += 1;
            }
        }
    }
    assert!(checked > 50, "only {checked} lengths checked");
}

fn payout(partner: &str, minor: i64, details: Option<PayoutDetails>) -> Payout {
    Payout {
        id: format!("2026-11:{partner}:USD").into(),
        run_id: "2026-11".into(),
        partner_id: partner.into(),
        partner_name: format!("{partner}, Ltd"),
        partner_email: format!("{partner}@example.com"),
        amounts: PayoutAmounts {
            amount: Money::from_minor(minor, Currency::from_code("USD").unwrap()),
            earned: Money::from_minor(minor, Currency::from_code("USD").unwrap()),
            reversed: Money::zero(Currency::from_code("USD").unwrap()),
        },
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
