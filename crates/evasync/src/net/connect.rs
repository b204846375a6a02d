//! Starting non-blocking connects, and the order addresses are tried in (RFC 8305).

use std::io;
use std::net::SocketAddr;

use socket2::{Domain, Protocol, Socket, Type};

use crate::conn::Io;

/// Where to connect.
#[derive(Debug, Clone)]
pub(crate) enum ConnectTarget {
    /// A host name (or IP literal) and port, resolved by the reactor.
    Host(String, u16),
    /// A Unix socket path (bytes; a leading NUL names a Linux abstract socket).
    Unix(Vec<u8>),
}

/// Starts a non-blocking TCP connect, bound first to `local` when given.
pub(crate) fn open_stream(addr: SocketAddr, local: Option<SocketAddr>) -> io::Result<Io> {
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
    socket.set_nonblocking(true)?;
    if let Some(local) = local {
        socket.bind(&local.into())?;
    }
    match socket.connect(&addr.into()) {
        Ok(()) => {}
        #[cfg(unix)]
        Err(e) if e.raw_os_error() == Some(libc::EINPROGRESS) => {}
        Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
        Err(e) => return Err(e),
    }
    Ok(Io::Tcp(mio::net::TcpStream::from_std(socket.into())))
}

/// Orders addresses as RFC 8305 asks: IPv6 first when there is one, the families alternating.
/// Returns them last-first, ready to be popped.
pub(crate) fn attempt_order(mut addrs: Vec<SocketAddr>) -> Vec<SocketAddr> {
    addrs.sort_by_key(|a| a.is_ipv4());
    let mut ordered = interleave_families(addrs);
    ordered.reverse();
    ordered
}

/// Alternates families, starting with the first address's.
fn interleave_families(addrs: Vec<SocketAddr>) -> Vec<SocketAddr> {
    let first_v6 = addrs.first().is_some_and(|a| a.is_ipv6());
    let (mut a, mut b): (Vec<_>, Vec<_>) = addrs.into_iter().partition(|x| x.is_ipv6() == first_v6);
    a.reverse();
    b.reverse();
    let mut out = Vec::with_capacity(a.len() + b.len());
    loop {
        match (a.pop(), b.pop()) {
            (None, None) => break,
            (x, y) => out.extend(x.into_iter().chain(y)),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn families_alternate_starting_with_the_first() {
        let v4 = |n: u8| SocketAddr::from(([10, 0, 0, n], 80));
        let v6 = |n: u16| SocketAddr::from(([0, 0, 0, 0, 0, 0, 0, n], 80));
        let out = interleave_families(vec![v6(1), v6(2), v6(3), v4(1)]);
        assert_eq!(out, vec![v6(1), v4(1), v6(2), v6(3)]);
        let out = interleave_families(vec![v4(1), v4(2), v6(1)]);
        assert_eq!(out, vec![v4(1), v6(1), v4(2)]);
        let mut popped = attempt_order(vec![v4(1), v4(2), v6(1)]);
        assert_eq!(popped.pop(), Some(v6(1)), "IPv6 first");
        assert_eq!(popped.pop(), Some(v4(1)));
    }
}
