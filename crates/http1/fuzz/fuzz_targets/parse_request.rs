//! Any bytes: parse_request never panics, and a complete head never claims more than it got.
#![no_main]
use evasync_http1::{parse_request, Limits, Parse};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(Parse::Complete(_, consumed)) = parse_request(data, &Limits::default(), &mut Vec::new()) {
        assert!(consumed <= data.len());
    }
});
