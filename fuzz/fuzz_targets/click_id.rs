//! Click ids as postbacks carry them: any text is verified without panicking, and only
//! ids the secret signed verify (the fuzzer cannot forge the HMAC tag).
#![no_main]

use libfuzzer_sys::fuzz_target;
use upline_domain::click_id::{ClickSecret, verify};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let secret = ClickSecret::new(vec![7; 32]).unwrap();
    assert!(verify(&secret, text).is_err());
});
