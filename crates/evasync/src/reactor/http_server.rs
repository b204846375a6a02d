//! The reactor's side of HTTP serving: reading into a connection's state machine, moving its
//! response bytes to the socket (deferred to the end of a command batch, so pipelined responses
//! leave in one write), the one timer entry per connection, the peer's FIN, and closing a
//! server.

use std::sync::Arc;
use std::time::Instant;

use crate::conn::{flag, Phase, ReadOutcome};
use crate::event::EventSink;
use crate::http::parse::PreparedHeaders;
use crate::http::server::{Ctx, Effects, HttpConn, WRITE_HIGH, WRITE_LOW};
use crate::http::{HttpServerOptions, Response};
use crate::id::Id;
use crate::net::listen::BoundListener;
use crate::reactor::{Reactor, Slot, TimerKey, Upper};
use crate::stats;

/// What a response operation asks of a connection.
pub(super) enum Part<'a> {
    Whole {
        status: u16,
        headers: &'a PreparedHeaders,
        body: &'a [u8],
        close: bool,
    },
    Head {
        status: u16,
        headers: &'a PreparedHeaders,
        close: bool,
    },
    Chunk(&'a [u8]),
    End,
    /// Deliver what was given, then close (the application failed after answering).
    CloseAfter,
}

/// The HTTP state of an open connection `slot`.
fn open_http(slot: Option<&mut Slot>) -> Option<(&mut crate::conn::Conn, &mut HttpConn)> {
    let slot = slot?;
    match &mut slot.upper {
        Upper::HttpServer(h) if slot.conn.phase == Phase::Open => Some((&mut slot.conn, h)),
        _ => None,
    }
}

/// The HTTP state of connection `slot`, whatever its phase.
fn http_of(slot: Option<&mut Slot>) -> Option<&mut HttpConn> {
    match &mut slot?.upper {
        Upper::HttpServer(h) => Some(h),
        _ => None,
    }
}

impl Reactor {
    /// Serves HTTP on a bound listener.
    pub(super) fn http_listen(&mut self, id: Id, bound: BoundListener, opts: HttpServerOptions) {
        let tcp = opts.tcp.clone();
        self.listen(id, bound, tcp, Some(Arc::new(opts)));
    }

    /// Reads the clocks for responses made outside a turn (commands applied between turns).
    pub(super) fn http_date_refresh(&mut self) {
        self.clock.refresh();
    }

    /// Reads an HTTP connection: every piece read goes through its state machine.
    pub(super) fn http_read(&mut self, id: Id, sink: &mut dyn EventSink) {
        let Reactor {
            conns,
            scratch,
            cfg,
            shared,
            pending_read,
            http,
            clock,
            ..
        } = self;
        let Some(slot) = conns.get_mut(&id) else {
            return;
        };
        let Upper::HttpServer(h) = &mut slot.upper else {
            return;
        };
        h.responses.lend(&mut http.spare);
        let mut ctx = Ctx::new(id, clock, &mut http.headers);
        let mut eff = Effects::default();
        let outcome = slot.conn.read_step(
            id,
            scratch,
            cfg.read_budget,
            &shared.stats.bytes_read,
            pending_read,
            &mut |data| {
                let e = h.feed(data, &mut ctx, sink);
                eff.write |= e.write;
                eff.close |= e.close;
            },
        );
        self.http_effects(id, eff, false, sink);
        let Some(outcome) = self.tls_read_outcome(id, outcome, sink) else {
            return;
        };
        match outcome {
            ReadOutcome::Drained | ReadOutcome::Stopped => {}
            ReadOutcome::Established | ReadOutcome::AskConfig(_) | ReadOutcome::TlsFailed(_) => {}
            ReadOutcome::Eof => self.http_eof(id, sink),
            // A client that resets its connection is routine for a server: no condition, so
            // no message to make either.
            ReadOutcome::Failed(_) => self.release_conn(id, sink),
        }
    }

    /// The peer sent FIN on an HTTP connection.
    fn http_eof(&mut self, id: Id, sink: &mut dyn EventSink) {
        let Some(h) = http_of(self.conns.get_mut(&id)) else {
            return;
        };
        let eff = h.peer_finished();
        self.http_effects(id, eff, false, sink);
    }

    /// A response made by a Rust embedder ([`super::Handle::http_respond`] and friends).
    pub(super) fn http_respond_owned(
        &mut self,
        id: Id,
        seq: u32,
        r: &Response,
        whole: bool,
        sink: &mut dyn EventSink,
    ) {
        let part = if whole {
            Part::Whole {
                status: r.status,
                headers: &r.headers,
                body: &r.body,
                close: r.close,
            }
        } else {
            Part::Head {
                status: r.status,
                headers: &r.headers,
                close: r.close,
            }
        };
        self.http_response(id, seq, part, sink);
    }

    /// Applies a response operation.
    pub(super) fn http_response(
        &mut self,
        id: Id,
        seq: u32,
        part: Part<'_>,
        sink: &mut dyn EventSink,
    ) {
        let Reactor {
            conns, http, clock, ..
        } = self;
        let Some((conn, h)) = open_http(conns.get_mut(&id)) else {
            return;
        };
        h.responses.lend(&mut http.spare);
        let queued = conn.wq.len();
        let eff = match part {
            Part::Whole {
                status,
                headers,
                body,
                close,
            } => h.respond(seq, status, headers, body, close, clock),
            Part::Head {
                status,
                headers,
                close,
            } => h.start(seq, status, headers, close, clock),
            Part::Chunk(data) => h.chunk(seq, data),
            Part::End => h.finish(seq, clock),
            Part::CloseAfter => h.close_after(seq),
        };
        if queued + h.responses.out.len() > WRITE_HIGH {
            // The peer is not reading its responses: parse no more of its requests until the
            // queue drains (see `http_write_drained`).
            h.write_paused = true;
        }
        let resume = h.can_resume() && !h.write_paused && !eff.close;
        self.http_effects(id, eff, true, sink);
        if resume {
            // Fewer responses owed than the pipelining bound: parse what was held back, read on.
            self.http_resume_reading(id, sink);
        }
    }

    /// Parses input held back while reading was paused and reads on, if nothing holds it back.
    fn http_resume_reading(&mut self, id: Id, sink: &mut dyn EventSink) {
        let Reactor {
            conns,
            http,
            clock,
            pending_read,
            ..
        } = self;
        let Some((conn, h)) = open_http(conns.get_mut(&id)) else {
            return;
        };
        h.responses.lend(&mut http.spare);
        let mut ctx = Ctx::new(id, clock, &mut http.headers);
        let eff = h.resume(&mut ctx, sink);
        if h.reading_allowed() {
            conn.flags |= flag::READ_ENABLED;
            if conn.has(flag::READABLE) {
                conn.queue_read(id, pending_read);
            }
        }
        self.http_effects(id, eff, true, sink);
    }

    /// The socket's queue drained below the low mark: a connection held back because its peer
    /// did not read its responses reads requests again.
    pub(super) fn http_write_drained(&mut self, id: Id, sink: &mut dyn EventSink) {
        let Some(slot) = self.conns.get_mut(&id) else {
            return;
        };
        let queued = slot.conn.wq.len();
        let Upper::HttpServer(h) = &mut slot.upper else {
            return;
        };
        if h.write_paused && queued <= WRITE_LOW {
            h.write_paused = false;
            self.http_resume_reading(id, sink);
        }
    }

    /// Acts on what the state machine asked: write (now, or at the end of the command batch
    /// when `defer`), close once written, pause reading, arm the timer.
    fn http_effects(&mut self, id: Id, eff: Effects, defer: bool, sink: &mut dyn EventSink) {
        let Some(slot) = self.conns.get_mut(&id) else {
            return;
        };
        let Upper::HttpServer(h) = &mut slot.upper else {
            return;
        };
        if !h.reading_allowed() {
            slot.conn.flags &= !flag::READ_ENABLED;
        }
        if defer && (eff.write || eff.close) {
            if !h.flush_listed {
                h.flush_listed = true;
                self.http.flush_list.push(id);
            }
        } else if eff.write || eff.close {
            self.http_write_out(id, sink);
        }
        self.http_arm(id);
    }

    /// Writes what responses are owed (deferred ones included): one write per connection.
    pub fn flush_deferred(&mut self, sink: &mut dyn EventSink) {
        if self.http.flush_list.is_empty() {
            return;
        }
        let mut list = std::mem::take(&mut self.http.flush_list);
        for id in list.drain(..) {
            if let Some(h) = http_of(self.conns.get_mut(&id)) {
                h.flush_listed = false;
                self.http_write_out(id, sink);
            }
        }
        self.http.flush_list = list;
    }

    /// Moves a connection's response bytes to the socket; closes it when the protocol says so.
    fn http_write_out(&mut self, id: Id, sink: &mut dyn EventSink) {
        let Reactor {
            conns,
            scratch,
            http,
            ..
        } = self;
        let Some(slot) = conns.get_mut(&id) else {
            return;
        };
        let Upper::HttpServer(h) = &mut slot.upper else {
            return;
        };
        let conn = &mut slot.conn;
        let close = h.responses.close_pending;
        if !h.responses.out.is_empty() && conn.phase == Phase::Open {
            let result = conn.write_or_queue(&h.responses.out, scratch);
            h.responses.recycle(&mut http.spare);
            match result {
                Ok(n) => stats::add(&self.shared.stats.bytes_written, n as u64),
                Err(_) => return self.release_conn(id, sink), // as a failed read
            }
            let queued = conn.wq.len();
            // The peer is not reading its responses: stop reading its requests (and making
            // more responses) until the queue drains.
            h.write_paused |= queued > WRITE_HIGH;
            if h.write_paused {
                conn.flags &= !flag::READ_ENABLED;
                if queued <= WRITE_LOW {
                    // It all went out after all: nothing will report a drain.
                    self.http_write_drained(id, sink);
                }
            }
            self.arm_write_timer(id);
        }
        if close {
            if let Some(slot) = self.conns.get_mut(&id) {
                if slot.conn.phase == Phase::Open {
                    slot.conn.flags |= flag::APP_CLOSED;
                    self.begin_close(id, sink);
                }
            }
        }
    }

    /// Makes sure the timer queue holds an entry no later than the connection's deadline. One
    /// entry per connection: when it fires early (the deadline moved on), it is pushed again.
    pub(super) fn http_arm(&mut self, id: Id) {
        let Some(h) = http_of(self.conns.get_mut(&id)) else {
            return;
        };
        if let Some(d) = h.deadline() {
            if h.armed.map_or(true, |a| a > d) {
                h.armed = Some(d);
                self.timers.schedule(d, TimerKey::Http(id));
            }
        }
    }

    /// The timer entry made for `at` fired.
    pub(super) fn http_timer_fired(
        &mut self,
        id: Id,
        at: Instant,
        now: Instant,
        sink: &mut dyn EventSink,
    ) {
        let Reactor {
            conns, http, clock, ..
        } = self;
        let Some((_, h)) = open_http(conns.get_mut(&id)) else {
            return;
        };
        if h.armed != Some(at) {
            return; // superseded by an earlier entry
        }
        h.armed = None;
        match h.deadline() {
            None => {}
            Some(d) if d > now => {
                h.armed = Some(d);
                self.timers.schedule(d, TimerKey::Http(id));
            }
            Some(_) => {
                h.responses.lend(&mut http.spare);
                let mut ctx = Ctx::new(id, clock, &mut http.headers);
                ctx.now = now;
                let eff = h.timed_out(&mut ctx);
                self.http_effects(id, eff, false, sink);
            }
        }
    }

    /// Stops accepting; then either drains every connection of the server (idle ones close at
    /// once, busy ones after their responses) or aborts them all.
    pub(super) fn http_close_server(&mut self, id: Id, graceful: bool, sink: &mut dyn EventSink) {
        self.close_server(id);
        let ids: Vec<Id> = self
            .conns
            .iter()
            .filter(|(_, s)| s.server == id && matches!(s.upper, Upper::HttpServer(_)))
            .map(|(cid, _)| cid)
            .collect();
        for cid in ids {
            if !graceful {
                self.close(cid, true, sink);
            } else if let Some(h) = http_of(self.conns.get_mut(&cid)) {
                let eff = h.drain();
                self.http_effects(cid, eff, false, sink);
            }
        }
    }
}
