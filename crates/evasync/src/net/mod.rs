//! Sockets before they are connections: binding and listening (on the caller's thread, so a
//! server's port is known when the call returns), and starting non-blocking connects.

pub mod addr;
pub(crate) mod connect;
pub mod listen;
#[cfg(unix)]
pub(crate) mod unix;
