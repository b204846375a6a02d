//! The reactor's own cache of address answers, in front of hickory's: a hit is answered in the
//! same turn, without a trip to the resolver thread and back (two wake-ups). Entries live as long
//! as their records' TTL; negative answers stay in hickory's cache only.

use std::collections::HashMap;
use std::net::IpAddr;
use std::time::Instant;

/// Host (lower case) and family of a lookup.
pub(crate) type Key = (String, u8);

/// Most entries kept; when full, expired ones go, and if none had, everything.
const MAX_ENTRIES: usize = 16 * 1024;

#[derive(Default)]
pub(crate) struct DnsCache {
    entries: HashMap<Key, (Vec<IpAddr>, Instant)>,
}

impl DnsCache {
    /// The key of a lookup.
    pub fn key(host: &str, family: u8) -> Key {
        (host.to_ascii_lowercase(), family)
    }

    /// A fresh answer and until when it is fresh, if there is one.
    pub fn get(&mut self, key: &Key, now: Instant) -> Option<(&Vec<IpAddr>, Instant)> {
        match self.entries.get(key) {
            Some((_, until)) if *until > now => self.entries.get(key).map(|(a, u)| (a, *u)),
            Some(_) => {
                self.entries.remove(key);
                None
            }
            None => None,
        }
    }

    /// Keeps an answer until `until`.
    pub fn put(&mut self, key: Key, addrs: Vec<IpAddr>, until: Instant, now: Instant) {
        if until <= now {
            return;
        }
        if self.entries.len() >= MAX_ENTRIES {
            self.entries.retain(|_, (_, u)| *u > now);
            if self.entries.len() >= MAX_ENTRIES {
                self.entries.clear();
            }
        }
        self.entries.insert(key, (addrs, until));
    }

    pub fn clear(&mut self) {
        self.entries = HashMap::new();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn entries_expire_and_keys_ignore_case() {
        let mut c = DnsCache::default();
        let now = Instant::now();
        let a = vec![IpAddr::from([10, 0, 0, 1])];
        c.put(
            DnsCache::key("Host.Test", 4),
            a.clone(),
            now + Duration::from_secs(5),
            now,
        );
        let until = now + Duration::from_secs(5);
        assert_eq!(
            c.get(&DnsCache::key("host.test", 4), now),
            Some((&a, until))
        );
        assert_eq!(c.get(&DnsCache::key("host.test", 6), now), None);
        assert_eq!(
            c.get(&DnsCache::key("host.test", 4), now + Duration::from_secs(6)),
            None
        );
        c.put(DnsCache::key("gone", 0), a, now, now);
        assert_eq!(c.get(&DnsCache::key("gone", 0), now), None);
    }
}
