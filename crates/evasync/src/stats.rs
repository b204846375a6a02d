//! Counters of what the reactor holds, readable from any thread.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

/// Live counters, updated by the reactor.
#[derive(Default)]
pub(crate) struct Stats {
    pub incoming: AtomicU64,
    pub outgoing: AtomicU64,
    pub servers: AtomicU64,
    pub http_incoming: AtomicU64,
    pub http_outgoing: AtomicU64,
    pub dns: AtomicU64,
    pub timers: AtomicU64,
    pub processes: AtomicU64,
    pub notifiers: AtomicU64,
    pub pollers: AtomicU64,
    pub signals: AtomicU64,
    pub bytes_read: AtomicU64,
    pub bytes_written: AtomicU64,
}

/// A copy of the reactor's counters at one moment.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StatsSnapshot {
    /// Accepted sockets the reactor still holds (closing ones included).
    pub incoming_tcp_connections: u64,
    /// Outgoing sockets the reactor still holds (connecting and closing ones included).
    pub outgoing_tcp_connections: u64,
    /// Accepted connections of HTTP servers (not counted as TCP connections).
    pub incoming_http_connections: u64,
    /// HTTP client connections busy with a request (idle pooled ones are not counted: like
    /// them keeping nothing alive, they are the pool's).
    pub outgoing_http_connections: u64,
    /// DNS queries in flight (lookups and names of connections being opened).
    pub open_dns_queries: u64,
    /// Listening servers.
    pub servers: u64,
    /// Pending timers, referenced or not.
    pub active_timers: u64,
    /// Child processes not reaped yet.
    pub processes: u64,
    /// Notifiers not freed yet.
    pub notifiers: u64,
    /// File descriptors polled.
    pub pollers: u64,
    /// Signals watched ([`crate::Handle::signal`]).
    pub signal_handlers: u64,
    /// Bytes read since the reactor started.
    pub bytes_read: u64,
    /// Bytes handed to the kernel since the reactor started.
    pub bytes_written: u64,
}

impl Stats {
    /// Every count back to 0 (the reactor dropped everything); byte totals stay.
    pub fn reset_counts(&self) {
        for c in [
            &self.incoming,
            &self.outgoing,
            &self.servers,
            &self.http_incoming,
            &self.http_outgoing,
            &self.dns,
            &self.timers,
            &self.processes,
            &self.notifiers,
            &self.pollers,
            &self.signals,
        ] {
            c.store(0, Relaxed);
        }
    }

    pub fn snapshot(&self) -> StatsSnapshot {
        StatsSnapshot {
            incoming_tcp_connections: self.incoming.load(Relaxed),
            outgoing_tcp_connections: self.outgoing.load(Relaxed),
            incoming_http_connections: self.http_incoming.load(Relaxed),
            open_dns_queries: self.dns.load(Relaxed),
            outgoing_http_connections: self.http_outgoing.load(Relaxed),
            servers: self.servers.load(Relaxed),
            active_timers: self.timers.load(Relaxed),
            processes: self.processes.load(Relaxed),
            notifiers: self.notifiers.load(Relaxed),
            pollers: self.pollers.load(Relaxed),
            signal_handlers: self.signals.load(Relaxed),
            bytes_read: self.bytes_read.load(Relaxed),
            bytes_written: self.bytes_written.load(Relaxed),
        }
    }
}

/// Adds one to a counter.
pub(crate) fn inc(c: &AtomicU64) {
    c.fetch_add(1, Relaxed);
}

/// Takes one from a counter.
pub(crate) fn dec(c: &AtomicU64) {
    c.fetch_sub(1, Relaxed);
}

/// Adds `n` to a counter.
pub(crate) fn add(c: &AtomicU64, n: u64) {
    c.fetch_add(n, Relaxed);
}
