//! The exchange's messages: the query it sends, what an answer says about it (and whether it is
//! an answer to it at all), and the names it leaves to hickory.

use std::net::IpAddr;

use hickory_resolver::proto::op::{Message, MessageType, Query, ResponseCode};
use hickory_resolver::proto::rr::{DNSClass, Name, RData, RecordType};

use crate::dns::DnsErrorCode;

/// What a datagram says about its query.
#[derive(Debug, PartialEq)]
pub(super) enum Verdict {
    Addrs(Vec<IpAddr>, u32),
    /// NXDOMAIN or no record of the type; with how long it may be believed (RFC 2308: the SOA
    /// in the authority section, its TTL bounded by its MINIMUM), if the server said.
    Negative(DnsErrorCode, Option<u32>),
    /// This server failed; the next one may not.
    NextServer(DnsErrorCode),
    /// The answer did not fit a datagram.
    Truncated,
    /// Not an answer to this query: dropped.
    Foreign,
}

/// Names hickory answers by rules of its own (RFC 6761) rather than by asking.
pub(super) fn special_use(name: &Name) -> bool {
    if name.is_localhost() {
        return true;
    }
    let Some(last) = name.iter().next_back() else {
        return true; // the root
    };
    ["localhost", "invalid", "local", "onion", "arpa"]
        .iter()
        .any(|s| last.eq_ignore_ascii_case(s.as_bytes()))
}

/// The query for `name`/`rtype` with id `qid`, recursion desired.
pub(super) fn encode(
    qid: u16,
    name: &Name,
    rtype: RecordType,
) -> Result<Vec<u8>, hickory_resolver::proto::ProtoError> {
    let mut m = Message::query();
    m.metadata.id = qid;
    m.metadata.recursion_desired = true;
    m.add_query(Query::query(name.clone(), rtype));
    m.to_vec()
}

/// How long a negative answer holds: the SOA of its authority section, TTL and MINIMUM the
/// lower (RFC 2308 §5); None without one (then it is not kept).
fn negative_ttl(m: &Message) -> Option<u32> {
    m.authorities.iter().find_map(|r| match &r.data {
        RData::SOA(soa) => Some(r.ttl.min(soa.minimum)),
        _ => None,
    })
}

/// What datagram `bytes` says about the query with id `qid` for `name`/`rtype`.
pub(super) fn judge(bytes: &[u8], qid: u16, name: &Name, rtype: RecordType) -> Verdict {
    let Ok(m) = Message::from_vec(bytes) else {
        return Verdict::Foreign;
    };
    let asked = m.queries.len() == 1
        && m.queries[0].name() == name
        && m.queries[0].query_type() == rtype
        && m.queries[0].query_class() == DNSClass::IN;
    if m.metadata.id != qid || m.metadata.message_type != MessageType::Response || !asked {
        return Verdict::Foreign;
    }
    if m.metadata.truncation {
        return Verdict::Truncated;
    }
    match m.metadata.response_code {
        ResponseCode::NoError => {
            let mut addrs = Vec::new();
            let mut ttl = u32::MAX;
            for r in &m.answers {
                match &r.data {
                    RData::A(a) if rtype == RecordType::A => addrs.push(IpAddr::V4(a.0)),
                    RData::AAAA(a) if rtype == RecordType::AAAA => addrs.push(IpAddr::V6(a.0)),
                    RData::CNAME(_) => {}
                    _ => continue,
                }
                ttl = ttl.min(r.ttl);
            }
            if addrs.is_empty() {
                Verdict::Negative(DnsErrorCode::NoData, negative_ttl(&m))
            } else {
                Verdict::Addrs(addrs, ttl)
            }
        }
        ResponseCode::NXDomain => Verdict::Negative(DnsErrorCode::NotFound, negative_ttl(&m)),
        ResponseCode::Refused => Verdict::NextServer(DnsErrorCode::ConnRefused),
        _ => Verdict::NextServer(DnsErrorCode::ServFail),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hickory_resolver::proto::op::OpCode;
    use hickory_resolver::proto::rr::rdata::{A, CNAME, SOA};
    use hickory_resolver::proto::rr::Record;

    /// A query: its name (absolute) and type.
    struct Asked {
        name: Name,
        rtype: RecordType,
    }

    fn asked(host: &str, rtype: RecordType) -> Asked {
        let mut name = Name::from_utf8(host).unwrap();
        name.set_fqdn(true);
        Asked { name, rtype }
    }

    fn response(qid: u16, p: &Asked, code: ResponseCode, answers: Vec<Record>) -> Vec<u8> {
        let mut m = Message::response(qid, OpCode::Query);
        m.add_query(Query::query(p.name.clone(), p.rtype));
        m.metadata.response_code = code;
        m.add_answers(answers);
        m.to_vec().unwrap()
    }

    fn judge_for(bytes: &[u8], qid: u16, p: &Asked) -> Verdict {
        judge(bytes, qid, &p.name, p.rtype)
    }

    #[test]
    fn addresses_behind_a_cname_with_the_shortest_ttl() {
        let p = asked("alias.test", RecordType::A);
        let target = Name::from_utf8("target.test.").unwrap();
        let answers = vec![
            Record::from_rdata(p.name.clone(), 300, RData::CNAME(CNAME(target.clone()))),
            Record::from_rdata(target.clone(), 60, RData::A(A::new(10, 0, 0, 1))),
            Record::from_rdata(target, 120, RData::A(A::new(10, 0, 0, 2))),
        ];
        let bytes = response(7, &p, ResponseCode::NoError, answers);
        assert_eq!(
            judge_for(&bytes, 7, &p),
            Verdict::Addrs(
                vec![IpAddr::from([10, 0, 0, 1]), IpAddr::from([10, 0, 0, 2])],
                60
            )
        );
    }

    #[test]
    fn negative_and_failing_answers() {
        let p = asked("gone.test", RecordType::A);
        let nx = response(7, &p, ResponseCode::NXDomain, vec![]);
        assert_eq!(
            judge_for(&nx, 7, &p),
            Verdict::Negative(DnsErrorCode::NotFound, None)
        );
        // With the zone's SOA: kept for the lower of its TTL and MINIMUM.
        let mut m = Message::from_vec(&nx).unwrap();
        let zone = Name::from_utf8("test.").unwrap();
        let soa = SOA::new(zone.clone(), zone.clone(), 1, 3600, 600, 86400, 30);
        m.add_authority(Record::from_rdata(zone, 300, RData::SOA(soa)));
        assert_eq!(
            judge_for(&m.to_vec().unwrap(), 7, &p),
            Verdict::Negative(DnsErrorCode::NotFound, Some(30))
        );
        let empty = response(7, &p, ResponseCode::NoError, vec![]);
        assert_eq!(
            judge_for(&empty, 7, &p),
            Verdict::Negative(DnsErrorCode::NoData, None)
        );
        let fail = response(7, &p, ResponseCode::ServFail, vec![]);
        assert_eq!(
            judge_for(&fail, 7, &p),
            Verdict::NextServer(DnsErrorCode::ServFail)
        );
        let refused = response(7, &p, ResponseCode::Refused, vec![]);
        assert_eq!(
            judge_for(&refused, 7, &p),
            Verdict::NextServer(DnsErrorCode::ConnRefused)
        );
    }

    #[test]
    fn answers_to_something_else_are_dropped() {
        let p = asked("here.test", RecordType::A);
        let other = asked("elsewhere.test", RecordType::A);
        let a = vec![Record::from_rdata(
            other.name.clone(),
            60,
            RData::A(A::new(10, 0, 0, 9)),
        )];
        // Another name, another id, a query rather than a response, garbage.
        assert_eq!(
            judge_for(&response(7, &other, ResponseCode::NoError, a), 7, &p),
            Verdict::Foreign
        );
        assert_eq!(
            judge_for(&response(8, &p, ResponseCode::NoError, vec![]), 7, &p),
            Verdict::Foreign
        );
        assert_eq!(
            judge_for(&encode(7, &p.name, RecordType::A).unwrap(), 7, &p),
            Verdict::Foreign
        );
        assert_eq!(judge_for(b"\x00\x07garbage", 7, &p), Verdict::Foreign);
        let aaaa = asked("here.test", RecordType::AAAA);
        assert_eq!(
            judge_for(&response(7, &aaaa, ResponseCode::NoError, vec![]), 7, &p),
            Verdict::Foreign
        );
    }

    #[test]
    fn special_use_names_are_left_to_hickory() {
        for n in [
            "localhost",
            "a.localhost",
            "x.invalid",
            "printer.local",
            "1.0.0.127.in-addr.arpa",
        ] {
            assert!(special_use(&Name::from_utf8(n).unwrap()), "{n}");
        }
        assert!(!special_use(&Name::from_utf8("example.com").unwrap()));
    }
}
