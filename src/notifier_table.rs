//! The process-wide table of live notifiers, by key. A notifier can be triggered from any JS
//! thread (a `worker_thread`, even one without a loop) through `notifierTrigger(key)`, a plain
//! function: the key finds the engine's `Notifier` here, so the trigger needs no object of the
//! loop's. Loops add their notifiers ([`crate::wakeups`]) and forget them when they end.

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};

use evasync::Notifier;
use napi_derive::napi;

/// Every live notifier of every loop of the process, by key.
pub(crate) fn table() -> &'static Mutex<HashMap<u32, Notifier>> {
    static TABLE: OnceLock<Mutex<HashMap<u32, Notifier>>> = OnceLock::new();
    TABLE.get_or_init(Mutex::default)
}

/// Triggers the notifier `key` from any thread; false when it was freed or its loop ended.
#[napi(catch_unwind)]
// Called from JS only: the test build of this crate has no caller.
#[cfg_attr(test, allow(dead_code))]
pub fn notifier_trigger(key: u32) -> bool {
    let notifier = table().lock().ok().and_then(|t| t.get(&key).cloned());
    notifier.is_some_and(|n| n.trigger())
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
