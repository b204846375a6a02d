//! The part of a reactor other threads reach: a command queue, the waker, the id counter and
//! the counters; and [`Handle`], the cloneable, `Send` face over it.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use crate::config::{ConnectOptions, ServerOptions};
use crate::dns::{DnsConfig, DnsQuery};
#[cfg(feature = "http")]
use crate::http::client::ClientRequest;
#[cfg(feature = "http")]
use crate::http::{HttpServerOptions, Response};
use crate::id::Id;
use crate::net::addr::Endpoint;
use crate::net::listen::{bind_listener, BoundListener};
use crate::notifier::NotifierState;
use crate::reactor::{Command, ConnectTarget};
use crate::stats::{Stats, StatsSnapshot};

/// Shared between the reactor and its handles.
pub(crate) struct Shared {
    queue: Mutex<Vec<Command>>,
    waker: Arc<mio::Waker>,
    next_id: AtomicU32,
    /// Submissions do not wake the poll: the driver applies them itself (see
    /// [`super::Reactor::set_driven_locally`]).
    quiet: AtomicBool,
    pub stats: Stats,
    /// Children not reaped yet, for signalling them from any thread.
    #[cfg(unix)]
    processes: Mutex<crate::id::IdMap<Arc<crate::process::ProcessHandle>>>,
}

fn lock(m: &Mutex<Vec<Command>>) -> MutexGuard<'_, Vec<Command>> {
    // A panic while holding this lock cannot leave the Vec inconsistent: recover it.
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Shared {
    pub fn new(waker: mio::Waker) -> Shared {
        Shared {
            queue: Mutex::new(Vec::new()),
            waker: Arc::new(waker),
            next_id: AtomicU32::new(1),
            quiet: AtomicBool::new(false),
            stats: Stats::default(),
            #[cfg(unix)]
            processes: Mutex::default(),
        }
    }

    /// A child was reaped: it can no longer be signalled.
    #[cfg(unix)]
    pub fn forget_process(&self, id: Id) {
        if let Ok(mut p) = self.processes.lock() {
            p.remove(&id);
        }
    }

    /// Queues a command and wakes the poll even for a locally driven reactor: for threads other
    /// than the driver's (child watchers, notifiers).
    pub fn submit_from_elsewhere(&self, cmd: Command) {
        lock(&self.queue).push(cmd);
        self.wake();
    }

    pub fn set_quiet(&self, quiet: bool) {
        self.quiet.store(quiet, Ordering::Relaxed);
    }

    /// The poll's waker, for threads that post to the reactor by their own channels.
    pub fn waker(&self) -> &Arc<mio::Waker> {
        &self.waker
    }

    pub fn has_queued(&self) -> bool {
        !lock(&self.queue).is_empty()
    }

    /// Swaps the queued commands into `into` (empty); false when nothing was queued.
    pub fn take_queued(&self, into: &mut Vec<Command>) -> bool {
        let mut q = lock(&self.queue);
        if q.is_empty() {
            return false;
        }
        std::mem::swap(&mut *q, into);
        true
    }

    fn submit_all(&self, cmds: impl IntoIterator<Item = Command>) {
        let was_empty = {
            let mut q = lock(&self.queue);
            let was_empty = q.is_empty();
            q.extend(cmds);
            was_empty && !q.is_empty()
        };
        if was_empty && !self.quiet.load(Ordering::Relaxed) {
            self.wake();
        }
    }

    fn wake(&self) {
        // A failed wake means the poll instance is gone: the reactor is shutting down.
        let _ = self.waker.wake();
    }
}

/// A cloneable, `Send` handle to a reactor: allocates ids and queues commands, waking the reactor
/// once per batch (when the queue goes from empty to non-empty).
#[derive(Clone)]
pub struct Handle {
    shared: Arc<Shared>,
}

impl Handle {
    pub(crate) fn new(shared: Arc<Shared>) -> Handle {
        Handle { shared }
    }

    /// A fresh id for an object this handle is about to create.
    pub fn next_id(&self) -> Id {
        loop {
            let id = self.shared.next_id.fetch_add(1, Ordering::Relaxed);
            if id != 0 {
                return id;
            }
        }
    }

    fn submit(&self, cmd: Command) {
        self.shared.submit_all(std::iter::once(cmd));
    }

    /// Wakes the reactor (for example when a backpressured sink caught up).
    pub fn wake(&self) {
        self.shared.wake();
    }

    /// The counters.
    pub fn stats(&self) -> StatsSnapshot {
        self.shared.stats.snapshot()
    }

    /// Applies operations in bulk ([`crate::wire::ops`] format) at the reactor's next turn.
    pub fn submit_ops(&self, ops: Vec<u32>, data: Vec<u8>) {
        self.submit(Command::Ops { ops, data });
    }

    // ----- timers -----

    /// Fires [`crate::event::Event::TimerFired`] once after `after`.
    pub fn delay(&self, after: Duration) -> Id {
        let id = self.next_id();
        self.submit(Command::Delay {
            id,
            deadline: Instant::now() + after,
            interval: None,
        });
        id
    }

    /// Fires [`crate::event::Event::TimerFired`] every `period`, the first time one period from now.
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

    // ----- TCP -----

    /// Binds `addr` now (so the port is known on return) and serves it on the reactor.
    /// Accepted sockets arrive as [`crate::event::Event::Accepted`].
    pub fn tcp_server(
        &self,
        addr: SocketAddr,
        opts: ServerOptions,
    ) -> std::io::Result<(Id, SocketAddr)> {
        let listener = bind_listener(addr, -1, true, false)?;
        let local = listener.local.inet().unwrap_or(addr);
        let (id, _) = self.serve(listener, opts);
        Ok((id, local))
    }

    /// Binds the Unix socket `path` now (mode: permission bits of the socket file) and serves
    /// it on the reactor; the file is removed when the server closes.
    #[cfg(unix)]
    pub fn unix_server(
        &self,
        path: &[u8],
        mode: Option<u32>,
        opts: ServerOptions,
    ) -> std::io::Result<Id> {
        let listener = crate::net::listen::bind_unix_listener(path, -1, mode)?;
        Ok(self.serve(listener, opts).0)
    }

    /// Serves an already bound listener.
    pub fn serve(&self, listener: BoundListener, opts: ServerOptions) -> (Id, Endpoint) {
        let id = self.next_id();
        let local = listener.local.clone();
        self.serve_as(id, listener, opts);
        (id, local)
    }

    /// Serves an already bound listener under an id taken earlier with [`Handle::next_id`]
    /// (a server bound now and served later).
    pub fn serve_as(&self, id: Id, listener: BoundListener, opts: ServerOptions) {
        self.submit(Command::Listen { id, listener, opts });
    }

    /// Connects to `host:port` (an IP literal or a name, resolved with Happy Eyeballs);
    /// [`crate::event::Event::Connected`] or [`crate::event::Event::Failed`] follows.
    pub fn tcp_connect(&self, host: &str, port: u16, opts: ConnectOptions) -> Id {
        let id = self.next_id();
        self.submit(Command::Connect {
            id,
            target: ConnectTarget::Host(host.to_string(), port),
            opts,
        });
        id
    }

    /// Connects to the Unix socket `path` (bytes; a leading NUL names a Linux abstract socket);
    /// [`crate::event::Event::Connected`] or [`crate::event::Event::Failed`] follows. A listener whose backlog
    /// is full is tried again until the connect timeout.
    pub fn unix_connect(&self, path: &[u8], opts: ConnectOptions) -> Id {
        let id = self.next_id();
        self.submit(Command::Connect {
            id,
            target: ConnectTarget::Unix(path.to_vec()),
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

    /// Asks for [`crate::event::Event::Flushed`] once `at` bytes in all reached the kernel.
    pub fn notify_flushed(&self, id: Id, at: u64) {
        self.submit(Command::NotifyFlushed { id, at });
    }

    /// Sets (or clears, `None`) a socket's read and write timeouts.
    pub fn set_timeouts(&self, id: Id, read: Option<Duration>, write: Option<Duration>) {
        self.submit(Command::SetTimeouts { id, read, write });
    }

    /// Enables or disables reading and writing (`None` leaves a direction as it is).
    pub fn enable(&self, id: Id, read: Option<bool>, write: Option<bool>) {
        self.submit(Command::Enable { id, read, write });
    }

    /// Half-closes once the queue drains.
    pub fn shutdown(&self, id: Id) {
        self.submit(Command::Shutdown { id });
    }

    /// Closes a socket gracefully (flush, FIN) or by force (reset).
    pub fn close(&self, id: Id, force: bool) {
        self.submit(Command::Close { id, force });
    }

    /// Stops accepting on a server.
    pub fn close_server(&self, id: Id) {
        self.submit(Command::CloseServer { id, closed: None });
    }

    /// Stops accepting on a server and returns a receiver told once the listening socket is
    /// closed. A thread other than the reactor's waits on it so that a connect made after the
    /// call is refused (as Node's `server.close()` promises); the reactor's own thread must not
    /// wait (nothing would run the command).
    pub fn close_server_notified(&self, id: Id) -> std::sync::mpsc::Receiver<()> {
        let (tell, told) = std::sync::mpsc::sync_channel(1);
        self.submit(Command::CloseServer {
            id,
            closed: Some(tell),
        });
        told
    }

    // ----- processes -----

    /// Starts a child now (on this thread: a failure is the error returned); its pipes become
    /// connections of the reactor, its exit a [`crate::event::Event::ProcessExited`].
    #[cfg(unix)]
    pub fn spawn(
        &self,
        spec: &crate::process::SpawnSpec,
    ) -> std::io::Result<crate::process::Spawned> {
        let started = crate::process::start(spec)?;
        let id = self.next_id();
        let pid = started.handle.pid;
        let mut stdio = [None; 3];
        for (slot, pipe) in stdio.iter_mut().zip(&started.pipes) {
            if pipe.is_some() {
                *slot = Some(self.next_id());
            }
        }
        if let Ok(mut p) = self.shared.processes.lock() {
            p.insert(id, started.handle.clone());
        }
        self.submit(Command::AdoptProcess {
            id,
            started: Box::new(started),
            pipes: stdio,
        });
        Ok(crate::process::Spawned { id, pid, stdio })
    }

    /// Sends `signal` to child `id`; false when it has exited (it cannot reach another process
    /// that got its pid).
    #[cfg(unix)]
    pub fn process_kill(&self, id: Id, signal: i32) -> bool {
        let handle = self
            .shared
            .processes
            .lock()
            .ok()
            .and_then(|p| p.get(&id).cloned());
        handle.is_some_and(|h| h.kill(signal))
    }

    /// A watcher thread saw child `id` exit.
    #[cfg(unix)]
    pub(crate) fn process_exited(&self, id: Id) {
        self.shared
            .submit_from_elsewhere(Command::ProcessExited { id });
    }

    /// Stops (or resumes) reading a streamed response of request `id`.
    #[cfg(feature = "http")]
    pub fn http_client_pause(&self, id: Id, paused: bool) {
        self.submit(Command::ClientPause { id, paused });
    }

    /// Gives up on request `id`: no further event; a connection serving it is closed.
    #[cfg(feature = "http")]
    pub fn http_client_cancel(&self, id: Id) {
        self.submit(Command::ClientCancel { id });
    }

    // ----- notifiers, pollers, signals -----

    /// A notifier: [`Notifier::trigger`] from any thread makes one
    /// [`crate::event::Event::Notified`] (triggers coalesce until it is reported).
    pub fn notifier(&self) -> Notifier {
        let id = self.next_id();
        let state = Arc::new(NotifierState::default());
        self.submit(Command::NotifierAdd {
            id,
            state: state.clone(),
        });
        Notifier::new(id, state, self.clone())
    }

    pub(crate) fn notify(&self, id: Id) {
        self.shared.submit_from_elsewhere(Command::Notify { id });
    }

    pub(crate) fn free_notifier(&self, id: Id) {
        self.submit(Command::NotifierFree { id });
    }

    /// Polls `fd` (owned by the caller: never read, written or closed here) for the conditions
    /// in `want` ([`crate::poll_bits`]); [`crate::event::Event::Polled`] every turn while one holds.
    #[cfg(unix)]
    pub fn poll_fd(&self, fd: i32, want: u8) -> Id {
        let id = self.next_id();
        self.submit(Command::PollAdd { id, fd, want });
        id
    }

    /// Stops polling (free the poller before closing its descriptor).
    #[cfg(unix)]
    pub fn free_poller(&self, id: Id) {
        self.submit(Command::PollFree { id });
    }

    /// Watches signal `signo` (`signal-hook`): [`crate::event::Event::Signal`] each time it arrives.
    /// For Rust embedders; the Node binding uses Node's own signal handling.
    #[cfg(unix)]
    pub fn signal(&self, signo: i32) -> Id {
        let id = self.next_id();
        self.submit(Command::SignalAdd { id, signo });
        id
    }

    /// Stops watching a signal.
    #[cfg(unix)]
    pub fn free_signal(&self, id: Id) {
        self.submit(Command::SignalFree { id });
    }

    // ----- TLS -----

    /// Upgrades the open plain socket `id` to TLS (STARTTLS): what is queued now leaves in plain
    /// text, everything after is sealed. [`crate::event::Event::TlsEstablished`] follows, or a
    /// [`crate::event::Event::Failed`] with a TLS error (the socket is closed then).
    pub fn start_tls(&self, id: Id, side: super::TlsSide) {
        self.submit(Command::StartTls { id, side });
    }

    /// Answers [`crate::event::Event::TlsSniRequest`] for socket `id`: the certificate to present
    /// (None: the server's default), or why none could be chosen (the handshake fails).
    pub fn tls_configure(&self, id: Id, answer: Result<Option<crate::tls::TlsIdentity>, String>) {
        self.submit(Command::TlsConfigure { id, answer });
    }

    // ----- HTTP -----

    /// Binds `addr` now and serves HTTP on it: requests arrive as [`crate::event::Event::HttpRequest`]
    /// (connections as [`crate::event::Event::Accepted`] and [`crate::event::Event::Released`]); answer with
    /// [`Handle::http_respond`] or the streamed `http_start`/`http_chunk`/`http_finish`.
    #[cfg(feature = "http")]
    pub fn http_server(
        &self,
        addr: SocketAddr,
        opts: HttpServerOptions,
    ) -> std::io::Result<(Id, SocketAddr)> {
        let listener = bind_listener(addr, -1, true, false)?;
        let local = listener.local.inet().unwrap_or(addr);
        let (id, _) = self.http_serve(listener, opts);
        Ok((id, local))
    }

    /// Serves HTTP on an already bound listener.
    #[cfg(feature = "http")]
    pub fn http_serve(&self, listener: BoundListener, opts: HttpServerOptions) -> (Id, Endpoint) {
        let id = self.next_id();
        let local = listener.local.clone();
        self.submit(Command::HttpListen {
            id,
            listener,
            opts: Box::new(opts),
        });
        (id, local)
    }

    /// Answers request `seq` of connection `id` with a whole response.
    #[cfg(feature = "http")]
    pub fn http_respond(&self, id: Id, seq: u32, response: Response) {
        self.submit(Command::HttpRespond { id, seq, response });
    }

    /// Starts a streamed response (chunked for HTTP/1.1 unless a `Content-Length` is given).
    #[cfg(feature = "http")]
    pub fn http_start(&self, id: Id, seq: u32, response: Response) {
        self.submit(Command::HttpStart { id, seq, response });
    }

    /// A piece of a streamed response.
    #[cfg(feature = "http")]
    pub fn http_chunk(&self, id: Id, seq: u32, data: impl Into<Vec<u8>>) {
        self.submit(Command::HttpChunk {
            id,
            seq,
            data: data.into(),
        });
    }

    /// Ends a streamed response.
    #[cfg(feature = "http")]
    pub fn http_finish(&self, id: Id, seq: u32) {
        self.submit(Command::HttpFinish { id, seq });
    }

    /// Stops an HTTP server: gracefully (idle connections close, busy ones finish with
    /// `Connection: close`) or by aborting every connection.
    #[cfg(feature = "http")]
    pub fn http_close_server(&self, id: Id, graceful: bool) {
        self.submit(Command::HttpCloseServer { id, graceful });
    }

    /// Sends an HTTP request on a pooled connection; [`crate::event::Event::HttpResponse`] or
    /// [`crate::event::Event::HttpClientFailed`] follows with the returned id.
    #[cfg(feature = "http")]
    pub fn http_client(&self, request: ClientRequest) -> Id {
        let id = self.next_id();
        self.submit(Command::HttpRequest { id, request });
        id
    }

    // ----- DNS -----

    /// Looks a name (or, with [`DnsQuery::Reverse`], an address) up;
    /// [`crate::event::Event::DnsResolved`] follows with the returned id.
    pub fn dns_lookup(&self, query: DnsQuery) -> Id {
        let id = self.next_id();
        self.submit(Command::DnsQuery { id, query });
        id
    }

    /// Replaces the name servers (`None`: the system's configuration again).
    pub fn set_dns_servers(&self, cfg: Option<DnsConfig>) {
        self.submit(Command::DnsConfigure(cfg));
    }

    /// Drops every cached DNS answer.
    pub fn clear_dns_cache(&self) {
        self.submit(Command::DnsClearCache);
    }

    /// Stops the reactor, dropping everything.
    pub fn exit(&self) {
        self.submit(Command::Exit);
    }
}

/// The triggering side of a notifier: `Send + Sync`, cheap to clone.
#[derive(Clone)]
pub struct Notifier {
    id: Id,
    state: Arc<NotifierState>,
    handle: Handle,
}

impl Notifier {
    pub(crate) fn new(id: Id, state: Arc<NotifierState>, handle: Handle) -> Notifier {
        Notifier { id, state, handle }
    }

    /// The notifier's id (its events carry it).
    pub fn id(&self) -> Id {
        self.id
    }

    /// Queues a wake-up (coalesced with any not reported yet). False when the notifier was
    /// freed or its reactor is gone; never blocks.
    pub fn trigger(&self) -> bool {
        if self.state.freed.load(Ordering::Acquire) {
            return false;
        }
        if !self.state.pending.swap(true, Ordering::AcqRel) {
            self.handle.notify(self.id);
        }
        true
    }

    /// Stops the notifier: later triggers return false.
    pub fn free(&self) {
        if !self.state.freed.swap(true, Ordering::AcqRel) {
            self.handle.free_notifier(self.id);
        }
    }
}

impl std::fmt::Debug for Notifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Notifier").field("id", &self.id).finish()
    }
}
