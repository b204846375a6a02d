//! Readiness on a connection: the read step goes to whichever upper layer the connection has
//! (the application's events, an HTTP server or client connection); the write step flushes the
//! queue and reports progress. Reads left over by the per-turn budget run on the next turn.

use std::borrow::Cow;

use crate::conn::{flag, Phase, ReadOutcome};
use crate::error::Error;
use crate::event::{Event, EventSink};
use crate::id::Id;
use crate::reactor::{Reactor, Upper};
use crate::stats;

impl Reactor {
    pub(super) fn socket_ready(
        &mut self,
        id: Id,
        readable: bool,
        writable: bool,
        read_closed: bool,
        sink: &mut dyn EventSink,
    ) {
        let Some(slot) = self.conns.get_mut(&id) else {
            return;
        };
        match slot.conn.phase {
            Phase::Resolving => return,
            Phase::Connecting => {
                if !(readable || writable) {
                    return;
                }
                self.finish_connect(id, sink);
                // The event that completed the connect may also carry data (a server that
                // greets at once): with edge-triggered readiness it would not be reported again.
                if !self.conns.get(&id).is_some_and(|s| s.conn.is_live()) {
                    return;
                }
            }
            Phase::Open | Phase::Closing => {}
        }
        let Some(slot) = self.conns.get_mut(&id) else {
            return;
        };
        let conn = &mut slot.conn;
        if read_closed {
            conn.flags |= flag::PEER_FIN;
        }
        if readable {
            conn.flags |= flag::READABLE;
        }
        if writable {
            conn.flags |= flag::WRITABLE;
            if conn.has_pending_output() {
                self.flush_conn(id, sink);
            }
        }
        if readable {
            self.read_conn(id, sink);
        }
    }

    /// Reads connection `id` if it may be read, handing what arrives to its upper layer.
    pub(super) fn read_conn(&mut self, id: Id, sink: &mut dyn EventSink) {
        let Reactor {
            conns,
            scratch,
            pending_read,
            ..
        } = self;
        let Some(slot) = conns.get_mut(&id) else {
            return;
        };
        let conn = &mut slot.conn;
        if !conn.has(flag::READABLE) && !conn.tls_wants_resume() {
            return;
        }
        if conn.has(flag::APP_CLOSED) {
            // Nobody wants these bytes any more; reading them keeps the close a FIN, not a reset.
            conn.discard_input(scratch);
            conn.flags &= !flag::READABLE;
            return;
        }
        if !conn.has(flag::READ_ENABLED) || conn.has(flag::EOF) {
            return;
        }
        if sink.backpressured() {
            conn.queue_read(id, pending_read);
            return;
        }
        match slot.upper {
            Upper::Raw => self.raw_read(id, sink),
            #[cfg(feature = "http")]
            Upper::HttpServer(_) => self.http_read(id, sink),
            #[cfg(feature = "http")]
            Upper::HttpClient(_) => self.client_read(id, sink),
        }
    }

    /// The application's connection: each piece read is a `Data` event.
    fn raw_read(&mut self, id: Id, sink: &mut dyn EventSink) {
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
        let conn = &mut slot.conn;
        let outcome = conn.read_step(
            id,
            scratch,
            cfg.read_budget,
            &shared.stats.bytes_read,
            pending_read,
            &mut |data| sink.event(Event::Data { id, data }),
        );
        let Some(outcome) = self.tls_read_outcome(id, outcome, sink) else {
            return;
        };
        let Some(slot) = self.conns.get_mut(&id) else {
            return;
        };
        let conn = &mut slot.conn;
        match outcome {
            ReadOutcome::Drained | ReadOutcome::Stopped => {}
            ReadOutcome::Eof => {
                sink.event(Event::Eof { id });
                if !conn.has(flag::HALF_OPEN) {
                    conn.flags |= flag::APP_CLOSED;
                    self.begin_close(id, sink);
                }
            }
            ReadOutcome::Failed(e) => {
                let err = Error::io(conn.describe("read from"), &e);
                self.fail(id, err, sink);
            }
            // Handled by `tls_read_outcome`.
            ReadOutcome::Established | ReadOutcome::AskConfig(_) | ReadOutcome::TlsFailed(_) => {}
        }
    }

    /// Reads what a budget or backpressure left over on earlier turns, and accepts what an
    /// accept budget left.
    pub(super) fn run_pending(&mut self, sink: &mut dyn EventSink) {
        if !self.pending_accept.is_empty() {
            for id in std::mem::take(&mut self.pending_accept) {
                self.accept_ready(id, sink);
            }
        }
        if !self.pending_read.is_empty() && !sink.backpressured() {
            for id in std::mem::take(&mut self.pending_read) {
                if let Some(s) = self.conns.get_mut(&id) {
                    s.conn.flags &= !flag::PENDING_READ;
                }
                self.read_conn(id, sink);
            }
        }
    }

    // ----- writing -----

    /// Writes `data` to connection `id`. Bytes the caller keeps (`Cow::Borrowed`: the
    /// operations JS wrote in shared memory, a lent Buffer) are written straight from where
    /// they are when nothing waits before them, so only what the kernel did not take is
    /// copied into the queue; an owned buffer (a command's) is queued as it is, with no copy.
    pub(super) fn write<'d>(
        &mut self,
        id: Id,
        data: impl Into<Cow<'d, [u8]>>,
        notify_at: Option<u64>,
        sink: &mut dyn EventSink,
    ) {
        let Reactor { conns, scratch, .. } = self;
        let Some(slot) = conns.get_mut(&id) else {
            return;
        };
        let conn = &mut slot.conn;
        if conn.has(flag::SHUT_WR) {
            return;
        }
        if let Some(at) = notify_at {
            conn.notify_at = conn.notify_at.min(at);
        }
        match data.into() {
            Cow::Borrowed(bytes)
                if conn.is_live() && conn.has(flag::WRITE_ENABLED) && conn.wq.is_empty() =>
            {
                match conn.write_or_queue(bytes, scratch) {
                    Ok(n) => stats::add(&self.shared.stats.bytes_written, n as u64),
                    Err(e) => {
                        let err = Error::io(conn.describe("write to"), &e);
                        return self.fail(id, err, sink);
                    }
                }
            }
            data => conn.queue(data.into_owned()),
        }
        if conn.is_live() {
            // Reports the progress, arms the write timeout for what is left, or sends a FIN
            // that waited for the queue to drain.
            self.flush_conn(id, sink);
        }
    }

    pub(super) fn notify_flushed(&mut self, id: Id, at: u64, sink: &mut dyn EventSink) {
        let Some(slot) = self.conns.get_mut(&id) else {
            return;
        };
        let conn = &mut slot.conn;
        conn.notify_at = conn.notify_at.min(at);
        if conn.flushed >= conn.notify_at && !conn.has(flag::APP_CLOSED) {
            conn.notify_at = u64::MAX;
            sink.event(Event::Flushed {
                id,
                total: conn.flushed,
            });
        }
    }

    /// Flushes what is queued; then closes a closing connection whose queue drained, sends a
    /// wanted FIN, or arms the write timeout for what is left.
    pub(super) fn flush_conn(&mut self, id: Id, sink: &mut dyn EventSink) {
        let Reactor { conns, scratch, .. } = self;
        let Some(slot) = conns.get_mut(&id) else {
            return;
        };
        let conn = &mut slot.conn;
        if !conn.is_live() || (!conn.has(flag::WRITE_ENABLED) && conn.phase != Phase::Closing) {
            return;
        }
        match conn.flush(scratch) {
            Ok(n) => {
                stats::add(&self.shared.stats.bytes_written, n as u64);
                if conn.flushed >= conn.notify_at && !conn.has(flag::APP_CLOSED) {
                    conn.notify_at = u64::MAX;
                    sink.event(Event::Flushed {
                        id,
                        total: conn.flushed,
                    });
                }
                #[cfg(feature = "http")]
                if matches!(&slot.upper, Upper::HttpServer(h) if h.write_paused) {
                    self.http_write_drained(id, sink);
                }
                let Some(slot) = self.conns.get_mut(&id) else {
                    return;
                };
                let conn = &mut slot.conn;
                if conn.has_pending_output() {
                    self.arm_write_timer(id);
                } else if conn.phase == Phase::Closing {
                    self.finish_close(id, sink);
                } else if conn.has(flag::SHUTDOWN_WANTED) {
                    if conn.queue_close_notify() {
                        // TLS: close_notify before the FIN (this runs again once it is out).
                        return self.flush_conn(id, sink);
                    }
                    conn.shut_write();
                }
            }
            Err(e) => {
                if conn.phase == Phase::Closing && conn.wq.is_empty() {
                    // Only a TLS close_notify was left to send: the peer is gone, and nothing
                    // the application wrote was lost.
                    return self.release_conn(id, sink);
                }
                let err = Error::io(conn.describe("write to"), &e);
                self.fail(id, err, sink);
            }
        }
    }
}
