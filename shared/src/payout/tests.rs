//! Unit tests of periods, payout details and the export formats.

use super::*;
use crate::clock::{Day, Timestamp};
use crate::money::Currency;

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
        id: format!("2026-11:{partner}:USD").into(),
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
