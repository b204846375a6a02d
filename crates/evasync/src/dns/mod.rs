//! Name resolution with hickory-resolver. The resolver runs on a tokio current-thread runtime in
//! one small thread of its own, started on the first query; answers come back to the reactor as
//! commands, so the reactor stays the single owner of state and never blocks on a lookup.
//!
//! The system configuration (`/etc/resolv.conf`, `/etc/hosts`) is the default; a loop may replace
//! the name servers ([`DnsConfig`]). hickory caches positive and negative answers by TTL.

pub(crate) mod cache;
pub(crate) mod reactor_dns;
mod resolver;

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

pub use reactor_dns::dns_error;
pub(crate) use resolver::DnsThread;

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
