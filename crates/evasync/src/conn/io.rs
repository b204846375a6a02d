//! The `io` layer of a connection: the OS stream under it — a TCP stream, a Unix stream socket,
//! or one end of a child process's pipe — with one face, so the layers above never ask which
//! one they hold.

use std::io::{self, IoSlice, Read, Write};
use std::net::Shutdown;
use std::time::Duration;

use mio::{Interest, Registry, Token};
use socket2::{SockRef, TcpKeepalive};

use crate::net::addr::Endpoint;

/// The OS stream of a connection.
#[derive(Debug)]
pub(crate) enum Io {
    /// A TCP stream.
    Tcp(mio::net::TcpStream),
    /// A Unix stream socket.
    #[cfg(unix)]
    Unix(mio::net::UnixStream),
    /// The write end of a pipe to a child's stdin (None once closed: the child reads EOF).
    #[cfg(unix)]
    PipeIn(Option<mio::unix::pipe::Sender>),
    /// The read end of a pipe from a child's stdout or stderr.
    #[cfg(unix)]
    PipeOut(mio::unix::pipe::Receiver),
}

/// The error for an operation a pipe end cannot do (reading the child's stdin).
#[cfg(unix)]
fn one_way() -> io::Error {
    io::Error::from_raw_os_error(libc::EBADF)
}

impl Io {
    /// Reads into `buf` (non-blocking).
    pub fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Io::Tcp(s) => s.read(buf),
            #[cfg(unix)]
            Io::Unix(s) => s.read(buf),
            #[cfg(unix)]
            Io::PipeOut(r) => r.read(buf),
            #[cfg(unix)]
            Io::PipeIn(_) => Err(io::Error::from(io::ErrorKind::WouldBlock)),
        }
    }

    /// Writes `buf` (non-blocking).
    pub fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Io::Tcp(s) => s.write(buf),
            #[cfg(unix)]
            Io::Unix(s) => s.write(buf),
            #[cfg(unix)]
            Io::PipeIn(Some(w)) => w.write(buf),
            #[cfg(unix)]
            Io::PipeIn(None) => Err(io::Error::from_raw_os_error(libc::EPIPE)),
            #[cfg(unix)]
            Io::PipeOut(_) => Err(one_way()),
        }
    }

    /// Writes several slices in one call (`writev`).
    pub fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        match self {
            Io::Tcp(s) => s.write_vectored(bufs),
            #[cfg(unix)]
            Io::Unix(s) => s.write_vectored(bufs),
            #[cfg(unix)]
            Io::PipeIn(Some(w)) => w.write_vectored(bufs),
            #[cfg(unix)]
            Io::PipeIn(None) => Err(io::Error::from_raw_os_error(libc::EPIPE)),
            #[cfg(unix)]
            Io::PipeOut(_) => Err(one_way()),
        }
    }

    /// No more writes: FIN on a socket, closing the pipe to a child (it reads EOF; the poll
    /// forgets a descriptor when it closes).
    pub fn shutdown_write(&mut self) {
        match self {
            Io::Tcp(s) => {
                let _ = s.shutdown(Shutdown::Write);
            }
            #[cfg(unix)]
            Io::Unix(s) => {
                let _ = s.shutdown(Shutdown::Write);
            }
            #[cfg(unix)]
            Io::PipeIn(w) => drop(w.take()),
            #[cfg(unix)]
            Io::PipeOut(_) => {}
        }
    }

    /// Makes the next close a reset (RST) instead of a FIN: `SO_LINGER` with a zero timeout.
    /// Unix sockets and pipes have no reset: the peer sees EOF.
    pub fn reset_on_close(&self) {
        if let Io::Tcp(s) = self {
            let _ = SockRef::from(s).set_linger(Some(Duration::ZERO));
        }
    }

    /// `TCP_NODELAY` and keepalive as asked (TCP only). An option the platform refuses must
    /// not fail the connection, so failures are ignored.
    pub fn apply_options(&self, no_delay: bool, keep_alive: Option<Duration>) {
        if let Io::Tcp(s) = self {
            if no_delay {
                let _ = s.set_nodelay(true);
            }
            if let Some(idle) = keep_alive {
                let _ = SockRef::from(s).set_tcp_keepalive(&TcpKeepalive::new().with_time(idle));
            }
        }
    }

    /// How a non-blocking connect ended once readiness was reported: `None` when it has not (a
    /// spurious wake-up), `Some(None)` connected, `Some(Some(e))` failed.
    pub fn connect_outcome(&self) -> Option<Option<io::Error>> {
        match self {
            Io::Tcp(s) => connect_result(s.take_error(), || s.peer_addr().map(drop)),
            #[cfg(unix)]
            Io::Unix(s) => connect_result(s.take_error(), || s.peer_addr().map(drop)),
            #[cfg(unix)]
            Io::PipeIn(_) | Io::PipeOut(_) => Some(None),
        }
    }

    /// The peer's end.
    pub fn peer_addr(&self) -> Option<Endpoint> {
        match self {
            Io::Tcp(s) => s.peer_addr().ok().map(Endpoint::Inet),
            #[cfg(unix)]
            Io::Unix(s) => s
                .peer_addr()
                .ok()
                .map(|a| Endpoint::Unix(crate::net::unix::path_of(&a))),
            #[cfg(unix)]
            Io::PipeIn(_) | Io::PipeOut(_) => Some(Endpoint::Unix(Vec::new())),
        }
    }

    /// Our end.
    pub fn local_addr(&self) -> Option<Endpoint> {
        match self {
            Io::Tcp(s) => s.local_addr().ok().map(Endpoint::Inet),
            #[cfg(unix)]
            Io::Unix(s) => s
                .local_addr()
                .ok()
                .map(|a| Endpoint::Unix(crate::net::unix::path_of(&a))),
            #[cfg(unix)]
            Io::PipeIn(_) | Io::PipeOut(_) => Some(Endpoint::Unix(Vec::new())),
        }
    }

    /// The OS descriptor (socket handle on Windows); -1 for a closed pipe.
    pub fn fd(&self) -> i64 {
        match self {
            Io::Tcp(s) => os_handle(s),
            #[cfg(unix)]
            Io::Unix(s) => os_handle(s),
            #[cfg(unix)]
            Io::PipeIn(w) => w.as_ref().map_or(-1, os_handle),
            #[cfg(unix)]
            Io::PipeOut(r) => os_handle(r),
        }
    }

    /// Registers with the poll under `token` (edge-triggered): reads and writes for sockets,
    /// the one direction a pipe end has.
    pub fn register(&mut self, registry: &Registry, token: Token) -> io::Result<()> {
        let both = Interest::READABLE | Interest::WRITABLE;
        match self {
            Io::Tcp(s) => registry.register(s, token, both),
            #[cfg(unix)]
            Io::Unix(s) => registry.register(s, token, both),
            #[cfg(unix)]
            Io::PipeIn(Some(w)) => registry.register(w, token, Interest::WRITABLE),
            #[cfg(unix)]
            Io::PipeIn(None) => Ok(()),
            #[cfg(unix)]
            Io::PipeOut(r) => registry.register(r, token, Interest::READABLE),
        }
    }

    /// Leaves the poll (the stream closes when dropped).
    pub fn deregister(&mut self, registry: &Registry) {
        let _ = match self {
            Io::Tcp(s) => registry.deregister(s),
            #[cfg(unix)]
            Io::Unix(s) => registry.deregister(s),
            #[cfg(unix)]
            Io::PipeIn(Some(w)) => registry.deregister(w),
            #[cfg(unix)]
            Io::PipeIn(None) => Ok(()),
            #[cfg(unix)]
            Io::PipeOut(r) => registry.deregister(r),
        };
    }
}

/// The OS descriptor of a socket, as a number for the application.
pub(crate) fn os_handle<S>(s: &S) -> i64
where
    S: OsHandle,
{
    s.os_handle()
}

/// Sockets whose OS handle can be read as a number.
pub(crate) trait OsHandle {
    fn os_handle(&self) -> i64;
}

#[cfg(unix)]
impl<T: std::os::fd::AsRawFd> OsHandle for T {
    fn os_handle(&self) -> i64 {
        i64::from(self.as_raw_fd())
    }
}

#[cfg(windows)]
impl<T: std::os::windows::io::AsRawSocket> OsHandle for T {
    fn os_handle(&self) -> i64 {
        self.as_raw_socket() as i64
    }
}

/// [`Io::connect_outcome`] for a stream socket: its pending error (`SO_ERROR`) if any, else
/// whether it has a peer (`NotConnected`: the connect is still under way).
fn connect_result(
    pending: io::Result<Option<io::Error>>,
    peer: impl FnOnce() -> io::Result<()>,
) -> Option<Option<io::Error>> {
    match pending {
        Ok(Some(e)) | Err(e) => Some(Some(e)),
        Ok(None) => match peer() {
            Ok(()) => Some(None),
            Err(e) if e.kind() == io::ErrorKind::NotConnected => None,
            Err(e) => Some(Some(e)),
        },
    }
}
