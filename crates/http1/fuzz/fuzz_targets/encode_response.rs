//! Any header fields: the encoder never panics, and whatever it accepts parses back as one
//! response head with no field split into two (no CR or LF got through).
#![no_main]
use evasync_http1::{encode_response_head, ResponseContext, Version};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: (u16, bool, Vec<(Vec<u8>, Vec<u8>)>)| {
    let (status, head_request, fields) = input;
    let ctx = ResponseContext {
        version: Version::Http11,
        head_request,
        keep_alive: true,
        date: b"Thu, 01 Jan 1970 00:00:00 GMT",
        body_len: Some(0),
    };
    let mut out = Vec::new();
    let pairs = fields.iter().map(|(n, v)| (n.as_slice(), v.as_slice()));
    if encode_response_head(&mut out, status, pairs, &ctx).is_ok() {
        let mut storage = [httparse::EMPTY_HEADER; 512];
        let mut res = httparse::Response::new(&mut storage);
        let parsed = res.parse(&out);
        assert!(matches!(parsed, Ok(httparse::Status::Complete(n)) if n == out.len()) || fields.len() > 500);
    }
});
