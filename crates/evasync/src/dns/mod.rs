//! Name resolution with hickory-resolver. The resolver runs on a tokio current-thread runtime in
//! one small thread of its own, started on the first query; answers come back to the reactor on
//! a channel of their own, so the reactor stays the single owner of state and never blocks on a
//! lookup; its UDP sockets are pooled (`udp_pool`). `DnsState` is the reactor's side: queries in
//! flight and who asked, a cache of address answers (a hit never leaves the reactor thread), the
//! configured servers.
//!
//! The system configuration (`/etc/resolv.conf`, `/etc/hosts`) is the default; a loop may replace
//! the name servers ([`DnsConfig`]). hickory caches positive and negative answers by TTL.

mod cache;
#[cfg(feature = "dns")]
mod resolver;
#[cfg(feature = "dns")]
mod stub;
#[cfg(feature = "dns")]
mod udp_pool;

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::error::{Error, ErrorKind};
use crate::id::{Id, IdMap};
use cache::{DnsCache, Kept};
#[cfg(not(feature = "dns"))]
#[path = "no_resolver.rs"]
mod resolver;

#[cfg(not(feature = "dns"))]
#[path = "no_stub.rs"]
mod stub;

use resolver::DnsThread;
pub(crate) use stub::slot_of as stub_slot_of;
use stub::Stub;

/// A request to the resolver thread.
#[cfg_attr(not(feature = "dns"), allow(dead_code))] // the stand-in has nothing to configure
pub(crate) enum Request {
    Query { id: Id, query: DnsQuery },
    Configure(Option<DnsConfig>),
    ClearCache,
}

/// The failure of one query: the code and a message naming the host.
pub(crate) type Failure = (DnsErrorCode, String);

/// One finished query.
pub(crate) struct Answer {
    pub id: Id,
    pub result: Result<DnsAnswer, Failure>,
    /// Until when an address answer may be reused (its records' TTL).
    pub valid_until: Option<Instant>,
}

/// What to ask.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DnsQuery {
    /// Addresses of a host: `family` 0 (both; IPv4 first), 4 or 6.
    Lookup {
        /// The name.
        host: String,
        /// 0, 4 or 6.
        family: u8,
    },
    /// The name of an address (PTR).
    Reverse {
        /// The address.
        ip: IpAddr,
    },
}

/// An answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DnsAnswer {
    /// Addresses, IPv4 ones first.
    Addrs(Vec<IpAddr>),
    /// A host name (no trailing dot).
    Name(String),
}

/// Why a lookup failed, as the contract's `errcode`s (API.md §3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum DnsErrorCode {
    /// No such name (NXDOMAIN).
    NotFound = 1,
    /// The name exists but has no address of the asked family.
    NoData = 2,
    /// No answer in time.
    Timeout = 3,
    /// The server failed (SERVFAIL and other error responses).
    ServFail = 4,
    /// The server refused, or could not be reached.
    ConnRefused = 5,
}

impl DnsErrorCode {
    /// The `errcode` users see.
    pub fn name(self) -> &'static str {
        match self {
            DnsErrorCode::NotFound => "ENOTFOUND",
            DnsErrorCode::NoData => "ENODATA",
            DnsErrorCode::Timeout => "ETIMEOUT",
            DnsErrorCode::ServFail => "ESERVFAIL",
            DnsErrorCode::ConnRefused => "ECONNREFUSED",
        }
    }

    /// What it means, for messages.
    pub fn describe(self) -> &'static str {
        match self {
            DnsErrorCode::NotFound => "no such name",
            DnsErrorCode::NoData => "no address of the asked family",
            DnsErrorCode::Timeout => "no answer in time",
            DnsErrorCode::ServFail => "the server failed",
            DnsErrorCode::ConnRefused => "the server refused or could not be reached",
        }
    }
}

/// The failure of a lookup of `host`: "resolve example.test failed: no such name (ENOTFOUND)".
#[cfg_attr(not(feature = "dns"), allow(dead_code))] // the stand-in resolver fails otherwise
pub(crate) fn lookup_failure(host: &str, code: DnsErrorCode) -> Failure {
    (
        code,
        format!(
            "resolve {host} failed: {} ({})",
            code.describe(),
            code.name()
        ),
    )
}

/// An answer from the cache: the result and, for addresses, until when it holds.
pub(crate) type Cached = (Result<DnsAnswer, Failure>, Option<Instant>);

/// A try's deadline for the reactor's timer queue: when, the query id, the try's number.
pub(crate) type StubArm = (Instant, u16, u32);

/// What the reactor-thread exchange (`stub`) produced since the reactor last looked.
#[derive(Default)]
pub(crate) struct Outcomes {
    pub answers: Vec<Answer>,
    /// Lookups to start over in hickory: id, host, family.
    pub handoffs: Vec<(Id, String, u8)>,
    pub arms: Vec<StubArm>,
}

/// Name servers replacing the system's for one reactor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DnsConfig {
    /// Servers, asked in order.
    pub servers: Vec<SocketAddr>,
    /// Time per try.
    pub timeout: Duration,
    /// Tries per server.
    pub attempts: usize,
}

/// The engine error of a failed lookup: kind `Dns`, the [`DnsErrorCode`] in `errno`.
pub fn dns_error(code: DnsErrorCode, message: String) -> Error {
    Error {
        kind: ErrorKind::Dns,
        errno: code as i32,
        message,
        tls: None,
    }
}

/// Who asked for a lookup.
#[derive(Debug, Clone, Copy)]
pub(crate) enum DnsPurpose {
    /// An application lookup: reported as [`crate::Event::DnsResolved`].
    User,
    /// The name of an outgoing connection to this port.
    Connect(u16),
}

/// The reactor's DNS state: the exchange on the reactor's thread (`stub`), hickory's resolver
/// thread (started on first use) for everything the exchange declines, queries in flight and
/// who asked, the reactor-side answer cache, the configured servers.
#[derive(Default)]
pub(crate) struct DnsState {
    thread: Option<DnsThread>,
    stub: Stub,
    /// What the exchange produced, for the reactor to take.
    outcomes: Outcomes,
    queries: IdMap<(DnsPurpose, Option<cache::Key>)>,
    cache: DnsCache,
    config: Option<DnsConfig>,
}

impl DnsState {
    /// Starts query `id`. An answer already cached comes back at once (`Ok(Some)`: the result
    /// and, for addresses, until when it holds); otherwise the query goes out from this thread
    /// or to the resolver thread (`Ok(None)`; see [`DnsState::take_outcomes`]), or fails to
    /// (`Err`).
    pub fn ask(
        &mut self,
        id: Id,
        query: DnsQuery,
        purpose: DnsPurpose,
        waker: &Arc<mio::Waker>,
        registry: &mio::Registry,
        now: Instant,
    ) -> Result<Option<Cached>, Failure> {
        let key = match &query {
            DnsQuery::Lookup { host, family } => Some(DnsCache::key(host, *family)),
            DnsQuery::Reverse { .. } => None,
        };
        if let (Some(k), DnsQuery::Lookup { host, .. }) = (&key, &query) {
            if let Some((kept, until)) = self.cache.get(k, now) {
                let hit = match kept {
                    Kept::Addrs(a) => (Ok(DnsAnswer::Addrs(a.clone())), Some(until)),
                    Kept::Failed(code) => (Err(lookup_failure(host, *code)), None),
                };
                self.queries.insert(id, (purpose, key));
                return Ok(Some(hit));
            }
        }
        if let DnsQuery::Lookup { host, family } = &query {
            let cfg = self.config.as_ref();
            if self
                .stub
                .start(id, host, *family, cfg, registry, now, &mut self.outcomes)
            {
                self.queries.insert(id, (purpose, key));
                return Ok(None);
            }
        }
        self.send_to_thread(id, query, waker)?;
        self.queries.insert(id, (purpose, key));
        Ok(None)
    }

    /// Hands query `id` to hickory's thread, starting it if need be.
    fn send_to_thread(
        &mut self,
        id: Id,
        query: DnsQuery,
        waker: &Arc<mio::Waker>,
    ) -> Result<(), Failure> {
        if self.thread.is_none() {
            let t = DnsThread::start(waker.clone()).map_err(|e| {
                (
                    DnsErrorCode::ServFail,
                    format!("cannot start the resolver: {e}"),
                )
            })?;
            if let Some(cfg) = self.config.clone() {
                t.send(Request::Configure(Some(cfg)));
            }
            self.thread = Some(t);
        }
        let sent = self
            .thread
            .as_ref()
            .is_some_and(|t| t.send(Request::Query { id, query }));
        if !sent {
            return Err((DnsErrorCode::ServFail, "the resolver is gone".to_string()));
        }
        Ok(())
    }

    /// A lookup the exchange gave up on starts over in hickory (TCP, the search list). A
    /// failure to hand it over comes back as its answer.
    pub fn hand_off(&mut self, id: Id, host: String, family: u8, waker: &Arc<mio::Waker>) {
        if !self.queries.contains_key(&id) {
            return; // cancelled meanwhile
        }
        if let Err(f) = self.send_to_thread(id, DnsQuery::Lookup { host, family }, waker) {
            self.outcomes.answers.push(Answer {
                id,
                result: Err(f),
                valid_until: None,
            });
        }
    }

    /// The exchange's socket `slot` is readable.
    pub fn stub_ready(&mut self, slot: usize, registry: &mio::Registry, now: Instant) {
        self.stub.ready(slot, registry, now, &mut self.outcomes);
    }

    /// The deadline of the exchange's try `seq` of query `qid` passed.
    pub fn stub_timed_out(&mut self, qid: u16, seq: u32, registry: &mio::Registry, now: Instant) {
        self.stub
            .timed_out(qid, seq, registry, now, &mut self.outcomes);
    }

    /// What the exchange produced since the last call: answers, hand-offs, deadlines to arm.
    pub fn take_outcomes(&mut self) -> Option<Outcomes> {
        let o = &self.outcomes;
        if o.answers.is_empty() && o.handoffs.is_empty() && o.arms.is_empty() {
            return None;
        }
        Some(std::mem::take(&mut self.outcomes))
    }

    /// The answers the resolver thread posted since the last call.
    pub fn take_answers(&mut self) -> Vec<Answer> {
        self.thread
            .as_ref()
            .map(|t| t.take_answers().collect())
            .unwrap_or_default()
    }

    /// Query `id` is answered: who asked (None when it was cancelled); a fresh answer (addresses,
    /// or no such name or address) is cached until `valid_until`.
    pub fn finish(
        &mut self,
        id: Id,
        result: &Result<DnsAnswer, Failure>,
        valid_until: Option<Instant>,
    ) -> Option<DnsPurpose> {
        let (purpose, key) = self.queries.remove(&id)?;
        if let (Some(k), Some(until)) = (key, valid_until) {
            let kept = match result {
                Ok(DnsAnswer::Addrs(a)) => Some(Kept::Addrs(a.clone())),
                Err((code @ (DnsErrorCode::NotFound | DnsErrorCode::NoData), _)) => {
                    Some(Kept::Failed(*code))
                }
                _ => None,
            };
            if let Some(kept) = kept {
                self.cache.put(k, kept, until, Instant::now());
            }
        }
        Some(purpose)
    }

    /// Forgets query `id` (its connection closed first); true when it was in flight. An exchange
    /// on this thread runs to its end, and its answer is dropped then.
    pub fn cancel(&mut self, id: Id) -> bool {
        self.queries.remove(&id).is_some()
    }

    /// Queries in flight.
    pub fn in_flight(&self) -> usize {
        self.queries.len()
    }

    /// Replaces the name servers (None: the system's again); cached answers are dropped.
    pub fn configure(&mut self, cfg: Option<DnsConfig>) {
        self.config = cfg.clone();
        self.cache.clear();
        self.stub.configure();
        if let Some(t) = &self.thread {
            t.send(Request::Configure(cfg));
        }
    }

    /// Drops every cached answer, here and in hickory.
    pub fn clear_cache(&mut self) {
        self.cache.clear();
        if let Some(t) = &self.thread {
            t.send(Request::ClearCache);
        }
    }
}

/// Parses `'host:port'`, `'[v6]:port'`, or a bare IP (port 53) as API.md §3 `setDnsServers`
/// takes them.
pub fn parse_server(s: &str) -> Option<SocketAddr> {
    if let Ok(a) = s.parse::<SocketAddr>() {
        return Some(a);
    }
    let bare = s.trim_start_matches('[').trim_end_matches(']');
    bare.parse::<IpAddr>()
        .ok()
        .map(|ip| SocketAddr::new(ip, 53))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_forms() {
        assert_eq!(
            parse_server("127.0.0.1:5353"),
            "127.0.0.1:5353".parse().ok()
        );
        assert_eq!(parse_server("[::1]:53"), "[::1]:53".parse().ok());
        assert_eq!(parse_server("::1"), "[::1]:53".parse().ok());
        assert_eq!(parse_server("10.0.0.1"), "10.0.0.1:53".parse().ok());
        assert_eq!(parse_server("dns.example:53"), None);
    }
}
