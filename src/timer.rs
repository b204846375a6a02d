//! Timer commands.

use std::time::{Duration, Instant};

use evasync::Command;
use napi_derive::napi;

use crate::event_loop::NativeLoop;

/// Seconds (JS number) to a Duration; negative, NaN and infinite values clamp to sane bounds.
pub(crate) fn seconds(s: f64) -> Duration {
    if s.is_finite() && s > 0.0 {
        Duration::from_secs_f64(s.min(1e9))
    } else {
        Duration::ZERO
    }
}

/// Optional seconds: `None`/`null` or a non-positive value means "no timeout".
pub(crate) fn opt_seconds(s: Option<f64>) -> Option<Duration> {
    s.filter(|v| v.is_finite() && *v > 0.0).map(seconds)
}

#[napi]
impl NativeLoop {
    /// Schedules a timer `secs` from now (the deadline is taken here, on the calling thread, so
    /// queueing adds no drift); `interval` re-arms it every `secs`. Returns its id.
    #[napi(catch_unwind)]
    pub fn delay(&self, secs: f64, interval: bool) -> u32 {
        let id = self.handle.next_id();
        let d = seconds(secs);
        self.handle.submit(Command::Delay {
            id,
            deadline: Instant::now() + d,
            interval: interval.then_some(d.max(Duration::from_micros(1))),
        });
        id
    }

    /// Cancels a timer.
    #[napi(catch_unwind)]
    pub fn timer_free(&self, id: u32) {
        self.handle.submit(Command::TimerFree { id });
    }
}
