//! Any bytes, split anywhere: the decoder never panics, its output never exceeds its input,
//! and the split does not change the outcome.
#![no_main]
use evasync_http1::ChunkedDecoder;
use libfuzzer_sys::fuzz_target;

fn decode(data: &[u8], step: usize) -> Result<(Vec<u8>, bool), u16> {
    let mut dec = ChunkedDecoder::new(1 << 20);
    let mut body = Vec::new();
    for piece in data.chunks(step.max(1)) {
        let mut rest = piece;
        while !rest.is_empty() && !dec.is_done() {
            let d = dec.decode(rest).map_err(|e| e.status())?;
            body.extend_from_slice(d.data);
            rest = &rest[d.consumed..];
        }
    }
    Ok((body, dec.is_done()))
}

fuzz_target!(|input: (u8, &[u8])| {
    let (step, data) = input;
    let whole = decode(data, data.len());
    if let Ok((body, _)) = &whole {
        assert!(body.len() <= data.len());
    }
    assert_eq!(whole, decode(data, usize::from(step)));
});
