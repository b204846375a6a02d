//! Any response bytes, fed in any split, for a HEAD request or not, the server closing at the
//! end: the response machine never panics, never consumes more than it was given, and the split
//! does not change what it makes of the bytes.
#![no_main]
use evasync_http1::{ClientConn, ClientStep};
use libfuzzer_sys::fuzz_target;

fn run(data: &[u8], piece: usize, head_request: bool) -> Vec<String> {
    let mut conn = ClientConn::new(head_request, 4096, 1 << 16);
    let mut headers = Vec::new();
    let mut buf = Vec::new();
    let mut out = Vec::new();
    let mut body = 0usize;
    for chunk in data.chunks(piece.max(1)) {
        buf.extend_from_slice(chunk);
        loop {
            match conn.step(&buf, &mut headers) {
                ClientStep::NeedMore => break,
                ClientStep::Done => {
                    out.push(format!("done {body}"));
                    return out;
                }
                ClientStep::Refused(e) => {
                    out.push(format!("refused {}", e.reason));
                    return out;
                }
                ClientStep::Interim { consumed } => {
                    assert!(consumed <= buf.len());
                    out.push("interim".into());
                    buf.drain(..consumed);
                }
                ClientStep::Head { head, consumed, body: b } => {
                    assert!(consumed <= buf.len());
                    out.push(format!("{} {b}", head.status));
                    buf.drain(..consumed);
                }
                ClientStep::Body { data, consumed, .. } => {
                    assert!(consumed <= buf.len() && data.len() <= consumed);
                    body += data.len();
                    buf.drain(..consumed);
                }
            }
        }
    }
    out.push(format!("closed {:?} {body}", conn.server_closed(!data.is_empty()).map_err(|e| e.reason)));
    out
}

fuzz_target!(|input: (u8, bool, &[u8])| {
    let (piece, head_request, data) = input;
    assert_eq!(run(data, data.len(), head_request), run(data, usize::from(piece), head_request));
});
