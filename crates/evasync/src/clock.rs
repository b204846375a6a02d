//! The reactor's clock: the time (and, for the HTTP server, the `Date` header value), read once
//! per turn (or batch of operations) rather than once per request or timer, and the date
//! formatted once per second.
//! One clock read per refresh: the wall-clock second is derived from the monotonic clock and a
//! base taken from the system clock, re-taken every minute (so a changed system clock shows
//! within a minute, as in every server that caches its date).

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

#[cfg(feature = "http")]
use evasync_http1::http_date;

/// How long the wall-clock base is trusted before it is read again.
const WALL_CLOCK_RESYNC: Duration = Duration::from_secs(60);

/// The time of the current turn and its IMF-fixdate.
pub(crate) struct TurnClock {
    now: Instant,
    /// When the wall-clock base was read, and the Unix time then (seconds, fraction included).
    base: Instant,
    base_unix: Duration,
    #[cfg(feature = "http")]
    secs: u64,
    #[cfg(feature = "http")]
    text: Vec<u8>,
}

impl Default for TurnClock {
    fn default() -> Self {
        let now = Instant::now();
        let mut d = TurnClock {
            now,
            base: now,
            base_unix: unix_now(),
            #[cfg(feature = "http")]
            secs: u64::MAX,
            #[cfg(feature = "http")]
            text: Vec::new(),
        };
        d.refresh();
        d
    }
}

fn unix_now() -> Duration {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
}

impl TurnClock {
    /// Reads the clock (start of a turn or of a batch of operations).
    pub fn refresh(&mut self) {
        self.now = Instant::now();
        let mut since = self.now.saturating_duration_since(self.base);
        if since >= WALL_CLOCK_RESYNC {
            self.base = self.now;
            self.base_unix = unix_now();
            since = Duration::ZERO;
        }
        #[cfg(feature = "http")]
        {
            let secs = (self.base_unix + since).as_secs();
            if secs != self.secs {
                self.secs = secs;
                self.text = http_date(secs).into_bytes();
            }
        }
        #[cfg(not(feature = "http"))]
        let _ = since;
    }

    /// Sets the clock to `now` (a harness that moves time itself).
    #[cfg(feature = "fuzzing")]
    pub fn set(&mut self, now: Instant) {
        self.now = now;
    }

    /// The date as header value bytes.
    #[cfg(feature = "http")]
    pub fn date(&self) -> &[u8] {
        &self.text
    }

    /// The time read by the last refresh.
    pub fn instant(&self) -> Instant {
        self.now
    }
}
