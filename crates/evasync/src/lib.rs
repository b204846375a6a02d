//! The evasync engine: a mio reactor with timers, buffered TCP sockets, async DNS (hickory) and an
//! HTTP/1.1 server and client, usable from plain Rust.
//!
//! One [`Reactor`] owns every socket, listener and timer of an event loop. Other threads (and the
//! reactor's own callbacks) talk to it through a cloneable [`Handle`], which queues [`Command`]s and
//! wakes the reactor once per batch. The reactor reports what happened as [`Event`]s to an
//! [`EventSink`] the embedder supplies: a closure in Rust, the batching queue of the Node binding.
//!
//! HTTP: [`Handle::http_server`] reports [`Event::HttpRequest`]s, answered with
//! [`Handle::http_respond`]; [`Handle::http_client`] sends a request and reports
//! [`Event::HttpResponse`]. DNS: [`Handle::dns_lookup`] reports [`Event::DnsResolved`]; names
//! given to [`Handle::tcp_connect`] resolve the same way (Happy Eyeballs). The protocol code is the
//! sans-IO [`http::parse`] crate.
//!
//! The reactor advances one [`Reactor::turn`] at a time, so it can be driven by a thread of its own
//! ([`Reactor::run`]) or by another event loop that watches [`Reactor::poll_fd`].
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

mod buffer;
mod command;
mod config;
pub mod dns;
mod error;
mod event;
pub mod http;
mod id;
mod reactor;
mod stats;
mod tcp;
mod timer;

pub use buffer::WriteQueue;
pub use command::{Command, ConnectTarget};
pub use config::{ConnectOptions, ReactorConfig, ServerOptions};
pub use error::{Error, ErrorKind};
pub use event::{Event, EventSink};
pub use id::Id;
pub use reactor::{Handle, Reactor};
pub use stats::StatsSnapshot;
#[cfg(unix)]
pub use tcp::listen::listener_from_fd;
pub use tcp::listen::{bind_listener, bind_listener_with, BoundListener};
pub use timer::TimerQueue;
