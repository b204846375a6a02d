//! TLS through the reactor on loopback: engine servers against rustls's own blocking client,
//! engine clients against engine servers, STARTTLS, SNI callbacks, HTTPS, failures.
#![allow(clippy::unwrap_used)] // tests: a failed unwrap is a failed test

mod util;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

#[cfg(feature = "http")]
use evasync::http::client::{ClientRequest, RequestSpec};
#[cfg(feature = "http")]
use evasync::http::{HttpServerOptions, Response};
use evasync::tls::{
    PemIdentity, TlsClientConfig, TlsClientSettings, TlsErrorCode, TlsServerConfig,
    TlsServerSettings,
};
use evasync::{ConnectOptions, ServerOptions, TlsSide};
use util::certs::TestCa;
use util::{Ev, Running};

fn any_port() -> SocketAddr {
    "127.0.0.1:0".parse().unwrap()
}

fn server_tls(id: PemIdentity) -> TlsServerConfig {
    TlsServerConfig::new(&TlsServerSettings {
        identity: Some(id),
        ..TlsServerSettings::default()
    })
    .unwrap()
}

fn client_tls(ca: &TestCa) -> TlsClientConfig {
    TlsClientConfig::new(&TlsClientSettings {
        ca: vec![ca.cert_pem.as_bytes().to_vec()],
        ..TlsClientSettings::default()
    })
    .unwrap()
}

fn tls_server(r: &Running, tls: TlsServerConfig) -> (u32, SocketAddr) {
    r.handle
        .tcp_server(
            any_port(),
            ServerOptions {
                tls: Some(tls),
                ..ServerOptions::default()
            },
        )
        .unwrap()
}

fn connect_tls(r: &Running, port: u16, tls: TlsClientConfig) -> u32 {
    r.handle.tcp_connect(
        "localhost",
        port,
        ConnectOptions {
            tls: Some(tls),
            no_delay: true,
            ..ConnectOptions::default()
        },
    )
}

/// A blocking rustls client (a peer the engine did not make) to `addr`.
fn rustls_client(
    ca: &TestCa,
    addr: SocketAddr,
) -> rustls::StreamOwned<rustls::ClientConnection, TcpStream> {
    let cfg = client_tls(ca);
    let conn =
        rustls::ClientConnection::new(cfg.rustls.clone(), "localhost".try_into().unwrap()).unwrap();
    let sock = TcpStream::connect(addr).unwrap();
    sock.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    rustls::StreamOwned::new(conn, sock)
}

fn wait_stats_zero(r: &Running) {
    for _ in 0..100 {
        let s = r.handle.stats();
        if s.incoming_tcp_connections == 0 && s.outgoing_tcp_connections == 0 {
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    panic!("connections left open: {:?}", r.handle.stats());
}

#[test]
fn an_engine_server_talks_to_a_rustls_client() {
    let ca = TestCa::new();
    let r = Running::start();
    let (server, addr) = tls_server(&r, server_tls(ca.leaf(&["localhost"], false)));
    let mut client = rustls_client(&ca, addr);
    client.write_all(b"hello over tls").unwrap();
    let Some(Ev::Tls(id, info)) = r.wait_for(5.0, |e| matches!(e, Ev::Tls(..))) else {
        panic!("no handshake")
    };
    assert_eq!(info.protocol, "TLSv1.3");
    assert_eq!(info.server_name.as_deref(), Some("localhost"));
    assert_eq!(
        r.wait_for(2.0, |e| matches!(e, Ev::Accepted { .. })),
        Some(Ev::Accepted { server, id }),
        "announced after the handshake"
    );
    let Some(Ev::Data(_, data)) = r.wait_for(2.0, |e| matches!(e, Ev::Data(..))) else {
        panic!("no data")
    };
    assert_eq!(data, b"hello over tls");
    r.handle.write(id, b"and back".to_vec());
    let mut buf = [0u8; 8];
    client.read_exact(&mut buf).unwrap();
    assert_eq!(&buf, b"and back");
    // A graceful close sends close_notify: the client sees a clean end of stream.
    r.handle.close(id, false);
    let mut rest = Vec::new();
    client.read_to_end(&mut rest).unwrap();
    assert!(rest.is_empty());
    r.handle.close_server(server);
    wait_stats_zero(&r);
}

#[test]
fn engine_to_engine_echo_10_mib_each_way() {
    let ca = TestCa::new();
    let r = Running::start();
    let (_server, addr) = tls_server(&r, server_tls(ca.leaf(&["localhost"], false)));
    let cid = connect_tls(&r, addr.port(), client_tls(&ca));
    let payload: Vec<u8> = (0..10 * 1024 * 1024u32)
        .map(|i| (i.wrapping_mul(2654435761) >> 24) as u8)
        .collect();
    // Written before the handshake finished: sealed once it has.
    r.handle.write(cid, payload.clone());
    let mut sid = None;
    let mut at_server = Vec::new();
    let mut at_client = Vec::new();
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while at_client.len() < payload.len() && std::time::Instant::now() < deadline {
        match r.events.recv_timeout(Duration::from_secs(5)) {
            Ok(Ev::Accepted { id, .. }) => sid = Some(id),
            Ok(Ev::Data(id, d)) if Some(id) == sid => {
                at_server.extend_from_slice(&d);
                r.handle.write(id, d); // echo
            }
            Ok(Ev::Data(id, d)) if id == cid => at_client.extend_from_slice(&d),
            Ok(Ev::Failed(id, k, e)) => panic!("{id} failed: {k:?} {e}"),
            Ok(Ev::TlsFailed(id, c, m)) => panic!("{id} failed: {c:?} {m}"),
            Ok(_) => {}
            Err(_) => break,
        }
    }
    assert_eq!(at_server.len(), payload.len());
    assert!(at_client == payload, "the echo came back intact");
    r.handle.close(cid, false);
    wait_stats_zero(&r);
}

#[test]
fn certificate_problems_fail_the_client_with_node_codes() {
    let ca = TestCa::new();
    let r = Running::start();
    let cases = [
        (ca.leaf(&["localhost"], true), TlsErrorCode::CertHasExpired),
        (
            ca.leaf(&["elsewhere.test"], false),
            TlsErrorCode::CertAltnameInvalid,
        ),
        (
            util::certs::self_signed(&["localhost"]),
            TlsErrorCode::DepthZeroSelfSignedCert,
        ),
    ];
    for (id, want) in cases {
        let (server, addr) = tls_server(&r, server_tls(id));
        let cid = connect_tls(&r, addr.port(), client_tls(&ca));
        let Some(Ev::TlsFailed(got_id, code, msg)) =
            r.wait_for(5.0, |e| matches!(e, Ev::TlsFailed(..)))
        else {
            panic!("no failure for {want:?}")
        };
        assert_eq!((got_id, code), (cid, want), "{msg}");
        assert!(msg.starts_with("TLS handshake with 127.0.0.1:"), "{msg}");
        // The server hears about it as a failed handshake (the client's alert).
        let Some(Ev::TlsServerError(s, _, _)) =
            r.wait_for(5.0, |e| matches!(e, Ev::TlsServerError(..)))
        else {
            panic!("the server was not told")
        };
        assert_eq!(s, server);
        r.handle.close_server(server);
    }
    wait_stats_zero(&r);
}

#[test]
fn garbage_and_stalls_go_to_the_listener_and_others_are_served() {
    let ca = TestCa::new();
    let r = Running::start();
    let mut settings = TlsServerSettings {
        identity: Some(ca.leaf(&["localhost"], false)),
        handshake_timeout: Some(Duration::from_millis(300)),
        ..TlsServerSettings::default()
    };
    settings.alpn = vec![b"http/1.1".to_vec()];
    let (server, addr) = tls_server(&r, TlsServerConfig::new(&settings).unwrap());
    // An HTTP request on a TLS port.
    let mut plain = TcpStream::connect(addr).unwrap();
    plain
        .write_all(b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n")
        .unwrap();
    let Some(Ev::TlsServerError(s, code, msg)) =
        r.wait_for(5.0, |e| matches!(e, Ev::TlsServerError(..)))
    else {
        panic!("no report")
    };
    assert_eq!((s, code), (server, TlsErrorCode::Proto));
    assert!(msg.contains("TLS handshake with 127.0.0.1:"), "{msg}");
    // Half a ClientHello, then silence: the handshake timeout.
    let mut staller = TcpStream::connect(addr).unwrap();
    staller
        .write_all(&[0x16, 0x03, 0x01, 0x02, 0x00, 0x01])
        .unwrap();
    // A connection that sends nothing at all and closes is a probe, not a failed handshake.
    drop(TcpStream::connect(addr).unwrap());
    // Meanwhile a real client is served.
    let mut good = rustls_client(&ca, addr);
    good.write_all(b"x").unwrap();
    assert!(r
        .wait_for(5.0, |e| matches!(e, Ev::Data(_, d) if d == b"x"))
        .is_some());
    let Some(Ev::TlsServerError(_, code, msg)) =
        r.wait_for(5.0, |e| matches!(e, Ev::TlsServerError(..)))
    else {
        panic!("no timeout")
    };
    assert_eq!(code, TlsErrorCode::Timeout, "{msg}");
    assert!(msg.ends_with("timed out"), "{msg}");
    assert!(
        r.wait_for(0.5, |e| matches!(e, Ev::TlsServerError(..)))
            .is_none(),
        "the probe is not reported"
    );
    drop(good);
    r.handle.close_server(server);
    wait_stats_zero(&r);
}

#[test]
fn starttls_upgrades_both_ends() {
    let ca = TestCa::new();
    let r = Running::start();
    let (server, addr) = r
        .handle
        .tcp_server(any_port(), ServerOptions::default())
        .unwrap();
    let cid = r
        .handle
        .tcp_connect("127.0.0.1", addr.port(), ConnectOptions::default());
    let Some(Ev::Accepted { id: sid, .. }) = r.wait_for(5.0, |e| matches!(e, Ev::Accepted { .. }))
    else {
        panic!("no accept")
    };
    r.handle.write(cid, b"STARTTLS\r\n".to_vec());
    assert!(r
        .wait_for(
            5.0,
            |e| matches!(e, Ev::Data(i, d) if *i == sid && d == b"STARTTLS\r\n")
        )
        .is_some());
    // The server answers in plain text, then both sides upgrade.
    r.handle.write(sid, b"220 go ahead\r\n".to_vec());
    r.handle.start_tls(
        sid,
        TlsSide::Server(server_tls(ca.leaf(&["127.0.0.1"], false))),
    );
    assert!(r
        .wait_for(
            5.0,
            |e| matches!(e, Ev::Data(i, d) if *i == cid && d == b"220 go ahead\r\n")
        )
        .is_some());
    r.handle.start_tls(cid, TlsSide::Client(client_tls(&ca)));
    let mut established = 0;
    while established < 2 {
        match r.wait_for(5.0, |e| matches!(e, Ev::Tls(..))) {
            Some(Ev::Tls(..)) => established += 1,
            _ => panic!("no handshake"),
        }
    }
    r.handle.write(cid, b"secret".to_vec());
    assert!(r
        .wait_for(
            5.0,
            |e| matches!(e, Ev::Data(i, d) if *i == sid && d == b"secret")
        )
        .is_some());
    r.handle.close(cid, false);
    assert!(r.wait_for(5.0, |e| *e == Ev::Eof(sid)).is_some());
    r.handle.close_server(server);
    wait_stats_zero(&r);
}

#[test]
fn an_sni_callback_chooses_the_certificate() {
    let ca = TestCa::new();
    let r = Running::start();
    let tls = TlsServerConfig::new(&TlsServerSettings {
        identity: Some(ca.leaf(&["default.test"], false)),
        sni_callback: true,
        ..TlsServerSettings::default()
    })
    .unwrap();
    let (server, addr) = tls_server(&r, tls);
    let mut client = client_tls(&ca);
    client.server_name = Some("named.test".into());
    let cid = r.handle.tcp_connect(
        "127.0.0.1",
        addr.port(),
        ConnectOptions {
            tls: Some(client),
            ..ConnectOptions::default()
        },
    );
    let Some(Ev::Sni {
        server: s,
        id,
        name,
    }) = r.wait_for(5.0, |e| matches!(e, Ev::Sni { .. }))
    else {
        panic!("no question")
    };
    assert_eq!((s, name.as_str()), (server, "named.test"));
    let chosen = evasync::tls::TlsIdentity::from_pem(&ca.leaf(&["named.test"], false)).unwrap();
    r.handle.tls_configure(id, Ok(Some(chosen)));
    assert!(r
        .wait_for(5.0, |e| matches!(e, Ev::Connected(i, _) if *i == cid))
        .is_some());
    r.handle.close(cid, false);
    r.handle.close_server(server);
    wait_stats_zero(&r);
}

#[test]
#[cfg(feature = "http")]
fn https_server_and_client() {
    let ca = TestCa::new();
    let r = Running::start();
    let mut opts = HttpServerOptions::default();
    opts.tcp.tls = Some(server_tls(ca.leaf(&["localhost"], false)));
    let (server, addr) = r.handle.http_server(any_port(), opts).unwrap();
    let spec = RequestSpec {
        host: "localhost",
        port: addr.port(),
        method: "GET",
        target: "/secure",
        host_header: "localhost",
        body: b"",
        timeout: Some(Duration::from_secs(5)),
        keep_alive: true,
        max_connections: 4,
    };
    for round in 0..3 {
        let mut req = ClientRequest::new(&spec, std::iter::empty()).unwrap();
        req.tls = Some(client_tls(&ca));
        let rid = r.handle.http_client(req);
        let Some(Ev::Http(conn, seq, _, target, _, _)) =
            r.wait_for(5.0, |e| matches!(e, Ev::Http(..)))
        else {
            panic!("no request in round {round}")
        };
        assert_eq!(target, "/secure");
        r.handle.http_respond(
            conn,
            seq,
            Response::new(200, [], b"over tls".to_vec()).unwrap(),
        );
        assert_eq!(
            r.wait_for(5.0, |e| matches!(e, Ev::Response(..))),
            Some(Ev::Response(rid, 200, b"over tls".to_vec()))
        );
    }
    r.handle.http_close_server(server, false);
}

#[test]
fn a_cached_session_for_another_server_falls_back_to_a_full_handshake() {
    let ca = TestCa::new();
    let r = Running::start();
    let client = client_tls(&ca);
    for round in 0..3 {
        // A new server each time: its ticket keys differ, so the client's cached session for
        // "localhost" cannot be resumed there.
        let (server, addr) = tls_server(&r, server_tls(ca.leaf(&["localhost"], false)));
        let cid = connect_tls(&r, addr.port(), client.clone());
        match r.wait_for(5.0, |e| {
            matches!(e, Ev::Connected(i, _) if *i == cid)
                || matches!(e, Ev::TlsFailed(..) | Ev::TlsServerError(..))
        }) {
            Some(Ev::Connected(..)) => {}
            other => panic!("round {round}: {other:?}"),
        }
        // Let the server's tickets reach the client before the next round.
        r.handle.write(cid, b"x".to_vec());
        std::thread::sleep(Duration::from_millis(100));
        r.handle.close(cid, false);
        r.handle.close_server(server);
    }
}
