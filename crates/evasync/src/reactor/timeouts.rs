//! Per-direction socket timeouts: one timer-queue entry per armed direction, recognised as
//! stale by the connection's timer generation; an entry that fires early (activity moved the
//! deadline on) is pushed again.

use std::time::{Duration, Instant};

use crate::conn::flag;
use crate::error::Error;
use crate::event::EventSink;
use crate::id::Id;
use crate::reactor::{Reactor, TimerKey};

impl Reactor {
    pub(super) fn set_timeouts(&mut self, id: Id, read: Option<Duration>, write: Option<Duration>) {
        let Some(slot) = self.conns.get_mut(&id) else {
            return;
        };
        // Older entries become stale; the new timeouts count from now.
        slot.conn.set_timeouts(read, write, Instant::now());
        self.arm_read_timer(id);
        self.arm_write_timer(id);
    }

    pub(super) fn arm_read_timer(&mut self, id: Id) {
        let Some(slot) = self.conns.get_mut(&id) else {
            return;
        };
        let conn = &mut slot.conn;
        if conn.has(flag::READ_TIMER) {
            return;
        }
        if let Some(at) = conn.read_deadline() {
            conn.flags |= flag::READ_TIMER;
            self.timers.schedule(at, TimerKey::Read(id, conn.timer_gen));
        }
    }

    pub(super) fn arm_write_timer(&mut self, id: Id) {
        let Some(slot) = self.conns.get_mut(&id) else {
            return;
        };
        let conn = &mut slot.conn;
        if conn.has(flag::WRITE_TIMER) {
            return;
        }
        if let Some(at) = conn.write_deadline() {
            conn.flags |= flag::WRITE_TIMER;
            self.timers
                .schedule(at, TimerKey::Write(id, conn.timer_gen));
        }
    }

    pub(super) fn read_timer_fired(
        &mut self,
        id: Id,
        gen: u32,
        now: Instant,
        sink: &mut dyn EventSink,
    ) {
        let Some(slot) = self.conns.get_mut(&id) else {
            return;
        };
        let conn = &mut slot.conn;
        if conn.timer_gen != gen {
            return;
        }
        conn.flags &= !flag::READ_TIMER;
        match conn.read_deadline() {
            None => {}
            Some(deadline) if now >= deadline => {
                let err = Error::timeout(conn.describe("read from"));
                self.fail(id, err, sink);
            }
            Some(deadline) => {
                conn.flags |= flag::READ_TIMER;
                self.timers.schedule(deadline, TimerKey::Read(id, gen));
            }
        }
    }

    pub(super) fn write_timer_fired(
        &mut self,
        id: Id,
        gen: u32,
        now: Instant,
        sink: &mut dyn EventSink,
    ) {
        let Some(slot) = self.conns.get_mut(&id) else {
            return;
        };
        let conn = &mut slot.conn;
        if conn.timer_gen != gen {
            return;
        }
        conn.flags &= !flag::WRITE_TIMER;
        match conn.write_deadline() {
            None => {}
            Some(deadline) if now >= deadline => {
                // The queued bytes cannot be delivered: reset rather than leave them (and a FIN)
                // to the kernel for a peer that does not read.
                conn.reset_on_close();
                let err = Error::timeout(conn.describe("write to"));
                self.fail(id, err, sink);
            }
            Some(deadline) => {
                conn.flags |= flag::WRITE_TIMER;
                self.timers.schedule(deadline, TimerKey::Write(id, gen));
            }
        }
    }
}
