//! What other threads (and the embedder) ask of the reactor. Commands are queued and applied in
//! order at the start of the reactor's next turn; the reactor is woken once per batch.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use crate::config::{ConnectOptions, ServerOptions};
use crate::dns::{DnsAnswer, DnsConfig, DnsErrorCode, DnsQuery};
use crate::http::{HttpServerOptions, Response};
use crate::id::Id;
use crate::tcp::listen::BoundListener;

/// Where to connect.
#[derive(Debug, Clone)]
pub enum ConnectTarget {
    /// Addresses to try in order.
    Addrs(Vec<SocketAddr>),
    /// A host name (or IP literal) and port, resolved by the reactor.
    Host(String, u16),
}

/// A request to the reactor.
#[derive(Debug)]
pub enum Command {
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
    HttpListen {
        /// Server id.
        id: Id,
        /// The bound, listening socket.
        listener: BoundListener,
        /// The server's options.
        opts: Box<HttpServerOptions>,
    },
    /// A whole response to request `seq` of connection `id`.
    HttpRespond {
        /// Connection id.
        id: Id,
        /// The request's sequence number on its connection.
        seq: u32,
        /// The response.
        response: Response,
    },
    /// The head of a streamed response.
    HttpStart {
        /// Connection id.
        id: Id,
        /// The request's sequence number.
        seq: u32,
        /// Status and headers (the body is ignored).
        response: Response,
    },
    /// A piece of a streamed response's body.
    HttpChunk {
        /// Connection id.
        id: Id,
        /// The request's sequence number.
        seq: u32,
        /// The bytes.
        data: Vec<u8>,
    },
    /// The end of a streamed response.
    HttpFinish {
        /// Connection id.
        id: Id,
        /// The request's sequence number.
        seq: u32,
    },
    /// Many response operations at once, in the format of [`crate::http::batch`].
    HttpBatch {
        /// Records of [`crate::http::batch::RECORD`] words.
        ops: Vec<u32>,
        /// Header fields and bodies the records point into, in record order.
        data: Vec<u8>,
    },
    /// Send an HTTP request (client).
    HttpRequest {
        /// Request id.
        id: Id,
        /// The request.
        request: crate::http::client::ClientRequest,
    },
    /// Stop an HTTP server: drain its connections gracefully or abort them.
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
    /// Look a name or address up; [`crate::Event::DnsResolved`] follows.
    DnsQuery {
        /// Query id (from [`crate::Handle::next_id`]).
        id: Id,
        /// What to ask.
        query: DnsQuery,
    },
    /// An answer from the resolver thread (internal: queries and connects wait for it).
    DnsDone {
        /// Query (or connecting socket) id.
        id: Id,
        /// The answer, or the error code and message.
        result: Result<DnsAnswer, (DnsErrorCode, String)>,
        /// Until when the answer may be reused (its records' TTL).
        valid_until: Option<Instant>,
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
        /// Emit [`crate::Event::Flushed`] once this many bytes in all were handed to the kernel.
        notify_at: Option<u64>,
    },
    /// Ask for [`crate::Event::Flushed`] once `at` bytes in all were handed to the kernel.
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
    /// Emit `count` [`crate::Event::Tick`] events in one turn (measures delivery).
    EmitTicks {
        /// How many.
        count: u32,
    },
    /// Close everything without reporting and stop: [`crate::Reactor::stopped`] turns true.
    Exit,
}
