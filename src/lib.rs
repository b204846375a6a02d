//! The Node-API binding of evasync: converts and routes, nothing more. The event loop object
//! and the entry points that cannot wait for the shared memory (`event_loop`, `tcp`, `http`,
//! `dns`), the memory JS and the engine share (`shared`), the two drivers that run the reactor
//! and deliver its events (`driver_main`, `driver_thread`), TLS options (`tls`), the wire numbers
//! for TypeScript (`kinds`). Every export catches panics (`catch_unwind`), so no panic crosses into Node; the
//! reactor reports its own as a fatal event.

mod convert;
mod dns;
#[cfg(unix)]
mod driver_main;
mod driver_thread;
mod event_loop;
mod http;
mod kinds;
mod notifier_table;
mod process;
mod shared;
mod tcp;
mod tls;
#[cfg(unix)]
mod uv;
mod wakeups;

pub use event_loop::NativeLoop;
