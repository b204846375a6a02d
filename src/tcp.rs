//! TCP commands that do not go through the shared memory: listen (bound here, synchronously,
//! so the port is known on return) and connect. Writes, timeouts, enable/disable, half-close
//! and close are operations JS writes in the shared memory.

use std::net::{IpAddr, SocketAddr};

use evasync::{bind_listener_with, BoundListener, ConnectOptions, Endpoint, ServerOptions};
use napi::bindgen_prelude::*;
use napi_derive::napi;

use crate::convert::opt_seconds;
use crate::event_loop::NativeLoop;
use crate::tls::{client_config, server_config, TlsOpts};

/// Options of `tcpListen`, as the TS layer passes them (seconds for times).
#[napi(object)]
pub struct ListenOptions {
    pub host: String,
    pub port: u32,
    pub backlog: i32,
    pub reuse_address: bool,
    pub reuse_port: bool,
    pub fd: Option<i32>,
    pub no_delay: bool,
    pub read_timeout: Option<f64>,
    pub write_timeout: Option<f64>,
    pub max_connections: Option<u32>,
    pub allow_half_open: bool,
    pub keep_alive: Option<f64>,
    /// Keep an IPv6 listener to IPv6 only.
    pub ipv6_only: Option<bool>,
    /// Bind and listen now but accept only after `tcpServe(id)` (asyncio's start_serving=False).
    pub paused: Option<bool>,
    /// A Unix socket path (bytes; a leading NUL names a Linux abstract socket) instead of
    /// `host:port`; with `fd`, the inherited descriptor is a Unix listener.
    pub path: Option<Buffer>,
    /// Permission bits of the Unix socket file, set before it listens.
    pub mode: Option<u32>,
}

/// The result of `tcpListen`: the server id and where it listens, or (errno ≠ 0) why not.
#[napi(object)]
pub struct ListenResult {
    pub id: u32,
    pub address: String,
    pub port: u32,
    pub family: u32,
    pub fd: i64,
    pub errno: i32,
    pub message: String,
}

/// Options of `tcpConnect`.
#[napi(object)]
pub struct ConnectOpts {
    pub no_delay: bool,
    pub keep_alive: Option<f64>,
    pub connect_timeout: Option<f64>,
    pub read_timeout: Option<f64>,
    pub write_timeout: Option<f64>,
    pub local_address: Option<String>,
    pub allow_half_open: bool,
    pub family: u32,
}

fn failed(errno: i32, message: String) -> ListenResult {
    ListenResult {
        id: 0,
        address: String::new(),
        port: 0,
        family: 0,
        fd: -1,
        errno,
        message,
    }
}

/// Binds (or adopts `fd`) and listens, as `o` says; the failure is a ready `ListenResult`.
pub(crate) fn bind(o: &ListenOptions) -> std::result::Result<BoundListener, ListenResult> {
    let path = o.path.as_ref().map(|p| p.as_ref().to_vec());
    let bound = match (o.fd, &path) {
        #[cfg(unix)]
        (Some(fd), Some(_)) => {
            // SAFETY: the user hands over an inherited listening Unix socket (`fd` option of
            // pipeServer), documented as transferring ownership to the server.
            unsafe { evasync::unix_listener_from_fd(fd) }
        }
        #[cfg(unix)]
        (Some(fd), None) => {
            // SAFETY: the user hands over an inherited listening descriptor (`fd` option of
            // tcpServer), documented as transferring ownership to the server.
            unsafe { evasync::listener_from_fd(fd) }
        }
        #[cfg(unix)]
        (None, Some(p)) => evasync::bind_unix_listener(p, o.backlog, o.mode),
        #[cfg(not(unix))]
        (_, Some(_)) | (Some(_), _) => Err(std::io::Error::from(std::io::ErrorKind::Unsupported)),
        (None, None) => {
            let ip: IpAddr = match o.host.trim_start_matches('[').trim_end_matches(']').parse() {
                Ok(ip) => ip,
                Err(_) => {
                    return Err(failed(
                        -1,
                        format!("listen on {}:{} failed: not an IP address", o.host, o.port),
                    ))
                }
            };
            bind_listener_with(
                SocketAddr::new(ip, o.port as u16),
                o.backlog,
                o.reuse_address,
                o.reuse_port,
                o.ipv6_only.unwrap_or(false),
            )
        }
    };
    bound.map_err(|e| {
        let what = match (o.fd, &path) {
            (Some(fd), _) => format!("listen on fd {fd}"),
            (None, Some(p)) => format!("listen on {}", Endpoint::Unix(p.clone())),
            (None, None) if o.host.contains(':') => format!("listen on [{}]:{}", o.host, o.port),
            (None, None) => format!("listen on {}:{}", o.host, o.port),
        };
        let err = evasync::Error::io(what, &e);
        failed(err.errno, err.message)
    })
}

/// The options every accepted socket gets.
pub(crate) fn server_options(
    o: &ListenOptions,
    tls: Option<evasync::tls::TlsServerConfig>,
) -> ServerOptions {
    ServerOptions {
        no_delay: o.no_delay,
        read_timeout: opt_seconds(o.read_timeout),
        write_timeout: opt_seconds(o.write_timeout),
        max_connections: o.max_connections.map(|m| m as usize),
        allow_half_open: o.allow_half_open,
        keep_alive: opt_seconds(o.keep_alive),
        tls,
    }
}

/// The successful `ListenResult` of server `id`.
pub(crate) fn listening(id: u32, local: Endpoint, fd: i64) -> ListenResult {
    let (address, port, family) = match &local {
        Endpoint::Inet(a) => (
            a.ip().to_string(),
            u32::from(a.port()),
            if a.is_ipv6() { 6 } else { 4 },
        ),
        Endpoint::Unix(p) => (String::from_utf8_lossy(p).into_owned(), 0, 0),
    };
    ListenResult {
        id,
        address,
        port,
        family,
        fd,
        errno: 0,
        message: String::new(),
    }
}

#[napi]
impl NativeLoop {
    /// Binds and listens now; the reactor serves the listener from its next turn. Bad TLS
    /// options throw before anything is bound.
    #[napi(catch_unwind)]
    pub fn tcp_listen(&self, o: ListenOptions, tls: Option<TlsOpts>) -> Result<ListenResult> {
        let tls = tls.map(|t| server_config(&t, &[])).transpose()?;
        let bound = match bind(&o) {
            Ok(b) => b,
            Err(failure) => return Ok(failure),
        };
        let opts = server_options(&o, tls);
        if o.paused == Some(true) {
            let id = self.handle.next_id();
            let result = listening(id, bound.local.clone(), bound.fd());
            self.park_listener(id, bound, opts);
            return Ok(result);
        }
        let (local, fd) = (bound.local.clone(), bound.fd());
        let (id, _) = self.command(|h| h.serve(bound, opts));
        Ok(listening(id, local, fd))
    }

    /// Starts accepting on a listener bound with `paused: true`.
    #[napi(catch_unwind)]
    pub fn tcp_serve(&self, id: u32) {
        if let Some((listener, opts)) = self.unpark_listener(id) {
            self.command(|h| h.serve_as(id, listener, opts));
        }
    }

    /// Stops accepting (or drops a listener that never started serving).
    #[napi(catch_unwind)]
    pub fn tcp_close_server(&self, id: u32) {
        drop(self.unpark_listener(id));
        self.close_server_now(id);
    }

    /// Starts connecting to `host:port`; returns the socket id. A bad `localAddress` is an error
    /// thrown here.
    #[napi(catch_unwind)]
    pub fn tcp_connect(
        &self,
        host: String,
        port: u32,
        o: ConnectOpts,
        tls: Option<TlsOpts>,
    ) -> Result<u32> {
        let tls = tls.as_ref().map(client_config).transpose()?;
        let local_address = match o.local_address.as_deref() {
            None | Some("") => None,
            Some(a) => {
                let ip: IpAddr = a.parse().map_err(|_| {
                    Error::new(
                        Status::InvalidArg,
                        format!("localAddress {a:?} is not an IP"),
                    )
                })?;
                Some(SocketAddr::new(ip, 0))
            }
        };
        let opts = ConnectOptions {
            no_delay: o.no_delay,
            keep_alive: opt_seconds(o.keep_alive),
            connect_timeout: opt_seconds(o.connect_timeout),
            read_timeout: opt_seconds(o.read_timeout),
            write_timeout: opt_seconds(o.write_timeout),
            local_address,
            allow_half_open: o.allow_half_open,
            family: o.family as u8,
            tls,
        };
        Ok(self.command(|h| h.tcp_connect(&host, port as u16, opts)))
    }

    /// Starts connecting to the Unix socket `path` (bytes; a leading NUL names a Linux
    /// abstract socket); returns the socket id.
    #[napi(catch_unwind)]
    pub fn pipe_connect(&self, path: Buffer, o: ConnectOpts, tls: Option<TlsOpts>) -> Result<u32> {
        let tls = tls.as_ref().map(client_config).transpose()?;
        let opts = ConnectOptions {
            connect_timeout: opt_seconds(o.connect_timeout),
            read_timeout: opt_seconds(o.read_timeout),
            write_timeout: opt_seconds(o.write_timeout),
            allow_half_open: o.allow_half_open,
            tls,
            ..ConnectOptions::default()
        };
        let path = path.as_ref().to_vec();
        Ok(self.command(|h| h.unix_connect(&path, opts)))
    }
}
