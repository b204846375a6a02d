//! The evasync engine: a mio reactor with timers, buffered TCP and Unix stream connections
//! (read/write timeouts, watermarks, half-close), TLS (rustls), child processes, notifiers,
//! async DNS (hickory) and an HTTP/1.1 server and client, usable from plain Rust.
//!
//! One [`Reactor`] owns every connection, listener and timer of an event loop. Other threads
//! (and the reactor's own callbacks) talk to it through a cloneable [`Handle`], which queues
//! commands and wakes the reactor once per batch. The reactor reports what happened as
//! [`Event`]s to an [`EventSink`] the embedder supplies: a closure in Rust, the batching queue
//! of the Node binding ([`wire`]).
//!
//! A connection is three layers, each knowing only the one below: the OS stream (`io`: TCP, a
//! Unix socket, a child's pipe), what passes through it (`filter`: plain or TLS) and who reads it
//! (`upper`: the application's events, an HTTP server connection, a pooled HTTP client
//! connection). The reactor is the one place that routes readiness, timers and commands
//! between them.
//!
//! | area | ask with | hear back |
//! | --- | --- | --- |
//! | timers | [`Handle::delay`], [`Handle::interval`] | [`Event::TimerFired`] |
//! | TCP | [`Handle::tcp_server`], [`Handle::tcp_connect`], [`Handle::write`], [`Handle::close`] | [`Event::Accepted`], [`Event::Connected`], [`Event::Data`], [`Event::Eof`], [`Event::Failed`] |
//! | Unix sockets | [`Handle::unix_server`], [`Handle::unix_connect`] | as TCP |
//! | TLS | `tls` in [`ServerOptions`]/[`ConnectOptions`], [`Handle::start_tls`] | [`Event::TlsEstablished`] |
//! | processes | `Handle::spawn`, `Handle::process_kill` (Unix) | [`Event::ProcessExited`]; pipes as connections |
//! | wake-ups | [`Handle::notifier`], `Handle::poll_fd`, `Handle::signal` | [`Event::Notified`], [`Event::Polled`], [`Event::Signal`] |
//! | DNS | [`Handle::dns_lookup`]; names given to [`Handle::tcp_connect`] (Happy Eyeballs) | [`Event::DnsResolved`] |
//! | HTTP (feature `http`) | `Handle::http_server` + `Handle::http_respond`, `Handle::http_client` | `Event::HttpRequest`, `Event::HttpResponse` |
//!
//! The HTTP protocol code is the sans-IO crate `evasync-http1`, re-exported as `http::parse`.
//!
//! The reactor advances one [`Reactor::turn`] at a time, so it can be driven by a thread of its
//! own ([`Reactor::run`]) or by another event loop that watches [`Reactor::poll_fd`].
//!
//! # Cargo features
//!
//! - `dns` (default): name resolution with hickory-resolver on a tokio current-thread runtime in
//!   one thread of its own: most of the engine's build. Without it IP literals connect,
//!   `localhost` resolves to loopback (RFC 6761) and other names fail with a DNS error saying
//!   why.
//! - `http` (default): the HTTP/1.1 server and client and the `evasync-http1` parser.
//! - `fuzzing`: harnesses for cargo-fuzz (`evasync::fuzzing`); not for applications.
//!
//! ```no_run
//! use std::time::Duration;
//! use evasync::{Event, Reactor, ReactorConfig};
//!
//! let mut reactor = Reactor::new(ReactorConfig::default()).unwrap();
//! let handle = reactor.handle();
//! let id = handle.delay(Duration::from_millis(10));
//! reactor.run(&mut |ev: Event<'_>| {
//!     if let Event::TimerFired { id: fired } = ev {
//!         assert_eq!(fired, id);
//!     }
//! }).unwrap();
//! ```
#![deny(missing_docs)]
#![deny(rustdoc::broken_intra_doc_links, rustdoc::private_intra_doc_links)]

// Lets files shared with the integration tests name this crate `evasync` in unit tests too.
#[cfg(test)]
extern crate self as evasync;

mod buffer;
mod clock;
mod config;
mod conn;
pub mod dns;
mod error;
mod event;
#[cfg(feature = "fuzzing")]
pub mod fuzzing;
#[cfg(feature = "http")]
pub mod http;
mod id;
mod net;
mod notifier;
pub mod process;
mod reactor;
mod stats;
mod timer;
pub mod tls;
pub mod wire;

pub use config::{ConnectOptions, ReactorConfig, ServerOptions};
pub use error::{Error, ErrorKind};
pub use event::{Event, EventSink};
pub use id::Id;
pub use net::addr::Endpoint;
#[cfg(unix)]
pub use net::listen::listener_from_fd;
pub use net::listen::{bind_listener, bind_listener_with, BoundListener};
#[cfg(unix)]
pub use net::listen::{bind_unix_listener, unix_listener_from_fd};
pub use reactor::{poll_bits, Handle, Notifier, Reactor, TlsSide};
pub use stats::StatsSnapshot;
