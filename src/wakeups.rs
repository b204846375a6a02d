//! Notifiers and pollers of a loop. Notifiers are kept by key in the process-wide table of
//! [`crate::notifier_table`], which is what triggers from other threads go through.

use std::sync::atomic::{AtomicU32, Ordering};

use napi_derive::napi;

use crate::event_loop::NativeLoop;
use crate::notifier_table::table;

/// A new notifier: its id (its events carry it) and its key (what triggers name).
#[napi(object)]
pub struct NotifierIds {
    pub id: u32,
    pub key: u32,
}

#[napi]
impl NativeLoop {
    /// Makes a notifier.
    #[napi(catch_unwind)]
    pub fn notifier_new(&self) -> NotifierIds {
        static NEXT: AtomicU32 = AtomicU32::new(1);
        let key = NEXT.fetch_add(1, Ordering::Relaxed);
        let notifier = self.command(|h| h.notifier());
        let id = notifier.id();
        if let Ok(mut t) = table().lock() {
            t.insert(key, notifier);
        }
        self.notifier_keys.borrow_mut().push(key);
        NotifierIds { id, key }
    }

    /// Frees notifier `key`: later triggers return false.
    #[napi(catch_unwind)]
    pub fn notifier_free(&self, key: u32) {
        let removed = table().lock().ok().and_then(|mut t| t.remove(&key));
        if let Some(n) = removed {
            self.command(|_| n.free());
        }
        self.notifier_keys.borrow_mut().retain(|k| *k != key);
    }

    /// Polls `fd` for `want` (1 readable, 2 writable); returns the poller id.
    #[napi(catch_unwind)]
    pub fn poll_fd(&self, fd: i32, want: u32) -> u32 {
        #[cfg(unix)]
        return self.command(|h| h.poll_fd(fd, want as u8));
        #[cfg(not(unix))]
        {
            let _ = (fd, want);
            0
        }
    }

    /// Stops polling.
    #[napi(catch_unwind)]
    pub fn poll_free(&self, id: u32) {
        #[cfg(unix)]
        self.command(|h| h.free_poller(id));
        #[cfg(not(unix))]
        let _ = id;
    }
}
