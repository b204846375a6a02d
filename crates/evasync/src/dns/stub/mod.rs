//! Plain address lookups exchanged on the reactor's own thread: one UDP query, one UDP answer,
//! encoded and decoded with hickory-proto, sockets in the reactor's poll, deadlines in its timer
//! queue. Everything else goes to hickory's resolver on its thread ("hand-off").
//!
//! Why: hickory's resolver spends about 30 µs of its thread per cold query (its lookup, caching
//! and exchange layers, each a future and allocations of its own), which caps a loop near 25 k
//! cold lookups/s where c-ares, a stub on its caller's thread, makes 35–60 k. A lookup of A or
//! AAAA records for an ordinary name is the case that matters for speed, and it is one datagram
//! each way; this module does that, the way c-ares and glibc do, and declines the rest:
//!
//! - names for which hickory has rules of its own (RFC 6761 special-use names: `localhost`,
//!   `.invalid`, `.local`, `.onion`, reverse zones) or that the hosts file knows;
//! - names the search list would be tried on first (fewer dots than `ndots`, not absolute);
//! - answers that need more than UDP (truncated), and a negative answer for a name the search
//!   list would be tried on next: the query is handed to hickory, which starts it over.
//!
//! Spoofing defences are those of `udp_pool` and c-ares: each socket is bound to a port the
//! kernel picks at random and connected to its server (the kernel drops datagrams from any other
//! source); each query has a random id, and an answer counts only if it is a response whose id,
//! name, type and class are the query's; a socket is retired after
//! [`QUERIES_PER_SOCKET`] queries. Anything else that arrives is dropped and the query waits on.
//!
//! Tries follow `resolv.conf`'s rules: each server in order, `attempts` rounds, `timeout` each;
//! a server that answers SERVFAIL or REFUSED, or is unreachable, passes the query to the next.

use std::collections::HashMap;
use std::io::ErrorKind;
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use hickory_resolver::proto::op::{Message, Query};
use hickory_resolver::proto::rr::{Name, RecordType};
use mio::net::UdpSocket;
use mio::{Interest, Registry, Token};

use crate::dns::udp_pool::{bind_random_port, QUERIES_PER_SOCKET};
use crate::dns::{lookup_failure, Answer, DnsAnswer, DnsConfig, DnsErrorCode, Outcomes};
use crate::id::Id;

mod join;
mod message;
mod plan;

use join::{Conclusion, Join};
use message::{encode, judge, special_use, Verdict};
use plan::Plan;

/// Sockets open at once (servers in use plus retired ones still awaiting answers).
const MAX_SOCKETS: usize = 64;
/// The first socket's token; the others count down from it, clear of connection ids (u32) and
/// of the reactor's own tokens at the top.
const TOKEN_TOP: usize = usize::MAX - 16;
/// Queries in flight at once; more wait for hickory (ids are 16 bits).
const MAX_IN_FLIGHT: usize = 16 * 1024;
/// Largest answer read: without EDNS a server truncates at 512 bytes; room for more is cheap.
const MAX_DATAGRAM: usize = 4096;
/// A DNS message's fixed header.
const HEADER_LEN: usize = 12;
/// The longest an answer is kept, as hickory bounds it.
const MAX_TTL: u32 = 86_400;

/// The token of socket slot `slot`.
fn token(slot: usize) -> Token {
    Token(TOKEN_TOP - slot)
}

/// The socket slot of `token`, if it is one of ours.
pub(crate) fn slot_of(token: Token) -> Option<usize> {
    let slot = TOKEN_TOP.checked_sub(token.0)?;
    (slot < MAX_SOCKETS).then_some(slot)
}

/// One socket, connected to one server.
struct Sock {
    udp: UdpSocket,
    server: SocketAddr,
    /// Queries sent from it.
    sent: u32,
    /// Queries whose current try went out from it.
    waiting: u32,
}

impl Sock {
    fn retired(&self) -> bool {
        self.sent >= QUERIES_PER_SOCKET
    }
}

/// A query in flight.
struct Pending {
    id: Id,
    host: String,
    /// The lookup's family: 0 when this is its A or AAAA half (see [`Join`]).
    family: u8,
    name: Name,
    rtype: RecordType,
    /// Tries made so far (the current one included).
    tries: usize,
    /// The current try's socket slot and sequence number.
    slot: usize,
    seq: u32,
    /// Why the last try failed, reported if it was the last.
    last_error: DnsErrorCode,
    /// A negative answer goes to hickory, which tries the search list next.
    search_after: bool,
}

/// The exchange. See the module docs.
#[derive(Default)]
pub(crate) struct Stub {
    /// Loaded on first use and after each reconfiguration; `Some(None)`: nothing to ask.
    plan: Option<Option<Plan>>,
    sockets: Vec<Option<Sock>>,
    pending: HashMap<u16, Pending>,
    /// Lookups of both families with a half still in flight.
    joins: HashMap<Id, Join>,
    seq: u32,
    buf: Vec<u8>,
}

impl Stub {
    /// Forgets the plan (the servers changed); queries in flight finish on their sockets, and
    /// their next tries, if any, follow the new plan.
    pub fn configure(&mut self) {
        self.plan = None;
        for s in &mut self.sockets {
            match s {
                // Closing a socket takes it out of the poll too.
                Some(sock) if sock.waiting == 0 => *s = None,
                Some(sock) => sock.sent = QUERIES_PER_SOCKET, // retired: closed after its last answer
                None => {}
            }
        }
    }

    /// Starts a lookup of `host` if it is one this exchange takes (see the module docs);
    /// false when hickory should.
    #[allow(clippy::too_many_arguments)]
    pub fn start(
        &mut self,
        id: Id,
        host: &str,
        family: u8,
        cfg: Option<&DnsConfig>,
        registry: &Registry,
        now: Instant,
        out: &mut Outcomes,
    ) -> bool {
        let rtypes: &[RecordType] = match family {
            4 => &[RecordType::A],
            6 => &[RecordType::AAAA],
            0 => &[RecordType::A, RecordType::AAAA],
            _ => return false,
        };
        if self.pending.len() + 2 > MAX_IN_FLIGHT || host.parse::<IpAddr>().is_ok() {
            return false;
        }
        let plan = match self.plan.get_or_insert_with(|| Plan::load(cfg)) {
            Some(p) if !p.servers.is_empty() => p,
            _ => return false,
        };
        let Ok(mut name) = Name::from_utf8(host) else {
            return false;
        };
        let absolute = name.is_fqdn();
        if special_use(&name) {
            return false;
        }
        let search_after = plan.search && !absolute;
        if search_after && (name.num_labels() as usize) <= plan.ndots {
            return false; // the search list comes first
        }
        name.set_fqdn(true);
        for &rtype in rtypes {
            if plan
                .hosts
                .lookup_static_host(&Query::query(name.clone(), rtype))
                .is_some()
            {
                return false;
            }
        }
        if family == 0 {
            self.joins.insert(id, Join::default());
        }
        for &rtype in rtypes {
            let qid = loop {
                let qid = Message::query().metadata.id;
                if !self.pending.contains_key(&qid) {
                    break qid;
                }
            };
            self.pending.insert(
                qid,
                Pending {
                    id,
                    host: host.to_string(),
                    family,
                    name: name.clone(),
                    rtype,
                    tries: 0,
                    slot: usize::MAX,
                    seq: 0,
                    last_error: DnsErrorCode::Timeout,
                    search_after,
                },
            );
            self.next_try(qid, registry, now, out);
        }
        true
    }

    /// Socket slot `slot` is readable: reads every datagram waiting.
    pub fn ready(&mut self, slot: usize, registry: &Registry, now: Instant, out: &mut Outcomes) {
        if self.buf.len() < MAX_DATAGRAM {
            self.buf = vec![0; MAX_DATAGRAM];
        }
        loop {
            let Some(sock) = self.sockets.get(slot).and_then(Option::as_ref) else {
                return;
            };
            match sock.udp.recv(&mut self.buf) {
                Ok(n) => {
                    if n < HEADER_LEN {
                        continue; // not even a DNS header
                    }
                    let qid = u16::from_be_bytes([self.buf[0], self.buf[1]]);
                    let verdict = match self.pending.get(&qid) {
                        Some(p) if p.slot == slot => judge(&self.buf[..n], qid, &p.name, p.rtype),
                        _ => continue, // late (a try that timed out) or foreign
                    };
                    self.settle(qid, verdict, registry, now, out);
                }
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) if e.kind() == ErrorKind::ConnectionRefused => {
                    // ICMP unreachable: every query whose try went out here moves on.
                    let here: Vec<u16> = self
                        .pending
                        .iter()
                        .filter(|(_, p)| p.slot == slot)
                        .map(|(q, _)| *q)
                        .collect();
                    for qid in here {
                        let v = Verdict::NextServer(DnsErrorCode::ConnRefused);
                        self.settle(qid, v, registry, now, out);
                    }
                }
                Err(_) => break, // WouldBlock, or nothing more to learn from this socket
            }
        }
        self.release_idle(slot, registry);
    }

    /// A try's deadline passed: the query moves to its next try (unless it was answered or has
    /// moved on since).
    pub fn timed_out(
        &mut self,
        qid: u16,
        seq: u32,
        registry: &Registry,
        now: Instant,
        out: &mut Outcomes,
    ) {
        if self.pending.get(&qid).is_some_and(|p| p.seq == seq) {
            let slot = self.pending.get(&qid).map_or(usize::MAX, |p| p.slot);
            self.settle(
                qid,
                Verdict::NextServer(DnsErrorCode::Timeout),
                registry,
                now,
                out,
            );
            self.release_idle(slot, registry);
        }
    }

    /// Acts on a verdict about query `qid`'s current try.
    fn settle(
        &mut self,
        qid: u16,
        verdict: Verdict,
        registry: &Registry,
        now: Instant,
        out: &mut Outcomes,
    ) {
        if verdict == Verdict::Foreign {
            return;
        }
        let Some(p) = self.pending.get_mut(&qid) else {
            return;
        };
        if let Some(s) = self.sockets.get_mut(p.slot).and_then(Option::as_mut) {
            s.waiting = s.waiting.saturating_sub(1);
        }
        p.slot = usize::MAX;
        if let Verdict::NextServer(code) = verdict {
            p.last_error = code;
            return self.next_try(qid, registry, now, out);
        }
        let Some(p) = self.pending.remove(&qid) else {
            return;
        };
        let end = match verdict {
            Verdict::Addrs(addrs, ttl) => Conclusion::Addrs(addrs, ttl),
            // TCP, or the search list: hickory starts the lookup over.
            Verdict::Truncated => Conclusion::HandOff,
            Verdict::Negative(..) if p.search_after => Conclusion::HandOff,
            Verdict::Negative(code, keep) => Conclusion::Failed(code, keep),
            Verdict::NextServer(_) | Verdict::Foreign => return,
        };
        self.conclude(p, end, now, out);
    }

    /// Query `p` ended: its lookup's answer, or half of it.
    fn conclude(&mut self, p: Pending, end: Conclusion, now: Instant, out: &mut Outcomes) {
        let end = if p.family == 0 {
            let Some(join) = self.joins.get_mut(&p.id) else {
                return; // the other half ended the lookup already
            };
            match p.rtype {
                RecordType::A => join.v4 = Some(end),
                _ => join.v6 = Some(end),
            }
            let handed_off = matches!(join.v4, Some(Conclusion::HandOff))
                || matches!(join.v6, Some(Conclusion::HandOff));
            if (join.v4.is_none() || join.v6.is_none()) && !handed_off {
                return; // wait for the other half
            }
            let join = self.joins.remove(&p.id).unwrap_or_default();
            match (join.v4, join.v6) {
                (Some(v4), Some(v6)) => Join::merge(v4, v6),
                _ => Conclusion::HandOff, // one half asked for hickory: it does both
            }
        } else {
            end
        };
        match end {
            Conclusion::Addrs(addrs, ttl) => {
                let until = now + Duration::from_secs(u64::from(ttl.min(MAX_TTL)));
                out.answers.push(Answer {
                    id: p.id,
                    result: Ok(DnsAnswer::Addrs(addrs)),
                    valid_until: Some(until),
                });
            }
            Conclusion::HandOff => out.handoffs.push((p.id, p.host, p.family)),
            Conclusion::Failed(code, keep) => out.answers.push(Answer {
                id: p.id,
                result: Err(lookup_failure(&p.host, code)),
                // A negative answer is kept as long as its zone's SOA says (RFC 2308).
                valid_until: keep.map(|t| now + Duration::from_secs(u64::from(t.min(MAX_TTL)))),
            }),
        }
    }

    /// Sends query `qid`'s next try, or reports its last error when no try is left.
    fn next_try(&mut self, qid: u16, registry: &Registry, now: Instant, out: &mut Outcomes) {
        let Some(Some(plan)) = &self.plan else {
            return self.fail(qid, now, out);
        };
        let (tries, timeout) = (plan.tries(), plan.timeout);
        loop {
            let Some(p) = self.pending.get(&qid) else {
                return;
            };
            if p.tries >= tries {
                return self.fail(qid, now, out);
            }
            let server = match &self.plan {
                Some(Some(plan)) => plan.servers[p.tries % plan.servers.len()],
                _ => return self.fail(qid, now, out),
            };
            let Ok(bytes) = encode(qid, &p.name, p.rtype) else {
                return self.fail(qid, now, out);
            };
            let sent = self.socket_for(server, registry).and_then(|slot| {
                let s = self.sockets[slot].as_mut()?;
                s.udp.send(&bytes).ok()?;
                s.sent += 1;
                s.waiting += 1;
                Some(slot)
            });
            self.seq = self.seq.wrapping_add(1);
            let seq = self.seq;
            let Some(p) = self.pending.get_mut(&qid) else {
                return;
            };
            p.tries += 1;
            match sent {
                Some(slot) => {
                    p.slot = slot;
                    p.seq = seq;
                    out.arms.push((now + timeout, qid, seq));
                    return;
                }
                None => p.last_error = DnsErrorCode::ConnRefused, // and on to the next server
            }
        }
    }

    fn fail(&mut self, qid: u16, now: Instant, out: &mut Outcomes) {
        if let Some(p) = self.pending.remove(&qid) {
            let code = p.last_error;
            self.conclude(p, Conclusion::Failed(code, None), now, out);
        }
    }

    /// The slot of a socket connected to `server` that may take another query, opened if need be.
    fn socket_for(&mut self, server: SocketAddr, registry: &Registry) -> Option<usize> {
        let found = self.sockets.iter().position(|s| {
            s.as_ref()
                .is_some_and(|s| s.server == server && !s.retired())
        });
        if found.is_some() {
            return found;
        }
        let slot = match self.sockets.iter().position(Option::is_none) {
            Some(free) => free,
            None if self.sockets.len() < MAX_SOCKETS => {
                self.sockets.push(None);
                self.sockets.len() - 1
            }
            None => return None,
        };
        let mut udp = UdpSocket::from_std(bind_random_port(server).ok()?);
        udp.connect(server).ok()?;
        registry
            .register(&mut udp, token(slot), Interest::READABLE)
            .ok()?;
        self.sockets[slot] = Some(Sock {
            udp,
            server,
            sent: 0,
            waiting: 0,
        });
        Some(slot)
    }

    /// Closes socket `slot` once it is retired and no try waits on it.
    fn release_idle(&mut self, slot: usize, registry: &Registry) {
        if let Some(s) = self.sockets.get_mut(slot) {
            if s.as_ref().is_some_and(|s| s.retired() && s.waiting == 0) {
                if let Some(mut sock) = s.take() {
                    let _ = registry.deregister(&mut sock.udp);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_map_back_to_slots() {
        for slot in [0, 1, MAX_SOCKETS - 1] {
            assert_eq!(slot_of(token(slot)), Some(slot));
        }
        assert_eq!(slot_of(Token(5)), None);
        assert_eq!(slot_of(Token(usize::MAX)), None);
        assert_eq!(slot_of(token(MAX_SOCKETS)), None);
    }
}
