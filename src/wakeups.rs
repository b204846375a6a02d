//! Notifiers and pollers. A notifier can be triggered from any JS thread (a `worker_thread`,
//! even one without a loop) through `notifierTrigger(key)`, a plain function: the key finds the
//! engine's `Notifier` in a process-wide table, so the trigger needs no object of the loop's.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Mutex, OnceLock};

use evasync::Notifier;
use napi_derive::napi;

use crate::event_loop::NativeLoop;

/// Every live notifier of every loop of the process, by key.
fn table() -> &'static Mutex<HashMap<u32, Notifier>> {
    static TABLE: OnceLock<Mutex<HashMap<u32, Notifier>>> = OnceLock::new();
    TABLE.get_or_init(Mutex::default)
}

/// A new notifier: its id (its events carry it) and its key (what triggers name).
#[napi(object)]
pub struct NotifierIds {
    pub id: u32,
    pub key: u32,
}

/// Triggers the notifier `key` from any thread; false when it was freed or its loop ended.
#[napi(catch_unwind)]
// Called from JS only: the test build of this crate has no caller.
#[cfg_attr(test, allow(dead_code))]
pub fn notifier_trigger(key: u32) -> bool {
    let notifier = table().lock().ok().and_then(|t| t.get(&key).cloned());
    notifier.is_some_and(|n| n.trigger())
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

/// Forgets the notifiers of a loop that ended (their triggers then return false).
pub(crate) fn forget_notifiers(keys: &[u32]) {
    if let Ok(mut t) = table().lock() {
        for k in keys {
            if let Some(n) = t.remove(k) {
                n.free();
            }
        }
    }
}
