//! Unix stream sockets: binding a listener (with the socket file's permission bits set before
//! it listens) and starting a connect. Paths are bytes as given; on Linux a leading NUL names
//! an abstract socket (no file).

use std::io;
use std::os::unix::net::{SocketAddr as UnixAddr, UnixListener};

use socket2::{Domain, SockAddr, Socket, Type};

use crate::config::DEFAULT_BACKLOG;

/// The longest path the platform takes (sun_path less its terminating NUL).
pub const MAX_PATH: usize = 107;

/// The OS address for `path` (abstract when it starts with NUL, on Linux).
pub(crate) fn address(path: &[u8]) -> io::Result<UnixAddr> {
    if path.is_empty() || path.len() > MAX_PATH {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "bad Unix socket path length",
        ));
    }
    if path[0] == 0 {
        #[cfg(any(target_os = "linux", target_os = "android"))]
        {
            use std::os::linux::net::SocketAddrExt;
            return UnixAddr::from_abstract_name(&path[1..]);
        }
        #[cfg(not(any(target_os = "linux", target_os = "android")))]
        return Err(io::Error::from(io::ErrorKind::Unsupported));
    }
    use std::os::unix::ffi::OsStrExt;
    UnixAddr::from_pathname(std::ffi::OsStr::from_bytes(path))
}

/// The bytes of a Unix socket address, as the application names it (empty when unnamed).
pub(crate) fn path_of(addr: &UnixAddr) -> Vec<u8> {
    if let Some(p) = addr.as_pathname() {
        use std::os::unix::ffi::OsStrExt;
        return p.as_os_str().as_bytes().to_vec();
    }
    #[cfg(any(target_os = "linux", target_os = "android"))]
    {
        use std::os::linux::net::SocketAddrExt;
        if let Some(name) = addr.as_abstract_name() {
            let mut v = Vec::with_capacity(name.len() + 1);
            v.push(0);
            v.extend_from_slice(name);
            return v;
        }
    }
    Vec::new()
}

/// Binds and listens on `path`. An existing file there is `AddrInUse` and is left alone (as
/// Node). With `mode`, the socket file gets those permission bits before it listens, so no
/// client can connect under the umask's bits first.
pub(crate) fn bind(path: &[u8], backlog: i32, mode: Option<u32>) -> io::Result<UnixListener> {
    let addr = address(path)?;
    let socket = Socket::new(Domain::UNIX, Type::STREAM, None)?;
    socket.set_nonblocking(true)?;
    socket.set_cloexec(true)?;
    socket.bind(&unix_sockaddr(&addr)?)?;
    if let (Some(mode), Some(p)) = (mode, addr.as_pathname()) {
        use std::os::unix::fs::PermissionsExt;
        if let Err(e) = std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode)) {
            let _ = std::fs::remove_file(p);
            return Err(e);
        }
    }
    if let Err(e) = socket.listen(if backlog < 0 {
        DEFAULT_BACKLOG
    } else {
        backlog
    }) {
        if let Some(p) = addr.as_pathname() {
            let _ = std::fs::remove_file(p);
        }
        return Err(e);
    }
    Ok(socket.into())
}

/// socket2's address for a std Unix address (path or abstract name).
fn unix_sockaddr(addr: &UnixAddr) -> io::Result<SockAddr> {
    if let Some(p) = addr.as_pathname() {
        return SockAddr::unix(p);
    }
    #[cfg(any(target_os = "linux", target_os = "android"))]
    {
        use std::os::linux::net::SocketAddrExt;
        if let Some(name) = addr.as_abstract_name() {
            return abstract_sockaddr(name);
        }
    }
    Err(io::Error::from(io::ErrorKind::InvalidInput))
}

/// A `sockaddr_un` for a Linux abstract name (socket2 builds it from a path whose first byte is
/// NUL).
#[cfg(any(target_os = "linux", target_os = "android"))]
fn abstract_sockaddr(name: &[u8]) -> io::Result<SockAddr> {
    use std::os::unix::ffi::OsStrExt;
    let mut bytes = Vec::with_capacity(name.len() + 1);
    bytes.push(0);
    bytes.extend_from_slice(name);
    SockAddr::unix(std::ffi::OsStr::from_bytes(&bytes))
}

/// Starts a non-blocking connect to `path`. `WouldBlock` means the listener's backlog is full
/// (Linux answers EAGAIN rather than queueing): the caller retries.
pub(crate) fn connect(path: &[u8]) -> io::Result<mio::net::UnixStream> {
    let addr = address(path)?;
    mio::net::UnixStream::connect_addr(&addr)
}
