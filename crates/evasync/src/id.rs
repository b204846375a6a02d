//! Handles are ids, never pointers: a stale id is an error, never a crash.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

/// The id of a timer, socket or server of one reactor. Ids are handed out by
/// [`Handle::next_id`](crate::Handle::next_id) from one counter per reactor, so both the reactor
/// (for accepted sockets) and other threads (for what they create) can name objects at once,
/// without a round trip. Id 0 is never used.
pub type Id = u32;

/// A hasher for integer keys: ids are already well spread, so a multiply is enough and avoids
/// SipHash's cost on every readiness event.
#[derive(Default, Clone, Copy)]
pub(crate) struct IdHasher(u64);

impl Hasher for IdHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = (self.0.rotate_left(8) ^ u64::from(*b)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        }
    }
    fn write_u32(&mut self, n: u32) {
        self.0 = u64::from(n).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }
}

/// A map keyed by [`Id`].
pub(crate) type IdMap<V> = HashMap<Id, V, BuildHasherDefault<IdHasher>>;
