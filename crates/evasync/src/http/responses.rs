//! The response side of one HTTP server connection: the exchanges (requests awaiting or
//! receiving their responses) in request order, and the bytes for the socket. Responses may be
//! given in any order; each goes out only when every earlier one is complete (pipelining), the
//! later ones held meanwhile. A response that ends the connection makes it close once written.

use std::collections::VecDeque;

use evasync_http1::{
    encode_chunk, encode_prepared_head, reason_phrase, BodyPlan, PreparedHeaders, ResponseContext,
    Version, LAST_CHUNK,
};

use crate::buffer::KEEP_BUFFER_MAX;
use crate::clock::TurnClock;

/// Where a response is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Reply {
    /// The application has not answered yet.
    Awaiting,
    /// A streamed response is under way, framed as the plan says.
    Streaming(BodyPlan),
    /// The whole response is encoded.
    Done,
}

/// A request awaiting (or finishing) its response.
struct Exchange {
    seq: u32,
    version: Version,
    head_request: bool,
    /// The connection may stay open after this response.
    keep_alive: bool,
    reply: Reply,
    /// Response bytes produced while an earlier response is still unfinished.
    held: Vec<u8>,
}

/// Buffers given back by idle connections, lent to the next connection with work: a busy
/// server allocates nothing per request, and an idle connection holds no buffer.
#[derive(Default)]
pub(crate) struct SpareBuffers {
    out: Vec<Vec<u8>>,
    exchanges: Vec<VecDeque<Exchange>>,
}

impl SpareBuffers {
    /// Spares kept of each kind: enough for the connections busy within one turn.
    const KEEP: usize = 256;
}

/// Exchanges in request order and the bytes ready for the socket.
#[derive(Default)]
pub(crate) struct Responses {
    exchanges: VecDeque<Exchange>,
    /// Bytes for the socket, in order; the reactor takes them (capacity is kept).
    pub out: Vec<u8>,
    /// The connection must close once `out` is flushed.
    pub close_pending: bool,
    /// No more requests will be read: close once every owed response is out.
    pub close_when_done: bool,
}

impl Responses {
    /// Responses owed (awaited or under way).
    pub fn len(&self) -> usize {
        self.exchanges.len()
    }

    /// True when no response is owed.
    pub fn is_empty(&self) -> bool {
        self.exchanges.is_empty()
    }

    /// A request was read: its response is owed after the earlier ones.
    pub fn expect(&mut self, seq: u32, version: Version, head_request: bool, keep_alive: bool) {
        self.exchanges.push_back(Exchange {
            seq,
            version,
            head_request,
            keep_alive,
            reply: Reply::Awaiting,
            held: Vec::new(),
        });
    }

    /// `100 Continue` for the request just read, when no earlier response is still owed (an
    /// interim response may not overtake them; the client then sends its body after its own
    /// short wait, as RFC 9110 §10.1.1 lets it).
    pub fn interim_continue(&mut self) {
        if self.exchanges.len() == 1 {
            self.out.extend_from_slice(b"HTTP/1.1 100 Continue\r\n\r\n");
        }
    }

    /// The server refuses what is being received with `bytes` (an error response), then the
    /// connection closes. The request whose body is being received, if not answered yet, is
    /// the one refused; otherwise the refusal is a new exchange at the end (numbered `seq`).
    pub fn refuse(&mut self, bytes: Vec<u8>, seq: u32, receiving_body: bool) {
        self.close_when_done = true;
        match self.exchanges.back_mut() {
            Some(ex) if receiving_body && ex.reply == Reply::Awaiting => {
                ex.keep_alive = false;
                ex.reply = Reply::Done;
                ex.held = bytes;
            }
            Some(ex) if receiving_body => ex.keep_alive = false,
            _ => self.exchanges.push_back(Exchange {
                seq,
                version: Version::Http11,
                head_request: false,
                keep_alive: false,
                reply: Reply::Done,
                held: bytes,
            }),
        }
        if self.exchanges.len() == 1 {
            if let Some(front) = self.exchanges.front_mut() {
                let held = std::mem::take(&mut front.held);
                self.out.extend_from_slice(&held);
            }
        }
        self.complete_front();
    }

    /// No more requests will be read (the peer's FIN, a graceful close). With `drop_owed`
    /// (the peer cut a request short) or nothing owed, the connection closes at once; else the
    /// last awaited response carries `Connection: close` and the connection closes after it.
    pub fn no_more_requests(&mut self, drop_owed: bool) {
        self.close_when_done = true;
        if drop_owed || self.exchanges.is_empty() {
            self.exchanges.clear();
            self.close_pending = true;
        } else if let Some(last) = self.exchanges.back_mut() {
            if last.reply == Reply::Awaiting {
                last.keep_alive = false;
            }
        }
    }

    /// Takes buffers from the server's spares for the work about to happen, so a connection
    /// that was idle (and gave its buffers back) allocates nothing for its next request.
    pub fn lend(&mut self, spare: &mut SpareBuffers) {
        if self.out.capacity() == 0 {
            if let Some(b) = spare.out.pop() {
                self.out = b;
            }
        }
        if self.exchanges.capacity() == 0 {
            if let Some(q) = spare.exchanges.pop() {
                self.exchanges = q;
            }
        }
    }

    /// `out` was handed to the socket: it goes back to the spares (a big one is dropped: no one
    /// should hold that for long), and so does the exchange queue once nothing is owed. An idle
    /// keep-alive connection then holds no buffer at all.
    pub fn recycle(&mut self, spare: &mut SpareBuffers) {
        let mut out = std::mem::take(&mut self.out);
        if out.capacity() <= KEEP_BUFFER_MAX && spare.out.len() < SpareBuffers::KEEP {
            out.clear();
            spare.out.push(out);
        }
        if self.exchanges.is_empty()
            && self.exchanges.capacity() > 0
            && spare.exchanges.len() < SpareBuffers::KEEP
        {
            spare.exchanges.push(std::mem::take(&mut self.exchanges));
        }
    }

    /// Index of exchange `seq` if it still awaits its response (a response to an unknown or
    /// answered request is dropped); `close` marks it as the connection's last.
    fn awaiting(&mut self, seq: u32, close: bool) -> Option<usize> {
        let idx = self.find(seq)?;
        let ex = &mut self.exchanges[idx];
        if ex.reply != Reply::Awaiting {
            return None;
        }
        if close {
            ex.keep_alive = false;
        }
        Some(idx)
    }

    /// Index of the exchange `seq` still awaiting (or streaming) a response.
    fn find(&self, seq: u32) -> Option<usize> {
        self.exchanges.iter().position(|e| e.seq == seq)
    }

    /// Appends bytes of exchange `idx`: to the wire if it is the oldest, else held back.
    fn emit(&mut self, idx: usize, bytes: impl FnOnce(&mut Vec<u8>)) {
        if idx == 0 {
            bytes(&mut self.out);
        } else if let Some(ex) = self.exchanges.get_mut(idx) {
            bytes(&mut ex.held);
        }
    }

    fn context<'d>(
        &self,
        idx: usize,
        date: &'d [u8],
        body_len: Option<u64>,
    ) -> ResponseContext<'d> {
        let ex = &self.exchanges[idx];
        ResponseContext {
            version: ex.version,
            head_request: ex.head_request,
            keep_alive: ex.keep_alive,
            date,
            body_len,
        }
    }

    /// A whole response for request `seq`; true when no response is owed any more (the idle
    /// wait starts). A response to an unknown or answered request is dropped (its connection
    /// failed, or the binding already refused the second answer).
    pub fn respond(
        &mut self,
        seq: u32,
        status: u16,
        headers: &PreparedHeaders,
        body: &[u8],
        close: bool,
        clock: &TurnClock,
    ) -> bool {
        let Some(idx) = self.awaiting(seq, close) else {
            return false;
        };
        let ctx = self.context(idx, clock.date(), Some(body.len() as u64));
        let mut plan = None;
        self.emit(idx, |out| {
            match encode_prepared_head(out, status, headers, &ctx) {
                Ok(p) => {
                    if let BodyPlan::Length(_) = p.body {
                        out.extend_from_slice(body);
                    }
                    plan = Some(p);
                }
                Err(_) => out.extend_from_slice(&error_response(500, "", ctx.date)),
            }
        });
        let ex = &mut self.exchanges[idx];
        if plan.map_or(true, |p| p.close) {
            ex.keep_alive = false;
        }
        ex.reply = Reply::Done;
        self.complete_front()
    }

    /// The head of a streamed response for request `seq`; as [`Responses::respond`].
    pub fn start(
        &mut self,
        seq: u32,
        status: u16,
        headers: &PreparedHeaders,
        close: bool,
        clock: &TurnClock,
    ) -> bool {
        let Some(idx) = self.awaiting(seq, close) else {
            return false;
        };
        let ctx = self.context(idx, clock.date(), None);
        let mut plan = None;
        self.emit(idx, |out| {
            match encode_prepared_head(out, status, headers, &ctx) {
                Ok(p) => plan = Some(p),
                Err(_) => out.extend_from_slice(&error_response(500, "", ctx.date)),
            }
        });
        let ex = &mut self.exchanges[idx];
        match plan {
            Some(p) => {
                if p.close {
                    ex.keep_alive = false;
                }
                ex.reply = Reply::Streaming(p.body);
                false
            }
            None => {
                ex.keep_alive = false;
                ex.reply = Reply::Done;
                self.complete_front()
            }
        }
    }

    /// A piece of a streamed response body.
    pub fn chunk(&mut self, seq: u32, data: &[u8]) {
        let Some(idx) = self.find(seq) else {
            return;
        };
        match self.exchanges[idx].reply {
            Reply::Streaming(BodyPlan::Chunked) => self.emit(idx, |out| encode_chunk(out, data)),
            Reply::Streaming(BodyPlan::Length(_)) | Reply::Streaming(BodyPlan::UntilClose) => {
                self.emit(idx, |out| out.extend_from_slice(data))
            }
            _ => {}
        }
    }

    /// The end of a streamed response; as [`Responses::respond`].
    pub fn finish(&mut self, seq: u32) -> bool {
        let Some(idx) = self.find(seq) else {
            return false;
        };
        let Reply::Streaming(plan) = self.exchanges[idx].reply else {
            return false;
        };
        if plan == BodyPlan::Chunked {
            self.emit(idx, |out| out.extend_from_slice(LAST_CHUNK));
        }
        let ex = &mut self.exchanges[idx];
        if plan == BodyPlan::UntilClose {
            ex.keep_alive = false;
        }
        ex.reply = Reply::Done;
        self.complete_front()
    }

    /// The application failed after answering request `seq`: that response is still
    /// delivered (a streamed one is ended), then the connection closes; later requests are
    /// dropped unanswered.
    pub fn close_after(&mut self, seq: u32) {
        self.close_when_done = true;
        match self.find(seq) {
            Some(idx) => {
                self.exchanges.truncate(idx + 1);
                self.exchanges[idx].keep_alive = false;
                if let Reply::Streaming(_) = self.exchanges[idx].reply {
                    self.finish(seq);
                } else {
                    self.complete_front();
                }
            }
            // Its response is out already: close once what is written is flushed.
            None => {
                self.exchanges.clear();
                self.close_pending = true;
            }
        }
    }

    /// Retires finished exchanges from the front, releasing the held bytes of the next one.
    /// True when none is left (the connection is idle, or closes).
    fn complete_front(&mut self) -> bool {
        while self
            .exchanges
            .front()
            .is_some_and(|e| e.reply == Reply::Done)
        {
            let Some(done) = self.exchanges.pop_front() else {
                break;
            };
            if !done.keep_alive {
                self.exchanges.clear();
                self.close_pending = true;
                return true;
            }
            if let Some(next) = self.exchanges.front_mut() {
                let held = std::mem::take(&mut next.held);
                self.out.extend_from_slice(&held);
            }
        }
        if !self.exchanges.is_empty() {
            return false;
        }
        if self.close_when_done {
            self.close_pending = true;
        }
        if self.exchanges.capacity() > 16 {
            // A pipelined burst grew it; an idle connection gives that back.
            self.exchanges = VecDeque::new();
        }
        true
    }
}

/// A minimal response for a refusal the server makes itself; the connection closes after it.
/// Its plain-text body says why (`why`, which names the limit or rule, e.g. "too many header
/// fields (maxHeaders)"), so whoever reads the response learns which option to change.
pub(crate) fn error_response(status: u16, why: &str, date: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(160 + why.len());
    let kind = if why.is_empty() {
        ""
    } else {
        "Content-Type: text/plain; charset=utf-8\r\n"
    };
    out.extend_from_slice(
        format!(
            "HTTP/1.1 {status} {}\r\n{kind}Content-Length: {}\r\nConnection: close\r\nDate: ",
            reason_phrase(status),
            why.len()
        )
        .as_bytes(),
    );
    out.extend_from_slice(date);
    out.extend_from_slice(b"\r\n\r\n");
    out.extend_from_slice(why.as_bytes());
    out
}
