//! Binding listeners. Binding happens on the caller's thread so that a server is listening (and
//! its port known) when the call that made it returns; the reactor then takes the socket over.

use std::io;
use std::net::{SocketAddr, TcpListener};

use socket2::{Domain, Protocol, Socket, Type};

use crate::config::DEFAULT_BACKLOG;
use crate::net::addr::Endpoint;

/// A bound, listening socket, ready to be served by the reactor ([`crate::Handle::serve`],
/// [`crate::Handle::http_serve`]).
#[derive(Debug)]
pub struct BoundListener {
    pub(crate) inner: ListenSocket,
    /// Where it listens (with the real port when port 0 was asked; a Unix socket's path).
    pub local: Endpoint,
}

/// The OS listening socket.
#[derive(Debug)]
pub(crate) enum ListenSocket {
    Tcp(TcpListener),
    #[cfg(unix)]
    Unix(std::os::unix::net::UnixListener, UnixFile),
}

impl BoundListener {
    /// The OS descriptor.
    pub fn fd(&self) -> i64 {
        match &self.inner {
            ListenSocket::Tcp(l) => crate::conn::io::os_handle(l),
            #[cfg(unix)]
            ListenSocket::Unix(l, _) => crate::conn::io::os_handle(l),
        }
    }
}

/// The file a Unix listener made: removed when the listener goes, unless another file has
/// taken its place since (the same path bound again by someone else is left alone).
#[cfg(unix)]
#[derive(Debug, Default)]
pub struct UnixFile {
    path: Option<std::path::PathBuf>,
    /// Device and inode of the socket file at bind time.
    id: (u64, u64),
}

#[cfg(unix)]
impl UnixFile {
    fn made(path: &[u8]) -> UnixFile {
        use std::os::unix::ffi::OsStrExt;
        use std::os::unix::fs::MetadataExt;
        if matches!(path.first(), None | Some(0)) {
            return UnixFile::default(); // abstract: no file
        }
        let p = std::path::PathBuf::from(std::ffi::OsStr::from_bytes(path));
        match std::fs::metadata(&p) {
            Ok(m) => UnixFile {
                path: Some(p),
                id: (m.dev(), m.ino()),
            },
            Err(_) => UnixFile::default(),
        }
    }

    /// Removes the socket file if it is still the one this listener made.
    pub fn remove(&mut self) {
        use std::os::unix::fs::MetadataExt;
        if let Some(p) = self.path.take() {
            if std::fs::symlink_metadata(&p).is_ok_and(|m| (m.dev(), m.ino()) == self.id) {
                let _ = std::fs::remove_file(&p);
            }
        }
    }
}

#[cfg(unix)]
impl Drop for UnixFile {
    fn drop(&mut self) {
        self.remove();
    }
}

/// Binds and listens on the Unix socket `path` (bytes; a leading NUL names a Linux abstract
/// socket). An existing file at `path` is `AddrInUse` and left alone. With `mode`, the socket
/// file gets those permission bits before it listens. The file is removed when the listener
/// goes.
#[cfg(unix)]
pub fn bind_unix_listener(
    path: &[u8],
    backlog: i32,
    mode: Option<u32>,
) -> io::Result<BoundListener> {
    let inner = crate::net::unix::bind(path, backlog, mode)?;
    let file = UnixFile::made(path);
    Ok(BoundListener {
        inner: ListenSocket::Unix(inner, file),
        local: Endpoint::Unix(path.to_vec()),
    })
}

/// Takes over an inherited listening Unix socket.
///
/// # Safety
/// `fd` must be an open, listening Unix stream socket that nothing else will use or close.
#[cfg(unix)]
pub unsafe fn unix_listener_from_fd(fd: i32) -> io::Result<BoundListener> {
    use std::os::fd::FromRawFd;
    // SAFETY: the caller guarantees `fd` is an owned, listening Unix socket (see above).
    let inner = unsafe { std::os::unix::net::UnixListener::from_raw_fd(fd) };
    inner.set_nonblocking(true)?;
    let local = inner
        .local_addr()
        .map(|a| crate::net::unix::path_of(&a))
        .unwrap_or_default();
    Ok(BoundListener {
        inner: ListenSocket::Unix(inner, UnixFile::default()),
        local: Endpoint::Unix(local),
    })
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
    Ok(BoundListener {
        inner: ListenSocket::Tcp(inner),
        local: Endpoint::Inet(local),
    })
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
    Ok(BoundListener {
        inner: ListenSocket::Tcp(inner),
        local: Endpoint::Inet(local),
    })
}
