//! A refund body: parsed like the postback function does, its amount read as money.
#![no_main]

use libfuzzer_sys::fuzz_target;
use upline_domain::money::{Currency, Money};
use upline_domain::usecases::input::parse_json;
use upline_domain::usecases::refunds::RefundRequest;

fuzz_target!(|body: &[u8]| {
    let Ok(req) = parse_json::<RefundRequest>(body) else {
        return;
    };
    let currency = req
        .currency
        .as_deref()
        .and_then(|c| Currency::from_code(c).ok())
        .unwrap_or_else(|| Currency::from_code("USD").unwrap());
    if let Some(amount) = &req.amount {
        let _ = Money::parse(&amount.0, currency);
    }
});
