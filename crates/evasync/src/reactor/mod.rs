//! The reactor: one mio `Poll`, the timer queue, every connection and listener, and the command
//! intake. It is the one room that knows every concept: [`Reactor::turn`] routes readiness,
//! expired timers and commands to the area that owns them — accepting and connecting, the
//! connection's read and write steps, timeouts and closing, the HTTP server and client, DNS —
//! each in a file of its own under this module. The layers below (`conn`, `http`, `dns`) never
//! call back up: they return outcomes and the reactor decides.

mod accept;
mod close;
mod command;
mod connect;
mod dns;
mod handle;
#[cfg(feature = "http")]
mod http_client;
#[cfg(feature = "http")]
mod http_server;
mod io;
mod ops;
#[cfg(unix)]
mod process;
mod timeouts;
mod timers;
mod tls;
mod wakeups;

use std::io::ErrorKind;
use std::sync::Arc;
use std::time::{Duration, Instant};

use mio::{Events, Poll, Token};

use crate::clock::TurnClock;
use crate::config::ReactorConfig;
use crate::conn::table::ConnTable;
use crate::conn::Conn;
use crate::dns::DnsState;
use crate::event::EventSink;
#[cfg(feature = "http")]
use crate::http::client::{ClientConn, Pools};
#[cfg(feature = "http")]
use crate::http::parse::{HeaderSpan, PreparedHeaders};
#[cfg(feature = "http")]
use crate::http::{HttpConn, SpareBuffers};
use crate::id::{Id, IdMap};
use crate::stats::StatsSnapshot;
use crate::timer::TimerQueue;

pub use command::TlsSide;
pub(crate) use command::{Command, ConnectTarget};
use handle::Shared;
pub use handle::{Handle, Notifier};
pub use wakeups::poll_bits;

/// The waker's token: ids are u32, so this can never collide with one.
const WAKER: Token = Token(usize::MAX);

/// What a timer-queue entry is for. Socket entries carry the socket's timer generation so that
/// entries made before a timeout was changed are recognised as stale.
#[derive(Debug, Clone, Copy)]
enum TimerKey {
    User(Id),
    Read(Id, u32),
    Write(Id, u32),
    Connect(Id, u32),
    /// Happy Eyeballs: time to start the next connection attempt.
    Stagger(Id, u32),
    AcceptRetry(Id),
    /// An HTTP connection's request or keep-alive deadline (see `http_arm`).
    #[cfg(feature = "http")]
    Http(Id),
    /// An HTTP client request's whole-exchange timeout.
    #[cfg(feature = "http")]
    ClientTimeout(Id),
    /// An idle pooled client connection's expiry (with its idle generation).
    #[cfg(feature = "http")]
    ClientIdle(Id, u32),
    /// A TLS handshake's deadline (acts only if the handshake is still going on).
    Handshake(Id),
    /// A Unix socket connect that met a full backlog tries again (with its generation).
    UnixRetry(Id, u32),
    /// The deadline of a DNS query's try on this thread: the query id, the try's number.
    DnsTry(u16, u32),
}

/// The `upper` layer of a connection: who reads what the connection delivers.
enum Upper {
    /// The application, through events (cl-async's readCb/eventCb).
    Raw,
    /// An HTTP server connection.
    #[cfg(feature = "http")]
    HttpServer(Box<HttpConn>),
    /// A pooled HTTP client connection.
    #[cfg(feature = "http")]
    HttpClient(Box<ClientConn>),
}

/// What makes a new outgoing connection a pooled HTTP client connection (`None`: the
/// application's). Uninhabited without the `http` feature.
#[cfg(feature = "http")]
type ClientUpper = Box<ClientConn>;
#[cfg(not(feature = "http"))]
type ClientUpper = NoHttp;

/// What makes a listener's connections HTTP server connections (`None`: the application's).
/// Uninhabited without the `http` feature.
#[cfg(feature = "http")]
type HttpServing = Arc<crate::http::HttpServerOptions>;
#[cfg(not(feature = "http"))]
type HttpServing = NoHttp;

/// Stands for the HTTP layers in a build without them: no value of it exists.
#[cfg(not(feature = "http"))]
#[derive(Clone)]
enum NoHttp {}

/// The `server` of a connection that is a child process's pipe: counted as neither incoming
/// nor outgoing.
const PIPE: Id = Id::MAX;

/// A connection and what the reactor keeps beside it.
struct Slot {
    conn: Conn,
    upper: Upper,
    /// The listener that accepted it, or 0 for outgoing connections.
    server: Id,
}

/// The HTTP server's turn-wide state.
#[cfg(feature = "http")]
#[derive(Default)]
struct HttpState {
    /// Header spans of the head being parsed, shared by every connection.
    headers: Vec<HeaderSpan>,
    /// Connections with response bytes to write at the end of the command batch.
    flush_list: Vec<Id>,
    /// Scratch for the header fields of batched responses.
    prepared: PreparedHeaders,
    /// Response buffers of idle connections, lent to busy ones.
    spare: SpareBuffers,
}

/// The reactor. See the crate docs.
pub struct Reactor {
    poll: Poll,
    events: Events,
    shared: Arc<Shared>,
    cfg: ReactorConfig,
    scratch: Box<[u8]>,
    timers: TimerQueue<TimerKey>,
    user_timers: IdMap<timers::UserTimer>,
    conns: ConnTable<Slot>,
    listeners: IdMap<accept::Listener>,
    /// Connection attempts of Happy Eyeballs races: attempt token id → connection id.
    racers: IdMap<Id>,
    /// Sockets with more to read than one turn's budget allowed (or held back by backpressure).
    pending_read: Vec<Id>,
    /// Listeners with more connections waiting than one turn's budget allowed.
    pending_accept: Vec<Id>,
    inbox: Vec<Command>,
    stopped: bool,
    /// The turn's one clock read (and the `Date` header value).
    clock: TurnClock,
    #[cfg(feature = "http")]
    http: HttpState,
    #[cfg(feature = "http")]
    pools: Pools,
    dns: DnsState,
    /// Children whose exit is awaited.
    #[cfg(unix)]
    processes: crate::process::Processes,
    /// Notifiers, polled descriptors, signals.
    wakeups: wakeups::Wakeups,
}

impl Reactor {
    /// A reactor with its own poll instance and waker.
    pub fn new(cfg: ReactorConfig) -> std::io::Result<Reactor> {
        let poll = Poll::new()?;
        let shared = Shared::new(mio::Waker::new(poll.registry(), WAKER)?);
        Ok(Reactor {
            events: Events::with_capacity(cfg.events_capacity),
            scratch: vec![0u8; cfg.scratch_size].into_boxed_slice(),
            poll,
            shared: Arc::new(shared),
            cfg,
            timers: TimerQueue::new(),
            user_timers: IdMap::default(),
            conns: ConnTable::default(),
            listeners: IdMap::default(),
            racers: IdMap::default(),
            pending_read: Vec::new(),
            pending_accept: Vec::new(),
            inbox: Vec::new(),
            stopped: false,
            clock: TurnClock::default(),
            #[cfg(feature = "http")]
            http: HttpState::default(),
            #[cfg(feature = "http")]
            pools: Pools::default(),
            dns: DnsState::default(),
            #[cfg(unix)]
            processes: Default::default(),
            wakeups: wakeups::Wakeups::default(),
        })
    }

    /// A handle for queuing commands, from any thread.
    pub fn handle(&self) -> Handle {
        Handle::new(self.shared.clone())
    }

    /// Makes commands submitted through handles wait for [`Reactor::apply_queued`] instead of
    /// waking the poll: for a driver that runs the reactor on the thread that submits, and
    /// applies after each submission itself (a wake would be a syscall and a wasted turn).
    pub fn set_driven_locally(&self, local: bool) {
        self.shared.set_quiet(local);
    }

    /// The OS descriptor of the poll instance (epoll/kqueue): readable when a turn has work. Lets
    /// another event loop (libuv) drive this reactor.
    #[cfg(unix)]
    pub fn poll_fd(&self) -> i32 {
        use std::os::fd::AsRawFd;
        self.poll.as_raw_fd()
    }

    /// True once the reactor was told to exit.
    pub fn stopped(&self) -> bool {
        self.stopped
    }

    /// True while anything would produce an event: a timer, a socket, a listener, a query.
    pub fn is_alive(&self) -> bool {
        !self.user_timers.is_empty()
            || !self.conns.is_empty()
            || !self.listeners.is_empty()
            || self.dns.in_flight() > 0
            || self.http_clients_busy()
            || self.has_processes()
            || self.wakeups.alive()
    }

    /// Pooled client connections with a request on them (idle ones keep nothing alive).
    fn http_clients_busy(&self) -> bool {
        #[cfg(feature = "http")]
        return self.pools.busy();
        #[cfg(not(feature = "http"))]
        false
    }

    #[cfg(unix)]
    fn has_processes(&self) -> bool {
        !self.processes.is_empty()
    }

    #[cfg(not(unix))]
    fn has_processes(&self) -> bool {
        false
    }

    /// True when a turn has work without waiting for the OS: sockets or listeners left over from
    /// a read or accept budget, commands queued by other threads, pollers whose condition held.
    pub fn has_pending_work(&self) -> bool {
        !self.pending_read.is_empty()
            || !self.pending_accept.is_empty()
            || self.shared.has_queued()
            || self.wakeups.busy()
    }

    /// The earliest timer deadline, for drivers that arm their own timer.
    pub fn next_deadline(&self) -> Option<Instant> {
        self.timers.next_deadline()
    }

    /// The counters.
    pub fn stats(&self) -> StatsSnapshot {
        self.shared.stats.snapshot()
    }

    /// Bytes of socket `id` handed to the kernel so far (None for an unknown id). Lets a driver
    /// that applies writes synchronously tell the caller at once what went out.
    pub fn flushed_total(&self, id: Id) -> Option<u64> {
        self.conns.get(&id).map(|s| s.conn.flushed)
    }

    /// Runs turns until nothing is left alive and no command is queued, or until exit.
    pub fn run(&mut self, sink: &mut dyn EventSink) -> std::io::Result<()> {
        while !self.stopped && (self.is_alive() || self.shared.has_queued()) {
            self.turn(None, sink)?;
        }
        Ok(())
    }

    /// One turn: apply queued commands, wait for readiness up to `timeout` (shortened by the next
    /// timer deadline; zero when work is already waiting), dispatch readiness, take DNS answers,
    /// run what a budget left over, fire due timers.
    pub fn turn(
        &mut self,
        timeout: Option<Duration>,
        sink: &mut dyn EventSink,
    ) -> std::io::Result<()> {
        self.apply_queued(sink);
        if self.stopped {
            return Ok(());
        }
        let mut timeout = timeout;
        let work_waiting = (!self.pending_read.is_empty() && !sink.backpressured())
            || !self.pending_accept.is_empty()
            || self.wakeups.busy();
        if work_waiting {
            timeout = Some(Duration::ZERO);
        } else if timeout != Some(Duration::ZERO) {
            if let Some(deadline) = self.timers.next_deadline() {
                let until = deadline.saturating_duration_since(Instant::now());
                timeout = Some(timeout.map_or(until, |t| t.min(until)));
            }
        }
        if let Err(e) = self.poll.poll(&mut self.events, timeout) {
            if e.kind() != ErrorKind::Interrupted {
                return Err(e);
            }
        }
        // The turn's one clock read: request deadlines, the Date header and timers use it.
        self.clock.refresh();
        self.dispatch_readiness(sink);
        self.take_dns_answers(sink);
        self.apply_queued(sink);
        self.run_pending(sink);
        #[cfg(unix)]
        self.pollers_level(sink);
        self.fire_timers(sink);
        Ok(())
    }

    /// Routes each readiness event to its listener, connection attempt or connection.
    fn dispatch_readiness(&mut self, sink: &mut dyn EventSink) {
        let mut events = std::mem::replace(&mut self.events, Events::with_capacity(0));
        for ev in events.iter() {
            let token = ev.token();
            if token == WAKER {
                continue;
            }
            #[cfg(unix)]
            if token == wakeups::SIGNALS {
                self.signals_ready(sink);
                continue;
            }
            if let Some(slot) = crate::dns::stub_slot_of(token) {
                self.dns_socket_ready(slot, sink);
                continue;
            }
            let id = token.0 as Id;
            let readable = ev.is_readable() || ev.is_read_closed() || ev.is_error();
            let writable = ev.is_writable() || ev.is_write_closed();
            if self.listeners.contains_key(&id) {
                self.accept_ready(id, sink);
            } else if self.is_process(id) {
                self.process_ready_any(id, sink);
            } else if self.wakeups.is_poller(id) {
                #[cfg(unix)]
                self.poller_ready(id, sink);
            } else if let Some(owner) = self.racers.get(&id).copied() {
                self.racer_ready(owner, id, readable, ev.is_read_closed(), sink);
            } else {
                self.socket_ready(id, readable, writable, ev.is_read_closed(), sink);
            }
        }
        events.clear();
        self.events = events;
    }

    #[cfg(unix)]
    fn is_process(&self, id: Id) -> bool {
        self.processes.contains_key(&id)
    }

    #[cfg(not(unix))]
    fn is_process(&self, _id: Id) -> bool {
        false
    }

    #[cfg(unix)]
    fn process_ready_any(&mut self, id: Id, sink: &mut dyn EventSink) {
        self.process_ready(id, sink);
    }

    #[cfg(not(unix))]
    fn process_ready_any(&mut self, _id: Id, _sink: &mut dyn EventSink) {}

    /// Applies every queued command, in order, then writes what they deferred.
    pub fn apply_queued(&mut self, sink: &mut dyn EventSink) {
        if !self.shared.take_queued(&mut self.inbox) {
            return;
        }
        let mut inbox = std::mem::take(&mut self.inbox);
        for cmd in inbox.drain(..) {
            if self.stopped {
                break;
            }
            self.apply(cmd, sink);
        }
        self.inbox = inbox;
        #[cfg(feature = "http")]
        self.flush_deferred(sink);
    }

    /// Applies one command.
    fn apply(&mut self, cmd: Command, sink: &mut dyn EventSink) {
        match cmd {
            Command::Delay {
                id,
                deadline,
                interval,
            } => self.timer_add(id, deadline, interval),
            Command::TimerFree { id } => self.timer_free(id),
            Command::Listen { id, listener, opts } => self.listen(id, listener, opts, None),
            #[cfg(feature = "http")]
            Command::HttpListen { id, listener, opts } => self.http_listen(id, listener, *opts),
            #[cfg(feature = "http")]
            Command::HttpRespond { id, seq, response } => {
                self.http_date_refresh();
                self.http_respond_owned(id, seq, &response, true, sink)
            }
            #[cfg(feature = "http")]
            Command::HttpStart { id, seq, response } => {
                self.http_date_refresh();
                self.http_respond_owned(id, seq, &response, false, sink)
            }
            #[cfg(feature = "http")]
            Command::HttpChunk { id, seq, data } => {
                self.http_response(id, seq, http_server::Part::Chunk(&data), sink)
            }
            #[cfg(feature = "http")]
            Command::HttpFinish { id, seq } => {
                self.http_response(id, seq, http_server::Part::End, sink)
            }
            #[cfg(feature = "http")]
            Command::HttpCloseServer { id, graceful } => self.http_close_server(id, graceful, sink),
            Command::Ops { ops, data } => self.apply_ops(&ops, &data, None, sink),
            #[cfg(feature = "http")]
            Command::HttpRequest { id, request } => self.client_request(id, request, sink),
            Command::CloseServer { id, closed } => {
                self.close_server(id);
                if let Some(tell) = closed {
                    // The waiter may have given up; nothing to do then.
                    let _ = tell.send(());
                }
            }
            Command::Connect { id, target, opts } => self.connect(id, target, opts, None, sink),
            Command::DnsQuery { id, query } => {
                self.dns_query(id, query, crate::dns::DnsPurpose::User, sink)
            }
            Command::DnsConfigure(cfg) => self.dns.configure(cfg),
            Command::DnsClearCache => self.dns.clear_cache(),
            Command::Write {
                id,
                data,
                notify_at,
            } => self.write(id, data, notify_at, sink),
            Command::NotifyFlushed { id, at } => self.notify_flushed(id, at, sink),
            Command::SetTimeouts { id, read, write } => self.set_timeouts(id, read, write),
            Command::Enable { id, read, write } => self.enable(id, read, write, sink),
            Command::Shutdown { id } => self.shutdown(id, sink),
            Command::Close { id, force } => self.close(id, force, sink),
            Command::StartTls { id, side } => self.start_tls(id, side, sink),
            Command::TlsConfigure { id, answer } => self.tls_configure(id, answer, sink),
            #[cfg(unix)]
            Command::AdoptProcess { id, started, pipes } => {
                self.adopt_process(id, *started, pipes, sink)
            }
            #[cfg(unix)]
            Command::ProcessExited { id } => self.process_ready(id, sink),
            #[cfg(feature = "http")]
            Command::ClientPause { id, paused } => self.client_pause(id, paused, sink),
            #[cfg(feature = "http")]
            Command::ClientCancel { id } => self.client_cancel(id, sink),
            Command::NotifierAdd { id, state } => self.notifier_add(id, state),
            Command::Notify { id } => self.notified(id, sink),
            Command::NotifierFree { id } => self.notifier_free(id),
            #[cfg(unix)]
            Command::PollAdd { id, fd, want } => self.poller_add(id, fd, want, sink),
            #[cfg(unix)]
            Command::PollFree { id } => self.poller_free(id),
            #[cfg(unix)]
            Command::SignalAdd { id, signo } => self.signal_add(id, signo, sink),
            #[cfg(unix)]
            Command::SignalFree { id } => self.signal_free(id),
            Command::Exit => self.exit(),
        }
    }

    /// Drops everything without reporting; pending writes are lost, as `exitEventLoop` says.
    fn exit(&mut self) {
        for (_, mut slot) in self.conns.drain() {
            if let Some(io) = slot.conn.io.as_mut() {
                io.deregister(self.poll.registry());
            }
        }
        for (_, mut l) in self.listeners.drain() {
            l.sock.deregister(self.poll.registry());
        }
        self.user_timers.clear();
        self.timers.clear();
        self.pending_read.clear();
        self.pending_accept.clear();
        #[cfg(feature = "http")]
        self.http.flush_list.clear();
        self.racers.clear();
        #[cfg(feature = "http")]
        {
            self.pools = Pools::default();
        }
        self.dns = DnsState::default();
        #[cfg(unix)]
        self.let_children_go();
        self.wakeups = wakeups::Wakeups::default();
        self.shared.stats.reset_counts();
        self.stopped = true;
    }
}
