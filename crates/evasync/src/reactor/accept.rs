//! Listening and accepting. Running out of descriptors (EMFILE) does not stop a server: it
//! keeps serving what is open, reports the condition once per episode, and accepts again when a
//! descriptor frees (or after a backoff).

use std::io;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use mio::{Interest, Token};

use crate::config::ServerOptions;
use crate::conn::{flag, Conn, Filter, Io};
use crate::error::Error;
use crate::event::{Event, EventSink};
#[cfg(feature = "http")]
use crate::http::HttpConn;
use crate::id::Id;
use crate::net::addr::Endpoint;
use crate::net::listen::{BoundListener, ListenSocket};
use crate::reactor::{Reactor, Slot, TimerKey, Upper};
use crate::stats;
use crate::tls::session::TlsSession;

/// First wait before accepting again after running out of descriptors; doubles up to the max.
const ACCEPT_BACKOFF_MIN: Duration = Duration::from_millis(10);
/// Longest wait between accept retries while descriptors are exhausted.
const ACCEPT_BACKOFF_MAX: Duration = Duration::from_secs(1);

/// The OS listening socket of a [`Listener`].
pub(super) enum ListenerSock {
    Tcp(mio::net::TcpListener),
    /// A Unix listener and the socket file it removes when it goes (held for its `Drop`).
    #[cfg(unix)]
    Unix(
        mio::net::UnixListener,
        #[allow(dead_code)] crate::net::listen::UnixFile,
    ),
}

impl ListenerSock {
    /// Accepts one connection: its stream and, for TCP, the peer's address.
    fn accept(&self) -> io::Result<(Io, Option<SocketAddr>)> {
        match self {
            ListenerSock::Tcp(l) => l.accept().map(|(s, a)| (Io::Tcp(s), Some(a))),
            #[cfg(unix)]
            ListenerSock::Unix(l, _) => l.accept().map(|(s, _)| (Io::Unix(s), None)),
        }
    }

    /// "accept on …" for messages.
    fn describe(&self) -> String {
        match self {
            ListenerSock::Tcp(l) => match l.local_addr() {
                Ok(a) => format!("accept on {a}"),
                Err(_) => "accept".into(),
            },
            #[cfg(unix)]
            ListenerSock::Unix(l, _) => match l.local_addr() {
                Ok(a) => format!(
                    "accept on {}",
                    crate::net::addr::Endpoint::Unix(crate::net::unix::path_of(&a))
                ),
                Err(_) => "accept".into(),
            },
        }
    }

    fn register(&mut self, registry: &mio::Registry, token: Token) -> io::Result<()> {
        match self {
            ListenerSock::Tcp(l) => registry.register(l, token, Interest::READABLE),
            #[cfg(unix)]
            ListenerSock::Unix(l, _) => registry.register(l, token, Interest::READABLE),
        }
    }

    pub fn deregister(&mut self, registry: &mio::Registry) {
        let _ = match self {
            ListenerSock::Tcp(l) => registry.deregister(l),
            #[cfg(unix)]
            ListenerSock::Unix(l, _) => registry.deregister(l),
        };
    }
}

/// A listening socket held by the reactor.
pub(super) struct Listener {
    pub sock: ListenerSock,
    opts: ServerOptions,
    /// Accepted sockets still held.
    pub open: usize,
    /// Accepting is paused after EMFILE/ENFILE until the retry timer fires.
    pub paused: bool,
    /// The exhaustion of this episode was reported already. An episode ends when the accept
    /// queue is drained (WouldBlock), not at the first successful accept: while descriptors
    /// free one at a time, accepts succeed and fail in turn, and that is still one episode.
    reported: bool,
    backoff: Duration,
    /// Set for HTTP servers: accepted connections speak HTTP.
    http: Option<super::HttpServing>,
    /// The address accepted sockets have on our side, when the listener is bound to one
    /// address (not a wildcard) or is a Unix socket (its path): saves asking the OS
    /// (`getsockname`) for every connection.
    local: Option<Endpoint>,
}

impl Listener {
    /// The TLS configuration of accepted connections, if they speak TLS.
    pub fn tls_config(&self) -> Option<&crate::tls::TlsServerConfig> {
        self.opts.tls.as_ref()
    }
}

/// True for the accept errors that mean "out of descriptors or memory": keep serving, retry later.
fn is_resource_exhaustion(e: &io::Error) -> bool {
    matches!(
        e.raw_os_error(),
        Some(libc::EMFILE) | Some(libc::ENFILE) | Some(libc::ENOBUFS) | Some(libc::ENOMEM)
    )
}

impl Reactor {
    /// Serves a bound listener; accepted connections speak HTTP when `http` is given.
    pub(super) fn listen(
        &mut self,
        id: Id,
        bound: BoundListener,
        opts: ServerOptions,
        http: Option<super::HttpServing>,
    ) {
        let mut sock = match bound.inner {
            ListenSocket::Tcp(l) => ListenerSock::Tcp(mio::net::TcpListener::from_std(l)),
            #[cfg(unix)]
            ListenSocket::Unix(l, file) => {
                ListenerSock::Unix(mio::net::UnixListener::from_std(l), file)
            }
        };
        if sock
            .register(self.poll.registry(), Token(id as usize))
            .is_err()
        {
            return;
        }
        let local = match &sock {
            ListenerSock::Tcp(l) => l
                .local_addr()
                .ok()
                .filter(|a| !a.ip().is_unspecified())
                .map(Endpoint::Inet),
            #[cfg(unix)]
            ListenerSock::Unix(l, _) => l
                .local_addr()
                .ok()
                .map(|a| Endpoint::Unix(crate::net::unix::path_of(&a))),
        };
        self.listeners.insert(
            id,
            Listener {
                sock,
                opts,
                open: 0,
                paused: false,
                reported: false,
                backoff: Duration::ZERO,
                http,
                local,
            },
        );
        stats::inc(&self.shared.stats.servers);
    }

    pub(super) fn close_server(&mut self, id: Id) {
        if let Some(mut l) = self.listeners.remove(&id) {
            l.sock.deregister(self.poll.registry());
            stats::dec(&self.shared.stats.servers);
        }
    }

    pub(super) fn accept_ready(&mut self, id: Id, sink: &mut dyn EventSink) {
        for _ in 0..self.cfg.accept_budget {
            let Some(l) = self.listeners.get_mut(&id) else {
                return;
            };
            if l.paused {
                return;
            }
            match l.sock.accept() {
                Ok((io, remote)) => {
                    l.backoff = Duration::ZERO;
                    if l.opts.max_connections.is_some_and(|max| l.open >= max) {
                        // Over the limit: accepted and closed at once, as the contract says.
                        drop(io);
                        continue;
                    }
                    l.open += 1;
                    let opts = l.opts.clone();
                    let http = l.http.clone();
                    let local = l.local.clone();
                    self.adopt_accepted(id, io, (local, remote), &opts, http, sink);
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
                    let op = l.sock.describe();
                    self.timers.schedule(at, TimerKey::AcceptRetry(id));
                    if report {
                        sink.event(Event::ServerError {
                            id,
                            error: Error::io(op, &e),
                        });
                    }
                    return;
                }
                Err(e) => {
                    sink.event(Event::ServerError {
                        id,
                        error: Error::io("accept", &e),
                    });
                    return;
                }
            }
        }
        if !self.pending_accept.contains(&id) {
            self.pending_accept.push(id);
        }
    }

    pub(super) fn accept_retry(&mut self, id: Id, sink: &mut dyn EventSink) {
        if let Some(l) = self.listeners.get_mut(&id) {
            if l.paused {
                l.paused = false;
                self.accept_ready(id, sink);
            }
        }
    }

    /// A descriptor just came free: listeners waiting out EMFILE may accept again now.
    pub(super) fn descriptor_freed(&mut self) {
        for (lid, l) in self.listeners.iter() {
            if l.paused {
                self.timers
                    .schedule(Instant::now(), TimerKey::AcceptRetry(*lid));
            }
        }
    }

    fn adopt_accepted(
        &mut self,
        server: Id,
        mut io: Io,
        (local, remote): (Option<Endpoint>, Option<SocketAddr>),
        opts: &ServerOptions,
        http: Option<super::HttpServing>,
        sink: &mut dyn EventSink,
    ) {
        let id = self.handle().next_id();
        io.apply_options(opts.no_delay, opts.keep_alive);
        if io
            .register(self.poll.registry(), Token(id as usize))
            .is_err()
        {
            if let Some(l) = self.listeners.get_mut(&server) {
                l.open -= 1;
            }
            return;
        }
        let fd = io.fd();
        let local = local.or_else(|| io.local_addr());
        let remote_end = remote.map(Endpoint::Inet).or_else(|| io.peer_addr());
        // HTTP enforces its own timeouts and handles the peer's FIN itself.
        let mut conn = Conn::accepted(io, remote, opts.allow_half_open || http.is_some());
        let upper = match &http {
            #[cfg(feature = "http")]
            Some(h) => {
                stats::inc(&self.shared.stats.http_incoming);
                Upper::HttpServer(Box::new(HttpConn::new(h.clone(), self.clock.instant())))
            }
            #[cfg(not(feature = "http"))]
            Some(never) => match *never {},
            None => {
                stats::inc(&self.shared.stats.incoming);
                conn.set_timeouts(opts.read_timeout, opts.write_timeout, Instant::now());
                Upper::Raw
            }
        };
        let tls = opts.tls.as_ref().map(|cfg| {
            conn.filter = Filter::Tls(Box::new(TlsSession::server(cfg)));
            cfg.handshake_timeout
        });
        if tls.is_none() {
            conn.flags |= flag::ANNOUNCED;
        }
        self.conns.insert(
            id,
            Slot {
                conn,
                upper,
                server,
            },
        );
        #[cfg(feature = "http")]
        if http.is_some() {
            self.http_arm(id);
        } else {
            self.arm_read_timer(id);
        }
        #[cfg(not(feature = "http"))]
        {
            self.arm_read_timer(id);
        }
        match tls {
            // Announced once the handshake is done.
            Some(timeout) => self.arm_handshake_timer(id, timeout),
            None => {
                if let (Some(local), Some(remote)) = (local, remote_end) {
                    sink.event(Event::Accepted {
                        server,
                        id,
                        fd,
                        local,
                        remote,
                    });
                }
            }
        }
    }
}
