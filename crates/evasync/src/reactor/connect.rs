//! Outgoing connections: names resolve through the DNS area, then Happy Eyeballs (RFC 8305)
//! races the addresses: IPv6 first, the families alternating, a new attempt every 250 ms while
//! earlier ones are pending (at once when one fails); the first to connect wins and the others
//! are closed. Each attempt has its own socket and token until it wins.

use std::io;
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use mio::Token;

use crate::config::ConnectOptions;
use crate::conn::{flag, Conn, Connecting, Filter, Io, Phase, Racer};
use crate::dns::{dns_error, DnsErrorCode, DnsPurpose, DnsQuery};
use crate::error::Error;
use crate::event::{Event, EventSink};
use crate::id::Id;
use crate::net::addr::Endpoint;
use crate::net::connect::{attempt_order, open_stream};
use crate::reactor::{ConnectTarget, Reactor, Slot, TimerKey, Upper};
use crate::stats;
use crate::tls::session::TlsSession;
use crate::tls::tls_error;

/// RFC 8305's recommended "Connection Attempt Delay".
pub const ATTEMPT_DELAY: Duration = Duration::from_millis(250);

/// Wait before connecting again to a Unix socket whose backlog was full.
const UNIX_RETRY: Duration = Duration::from_millis(5);

impl Reactor {
    /// Opens connection `id` to `target`. A connection made for the HTTP client carries its
    /// client state from the start: its events go to the client, not to the application.
    pub(super) fn connect(
        &mut self,
        id: Id,
        target: ConnectTarget,
        opts: ConnectOptions,
        client: Option<super::ClientUpper>,
        sink: &mut dyn EventSink,
    ) {
        let now = Instant::now();
        let mut conn = Conn::new(Phase::Resolving);
        let label = match &target {
            ConnectTarget::Host(h, p) if h.contains(':') => format!("[{h}]:{p}"),
            ConnectTarget::Host(h, p) => format!("{h}:{p}"),
            ConnectTarget::Unix(p) => Endpoint::Unix(p.clone()).to_string(),
        };
        if let Some(t) = opts.connect_timeout {
            self.timers
                .schedule(now + t, TimerKey::Connect(id, conn.timer_gen));
        }
        let family = opts.family;
        let host = match &target {
            ConnectTarget::Host(host, _) => host.clone(),
            // TLS over a Unix socket names the server `localhost` unless told otherwise.
            ConnectTarget::Unix(_) => "localhost".to_string(),
        };
        conn.connecting = Some(Box::new(Connecting {
            addrs: Vec::new(),
            opts,
            target: label,
            host,
            last_error: None,
            racers: Vec::new(),
            unix_path: None,
        }));
        let upper = match client {
            #[cfg(feature = "http")]
            Some(c) => {
                stats::inc(&self.shared.stats.http_outgoing);
                Upper::HttpClient(c)
            }
            #[cfg(not(feature = "http"))]
            Some(never) => match never {},
            None => {
                stats::inc(&self.shared.stats.outgoing);
                Upper::Raw
            }
        };
        self.conns.insert(
            id,
            Slot {
                conn,
                upper,
                server: 0,
            },
        );
        match target {
            ConnectTarget::Host(host, port) => {
                let literal = host.trim_start_matches('[').trim_end_matches(']');
                if let Ok(ip) = literal.parse::<IpAddr>() {
                    self.resolved(id, Ok(vec![SocketAddr::new(ip, port)]), sink);
                    return;
                }
                // Names go to the resolver thread; the reactor never blocks on a lookup.
                let query = DnsQuery::Lookup { host, family };
                self.dns_query(id, query, DnsPurpose::Connect(port), sink);
            }
            ConnectTarget::Unix(path) => self.connect_unix(id, path, sink),
        }
    }

    /// Starts (or retries) the connect of `id` to a Unix socket.
    #[cfg(unix)]
    fn connect_unix(&mut self, id: Id, path: Vec<u8>, sink: &mut dyn EventSink) {
        let Some(slot) = self.conns.get_mut(&id) else {
            return;
        };
        let conn = &mut slot.conn;
        conn.phase = Phase::Connecting;
        match crate::net::unix::connect(&path) {
            Ok(stream) => {
                let mut io = Io::Unix(stream);
                if let Err(e) = io.register(self.poll.registry(), Token(id as usize)) {
                    let err = Error::io(conn.describe("connect to"), &e);
                    return self.fail(id, err, sink);
                }
                conn.io = Some(io);
                // Completion (often at once for a local socket) is reported as writable.
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                // The listener's backlog is full: Linux says EAGAIN instead of queueing. Try
                // again shortly, until the connect timeout (if any) says otherwise.
                if let Some(c) = conn.connecting.as_mut() {
                    c.unix_path = Some(path);
                }
                let at = Instant::now() + UNIX_RETRY;
                self.timers
                    .schedule(at, TimerKey::UnixRetry(id, conn.timer_gen));
            }
            Err(e) => {
                let err = Error::io(conn.describe("connect to"), &e);
                self.fail(id, err, sink);
            }
        }
    }

    #[cfg(not(unix))]
    fn connect_unix(&mut self, id: Id, _path: Vec<u8>, sink: &mut dyn EventSink) {
        let e = io::Error::from(io::ErrorKind::Unsupported);
        if let Some(err) = self
            .conns
            .get(&id)
            .map(|s| Error::io(s.conn.describe("connect to"), &e))
        {
            self.fail(id, err, sink);
        }
    }

    /// A Unix connect that met a full backlog tries again.
    pub(super) fn unix_retry(&mut self, id: Id, gen: u32, sink: &mut dyn EventSink) {
        let Some(slot) = self.conns.get_mut(&id) else {
            return;
        };
        if slot.conn.timer_gen != gen || slot.conn.phase != Phase::Connecting {
            return;
        }
        if let Some(path) = slot
            .conn
            .connecting
            .as_mut()
            .and_then(|c| c.unix_path.take())
        {
            self.connect_unix(id, path, sink);
        }
    }

    /// The addresses of connection `id` are known (or could not be).
    pub(super) fn resolved(
        &mut self,
        id: Id,
        result: Result<Vec<SocketAddr>, Error>,
        sink: &mut dyn EventSink,
    ) {
        let Some(slot) = self.conns.get_mut(&id) else {
            return;
        };
        let conn = &mut slot.conn;
        if conn.phase != Phase::Resolving {
            return;
        }
        let Some(c) = conn.connecting.as_mut() else {
            return;
        };
        let addrs = match result {
            Err(err) => return self.fail(id, err, sink),
            Ok(addrs) => addrs,
        };
        let family = c.opts.family;
        let addrs: Vec<_> = addrs
            .into_iter()
            .filter(|a| match family {
                4 => a.is_ipv4(),
                6 => a.is_ipv6(),
                _ => true,
            })
            .collect();
        if addrs.is_empty() {
            let err = dns_error(
                DnsErrorCode::NoData,
                format!(
                    "resolve {} failed: no address of the asked family (ENODATA)",
                    c.target
                ),
            );
            return self.fail(id, err, sink);
        }
        c.addrs = attempt_order(addrs);
        conn.phase = Phase::Connecting;
        self.start_attempt(id, sink);
    }

    /// Starts the next address's attempt; with more addresses left, schedules the one after.
    /// Fails the connection when nothing is left to try and nothing is pending.
    fn start_attempt(&mut self, id: Id, sink: &mut dyn EventSink) {
        loop {
            let next_id = self.handle().next_id();
            let Some(slot) = self.conns.get_mut(&id) else {
                return;
            };
            let gen = slot.conn.timer_gen;
            let Some(c) = slot.conn.connecting.as_mut() else {
                return;
            };
            let Some(addr) = c.addrs.pop() else {
                if c.racers.is_empty() {
                    let err = c
                        .last_error
                        .take()
                        .unwrap_or_else(|| io::Error::from(io::ErrorKind::ConnectionRefused));
                    let e = Error::io(format!("connect to {}", c.target), &err);
                    self.fail(id, e, sink);
                }
                return;
            };
            let registry = self.poll.registry();
            let opened = open_stream(addr, c.opts.local_address)
                .and_then(|mut io| io.register(registry, Token(next_id as usize)).map(|()| io));
            match opened {
                Ok(io) => {
                    c.racers.push(Racer {
                        id: next_id,
                        io,
                        addr,
                    });
                    self.racers.insert(next_id, id);
                    if !c.addrs.is_empty() {
                        let at = Instant::now() + ATTEMPT_DELAY;
                        self.timers.schedule(at, TimerKey::Stagger(id, gen));
                    }
                    return;
                }
                Err(e) => c.last_error = Some(e),
            }
        }
    }

    /// The attempt delay passed: start another attempt if the race is still on.
    pub(super) fn stagger_fired(&mut self, id: Id, gen: u32, sink: &mut dyn EventSink) {
        let Some(slot) = self.conns.get(&id) else {
            return;
        };
        let pending = slot
            .conn
            .connecting
            .as_ref()
            .is_some_and(|c| !c.addrs.is_empty() && !c.racers.is_empty());
        if slot.conn.timer_gen == gen && slot.conn.phase == Phase::Connecting && pending {
            self.start_attempt(id, sink);
        }
    }

    /// Readiness on an attempt's socket: it failed (try on) or connected (it wins).
    pub(super) fn racer_ready(
        &mut self,
        owner: Id,
        rid: Id,
        readable: bool,
        read_closed: bool,
        sink: &mut dyn EventSink,
    ) {
        let registry = self.poll.registry();
        let Some(slot) = self.conns.get_mut(&owner) else {
            self.racers.remove(&rid);
            return;
        };
        let Some(c) = slot.conn.connecting.as_mut() else {
            return;
        };
        let Some(pos) = c.racers.iter().position(|r| r.id == rid) else {
            return;
        };
        let Some(failure) = c.racers[pos].io.connect_outcome() else {
            return; // not done yet
        };
        let mut racer = c.racers.swap_remove(pos);
        self.racers.remove(&rid);
        racer.io.deregister(registry);
        if let Some(e) = failure {
            c.last_error = Some(e);
            if c.racers.is_empty() {
                // Nothing pending: the next address need not wait for the delay.
                self.start_attempt(owner, sink);
            }
            return;
        }
        // The winner: the others are closed, its socket becomes the connection's.
        for mut l in std::mem::take(&mut c.racers) {
            l.io.deregister(registry);
            self.racers.remove(&l.id);
        }
        c.addrs.clear();
        if let Err(e) = racer.io.register(registry, Token(owner as usize)) {
            let err = Error::io(format!("connect to {}", racer.addr), &e);
            return self.fail(owner, err, sink);
        }
        slot.conn.peer = Some(racer.addr);
        slot.conn.io = Some(racer.io);
        // A connected socket is writable; whatever else the event said still applies.
        self.socket_ready(owner, readable, true, read_closed, sink);
    }

    /// Closes every attempt of a connection that is going away.
    pub(super) fn drop_racers(&mut self, c: &mut Connecting) {
        for mut r in c.racers.drain(..) {
            r.io.deregister(self.poll.registry());
            self.racers.remove(&r.id);
        }
    }

    /// The connect of `id` completed (readiness was reported on its socket).
    pub(super) fn finish_connect(&mut self, id: Id, sink: &mut dyn EventSink) {
        let registry = self.poll.registry();
        let Some(slot) = self.conns.get_mut(&id) else {
            return;
        };
        let conn = &mut slot.conn;
        let Some(failure) = conn.io.as_ref().and_then(|io| io.connect_outcome()) else {
            return;
        };
        if let Some(e) = failure {
            if let Some(mut io) = conn.io.take() {
                io.deregister(registry);
            }
            conn.peer = None;
            if let Some(c) = conn.connecting.as_mut() {
                c.last_error = Some(e);
            }
            return self.start_attempt(id, sink);
        }
        // Established.
        let (Some(c), Some(io)) = (conn.connecting.take(), conn.io.as_ref()) else {
            return;
        };
        io.apply_options(c.opts.no_delay, c.opts.keep_alive);
        let fd = io.fd();
        let remote = io.peer_addr().or(conn.peer.map(Endpoint::Inet));
        let local = io.local_addr();
        conn.phase = Phase::Open;
        conn.flags |= flag::WRITABLE;
        conn.set(flag::HALF_OPEN, c.opts.allow_half_open);
        conn.set_timeouts(c.opts.read_timeout, c.opts.write_timeout, Instant::now());
        let close_wanted = conn.has(flag::APP_CLOSED);
        if let Some(cfg) = &c.opts.tls {
            // Announced once the handshake is done; the ClientHello goes out with the flush.
            match TlsSession::client(cfg, &c.host) {
                Ok(session) => conn.filter = Filter::Tls(Box::new(session)),
                Err(e) => {
                    let err = tls_error(&conn.describe("TLS handshake with"), &e);
                    return self.fail(id, err, sink);
                }
            }
            self.arm_handshake_timer(id, cfg.handshake_timeout);
            if close_wanted {
                return self.begin_close(id, sink);
            }
            return self.flush_conn(id, sink);
        }
        conn.flags |= flag::ANNOUNCED;
        let raw = matches!(slot.upper, Upper::Raw);
        if let (Some(local), Some(remote), false, true) = (local, remote, close_wanted, raw) {
            sink.event(Event::Connected {
                id,
                fd,
                local,
                remote,
            });
        }
        self.arm_read_timer(id);
        self.arm_write_timer(id);
        if close_wanted {
            self.begin_close(id, sink);
        } else {
            self.flush_conn(id, sink);
        }
    }

    pub(super) fn connect_timer_fired(&mut self, id: Id, gen: u32, sink: &mut dyn EventSink) {
        let Some(slot) = self.conns.get(&id) else {
            return;
        };
        let conn = &slot.conn;
        // The connect timeout covers a TLS handshake too (the one entry a connection gets; the
        // generation changed when the socket's own timeouts were set at connect).
        let connecting = matches!(conn.phase, Phase::Resolving | Phase::Connecting);
        let current = conn.timer_gen == gen && connecting;
        if !(current || conn.handshaking()) {
            return;
        }
        let err = Error::timeout(conn.describe("connect to"));
        self.fail(id, err, sink);
    }
}
