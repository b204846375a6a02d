//! Lookups of both families: an A and an AAAA query, one answer.

use std::net::IpAddr;

use crate::dns::DnsErrorCode;

/// How one query ended.
#[derive(Debug, PartialEq)]
pub(super) enum Conclusion {
    Addrs(Vec<IpAddr>, u32),
    /// With how long the failure may be kept (negative answers only).
    Failed(DnsErrorCode, Option<u32>),
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
            (Addrs(a, t), Failed(..)) | (Failed(..), Addrs(a, t)) => Addrs(a, t),
            (Failed(c4, t4), Failed(c6, t6)) => {
                let code = match (c4, c6) {
                    (DnsErrorCode::NotFound, _) | (_, DnsErrorCode::NotFound) => {
                        DnsErrorCode::NotFound
                    }
                    (DnsErrorCode::NoData, other) => other,
                    (c4, _) => c4,
                };
                // Kept only when both halves may be: for the shorter of the two times.
                let keep = match (code, t4, t6) {
                    (DnsErrorCode::NotFound | DnsErrorCode::NoData, Some(a), Some(b)) => {
                        Some(a.min(b))
                    }
                    _ => None,
                };
                Failed(code, keep)
            }
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
        let nodata = || Failed(DnsErrorCode::NoData, None);
        assert_eq!(Join::merge(nodata(), v6()), v6());
        assert_eq!(Join::merge(v4(), Failed(DnsErrorCode::Timeout, None)), v4());
        assert_eq!(Join::merge(nodata(), nodata()), nodata());
        assert_eq!(
            Join::merge(nodata(), Failed(DnsErrorCode::Timeout, None)),
            Failed(DnsErrorCode::Timeout, None)
        );
        assert_eq!(
            Join::merge(
                Failed(DnsErrorCode::ServFail, None),
                Failed(DnsErrorCode::NotFound, None)
            ),
            Failed(DnsErrorCode::NotFound, None)
        );
        assert_eq!(Join::merge(v4(), HandOff), HandOff);
        // Negative answers are kept as long as both halves may be.
        let nx = |t| Failed(DnsErrorCode::NotFound, Some(t));
        assert_eq!(
            Join::merge(nx(30), nx(60)),
            Failed(DnsErrorCode::NotFound, Some(30))
        );
        assert_eq!(
            Join::merge(nx(30), Failed(DnsErrorCode::Timeout, None)),
            Failed(DnsErrorCode::NotFound, None)
        );
    }
}
