//! The reactor's own cache of answers, in front of hickory's: a hit is answered in the same turn,
//! without a query (or a trip to the resolver thread and back). Addresses live as long as their
//! records' TTL; negative answers (no such name, no address of the family) as long as their
//! zone's SOA says (RFC 2308), when the server sent one.

use std::collections::HashMap;
use std::net::IpAddr;
use std::time::Instant;

use crate::dns::DnsErrorCode;

/// Host (lower case) and family of a lookup.
pub(crate) type Key = (String, u8);

/// What a lookup found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Kept {
    Addrs(Vec<IpAddr>),
    /// `NotFound` or `NoData`.
    Failed(DnsErrorCode),
}

/// Most entries kept; when full, expired ones go, and if none had, everything.
const MAX_ENTRIES: usize = 16 * 1024;

#[derive(Default)]
pub(crate) struct DnsCache {
    entries: HashMap<Key, (Kept, Instant)>,
}

impl DnsCache {
    /// The key of a lookup.
    pub fn key(host: &str, family: u8) -> Key {
        (host.to_ascii_lowercase(), family)
    }

    /// A fresh answer and until when it is fresh, if there is one.
    pub fn get(&mut self, key: &Key, now: Instant) -> Option<(&Kept, Instant)> {
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
    pub fn put(&mut self, key: Key, kept: Kept, until: Instant, now: Instant) {
        if until <= now {
            return;
        }
        if self.entries.len() >= MAX_ENTRIES {
            self.entries.retain(|_, (_, u)| *u > now);
            if self.entries.len() >= MAX_ENTRIES {
                self.entries.clear();
            }
        }
        self.entries.insert(key, (kept, until));
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
        let a = Kept::Addrs(vec![IpAddr::from([10, 0, 0, 1])]);
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
