//! HTTP/1.1 as the `upper` layer of connections. The protocol itself (parsing, framing,
//! response heads, the request and response state machines) is the sans-IO crate re-exported
//! as [`parse`]; this module keeps the state the engine adds around it — a server connection's
//! exchanges in request order (`server`), the client's pools and responses ([`client`]), the
//! clock — and says what it needs done. The reactor feeds bytes in, moves bytes out, arms the
//! timers and closes connections when told.

pub mod client;
mod responses;
pub(crate) mod server;

pub use evasync_http1 as parse;

use std::time::Duration;

use crate::config::ServerOptions;
use parse::{PreparedHeaders, ResponseError};

pub(crate) use responses::SpareBuffers;
pub(crate) use server::HttpConn;

/// Options of an HTTP server (API.md §5), with the contract's defaults.
#[derive(Debug, Clone)]
pub struct HttpServerOptions {
    /// Options of the listener and its sockets.
    pub tcp: ServerOptions,
    /// Largest request head (431 beyond).
    pub max_header_size: usize,
    /// Most header fields in a request head (431 beyond).
    pub max_headers: usize,
    /// Largest request body (413 beyond).
    pub max_body_size: u64,
    /// Time allowed for a whole request, head and body, from its first byte (408 and close).
    pub request_timeout: Option<Duration>,
    /// Time an idle keep-alive connection is kept.
    pub keep_alive_timeout: Option<Duration>,
    /// Requests served per connection before it closes (0: no limit).
    pub max_requests_per_connection: u32,
    /// Report bodies piece by piece ([`crate::Event::HttpBody`]) instead of whole.
    pub stream_body: bool,
}

impl Default for HttpServerOptions {
    fn default() -> Self {
        HttpServerOptions {
            tcp: ServerOptions {
                no_delay: true,
                ..ServerOptions::default()
            },
            max_header_size: 16 * 1024,
            max_headers: parse::DEFAULT_MAX_HEADERS,
            max_body_size: 1024 * 1024,
            request_timeout: Some(Duration::from_secs(60)),
            keep_alive_timeout: Some(Duration::from_secs(5)),
            max_requests_per_connection: 0,
            stream_body: false,
        }
    }
}

/// A response, whole or the head of a streamed one. Its header fields are checked when it is
/// made ([`Response::new`], [`Response::head`]), so queuing it cannot fail later.
#[derive(Debug, Clone, Default)]
pub struct Response {
    /// The status.
    pub status: u16,
    /// Header fields, checked and encoded in order.
    pub headers: PreparedHeaders,
    /// The body of a whole response (ignored for a streamed one).
    pub body: Vec<u8>,
    /// Close the connection after this response.
    pub close: bool,
}

impl Response {
    /// A whole response. Refuses a status outside 100..=999, header fields that could split the
    /// response (CR, LF, NUL, non-token names) and a `Content-Length` that contradicts `body`.
    pub fn new<'h>(
        status: u16,
        headers: impl IntoIterator<Item = (&'h [u8], &'h [u8])>,
        body: Vec<u8>,
    ) -> Result<Response, ResponseError> {
        let headers = Self::checked(status, headers)?;
        headers.check_body(status, body.len() as u64)?;
        Ok(Response {
            status,
            headers,
            body,
            close: false,
        })
    }

    /// The head of a streamed response (chunked for HTTP/1.1 unless a `Content-Length` is set).
    pub fn head<'h>(
        status: u16,
        headers: impl IntoIterator<Item = (&'h [u8], &'h [u8])>,
    ) -> Result<Response, ResponseError> {
        Ok(Response {
            status,
            headers: Self::checked(status, headers)?,
            body: Vec::new(),
            close: false,
        })
    }

    /// Closes the connection after this response.
    pub fn closing(mut self) -> Response {
        self.close = true;
        self
    }

    fn checked<'h>(
        status: u16,
        headers: impl IntoIterator<Item = (&'h [u8], &'h [u8])>,
    ) -> Result<PreparedHeaders, ResponseError> {
        if !(100..=999).contains(&status) {
            return Err(ResponseError::InvalidStatus(status));
        }
        PreparedHeaders::new(headers)
    }
}
