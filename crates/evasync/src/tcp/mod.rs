//! Buffered TCP sockets in the manner of libevent's bufferevent: a read side that delivers what
//! arrives, a write queue flushed as the kernel accepts it, per-direction enable/disable and
//! timeouts, half-close, graceful and forced close; and the listeners that accept them.

pub(crate) mod conn;
pub(crate) mod happy;
pub mod listen;
pub(crate) mod reactor_tcp;
pub(crate) mod sockopt;
pub(crate) mod table;
