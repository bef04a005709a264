//! Unit tests of `money`.

use super::*;
use proptest::prelude::*;

proptest! {
    #[test]
    fn decimal_text_is_what_decimal_display_writes(
        mantissa in -(1i128 << 96) + 1..(1i128 << 96),
        scale in 0u32..=28,
        small in any::<bool>(),
    ) {
        // Half the cases small, where zeros and leading "0." live.
        let m = if small { mantissa % 100_000 } else { mantissa };
        let d = Decimal::from_i128_with_scale(m, scale);
        let mut full = String::new();
        text::write_decimal(&mut full, d, false).unwrap();
        prop_assert_eq!(full, d.to_string());
        let mut trimmed = String::new();
        text::write_decimal(&mut trimmed, d, true).unwrap();
        prop_assert_eq!(trimmed, d.normalize().to_string());
    }

    #[test]
    fn rounding_on_integers_is_decimal_half_even_rounding(
        mantissa in -(1i128 << 96) + 1..(1i128 << 96),
        scale in 0u32..=28,
        small in any::<bool>(),
    ) {
        let m = if small { mantissa % 100_000 } else { mantissa };
        let d = Decimal::from_i128_with_scale(m, scale);
        let by_decimal = d
            .round_dp_with_strategy(0, RoundingStrategy::MidpointNearestEven)
            .to_i64()
            .unwrap_or(if d.is_sign_negative() { i64::MIN } else { i64::MAX });
        prop_assert_eq!(round_minor(d), by_decimal);
    }

    #[test]
    fn a_percentage_of_minor_units_is_minor_times_rate_over_a_hundred(
        minor in any::<i64>(),
        rate_micro in 0i64..=100_000_000,
    ) {
        let rate = Percent::new(Decimal::new(rate_micro, 6)).unwrap();
        prop_assert_eq!(
            rate.of_minor(minor),
            Decimal::from(minor) * rate.as_decimal() / Decimal::ONE_HUNDRED
        );
    }

    #[test]
    fn a_percentage_of_a_value_is_value_times_rate_over_a_hundred(
        mantissa in -(1i128 << 96) + 1..(1i128 << 96),
        scale in 0u32..=28,
        rate_micro in 0i64..=100_000_000,
    ) {
        let value = Decimal::from_i128_with_scale(mantissa, scale);
        let rate = Percent::new(Decimal::new(rate_micro, 6)).unwrap();
        if let Some(product) = value.checked_mul(rate.as_decimal()) {
            prop_assert_eq!(rate.of(value), product / Decimal::ONE_HUNDRED);
        }
    }

    #[test]
    fn any_amount_survives_formatting_and_parsing(minor in -MAX_AMOUNT_MINOR..=MAX_AMOUNT_MINOR, which in 0usize..200) {
        let currencies: Vec<Currency> = Currency::all().collect();
        let c = currencies[which % currencies.len()];
        let text = format_minor(minor, c);
        prop_assert_eq!(Money::parse(&text, c).unwrap().minor(), minor);
    }

    #[test]
    fn rounding_is_within_half_a_unit_and_ties_go_to_even(units in -1_000_000_000i64..1_000_000_000, frac in 0u32..10_000) {
        let exact = Decimal::from(units) + Decimal::new(i64::from(frac), 4);
        let r = round_minor(exact);
        let diff = (Decimal::from(r) - exact).abs();
        prop_assert!(diff <= Decimal::new(5, 1));
        if diff == Decimal::new(5, 1) {
            prop_assert_eq!(r % 2, 0);
        }
    }

    #[test]
    fn a_converted_amount_is_whole_minor_units_within_half_of_one(
        minor in 0i64..1_000_000_000_000,
        rate_units in 1i64..100_000_000,
        from in 0usize..200,
        to in 0usize..200,
    ) {
        let all: Vec<Currency> = Currency::all().collect();
        let (from, to) = (all[from % all.len()], all[to % all.len()]);
        let rate = ExchangeRate { from, to, rate: Decimal::new(rate_units, 6) };
        let exact = Decimal::from_i128_with_scale(i128::from(minor), u32::from(from.exponent()))
            * rate.rate
            * Decimal::from(10i64.pow(u32::from(to.exponent())));
        match rate.convert(minor) {
            // An integer count of the target's minor units, the nearest one.
            Some(converted) => {
                prop_assert!((Decimal::from(converted) - exact).abs() <= Decimal::new(5, 1));
            }
            // Refused only past the maximum.
            None => prop_assert!(exact > Decimal::from(MAX_AMOUNT_MINOR)),
        }
    }

    #[test]
    fn a_percent_of_money_never_exceeds_the_money(minor in 0i64..1_000_000_000_000, bp in 0u32..=10_000) {
        let rate = Percent::new(Decimal::new(i64::from(bp), 2)).unwrap();
        let usd = Currency::from_code("USD").unwrap();
        let part = Money::from_minor(minor, usd).percent(rate).minor();
        prop_assert!((0..=minor).contains(&part));
    }
}

fn usd() -> Currency {
    Currency::from_code("USD").unwrap()
}

#[test]
fn currency_exponents_follow_iso_4217() {
    assert_eq!(Currency::from_code("usd").unwrap().exponent(), 2);
    assert_eq!(Currency::from_code("JPY").unwrap().exponent(), 0);
    assert_eq!(Currency::from_code("BHD").unwrap().exponent(), 3);
    assert_eq!(Currency::from_code("CLF").unwrap().exponent(), 4);
}

#[test]
fn unknown_or_malformed_currency_codes_are_rejected() {
    for bad in ["", "US", "USDX", "XYZ", "12A", "U$D"] {
        assert!(Currency::from_code(bad).is_err(), "{bad:?} accepted");
    }
}

#[test]
fn amounts_parse_exactly_into_minor_units() {
    assert_eq!(Money::parse("100", usd()).unwrap().minor(), 10_000);
    assert_eq!(Money::parse("100.1", usd()).unwrap().minor(), 10_010);
    assert_eq!(Money::parse("100.10", usd()).unwrap().minor(), 10_010);
    assert_eq!(Money::parse("0.07", usd()).unwrap().minor(), 7);
    assert_eq!(Money::parse(".5", usd()).unwrap().minor(), 50);
    assert_eq!(Money::parse("-3.5", usd()).unwrap().minor(), -350);
    assert_eq!(Money::parse("1.500", usd()).unwrap().minor(), 150);
    let jpy = Currency::from_code("JPY").unwrap();
    assert_eq!(Money::parse("500", jpy).unwrap().minor(), 500);
    let bhd = Currency::from_code("BHD").unwrap();
    assert_eq!(Money::parse("1.234", bhd).unwrap().minor(), 1_234);
}

#[test]
fn amounts_with_more_precision_than_the_currency_are_rejected() {
    assert!(matches!(
        Money::parse("1.005", usd()),
        Err(MoneyError::TooPrecise { places: 3, .. })
    ));
    let jpy = Currency::from_code("JPY").unwrap();
    assert!(Money::parse("1.5", jpy).is_err());
}

#[test]
fn non_decimal_text_is_rejected() {
    for bad in [
        "", "abc", "1e3", "1.", ".", "1,00", "1.2.3", "0x10", "--1", " - 1",
    ] {
        assert!(Money::parse(bad, usd()).is_err(), "{bad:?} accepted");
    }
    assert_eq!(
        Money::parse("99999999999999999999", usd()),
        Err(MoneyError::TooLarge { currency: usd() })
    );
}

#[test]
fn rounding_is_half_to_even() {
    let d = |s: &str| Decimal::from_str(s).unwrap();
    assert_eq!(round_minor(d("0.5")), 0);
    assert_eq!(round_minor(d("1.5")), 2);
    assert_eq!(round_minor(d("2.5")), 2);
    assert_eq!(round_minor(d("2.5000001")), 3);
    assert_eq!(round_minor(d("-2.5")), -2);
    assert_eq!(round_minor(d("-3.5")), -4);
}

#[test]
fn percent_of_money_rounds_once_with_the_platform_rule() {
    let ten = Percent::parse("10").unwrap();
    assert_eq!(Money::from_minor(10_000, usd()).percent(ten).minor(), 1_000);
    // 0.125 % of 100.00 = 12.5 cents → 12 (half to even)
    let p = Percent::parse("0.125").unwrap();
    assert_eq!(Money::from_minor(10_000, usd()).percent(p).minor(), 12);
    // 0.375 % of 100.00 = 37.5 cents → 38
    let p = Percent::parse("0.375").unwrap();
    assert_eq!(Money::from_minor(10_000, usd()).percent(p).minor(), 38);
}

#[test]
fn percentages_outside_0_to_100_are_rejected() {
    assert!(Percent::parse("100.01").is_err());
    assert!(Percent::parse("-1").is_err());
    assert!(Percent::parse("1e2").is_err());
    assert!(Percent::parse("12.5").is_ok());
}

#[test]
fn conversions_cross_exponents_and_round_once() {
    let c = |code: &str| Currency::from_code(code).unwrap();
    let eur_usd = ExchangeRate::parse(c("EUR"), c("USD"), "1.0842").unwrap();
    assert_eq!(eur_usd.convert(10_000), Some(10_842));
    let jpy_usd = ExchangeRate::parse(c("JPY"), c("USD"), "0.0067").unwrap();
    assert_eq!(jpy_usd.convert(100), Some(67));
    let usd_bhd = ExchangeRate::parse(c("USD"), c("BHD"), "0.376").unwrap();
    assert_eq!(
        usd_bhd.convert(1_999),
        Some(7_516),
        "19.99 USD = 7.51624 BHD → 7.516"
    );
    let usd_jpy = ExchangeRate::parse(c("USD"), c("JPY"), "151.25").unwrap();
    assert_eq!(usd_jpy.convert(1), Some(2), "0.01 USD = 1.5125 JPY → 2");
    assert_eq!(eur_usd.to_string(), "1 EUR = 1.0842 USD");
    for bad in ["0", "-1", "abc", "1e3", ""] {
        assert!(
            ExchangeRate::parse(c("EUR"), c("USD"), bad).is_err(),
            "{bad:?}"
        );
    }
}

#[test]
fn amounts_format_with_the_currencys_decimal_places() {
    assert_eq!(Money::from_minor(12_345, usd()).to_string(), "123.45 USD");
    assert_eq!(format_minor(-5, usd()), "-0.05");
    assert_eq!(
        format_minor(7, Currency::from_code("BHD").unwrap()),
        "0.007"
    );
    assert_eq!(
        format_minor(500, Currency::from_code("JPY").unwrap()),
        "500"
    );
}

#[test]
fn amounts_above_the_platform_maximum_are_refused_at_the_edge() {
    assert_eq!(
        Money::parse("1000000000000.00", usd()).unwrap().minor(),
        MAX_AMOUNT_MINOR
    );
    let err = Money::parse("1000000000000.01", usd()).unwrap_err();
    assert_eq!(err, MoneyError::TooLarge { currency: usd() });
    assert_eq!(
        err.to_string(),
        "is too large: amounts are at most 1000000000000.00 USD"
    );
    // The probe's amount: i64::MAX cents.
    assert!(Money::parse("92233720368547758.07", usd()).is_err());
    assert!(Money::parse("-1000000000000.01", usd()).is_err());
    let jpy = Currency::from_code("JPY").unwrap();
    assert!(Money::parse("100000000000000", jpy).is_ok());
    assert!(Money::parse("100000000000001", jpy).is_err());
}

#[test]
fn exchange_rates_are_bounded_and_conversions_never_exceed_the_maximum() {
    let c = |code: &str| Currency::from_code(code).unwrap();
    assert!(matches!(
        ExchangeRate::parse(c("EUR"), c("USD"), "1000000000000"),
        Err(RateError::TooLarge(_))
    ));
    let huge = ExchangeRate::parse(c("EUR"), c("USD"), "1000000000").unwrap();
    assert_eq!(huge.convert(MAX_AMOUNT_MINOR), None);
    assert_eq!(huge.convert(100_000), Some(100_000_000_000_000));
    assert_eq!(huge.convert(100_001), None);
    // Into a currency with more decimals, at the largest rate, from the largest amount.
    let to_clf = ExchangeRate::parse(c("JPY"), c("CLF"), "1000000000").unwrap();
    assert_eq!(to_clf.convert(MAX_AMOUNT_MINOR), None);
}

#[test]
fn zeros_and_signs_are_written_as_decimal_writes_them() {
    for d in [
        Decimal::ZERO,
        Decimal::new(0, 3),
        -Decimal::new(0, 3),
        Decimal::new(-5, 4),
        Decimal::new(1200, 2),
        Decimal::new(-1200, 0),
    ] {
        let mut full = String::new();
        text::write_decimal(&mut full, d, false).unwrap();
        assert_eq!(full, d.to_string(), "{d:?}");
        let mut trimmed = String::new();
        text::write_decimal(&mut trimmed, d, true).unwrap();
        assert_eq!(trimmed, d.normalize().to_string(), "{d:?}");
    }
    assert_eq!(format_minor(-5, usd()), "-0.05");
    assert_eq!(format_minor(0, usd()), "0.00");
    assert_eq!(format_minor(i64::MIN, usd()), "-92233720368547758.08");
}
