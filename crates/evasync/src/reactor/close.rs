//! Enabling and disabling directions, half-close, closing (graceful: flush, FIN, drain input;
//! forced: reset), failing, and letting go of a connection. Every connection reports at most one
//! terminal event and exactly one `Released`, after which its id names nothing.

use crate::conn::{flag, Phase};
use crate::error::Error;
use crate::event::{Event, EventSink};
use crate::id::Id;
use crate::reactor::{Reactor, Upper, PIPE};
use crate::stats;

impl Reactor {
    pub(super) fn enable(
        &mut self,
        id: Id,
        read: Option<bool>,
        write: Option<bool>,
        sink: &mut dyn EventSink,
    ) {
        let Some(slot) = self.conns.get_mut(&id) else {
            return;
        };
        let conn = &mut slot.conn;
        if let Some(w) = write {
            conn.set(flag::WRITE_ENABLED, w);
        }
        let mut read_now = false;
        if let Some(r) = read {
            if r && !conn.has(flag::READ_ENABLED) {
                conn.touch_read();
                read_now = conn.has(flag::READABLE);
            }
            conn.set(flag::READ_ENABLED, r);
        }
        self.arm_read_timer(id);
        if write == Some(true) {
            self.flush_conn(id, sink);
        }
        if read_now {
            self.read_conn(id, sink);
        }
    }

    pub(super) fn shutdown(&mut self, id: Id, sink: &mut dyn EventSink) {
        let Some(slot) = self.conns.get_mut(&id) else {
            return;
        };
        slot.conn.flags |= flag::SHUTDOWN_WANTED;
        if slot.conn.phase == Phase::Open {
            self.flush_conn(id, sink);
        }
    }

    pub(super) fn close(&mut self, id: Id, force: bool, sink: &mut dyn EventSink) {
        let Some(slot) = self.conns.get_mut(&id) else {
            return;
        };
        let conn = &mut slot.conn;
        conn.flags |= flag::APP_CLOSED;
        if force {
            conn.reset_on_close();
            self.release_conn(id, sink);
        } else if matches!(conn.phase, Phase::Resolving | Phase::Connecting) {
            // Queued bytes go out once connected (`finish_connect` closes then).
            if conn.wq.is_empty() {
                self.release_conn(id, sink);
            }
        } else {
            self.begin_close(id, sink);
        }
    }

    pub(super) fn begin_close(&mut self, id: Id, sink: &mut dyn EventSink) {
        let Some(slot) = self.conns.get_mut(&id) else {
            return;
        };
        slot.conn.phase = Phase::Closing;
        if !slot.conn.has_pending_output() {
            self.finish_close(id, sink);
        } else {
            self.flush_conn(id, sink);
            self.arm_write_timer(id);
        }
    }

    pub(super) fn finish_close(&mut self, id: Id, sink: &mut dyn EventSink) {
        let Some(slot) = self.conns.get_mut(&id) else {
            return;
        };
        // TLS: close_notify goes out before the FIN, unless the peer has already closed (a
        // write would only meet a reset).
        if !slot.conn.has(flag::EOF) && slot.conn.queue_close_notify() {
            // TLS: close_notify goes out before the FIN (this runs again once it has).
            self.flush_conn(id, sink);
            if self
                .conns
                .get(&id)
                .is_some_and(|s| s.conn.has_pending_output())
            {
                return self.arm_write_timer(id);
            }
        }
        let Reactor { conns, scratch, .. } = self;
        let Some(slot) = conns.get_mut(&id) else {
            return;
        };
        // Closing the socket sends the FIN after what was written (a shutdown first would be
        // one more system call for the same packet). Input left unread would make the close a
        // reset, which can destroy the data just sent in the peer's receive path: read it
        // away first, unless the peer's EOF was already read (nothing can be left then).
        if !slot.conn.has(flag::EOF) {
            slot.conn.discard_input(scratch);
        }
        self.release_conn(id, sink);
    }

    /// Reports a terminal error (or, after the application closed, a flush error) and releases.
    pub(super) fn fail(&mut self, id: Id, error: Error, sink: &mut dyn EventSink) {
        let Some(slot) = self.conns.get(&id) else {
            return;
        };
        match slot.upper {
            #[cfg(feature = "http")]
            Upper::HttpClient(_) => return self.client_failed(id, error, sink),
            // A client that resets its connection is routine for a server: no condition.
            #[cfg(feature = "http")]
            Upper::HttpServer(_) => {}
            Upper::Raw if slot.conn.has(flag::APP_CLOSED) => {
                sink.event(Event::FlushFailed { id, error })
            }
            Upper::Raw => sink.event(Event::Failed { id, error }),
        }
        self.release_conn(id, sink);
    }

    /// Lets go of a connection: closes its socket, cancels its lookup and attempts, fixes the
    /// counts and its listener's, tells its upper layer, and reports `Released`.
    pub(super) fn release_conn(&mut self, id: Id, sink: &mut dyn EventSink) {
        let Some(mut slot) = self.conns.remove(&id) else {
            return;
        };
        let conn = &mut slot.conn;
        if conn.phase == Phase::Resolving && self.dns.cancel(id) {
            stats::dec(&self.shared.stats.dns);
        }
        if let Some(mut c) = conn.connecting.take() {
            self.drop_racers(&mut c);
        }
        if let Some(mut io) = conn.io.take() {
            // On Unix closing the descriptor (dropping `io`) takes it out of the poll: epoll
            // and kqueue forget a file with its last descriptor, which saves a system call per
            // connection; ids are never reused, so an event still in flight finds nothing.
            if cfg!(not(unix)) {
                io.deregister(self.poll.registry());
            }
        }
        if let Some(l) = self.listeners.get_mut(&slot.server) {
            l.open = l.open.saturating_sub(1);
        }
        match slot.upper {
            #[cfg(feature = "http")]
            Upper::HttpClient(client) => self.client_released(id, client, sink),
            #[cfg(feature = "http")]
            Upper::HttpServer(_) => stats::dec(&self.shared.stats.http_incoming),
            Upper::Raw if slot.server == PIPE => {}
            Upper::Raw if slot.server == 0 => stats::dec(&self.shared.stats.outgoing),
            Upper::Raw => stats::dec(&self.shared.stats.incoming),
        }
        self.descriptor_freed();
        sink.event(Event::Released { id });
    }
}
