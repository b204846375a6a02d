//! The reactor's side of the HTTP client: requests go to their origin's pool, which hands them
//! to idle connections or has new ones opened (through the same connect path as the
//! application's, with Happy Eyeballs); responses are framed by each connection's state and
//! reported as events; connections go back to their pool, expire when idle, or close.

use std::time::Instant;

use crate::config::ConnectOptions;
use crate::conn::ReadOutcome;
use crate::error::{Error, ErrorKind};
use crate::event::{Event, EventSink};
use crate::http::client::{ClientConn, ClientRequest, Next, Piece, Progress, IDLE_TIMEOUT};
use crate::id::Id;
use crate::reactor::{Reactor, Slot, TimerKey, Upper};
use crate::stats;

/// The client state of connection `slot`.
fn client_of(slot: Option<&mut Slot>) -> Option<&mut ClientConn> {
    match &mut slot?.upper {
        Upper::HttpClient(c) => Some(c),
        _ => None,
    }
}

impl Reactor {
    /// Queues request `id` for its origin.
    pub(super) fn client_request(&mut self, id: Id, req: ClientRequest, sink: &mut dyn EventSink) {
        if let Some(t) = req.timeout {
            self.timers
                .schedule(Instant::now() + t, TimerKey::ClientTimeout(id));
        }
        let origin = self.pools.enqueue(id, req);
        self.client_dispatch(&origin, sink);
    }

    /// Gives queued requests of `origin` to idle connections, opening new ones within the limit.
    fn client_dispatch(&mut self, origin: &str, sink: &mut dyn EventSink) {
        loop {
            match self.pools.next(origin) {
                Next::Wait => return,
                Next::Assign(rid, cid) => self.client_assign(rid, cid, sink),
                Next::Open(rid) => {
                    let cid = self.handle().next_id();
                    let Some(p) = self.pools.get(&rid) else {
                        continue;
                    };
                    let (target, head, stream) =
                        (p.req.target(), p.req.head_request, p.req.stream_body);
                    let tls = p.req.tls.clone();
                    // A new connection is never retried on: the bytes move, no copy kept.
                    let bytes = self.pools.bytes_for(rid, cid, false);
                    let conn = Box::new(ClientConn::new(origin.to_string(), rid, head, stream));
                    let opts = ConnectOptions {
                        no_delay: true,
                        tls,
                        ..ConnectOptions::default()
                    };
                    self.connect(cid, target, opts, Some(conn), sink);
                    // Queued until connected; flushed then.
                    self.write(cid, bytes, None, sink);
                }
            }
        }
    }

    /// Sends request `rid` on idle connection `cid`.
    fn client_assign(&mut self, rid: Id, cid: Id, sink: &mut dyn EventSink) {
        let head = self.pools.get(&rid).is_some_and(|p| p.req.head_request);
        let stream = self.pools.get(&rid).is_some_and(|p| p.req.stream_body);
        // A reused connection may turn out closed: keep a copy only while a retry is possible.
        let bytes = self.pools.bytes_for(rid, cid, true);
        let Some(c) = client_of(self.conns.get_mut(&cid)) else {
            return;
        };
        c.begin(rid, head, stream);
        if !c.counted {
            c.counted = true;
            stats::inc(&self.shared.stats.http_outgoing);
        }
        self.write(cid, bytes, None, sink);
    }

    /// Reads a client connection and frames its response.
    pub(super) fn client_read(&mut self, id: Id, sink: &mut dyn EventSink) {
        let Reactor {
            conns,
            scratch,
            cfg,
            shared,
            pending_read,
            ..
        } = self;
        let Some(slot) = conns.get_mut(&id) else {
            return;
        };
        let Upper::HttpClient(c) = &mut slot.upper else {
            return;
        };
        let outcome = slot.conn.read_step(
            id,
            scratch,
            cfg.read_budget,
            &shared.stats.bytes_read,
            pending_read,
            &mut |data| c.received(data),
        );
        let Some(outcome) = self.tls_read_outcome(id, outcome, sink) else {
            return;
        };
        let Some(slot) = self.conns.get(&id) else {
            return;
        };
        let eof = matches!(outcome, ReadOutcome::Eof);
        let failed = match outcome {
            ReadOutcome::Failed(e) => Some(Error::io(slot.conn.describe("read from"), &e)),
            _ => None,
        };
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
        let Some(c) = client_of(self.conns.get_mut(&id)) else {
            return;
        };
        let Some(rid) = c.request else {
            // Idle: the server closed it (or sent what nobody asked for): out of the pool.
            if eof || failed.is_some() || c.has_stray_input() {
                self.close(id, true, sink);
            }
            return;
        };
        let mut head_now = false;
        let progress = c.progress(eof || failed.is_some(), &mut |piece| match piece {
            Piece::Head {
                head,
                head_bytes,
                headers,
            } => {
                head_now = true;
                sink.event(Event::HttpResponseHead {
                    id: rid,
                    status: head.status,
                    head_bytes,
                    headers,
                });
            }
            Piece::Body(data) => sink.event(Event::HttpResponseBody {
                id: rid,
                data,
                finished: false,
            }),
        });
        if head_now {
            if let Some(p) = self.pools.get_mut(rid) {
                p.head_reported = true;
            }
        }
        let Some(c) = client_of(self.conns.get_mut(&id)) else {
            return;
        };
        match progress {
            Progress::Done(r) => {
                let leftover = c.has_stray_input();
                let streamed = c.stream;
                c.end();
                let pending = self.pools.remove(rid);
                if streamed {
                    sink.event(Event::HttpResponseBody {
                        id: rid,
                        data: &[],
                        finished: true,
                    });
                } else {
                    sink.event(Event::HttpResponse {
                        id: rid,
                        status: r.head.status,
                        head_bytes: &r.head_bytes,
                        headers: &r.headers,
                        body: &r.body,
                    });
                }
                let keep = r.head.keep_alive
                    && !eof
                    && !leftover
                    && pending.is_some_and(|p| p.req.keep_alive);
                if keep {
                    self.client_idle(id, sink);
                } else {
                    self.close(id, !eof && leftover, sink);
                }
            }
            Progress::Bad(why) => {
                let err = Error::new(ErrorKind::Http, format!("{why} from {}", c.origin));
                self.client_fail_request(rid, err, sink);
                self.close(id, true, sink);
            }
            Progress::More => {
                if let Some(err) = failed {
                    self.client_failed(id, err, sink);
                } else if eof {
                    let why = format!("{} closed the connection before the response", c.origin);
                    self.client_failed(id, Error::new(ErrorKind::Reset, why), sink);
                }
            }
        }
    }

    /// A served connection goes back to its pool, or serves the next queued request.
    fn client_idle(&mut self, id: Id, sink: &mut dyn EventSink) {
        let Some(c) = client_of(self.conns.get_mut(&id)) else {
            return;
        };
        if c.counted {
            c.counted = false;
            stats::dec(&self.shared.stats.http_outgoing);
        }
        let origin = c.origin.clone();
        let at = Instant::now() + IDLE_TIMEOUT;
        self.timers
            .schedule(at, TimerKey::ClientIdle(id, c.idle_gen));
        self.pools.idle(&origin, id);
        self.client_dispatch(&origin, sink);
    }

    /// The connection failed (or the server closed it): retry or fail its request, drop it.
    pub(super) fn client_failed(&mut self, id: Id, error: Error, sink: &mut dyn EventSink) {
        let Some(c) = client_of(self.conns.get_mut(&id)) else {
            return;
        };
        if let Some(rid) = c.request.take() {
            // A kept-alive connection the server had closed before any byte of the response:
            // not the request's fault.
            let stale = c.reused && !c.got_bytes;
            if !stale || self.pools.retry(rid).is_none() {
                self.client_fail_request(rid, error, sink);
            }
        }
        self.close(id, true, sink);
    }

    /// Fails request `rid` with `error`.
    fn client_fail_request(&mut self, rid: Id, error: Error, sink: &mut dyn EventSink) {
        if self.pools.remove(rid).is_some() {
            sink.event(Event::HttpClientFailed { id: rid, error });
        }
    }

    /// The reactor let go of a client connection: fix its pool, serve what waits.
    pub(super) fn client_released(
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
            if self.pools.get(&rid).is_some_and(|p| p.conn == Some(id)) {
                let err = Error::new(
                    ErrorKind::Connection,
                    format!("connection to {} lost", client.origin),
                );
                self.client_fail_request(rid, err, sink);
            }
        }
        self.pools.closed(&client.origin, id);
        self.client_dispatch(&client.origin, sink);
    }

    /// A request's whole-exchange timeout (up to the head, for a streamed response).
    pub(super) fn client_timeout(&mut self, rid: Id, sink: &mut dyn EventSink) {
        let Some(p) = self.pools.get(&rid) else {
            return;
        };
        if p.head_reported {
            return;
        }
        let err = Error::timeout(format!("HTTP request to {}", p.origin));
        let conn = p.conn;
        self.client_fail_request(rid, err, sink);
        if let Some(cid) = conn {
            if let Some(c) = client_of(self.conns.get_mut(&cid)) {
                c.request = None;
            }
            self.close(cid, true, sink);
        }
    }

    /// The application stops (or resumes) reading a streamed response: its connection stops
    /// reading, and TCP slows the server.
    pub(super) fn client_pause(&mut self, rid: Id, paused: bool, sink: &mut dyn EventSink) {
        if let Some(cid) = self.pools.get(&rid).and_then(|p| p.conn) {
            self.enable(cid, Some(!paused), None, sink);
        }
    }

    /// The application gave up on request `rid` (aborted, or dropped a streamed body): it is
    /// forgotten without an event, and a connection serving it is closed (its response would
    /// otherwise have to be read to the end).
    pub(super) fn client_cancel(&mut self, rid: Id, sink: &mut dyn EventSink) {
        let Some(p) = self.pools.remove(rid) else {
            return;
        };
        if let Some(cid) = p.conn {
            if let Some(c) = client_of(self.conns.get_mut(&cid)) {
                if c.request == Some(rid) {
                    c.request = None;
                    self.close(cid, true, sink);
                }
            }
        }
    }

    /// An idle pooled connection's time is up.
    pub(super) fn client_idle_expired(&mut self, id: Id, gen: u32, sink: &mut dyn EventSink) {
        let idle = client_of(self.conns.get_mut(&id))
            .is_some_and(|c| c.request.is_none() && c.idle_gen == gen);
        if idle {
            self.close(id, false, sink);
        }
    }
}
