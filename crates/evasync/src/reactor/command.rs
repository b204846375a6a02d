//! What handles (other threads, the embedder, a binding) ask of the reactor. Commands are queued
//! and applied in order at the start of the reactor's next turn; the reactor is woken once per
//! batch. A binding sends its frequent operations in bulk as one [`Command::Ops`] (the
//! [`crate::wire::ops`] format) instead of one command each.

use std::time::{Duration, Instant};

use crate::config::{ConnectOptions, ServerOptions};
use crate::dns::{DnsConfig, DnsQuery};
#[cfg(feature = "http")]
use crate::http::{HttpServerOptions, Response};
use crate::id::Id;
use crate::net::listen::BoundListener;

pub(crate) use crate::net::connect::ConnectTarget;

/// A request to the reactor.
#[derive(Debug)]
pub(crate) enum Command {
    /// Schedule timer `id` for `deadline`; with `interval` it re-arms itself every period.
    Delay {
        /// Timer id.
        id: Id,
        /// When it first fires (computed by the caller, so queueing adds no drift).
        deadline: Instant,
        /// Period of an interval.
        interval: Option<Duration>,
    },
    /// Cancel a timer (idempotent).
    TimerFree {
        /// Timer id.
        id: Id,
    },
    /// Start serving on a bound listener.
    Listen {
        /// Server id.
        id: Id,
        /// The bound, listening socket.
        listener: BoundListener,
        /// Options for accepted sockets.
        opts: ServerOptions,
    },
    /// Start serving HTTP on a bound listener.
    #[cfg(feature = "http")]
    HttpListen {
        /// Server id.
        id: Id,
        /// The bound, listening socket.
        listener: BoundListener,
        /// The server's options.
        opts: Box<HttpServerOptions>,
    },
    /// A whole response to request `seq` of connection `id`.
    #[cfg(feature = "http")]
    HttpRespond {
        /// Connection id.
        id: Id,
        /// The request's sequence number on its connection.
        seq: u32,
        /// The response.
        response: Response,
    },
    /// The head of a streamed response.
    #[cfg(feature = "http")]
    HttpStart {
        /// Connection id.
        id: Id,
        /// The request's sequence number.
        seq: u32,
        /// Status and headers (the body is ignored).
        response: Response,
    },
    /// A piece of a streamed response's body.
    #[cfg(feature = "http")]
    HttpChunk {
        /// Connection id.
        id: Id,
        /// The request's sequence number.
        seq: u32,
        /// The bytes.
        data: Vec<u8>,
    },
    /// The end of a streamed response.
    #[cfg(feature = "http")]
    HttpFinish {
        /// Connection id.
        id: Id,
        /// The request's sequence number.
        seq: u32,
    },
    /// Many operations at once, in the [`crate::wire::ops`] format.
    Ops {
        /// Op records.
        ops: Vec<u32>,
        /// The bytes the records point into, in record order.
        data: Vec<u8>,
    },
    /// Send an HTTP request (client).
    #[cfg(feature = "http")]
    HttpRequest {
        /// Request id.
        id: Id,
        /// The request.
        request: crate::http::client::ClientRequest,
    },
    /// Stop an HTTP server: drain its connections gracefully or abort them.
    #[cfg(feature = "http")]
    HttpCloseServer {
        /// Server id.
        id: Id,
        /// Drain rather than abort.
        graceful: bool,
    },
    /// Stop accepting; accepted sockets stay open.
    CloseServer {
        /// Server id.
        id: Id,
        /// Told once the listening socket is closed, for a caller on another thread that must
        /// not return before new connections are refused.
        closed: Option<std::sync::mpsc::SyncSender<()>>,
    },
    /// Open a connection.
    Connect {
        /// Socket id.
        id: Id,
        /// Where.
        target: ConnectTarget,
        /// How.
        opts: ConnectOptions,
    },
    /// Look a name or address up; [`crate::event::Event::DnsResolved`] follows.
    DnsQuery {
        /// Query id (from [`super::Handle::next_id`]).
        id: Id,
        /// What to ask.
        query: DnsQuery,
    },
    /// Replace the name servers (None: back to the system's configuration).
    DnsConfigure(Option<DnsConfig>),
    /// Drop every cached DNS answer.
    DnsClearCache,
    /// Queue bytes on a socket.
    Write {
        /// Socket id.
        id: Id,
        /// The bytes.
        data: Vec<u8>,
        /// Emit [`crate::event::Event::Flushed`] once this many bytes in all were handed to the kernel.
        notify_at: Option<u64>,
    },
    /// Ask for [`crate::event::Event::Flushed`] once `at` bytes in all were handed to the kernel.
    NotifyFlushed {
        /// Socket id.
        id: Id,
        /// The threshold.
        at: u64,
    },
    /// Set or clear (None) the read and write timeouts.
    SetTimeouts {
        /// Socket id.
        id: Id,
        /// Read timeout.
        read: Option<Duration>,
        /// Write timeout.
        write: Option<Duration>,
    },
    /// Enable or disable reading and writing (None leaves a direction as it is).
    Enable {
        /// Socket id.
        id: Id,
        /// Reading.
        read: Option<bool>,
        /// Writing.
        write: Option<bool>,
    },
    /// Half-close: send FIN once the queue is flushed.
    Shutdown {
        /// Socket id.
        id: Id,
    },
    /// Close a socket: gracefully (flush, FIN, close) or by force (drop, reset).
    Close {
        /// Socket id.
        id: Id,
        /// Drop queued bytes and reset.
        force: bool,
    },
    /// Upgrade an open plain socket to TLS (STARTTLS).
    StartTls {
        /// Socket id.
        id: Id,
        /// Which side this end plays, with its configuration.
        side: TlsSide,
    },
    /// The application's answer to [`crate::event::Event::TlsSniRequest`].
    TlsConfigure {
        /// Socket id.
        id: Id,
        /// The certificate to present (None: the server's default), or why the application
        /// could not choose one (the handshake then fails).
        answer: Result<Option<crate::tls::TlsIdentity>, String>,
    },
    /// Watch a child started by a handle; its pipes become connections under `pipes`' ids.
    #[cfg(unix)]
    AdoptProcess {
        /// Process id.
        id: Id,
        /// The child and its pipe ends.
        started: Box<crate::process::Started>,
        /// Connection ids of stdin, stdout, stderr (for the pipes there are).
        pipes: [Option<Id>; 3],
    },
    /// A watcher thread saw child `id` exit (where there is no pidfd).
    #[cfg(unix)]
    ProcessExited {
        /// Process id.
        id: Id,
    },
    /// Stop or resume reading a streamed client response.
    #[cfg(feature = "http")]
    ClientPause {
        /// Request id.
        id: Id,
        /// Stop (true) or resume.
        paused: bool,
    },
    /// Forget a client request (aborted, or its streamed body dropped).
    #[cfg(feature = "http")]
    ClientCancel {
        /// Request id.
        id: Id,
    },
    /// Register a notifier.
    NotifierAdd {
        /// Notifier id.
        id: Id,
        /// Shared with its triggers.
        state: std::sync::Arc<crate::notifier::NotifierState>,
    },
    /// A notifier was triggered (coalesced by its `pending` flag).
    Notify {
        /// Notifier id.
        id: Id,
    },
    /// Forget a notifier.
    NotifierFree {
        /// Notifier id.
        id: Id,
    },
    /// Poll a descriptor the application owns.
    #[cfg(unix)]
    PollAdd {
        /// Poller id.
        id: Id,
        /// The descriptor.
        fd: i32,
        /// Conditions ([`crate::poll_bits`]).
        want: u8,
    },
    /// Stop polling.
    #[cfg(unix)]
    PollFree {
        /// Poller id.
        id: Id,
    },
    /// Watch a signal.
    #[cfg(unix)]
    SignalAdd {
        /// Watcher id.
        id: Id,
        /// The signal.
        signo: i32,
    },
    /// Stop watching.
    #[cfg(unix)]
    SignalFree {
        /// Watcher id.
        id: Id,
    },
    /// Close everything without reporting and stop: [`super::Reactor::stopped`] turns true.
    Exit,
}

/// The side a socket plays in a TLS handshake it starts late (STARTTLS).
#[derive(Debug, Clone)]
pub enum TlsSide {
    /// The client, verifying the server as the configuration says.
    Client(crate::tls::TlsClientConfig),
    /// The server.
    Server(crate::tls::TlsServerConfig),
}
