//! What wakes the reactor besides sockets and timers: notifiers triggered from other threads,
//! file descriptors the application polls (level-triggered over mio's edge-triggered poll), and
//! signals (`signal-hook-mio`, for Rust embedders).

use std::sync::atomic::Ordering;
use std::sync::Arc;

#[cfg(unix)]
use mio::unix::SourceFd;
#[cfg(unix)]
use mio::Interest;
use mio::Token;

#[cfg(unix)]
use crate::error::Error;
use crate::event::{Event, EventSink};
use crate::id::Id;
use crate::notifier::NotifierState;
use crate::reactor::Reactor;
use crate::stats;

/// Readiness bits of [`Event::Polled`].
pub mod poll_bits {
    /// The descriptor is readable.
    pub const READABLE: u8 = 1;
    /// The descriptor is writable.
    pub const WRITABLE: u8 = 2;
    /// Error or hang-up.
    pub const ERROR: u8 = 4;
}

/// A descriptor the application polls.
#[cfg(unix)]
pub(super) struct Poller {
    fd: i32,
    /// Conditions asked for ([`poll_bits`]).
    want: u8,
    /// On the level list: reported last turn, checked again this one.
    listed: bool,
}

/// The per-reactor state of these wake-ups.
#[derive(Default)]
pub(super) struct Wakeups {
    notifiers: crate::id::IdMap<Arc<NotifierState>>,
    #[cfg(unix)]
    pollers: crate::id::IdMap<Poller>,
    /// Pollers whose condition held last turn: asked again each turn until it does not.
    level: Vec<Id>,
    #[cfg(unix)]
    signals: Option<(signal_hook_mio::v1_0::Signals, Vec<(i32, Id)>)>,
}

impl Wakeups {
    /// True when something here keeps the reactor alive.
    pub fn alive(&self) -> bool {
        #[cfg(unix)]
        if !self.pollers.is_empty() || self.signals.is_some() {
            return true;
        }
        !self.notifiers.is_empty()
    }

    /// True when a turn must not block: pollers whose condition may still hold.
    pub fn busy(&self) -> bool {
        !self.level.is_empty()
    }

    #[cfg(unix)]
    pub fn is_poller(&self, id: Id) -> bool {
        self.pollers.contains_key(&id)
    }

    #[cfg(not(unix))]
    pub fn is_poller(&self, _id: Id) -> bool {
        false
    }
}

/// The token of the signal source (ids are u32: this cannot collide).
pub(super) const SIGNALS: Token = Token(usize::MAX - 1);

#[cfg(unix)]
/// The conditions of `fd` that hold now, of those in `want` (a zero-timeout poll(2)).
fn level_now(fd: i32, want: u8) -> u8 {
    let mut events = 0;
    if want & poll_bits::READABLE != 0 {
        events |= libc::POLLIN;
    }
    if want & poll_bits::WRITABLE != 0 {
        events |= libc::POLLOUT;
    }
    let mut p = libc::pollfd {
        fd,
        events,
        revents: 0,
    };
    // SAFETY: one pollfd, zero timeout; poll writes only `revents`.
    let n = unsafe { libc::poll(&mut p, 1, 0) };
    if n <= 0 {
        return 0;
    }
    let mut bits = 0;
    if p.revents & libc::POLLIN != 0 {
        bits |= poll_bits::READABLE;
    }
    if p.revents & libc::POLLOUT != 0 {
        bits |= poll_bits::WRITABLE;
    }
    if p.revents & (libc::POLLERR | libc::POLLHUP | libc::POLLNVAL) != 0 {
        bits |= poll_bits::ERROR;
    }
    bits
}

impl Reactor {
    // ----- notifiers -----

    pub(super) fn notifier_add(&mut self, id: Id, state: Arc<NotifierState>) {
        if self.wakeups.notifiers.insert(id, state).is_none() {
            stats::inc(&self.shared.stats.notifiers);
        }
    }

    pub(super) fn notifier_free(&mut self, id: Id) {
        if let Some(s) = self.wakeups.notifiers.remove(&id) {
            s.freed.store(true, Ordering::Release);
            stats::dec(&self.shared.stats.notifiers);
        }
    }

    pub(super) fn notified(&mut self, id: Id, sink: &mut dyn EventSink) {
        if let Some(s) = self.wakeups.notifiers.get(&id) {
            // Cleared before the event: a trigger made while it is handled is reported again.
            s.pending.store(false, Ordering::Release);
            sink.event(Event::Notified { id });
        }
    }
}

#[cfg(unix)]
impl Reactor {
    // ----- pollers -----

    pub(super) fn poller_add(&mut self, id: Id, fd: i32, want: u8, sink: &mut dyn EventSink) {
        let op = format!("poll fd {fd}");
        if self.wakeups.pollers.values().any(|p| p.fd == fd) {
            let e = std::io::Error::from_raw_os_error(libc::EEXIST);
            return sink.event(Event::Failed {
                id,
                error: Error::io(op, &e),
            });
        }
        let mut interest = None;
        if want & poll_bits::READABLE != 0 {
            interest = Some(Interest::READABLE);
        }
        if want & poll_bits::WRITABLE != 0 {
            interest = Some(interest.map_or(Interest::WRITABLE, |i| i | Interest::WRITABLE));
        }
        let Some(interest) = interest else {
            return;
        };
        if let Err(e) =
            self.poll
                .registry()
                .register(&mut SourceFd(&fd), Token(id as usize), interest)
        {
            return sink.event(Event::Failed {
                id,
                error: Error::io(op, &e),
            });
        }
        self.wakeups.pollers.insert(
            id,
            Poller {
                fd,
                want,
                listed: false,
            },
        );
        stats::inc(&self.shared.stats.pollers);
    }

    pub(super) fn poller_free(&mut self, id: Id) {
        if let Some(p) = self.wakeups.pollers.remove(&id) {
            let _ = self.poll.registry().deregister(&mut SourceFd(&p.fd));
            stats::dec(&self.shared.stats.pollers);
        }
    }

    /// Readiness reported by the poll (an edge): report what holds, and keep checking it.
    pub(super) fn poller_ready(&mut self, id: Id, sink: &mut dyn EventSink) {
        let Some(p) = self.wakeups.pollers.get_mut(&id) else {
            return;
        };
        let bits = level_now(p.fd, p.want);
        if bits != 0 {
            if !p.listed {
                p.listed = true;
                self.wakeups.level.push(id);
            }
            sink.event(Event::Polled { id, ready: bits });
        }
    }

    /// Each turn: pollers whose condition held last turn are asked again (level-triggered, as
    /// `uv_poll`); those whose condition holds are reported again.
    pub(super) fn pollers_level(&mut self, sink: &mut dyn EventSink) {
        if self.wakeups.level.is_empty() {
            return;
        }
        let mut level = std::mem::take(&mut self.wakeups.level);
        level.retain(|id| {
            let Some(p) = self.wakeups.pollers.get_mut(id) else {
                return false;
            };
            let bits = level_now(p.fd, p.want);
            if bits == 0 {
                p.listed = false;
                return false;
            }
            sink.event(Event::Polled {
                id: *id,
                ready: bits,
            });
            true
        });
        level.append(&mut self.wakeups.level);
        self.wakeups.level = level;
    }

    // ----- signals -----

    pub(super) fn signal_add(&mut self, id: Id, signo: i32, sink: &mut dyn EventSink) {
        if self.wakeups.signals.is_none() {
            match signal_hook_mio::v1_0::Signals::new(std::iter::empty::<i32>()) {
                Ok(mut s) => {
                    if let Err(e) =
                        self.poll
                            .registry()
                            .register(&mut s, SIGNALS, Interest::READABLE)
                    {
                        return sink.event(Event::Failed {
                            id,
                            error: Error::io("watch signals", &e),
                        });
                    }
                    self.wakeups.signals = Some((s, Vec::new()));
                }
                Err(e) => {
                    return sink.event(Event::Failed {
                        id,
                        error: Error::io("watch signals", &e),
                    })
                }
            }
        }
        let Some((signals, ids)) = self.wakeups.signals.as_mut() else {
            return;
        };
        if let Err(e) = signals.add_signal(signo) {
            return sink.event(Event::Failed {
                id,
                error: Error::io(format!("watch signal {signo}"), &e),
            });
        }
        ids.retain(|(s, _)| *s != signo);
        ids.push((signo, id));
        stats::inc(&self.shared.stats.signals);
    }

    pub(super) fn signal_free(&mut self, id: Id) {
        let Some((_, ids)) = self.wakeups.signals.as_mut() else {
            return;
        };
        let before = ids.len();
        ids.retain(|(_, i)| *i != id);
        if ids.len() < before {
            stats::dec(&self.shared.stats.signals);
        }
        // signal-hook cannot unregister one signal from a Signals: the handler stays installed
        // (doing nothing for this reactor) until every watched signal is freed.
        if ids.is_empty() {
            if let Some((mut s, _)) = self.wakeups.signals.take() {
                let _ = self.poll.registry().deregister(&mut s);
                drop(s);
            }
        }
    }

    pub(super) fn signals_ready(&mut self, sink: &mut dyn EventSink) {
        let Some((signals, ids)) = self.wakeups.signals.as_mut() else {
            return;
        };
        for signo in signals.pending() {
            if let Some((_, id)) = ids.iter().find(|(s, _)| *s == signo) {
                sink.event(Event::Signal { id: *id, signo });
            }
        }
    }
}
