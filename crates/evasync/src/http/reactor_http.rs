//! The reactor's side of HTTP serving: reading into the connection's state machine, moving
//! response bytes to the socket (deferred to the end of a command batch, so pipelined responses
//! leave in one write), the one timer entry per connection, EOF, and closing a server.

use std::sync::Arc;
use std::time::Instant;

use crate::error::Error;
use crate::event::EventSink;
use crate::http::conn::{Ctx, Effects};
use crate::http::parse::PreparedHeaders;
use crate::http::{batch, HttpConn, HttpServerOptions};
use crate::id::Id;
use crate::reactor::{Reactor, TimerKey};
use crate::stats;
use crate::tcp::conn::{flag, Conn, Phase, ReadOutcome};
use crate::tcp::listen::BoundListener;
use crate::tcp::table::ConnTable;

/// Largest buffer capacity a connection keeps between uses.
pub(crate) const KEEP_BUFFER_MAX: usize = 64 * 1024;
/// Unsent response bytes above which a connection's requests are no longer read.
const WRITE_HIGH: usize = 256 * 1024;
/// Unsent response bytes at or below which reading resumes.
const WRITE_LOW: usize = 64 * 1024;

/// What a response command asks of a connection.
pub(crate) enum ResponsePart<'a> {
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

/// Connection `id` if it is open (HTTP state is only acted on while the socket is).
fn open_http(conns: &mut ConnTable, id: Id) -> Option<&mut Conn> {
    conns.get_mut(&id).filter(|c| c.phase == Phase::Open)
}

impl Reactor {
    /// Serves HTTP on a bound listener.
    pub(crate) fn http_listen(&mut self, id: Id, bound: BoundListener, opts: HttpServerOptions) {
        let tcp = opts.tcp.clone();
        self.listen(id, bound, tcp);
        if let Some(l) = self.listeners.get_mut(&id) {
            l.http = Some(Arc::new(opts));
        }
    }

    /// Reads an HTTP connection: every piece read goes through its state machine.
    pub(crate) fn http_read(&mut self, id: Id, sink: &mut dyn EventSink) {
        let Reactor {
            conns,
            scratch,
            cfg,
            shared,
            pending_read,
            http_headers,
            date,
            ..
        } = self;
        let Some(conn) = conns.get_mut(&id) else {
            return;
        };
        let Some(mut http) = conn.http.take() else {
            return;
        };
        let mut ctx = Ctx::new(id, date, http_headers);
        let mut eff = Effects::default();
        let bytes_read = &shared.stats.bytes_read;
        let outcome = conn.read_step(
            id,
            scratch,
            cfg.read_budget,
            bytes_read,
            pending_read,
            &mut |data| {
                let e = http.feed(data, &mut ctx, sink);
                eff.write |= e.write;
                eff.close |= e.close;
            },
        );
        conn.http = Some(http);
        self.http_effects(id, eff, false, sink);
        match outcome {
            ReadOutcome::Drained | ReadOutcome::Stopped => {}
            ReadOutcome::Eof => {
                if let Some(c) = self.conns.get_mut(&id) {
                    c.flags |= flag::EOF;
                    c.flags &= !flag::READABLE;
                }
                self.http_eof(id, sink);
            }
            ReadOutcome::Failed(e) => {
                let err = self
                    .conns
                    .get(&id)
                    .map(|c| Error::io(c.describe("read from"), &e));
                if let Some(err) = err {
                    self.fail(id, err, sink);
                }
            }
        }
    }

    /// The peer sent FIN on an HTTP connection.
    pub(crate) fn http_eof(&mut self, id: Id, sink: &mut dyn EventSink) {
        let Some(http) = self.conns.get_mut(&id).and_then(|c| c.http.as_mut()) else {
            return;
        };
        let eff = http.peer_finished();
        self.http_effects(id, eff, false, sink);
    }

    /// Applies a response command.
    pub(crate) fn http_response(
        &mut self,
        id: Id,
        seq: u32,
        part: ResponsePart<'_>,
        sink: &mut dyn EventSink,
    ) {
        let Reactor { conns, date, .. } = self;
        let Some(conn) = open_http(conns, id) else {
            return;
        };
        let queued = conn.wq.len();
        let Some(http) = conn.http.as_mut() else {
            return;
        };
        let eff = match part {
            ResponsePart::Whole {
                status,
                headers,
                body,
                close,
            } => http.respond(seq, status, headers, body, close, date.date()),
            ResponsePart::Head {
                status,
                headers,
                close,
            } => http.start(seq, status, headers, close, date.date()),
            ResponsePart::Chunk(data) => http.chunk(seq, data),
            ResponsePart::End => http.finish(seq),
            ResponsePart::CloseAfter => http.close_after(seq),
        };
        if queued + http.out.len() > WRITE_HIGH {
            // The peer is not reading its responses: parse no more of its requests until the
            // queue drains (see `http_write_drained`).
            http.write_paused = true;
        }
        let resume = http.can_resume() && !http.write_paused && !eff.close;
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
            date,
            http_headers,
            pending_read,
            ..
        } = self;
        let Some(conn) = open_http(conns, id) else {
            return;
        };
        let Some(http) = conn.http.as_mut() else {
            return;
        };
        let mut ctx = Ctx::new(id, date, http_headers);
        let eff = http.resume(&mut ctx, sink);
        if http.reading_allowed() {
            conn.flags |= flag::READ_ENABLED;
            if conn.has(flag::READABLE) {
                conn.queue_read(id, pending_read);
            }
        }
        self.http_effects(id, eff, true, sink);
    }

    /// The socket's queue drained below the low mark: a connection held back because its peer
    /// did not read its responses reads requests again.
    pub(crate) fn http_write_drained(&mut self, id: Id, sink: &mut dyn EventSink) {
        let Some(conn) = self.conns.get_mut(&id) else {
            return;
        };
        let queued = conn.wq.len();
        let Some(http) = conn.http.as_mut() else {
            return;
        };
        if http.write_paused && queued <= WRITE_LOW {
            http.write_paused = false;
            self.http_resume_reading(id, sink);
        }
    }

    /// Applies a batch of response operations (see [`crate::http::batch`]), in order.
    pub(crate) fn http_batch(&mut self, ops: &[u32], data: &[u8], sink: &mut dyn EventSink) {
        let mut prepared = std::mem::take(&mut self.http_prepared);
        let mut off = 0usize;
        for rec in ops.chunks_exact(batch::RECORD) {
            let &[op, id, seq, status, count, fields_len, body_len, flags] = rec else {
                continue;
            };
            let fields = data.get(off..off + fields_len as usize).unwrap_or(&[]);
            off += fields_len as usize;
            let body = data.get(off..off + body_len as usize).unwrap_or(&[]);
            off += body_len as usize;
            let close = flags & batch::FLAG_CLOSE != 0;
            let status = u16::try_from(status).unwrap_or(0);
            match op {
                batch::OP_WHOLE | batch::OP_START => {
                    let checked = batch::fields(fields, count)
                        .and_then(|f| prepared.refill(f).ok())
                        .filter(|_| (100..=999).contains(&status))
                        .filter(|_| {
                            op == batch::OP_START
                                || prepared.check_body(status, body.len() as u64).is_ok()
                        });
                    let part = match (checked, op) {
                        (Some(()), batch::OP_WHOLE) => ResponsePart::Whole {
                            status,
                            headers: &prepared,
                            body,
                            close,
                        },
                        (Some(()), _) => ResponsePart::Head {
                            status,
                            headers: &prepared,
                            close,
                        },
                        // The binding checks before queuing; should a bad response get here
                        // anyway, the client gets a 500 rather than a broken message.
                        (None, _) => {
                            prepared = PreparedHeaders::default();
                            ResponsePart::Whole {
                                status: 500,
                                headers: &prepared,
                                body: &[],
                                close: true,
                            }
                        }
                    };
                    self.http_response(id, seq, part, sink);
                }
                batch::OP_CHUNK => self.http_response(id, seq, ResponsePart::Chunk(body), sink),
                batch::OP_FINISH => self.http_response(id, seq, ResponsePart::End, sink),
                batch::OP_CLOSE_AFTER => {
                    self.http_response(id, seq, ResponsePart::CloseAfter, sink)
                }
                _ => {}
            }
        }
        self.http_prepared = prepared;
    }

    /// Acts on what the state machine asked: write (now, or at the end of the command batch
    /// when `defer`), close once written, pause reading, arm the timer.
    fn http_effects(&mut self, id: Id, eff: Effects, defer: bool, sink: &mut dyn EventSink) {
        let Some(conn) = self.conns.get_mut(&id) else {
            return;
        };
        let Some(http) = conn.http.as_mut() else {
            return;
        };
        if !http.reading_allowed() {
            conn.flags &= !flag::READ_ENABLED;
        }
        if defer && (eff.write || eff.close) {
            if !http.flush_listed {
                http.flush_listed = true;
                self.http_flush_list.push(id);
            }
        } else if eff.write || eff.close {
            self.http_write_out(id, sink);
        }
        self.http_arm(id);
    }

    /// Writes what responses are owed (deferred ones included): one write per connection.
    pub fn flush_deferred(&mut self, sink: &mut dyn EventSink) {
        if self.http_flush_list.is_empty() {
            return;
        }
        let mut list = std::mem::take(&mut self.http_flush_list);
        for id in list.drain(..) {
            if let Some(http) = self.conns.get_mut(&id).and_then(|c| c.http.as_mut()) {
                http.flush_listed = false;
                self.http_write_out(id, sink);
            }
        }
        self.http_flush_list = list;
    }

    /// Moves a connection's response bytes to the socket; closes it when the protocol says so.
    fn http_write_out(&mut self, id: Id, sink: &mut dyn EventSink) {
        let Some(conn) = self.conns.get_mut(&id) else {
            return;
        };
        let Some(http) = conn.http.as_mut() else {
            return;
        };
        let close = http.close_pending();
        if !http.out.is_empty() && conn.phase == Phase::Open {
            let out = std::mem::take(&mut http.out);
            let result = conn.write_or_queue(&out);
            if let Some(h) = conn.http.as_mut() {
                // Keep the buffer (and its capacity) for the next response, unless a big
                // response grew it: a keep-alive connection should not hold that for its life.
                if out.capacity() <= KEEP_BUFFER_MAX {
                    h.out = out;
                    h.out.clear();
                }
            }
            match result {
                Ok(n) => stats::add(&self.shared.stats.bytes_written, n as u64),
                Err(e) => {
                    let err = Error::io(conn.describe("write to"), &e);
                    self.fail(id, err, sink);
                    return;
                }
            }
            let queued = conn.wq.len();
            let paused = conn.http.as_mut().is_some_and(|h| {
                // The peer is not reading its responses: stop reading its requests (and
                // making more responses) until the queue drains.
                h.write_paused |= queued > WRITE_HIGH;
                h.write_paused
            });
            if paused {
                conn.flags &= !flag::READ_ENABLED;
                if queued <= WRITE_LOW {
                    // It all went out after all: nothing will report a drain.
                    self.http_write_drained(id, sink);
                }
            }
            if !self.conns.get(&id).is_some_and(|c| c.wq.is_empty()) {
                self.arm_write_timer(id);
            }
        }
        if close {
            if let Some(conn) = self.conns.get_mut(&id) {
                if conn.phase == Phase::Open {
                    conn.flags |= flag::APP_CLOSED;
                    self.begin_close(id, sink);
                }
            }
        }
    }

    /// Makes sure the timer queue holds an entry no later than the connection's deadline. One
    /// entry per connection: when it fires early (the deadline moved on), it is pushed again.
    fn http_arm(&mut self, id: Id) {
        let Some(http) = self.conns.get_mut(&id).and_then(|c| c.http.as_mut()) else {
            return;
        };
        if let Some(d) = http.deadline() {
            if http.armed.map_or(true, |a| a > d) {
                http.armed = Some(d);
                self.timers.schedule(d, TimerKey::Http(id));
            }
        }
    }

    /// The timer entry made for `at` fired.
    pub(crate) fn http_timer_fired(
        &mut self,
        id: Id,
        at: Instant,
        now: Instant,
        sink: &mut dyn EventSink,
    ) {
        let Reactor {
            conns,
            date,
            http_headers,
            ..
        } = self;
        let Some(http) = open_http(conns, id).and_then(|c| c.http.as_mut()) else {
            return;
        };
        if http.armed != Some(at) {
            return; // superseded by an earlier entry
        }
        http.armed = None;
        match http.deadline() {
            None => {}
            Some(d) if d > now => {
                http.armed = Some(d);
                self.timers.schedule(d, TimerKey::Http(id));
            }
            Some(_) => {
                let mut ctx = Ctx::new(id, date, http_headers);
                ctx.now = now;
                let eff = http.timed_out(&mut ctx);
                self.http_effects(id, eff, false, sink);
            }
        }
    }

    /// Stops accepting; then either drains every connection of the server (idle ones close at
    /// once, busy ones after their responses) or aborts them all.
    pub(crate) fn http_close_server(&mut self, id: Id, graceful: bool, sink: &mut dyn EventSink) {
        self.close_server(id);
        let ids: Vec<Id> = self
            .conns
            .iter()
            .filter(|(_, c)| c.server == id && c.http.is_some())
            .map(|(cid, _)| cid)
            .collect();
        for cid in ids {
            if graceful {
                let Some(http) = self.conns.get_mut(&cid).and_then(|c| c.http.as_mut()) else {
                    continue;
                };
                let eff = http.drain();
                self.http_effects(cid, eff, false, sink);
            } else {
                self.close(cid, true, sink);
            }
        }
    }

    /// The HTTP state for a connection accepted by an HTTP listener.
    pub(crate) fn http_conn_for(opts: &Arc<HttpServerOptions>) -> Box<HttpConn> {
        Box::new(HttpConn::new(opts.clone(), Instant::now()))
    }

    /// Registers an accepted HTTP connection's first timer (the idle keep-alive wait).
    pub(crate) fn http_accepted(&mut self, id: Id) {
        stats::inc(&self.shared.stats.http_incoming);
        self.http_arm(id);
    }
}
