//! The reactor's TCP operations: listening and accepting, connecting, reading, flushing,
//! timeouts, enabling, half-close and close. Every socket reports at most one terminal event
//! (`Eof` without half-open, or `Failed`) and exactly one `Released` when the reactor lets go.

use std::io;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use mio::{Interest, Token};
use socket2::{Domain, Protocol, Socket, Type};

use crate::command::ConnectTarget;
use crate::config::{ConnectOptions, ServerOptions};
use crate::dns::reactor_dns::DnsPurpose;
use crate::dns::{dns_error, DnsErrorCode, DnsQuery};
use crate::error::Error;
use crate::event::{Event, EventSink};
use crate::http::HttpServerOptions;
use crate::id::Id;
use crate::reactor::{Reactor, TimerKey};
use crate::stats;
use crate::tcp::conn::{flag, Conn, Connecting, Phase, ReadOutcome};
use crate::tcp::listen::BoundListener;
use crate::tcp::sockopt::{apply_stream_options, set_reset_on_close};

/// First wait before accepting again after running out of descriptors; doubles up to the max.
const ACCEPT_BACKOFF_MIN: Duration = Duration::from_millis(10);
/// Longest wait between accept retries while descriptors are exhausted.
const ACCEPT_BACKOFF_MAX: Duration = Duration::from_secs(1);

/// A listening socket held by the reactor.
pub(crate) struct Listener {
    pub sock: mio::net::TcpListener,
    opts: ServerOptions,
    /// Accepted sockets still held.
    open: usize,
    /// Accepting is paused after EMFILE/ENFILE until the retry timer fires.
    paused: bool,
    /// The exhaustion of this episode was reported already. An episode ends when the accept
    /// queue is drained (WouldBlock), not at the first successful accept: while descriptors
    /// free one at a time, accepts succeed and fail in turn, and that is still one episode.
    reported: bool,
    backoff: Duration,
    /// Set for HTTP servers: accepted connections speak HTTP.
    pub http: Option<Arc<HttpServerOptions>>,
}

fn fd_of(stream: &mio::net::TcpStream) -> i64 {
    #[cfg(unix)]
    {
        use std::os::fd::AsRawFd;
        i64::from(stream.as_raw_fd())
    }
    #[cfg(windows)]
    {
        use std::os::windows::io::AsRawSocket;
        stream.as_raw_socket() as i64
    }
}

/// True for the accept errors that mean "out of descriptors or memory": keep serving, retry later.
fn is_resource_exhaustion(e: &io::Error) -> bool {
    matches!(
        e.raw_os_error(),
        Some(libc::EMFILE) | Some(libc::ENFILE) | Some(libc::ENOBUFS) | Some(libc::ENOMEM)
    )
}

/// Orders addresses as RFC 8305 asks: alternate families, starting with the resolver's first.
pub(crate) fn interleave_families(addrs: Vec<SocketAddr>) -> Vec<SocketAddr> {
    let first_v6 = addrs.first().is_some_and(|a| a.is_ipv6());
    let (mut a, mut b): (Vec<_>, Vec<_>) = addrs.into_iter().partition(|x| x.is_ipv6() == first_v6);
    a.reverse();
    b.reverse();
    let mut out = Vec::with_capacity(a.len() + b.len());
    loop {
        match (a.pop(), b.pop()) {
            (None, None) => break,
            (x, y) => out.extend(x.into_iter().chain(y)),
        }
    }
    out
}

/// How a non-blocking connect ended, once readiness was reported: `None` when it has not
/// (a spurious wake-up), `Some(None)` connected, `Some(Some(e))` failed.
pub(crate) fn connect_outcome(stream: &mio::net::TcpStream) -> Option<Option<io::Error>> {
    match stream.take_error() {
        Ok(Some(e)) | Err(e) => Some(Some(e)),
        Ok(None) => match stream.peer_addr() {
            Ok(_) => Some(None),
            Err(e) if e.kind() == io::ErrorKind::NotConnected => None,
            Err(e) => Some(Some(e)),
        },
    }
}

/// Starts a non-blocking connect, bound first to `local` when given.
pub(crate) fn open_stream(
    addr: SocketAddr,
    local: Option<SocketAddr>,
) -> io::Result<mio::net::TcpStream> {
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
    socket.set_nonblocking(true)?;
    if let Some(local) = local {
        socket.bind(&local.into())?;
    }
    match socket.connect(&addr.into()) {
        Ok(()) => {}
        #[cfg(unix)]
        Err(e) if e.raw_os_error() == Some(libc::EINPROGRESS) => {}
        Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
        Err(e) => return Err(e),
    }
    Ok(mio::net::TcpStream::from_std(socket.into()))
}

impl Reactor {
    // ----- listeners -----

    pub(crate) fn listen(&mut self, id: Id, bound: BoundListener, opts: ServerOptions) {
        let mut sock = mio::net::TcpListener::from_std(bound.inner);
        if self
            .poll
            .registry()
            .register(&mut sock, Token(id as usize), Interest::READABLE)
            .is_err()
        {
            return;
        }
        self.listeners.insert(
            id,
            Listener {
                sock,
                opts,
                open: 0,
                paused: false,
                reported: false,
                backoff: Duration::ZERO,
                http: None,
            },
        );
        stats::inc(&self.shared.stats.servers);
    }

    pub(crate) fn close_server(&mut self, id: Id) {
        if let Some(mut l) = self.listeners.remove(&id) {
            let _ = self.poll.registry().deregister(&mut l.sock);
            stats::dec(&self.shared.stats.servers);
        }
    }

    pub(crate) fn accept_ready(&mut self, id: Id, sink: &mut dyn EventSink) {
        for _ in 0..self.cfg.accept_budget {
            let Some(l) = self.listeners.get_mut(&id) else {
                return;
            };
            if l.paused {
                return;
            }
            match l.sock.accept() {
                Ok((stream, remote)) => {
                    l.backoff = Duration::ZERO;
                    if l.opts.max_connections.is_some_and(|max| l.open >= max) {
                        // Over the limit: accepted and closed at once, as the contract says.
                        drop(stream);
                        continue;
                    }
                    l.open += 1;
                    let opts = l.opts.clone();
                    let http = l.http.clone();
                    self.adopt_accepted(id, stream, remote, &opts, http, sink);
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    l.reported = false;
                    return;
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) if e.kind() == io::ErrorKind::ConnectionAborted => {}
                Err(e) if is_resource_exhaustion(&e) => {
                    l.paused = true;
                    l.backoff = (l.backoff * 2).clamp(ACCEPT_BACKOFF_MIN, ACCEPT_BACKOFF_MAX);
                    let at = Instant::now() + l.backoff;
                    let report = !l.reported;
                    l.reported = true;
                    let local = l.sock.local_addr().ok();
                    self.timers.schedule(at, TimerKey::AcceptRetry(id));
                    if report {
                        let op = match local {
                            Some(a) => format!("accept on {a}"),
                            None => "accept".to_string(),
                        };
                        sink.event(Event::ServerError {
                            id,
                            error: Error::io(op, &e),
                        });
                    }
                    return;
                }
                Err(e) => {
                    let op = "accept".to_string();
                    sink.event(Event::ServerError {
                        id,
                        error: Error::io(op, &e),
                    });
                    return;
                }
            }
        }
        if !self.pending_accept.contains(&id) {
            self.pending_accept.push(id);
        }
    }

    pub(crate) fn accept_retry(&mut self, id: Id, sink: &mut dyn EventSink) {
        if let Some(l) = self.listeners.get_mut(&id) {
            if l.paused {
                l.paused = false;
                self.accept_ready(id, sink);
            }
        }
    }

    fn adopt_accepted(
        &mut self,
        server: Id,
        mut stream: mio::net::TcpStream,
        remote: SocketAddr,
        opts: &ServerOptions,
        http: Option<Arc<HttpServerOptions>>,
        sink: &mut dyn EventSink,
    ) {
        let id = self.handle().next_id();
        apply_stream_options(&stream, opts.no_delay, opts.keep_alive);
        let interest = Interest::READABLE | Interest::WRITABLE;
        if self
            .poll
            .registry()
            .register(&mut stream, Token(id as usize), interest)
            .is_err()
        {
            if let Some(l) = self.listeners.get_mut(&server) {
                l.open -= 1;
            }
            return;
        }
        let fd = fd_of(&stream);
        let local = stream.local_addr().unwrap_or(remote);
        let mut conn = Conn::new(server, Phase::Open);
        conn.flags |= flag::WRITABLE;
        conn.set(flag::HALF_OPEN, opts.allow_half_open);
        conn.set_timeouts(opts.read_timeout, opts.write_timeout, Instant::now());
        conn.peer = Some(remote);
        conn.stream = Some(stream);
        if let Some(h) = &http {
            // HTTP enforces its own timeouts and handles the peer's FIN itself.
            conn.http = Some(Self::http_conn_for(h));
            conn.flags |= flag::HALF_OPEN;
        }
        self.conns.insert(id, conn);
        if http.is_some() {
            self.http_accepted(id);
        } else {
            stats::inc(&self.shared.stats.incoming);
            self.arm_read_timer(id);
        }
        sink.event(Event::Accepted {
            server,
            id,
            fd,
            local,
            remote,
        });
    }

    // ----- connecting -----

    pub(crate) fn connect(
        &mut self,
        id: Id,
        target: ConnectTarget,
        opts: ConnectOptions,
        sink: &mut dyn EventSink,
    ) {
        self.connect_with(id, target, opts, None, sink);
    }

    /// `connect`, for a connection that carries HTTP client state from the start (its events go
    /// to the client, not to the application).
    pub(crate) fn connect_with(
        &mut self,
        id: Id,
        target: ConnectTarget,
        opts: ConnectOptions,
        client: Option<Box<crate::http::client::ClientConn>>,
        sink: &mut dyn EventSink,
    ) {
        let now = Instant::now();
        let mut conn = Conn::new(0, Phase::Resolving);
        let is_client = client.is_some();
        conn.client = client;
        let label = match &target {
            ConnectTarget::Addrs(a) => a.first().map_or_else(String::new, |a| a.to_string()),
            ConnectTarget::Host(h, p) if h.contains(':') => format!("[{h}]:{p}"),
            ConnectTarget::Host(h, p) => format!("{h}:{p}"),
        };
        if let Some(t) = opts.connect_timeout {
            self.timers
                .schedule(now + t, TimerKey::Connect(id, conn.timer_gen));
        }
        conn.connecting = Some(Box::new(Connecting {
            addrs: Vec::new(),
            opts,
            target: label,
            last_error: None,
            racers: Vec::new(),
        }));
        self.conns.insert(id, conn);
        if is_client {
            stats::inc(&self.shared.stats.http_outgoing);
        } else {
            stats::inc(&self.shared.stats.outgoing);
        }
        match target {
            ConnectTarget::Addrs(addrs) => self.resolved(id, Ok(addrs), sink),
            ConnectTarget::Host(host, port) => {
                let literal = host.trim_start_matches('[').trim_end_matches(']');
                if let Ok(ip) = literal.parse::<IpAddr>() {
                    self.resolved(id, Ok(vec![SocketAddr::new(ip, port)]), sink);
                    return;
                }
                // Names go to the resolver thread; the reactor never blocks on a lookup.
                let family = self
                    .conns
                    .get(&id)
                    .and_then(|c| c.connecting.as_ref())
                    .map_or(0, |c| c.opts.family);
                let query = DnsQuery::Lookup { host, family };
                self.dns_query(id, query, DnsPurpose::Connect(port), sink);
            }
        }
    }

    pub(crate) fn resolved(
        &mut self,
        id: Id,
        result: Result<Vec<SocketAddr>, Error>,
        sink: &mut dyn EventSink,
    ) {
        let Some(conn) = self.conns.get_mut(&id) else {
            return;
        };
        if conn.phase != Phase::Resolving {
            return;
        }
        let Some(c) = conn.connecting.as_mut() else {
            return;
        };
        let family = c.opts.family;
        match result {
            Err(err) => self.fail(id, err, sink),
            Ok(addrs) => {
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
                    self.fail(id, err, sink);
                    return;
                }
                // RFC 8305: IPv6 first when there is one, the families alternating.
                let mut addrs = addrs;
                addrs.sort_by_key(|a| a.is_ipv4());
                let mut ordered = interleave_families(addrs);
                ordered.reverse();
                c.addrs = ordered;
                conn.phase = Phase::Connecting;
                self.start_attempt(id, sink);
            }
        }
    }

    pub(crate) fn finish_connect(&mut self, id: Id, sink: &mut dyn EventSink) {
        let Some(conn) = self.conns.get_mut(&id) else {
            return;
        };
        let Some(stream) = conn.stream.as_ref() else {
            return;
        };
        let Some(failure) = connect_outcome(stream) else {
            return;
        };
        if let Some(e) = failure {
            if let Some(mut s) = conn.stream.take() {
                let _ = self.poll.registry().deregister(&mut s);
            }
            conn.peer = None;
            if let Some(c) = conn.connecting.as_mut() {
                c.last_error = Some(e);
            }
            self.start_attempt(id, sink);
            return;
        }
        // Established.
        let Some(c) = conn.connecting.take() else {
            return;
        };
        let Some(stream) = conn.stream.as_ref() else {
            return;
        };
        apply_stream_options(stream, c.opts.no_delay, c.opts.keep_alive);
        let fd = fd_of(stream);
        let remote = stream.peer_addr().ok().or(conn.peer);
        let local = stream.local_addr().ok();
        conn.phase = Phase::Open;
        conn.flags |= flag::WRITABLE;
        conn.set(flag::HALF_OPEN, c.opts.allow_half_open);
        conn.set_timeouts(c.opts.read_timeout, c.opts.write_timeout, Instant::now());
        conn.timer_gen = conn.timer_gen.wrapping_add(1);
        let close_wanted = conn.has(flag::APP_CLOSED);
        let is_client = conn.client.is_some();
        if let (Some(local), Some(remote)) = (local, remote) {
            if !close_wanted && !is_client {
                sink.event(Event::Connected {
                    id,
                    fd,
                    local,
                    remote,
                });
            }
        }
        self.arm_read_timer(id);
        self.arm_write_timer(id);
        if close_wanted {
            self.begin_close(id, sink);
        } else {
            self.flush_conn(id, sink);
        }
    }

    pub(crate) fn connect_timer_fired(&mut self, id: Id, gen: u32, sink: &mut dyn EventSink) {
        let Some(conn) = self.conns.get(&id) else {
            return;
        };
        if conn.timer_gen != gen || !matches!(conn.phase, Phase::Resolving | Phase::Connecting) {
            return;
        }
        let err = Error::timeout(conn.describe("connect to"));
        self.fail(id, err, sink);
    }

    // ----- readiness -----

    pub(crate) fn socket_ready(
        &mut self,
        id: Id,
        readable: bool,
        writable: bool,
        read_closed: bool,
        sink: &mut dyn EventSink,
    ) {
        let Some(conn) = self.conns.get_mut(&id) else {
            if let Some(owner) = self.racer_owner.get(&id).copied() {
                self.racer_ready(owner, id, readable, writable, read_closed, sink);
            }
            return;
        };
        match conn.phase {
            Phase::Resolving => return,
            Phase::Connecting => {
                if !(readable || writable) {
                    return;
                }
                self.finish_connect(id, sink);
                // The event that completed the connect may also carry data (a server that
                // greets at once): with edge-triggered readiness it would not be reported again.
                let Some(c) = self.conns.get_mut(&id) else {
                    return;
                };
                if !matches!(c.phase, Phase::Open | Phase::Closing) {
                    return;
                }
            }
            Phase::Open | Phase::Closing => {}
        }
        let Some(conn) = self.conns.get_mut(&id) else {
            return;
        };
        if read_closed {
            conn.flags |= flag::PEER_FIN;
        }
        if readable {
            conn.flags |= flag::READABLE;
        }
        if writable {
            conn.flags |= flag::WRITABLE;
            if !conn.wq.is_empty() {
                self.flush_conn(id, sink);
            }
        }
        if readable {
            self.read_conn(id, sink);
        }
    }

    pub(crate) fn read_conn(&mut self, id: Id, sink: &mut dyn EventSink) {
        let Reactor {
            conns,
            scratch,
            cfg,
            shared,
            pending_read,
            ..
        } = self;
        let Some(conn) = conns.get_mut(&id) else {
            return;
        };
        if !conn.has(flag::READABLE) {
            return;
        }
        if conn.has(flag::APP_CLOSED) {
            // Nobody wants these bytes any more; reading them keeps the close a FIN, not a reset.
            conn.discard_input(scratch);
            conn.flags &= !flag::READABLE;
            return;
        }
        if !conn.has(flag::READ_ENABLED) || conn.has(flag::EOF) {
            return;
        }
        if sink.backpressured() {
            conn.queue_read(id, pending_read);
            return;
        }
        if conn.http.is_some() {
            return self.http_read(id, sink);
        }
        if conn.client.is_some() {
            return self.client_read(id, sink);
        }
        let bytes_read = &shared.stats.bytes_read;
        let outcome = conn.read_step(
            id,
            scratch,
            cfg.read_budget,
            bytes_read,
            pending_read,
            &mut |data| sink.event(Event::Data { id, data }),
        );
        match outcome {
            ReadOutcome::Drained | ReadOutcome::Stopped => {}
            ReadOutcome::Eof => self.on_eof(id, sink),
            ReadOutcome::Failed(e) => {
                let err = Error::io(conn.describe("read from"), &e);
                self.fail(id, err, sink);
            }
        }
    }

    fn on_eof(&mut self, id: Id, sink: &mut dyn EventSink) {
        let Some(conn) = self.conns.get_mut(&id) else {
            return;
        };
        conn.flags |= flag::EOF;
        conn.flags &= !flag::READABLE;
        if conn.http.is_some() {
            return self.http_eof(id, sink);
        }
        sink.event(Event::Eof { id });
        if !conn.has(flag::HALF_OPEN) {
            conn.flags |= flag::APP_CLOSED;
            self.begin_close(id, sink);
        }
    }

    pub(crate) fn run_pending(&mut self, sink: &mut dyn EventSink) {
        if !self.pending_accept.is_empty() {
            for id in std::mem::take(&mut self.pending_accept) {
                self.accept_ready(id, sink);
            }
        }
        if !self.pending_read.is_empty() && !sink.backpressured() {
            for id in std::mem::take(&mut self.pending_read) {
                if let Some(c) = self.conns.get_mut(&id) {
                    c.flags &= !flag::PENDING_READ;
                }
                self.read_conn(id, sink);
            }
        }
    }

    // ----- writing -----

    pub(crate) fn write(
        &mut self,
        id: Id,
        data: Vec<u8>,
        notify_at: Option<u64>,
        sink: &mut dyn EventSink,
    ) {
        let Some(conn) = self.conns.get_mut(&id) else {
            return;
        };
        if conn.has(flag::SHUT_WR) {
            return;
        }
        if conn.wq.is_empty() {
            conn.touch_write();
        }
        conn.wq.add(data);
        if let Some(at) = notify_at {
            conn.notify_at = conn.notify_at.min(at);
        }
        if conn.phase == Phase::Open || conn.phase == Phase::Closing {
            self.flush_conn(id, sink);
        }
    }

    pub(crate) fn notify_flushed(&mut self, id: Id, at: u64, sink: &mut dyn EventSink) {
        let Some(conn) = self.conns.get_mut(&id) else {
            return;
        };
        conn.notify_at = conn.notify_at.min(at);
        if conn.flushed >= conn.notify_at && !conn.has(flag::APP_CLOSED) {
            conn.notify_at = u64::MAX;
            sink.event(Event::Flushed {
                id,
                total: conn.flushed,
            });
        }
    }

    pub(crate) fn flush_conn(&mut self, id: Id, sink: &mut dyn EventSink) {
        let Some(conn) = self.conns.get_mut(&id) else {
            return;
        };
        if !matches!(conn.phase, Phase::Open | Phase::Closing) {
            return;
        }
        if !conn.has(flag::WRITE_ENABLED) && conn.phase != Phase::Closing {
            return;
        }
        match conn.flush() {
            Ok(n) => {
                stats::add(&self.shared.stats.bytes_written, n as u64);
                if conn.flushed >= conn.notify_at && !conn.has(flag::APP_CLOSED) {
                    conn.notify_at = u64::MAX;
                    sink.event(Event::Flushed {
                        id,
                        total: conn.flushed,
                    });
                }
                if conn.http.as_ref().is_some_and(|h| h.write_paused) {
                    self.http_write_drained(id, sink);
                }
                let Some(conn) = self.conns.get_mut(&id) else {
                    return;
                };
                if conn.wq.is_empty() {
                    if conn.phase == Phase::Closing {
                        self.finish_close(id, sink);
                    } else if conn.has(flag::SHUTDOWN_WANTED) && !conn.has(flag::SHUT_WR) {
                        conn.flags |= flag::SHUT_WR;
                        if let Some(s) = conn.stream.as_ref() {
                            let _ = s.shutdown(std::net::Shutdown::Write);
                        }
                    }
                } else {
                    self.arm_write_timer(id);
                }
            }
            Err(e) => {
                let err = Error::io(conn.describe("write to"), &e);
                self.fail(id, err, sink);
            }
        }
    }

    // ----- timeouts -----

    pub(crate) fn set_timeouts(&mut self, id: Id, read: Option<Duration>, write: Option<Duration>) {
        let Some(conn) = self.conns.get_mut(&id) else {
            return;
        };
        // Older entries become stale; the new timeouts count from now.
        conn.set_timeouts(read, write, Instant::now());
        conn.timer_gen = conn.timer_gen.wrapping_add(1);
        conn.flags &= !(flag::READ_TIMER | flag::WRITE_TIMER);
        self.arm_read_timer(id);
        self.arm_write_timer(id);
    }

    fn read_timer_applies(conn: &Conn) -> bool {
        conn.read_timeout().is_some()
            && conn.phase == Phase::Open
            && conn.has(flag::READ_ENABLED)
            && !conn.has(flag::EOF)
    }

    fn write_timer_applies(conn: &Conn) -> bool {
        conn.write_timeout().is_some()
            && matches!(conn.phase, Phase::Open | Phase::Closing)
            && !conn.wq.is_empty()
    }

    pub(crate) fn arm_read_timer(&mut self, id: Id) {
        let Some(conn) = self.conns.get_mut(&id) else {
            return;
        };
        if let (true, false, Some(t)) = (
            Self::read_timer_applies(conn),
            conn.has(flag::READ_TIMER),
            conn.timeouts.as_ref(),
        ) {
            let at = t.last_read + t.read.unwrap_or_default();
            conn.flags |= flag::READ_TIMER;
            self.timers.schedule(at, TimerKey::Read(id, conn.timer_gen));
        }
    }

    pub(crate) fn arm_write_timer(&mut self, id: Id) {
        let Some(conn) = self.conns.get_mut(&id) else {
            return;
        };
        if let (true, false, Some(t)) = (
            Self::write_timer_applies(conn),
            conn.has(flag::WRITE_TIMER),
            conn.timeouts.as_ref(),
        ) {
            let at = t.last_write + t.write.unwrap_or_default();
            conn.flags |= flag::WRITE_TIMER;
            self.timers
                .schedule(at, TimerKey::Write(id, conn.timer_gen));
        }
    }

    pub(crate) fn read_timer_fired(
        &mut self,
        id: Id,
        gen: u32,
        now: Instant,
        sink: &mut dyn EventSink,
    ) {
        let Some(conn) = self.conns.get_mut(&id) else {
            return;
        };
        if conn.timer_gen != gen {
            return;
        }
        conn.flags &= !flag::READ_TIMER;
        if !Self::read_timer_applies(conn) {
            return;
        }
        let Some(t) = conn.timeouts.as_ref() else {
            return;
        };
        let deadline = t.last_read + t.read.unwrap_or_default();
        if now >= deadline {
            let err = Error::timeout(conn.describe("read from"));
            self.fail(id, err, sink);
        } else {
            conn.flags |= flag::READ_TIMER;
            self.timers.schedule(deadline, TimerKey::Read(id, gen));
        }
    }

    pub(crate) fn write_timer_fired(
        &mut self,
        id: Id,
        gen: u32,
        now: Instant,
        sink: &mut dyn EventSink,
    ) {
        let Some(conn) = self.conns.get_mut(&id) else {
            return;
        };
        if conn.timer_gen != gen {
            return;
        }
        conn.flags &= !flag::WRITE_TIMER;
        if !Self::write_timer_applies(conn) {
            return;
        }
        let Some(t) = conn.timeouts.as_ref() else {
            return;
        };
        let deadline = t.last_write + t.write.unwrap_or_default();
        if now >= deadline {
            // The queued bytes cannot be delivered: reset rather than leave them (and a FIN) to
            // the kernel for a peer that does not read.
            if let Some(s) = conn.stream.as_ref() {
                let _ = set_reset_on_close(s);
            }
            let err = Error::timeout(conn.describe("write to"));
            self.fail(id, err, sink);
        } else {
            conn.flags |= flag::WRITE_TIMER;
            self.timers.schedule(deadline, TimerKey::Write(id, gen));
        }
    }

    // ----- enable, shutdown, close -----

    pub(crate) fn enable(
        &mut self,
        id: Id,
        read: Option<bool>,
        write: Option<bool>,
        sink: &mut dyn EventSink,
    ) {
        let Some(conn) = self.conns.get_mut(&id) else {
            return;
        };
        if let Some(w) = write {
            conn.set(flag::WRITE_ENABLED, w);
        }
        let mut read_now = false;
        if let Some(r) = read {
            if r && !conn.has(flag::READ_ENABLED) {
                conn.touch_read();
                read_now = conn.has(flag::READABLE);
            }
            conn.set(flag::READ_ENABLED, r);
        }
        self.arm_read_timer(id);
        if write == Some(true) {
            self.flush_conn(id, sink);
        }
        if read_now {
            self.read_conn(id, sink);
        }
    }

    pub(crate) fn shutdown(&mut self, id: Id, sink: &mut dyn EventSink) {
        let Some(conn) = self.conns.get_mut(&id) else {
            return;
        };
        conn.flags |= flag::SHUTDOWN_WANTED;
        if conn.phase == Phase::Open {
            self.flush_conn(id, sink);
        }
    }

    pub(crate) fn close(&mut self, id: Id, force: bool, sink: &mut dyn EventSink) {
        let Some(conn) = self.conns.get_mut(&id) else {
            return;
        };
        conn.flags |= flag::APP_CLOSED;
        let connecting = matches!(conn.phase, Phase::Resolving | Phase::Connecting);
        if force {
            if let Some(s) = conn.stream.as_ref() {
                let _ = set_reset_on_close(s);
            }
            self.release_conn(id, sink);
        } else if connecting {
            if conn.wq.is_empty() {
                self.release_conn(id, sink);
            }
            // Otherwise the queued bytes go out once connected; `finish_connect` closes then.
        } else {
            self.begin_close(id, sink);
        }
    }

    pub(crate) fn begin_close(&mut self, id: Id, sink: &mut dyn EventSink) {
        let Some(conn) = self.conns.get_mut(&id) else {
            return;
        };
        conn.phase = Phase::Closing;
        if conn.wq.is_empty() {
            self.finish_close(id, sink);
        } else {
            self.flush_conn(id, sink);
            self.arm_write_timer(id);
        }
    }

    fn finish_close(&mut self, id: Id, sink: &mut dyn EventSink) {
        let Reactor { conns, scratch, .. } = self;
        let Some(conn) = conns.get_mut(&id) else {
            return;
        };
        if !conn.has(flag::SHUT_WR) {
            conn.flags |= flag::SHUT_WR;
            if let Some(s) = conn.stream.as_ref() {
                let _ = s.shutdown(std::net::Shutdown::Write);
            }
        }
        conn.discard_input(scratch);
        self.release_conn(id, sink);
    }

    /// Reports a terminal error (or, after the application closed, a flush error) and releases.
    pub(crate) fn fail(&mut self, id: Id, error: Error, sink: &mut dyn EventSink) {
        let Some(conn) = self.conns.get(&id) else {
            return;
        };
        if conn.client.is_some() {
            return self.client_failed(id, error, sink);
        }
        if conn.http.is_some() {
            // A client that resets its connection is routine for a server: no condition.
        } else if conn.has(flag::APP_CLOSED) {
            sink.event(Event::FlushFailed { id, error });
        } else {
            sink.event(Event::Failed { id, error });
        }
        self.release_conn(id, sink);
    }

    fn release_conn(&mut self, id: Id, sink: &mut dyn EventSink) {
        let Some(mut conn) = self.conns.remove(&id) else {
            return;
        };
        if conn.phase == Phase::Resolving {
            self.dns_cancel(id);
        }
        if let Some(c) = conn.connecting.as_mut() {
            self.drop_racers(c);
        }
        if let Some(mut s) = conn.stream.take() {
            let _ = self.poll.registry().deregister(&mut s);
        }
        if let Some(client) = conn.client.take() {
            self.client_released(id, client, sink);
        } else if conn.server == 0 {
            stats::dec(&self.shared.stats.outgoing);
        } else if conn.http.is_some() {
            stats::dec(&self.shared.stats.http_incoming);
            if let Some(l) = self.listeners.get_mut(&conn.server) {
                l.open = l.open.saturating_sub(1);
            }
        } else {
            stats::dec(&self.shared.stats.incoming);
            if let Some(l) = self.listeners.get_mut(&conn.server) {
                l.open = l.open.saturating_sub(1);
            }
        }
        // A descriptor just came free: a listener waiting out EMFILE may accept again now.
        let now = Instant::now();
        let paused: Vec<Id> = self
            .listeners
            .iter()
            .filter(|(_, l)| l.paused)
            .map(|(id, _)| *id)
            .collect();
        for lid in paused {
            self.timers.schedule(now, TimerKey::AcceptRetry(lid));
        }
        sink.event(Event::Released { id });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn families_alternate_starting_with_the_first() {
        let v4 = |n: u8| SocketAddr::from(([10, 0, 0, n], 80));
        let v6 = |n: u16| SocketAddr::from(([0, 0, 0, 0, 0, 0, 0, n], 80));
        let out = interleave_families(vec![v6(1), v6(2), v6(3), v4(1)]);
        assert_eq!(out, vec![v6(1), v4(1), v6(2), v6(3)]);
        let out = interleave_families(vec![v4(1), v4(2), v6(1)]);
        assert_eq!(out, vec![v4(1), v6(1), v4(2)]);
    }
}
