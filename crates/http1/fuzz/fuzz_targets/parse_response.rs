//! Any bytes: parse_response never panics, a complete head never claims more than it got, and
//! every span it reports lies inside the input.
#![no_main]
use evasync_http1::{parse_response, Parse};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: (bool, &[u8])| {
    let (head_request, data) = input;
    let mut spans = Vec::new();
    if let Ok(Parse::Complete(head, consumed)) = parse_response(data, head_request, 64 * 1024, &mut spans) {
        assert!(consumed <= data.len());
        assert!(head.reason.end as usize <= consumed);
        for s in &spans {
            assert!(s.name.end as usize <= consumed && s.value.end as usize <= consumed);
        }
    }
});
