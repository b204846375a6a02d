//! Socket options, through socket2, applied to mio sockets without taking ownership.

use std::io;
use std::time::Duration;

use socket2::{SockRef, TcpKeepalive};

/// Applies `TCP_NODELAY` and keepalive as asked. Failures are ignored: an option the platform
/// refuses must not fail the connection.
pub(crate) fn apply_stream_options(
    stream: &mio::net::TcpStream,
    no_delay: bool,
    keep_alive: Option<Duration>,
) {
    if no_delay {
        let _ = stream.set_nodelay(true);
    }
    if let Some(idle) = keep_alive {
        let sock = SockRef::from(stream);
        let _ = sock.set_tcp_keepalive(&TcpKeepalive::new().with_time(idle));
    }
}

/// Makes the next close send a reset (RST) instead of a FIN: `SO_LINGER` with a zero timeout.
pub(crate) fn set_reset_on_close(stream: &mio::net::TcpStream) -> io::Result<()> {
    SockRef::from(stream).set_linger(Some(Duration::ZERO))
}
