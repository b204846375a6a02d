//! Lookups of both families: an A and an AAAA query, one answer.

use std::net::IpAddr;

use crate::dns::DnsErrorCode;

/// How one query ended.
#[derive(Debug, PartialEq)]
pub(super) enum Conclusion {
    Addrs(Vec<IpAddr>, u32),
    Failed(DnsErrorCode),
    /// hickory starts the lookup over.
    HandOff,
}

/// A lookup of both families: its A and AAAA queries go out together (as getaddrinfo's do) and
/// it ends when both have.
#[derive(Default)]
pub(super) struct Join {
    pub v4: Option<Conclusion>,
    pub v6: Option<Conclusion>,
}

impl Join {
    /// IPv4 addresses first, then IPv6; when neither half found any, the error that says most.
    pub fn merge(v4: Conclusion, v6: Conclusion) -> Conclusion {
        use Conclusion::*;
        match (v4, v6) {
            (HandOff, _) | (_, HandOff) => HandOff,
            (Addrs(mut a, t4), Addrs(b, t6)) => {
                a.extend(b);
                Addrs(a, t4.min(t6))
            }
            (Addrs(a, t), Failed(_)) | (Failed(_), Addrs(a, t)) => Addrs(a, t),
            (Failed(c4), Failed(c6)) => Failed(match (c4, c6) {
                (DnsErrorCode::NotFound, _) | (_, DnsErrorCode::NotFound) => DnsErrorCode::NotFound,
                (DnsErrorCode::NoData, other) => other,
                (c4, _) => c4,
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv6Addr;

    #[test]
    fn both_families_merge_ipv4_first() {
        use Conclusion::*;
        let v4 = || Addrs(vec![IpAddr::from([10, 0, 0, 1])], 60);
        let v6 = || Addrs(vec![IpAddr::from(Ipv6Addr::LOCALHOST)], 30);
        assert_eq!(
            Join::merge(v4(), v6()),
            Addrs(
                vec![
                    IpAddr::from([10, 0, 0, 1]),
                    IpAddr::from(Ipv6Addr::LOCALHOST)
                ],
                30
            )
        );
        let nodata = || Failed(DnsErrorCode::NoData);
        assert_eq!(Join::merge(nodata(), v6()), v6());
        assert_eq!(Join::merge(v4(), Failed(DnsErrorCode::Timeout)), v4());
        assert_eq!(Join::merge(nodata(), nodata()), nodata());
        assert_eq!(
            Join::merge(nodata(), Failed(DnsErrorCode::Timeout)),
            Failed(DnsErrorCode::Timeout)
        );
        assert_eq!(
            Join::merge(
                Failed(DnsErrorCode::ServFail),
                Failed(DnsErrorCode::NotFound)
            ),
            Failed(DnsErrorCode::NotFound)
        );
        assert_eq!(Join::merge(v4(), HandOff), HandOff);
    }
}
