//! Any bytes, fed in any split: the connection never panics, every step consumes what it says it
//! did (never more than it was given), and the split does not change the sequence of steps.
#![no_main]
use evasync_http1::{Limits, ServerConn, Step};
use libfuzzer_sys::fuzz_target;

fn run(data: &[u8], piece: usize) -> Vec<String> {
    let mut conn = ServerConn::new(Limits::default(), 1 << 16, 0);
    let mut headers = Vec::new();
    let mut buf = Vec::new();
    let mut out = Vec::new();
    let mut body = Vec::new();
    for chunk in data.chunks(piece.max(1)) {
        buf.extend_from_slice(chunk);
        loop {
            match conn.step(&buf, &mut headers) {
                Step::NeedMore => break,
                Step::Done => return out,
                Step::Refused(e) => {
                    out.push(format!("refused {}", e.status()));
                    return out;
                }
                Step::Head { head, consumed, body: b, last } => {
                    assert!(consumed <= buf.len());
                    out.push(format!("{:?} {b} {last}", head.target.of(&buf)));
                    buf.drain(..consumed);
                }
                Step::Body { data, consumed, finished } => {
                    assert!(consumed <= buf.len() && data.len() <= consumed);
                    body.extend_from_slice(data);
                    buf.drain(..consumed);
                    if finished {
                        out.push(format!("body {}", body.len()));
                        body.clear();
                    }
                }
            }
        }
    }
    out
}

fuzz_target!(|input: (u8, &[u8])| {
    let (piece, data) = input;
    assert_eq!(run(data, data.len()), run(data, usize::from(piece)));
});
