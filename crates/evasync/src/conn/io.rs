//! The `io` layer of a connection: the OS stream under it. TCP now; Unix stream sockets and
//! child-process pipe ends are further variants with the same face, so the layers above never
//! ask which one they hold.

use std::io::{self, IoSlice, Read, Write};
use std::net::{Shutdown, SocketAddr};
use std::time::Duration;

use mio::{Interest, Registry, Token};
use socket2::{SockRef, TcpKeepalive};

/// The OS stream of a connection.
#[derive(Debug)]
pub(crate) enum Io {
    /// A TCP stream.
    Tcp(mio::net::TcpStream),
}

impl Io {
    /// Reads into `buf` (non-blocking).
    pub fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Io::Tcp(s) => s.read(buf),
        }
    }

    /// Writes `buf` (non-blocking).
    pub fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Io::Tcp(s) => s.write(buf),
        }
    }

    /// Writes several slices in one call (`writev`).
    pub fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        match self {
            Io::Tcp(s) => s.write_vectored(bufs),
        }
    }

    /// Sends FIN: no more writes.
    pub fn shutdown_write(&self) {
        match self {
            Io::Tcp(s) => {
                let _ = s.shutdown(Shutdown::Write);
            }
        }
    }

    /// Makes the next close a reset (RST) instead of a FIN: `SO_LINGER` with a zero timeout.
    pub fn reset_on_close(&self) {
        match self {
            Io::Tcp(s) => {
                let _ = SockRef::from(s).set_linger(Some(Duration::ZERO));
            }
        }
    }

    /// `TCP_NODELAY` and keepalive as asked. An option the platform refuses must not fail the
    /// connection, so failures are ignored.
    pub fn apply_options(&self, no_delay: bool, keep_alive: Option<Duration>) {
        match self {
            Io::Tcp(s) => {
                if no_delay {
                    let _ = s.set_nodelay(true);
                }
                if let Some(idle) = keep_alive {
                    let _ =
                        SockRef::from(s).set_tcp_keepalive(&TcpKeepalive::new().with_time(idle));
                }
            }
        }
    }

    /// How a non-blocking connect ended once readiness was reported: `None` when it has not (a
    /// spurious wake-up), `Some(None)` connected, `Some(Some(e))` failed.
    pub fn connect_outcome(&self) -> Option<Option<io::Error>> {
        match self {
            Io::Tcp(s) => match s.take_error() {
                Ok(Some(e)) | Err(e) => Some(Some(e)),
                Ok(None) => match s.peer_addr() {
                    Ok(_) => Some(None),
                    Err(e) if e.kind() == io::ErrorKind::NotConnected => None,
                    Err(e) => Some(Some(e)),
                },
            },
        }
    }

    /// The peer's address.
    pub fn peer_addr(&self) -> Option<SocketAddr> {
        match self {
            Io::Tcp(s) => s.peer_addr().ok(),
        }
    }

    /// Our address.
    pub fn local_addr(&self) -> Option<SocketAddr> {
        match self {
            Io::Tcp(s) => s.local_addr().ok(),
        }
    }

    /// The OS descriptor (socket handle on Windows).
    pub fn fd(&self) -> i64 {
        match self {
            Io::Tcp(s) => os_handle(s),
        }
    }

    /// Registers with the poll under `token` for reads and writes (edge-triggered).
    pub fn register(&mut self, registry: &Registry, token: Token) -> io::Result<()> {
        let interest = Interest::READABLE | Interest::WRITABLE;
        match self {
            Io::Tcp(s) => registry.register(s, token, interest),
        }
    }

    /// Leaves the poll (the stream closes when dropped).
    pub fn deregister(&mut self, registry: &Registry) {
        match self {
            Io::Tcp(s) => {
                let _ = registry.deregister(s);
            }
        }
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
