//! The reactor's side of DNS: queries go to the resolver thread (started on first use), answers
//! come back as commands and become events (user lookups) or connection attempts (names given
//! to `tcp_connect`).

use std::net::SocketAddr;
use std::time::Instant;

use crate::dns::cache::DnsCache;
use crate::dns::resolver::Request;
use crate::dns::{DnsAnswer, DnsConfig, DnsErrorCode, DnsQuery, DnsThread};
use crate::error::{Error, ErrorKind};
use crate::event::{Event, EventSink};
use crate::id::Id;
use crate::reactor::Reactor;
use crate::stats;

/// Who asked.
#[derive(Debug, Clone, Copy)]
pub(crate) enum DnsPurpose {
    /// An application lookup: reported as [`Event::DnsResolved`].
    User,
    /// The name of an outgoing connection to this port.
    Connect(u16),
}

/// The engine error of a failed lookup: kind `Dns`, the code in `errno`.
pub fn dns_error(code: DnsErrorCode, message: String) -> Error {
    Error {
        kind: ErrorKind::Dns,
        errno: code as i32,
        message,
    }
}

impl Reactor {
    /// Sends a query to the resolver thread, starting it if needed.
    pub(crate) fn dns_query(
        &mut self,
        id: Id,
        query: DnsQuery,
        purpose: DnsPurpose,
        sink: &mut dyn EventSink,
    ) {
        let key = match &query {
            DnsQuery::Lookup { host, family } => Some(DnsCache::key(host, *family)),
            DnsQuery::Reverse { .. } => None,
        };
        self.dns_queries.insert(id, (purpose, key.clone()));
        stats::inc(&self.shared.stats.dns);
        if let Some(k) = &key {
            let now = Instant::now();
            if let Some((addrs, until)) = self.dns_cache.get(k, now) {
                let answer = DnsAnswer::Addrs(addrs.clone());
                return self.dns_done(id, Ok(answer), Some(until), sink);
            }
        }
        if self.dns.is_none() {
            match DnsThread::start(self.handle()) {
                Ok(t) => {
                    if let Some(cfg) = self.dns_config.clone() {
                        t.send(Request::Configure(Some(cfg)));
                    }
                    self.dns = Some(t);
                }
                Err(e) => {
                    let f = (
                        DnsErrorCode::ServFail,
                        format!("cannot start the resolver: {e}"),
                    );
                    return self.dns_done(id, Err(f), None, sink);
                }
            }
        }
        let sent = self
            .dns
            .as_ref()
            .is_some_and(|t| t.send(Request::Query { id, query }));
        if !sent {
            let f = (DnsErrorCode::ServFail, "the resolver is gone".to_string());
            self.dns_done(id, Err(f), None, sink);
        }
    }

    /// An answer arrived.
    pub(crate) fn dns_done(
        &mut self,
        id: Id,
        result: Result<DnsAnswer, (DnsErrorCode, String)>,
        valid_until: Option<Instant>,
        sink: &mut dyn EventSink,
    ) {
        let Some((purpose, key)) = self.dns_queries.remove(&id) else {
            return; // cancelled (the connection closed while resolving)
        };
        stats::dec(&self.shared.stats.dns);
        if let (Some(k), Some(until), Ok(DnsAnswer::Addrs(a))) = (key, valid_until, &result) {
            self.dns_cache.put(k, a.clone(), until, Instant::now());
        }
        match purpose {
            DnsPurpose::User => {
                let result = match &result {
                    Ok(a) => Ok(a),
                    Err((code, msg)) => Err(dns_error(*code, msg.clone())),
                };
                sink.event(Event::DnsResolved {
                    id,
                    result,
                    valid_until,
                });
            }
            DnsPurpose::Connect(port) => {
                let addrs = match result {
                    Ok(DnsAnswer::Addrs(a)) => {
                        Ok(a.into_iter().map(|ip| SocketAddr::new(ip, port)).collect())
                    }
                    Ok(DnsAnswer::Name(_)) => Ok(Vec::new()),
                    Err((code, msg)) => Err(dns_error(code, msg)),
                };
                self.resolved(id, addrs, sink);
            }
        }
    }

    /// Forgets a connection's lookup (the connection closed first).
    pub(crate) fn dns_cancel(&mut self, id: Id) {
        if self.dns_queries.remove(&id).is_some() {
            stats::dec(&self.shared.stats.dns);
        }
    }

    /// Replaces the name servers (None: the system's again).
    pub(crate) fn dns_configure(&mut self, cfg: Option<DnsConfig>) {
        self.dns_config = cfg.clone();
        self.dns_cache.clear();
        if let Some(t) = &self.dns {
            t.send(Request::Configure(cfg));
        }
    }

    /// Drops every cached answer.
    pub(crate) fn dns_clear_cache(&mut self) {
        self.dns_cache.clear();
        if let Some(t) = &self.dns {
            t.send(Request::ClearCache);
        }
    }
}
