//! Pay periods as operators type them: a period that parses falls in the allowed years
//! and ends after it starts being named (its end exists).
#![no_main]

use libfuzzer_sys::fuzz_target;
use upline_domain::payout::Period;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(period) = Period::parse(text) {
        let year: i32 = period.name[..4].parse().unwrap();
        assert!(upline_domain::payout::PERIOD_YEARS.contains(&year), "{}", period.name);
        assert!(period.end.millis() > 0);
    }
});
