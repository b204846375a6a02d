//! What the reactor reports, and the sink it reports to.

use crate::error::Error;
use crate::id::Id;
use crate::net::addr::Endpoint;

/// One thing that happened in the reactor. Borrowed data (`Data::data`) is valid only during the
/// call to [`EventSink::event`]: the reactor reads every socket into one scratch buffer.
///
/// Non-exhaustive: new capabilities bring new variants, and the `http` and `dns` cargo features
/// decide whether some exist at all, so a `match` needs a `_` arm.
#[derive(Debug)]
#[non_exhaustive]
pub enum Event<'a> {
    /// A delay expired, or an interval ticked.
    TimerFired {
        /// The timer.
        id: Id,
    },
    /// An outgoing connection is established.
    Connected {
        /// The socket.
        id: Id,
        /// The OS descriptor.
        fd: i64,
        /// Our side.
        local: Endpoint,
        /// The peer.
        remote: Endpoint,
    },
    /// A listener accepted a connection.
    Accepted {
        /// The listener.
        server: Id,
        /// The new socket's id.
        id: Id,
        /// The OS descriptor.
        fd: i64,
        /// Our side.
        local: Endpoint,
        /// The peer (an empty Unix path for an unnamed client).
        remote: Endpoint,
    },
    /// Bytes arrived.
    Data {
        /// The socket.
        id: Id,
        /// The bytes, valid during this call only.
        data: &'a [u8],
    },
    /// The socket's flushed-bytes counter reached a threshold asked for with a write's `notify`.
    Flushed {
        /// The socket.
        id: Id,
        /// Bytes handed to the kernel since the socket opened.
        total: u64,
    },
    /// The peer closed its side. Unless the socket allows half-open connections the reactor
    /// closes it gracefully and a [`Event::Released`] follows.
    Eof {
        /// The socket.
        id: Id,
    },
    /// The socket failed (refused, reset, timeout, OS error) and is closed; its terminal event.
    Failed {
        /// The socket.
        id: Id,
        /// Why.
        error: Error,
    },
    /// An error met after the application closed the socket (while flushing).
    FlushFailed {
        /// The socket.
        id: Id,
        /// Why.
        error: Error,
    },
    /// The reactor no longer holds anything for this socket: it is gone for good.
    Released {
        /// The socket.
        id: Id,
    },
    /// A listener met an error that does not close it (EMFILE on accept: reported once, accepting
    /// resumes when descriptors free up).
    ServerError {
        /// The listener.
        id: Id,
        /// Why.
        error: Error,
    },
    /// A request on an HTTP connection: its head and, unless the server streams bodies, its
    /// whole body. Answer it with its `seq`.
    #[cfg(feature = "http")]
    HttpRequest {
        /// The connection.
        id: Id,
        /// The request's sequence number on its connection.
        seq: u32,
        /// Method, target, version and framing, as spans of `head_bytes`.
        head: evasync_http1::RequestHead,
        /// The head as received.
        head_bytes: &'a [u8],
        /// The header fields, as spans of `head_bytes`.
        headers: &'a [evasync_http1::HeaderSpan],
        /// The body (empty when it streams).
        body: &'a [u8],
        /// False when the body follows as [`Event::HttpBody`] pieces.
        complete: bool,
    },
    /// A piece of the body of the request being received (servers with `stream_body`).
    #[cfg(feature = "http")]
    HttpBody {
        /// The connection.
        id: Id,
        /// The bytes.
        data: &'a [u8],
        /// The body is complete.
        finished: bool,
    },
    /// A client request's response.
    #[cfg(feature = "http")]
    HttpResponse {
        /// The request.
        id: Id,
        /// The status.
        status: u16,
        /// The response head as received.
        head_bytes: &'a [u8],
        /// Header fields, as spans of `head_bytes`.
        headers: &'a [evasync_http1::HeaderSpan],
        /// The decoded body.
        body: &'a [u8],
    },
    /// The head of a streamed client response ([`crate::http::client::ClientRequest::stream_body`]).
    #[cfg(feature = "http")]
    HttpResponseHead {
        /// The request.
        id: Id,
        /// The status.
        status: u16,
        /// The response head as received.
        head_bytes: &'a [u8],
        /// Header fields, as spans of `head_bytes`.
        headers: &'a [evasync_http1::HeaderSpan],
    },
    /// A piece of a streamed client response's body.
    #[cfg(feature = "http")]
    HttpResponseBody {
        /// The request.
        id: Id,
        /// The bytes (empty for the end).
        data: &'a [u8],
        /// The body is complete.
        finished: bool,
    },
    /// A client request failed (refused, timeout, DNS, malformed response, …).
    #[cfg(feature = "http")]
    HttpClientFailed {
        /// The request.
        id: Id,
        /// Why.
        error: Error,
    },
    /// A lookup asked for with [`crate::Handle::dns_lookup`] finished.
    DnsResolved {
        /// The query.
        id: Id,
        /// The answer, or why not (kind `Dns`, the [`crate::dns::DnsErrorCode`] in `errno`).
        result: Result<&'a crate::dns::DnsAnswer, Error>,
        /// Until when an address answer may be reused (its records' TTL), if known.
        valid_until: Option<std::time::Instant>,
    },
    /// A TLS handshake finished. Comes before the [`Event::Connected`] / [`Event::Accepted`]
    /// that announces the connection (or alone, for a socket upgraded with STARTTLS).
    TlsEstablished {
        /// The socket.
        id: Id,
        /// What was established.
        info: &'a crate::tls::TlsInfo,
    },
    /// A TLS server (with `sni_callback`) met a ClientHello asking for `name`: answer with
    /// [`crate::Handle::tls_configure`]. The connection is not announced yet.
    TlsSniRequest {
        /// The listener.
        server: Id,
        /// The socket.
        id: Id,
        /// The server name asked for (lower-case).
        name: &'a str,
    },
    /// A child process exited and was reaped (its pipes may still hold data).
    ProcessExited {
        /// The process.
        id: Id,
        /// How it ended.
        status: crate::process::ExitStatus,
    },
    /// A notifier was triggered (every trigger since the last report, coalesced).
    Notified {
        /// The notifier.
        id: Id,
    },
    /// A polled descriptor is ready ([`crate::poll_bits`]); reported every turn while it is.
    Polled {
        /// The poller.
        id: Id,
        /// What holds.
        ready: u8,
    },
    /// A watched signal arrived (repeats between two turns coalesce).
    Signal {
        /// The watcher.
        id: Id,
        /// The signal.
        signo: i32,
    },
    /// A synthetic event asked for by a binding (the `EMIT_TICKS` operation of [`crate::wire::ops`]), for measuring delivery.
    #[doc(hidden)]
    Tick {
        /// The sequence number within its request.
        seq: u32,
    },
}

/// Receives the reactor's events. Implemented for any `FnMut(Event)`.
pub trait EventSink {
    /// One event. Called on the reactor's thread, inside a turn.
    fn event(&mut self, ev: Event<'_>);

    /// True when the receiver is behind and the reactor should stop reading sockets for now (TCP
    /// then pushes back on the peers). The reactor asks again on its next turn; wake it with
    /// [`crate::Handle::wake`] when the backlog clears.
    fn backpressured(&self) -> bool {
        false
    }
}

impl<F: FnMut(Event<'_>)> EventSink for F {
    fn event(&mut self, ev: Event<'_>) {
        self(ev)
    }
}
