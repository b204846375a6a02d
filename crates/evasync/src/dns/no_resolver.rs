//! Without the `dns` feature there is no resolver: IP literals still connect, names fail with
//! a `DnsError` that says so. (hickory and tokio, the resolver's dependencies, are most of the
//! engine's build.)

use std::sync::Arc;

use crate::dns::{Answer, Request};

/// Stands for the resolver thread; it cannot start.
pub(crate) struct DnsThread;

impl DnsThread {
    pub fn start(_waker: Arc<mio::Waker>) -> std::io::Result<DnsThread> {
        Err(std::io::Error::new(
            std::io::ErrorKind::Unsupported,
            "names cannot be resolved: evasync was built without its `dns` feature",
        ))
    }

    pub fn send(&self, _r: Request) -> bool {
        false
    }

    pub fn take_answers(&self) -> impl Iterator<Item = Answer> + '_ {
        std::iter::empty()
    }
}
