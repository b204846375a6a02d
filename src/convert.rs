//! Conversions of JS values the commands share.

use std::time::Duration;

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
