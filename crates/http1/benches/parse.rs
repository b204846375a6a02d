//! Parsing costs: a typical browser request head, a pipelined burst through the server state
//! machine, a chunked body, a response head.
#![allow(missing_docs)]

use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use evasync_http1::{parse_request, parse_response, ChunkedDecoder, Limits, ServerConn, Step};

const BROWSER: &[u8] = b"GET /index.html?lang=en HTTP/1.1\r\nHost: www.example.com\r\n\
User-Agent: Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0\r\n\
Accept: text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8\r\n\
Accept-Language: en-US,en;q=0.5\r\nAccept-Encoding: gzip, deflate, br\r\n\
Connection: keep-alive\r\nUpgrade-Insecure-Requests: 1\r\nCookie: a=1; b=2\r\n\r\n";

fn heads(c: &mut Criterion) {
    let mut g = c.benchmark_group("heads");
    g.throughput(Throughput::Bytes(BROWSER.len() as u64));
    let limits = Limits::default();
    let mut spans = Vec::new();
    g.bench_function("parse_request/browser", |b| {
        b.iter(|| parse_request(black_box(BROWSER), &limits, &mut spans))
    });
    let response = b"HTTP/1.1 200 OK\r\nDate: Mon, 23 Nov 2026 23:32:17 GMT\r\nContent-Type: text/plain\r\nContent-Length: 13\r\nConnection: keep-alive\r\n\r\n";
    g.bench_function("parse_response", |b| {
        b.iter(|| parse_response(black_box(response), false, 64 * 1024, &mut spans))
    });
    g.finish();
}

fn pipelined(c: &mut Criterion) {
    let one = b"GET /plaintext HTTP/1.1\r\nHost: server\r\nAccept: text/plain\r\nConnection: keep-alive\r\n\r\n";
    let burst: Vec<u8> = one.iter().copied().cycle().take(one.len() * 16).collect();
    let mut g = c.benchmark_group("server_conn");
    g.throughput(Throughput::Elements(16));
    g.bench_function("16 pipelined requests", |b| {
        let mut spans = Vec::new();
        b.iter(|| {
            let mut conn = ServerConn::new(Limits::default(), 1 << 20, 0);
            let mut pos = 0;
            let mut n = 0;
            while let Step::Head { consumed, .. } = conn.step(&burst[pos..], &mut spans) {
                pos += consumed;
                n += 1;
            }
            assert_eq!(n, 16);
        })
    });
    g.finish();
}

fn chunked(c: &mut Criterion) {
    let mut body = Vec::new();
    for _ in 0..64 {
        body.extend_from_slice(b"400\r\n");
        body.extend_from_slice(&[b'x'; 1024]);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(b"0\r\n\r\n");
    let mut g = c.benchmark_group("chunked");
    g.throughput(Throughput::Bytes(body.len() as u64));
    g.bench_function("64 KiB in 1 KiB chunks", |b| {
        b.iter(|| {
            let mut dec = ChunkedDecoder::new(1 << 20);
            let mut rest = black_box(&body[..]);
            while !dec.is_done() {
                let Ok(d) = dec.decode(rest) else { break };
                rest = &rest[d.consumed..];
            }
        })
    });
    g.finish();
}

criterion_group!(benches, heads, pipelined, chunked);
criterion_main!(benches);
