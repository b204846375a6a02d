//! The HTTP server driver on loopback, without Node: std sockets are the clients.
#![allow(clippy::unwrap_used)] // tests: a failed unwrap is a failed test

mod util;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use evasync::http::{HttpServerOptions, Response};
use util::{Ev, Running};

fn serve(opts: HttpServerOptions) -> (Running, SocketAddr) {
    let r = Running::start();
    let (_, addr) = r
        .handle
        .http_server("127.0.0.1:0".parse().unwrap(), opts)
        .unwrap();
    (r, addr)
}

fn ok(body: &str) -> Response {
    Response::new(200, [], body.as_bytes().to_vec()).unwrap()
}

fn client(addr: SocketAddr) -> TcpStream {
    let s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    s
}

/// Reads until EOF (or the read timeout).
fn read_all(s: &mut TcpStream) -> String {
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    String::from_utf8_lossy(&out).into_owned()
}

/// The next `n` request events.
fn requests(r: &Running, n: usize) -> Vec<(u32, u32, String, Vec<u8>)> {
    (0..n)
        .map(|_| match r.wait_for(5.0, |e| matches!(e, Ev::Http(..))) {
            Some(Ev::Http(id, seq, _, target, body, _)) => (id, seq, target, body),
            other => panic!("expected a request, got {other:?}"),
        })
        .collect()
}

#[test]
fn pipelined_responses_go_out_in_request_order_even_when_answered_backwards() {
    let (r, addr) = serve(HttpServerOptions::default());
    let mut c = client(addr);
    let mut burst = String::new();
    for i in 0..5 {
        burst.push_str(&format!("GET /{i} HTTP/1.1\r\nHost: h\r\n\r\n"));
    }
    burst.push_str(
        "POST /last HTTP/1.1\r\nHost: h\r\nContent-Length: 4\r\nConnection: close\r\n\r\nbody",
    );
    c.write_all(burst.as_bytes()).unwrap();
    let reqs = requests(&r, 6);
    assert_eq!(reqs[5].2, "/last");
    assert_eq!(reqs[5].3, b"body");
    for (id, seq, target, _) in reqs.iter().rev() {
        r.handle.http_respond(*id, *seq, ok(target));
    }
    let text = read_all(&mut c);
    let bodies: Vec<&str> = text
        .split("\r\n\r\n")
        .skip(1)
        .map(|rest| rest.split("HTTP/1.1").next().unwrap_or(""))
        .collect();
    assert_eq!(bodies, ["/0", "/1", "/2", "/3", "/4", "/last"], "{text}");
    let last_head = text.rsplit("HTTP/1.1 ").next().unwrap_or("");
    assert!(last_head.contains("Connection: close\r\n"), "{text}");
    assert!(r.wait_for(5.0, |e| matches!(e, Ev::Released(_))).is_some());
    assert_eq!(r.handle.stats().incoming_http_connections, 0);
}

#[test]
fn malformed_requests_get_400_and_the_app_never_sees_them() {
    let (r, addr) = serve(HttpServerOptions::default());
    let mut c = client(addr);
    c.write_all(
        b"GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n",
    )
    .unwrap();
    let text = read_all(&mut c);
    assert!(text.starts_with("HTTP/1.1 400 Bad Request\r\n"), "{text}");
    assert!(r.wait_for(0.3, |e| matches!(e, Ev::Http(..))).is_none());
}

#[test]
fn oversized_bodies_get_413_and_idle_connections_time_out() {
    let (r, addr) = serve(HttpServerOptions {
        max_body_size: 10,
        keep_alive_timeout: Some(Duration::from_millis(200)),
        ..Default::default()
    });
    let mut c = client(addr);
    c.write_all(b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 11\r\n\r\n")
        .unwrap();
    assert!(read_all(&mut c).starts_with("HTTP/1.1 413 "));
    let mut idle = client(addr);
    idle.write_all(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n")
        .unwrap();
    let (id, seq, _, _) = requests(&r, 1)[0].clone();
    r.handle.http_respond(id, seq, ok("x"));
    let text = read_all(&mut idle);
    assert!(text.starts_with("HTTP/1.1 200 OK\r\n"), "{text}");
}

#[test]
fn streamed_bodies_and_responses() {
    let (r, addr) = serve(HttpServerOptions {
        stream_body: true,
        ..Default::default()
    });
    let mut c = client(addr);
    c.write_all(b"POST /s HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n")
        .unwrap();
    let Some(Ev::Http(id, seq, _, _, _, false)) = r.wait_for(5.0, |e| matches!(e, Ev::Http(..)))
    else {
        panic!("head first")
    };
    assert_eq!(
        r.wait_for(5.0, |e| matches!(e, Ev::HttpBody(..))),
        Some(Ev::HttpBody(id, b"abc".to_vec(), false))
    );
    c.write_all(b"0\r\n\r\n").unwrap();
    assert_eq!(
        r.wait_for(5.0, |e| matches!(e, Ev::HttpBody(..))),
        Some(Ev::HttpBody(id, Vec::new(), true))
    );
    r.handle
        .http_start(id, seq, Response::head(200, []).unwrap().closing());
    r.handle.http_chunk(id, seq, b"hello ".to_vec());
    r.handle.http_chunk(id, seq, b"world".to_vec());
    r.handle.http_finish(id, seq);
    let text = read_all(&mut c);
    assert!(text.contains("Transfer-Encoding: chunked\r\n"), "{text}");
    assert!(
        text.ends_with("\r\n\r\n6\r\nhello \r\n5\r\nworld\r\n0\r\n\r\n"),
        "{text}"
    );
}

#[test]
fn the_client_talks_to_the_server_over_a_pooled_connection() {
    use evasync::http::client::ClientRequest;
    let (r, addr) = serve(HttpServerOptions::default());
    let request = |path: &str| ClientRequest {
        host: "127.0.0.1".into(),
        port: addr.port(),
        bytes: format!("GET {path} HTTP/1.1\r\nHost: x\r\n\r\n").into_bytes(),
        head_request: false,
        idempotent: true,
        timeout: Some(Duration::from_secs(5)),
        keep_alive: true,
        max_connections: 4,
        tls: None,
        socket_path: None,
        stream_body: false,
    };
    for path in ["/one", "/two"] {
        let id = r.handle.http_client(request(path));
        let (conn, seq, target, _) = requests(&r, 1)[0].clone();
        assert_eq!(target, path);
        r.handle.http_respond(conn, seq, ok(path));
        let got = r.wait_for(5.0, |e| {
            matches!(e, Ev::Response(..) | Ev::ClientFailed(..))
        });
        assert_eq!(got, Some(Ev::Response(id, 200, path.as_bytes().to_vec())));
    }
    let accepted = r
        .collect(0.2)
        .iter()
        .filter(|e| matches!(e, Ev::Accepted { .. }))
        .count();
    assert_eq!(
        accepted, 0,
        "the second request reused the first connection"
    );
    assert_eq!(
        r.handle.stats().outgoing_http_connections,
        0,
        "idle pooled connections are not counted"
    );
}

#[test]
fn a_client_that_does_not_read_its_responses_is_not_read_either() {
    // 2000 pipelined requests, each answered with 64 KiB, and a client that reads nothing: the
    // server must stop taking requests once the unsent responses pile up (at most the 128 read
    // ahead and a few), not queue 125 MiB.
    let (r, addr) = serve(HttpServerOptions::default());
    let mut c = client(addr);
    let burst = "GET /big HTTP/1.1\r\nHost: h\r\n\r\n".repeat(2000);
    let writer = {
        let mut w = c.try_clone().unwrap();
        std::thread::spawn(move || {
            let _ = w.write_all(burst.as_bytes());
        })
    };
    let big = vec![b'x'; 64 * 1024];
    let mut answered = 0;
    while let Some(Ev::Http(id, seq, ..)) = r.wait_for(1.0, |e| matches!(e, Ev::Http(..))) {
        r.handle
            .http_respond(id, seq, Response::new(200, [], big.clone()).unwrap());
        answered += 1;
    }
    assert!(
        answered <= 200,
        "{answered} requests taken from a client that reads nothing"
    );
    // Once the client reads, everything flows: all 2000 responses arrive.
    let reader = std::thread::spawn(move || {
        let mut got = 0usize;
        let mut buf = vec![0u8; 1 << 16];
        let want = 2000 * (64 * 1024);
        while got < want {
            match c.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => got += n,
            }
        }
        got
    });
    while answered < 2000 {
        let Some(Ev::Http(id, seq, ..)) = r.wait_for(5.0, |e| matches!(e, Ev::Http(..))) else {
            break;
        };
        r.handle
            .http_respond(id, seq, Response::new(200, [], big.clone()).unwrap());
        answered += 1;
    }
    assert_eq!(answered, 2000);
    assert!(reader.join().unwrap() >= 2000 * 64 * 1024);
    writer.join().unwrap();
}

/// How a request that stops the connection from reading is sent (the triggers of a request
/// timeout on a connection that no longer reads).
#[derive(Debug, Clone, Copy)]
enum LastRequest {
    /// The client half-closes after its request.
    PeerFin,
    /// `Connection: close`.
    ConnectionClose,
    /// HTTP/1.0 without keep-alive.
    Http10,
    /// The last of `max_requests_per_connection`.
    RequestLimit,
    /// A graceful server close while the request awaits its answer.
    GracefulClose,
}

/// A response given after `requestTimeout` has passed, to a request that made its connection
/// stop reading, is delivered, and the connection then closes; meanwhile the reactor keeps
/// serving (it used to re-arm a deadline already past and spin in one timer pass).
fn late_response_is_delivered(trigger: LastRequest) {
    let r = Running::start();
    let opts = HttpServerOptions {
        request_timeout: Some(Duration::from_millis(200)),
        max_requests_per_connection: u32::from(matches!(trigger, LastRequest::RequestLimit)),
        ..Default::default()
    };
    let (server, addr) = r
        .handle
        .http_server("127.0.0.1:0".parse().unwrap(), opts)
        .unwrap();
    let mut c = client(addr);
    let request: &[u8] = match trigger {
        LastRequest::ConnectionClose => {
            b"GET /late HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n"
        }
        LastRequest::Http10 => b"GET /late HTTP/1.0\r\n\r\n",
        _ => b"GET /late HTTP/1.1\r\nHost: h\r\n\r\n",
    };
    c.write_all(request).unwrap();
    if matches!(trigger, LastRequest::PeerFin) {
        c.shutdown(std::net::Shutdown::Write).unwrap();
    }
    let (id, seq, target, _) = requests(&r, 1)[0].clone();
    assert_eq!(target, "/late");
    if matches!(trigger, LastRequest::GracefulClose) {
        r.handle.http_close_server(server, true);
    }
    // Wait well past the request timeout: the reactor must go on serving meanwhile.
    std::thread::sleep(Duration::from_millis(500));
    if !matches!(trigger, LastRequest::GracefulClose) {
        let mut other = client(addr);
        other
            .write_all(b"GET /other HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n")
            .unwrap();
        let (oid, oseq, otarget, _) = requests(&r, 1)[0].clone();
        assert_eq!(otarget, "/other");
        r.handle.http_respond(oid, oseq, ok("other"));
        assert!(read_all(&mut other).ends_with("other"));
    }
    r.handle.http_respond(id, seq, ok("late"));
    let text = read_all(&mut c);
    assert!(
        text.starts_with("HTTP/1.1 200 OK\r\n"),
        "{trigger:?}: {text}"
    );
    assert!(text.ends_with("\r\n\r\nlate"), "{trigger:?}: {text}");
    assert!(!text.contains("408"), "{trigger:?}: {text}");
    assert!(
        r.wait_for(5.0, |e| *e == Ev::Released(id)).is_some(),
        "{trigger:?}: closed"
    );
}

#[test]
fn a_closing_request_followed_by_fin_is_still_answered() {
    // `Connection: close` (or HTTP/1.0), then the client half-closes: the request is complete,
    // so its response is owed even though the parser reads nothing more.
    let (r, addr) = serve(HttpServerOptions::default());
    for request in [
        &b"GET /c HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n"[..],
        b"GET /c HTTP/1.0\r\n\r\nGET /ignored HTTP/1.1\r\nHost: h\r\n\r\n",
    ] {
        let mut c = client(addr);
        c.write_all(request).unwrap();
        c.shutdown(std::net::Shutdown::Write).unwrap();
        let (id, seq, target, _) = requests(&r, 1)[0].clone();
        assert_eq!(target, "/c");
        r.handle.http_respond(id, seq, ok("answered"));
        let text = read_all(&mut c);
        assert!(text.ends_with("\r\n\r\nanswered"), "{text}");
    }
}

#[test]
fn late_response_after_peer_fin() {
    late_response_is_delivered(LastRequest::PeerFin);
}

#[test]
fn late_response_after_connection_close() {
    late_response_is_delivered(LastRequest::ConnectionClose);
}

#[test]
fn late_response_to_http10() {
    late_response_is_delivered(LastRequest::Http10);
}

#[test]
fn late_response_to_the_last_allowed_request() {
    late_response_is_delivered(LastRequest::RequestLimit);
}

#[test]
fn late_response_during_a_graceful_close() {
    late_response_is_delivered(LastRequest::GracefulClose);
}

#[test]
fn a_graceful_close_during_a_streamed_response_closes_after_it_ends() {
    // The response is under way when the server starts draining: it still ends properly, and
    // then the connection closes (it used to stay open, idle and without a timer).
    let r = Running::start();
    let (server, addr) = r
        .handle
        .http_server("127.0.0.1:0".parse().unwrap(), HttpServerOptions::default())
        .unwrap();
    let mut c = client(addr);
    c.write_all(b"GET /s HTTP/1.1\r\nHost: h\r\n\r\n").unwrap();
    let (id, seq, _, _) = requests(&r, 1)[0].clone();
    r.handle
        .http_start(id, seq, Response::head(200, []).unwrap());
    r.handle.http_chunk(id, seq, b"part".to_vec());
    r.handle.http_close_server(server, true);
    r.handle.http_finish(id, seq);
    let text = read_all(&mut c);
    assert!(text.ends_with("4\r\npart\r\n0\r\n\r\n"), "{text}");
    assert!(r.wait_for(5.0, |e| *e == Ev::Released(id)).is_some());
}
