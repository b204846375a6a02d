//! The `Date` header value, formatted once per second rather than once per response.

use std::time::{SystemTime, UNIX_EPOCH};

use evasync_http1::http_date;

/// The current IMF-fixdate, refreshed when the second changes.
#[derive(Default)]
pub(crate) struct DateCache {
    secs: u64,
    text: Vec<u8>,
}

impl DateCache {
    /// The date now, as header value bytes.
    pub fn now(&mut self) -> &[u8] {
        let secs = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        if secs != self.secs || self.text.is_empty() {
            self.secs = secs;
            self.text = http_date(secs).into_bytes();
        }
        &self.text
    }
}
