//! A postback body as a storefront sends it: parsed like the postback function does, then
//! every amount it carries read in a two-, zero- and three-decimal currency. No input may
//! panic, and an amount that parses is within the platform's bound.
#![no_main]

use libfuzzer_sys::fuzz_target;
use upline_domain::money::{Currency, MAX_AMOUNT_MINOR, Money};
use upline_domain::usecases::input::parse_json;
use upline_domain::usecases::postback::PostbackRequest;

fuzz_target!(|body: &[u8]| {
    let Ok(req) = parse_json::<PostbackRequest>(body) else {
        return;
    };
    let mut amounts: Vec<String> = [&req.amount, &req.discount, &req.tax, &req.shipping]
        .into_iter()
        .flatten()
        .map(|d| d.0.clone())
        .collect();
    for item in req.line_items.iter().flatten() {
        amounts.extend(item.unit_price.iter().map(|d| d.0.clone()));
    }
    if let Some(code) = &req.currency {
        let _ = Currency::from_code(code);
    }
    for code in ["USD", "JPY", "BHD"] {
        let currency = Currency::from_code(code).unwrap();
        for text in &amounts {
            if let Ok(m) = Money::parse(text, currency) {
                assert!(m.minor().unsigned_abs() <= MAX_AMOUNT_MINOR.unsigned_abs());
            }
        }
    }
});
