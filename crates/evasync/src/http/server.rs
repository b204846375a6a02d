//! One HTTP server connection (the `upper` layer of an accepted connection): the sans-IO request
//! state machine, the bytes it has not consumed yet, its deadlines, and its responses in request
//! order ([`Responses`]). It produces events and wire bytes and says what it wants
//! ([`Effects`]); the reactor moves the bytes to the socket and closes when told.

use std::sync::Arc;
use std::time::Instant;

use evasync_http1::{
    BodyFraming, HeaderSpan, Limits, PreparedHeaders, ReadState, RequestHead, ServerConn, Step,
};

use crate::buffer::KEEP_BUFFER_MAX;
use crate::clock::TurnClock;
use crate::event::{Event, EventSink};
use crate::http::responses::{error_response, Responses};
use crate::http::HttpServerOptions;
use crate::id::Id;

/// Requests read ahead of their responses before reading pauses: pipelining stays bounded.
pub(crate) const MAX_IN_FLIGHT: usize = 128;
/// Unsent response bytes above which a connection's requests are no longer read: a peer that
/// does not read its responses cannot make the server queue without bound.
pub(crate) const WRITE_HIGH: usize = 256 * 1024;
/// Unsent response bytes at or below which reading resumes.
pub(crate) const WRITE_LOW: usize = 64 * 1024;

/// A request whose body is still arriving (whole-body mode): its head, copied out of the input.
struct PendingRequest {
    seq: u32,
    head: RequestHead,
    head_bytes: Vec<u8>,
    headers: Vec<HeaderSpan>,
    body: Vec<u8>,
}

/// What the reactor must do after a call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Effects {
    /// `out` has bytes for the socket.
    pub write: bool,
    /// Close (gracefully) once everything written is flushed.
    pub close: bool,
}

/// Per-call context from the reactor.
pub(crate) struct Ctx<'a> {
    pub id: Id,
    pub now: Instant,
    pub date: &'a [u8],
    pub headers: &'a mut Vec<HeaderSpan>,
}

impl<'a> Ctx<'a> {
    /// The context of a call for connection `id`, at the reactor's clock of this turn.
    pub fn new(id: Id, clock: &'a TurnClock, headers: &'a mut Vec<HeaderSpan>) -> Ctx<'a> {
        Ctx {
            id,
            now: clock.instant(),
            date: clock.date(),
            headers,
        }
    }
}

/// The HTTP state of one accepted connection.
pub(crate) struct HttpConn {
    parser: ServerConn,
    opts: Arc<HttpServerOptions>,
    /// Received bytes not consumed yet (a partial head or body); usually empty.
    input: Vec<u8>,
    pending: Option<Box<PendingRequest>>,
    next_seq: u32,
    /// Responses owed, in request order, and the bytes for the socket.
    pub responses: Responses,
    /// When the current wait began: the idle keep-alive wait, or the request being received.
    since: Instant,
    /// The deadline of this connection's entry in the timer queue.
    pub armed: Option<Instant>,
    /// Reading paused: too many responses awaited.
    pub paused: bool,
    /// Reading paused: the peer does not read its responses (too many unsent bytes).
    pub write_paused: bool,
    /// Listed for a deferred flush.
    pub flush_listed: bool,
}

impl HttpConn {
    pub fn new(opts: Arc<HttpServerOptions>, now: Instant) -> HttpConn {
        let limits = Limits {
            max_head_size: opts.max_header_size,
            max_headers: opts.max_headers,
        };
        HttpConn {
            parser: ServerConn::new(limits, opts.max_body_size, opts.max_requests_per_connection),
            opts,
            input: Vec::new(),
            pending: None,
            next_seq: 0,
            responses: Responses::default(),
            since: now,
            armed: None,
            paused: false,
            write_paused: false,
            flush_listed: false,
        }
    }

    fn effects(&self) -> Effects {
        Effects {
            write: !self.responses.out.is_empty(),
            close: self.responses.close_pending,
        }
    }

    /// True when nothing is under way: no partial request, no response awaited.
    pub fn is_idle(&self) -> bool {
        self.responses.is_empty() && self.parser.is_between_requests() && self.input.is_empty()
    }

    /// No more requests will be read on this connection.
    fn stop_reading(&mut self) {
        self.parser.stop_after_current();
        self.pending = None;
        self.input = Vec::new();
    }

    /// When the connection times out, if it can. Defined for every state of the request side:
    /// - a request is being received (a partial head, or a body): `requestTimeout` from its
    ///   first byte, unless reading is held back by the server itself (the pipelining or
    ///   write bound), which is not the client's fault;
    /// - idle between requests with nothing owed: `keepAliveTimeout`;
    /// - a complete request awaits its response, or nothing more will be read (`Done`: the
    ///   peer's FIN, `Connection: close`, HTTP/1.0, the request limit, a graceful close): no
    ///   deadline. `requestTimeout` covers receiving a request, not the application's answer.
    pub fn deadline(&self) -> Option<Instant> {
        let receiving = match self.parser.state() {
            ReadState::FixedBody { .. } | ReadState::ChunkedBody(_) => true,
            ReadState::Head => !self.input.is_empty() && self.reading_allowed(),
            ReadState::Done => false,
        };
        let idle = matches!(self.parser.state(), ReadState::Head)
            && self.input.is_empty()
            && self.responses.is_empty();
        if receiving {
            self.opts.request_timeout.map(|t| self.since + t)
        } else if idle {
            self.opts.keep_alive_timeout.map(|t| self.since + t)
        } else {
            None
        }
    }

    /// The deadline passed: 408 for a request being received, a quiet close for an idle one.
    pub fn timed_out(&mut self, ctx: &mut Ctx<'_>) -> Effects {
        if self.is_idle() {
            self.responses.close_pending = true;
        } else {
            let in_body = self.in_body();
            let why = "the request did not arrive in time (requestTimeout)";
            self.refuse(408, why, ctx.date, in_body);
        }
        self.effects()
    }

    /// Bytes arrived: parse, report requests and bodies, answer what must be answered at once.
    pub fn feed(&mut self, data: &[u8], ctx: &mut Ctx<'_>, sink: &mut dyn EventSink) -> Effects {
        if matches!(self.parser.state(), ReadState::Done) {
            return self.effects();
        }
        if self.parser.is_between_requests() && self.input.is_empty() && !data.is_empty() {
            self.since = ctx.now;
        }
        if self.input.is_empty() {
            let used = self.process(data, ctx, sink);
            if used < data.len() && !self.parser_done() {
                self.input.extend_from_slice(&data[used..]);
            }
        } else {
            let mut input = std::mem::take(&mut self.input);
            input.extend_from_slice(data);
            let used = self.process(&input, ctx, sink);
            input.drain(..used);
            if input.is_empty() && input.capacity() > KEEP_BUFFER_MAX {
                input = Vec::new(); // a big head or body passed through: give the memory back
            }
            if !self.parser_done() {
                self.input = input;
            }
        }
        self.effects()
    }

    fn parser_done(&self) -> bool {
        matches!(self.parser.state(), ReadState::Done)
    }

    /// Steps the parser over `buf`; returns the bytes used.
    fn process(&mut self, buf: &[u8], ctx: &mut Ctx<'_>, sink: &mut dyn EventSink) -> usize {
        let mut pos = 0;
        loop {
            if self.responses.len() >= MAX_IN_FLIGHT && self.parser.is_between_requests() {
                self.paused = true;
                return pos;
            }
            let in_body = self.in_body();
            match self.parser.step(&buf[pos..], ctx.headers) {
                Step::NeedMore => return pos,
                Step::Done => return buf.len(),
                Step::Refused(e) => {
                    self.refuse(e.status(), e.reason, ctx.date, in_body);
                    return buf.len();
                }
                Step::Head {
                    head,
                    consumed,
                    body,
                    last,
                } => {
                    let head_bytes = &buf[pos..pos + consumed];
                    pos += consumed;
                    let seq = self.next_seq;
                    self.next_seq = self.next_seq.wrapping_add(1);
                    let head_request = head.method.of(head_bytes) == b"HEAD";
                    self.responses
                        .expect(seq, head.version, head_request, !last);
                    if !body {
                        self.report(seq, &head, head_bytes, ctx, &[], true, sink);
                        continue;
                    }
                    if head.expect_continue {
                        self.responses.interim_continue();
                    }
                    if self.opts.stream_body {
                        self.report(seq, &head, head_bytes, ctx, &[], false, sink);
                        continue;
                    }
                    let rest = &buf[pos..];
                    if let BodyFraming::ContentLength(n) = head.framing {
                        if rest.len() as u64 >= n {
                            // The whole body is here: report it without copying.
                            let n = n as usize;
                            // A fixed body completes in one step (no header is touched).
                            let _ = self.parser.step(&rest[..n], &mut Vec::new());
                            self.report(seq, &head, head_bytes, ctx, &rest[..n], true, sink);
                            pos += n;
                            continue;
                        }
                    }
                    self.pending = Some(Box::new(PendingRequest {
                        seq,
                        head,
                        head_bytes: head_bytes.to_vec(),
                        headers: ctx.headers.clone(),
                        body: Vec::new(),
                    }));
                }
                Step::Body {
                    data,
                    consumed,
                    finished,
                } => {
                    pos += consumed;
                    if self.opts.stream_body {
                        if !data.is_empty() || finished {
                            sink.event(Event::HttpBody {
                                id: ctx.id,
                                data,
                                finished,
                            });
                        }
                    } else if let Some(p) = self.pending.as_mut() {
                        p.body.extend_from_slice(data);
                        if finished {
                            if let Some(p) = self.pending.take() {
                                sink.event(Event::HttpRequest {
                                    id: ctx.id,
                                    seq: p.seq,
                                    head: p.head,
                                    head_bytes: &p.head_bytes,
                                    headers: &p.headers,
                                    body: &p.body,
                                    complete: true,
                                });
                            }
                        }
                    }
                }
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn report(
        &self,
        seq: u32,
        head: &RequestHead,
        head_bytes: &[u8],
        ctx: &Ctx<'_>,
        body: &[u8],
        complete: bool,
        sink: &mut dyn EventSink,
    ) {
        sink.event(Event::HttpRequest {
            id: ctx.id,
            seq,
            head: *head,
            head_bytes,
            headers: ctx.headers,
            body,
            complete,
        });
    }

    /// True while a request body is being read.
    fn in_body(&self) -> bool {
        matches!(
            self.parser.state(),
            ReadState::FixedBody { .. } | ReadState::ChunkedBody(_)
        )
    }

    /// Answers `status` in place of what is being received, then closes. A request whose
    /// response already started cannot be answered twice: the connection then just closes
    /// after what was written.
    fn refuse(&mut self, status: u16, why: &str, date: &[u8], receiving_body: bool) {
        self.stop_reading();
        // Nothing more will be parsed on this connection.
        self.parser = ServerConn::new(Limits::default(), 0, 1);
        self.parser.stop_after_current();
        let bytes = error_response(status, why, date);
        self.responses
            .refuse(bytes, self.next_seq.wrapping_sub(1), receiving_body);
    }

    /// The peer sent FIN: no more requests; close once the owed responses are out (at once
    /// when none is owed or a request was cut short).
    pub fn peer_finished(&mut self) -> Effects {
        // Cut short: a head or body was being received. A parser that reads nothing more
        // (`Done`: the last request was complete) owes its responses like one between requests.
        let partial = match self.parser.state() {
            ReadState::FixedBody { .. } | ReadState::ChunkedBody(_) => true,
            ReadState::Head => !self.input.is_empty(),
            ReadState::Done => false,
        };
        self.stop_reading();
        self.responses.no_more_requests(partial);
        self.effects()
    }

    /// The server is closing gracefully: finish what is owed with `Connection: close`, read no
    /// new request (a body being received is still read). Idle connections close at once.
    pub fn drain(&mut self) -> Effects {
        let idle = self.is_idle();
        self.parser.stop_after_current();
        self.responses.no_more_requests(idle);
        self.effects()
    }

    /// A whole response for request `seq`.
    pub fn respond(
        &mut self,
        seq: u32,
        status: u16,
        headers: &PreparedHeaders,
        body: &[u8],
        close: bool,
        clock: &TurnClock,
    ) -> Effects {
        if self
            .responses
            .respond(seq, status, headers, body, close, clock)
        {
            self.since = clock.instant();
        }
        self.effects()
    }

    /// The head of a streamed response for request `seq`.
    pub fn start(
        &mut self,
        seq: u32,
        status: u16,
        headers: &PreparedHeaders,
        close: bool,
        clock: &TurnClock,
    ) -> Effects {
        if self.responses.start(seq, status, headers, close, clock) {
            self.since = clock.instant();
        }
        self.effects()
    }

    /// A piece of a streamed response body.
    pub fn chunk(&mut self, seq: u32, data: &[u8]) -> Effects {
        self.responses.chunk(seq, data);
        self.effects()
    }

    /// The end of a streamed response.
    pub fn finish(&mut self, seq: u32, clock: &TurnClock) -> Effects {
        if self.responses.finish(seq) {
            self.since = clock.instant();
        }
        self.effects()
    }

    /// The application failed while handling request `seq` after its response was given or
    /// started: that response is still delivered (a streamed one is ended), then the
    /// connection closes. Requests after it are dropped unanswered; nothing more is read.
    pub fn close_after(&mut self, seq: u32) -> Effects {
        self.stop_reading();
        self.responses.close_after(seq);
        self.effects()
    }

    /// Reading may go on: fewer responses are owed than the pipelining bound.
    pub fn can_resume(&self) -> bool {
        self.paused && self.responses.len() < MAX_IN_FLIGHT
    }

    /// True when requests may be read: neither bound holds reading back.
    pub fn reading_allowed(&self) -> bool {
        !self.paused && !self.write_paused
    }

    /// Parses input held back while paused.
    pub fn resume(&mut self, ctx: &mut Ctx<'_>, sink: &mut dyn EventSink) -> Effects {
        self.paused = false;
        self.feed(&[], ctx, sink)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::parse::PreparedHeaders;

    /// A tiny deterministic generator (xorshift), so failures reproduce.
    struct Rng(u64);

    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }

        fn below(&mut self, n: usize) -> usize {
            (self.next() % n.max(1) as u64) as usize
        }
    }

    const CORPUS: &[&[u8]] = &[
        b"GET / HTTP/1.1\r\nHost: a\r\n\r\n",
        b"POST /p HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello",
        b"POST /c HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
        b"PUT /e HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\nok",
        b"GET /x HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
        b"HEAD /h HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n",
    ];

    /// Random pipelines of valid and mutated requests, split anywhere, answered in random order
    /// with random kinds of responses: the connection never panics, never writes after deciding
    /// to close, and keeps its pipelining bound.
    #[test]
    fn random_traffic_never_panics() {
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        let headers = PreparedHeaders::default();
        let clock = TurnClock::default();
        let mut spans = Vec::new();
        for round in 0..20_000 {
            let opts = HttpServerOptions {
                stream_body: round % 2 == 0,
                max_body_size: 64,
                max_requests_per_connection: (round % 5) as u32,
                ..HttpServerOptions::default()
            };
            let mut conn = HttpConn::new(Arc::new(opts), Instant::now());
            let mut input = Vec::new();
            for _ in 0..1 + rng.below(6) {
                input.extend_from_slice(CORPUS[rng.below(CORPUS.len())]);
            }
            for _ in 0..rng.below(3) {
                let i = rng.below(input.len());
                input[i] = rng.next() as u8;
            }
            let mut seqs: Vec<u32> = Vec::new();
            let mut sink = |ev: Event<'_>| {
                if let Event::HttpRequest { seq, .. } = ev {
                    seqs.push(seq);
                }
            };
            let mut pos = 0;
            let mut closed = false;
            while pos < input.len() && !closed {
                let n = 1 + rng.below(input.len() - pos);
                let mut ctx = Ctx {
                    id: 1,
                    now: Instant::now(),
                    date: b"Thu, 01 Jan 1970 00:00:00 GMT",
                    headers: &mut spans,
                };
                let eff = conn.feed(&input[pos..pos + n], &mut ctx, &mut sink);
                pos += n;
                assert!(conn.responses.len() <= MAX_IN_FLIGHT + 1);
                closed |= eff.close;
                conn.responses.out.clear();
            }
            // Answer what arrived, in a random order and way.
            while !seqs.is_empty() && !closed {
                let seq = seqs.swap_remove(rng.below(seqs.len()));
                let eff = match rng.below(3) {
                    0 => conn.respond(seq, 200, &headers, b"body", false, &clock),
                    1 => {
                        conn.start(seq, 200, &headers, false, &clock);
                        conn.chunk(seq, b"piece");
                        conn.finish(seq, &clock)
                    }
                    _ => conn.respond(seq, 204, &headers, b"", rng.below(4) == 0, &clock),
                };
                closed |= eff.close;
                conn.responses.out.clear();
            }
        }
    }
}
