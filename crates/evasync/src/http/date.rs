//! The reactor's clock for HTTP: the time and the `Date` header value, read once per turn (or
//! command batch) rather than once per request, and the date formatted once per second.

use std::time::{Instant, SystemTime, UNIX_EPOCH};

use evasync_http1::http_date;

/// The time of the current turn and its IMF-fixdate.
pub(crate) struct DateCache {
    now: Instant,
    secs: u64,
    text: Vec<u8>,
}

impl Default for DateCache {
    fn default() -> Self {
        let mut d = DateCache {
            now: Instant::now(),
            secs: 0,
            text: Vec::new(),
        };
        d.refresh();
        d
    }
}

impl DateCache {
    /// Reads the clocks (start of a turn or of a command batch).
    pub fn refresh(&mut self) {
        self.now = Instant::now();
        let secs = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        if secs != self.secs || self.text.is_empty() {
            self.secs = secs;
            self.text = http_date(secs).into_bytes();
        }
    }

    /// The date as header value bytes.
    pub fn date(&self) -> &[u8] {
        &self.text
    }

    /// The time read by the last refresh.
    pub fn instant(&self) -> Instant {
        self.now
    }
}
