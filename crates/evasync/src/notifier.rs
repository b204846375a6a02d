//! Notifiers (cl-async's `make-notifier`): a wake-up any thread can trigger. Triggers coalesce:
//! every trigger made before the reactor reports the notifier turns into ONE
//! [`crate::Event::Notified`] (the rule of libuv's `uv_async_send`). This is the state a
//! notifier's triggers share with the reactor; the triggering handle, [`crate::Notifier`],
//! lives beside [`crate::Handle`], whose queue it uses.

use std::sync::atomic::AtomicBool;

/// State shared by a notifier's triggers and the reactor.
#[derive(Debug, Default)]
pub(crate) struct NotifierState {
    /// A trigger is queued and not reported yet.
    pub pending: AtomicBool,
    /// Freed: triggers do nothing and say so.
    pub freed: AtomicBool,
}
