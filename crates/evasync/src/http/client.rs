//! The HTTP/1.1 client's state: requests queue per origin and run on pooled keep-alive
//! connections (at most `max_connections` per origin); each client connection (the `upper`
//! layer of an outgoing connection) frames its response with the sans-IO
//! [`evasync_http1::ClientConn`]. The reactor drives both: it opens and reads connections and
//! turns what they found into events. A request on a reused connection that the server closed
//! before any response byte is retried once when idempotent; a timeout covers the whole
//! exchange.

use std::collections::{HashMap, VecDeque};
use std::time::Duration;

use evasync_http1::{
    encode_request_head, is_idempotent, ClientConn as ResponseReader, ClientStep, HeaderSpan,
    RequestParts, ResponseError, ResponseHead,
};

use crate::buffer::KEEP_BUFFER_MAX;
use crate::id::{Id, IdMap};

/// How long an idle pooled connection is kept (below the 5 s most servers keep one).
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(4);

/// A request to send.
#[derive(Debug, Clone)]
pub struct ClientRequest {
    /// Host to connect to (a name or an IP literal).
    pub host: String,
    /// Port.
    pub port: u16,
    /// The encoded request: head and body (see `evasync_http1::encode_request_head`).
    pub bytes: Vec<u8>,
    /// The request is HEAD (its response has no body).
    pub head_request: bool,
    /// The method may be repeated (a failed reuse is retried once).
    pub idempotent: bool,
    /// Time for the whole exchange.
    pub timeout: Option<Duration>,
    /// Keep the connection for later requests.
    pub keep_alive: bool,
    /// Most connections to this origin at once.
    pub max_connections: usize,
    /// Speak TLS (`https://`): connections are pooled per TLS configuration too.
    pub tls: Option<crate::tls::TlsClientConfig>,
    /// Connect to this Unix socket instead of `host:port` (which still name the origin, for
    /// `Host`); connections are pooled per socket path.
    pub socket_path: Option<Vec<u8>>,
    /// Report the head as soon as it is in ([`crate::Event::HttpResponseHead`]) and the body
    /// in pieces ([`crate::Event::HttpResponseBody`]) instead of one whole response; the
    /// timeout then covers the exchange up to the head.
    pub stream_body: bool,
}

/// What a request is made of, before encoding.
#[derive(Debug, Clone, Copy)]
pub struct RequestSpec<'a> {
    /// Host to connect to (a name or an IP literal, without brackets).
    pub host: &'a str,
    /// Port.
    pub port: u16,
    /// Method, e.g. `GET`.
    pub method: &'a str,
    /// Request target, e.g. `/path?query`.
    pub target: &'a str,
    /// `Host` value to send unless the fields carry one (`host:port` for a non-default port).
    pub host_header: &'a str,
    /// The body.
    pub body: &'a [u8],
    /// Time for the whole exchange.
    pub timeout: Option<Duration>,
    /// Keep the connection for later requests (else `Connection: close` is sent).
    pub keep_alive: bool,
    /// Most connections to this origin at once.
    pub max_connections: usize,
}

impl ClientRequest {
    /// Encodes a request (adding `Host`, `User-Agent: evasync/<version>` and `Content-Length`
    /// when absent). Refuses a method that is not a token, a target with spaces or controls and
    /// fields that could split the request.
    pub fn new<'h>(
        spec: &RequestSpec<'_>,
        fields: impl IntoIterator<Item = (&'h [u8], &'h [u8])> + Clone,
    ) -> Result<ClientRequest, ResponseError> {
        let parts = RequestParts {
            method: spec.method,
            target: spec.target,
            host: spec.host_header,
            user_agent: concat!("evasync/", env!("CARGO_PKG_VERSION")),
            close: !spec.keep_alive,
        };
        let mut bytes = Vec::with_capacity(256 + spec.body.len());
        encode_request_head(&mut bytes, &parts, fields, spec.body.len() as u64)?;
        bytes.extend_from_slice(spec.body);
        Ok(ClientRequest {
            host: spec.host.to_string(),
            port: spec.port,
            bytes,
            head_request: spec.method == "HEAD",
            idempotent: is_idempotent(spec.method),
            timeout: spec.timeout,
            keep_alive: spec.keep_alive,
            max_connections: spec.max_connections,
            tls: None,
            socket_path: None,
            stream_body: false,
        })
    }

    /// The pool this request's connections belong to: scheme, host, port and, over TLS, the
    /// configuration (equal options share one) and the server name.
    fn origin(&self) -> String {
        let mut origin = match &self.tls {
            None => format!("{}:{}", self.host, self.port),
            Some(t) => format!(
                "https://{}:{}#{:p}/{}",
                self.host,
                self.port,
                std::sync::Arc::as_ptr(&t.rustls),
                t.server_name.as_deref().unwrap_or("")
            ),
        };
        if let Some(path) = &self.socket_path {
            origin.push_str(" unix:");
            origin.push_str(&String::from_utf8_lossy(path));
        }
        origin
    }

    /// Where its connections go.
    pub(crate) fn target(&self) -> crate::net::connect::ConnectTarget {
        match &self.socket_path {
            Some(path) => crate::net::connect::ConnectTarget::Unix(path.clone()),
            None => crate::net::connect::ConnectTarget::Host(self.host.clone(), self.port),
        }
    }
}

/// A request waiting for, or being served by, a connection.
pub(crate) struct Pending {
    pub req: ClientRequest,
    pub origin: String,
    /// The connection serving it.
    pub conn: Option<Id>,
    /// It was retried once already (a stale pooled connection).
    pub retried: bool,
    /// Streamed: its head was reported (the timeout no longer applies).
    pub head_reported: bool,
}

/// The connections of one origin.
#[derive(Default)]
struct Pool {
    idle: Vec<Id>,
    open: usize,
    queue: VecDeque<Id>,
}

/// What to do for the next request waiting on an origin.
pub(crate) enum Next {
    /// Send request `0` on idle connection `1`.
    Assign(Id, Id),
    /// Open a new connection for this request.
    Open(Id),
    /// Nothing: the queue is empty, or every allowed connection is busy.
    Wait,
}

/// Every origin's pool and every pending request.
#[derive(Default)]
pub(crate) struct Pools {
    pools: HashMap<String, Pool>,
    requests: IdMap<Pending>,
}

impl Pools {
    /// Queues request `id` for its origin; returns the origin.
    pub fn enqueue(&mut self, id: Id, req: ClientRequest) -> String {
        let origin = req.origin();
        self.pools
            .entry(origin.clone())
            .or_default()
            .queue
            .push_back(id);
        self.requests.insert(
            id,
            Pending {
                req,
                origin: origin.clone(),
                conn: None,
                retried: false,
                head_reported: false,
            },
        );
        origin
    }

    /// Takes the next step for `origin`'s queue: assign a request to an idle connection, open a
    /// connection within the limit (counted as open at once), or wait. An origin with nothing
    /// queued and nothing open is forgotten.
    pub fn next(&mut self, origin: &str) -> Next {
        loop {
            let Some(pool) = self.pools.get_mut(origin) else {
                return Next::Wait;
            };
            let Some(&rid) = pool.queue.front() else {
                if pool.open == 0 {
                    self.pools.remove(origin);
                }
                return Next::Wait;
            };
            let Some(pending) = self.requests.get(&rid) else {
                pool.queue.pop_front();
                continue;
            };
            if let Some(cid) = pool.idle.pop() {
                pool.queue.pop_front();
                return Next::Assign(rid, cid);
            }
            if pool.open < pending.req.max_connections.max(1) {
                pool.queue.pop_front();
                pool.open += 1;
                return Next::Open(rid);
            }
            return Next::Wait;
        }
    }

    pub fn get_mut(&mut self, rid: Id) -> Option<&mut Pending> {
        self.requests.get_mut(&rid)
    }

    pub fn get(&self, rid: &Id) -> Option<&Pending> {
        self.requests.get(rid)
    }

    /// The bytes to send for request `rid` on connection `cid`: moved out unless a retry is
    /// still possible on a reused connection (then copied).
    pub fn bytes_for(&mut self, rid: Id, cid: Id, reused: bool) -> Vec<u8> {
        let Some(p) = self.requests.get_mut(&rid) else {
            return Vec::new();
        };
        p.conn = Some(cid);
        if reused && p.req.idempotent && !p.retried {
            p.req.bytes.clone()
        } else {
            std::mem::take(&mut p.req.bytes)
        }
    }

    /// Puts `rid` back at the head of its queue to be retried once; false when it may not be.
    pub fn retry(&mut self, rid: Id) -> Option<String> {
        let p = self
            .requests
            .get_mut(&rid)
            .filter(|p| p.req.idempotent && !p.retried)?;
        p.retried = true;
        p.conn = None;
        let origin = p.origin.clone();
        if let Some(pool) = self.pools.get_mut(&origin) {
            pool.queue.push_front(rid);
        }
        Some(origin)
    }

    /// Forgets request `rid` (answered, failed or timed out).
    pub fn remove(&mut self, rid: Id) -> Option<Pending> {
        let p = self.requests.remove(&rid)?;
        if p.conn.is_none() {
            if let Some(pool) = self.pools.get_mut(&p.origin) {
                pool.queue.retain(|r| *r != rid);
            }
        }
        Some(p)
    }

    /// A served connection of `origin` is idle again.
    pub fn idle(&mut self, origin: &str, cid: Id) {
        if let Some(pool) = self.pools.get_mut(origin) {
            pool.idle.push(cid);
        }
    }

    /// A connection of `origin` is gone.
    pub fn closed(&mut self, origin: &str, cid: Id) {
        if let Some(pool) = self.pools.get_mut(origin) {
            pool.open = pool.open.saturating_sub(1);
            pool.idle.retain(|c| *c != cid);
        }
    }

    /// True while requests are pending.
    pub fn busy(&self) -> bool {
        !self.requests.is_empty()
    }
}

/// Longest response head accepted.
const MAX_RESPONSE_HEAD: usize = 64 * 1024;
/// Largest response body accepted (HttpError beyond).
const MAX_RESPONSE_BODY: u64 = 1 << 30;

/// A response read so far: its head (bytes and field spans) and body.
pub(crate) struct Response {
    pub head: ResponseHead,
    pub head_bytes: Vec<u8>,
    pub headers: Vec<HeaderSpan>,
    pub body: Vec<u8>,
}

/// A piece of a streamed response, as it arrives.
pub(crate) enum Piece<'a> {
    /// The head.
    Head {
        head: &'a ResponseHead,
        head_bytes: &'a [u8],
        headers: &'a [HeaderSpan],
    },
    /// Body bytes.
    Body(&'a [u8]),
}

/// What the bytes read so far amount to.
pub(crate) enum Progress {
    /// More is needed.
    More,
    /// The response is complete.
    Done(Response),
    /// The response is malformed or too large.
    Bad(&'static str),
}

/// A client connection's state (the `upper` layer of a pooled connection).
pub(crate) struct ClientConn {
    pub origin: String,
    pub request: Option<Id>,
    /// Served a request before (a failure before any byte may then be a stale connection).
    pub reused: bool,
    pub got_bytes: bool,
    input: Vec<u8>,
    reader: ResponseReader,
    head: Option<(ResponseHead, Vec<u8>, Vec<HeaderSpan>)>,
    body: Vec<u8>,
    /// The request being served streams its response.
    pub stream: bool,
    pub idle_gen: u32,
    /// Counted in `outgoing_http_connections` (busy with a request; idle pooled ones are not).
    pub counted: bool,
}

impl ClientConn {
    pub fn new(origin: String, request: Id, head_request: bool, stream: bool) -> ClientConn {
        ClientConn {
            origin,
            request: Some(request),
            reused: false,
            got_bytes: false,
            input: Vec::new(),
            reader: ResponseReader::new(head_request, MAX_RESPONSE_HEAD, MAX_RESPONSE_BODY),
            head: None,
            body: Vec::new(),
            stream,
            idle_gen: 0,
            counted: true,
        }
    }

    /// Request `rid` (HEAD or not) starts on this connection.
    pub fn begin(&mut self, rid: Id, head_request: bool, stream: bool) {
        self.request = Some(rid);
        self.stream = stream;
        self.got_bytes = false;
        self.reader = ResponseReader::new(head_request, MAX_RESPONSE_HEAD, MAX_RESPONSE_BODY);
        self.idle_gen = self.idle_gen.wrapping_add(1);
    }

    /// The request is over: back to idle (buffers a big response grew are given back).
    pub fn end(&mut self) {
        self.request = None;
        self.reused = true;
        self.input.clear();
        if self.input.capacity() > KEEP_BUFFER_MAX {
            self.input = Vec::new();
        }
        self.head = None;
        self.body = Vec::new();
        self.idle_gen = self.idle_gen.wrapping_add(1);
    }

    /// Bytes arrived.
    pub fn received(&mut self, data: &[u8]) {
        if !data.is_empty() {
            self.got_bytes = true;
            self.input.extend_from_slice(data);
        }
    }

    /// True when bytes wait that no request asked for.
    pub fn has_stray_input(&self) -> bool {
        !self.input.is_empty()
    }

    /// Frames what arrived; `server_closed` says the server closed the connection. A streamed
    /// response hands its head and body pieces to `piece` as they come.
    pub fn progress(&mut self, server_closed: bool, piece: &mut dyn FnMut(Piece<'_>)) -> Progress {
        let mut spans = Vec::new();
        let mut used = 0;
        loop {
            match self.reader.step(&self.input[used..], &mut spans) {
                ClientStep::NeedMore => break,
                ClientStep::Refused(e) => return Progress::Bad(e.reason),
                ClientStep::Interim { consumed } => used += consumed,
                ClientStep::Head { head, consumed, .. } => {
                    let bytes = &self.input[used..used + consumed];
                    if self.stream {
                        piece(Piece::Head {
                            head: &head,
                            head_bytes: bytes,
                            headers: &spans,
                        });
                    }
                    self.head = Some((head, bytes.to_vec(), std::mem::take(&mut spans)));
                    used += consumed;
                }
                ClientStep::Body { data, consumed, .. } => {
                    if self.stream {
                        if !data.is_empty() {
                            piece(Piece::Body(data));
                        }
                    } else {
                        self.body.extend_from_slice(data);
                    }
                    used += consumed;
                }
                ClientStep::Done => break,
            }
        }
        self.input.drain(..used);
        if !self.reader.is_done() && server_closed {
            match self.reader.server_closed(self.got_bytes) {
                Ok(true) => {}
                Ok(false) => return Progress::More,
                Err(e) => return Progress::Bad(e.reason),
            }
        }
        if !self.reader.is_done() {
            return Progress::More;
        }
        match self.head.take() {
            Some((head, head_bytes, headers)) => Progress::Done(Response {
                head,
                head_bytes,
                headers,
                body: std::mem::take(&mut self.body),
            }),
            None => Progress::Bad("response without a head"),
        }
    }
}
