//! An HTTP server connection driven as the reactor drives it, with time moving between inputs:
//! bytes arrive (mutated requests, or whole ones from a small corpus), the clock advances and
//! deadlines fire, the application answers in any order and way, the peer half-closes, the
//! server drains. The connection never panics, and a deadline that fired is never still due
//! (the request-timeout bug that re-armed a past deadline forever would fail here).
#![no_main]
use evasync::fuzzing::ServerConnHarness;
use libfuzzer_sys::fuzz_target;

const REQUESTS: &[&[u8]] = &[
    b"GET / HTTP/1.1\r\nHost: a\r\n\r\n",
    b"POST /p HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello",
    b"POST /c HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
    b"GET /c HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n",
    b"GET /x HTTP/1.0\r\n\r\n",
    b"PUT /e HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n",
    b"POST /slow HTTP/1.1\r\nHost: a\r\nContent-Length: 9\r\n\r\nabc",
    b"GET / HTTP/1.1\r\nHo",
];

fuzz_target!(|data: &[u8]| {
    let Some((&mode, mut rest)) = data.split_first() else {
        return;
    };
    let mut h = ServerConnHarness::new(mode & 1 == 1, u32::from(mode >> 1) % 4);
    while let Some((&op, tail)) = rest.split_first() {
        rest = tail;
        let arg = rest.first().copied().unwrap_or(0);
        match op % 6 {
            0 => {
                let n = (usize::from(arg) % 48).min(rest.len());
                let (bytes, tail) = rest.split_at(n);
                h.feed(bytes);
                rest = tail;
                continue;
            }
            1 => h.advance(u16::from(arg) * 4),
            2 => h.respond(arg),
            3 => h.peer_finished(),
            4 => h.drain(),
            _ => h.feed(REQUESTS[usize::from(arg) % REQUESTS.len()]),
        }
        rest = rest.get(1..).unwrap_or(&[]);
    }
    // Whatever is left in flight, time runs out: nothing may spin.
    h.advance(1000);
    h.advance(1000);
});
