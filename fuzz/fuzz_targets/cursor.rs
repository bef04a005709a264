//! Paging cursors as callers send them back: the embedded adapter's and the day-bucket
//! listings' readers refuse what they did not make, and never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    for parts in [1, 3] {
        if let Ok(decoded) = upline_embedded::decode_cursor(text, parts) {
            assert_eq!(decoded.len(), parts);
        }
    }
    let _ = upline_domain::store::decode_bucket_cursor(text);
});
