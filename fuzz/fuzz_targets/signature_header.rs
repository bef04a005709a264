//! `Upline-Signature` headers (and bearer secrets) against a fixed secret and body, read
//! before anything is authenticated: no header may panic, and none may pass without the
//! secret (the fuzzer cannot produce a valid HMAC by chance).
#![no_main]

use libfuzzer_sys::fuzz_target;
use upline_domain::clock::Timestamp;
use upline_domain::postback_auth::authenticate;

const SECRET: &str = "whsec_fuzzing_secret_0123456789abcdef";

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let (header, body) = text.split_once('\n').unwrap_or((text, ""));
    let now = Timestamp(1_795_000_000_000);
    assert!(authenticate(SECRET, Some(header), None, body.as_bytes(), now).is_err());
    assert!(authenticate(SECRET, None, Some(header), body.as_bytes(), now).is_err() || header.trim() == SECRET);
});
