//! The HTTP/1.1 client: requests queue per origin, run on pooled keep-alive connections (at most
//! `max_connections` per origin), and their responses are framed by the sans-IO parser
//! (Content-Length, chunked, ended by close; 1xx skipped; HEAD, 204 and 304 bodiless). A request
//! on a reused connection that the server closed before any response byte is retried once when
//! idempotent. A timeout covers the whole exchange.

use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

use evasync_http1::{
    encode_request_head, is_idempotent, parse_response, ChunkedDecoder, HeaderSpan, Parse,
    RequestParts, ResponseError, ResponseFraming, ResponseHead,
};

use crate::command::ConnectTarget;
use crate::config::ConnectOptions;
use crate::error::{Error, ErrorKind};
use crate::event::{Event, EventSink};
use crate::id::{Id, IdMap};
use crate::reactor::{Reactor, TimerKey};
use crate::stats;
use crate::tcp::conn::{flag, ReadOutcome};

/// Longest response head accepted.
const MAX_RESPONSE_HEAD: usize = 64 * 1024;
/// Largest response body accepted (HttpError beyond).
const MAX_RESPONSE_BODY: u64 = 1 << 30;
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
        })
    }
}

/// A request waiting for, or being served by, a connection.
struct Pending {
    req: ClientRequest,
    origin: String,
    conn: Option<Id>,
    retried: bool,
}

/// The connections of one origin.
#[derive(Default)]
struct Pool {
    idle: Vec<Id>,
    open: usize,
    queue: VecDeque<Id>,
}

/// Every origin's pool and every pending request.
#[derive(Default)]
pub(crate) struct Client {
    pools: HashMap<String, Pool>,
    requests: IdMap<Pending>,
}

/// Where the response being read is.
enum Reading {
    Head,
    Length(u64),
    Chunked(ChunkedDecoder),
    UntilClose,
}

/// A client connection's state.
pub(crate) struct ClientConn {
    origin: String,
    request: Option<Id>,
    /// Served a request before (a failure before any byte may then be a stale connection).
    reused: bool,
    got_bytes: bool,
    input: Vec<u8>,
    reading: Reading,
    head: Option<(ResponseHead, Vec<u8>, Vec<HeaderSpan>)>,
    body: Vec<u8>,
    idle_gen: u32,
    keep_alive: bool,
    /// Counted in `outgoing_http_connections` (busy with a request; idle pooled ones are not).
    counted: bool,
}

impl ClientConn {
    fn new(origin: String) -> ClientConn {
        ClientConn {
            origin,
            request: None,
            reused: false,
            got_bytes: false,
            input: Vec::new(),
            reading: Reading::Head,
            head: None,
            body: Vec::new(),
            idle_gen: 0,
            keep_alive: true,
            counted: true,
        }
    }

    fn reset(&mut self) {
        self.request = None;
        self.got_bytes = false;
        self.input.clear();
        if self.input.capacity() > crate::http::reactor_http::KEEP_BUFFER_MAX {
            // A big response passed through: a pooled connection does not keep that memory.
            self.input = Vec::new();
        }
        self.reading = Reading::Head;
        self.head = None;
        self.body = Vec::new();
    }
}

/// What parsing the input found.
enum Parsed {
    More,
    Done,
    Bad(&'static str),
}

impl ClientConn {
    /// Parses what has arrived; `eof` says the server closed.
    fn parse(&mut self, head_request: bool, eof: bool) -> Parsed {
        loop {
            match &mut self.reading {
                Reading::Head => {
                    let mut spans = Vec::new();
                    match parse_response(&self.input, head_request, MAX_RESPONSE_HEAD, &mut spans) {
                        Ok(Parse::Partial) => return Parsed::More,
                        Err(_) => return Parsed::Bad("malformed response"),
                        Ok(Parse::Complete(head, n)) => {
                            if head.status == 101 {
                                return Parsed::Bad("unexpected protocol switch (101)");
                            }
                            let head_bytes: Vec<u8> = self.input.drain(..n).collect();
                            if head.status < 200 {
                                continue; // 1xx: skipped
                            }
                            self.keep_alive = head.keep_alive;
                            self.reading = match head.framing {
                                ResponseFraming::None => Reading::Length(0),
                                ResponseFraming::Length(n) if n > MAX_RESPONSE_BODY => {
                                    return Parsed::Bad("response body too large")
                                }
                                ResponseFraming::Length(n) => Reading::Length(n),
                                ResponseFraming::Chunked => {
                                    Reading::Chunked(ChunkedDecoder::new(MAX_RESPONSE_BODY))
                                }
                                ResponseFraming::UntilClose => Reading::UntilClose,
                            };
                            self.head = Some((head, head_bytes, spans));
                        }
                    }
                }
                Reading::Length(left) => {
                    let n = (*left).min(self.input.len() as u64) as usize;
                    self.body.extend(self.input.drain(..n));
                    *left -= n as u64;
                    if *left == 0 {
                        return Parsed::Done;
                    }
                    return if eof {
                        Parsed::Bad("connection closed inside the response body")
                    } else {
                        Parsed::More
                    };
                }
                Reading::Chunked(dec) => {
                    let mut used = 0;
                    while used < self.input.len() && !dec.is_done() {
                        match dec.decode(&self.input[used..]) {
                            Ok(d) => {
                                self.body.extend_from_slice(d.data);
                                used += d.consumed;
                                if d.consumed == 0 {
                                    break;
                                }
                            }
                            Err(_) => return Parsed::Bad("malformed chunked body"),
                        }
                    }
                    self.input.drain(..used);
                    if dec.is_done() {
                        return Parsed::Done;
                    }
                    return if eof {
                        Parsed::Bad("connection closed inside the response body")
                    } else {
                        Parsed::More
                    };
                }
                Reading::UntilClose => {
                    self.body.append(&mut self.input);
                    if self.body.len() as u64 > MAX_RESPONSE_BODY {
                        return Parsed::Bad("response body too large");
                    }
                    return if eof { Parsed::Done } else { Parsed::More };
                }
            }
        }
    }
}

fn origin_of(req: &ClientRequest) -> String {
    format!("{}:{}", req.host, req.port)
}

impl Reactor {
    /// Queues request `id` for its origin.
    pub(crate) fn client_request(&mut self, id: Id, req: ClientRequest, sink: &mut dyn EventSink) {
        let origin = origin_of(&req);
        if let Some(t) = req.timeout {
            self.timers
                .schedule(Instant::now() + t, TimerKey::ClientTimeout(id));
        }
        self.client
            .pools
            .entry(origin.clone())
            .or_default()
            .queue
            .push_back(id);
        self.client.requests.insert(
            id,
            Pending {
                req,
                origin: origin.clone(),
                conn: None,
                retried: false,
            },
        );
        self.client_dispatch(&origin, sink);
    }

    /// Gives queued requests of `origin` to idle connections, opening new ones within the limit.
    fn client_dispatch(&mut self, origin: &str, sink: &mut dyn EventSink) {
        loop {
            let Some(pool) = self.client.pools.get_mut(origin) else {
                return;
            };
            let Some(&rid) = pool.queue.front() else {
                if pool.open == 0 {
                    self.client.pools.remove(origin);
                }
                return;
            };
            let Some(pending) = self.client.requests.get(&rid) else {
                pool.queue.pop_front();
                continue;
            };
            let max = pending.req.max_connections.max(1);
            if let Some(cid) = pool.idle.pop() {
                pool.queue.pop_front();
                self.client_assign(rid, cid, sink);
            } else if pool.open < max {
                pool.queue.pop_front();
                pool.open += 1;
                let cid = self.handle().next_id();
                let (host, port) = (pending.req.host.clone(), pending.req.port);
                let mut conn = Box::new(ClientConn::new(origin.to_string()));
                conn.request = Some(rid);
                // A new connection is never retried on: the bytes move, no copy kept.
                let bytes = match self.client.requests.get_mut(&rid) {
                    Some(p) => {
                        p.conn = Some(cid);
                        std::mem::take(&mut p.req.bytes)
                    }
                    None => Vec::new(),
                };
                let opts = ConnectOptions {
                    no_delay: true,
                    ..ConnectOptions::default()
                };
                self.connect_with(cid, ConnectTarget::Host(host, port), opts, Some(conn), sink);
                // Queued until connected; flushed then.
                self.write(cid, bytes, None, sink);
            } else {
                return;
            }
        }
    }

    /// Sends request `rid` on idle connection `cid`.
    fn client_assign(&mut self, rid: Id, cid: Id, sink: &mut dyn EventSink) {
        let Some(p) = self.client.requests.get_mut(&rid) else {
            return;
        };
        p.conn = Some(cid);
        // A reused connection may turn out closed: keep a copy only while a retry is possible.
        let bytes = if p.req.idempotent && !p.retried {
            p.req.bytes.clone()
        } else {
            std::mem::take(&mut p.req.bytes)
        };
        let Some(c) = self.conns.get_mut(&cid).and_then(|c| c.client.as_mut()) else {
            return;
        };
        c.request = Some(rid);
        c.idle_gen = c.idle_gen.wrapping_add(1);
        if !c.counted {
            c.counted = true;
            stats::inc(&self.shared.stats.http_outgoing);
        }
        self.write(cid, bytes, None, sink);
    }

    /// Reads a client connection and frames its response.
    pub(crate) fn client_read(&mut self, id: Id, sink: &mut dyn EventSink) {
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
        let Some(mut client) = conn.client.take() else {
            return;
        };
        let before = client.input.len();
        let bytes_read = &shared.stats.bytes_read;
        let outcome = conn.read_step(
            id,
            scratch,
            cfg.read_budget,
            bytes_read,
            pending_read,
            &mut |data| client.input.extend_from_slice(data),
        );
        if client.input.len() > before {
            client.got_bytes = true;
        }
        let eof = matches!(outcome, ReadOutcome::Eof);
        let failed = match outcome {
            ReadOutcome::Failed(e) => Some(Error::io(conn.describe("read from"), &e)),
            _ => None,
        };
        if let Some(c) = self.conns.get_mut(&id) {
            c.client = Some(client);
            if eof {
                c.flags |= flag::EOF;
                c.flags &= !flag::READABLE;
            }
        }
        self.client_progress(id, eof, failed, sink);
    }

    /// Acts on what arrived: a whole response, a protocol error, or the connection's end.
    fn client_progress(
        &mut self,
        id: Id,
        eof: bool,
        failed: Option<Error>,
        sink: &mut dyn EventSink,
    ) {
        let Some(client) = self.conns.get_mut(&id).and_then(|c| c.client.as_mut()) else {
            return;
        };
        let Some(rid) = client.request else {
            // Idle: the server closed it (or sent garbage): drop it from the pool.
            if eof || failed.is_some() || !client.input.is_empty() {
                self.close(id, true, sink);
            }
            return;
        };
        let head_request = self
            .client
            .requests
            .get(&rid)
            .is_some_and(|p| p.req.head_request);
        let parsed = if client.got_bytes || !client.input.is_empty() {
            client.parse(head_request, eof || failed.is_some())
        } else {
            Parsed::More
        };
        match parsed {
            Parsed::Done => {
                let keep = client.keep_alive && !eof;
                let head = client.head.take();
                let body = std::mem::take(&mut client.body);
                let leftover = !client.input.is_empty();
                client.reset();
                client.reused = true;
                let pending = self.client.requests.remove(&rid);
                if let Some((h, bytes, spans)) = head {
                    sink.event(Event::HttpResponse {
                        id: rid,
                        status: h.status,
                        head_bytes: &bytes,
                        headers: &spans,
                        body: &body,
                    });
                }
                let keep = keep && !leftover && pending.as_ref().is_some_and(|p| p.req.keep_alive);
                if keep {
                    self.client_idle(id, sink);
                } else {
                    self.close(id, !eof && leftover, sink);
                }
            }
            Parsed::Bad(why) => {
                let err = Error::new(ErrorKind::Http, format!("{} from {}", why, client.origin));
                self.client_fail_request(rid, err, sink);
                self.close(id, true, sink);
            }
            Parsed::More => {
                if let Some(err) = failed {
                    self.client_failed(id, err, sink);
                } else if eof {
                    let err = Error::new(
                        ErrorKind::Reset,
                        format!(
                            "{} closed the connection before the response",
                            client.origin
                        ),
                    );
                    self.client_failed(id, err, sink);
                }
            }
        }
    }

    /// A served connection goes back to its pool, or serves the next queued request.
    fn client_idle(&mut self, id: Id, sink: &mut dyn EventSink) {
        let Some(client) = self.conns.get_mut(&id).and_then(|c| c.client.as_mut()) else {
            return;
        };
        let origin = client.origin.clone();
        client.idle_gen = client.idle_gen.wrapping_add(1);
        if client.counted {
            client.counted = false;
            stats::dec(&self.shared.stats.http_outgoing);
        }
        let gen = client.idle_gen;
        self.timers
            .schedule(Instant::now() + IDLE_TIMEOUT, TimerKey::ClientIdle(id, gen));
        if let Some(pool) = self.client.pools.get_mut(&origin) {
            pool.idle.push(id);
        }
        self.client_dispatch(&origin, sink);
    }

    /// The connection failed (or the server closed it): retry or fail its request, drop it.
    pub(crate) fn client_failed(&mut self, id: Id, error: Error, sink: &mut dyn EventSink) {
        let Some(client) = self.conns.get_mut(&id).and_then(|c| c.client.as_mut()) else {
            return;
        };
        if let Some(rid) = client.request.take() {
            let stale = client.reused && !client.got_bytes;
            let retry = self
                .client
                .requests
                .get_mut(&rid)
                .filter(|p| stale && p.req.idempotent && !p.retried);
            if let Some(p) = retry {
                // A kept-alive connection the server had closed: not the request's fault.
                p.retried = true;
                p.conn = None;
                let origin = p.origin.clone();
                if let Some(pool) = self.client.pools.get_mut(&origin) {
                    pool.queue.push_front(rid);
                }
            } else {
                self.client_fail_request(rid, error, sink);
            }
        }
        self.close(id, true, sink);
    }

    /// Fails request `rid` with `error`.
    fn client_fail_request(&mut self, rid: Id, error: Error, sink: &mut dyn EventSink) {
        if let Some(p) = self.client.requests.remove(&rid) {
            if p.conn.is_none() {
                if let Some(pool) = self.client.pools.get_mut(&p.origin) {
                    pool.queue.retain(|r| *r != rid);
                }
            }
            sink.event(Event::HttpClientFailed { id: rid, error });
        }
    }

    /// The reactor let go of a client connection: fix its pool, serve what waits.
    pub(crate) fn client_released(
        &mut self,
        id: Id,
        client: Box<ClientConn>,
        sink: &mut dyn EventSink,
    ) {
        if client.counted {
            stats::dec(&self.shared.stats.http_outgoing);
        }
        if let Some(rid) = client.request {
            // Released with a request on it (connect failed, or closed under it).
            let err = Error::new(
                ErrorKind::Connection,
                format!("connection to {} lost", client.origin),
            );
            if self
                .client
                .requests
                .get(&rid)
                .is_some_and(|p| p.conn == Some(id))
            {
                self.client_fail_request(rid, err, sink);
            }
        }
        if let Some(pool) = self.client.pools.get_mut(&client.origin) {
            pool.open = pool.open.saturating_sub(1);
            pool.idle.retain(|c| *c != id);
        }
        self.client_dispatch(&client.origin, sink);
    }

    /// A request's whole-exchange timeout.
    pub(crate) fn client_timeout(&mut self, rid: Id, sink: &mut dyn EventSink) {
        let Some(p) = self.client.requests.get(&rid) else {
            return;
        };
        let err = Error::timeout(format!("HTTP request to {}", p.origin));
        let conn = p.conn;
        self.client_fail_request(rid, err, sink);
        if let Some(cid) = conn {
            if let Some(c) = self.conns.get_mut(&cid).and_then(|c| c.client.as_mut()) {
                c.request = None;
            }
            self.close(cid, true, sink);
        }
    }

    /// An idle pooled connection's time is up.
    pub(crate) fn client_idle_expired(&mut self, id: Id, gen: u32, sink: &mut dyn EventSink) {
        let idle = self
            .conns
            .get(&id)
            .and_then(|c| c.client.as_ref())
            .is_some_and(|c| c.request.is_none() && c.idle_gen == gen);
        if idle {
            self.close(id, false, sink);
        }
    }

    /// True while client requests are pending.
    pub(crate) fn client_busy(&self) -> bool {
        !self.client.requests.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const RESPONSES: &[&[u8]] = &[
        b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
        b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nuntil close",
        b"HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok",
    ];

    fn run(input: &[u8], splits: &[usize], head_request: bool) -> Option<(u16, Vec<u8>)> {
        let mut c = ClientConn::new("o".into());
        let mut pos: usize = 0;
        for &n in splits.iter().chain(std::iter::once(&usize::MAX)) {
            let end = pos.saturating_add(n).min(input.len());
            c.input.extend_from_slice(&input[pos..end]);
            pos = end;
            let eof = pos == input.len();
            match c.parse(head_request, eof) {
                Parsed::Done => return c.head.take().map(|(h, ..)| (h.status, c.body.clone())),
                Parsed::Bad(_) => return None,
                Parsed::More if eof => return None,
                Parsed::More => {}
            }
        }
        None
    }

    #[test]
    fn responses_frame_the_same_in_any_split() {
        let want: [Option<(u16, &[u8])>; 5] = [
            Some((200, b"hello")),
            Some((200, b"abc")),
            Some((204, b"")),
            Some((200, b"until close")),
            Some((200, b"ok")),
        ];
        for (bytes, want) in RESPONSES.iter().zip(want) {
            for step in 1..bytes.len() {
                let splits = vec![step; bytes.len() / step + 1];
                let got = run(bytes, &splits, false);
                assert_eq!(
                    got.as_ref().map(|(s, b)| (*s, b.as_slice())),
                    want,
                    "{} split by {step}",
                    String::from_utf8_lossy(bytes)
                );
            }
        }
        assert_eq!(
            run(RESPONSES[0], &[], true).map(|(s, b)| (s, b.len())),
            Some((200, 0))
        );
    }

    #[test]
    fn mutated_responses_never_panic() {
        let mut x: u64 = 0x2545_f491_4f6c_dd1d;
        let mut next = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        for _ in 0..20_000 {
            let mut bytes = RESPONSES[(next() % 5) as usize].to_vec();
            for _ in 0..(next() % 4) {
                let i = (next() as usize) % bytes.len();
                bytes[i] = next() as u8;
            }
            let splits: Vec<usize> = (0..4).map(|_| 1 + (next() as usize) % 16).collect();
            let _ = run(&bytes, &splits, next() % 2 == 0);
        }
    }
}
