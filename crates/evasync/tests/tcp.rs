//! TCP behaviour of the reactor on loopback, without Node: std sockets are the peers.
#![allow(clippy::unwrap_used)] // tests: a failed unwrap is a failed test

mod util;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::time::Duration;

use evasync::{ConnectOptions, ErrorKind, ServerOptions};
use util::{Ev, Running};

fn any_port() -> SocketAddr {
    "127.0.0.1:0".parse().unwrap()
}

/// A std listener to be the peer, its address, and a running reactor.
fn peer_and_reactor() -> (TcpListener, SocketAddr, Running) {
    let listener = TcpListener::bind(any_port()).unwrap();
    let addr = listener.local_addr().unwrap();
    (listener, addr, Running::start())
}

fn opts() -> ConnectOptions {
    ConnectOptions {
        no_delay: true,
        ..Default::default()
    }
}

#[test]
fn echo_through_a_reactor_server() {
    let r = Running::start();
    let (server, addr) = r
        .handle
        .tcp_server(any_port(), ServerOptions::default())
        .unwrap();
    let mut client = TcpStream::connect(addr).unwrap();
    let Some(Ev::Accepted { server: s, id }) =
        r.wait_for(2.0, |e| matches!(e, Ev::Accepted { .. }))
    else {
        panic!("no accept")
    };
    assert_eq!(s, server);
    client.write_all(b"ping").unwrap();
    let Some(Ev::Data(_, data)) = r.wait_for(2.0, |e| matches!(e, Ev::Data(i, _) if *i == id))
    else {
        panic!("no data")
    };
    assert_eq!(data, b"ping");
    r.handle.write(id, data);
    let mut buf = [0u8; 4];
    client.read_exact(&mut buf).unwrap();
    assert_eq!(&buf, b"ping");
    drop(client);
    assert_eq!(
        r.wait_for(2.0, |e| matches!(e, Ev::Eof(_))),
        Some(Ev::Eof(id))
    );
    assert_eq!(
        r.wait_for(2.0, |e| matches!(e, Ev::Released(_))),
        Some(Ev::Released(id))
    );
    r.handle.close_server(server);
    std::thread::sleep(Duration::from_millis(50));
    let s = r.handle.stats();
    assert_eq!((s.incoming_tcp_connections, s.servers), (0, 0));
}

#[test]
fn connect_write_before_connected_and_graceful_close_flushes() {
    let (listener, addr, r) = peer_and_reactor();
    let id = r.handle.tcp_connect("127.0.0.1", addr.port(), opts());
    let payload: Vec<u8> = (0..4 * 1024 * 1024u32).map(|i| (i % 251) as u8).collect();
    r.handle.write(id, payload.clone());
    r.handle.close(id, false);
    let (mut peer, _) = listener.accept().unwrap();
    let mut got = Vec::new();
    peer.read_to_end(&mut got).unwrap();
    assert_eq!(got.len(), payload.len());
    assert!(got == payload, "every byte, in order, then EOF");
    assert_eq!(
        r.wait_for(2.0, |e| matches!(e, Ev::Released(_))),
        Some(Ev::Released(id))
    );
}

#[test]
fn refused_connect_fails_once_with_refused() {
    let port = {
        let l = TcpListener::bind(any_port()).unwrap();
        l.local_addr().unwrap().port()
    };
    let r = Running::start();
    let id = r.handle.tcp_connect("127.0.0.1", port, opts());
    let evs = r.collect(0.3);
    let failures: Vec<_> = evs.iter().filter(|e| matches!(e, Ev::Failed(..))).collect();
    assert_eq!(failures.len(), 1, "{evs:?}");
    assert!(
        matches!(failures[0], Ev::Failed(i, ErrorKind::Refused, e) if *i == id && *e == libc::ECONNREFUSED)
    );
    assert!(evs.contains(&Ev::Released(id)));
    assert_eq!(r.handle.stats().outgoing_tcp_connections, 0);
}

#[test]
fn read_timeout_fails_with_timeout() {
    let (listener, addr, r) = peer_and_reactor();
    let id = r.handle.tcp_connect(
        "127.0.0.1",
        addr.port(),
        ConnectOptions {
            read_timeout: Some(Duration::from_millis(100)),
            ..opts()
        },
    );
    let (_peer, _) = listener.accept().unwrap();
    let ev = r.wait_for(2.0, |e| matches!(e, Ev::Failed(..)));
    assert_eq!(
        ev,
        Some(Ev::Failed(id, ErrorKind::Timeout, libc::ETIMEDOUT))
    );
}

#[test]
fn peer_reset_fails_with_reset() {
    let (listener, addr, r) = peer_and_reactor();
    let id = r.handle.tcp_connect("127.0.0.1", addr.port(), opts());
    let (peer, _) = listener.accept().unwrap();
    socket2::SockRef::from(&peer)
        .set_linger(Some(Duration::ZERO))
        .unwrap();
    r.wait_for(2.0, |e| matches!(e, Ev::Connected(..))).unwrap();
    drop(peer);
    let ev = r.wait_for(2.0, |e| matches!(e, Ev::Failed(..)));
    assert!(
        matches!(ev, Some(Ev::Failed(i, ErrorKind::Reset, _)) if i == id),
        "{ev:?}"
    );
}

#[test]
fn flushed_notification_reports_kernel_progress() {
    let (listener, addr, r) = peer_and_reactor();
    let id = r.handle.tcp_connect("127.0.0.1", addr.port(), opts());
    r.handle.write(id, b"hello".to_vec());
    r.handle.notify_flushed(id, 5);
    let (_peer, _) = listener.accept().unwrap();
    assert_eq!(
        r.wait_for(2.0, |e| matches!(e, Ev::Flushed(..))),
        Some(Ev::Flushed(id, 5))
    );
}

#[test]
fn address_in_use_is_reported_by_bind() {
    let r = Running::start();
    let (_, addr) = r
        .handle
        .tcp_server(any_port(), ServerOptions::default())
        .unwrap();
    let err = evasync::bind_listener(addr, -1, false, false).unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::AddrInUse);
}

#[test]
fn data_sent_with_the_accept_is_read_after_connect() {
    // A server that greets at once: the readiness event that completes the connect also says
    // readable, and edge-triggered polling will not repeat it.
    let listener = TcpListener::bind(any_port()).unwrap();
    let addr = listener.local_addr().unwrap();
    let greeter = std::thread::spawn(move || {
        let (mut peer, _) = listener.accept().unwrap();
        peer.write_all(b"hello").unwrap();
        std::thread::sleep(Duration::from_millis(300));
    });
    std::thread::sleep(Duration::from_millis(20));
    let r = Running::start();
    let id = r.handle.tcp_connect("127.0.0.1", addr.port(), opts());
    let ev = r.wait_for(2.0, |e| matches!(e, Ev::Data(..)));
    assert_eq!(ev, Some(Ev::Data(id, b"hello".to_vec())));
    greeter.join().unwrap();
}

#[test]
fn names_resolve_through_the_dns_module_and_literals_need_no_query() {
    use evasync::dns::{DnsAnswer, DnsQuery};
    let r = Running::start();
    let id = r.handle.dns_lookup(DnsQuery::Lookup {
        host: "localhost".into(),
        family: 4,
    });
    let Some(Ev::Dns(got, Ok(DnsAnswer::Addrs(addrs)))) =
        r.wait_for(5.0, |e| matches!(e, Ev::Dns(..)))
    else {
        panic!("localhost resolves from /etc/hosts")
    };
    assert_eq!(got, id);
    assert_eq!(addrs, vec![std::net::IpAddr::from([127, 0, 0, 1])]);
    assert_eq!(r.handle.stats().open_dns_queries, 0);
}

#[test]
#[cfg(not(feature = "dns"))]
fn without_the_dns_feature_localhost_resolves_and_other_names_fail_saying_why() {
    use evasync::dns::{DnsAnswer, DnsQuery};
    let r = Running::start();
    let local = r.handle.dns_lookup(DnsQuery::Lookup {
        host: "LocalHost.".into(),
        family: 0,
    });
    let elsewhere = r.handle.dns_lookup(DnsQuery::Lookup {
        host: "example.com".into(),
        family: 0,
    });
    let mut got = Vec::new();
    while got.len() < 2 {
        match r.wait_for(5.0, |e| matches!(e, Ev::Dns(..))) {
            Some(Ev::Dns(id, result)) => got.push((id, result)),
            other => panic!("no answer: {other:?}"),
        }
    }
    got.sort_by_key(|(id, _)| *id);
    assert_eq!(got[0].0, local);
    assert_eq!(
        got[0].1,
        Ok(DnsAnswer::Addrs(vec![
            std::net::IpAddr::from([127, 0, 0, 1]),
            std::net::IpAddr::from(std::net::Ipv6Addr::LOCALHOST),
        ]))
    );
    assert_eq!(
        got[1],
        (elsewhere, Err(evasync::dns::DnsErrorCode::ServFail as i32))
    );
}
