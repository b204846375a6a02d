//! The Node-API binding of evasync: converts and routes, nothing more. The event loop object
//! (`event_loop`), batched delivery of engine events to JS (`events`), and one file of commands
//! per exported area (`timer`, `tcp`, `http`). Every export catches panics (`catch_unwind`), so no panic
//! crosses into Node; the reactor thread reports its own as a fatal event.

mod dns;
#[cfg(unix)]
mod driver_main;
mod event_loop;
mod events;
mod http;
mod tcp;
mod timer;
#[cfg(unix)]
mod uv;

pub use event_loop::NativeLoop;
