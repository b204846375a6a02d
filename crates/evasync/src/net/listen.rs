//! Binding listeners. Binding happens on the caller's thread so that a server is listening (and
//! its port known) when the call that made it returns; the reactor then takes the socket over.

use std::io;
use std::net::{SocketAddr, TcpListener};

use socket2::{Domain, Protocol, Socket, Type};

use crate::config::DEFAULT_BACKLOG;

/// A bound, listening socket, ready to be served by the reactor ([`crate::Handle::serve`],
/// [`crate::Handle::http_serve`]).
#[derive(Debug)]
pub struct BoundListener {
    pub(crate) inner: TcpListener,
    /// The address it is bound to (with the real port when port 0 was asked).
    pub local: SocketAddr,
}

impl BoundListener {
    /// The OS descriptor.
    pub fn fd(&self) -> i64 {
        crate::conn::io::os_handle(&self.inner)
    }
}

/// Binds and listens on `addr`. `backlog` below 0 means the default (128). `reuse_address`
/// allows binding while old connections linger in TIME_WAIT; `reuse_port` lets several listeners
/// share the port (Linux, BSD). An IPv6 wildcard (`::`) also accepts IPv4 connections.
pub fn bind_listener(
    addr: SocketAddr,
    backlog: i32,
    reuse_address: bool,
    reuse_port: bool,
) -> io::Result<BoundListener> {
    bind_listener_with(addr, backlog, reuse_address, reuse_port, false)
}

/// As [`bind_listener`]; `ipv6_only` keeps an IPv6 socket to IPv6, so that `0.0.0.0` and `::`
/// can be bound side by side on one port (asyncio's `create_server(host=None)`).
pub fn bind_listener_with(
    addr: SocketAddr,
    backlog: i32,
    reuse_address: bool,
    reuse_port: bool,
    ipv6_only: bool,
) -> io::Result<BoundListener> {
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
    if addr.is_ipv6() {
        // '::' means every address, IPv4 included, as in Node, unless asked otherwise.
        let _ = socket.set_only_v6(ipv6_only);
    }
    if reuse_address {
        socket.set_reuse_address(true)?;
    }
    #[cfg(all(unix, not(any(target_os = "solaris", target_os = "illumos"))))]
    if reuse_port {
        socket.set_reuse_port(true)?;
    }
    #[cfg(not(all(unix, not(any(target_os = "solaris", target_os = "illumos")))))]
    let _ = reuse_port;
    socket.set_nonblocking(true)?;
    socket.bind(&addr.into())?;
    socket.listen(if backlog < 0 {
        DEFAULT_BACKLOG
    } else {
        backlog
    })?;
    let inner: TcpListener = socket.into();
    let local = inner.local_addr()?;
    Ok(BoundListener { inner, local })
}

/// Takes over an inherited listening descriptor (systemd socket activation, a parent process).
///
/// # Safety
/// `fd` must be an open, listening TCP socket that nothing else will use or close: ownership
/// passes to the returned listener.
#[cfg(unix)]
pub unsafe fn listener_from_fd(fd: i32) -> io::Result<BoundListener> {
    use std::os::fd::FromRawFd;
    // SAFETY: the caller guarantees `fd` is an owned, listening TCP socket (see above).
    let inner = unsafe { TcpListener::from_raw_fd(fd) };
    inner.set_nonblocking(true)?;
    let local = inner.local_addr()?;
    Ok(BoundListener { inner, local })
}
