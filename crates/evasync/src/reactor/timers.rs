//! User timers (delays and intervals) and the routing of every expired timer-queue entry to
//! the area that owns it.

use std::time::{Duration, Instant};

use crate::event::{Event, EventSink};
use crate::id::Id;
#[cfg(feature = "http")]
use crate::reactor::Upper;
use crate::reactor::{Reactor, TimerKey};
use crate::stats;

/// A user timer: one-shot or interval.
pub(super) struct UserTimer {
    interval: Option<Duration>,
}

impl Reactor {
    pub(super) fn timer_add(&mut self, id: Id, deadline: Instant, interval: Option<Duration>) {
        self.user_timers.insert(id, UserTimer { interval });
        stats::inc(&self.shared.stats.timers);
        self.timers.schedule(deadline, TimerKey::User(id));
    }

    pub(super) fn timer_free(&mut self, id: Id) {
        if self.user_timers.remove(&id).is_some() {
            stats::dec(&self.shared.stats.timers);
            self.maybe_compact_timers();
        }
    }

    /// Fires what is due, routing each entry to its owner. Entries scheduled during this pass
    /// wait for the next one, so no owner can keep a pass going.
    pub(super) fn fire_timers(&mut self, sink: &mut dyn EventSink) {
        let now = self.clock.instant();
        let mark = self.timers.mark();
        while let Some((deadline, key)) = self.timers.pop_expired_before(now, mark) {
            match key {
                TimerKey::User(id) => self.user_timer_fired(id, deadline, now, sink),
                TimerKey::Read(id, gen) => self.read_timer_fired(id, gen, now, sink),
                TimerKey::Write(id, gen) => self.write_timer_fired(id, gen, now, sink),
                TimerKey::Connect(id, gen) => self.connect_timer_fired(id, gen, sink),
                TimerKey::Stagger(id, gen) => self.stagger_fired(id, gen, sink),
                TimerKey::AcceptRetry(id) => self.accept_retry(id, sink),
                #[cfg(feature = "http")]
                TimerKey::Http(id) => self.http_timer_fired(id, deadline, now, sink),
                #[cfg(feature = "http")]
                TimerKey::ClientTimeout(id) => self.client_timeout(id, sink),
                #[cfg(feature = "http")]
                TimerKey::ClientIdle(id, gen) => self.client_idle_expired(id, gen, sink),
                TimerKey::Handshake(id) => self.handshake_timer_fired(id, sink),
                TimerKey::UnixRetry(id, gen) => self.unix_retry(id, gen, sink),
                TimerKey::DnsTry(qid, seq) => self.dns_try_timed_out(qid, seq, sink),
            }
        }
    }

    fn user_timer_fired(
        &mut self,
        id: Id,
        deadline: Instant,
        now: Instant,
        sink: &mut dyn EventSink,
    ) {
        let Some(t) = self.user_timers.get(&id) else {
            return;
        };
        match t.interval {
            Some(period) => {
                // Keep the cadence; if far behind, start again from now.
                let mut next = deadline + period;
                if next <= now {
                    next = now + period;
                }
                self.timers.schedule(next, TimerKey::User(id));
            }
            None => {
                self.user_timers.remove(&id);
                stats::dec(&self.shared.stats.timers);
            }
        }
        sink.event(Event::TimerFired { id });
    }

    /// Freed user timers leave stale heap entries; when they outnumber live ones, sweep them.
    fn maybe_compact_timers(&mut self) {
        let live = self.user_timers.len() + 3 * self.conns.len() + self.listeners.len();
        if self.timers.len() > 4096 && self.timers.len() > 4 * live {
            let users = &self.user_timers;
            let conns = &self.conns;
            self.timers.retain(|k| match *k {
                TimerKey::User(id) => users.contains_key(&id),
                TimerKey::Read(id, g)
                | TimerKey::Write(id, g)
                | TimerKey::Connect(id, g)
                | TimerKey::Stagger(id, g)
                | TimerKey::UnixRetry(id, g) => {
                    conns.get(&id).is_some_and(|s| s.conn.timer_gen == g)
                }
                TimerKey::AcceptRetry(_) | TimerKey::DnsTry(..) => true,
                #[cfg(feature = "http")]
                TimerKey::ClientTimeout(_) | TimerKey::ClientIdle(..) => true,
                #[cfg(feature = "http")]
                TimerKey::Http(id) => conns
                    .get(&id)
                    .is_some_and(|s| matches!(s.upper, Upper::HttpServer(_))),
                TimerKey::Handshake(id) => conns.get(&id).is_some_and(|s| s.conn.handshaking()),
            });
        }
    }
}
