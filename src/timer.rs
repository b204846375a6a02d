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

/// `commands()` op: schedule a timer `[1, id, seconds, interval ? 1 : 0]`.
const OP_DELAY: u32 = 1;
/// `commands()` op: cancel a timer `[2, id, 0, 0]`.
const OP_TIMER_FREE: u32 = 2;

#[napi]
impl NativeLoop {
    /// Applies a batch of numeric commands gathered by JS during one tick, as `[op, id, a, b]`
    /// quadruples (`lib/commands.ts` writes them): one call, one lock, at most one wake-up.
    /// Deadlines count from now, the moment the batch arrives (the tick that made them).
    #[napi(catch_unwind)]
    pub fn commands(&self, cmds: &[f64]) {
        let now = Instant::now();
        let batch = cmds.chunks_exact(4).filter_map(|c| {
            let id = c[1] as u32;
            match c[0] as u32 {
                OP_DELAY => {
                    let d = seconds(c[2]);
                    Some(Command::Delay {
                        id,
                        deadline: now + d,
                        interval: (c[3] != 0.0).then_some(d.max(Duration::from_micros(1))),
                    })
                }
                OP_TIMER_FREE => Some(Command::TimerFree { id }),
                _ => None,
            }
        });
        self.send_all(batch);
    }
}
