//! The reactor's side of DNS: queries go to the DNS area (a cache hit is answered in the same
//! turn), answers come back on the resolver's own channel and become events (application
//! lookups) or connection attempts (names given to `tcp_connect`).

use std::net::SocketAddr;
use std::time::Instant;

use crate::dns::{dns_error, DnsAnswer, DnsPurpose, DnsQuery, Failure};
use crate::event::{Event, EventSink};
use crate::id::Id;
use crate::reactor::{Reactor, TimerKey};
use crate::stats;

impl Reactor {
    /// Starts a lookup for `purpose`.
    pub(super) fn dns_query(
        &mut self,
        id: Id,
        query: DnsQuery,
        purpose: DnsPurpose,
        sink: &mut dyn EventSink,
    ) {
        stats::inc(&self.shared.stats.dns);
        let (registry, now) = (self.poll.registry(), self.clock.instant());
        match self
            .dns
            .ask(id, query, purpose, self.shared.waker(), registry, now)
        {
            Ok(None) => self.take_dns_outcomes(sink),
            Ok(Some((result, until))) => self.dns_done(id, result, until, sink),
            Err(failure) => {
                // Never asked: report it as an answer so who asked hears about it.
                stats::dec(&self.shared.stats.dns);
                self.dns_answered(id, purpose, Err(failure), None, sink);
            }
        }
    }

    /// Takes the answers the resolver thread posted.
    pub(super) fn take_dns_answers(&mut self, sink: &mut dyn EventSink) {
        for a in self.dns.take_answers() {
            self.dns_done(a.id, a.result, a.valid_until, sink);
        }
    }

    /// Socket `slot` of the exchange on this thread is readable.
    pub(super) fn dns_socket_ready(&mut self, slot: usize, sink: &mut dyn EventSink) {
        let now = self.clock.instant();
        self.dns.stub_ready(slot, self.poll.registry(), now);
        self.take_dns_outcomes(sink);
    }

    /// The deadline of try `seq` of the exchange's query `qid` passed.
    pub(super) fn dns_try_timed_out(&mut self, qid: u16, seq: u32, sink: &mut dyn EventSink) {
        let now = self.clock.instant();
        self.dns.stub_timed_out(qid, seq, self.poll.registry(), now);
        self.take_dns_outcomes(sink);
    }

    /// Acts on what the exchange produced: deadlines armed, lookups handed to hickory,
    /// answers delivered.
    fn take_dns_outcomes(&mut self, sink: &mut dyn EventSink) {
        while let Some(o) = self.dns.take_outcomes() {
            for (at, qid, seq) in o.arms {
                self.timers.schedule(at, TimerKey::DnsTry(qid, seq));
            }
            for (id, host, family) in o.handoffs {
                self.dns.hand_off(id, host, family, self.shared.waker());
            }
            for a in o.answers {
                self.dns_done(a.id, a.result, a.valid_until, sink);
            }
        }
    }

    /// Query `id` is answered (unless it was cancelled meanwhile).
    fn dns_done(
        &mut self,
        id: Id,
        result: Result<DnsAnswer, Failure>,
        valid_until: Option<Instant>,
        sink: &mut dyn EventSink,
    ) {
        let Some(purpose) = self.dns.finish(id, &result, valid_until) else {
            return; // cancelled (the connection closed while resolving)
        };
        stats::dec(&self.shared.stats.dns);
        self.dns_answered(id, purpose, result, valid_until, sink);
    }

    fn dns_answered(
        &mut self,
        id: Id,
        purpose: DnsPurpose,
        result: Result<DnsAnswer, Failure>,
        valid_until: Option<Instant>,
        sink: &mut dyn EventSink,
    ) {
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
}
