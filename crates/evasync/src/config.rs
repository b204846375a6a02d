//! Options for the reactor, listeners and outgoing connections, with named defaults.

use std::net::SocketAddr;
use std::time::Duration;

/// Default listen backlog, as cl-async and Node use.
pub const DEFAULT_BACKLOG: i32 = 128;

/// Reactor settings.
#[derive(Debug, Clone)]
pub struct ReactorConfig {
    /// Bytes read from one socket per turn before the reactor moves on to others, so a fast
    /// sender cannot starve the rest. 256 KiB: four reads of the scratch buffer.
    pub read_budget: usize,
    /// Size of the reactor-wide scratch buffer every socket is read into. 64 KiB matches the
    /// kernel's default receive window growth step and Node's own read size.
    pub scratch_size: usize,
    /// Connections accepted from one listener per turn before the reactor moves on.
    pub accept_budget: usize,
    /// Readiness events taken from the OS per poll.
    pub events_capacity: usize,
}

impl Default for ReactorConfig {
    fn default() -> Self {
        ReactorConfig {
            read_budget: 256 * 1024,
            scratch_size: 64 * 1024,
            accept_budget: 256,
            events_capacity: 1024,
        }
    }
}

/// Options applied to each accepted socket and to the listener.
#[derive(Debug, Clone, Default)]
pub struct ServerOptions {
    /// Set `TCP_NODELAY` on accepted sockets (default true in the TS API).
    pub no_delay: bool,
    /// Read timeout of each accepted socket.
    pub read_timeout: Option<Duration>,
    /// Write timeout of each accepted socket.
    pub write_timeout: Option<Duration>,
    /// Beyond this many open accepted sockets, new connections are accepted and closed at once.
    pub max_connections: Option<usize>,
    /// Keep accepted sockets open after the peer's EOF.
    pub allow_half_open: bool,
    /// Enable TCP keepalive on accepted sockets with this idle time.
    pub keep_alive: Option<Duration>,
    /// Speak TLS on accepted sockets: the connection is announced once the handshake is done.
    pub tls: Option<crate::tls::TlsServerConfig>,
}

/// Options for an outgoing connection.
#[derive(Debug, Clone, Default)]
pub struct ConnectOptions {
    /// `TCP_NODELAY`.
    pub no_delay: bool,
    /// TCP keepalive idle time.
    pub keep_alive: Option<Duration>,
    /// Time allowed for the whole connect, every address tried included.
    pub connect_timeout: Option<Duration>,
    /// Read timeout once connected.
    pub read_timeout: Option<Duration>,
    /// Write timeout once connected.
    pub write_timeout: Option<Duration>,
    /// Bind to this local address before connecting.
    pub local_address: Option<SocketAddr>,
    /// Keep the socket open after the peer's EOF.
    pub allow_half_open: bool,
    /// Address family to keep after resolving a name: 0 any, 4 or 6.
    pub family: u8,
    /// Speak TLS: the connection is announced once the handshake is done; the connect
    /// timeout covers the handshake too.
    pub tls: Option<crate::tls::TlsClientConfig>,
}
