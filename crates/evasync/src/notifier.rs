//! Notifiers (cl-async's `make-notifier`): a wake-up any thread can trigger. Triggers coalesce:
//! every trigger made before the reactor reports the notifier turns into ONE
//! [`crate::Event::Notified`] (the rule of libuv's `uv_async_send`).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use crate::id::Id;
use crate::reactor::Handle;

/// State shared by a notifier's triggers and the reactor.
#[derive(Debug, Default)]
pub(crate) struct NotifierState {
    /// A trigger is queued and not reported yet.
    pub pending: AtomicBool,
    /// Freed: triggers do nothing and say so.
    pub freed: AtomicBool,
}

/// The triggering side of a notifier: `Send + Sync`, cheap to clone.
#[derive(Clone)]
pub struct Notifier {
    id: Id,
    state: Arc<NotifierState>,
    handle: Handle,
}

impl Notifier {
    pub(crate) fn new(id: Id, state: Arc<NotifierState>, handle: Handle) -> Notifier {
        Notifier { id, state, handle }
    }

    /// The notifier's id (its events carry it).
    pub fn id(&self) -> Id {
        self.id
    }

    /// Queues a wake-up (coalesced with any not reported yet). False when the notifier was
    /// freed or its reactor is gone; never blocks.
    pub fn trigger(&self) -> bool {
        if self.state.freed.load(Ordering::Acquire) {
            return false;
        }
        if !self.state.pending.swap(true, Ordering::AcqRel) {
            self.handle.notify(self.id);
        }
        true
    }

    /// Stops the notifier: later triggers return false.
    pub fn free(&self) {
        if !self.state.freed.swap(true, Ordering::AcqRel) {
            self.handle.free_notifier(self.id);
        }
    }
}

impl std::fmt::Debug for Notifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Notifier").field("id", &self.id).finish()
    }
}
