//! Amounts and exchange rates as text: parsing never panics, accepted amounts are within
//! the bound, and converting any accepted amount at any accepted rate either stays within
//! the bound or is refused — never overflows.
#![no_main]

use libfuzzer_sys::fuzz_target;
use upline_domain::money::{Currency, ExchangeRate, MAX_AMOUNT_MINOR, Money};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let (amount, rate) = text.split_once('@').unwrap_or((text, "1"));
    let codes = ["USD", "JPY", "BHD", "CLF"];
    for from in codes {
        let from = Currency::from_code(from).unwrap();
        let Ok(money) = Money::parse(amount, from) else {
            continue;
        };
        assert!(money.minor().unsigned_abs() <= MAX_AMOUNT_MINOR.unsigned_abs());
        for to in codes {
            let to = Currency::from_code(to).unwrap();
            if let Ok(r) = ExchangeRate::parse(from, to, rate) {
                if let Some(converted) = r.convert(money.minor()) {
                    assert!(converted.unsigned_abs() <= MAX_AMOUNT_MINOR.unsigned_abs());
                }
            }
        }
    }
});
