//! The reactor: one mio `Poll`, the timer queue, every socket and listener, and the command
//! intake. [`Reactor::turn`] is one step (apply commands, poll, dispatch readiness, fire timers);
//! drivers call it in a loop on a thread of their own or from another event loop.

use std::io;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use mio::{Events, Poll, Token, Waker};

use crate::command::{Command, ConnectTarget};
use crate::config::{ConnectOptions, ReactorConfig, ServerOptions};
use crate::dns::reactor_dns::DnsPurpose;
use crate::dns::{DnsConfig, DnsThread};
use crate::event::{Event, EventSink};
use crate::http::reactor_http::ResponsePart;
use crate::http::{HttpServerOptions, Response};
use crate::id::{Id, IdMap};
use crate::stats::{self, Stats, StatsSnapshot};
use crate::tcp::listen::{bind_listener, BoundListener};
use crate::tcp::reactor_tcp::Listener;
use crate::tcp::table::ConnTable;
use crate::timer::TimerQueue;

/// The waker's token: ids are u32, so this can never collide with one.
const WAKER: Token = Token(usize::MAX);

/// What a timer-queue entry is for. Socket entries carry the socket's timer generation so that
/// entries made before a timeout was changed are recognised as stale.
#[derive(Debug, Clone, Copy)]
pub(crate) enum TimerKey {
    User(Id),
    Read(Id, u32),
    Write(Id, u32),
    Connect(Id, u32),
    /// Happy Eyeballs: time to start the next connection attempt.
    Stagger(Id, u32),
    AcceptRetry(Id),
    /// An HTTP connection's request or keep-alive deadline (see `http_arm`).
    Http(Id),
    /// An HTTP client request's whole-exchange timeout.
    ClientTimeout(Id),
    /// An idle pooled client connection's expiry (with its idle generation).
    ClientIdle(Id, u32),
}

/// A user timer: one-shot or interval.
struct UserTimer {
    interval: Option<Duration>,
}

/// The part shared with [`Handle`]s on other threads.
pub(crate) struct Shared {
    queue: Mutex<Vec<Command>>,
    waker: Waker,
    next_id: AtomicU32,
    pub(crate) stats: Stats,
}

/// A cloneable, `Send` handle to a reactor: allocates ids and queues commands, waking the reactor
/// once per batch (when the queue goes from empty to non-empty).
#[derive(Clone)]
pub struct Handle {
    shared: Arc<Shared>,
}

/// The reactor. See the crate docs.
pub struct Reactor {
    pub(crate) poll: Poll,
    events: Events,
    pub(crate) shared: Arc<Shared>,
    pub(crate) cfg: ReactorConfig,
    pub(crate) scratch: Box<[u8]>,
    pub(crate) timers: TimerQueue<TimerKey>,
    user_timers: IdMap<UserTimer>,
    pub(crate) conns: ConnTable,
    pub(crate) listeners: IdMap<Listener>,
    /// Sockets with more to read than one turn's budget allowed (or held back by backpressure).
    pub(crate) pending_read: Vec<Id>,
    /// Listeners with more connections waiting than one turn's budget allowed.
    pub(crate) pending_accept: Vec<Id>,
    inbox: Vec<Command>,
    stopped: bool,
    /// Header spans of the head being parsed, shared by every HTTP connection.
    pub(crate) http_headers: Vec<evasync_http1::HeaderSpan>,
    /// The `Date` header value, formatted once a second.
    pub(crate) date: crate::http::DateCache,
    /// HTTP connections with response bytes to write at the end of the command batch.
    pub(crate) http_flush_list: Vec<Id>,
    /// Connection attempts of Happy Eyeballs races: attempt token id → connection id.
    pub(crate) racer_owner: IdMap<Id>,
    /// HTTP client pools and pending requests.
    pub(crate) client: crate::http::client::Client,
    /// The resolver thread, started on the first query.
    pub(crate) dns: Option<DnsThread>,
    /// Queries in flight, who asked, and the cache key of their answer.
    pub(crate) dns_queries: IdMap<(DnsPurpose, Option<crate::dns::cache::Key>)>,
    /// Answers kept on the reactor's side: a hit never leaves the reactor thread.
    pub(crate) dns_cache: crate::dns::cache::DnsCache,
    /// Name servers set for this reactor (None: the system's).
    pub(crate) dns_config: Option<DnsConfig>,
    /// Scratch for the header fields of batched responses.
    pub(crate) http_prepared: evasync_http1::PreparedHeaders,
}

fn lock(m: &Mutex<Vec<Command>>) -> MutexGuard<'_, Vec<Command>> {
    // A panic while holding this lock cannot leave the Vec inconsistent: recover it.
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Reactor {
    /// A reactor with its own poll instance and waker.
    pub fn new(cfg: ReactorConfig) -> io::Result<Reactor> {
        let poll = Poll::new()?;
        let waker = Waker::new(poll.registry(), WAKER)?;
        let shared = Arc::new(Shared {
            queue: Mutex::new(Vec::new()),
            waker,
            next_id: AtomicU32::new(1),
            stats: Stats::default(),
        });
        Ok(Reactor {
            events: Events::with_capacity(cfg.events_capacity),
            scratch: vec![0u8; cfg.scratch_size].into_boxed_slice(),
            poll,
            shared,
            cfg,
            timers: TimerQueue::new(),
            user_timers: IdMap::default(),
            conns: ConnTable::default(),
            listeners: IdMap::default(),
            pending_read: Vec::new(),
            pending_accept: Vec::new(),
            inbox: Vec::new(),
            stopped: false,
            http_headers: Vec::new(),
            date: crate::http::DateCache::default(),
            http_flush_list: Vec::new(),
            http_prepared: evasync_http1::PreparedHeaders::default(),
            racer_owner: IdMap::default(),
            client: crate::http::client::Client::default(),
            dns: None,
            dns_queries: IdMap::default(),
            dns_cache: crate::dns::cache::DnsCache::default(),
            dns_config: None,
        })
    }

    /// A handle for queuing commands, from any thread.
    pub fn handle(&self) -> Handle {
        Handle {
            shared: self.shared.clone(),
        }
    }

    /// The OS descriptor of the poll instance (epoll/kqueue): readable when a turn has work. Lets
    /// another event loop (libuv) drive this reactor.
    #[cfg(unix)]
    pub fn poll_fd(&self) -> i32 {
        use std::os::fd::AsRawFd;
        self.poll.as_raw_fd()
    }

    /// True once [`Command::Exit`] was applied.
    pub fn stopped(&self) -> bool {
        self.stopped
    }

    /// True while anything would produce an event: a timer, a socket, a listener.
    pub fn is_alive(&self) -> bool {
        !self.user_timers.is_empty()
            || !self.conns.is_empty()
            || !self.listeners.is_empty()
            || !self.dns_queries.is_empty()
            || self.client_busy()
    }

    /// True when a turn has work without waiting for the OS: sockets or listeners left over from
    /// a read or accept budget, or commands queued by other threads.
    pub fn has_pending_work(&self) -> bool {
        !self.pending_read.is_empty()
            || !self.pending_accept.is_empty()
            || !lock(&self.shared.queue).is_empty()
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
        self.conns.get(&id).map(|c| c.flushed)
    }

    /// Runs turns until nothing is left alive and no command is queued, or until `Exit`.
    pub fn run(&mut self, sink: &mut dyn EventSink) -> io::Result<()> {
        while !self.stopped && (self.is_alive() || !lock(&self.shared.queue).is_empty()) {
            self.turn(None, sink)?;
        }
        Ok(())
    }

    /// One turn: apply queued commands, wait for readiness up to `timeout` (shortened by the next
    /// timer deadline; zero when work is already waiting), dispatch readiness, fire due timers.
    pub fn turn(&mut self, timeout: Option<Duration>, sink: &mut dyn EventSink) -> io::Result<()> {
        self.apply_queued(sink);
        if self.stopped {
            return Ok(());
        }
        let mut timeout = timeout;
        let work_waiting = (!self.pending_read.is_empty() && !sink.backpressured())
            || !self.pending_accept.is_empty();
        if work_waiting {
            timeout = Some(Duration::ZERO);
        } else if let Some(deadline) = self.timers.next_deadline() {
            let until = deadline.saturating_duration_since(Instant::now());
            timeout = Some(timeout.map_or(until, |t| t.min(until)));
        }
        if let Err(e) = self.poll.poll(&mut self.events, timeout) {
            if e.kind() != io::ErrorKind::Interrupted {
                return Err(e);
            }
        }
        if !self.events.is_empty() {
            self.date.refresh();
        }
        let mut events = std::mem::replace(&mut self.events, Events::with_capacity(0));
        for ev in events.iter() {
            let token = ev.token();
            if token == WAKER {
                continue;
            }
            let id = token.0 as Id;
            if self.listeners.contains_key(&id) {
                self.accept_ready(id, sink);
            } else {
                self.socket_ready(
                    id,
                    ev.is_readable() || ev.is_read_closed() || ev.is_error(),
                    ev.is_writable() || ev.is_write_closed(),
                    ev.is_read_closed(),
                    sink,
                );
            }
        }
        events.clear();
        self.events = events;
        self.apply_queued(sink);
        self.run_pending(sink);
        self.fire_timers(sink);
        Ok(())
    }

    /// Applies every queued command, in order.
    fn apply_queued(&mut self, sink: &mut dyn EventSink) {
        {
            let mut q = lock(&self.shared.queue);
            if q.is_empty() {
                return;
            }
            std::mem::swap(&mut *q, &mut self.inbox);
        }
        let mut inbox = std::mem::take(&mut self.inbox);
        for cmd in inbox.drain(..) {
            if self.stopped {
                break;
            }
            self.apply(cmd, sink);
        }
        self.inbox = inbox;
        self.flush_deferred(sink);
    }

    /// Applies one command now (drivers running on the reactor's own thread may call this
    /// directly instead of queuing).
    pub fn apply(&mut self, cmd: Command, sink: &mut dyn EventSink) {
        if let Command::HttpBatch { .. } = cmd {
            self.date.refresh();
        }
        match cmd {
            Command::Delay {
                id,
                deadline,
                interval,
            } => {
                self.user_timers.insert(id, UserTimer { interval });
                stats::inc(&self.shared.stats.timers);
                self.timers.schedule(deadline, TimerKey::User(id));
            }
            Command::TimerFree { id } => {
                if self.user_timers.remove(&id).is_some() {
                    stats::dec(&self.shared.stats.timers);
                    self.maybe_compact_timers();
                }
            }
            Command::Listen { id, listener, opts } => self.listen(id, listener, opts),
            Command::HttpListen { id, listener, opts } => self.http_listen(id, listener, *opts),
            Command::HttpRespond { id, seq, response } => {
                let part = ResponsePart::Whole {
                    status: response.status,
                    headers: &response.headers,
                    body: &response.body,
                    close: response.close,
                };
                self.http_response(id, seq, part, sink)
            }
            Command::HttpStart { id, seq, response } => {
                let part = ResponsePart::Head {
                    status: response.status,
                    headers: &response.headers,
                    close: response.close,
                };
                self.http_response(id, seq, part, sink)
            }
            Command::HttpChunk { id, seq, data } => {
                self.http_response(id, seq, ResponsePart::Chunk(&data), sink)
            }
            Command::HttpFinish { id, seq } => self.http_response(id, seq, ResponsePart::End, sink),
            Command::HttpCloseServer { id, graceful } => self.http_close_server(id, graceful, sink),
            Command::HttpBatch { ops, data } => self.http_batch(&ops, &data, sink),
            Command::HttpRequest { id, request } => self.client_request(id, request, sink),
            Command::CloseServer { id } => self.close_server(id),
            Command::Connect { id, target, opts } => self.connect(id, target, opts, sink),
            Command::DnsQuery { id, query } => self.dns_query(id, query, DnsPurpose::User, sink),
            Command::DnsDone {
                id,
                result,
                valid_until,
            } => self.dns_done(id, result, valid_until, sink),
            Command::DnsConfigure(cfg) => self.dns_configure(cfg),
            Command::DnsClearCache => self.dns_clear_cache(),
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
            Command::EmitTicks { count } => {
                for seq in 0..count {
                    sink.event(Event::Tick { seq });
                }
            }
            Command::Exit => self.exit(),
        }
    }

    /// Drops everything without reporting; pending writes are lost, as `exitEventLoop` says.
    fn exit(&mut self) {
        for (_, conn) in self.conns.drain() {
            if let Some(mut s) = conn.stream {
                let _ = self.poll.registry().deregister(&mut s);
            }
        }
        for (_, mut l) in self.listeners.drain() {
            let _ = self.poll.registry().deregister(&mut l.sock);
        }
        self.user_timers.clear();
        self.timers.clear();
        self.pending_read.clear();
        self.pending_accept.clear();
        let s = &self.shared.stats;
        self.http_flush_list.clear();
        self.dns_queries.clear();
        self.racer_owner.clear();
        self.client = crate::http::client::Client::default();
        self.dns = None;
        for c in [
            &s.dns,
            &s.http_outgoing,
            &s.incoming,
            &s.outgoing,
            &s.servers,
            &s.timers,
            &s.http_incoming,
        ] {
            c.store(0, Ordering::Relaxed);
        }
        self.stopped = true;
    }

    fn fire_timers(&mut self, sink: &mut dyn EventSink) {
        let now = Instant::now();
        let mark = self.timers.mark();
        while let Some((deadline, key)) = self.timers.pop_expired_before(now, mark) {
            match key {
                TimerKey::User(id) => {
                    let Some(t) = self.user_timers.get(&id) else {
                        continue;
                    };
                    match t.interval {
                        Some(period) => {
                            // Keep the cadence; if far behind, start again from now.
                            let mut next = deadline + period;
                            if next <= now {
                                next = now + period;
                            }
                            self.timers.schedule(next, TimerKey::User(id));
                        }
                        None => {
                            self.user_timers.remove(&id);
                            stats::dec(&self.shared.stats.timers);
                        }
                    }
                    sink.event(Event::TimerFired { id });
                }
                TimerKey::Read(id, gen) => self.read_timer_fired(id, gen, now, sink),
                TimerKey::Write(id, gen) => self.write_timer_fired(id, gen, now, sink),
                TimerKey::Connect(id, gen) => self.connect_timer_fired(id, gen, sink),
                TimerKey::Stagger(id, gen) => self.stagger_fired(id, gen, sink),
                TimerKey::AcceptRetry(id) => self.accept_retry(id, sink),
                TimerKey::Http(id) => self.http_timer_fired(id, deadline, now, sink),
                TimerKey::ClientTimeout(id) => self.client_timeout(id, sink),
                TimerKey::ClientIdle(id, gen) => self.client_idle_expired(id, gen, sink),
            }
        }
    }

    /// Freed user timers leave stale heap entries; when they outnumber live ones, sweep them.
    fn maybe_compact_timers(&mut self) {
        let live = self.user_timers.len() + 3 * self.conns.len() + self.listeners.len();
        if self.timers.len() > 4096 && self.timers.len() > 4 * live {
            let users = &self.user_timers;
            let conns = &self.conns;
            self.timers.retain(|k| match *k {
                TimerKey::User(id) => users.contains_key(&id),
                TimerKey::Read(id, g)
                | TimerKey::Write(id, g)
                | TimerKey::Connect(id, g)
                | TimerKey::Stagger(id, g) => conns.get(&id).is_some_and(|c| c.timer_gen == g),
                TimerKey::AcceptRetry(_)
                | TimerKey::ClientTimeout(_)
                | TimerKey::ClientIdle(..) => true,
                TimerKey::Http(id) => conns.get(&id).is_some_and(|c| c.http.is_some()),
            });
        }
    }
}

impl Handle {
    /// A fresh id for an object this handle is about to create.
    pub fn next_id(&self) -> Id {
        loop {
            let id = self.shared.next_id.fetch_add(1, Ordering::Relaxed);
            if id != 0 {
                return id;
            }
        }
    }

    /// Queues a command; wakes the reactor if the queue was empty.
    pub fn submit(&self, cmd: Command) {
        let was_empty = {
            let mut q = lock(&self.shared.queue);
            let was_empty = q.is_empty();
            q.push(cmd);
            was_empty
        };
        if was_empty {
            self.wake();
        }
    }

    /// Queues several commands with at most one wake-up.
    pub fn submit_all(&self, cmds: impl IntoIterator<Item = Command>) {
        let was_empty = {
            let mut q = lock(&self.shared.queue);
            let was_empty = q.is_empty();
            q.extend(cmds);
            was_empty && !q.is_empty()
        };
        if was_empty {
            self.wake();
        }
    }

    /// Wakes the reactor (for example when a backpressured sink caught up).
    pub fn wake(&self) {
        // A failed wake means the poll instance is gone: the reactor is shutting down.
        let _ = self.shared.waker.wake();
    }

    /// The counters.
    pub fn stats(&self) -> StatsSnapshot {
        self.shared.stats.snapshot()
    }

    /// Fires [`Event::TimerFired`] once after `after`.
    pub fn delay(&self, after: Duration) -> Id {
        let id = self.next_id();
        self.submit(Command::Delay {
            id,
            deadline: Instant::now() + after,
            interval: None,
        });
        id
    }

    /// Fires [`Event::TimerFired`] every `period`, the first time one period from now.
    pub fn interval(&self, period: Duration) -> Id {
        let id = self.next_id();
        self.submit(Command::Delay {
            id,
            deadline: Instant::now() + period,
            interval: Some(period),
        });
        id
    }

    /// Cancels a timer.
    pub fn free_timer(&self, id: Id) {
        self.submit(Command::TimerFree { id });
    }

    /// Binds `addr` now (so the port is known on return) and serves it on the reactor.
    /// Accepted sockets arrive as [`Event::Accepted`].
    pub fn tcp_server(
        &self,
        addr: SocketAddr,
        opts: ServerOptions,
    ) -> io::Result<(Id, SocketAddr)> {
        let listener = bind_listener(addr, -1, true, false)?;
        Ok(self.serve(listener, opts))
    }

    /// Serves an already bound listener.
    pub fn serve(&self, listener: BoundListener, opts: ServerOptions) -> (Id, SocketAddr) {
        let id = self.next_id();
        let local = listener.local;
        self.submit(Command::Listen { id, listener, opts });
        (id, local)
    }

    /// Binds `addr` now and serves HTTP on it: requests arrive as [`Event::HttpRequest`]
    /// (connections as [`Event::Accepted`] and [`Event::Released`]); answer with
    /// [`Handle::http_respond`] or the streamed `http_start`/`http_chunk`/`http_finish`.
    pub fn http_server(
        &self,
        addr: SocketAddr,
        opts: HttpServerOptions,
    ) -> io::Result<(Id, SocketAddr)> {
        let listener = bind_listener(addr, -1, true, false)?;
        Ok(self.http_serve(listener, opts))
    }

    /// Serves HTTP on an already bound listener.
    pub fn http_serve(&self, listener: BoundListener, opts: HttpServerOptions) -> (Id, SocketAddr) {
        let id = self.next_id();
        let local = listener.local;
        self.submit(Command::HttpListen {
            id,
            listener,
            opts: Box::new(opts),
        });
        (id, local)
    }

    /// Answers request `seq` of connection `id` with a whole response.
    pub fn http_respond(&self, id: Id, seq: u32, response: Response) {
        self.submit(Command::HttpRespond { id, seq, response });
    }

    /// Starts a streamed response (chunked for HTTP/1.1 unless a `Content-Length` is given).
    pub fn http_start(&self, id: Id, seq: u32, response: Response) {
        self.submit(Command::HttpStart { id, seq, response });
    }

    /// A piece of a streamed response.
    pub fn http_chunk(&self, id: Id, seq: u32, data: impl Into<Vec<u8>>) {
        self.submit(Command::HttpChunk {
            id,
            seq,
            data: data.into(),
        });
    }

    /// Ends a streamed response.
    pub fn http_finish(&self, id: Id, seq: u32) {
        self.submit(Command::HttpFinish { id, seq });
    }

    /// Stops an HTTP server: gracefully (idle connections close, busy ones finish with
    /// `Connection: close`) or by aborting every connection.
    pub fn http_close_server(&self, id: Id, graceful: bool) {
        self.submit(Command::HttpCloseServer { id, graceful });
    }

    /// Looks a name (or, with [`crate::dns::DnsQuery::Reverse`], an address) up; [`Event::DnsResolved`]
    /// follows with the returned id.
    pub fn dns_lookup(&self, query: crate::dns::DnsQuery) -> Id {
        let id = self.next_id();
        self.submit(Command::DnsQuery { id, query });
        id
    }

    /// Sends an HTTP request on a pooled connection; [`Event::HttpResponse`] or
    /// [`Event::HttpClientFailed`] follows with the returned id.
    pub fn http_client(&self, request: crate::http::client::ClientRequest) -> Id {
        let id = self.next_id();
        self.submit(Command::HttpRequest { id, request });
        id
    }

    /// Connects to `host:port` (an IP literal or a name); [`Event::Connected`] or
    /// [`Event::Failed`] follows.
    pub fn tcp_connect(&self, host: &str, port: u16, opts: ConnectOptions) -> Id {
        let id = self.next_id();
        self.submit(Command::Connect {
            id,
            target: ConnectTarget::Host(host.to_string(), port),
            opts,
        });
        id
    }

    /// Queues bytes on a socket.
    pub fn write(&self, id: Id, data: impl Into<Vec<u8>>) {
        self.submit(Command::Write {
            id,
            data: data.into(),
            notify_at: None,
        });
    }

    /// Closes a socket gracefully (flush, FIN) or by force (reset).
    pub fn close(&self, id: Id, force: bool) {
        self.submit(Command::Close { id, force });
    }

    /// Stops accepting on a server.
    pub fn close_server(&self, id: Id) {
        self.submit(Command::CloseServer { id });
    }

    /// Stops the reactor, dropping everything.
    pub fn exit(&self) {
        self.submit(Command::Exit);
    }
}
