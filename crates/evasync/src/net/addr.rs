//! Where an end of a connection is: an IP address and port, or a Unix socket path.

use std::fmt;
use std::net::SocketAddr;

/// An end of a connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Endpoint {
    /// An IP address and port.
    Inet(SocketAddr),
    /// A Unix socket path as given (bytes; a Linux abstract name starts with NUL); empty for an
    /// unnamed socket (the usual client side).
    Unix(Vec<u8>),
}

impl From<SocketAddr> for Endpoint {
    fn from(a: SocketAddr) -> Endpoint {
        Endpoint::Inet(a)
    }
}

impl Endpoint {
    /// The IP address and port, for an internet end.
    pub fn inet(&self) -> Option<SocketAddr> {
        match self {
            Endpoint::Inet(a) => Some(*a),
            Endpoint::Unix(_) => None,
        }
    }
}

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Endpoint::Inet(a) => write!(f, "{a}"),
            Endpoint::Unix(p) if p.is_empty() => f.write_str("(unnamed)"),
            // Abstract names are shown as `@name`, as ss(8) and netstat do.
            Endpoint::Unix(p) if p[0] == 0 => write!(f, "@{}", String::from_utf8_lossy(&p[1..])),
            Endpoint::Unix(p) => f.write_str(&String::from_utf8_lossy(p)),
        }
    }
}
