//! The connection: libevent's bufferevent in three layers, each knowing only the one below.
//!
//! ```text
//! upper:   the reactor's business (raw callbacks, an HTTP server or client connection)
//! filter:  Plain │ TLS (rustls)                ← bytes in, bytes out
//! io:      TCP stream │ (Unix stream, pipe)    ← mio sources
//! ```
//!
//! A [`Conn`] holds the io and filter layers, the write queue, the per-direction timeouts and
//! the flags of its life (enabled directions, EOF, half-close, closing). Its steps — read into
//! the reactor's scratch buffer, flush the queue, discard input — return outcomes
//! ([`ReadOutcome`], byte counts, errors); what they mean (events, closing, HTTP) is decided by
//! the reactor, which is the only place that knows every upper layer.

mod filter;
pub(crate) mod io;
pub(crate) mod table;
mod tls_io;

use std::io::{ErrorKind, IoSlice};
use std::net::SocketAddr;
use std::sync::atomic::AtomicU64;
use std::time::{Duration, Instant};

use crate::buffer::{WriteQueue, MAX_IOVECS};
use crate::config::ConnectOptions;
use crate::id::Id;
use crate::net::addr::Endpoint;

pub(crate) use filter::Filter;
pub(crate) use io::Io;

/// Where a connection is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Phase {
    /// Waiting for a name lookup.
    Resolving,
    /// A non-blocking connect is in flight.
    Connecting,
    /// Connected: reads and writes flow.
    Open,
    /// The application closed it (or the peer's EOF did): flushing the queue, then FIN, then gone.
    Closing,
}

/// Bit flags of a connection (one field instead of a dozen bools keeps an idle connection
/// small).
pub(crate) mod flag {
    /// The application wants reads.
    pub const READ_ENABLED: u16 = 1 << 0;
    /// The application lets queued data go out.
    pub const WRITE_ENABLED: u16 = 1 << 1;
    /// The OS said readable and we have not read to WouldBlock since.
    pub const READABLE: u16 = 1 << 2;
    /// The OS said writable and we have not met WouldBlock since.
    pub const WRITABLE: u16 = 1 << 3;
    /// The peer's FIN was seen in a readiness event (read on until EOF).
    pub const PEER_FIN: u16 = 1 << 4;
    /// EOF was read and reported.
    pub const EOF: u16 = 1 << 5;
    /// The application asked for a half-close once the queue drains.
    pub const SHUTDOWN_WANTED: u16 = 1 << 6;
    /// FIN was sent.
    pub const SHUT_WR: u16 = 1 << 7;
    /// Keep the socket open after the peer's EOF.
    pub const HALF_OPEN: u16 = 1 << 8;
    /// Queued in the reactor's pending-read list.
    pub const PENDING_READ: u16 = 1 << 9;
    /// A read-timeout entry is in the timer queue.
    pub const READ_TIMER: u16 = 1 << 10;
    /// A write-timeout entry is in the timer queue.
    pub const WRITE_TIMER: u16 = 1 << 11;
    /// The application closed the socket (events other than flush errors are no longer wanted).
    pub const APP_CLOSED: u16 = 1 << 12;
    /// The connection was announced (`Connected` / `Accepted`); a TLS one is announced after
    /// its handshake, so a failed handshake is the listener's business, not a socket's.
    pub const ANNOUNCED: u16 = 1 << 13;
}

/// State kept only while connecting.
#[derive(Debug)]
pub(crate) struct Connecting {
    /// Addresses not tried yet, in the order they will be tried (last first).
    pub addrs: Vec<SocketAddr>,
    /// The options, applied once connected.
    pub opts: ConnectOptions,
    /// What the user asked for, for messages ("connect to example.com:80").
    pub target: String,
    /// The host asked for (the TLS server name unless the configuration names another).
    pub host: String,
    /// The last error met, reported when no address is left.
    pub last_error: Option<std::io::Error>,
    /// Attempts in flight (Happy Eyeballs races several, 250 ms apart).
    pub racers: Vec<Racer>,
    /// A Unix socket connect waiting to try again (the listener's backlog was full).
    pub unix_path: Option<Vec<u8>>,
}

/// One connection attempt of a race: its own socket, registered under its own token.
#[derive(Debug)]
pub(crate) struct Racer {
    /// The token id the socket is registered under.
    pub id: Id,
    pub io: Io,
    pub addr: SocketAddr,
}

/// Read/write timeouts and the activity they count from.
pub(crate) struct Timeouts {
    pub read: Option<Duration>,
    pub write: Option<Duration>,
    /// Last time data arrived (or reading was enabled): the read timeout counts from here.
    pub last_read: Instant,
    /// Last time queued data moved (or the queue became non-empty).
    pub last_write: Instant,
}

/// What a read step found.
pub(crate) enum ReadOutcome {
    /// Read to WouldBlock (or a short read that drained the socket).
    Drained,
    /// Stopped because the budget ran out or reading is off; more may be waiting.
    Stopped,
    /// The peer closed its side.
    Eof,
    /// The read failed.
    Failed(std::io::Error),
    /// TLS: the handshake just finished. Input that came with it is held; read again (after
    /// announcing the connection) to have it delivered.
    Established,
    /// TLS server: the ClientHello names this server; the application chooses the
    /// configuration ([`crate::tls::session::TlsSession::configure`]), then read again.
    AskConfig(String),
    /// TLS: the peer broke the protocol or a certificate was refused (alert sent).
    TlsFailed(rustls::Error),
}

/// A connection held by the reactor: io and filter, the write queue, timeouts, flags.
pub(crate) struct Conn {
    pub io: Option<Io>,
    pub filter: Filter,
    pub phase: Phase,
    pub flags: u16,
    pub wq: WriteQueue,
    /// Bytes handed to the kernel since the socket opened.
    pub flushed: u64,
    /// Emit a `Flushed` event once `flushed` reaches this (u64::MAX: nobody asked).
    pub notify_at: u64,
    /// Timeout state, boxed and present only while a timeout is set (most sockets have none,
    /// and an idle socket should stay small).
    pub timeouts: Option<Box<Timeouts>>,
    /// Bumped whenever timeouts are reset, so older timer entries are recognised as stale.
    pub timer_gen: u32,
    /// The peer, for messages.
    pub peer: Option<SocketAddr>,
    pub connecting: Option<Box<Connecting>>,
}

impl Conn {
    pub fn new(phase: Phase) -> Conn {
        Conn {
            io: None,
            filter: Filter::Plain,
            phase,
            flags: flag::READ_ENABLED | flag::WRITE_ENABLED,
            wq: WriteQueue::new(),
            flushed: 0,
            notify_at: u64::MAX,
            timeouts: None,
            timer_gen: 0,
            peer: None,
            connecting: None,
        }
    }

    /// An accepted connection, open at once.
    pub fn accepted(io: Io, remote: Option<SocketAddr>, half_open: bool) -> Conn {
        let mut conn = Conn::new(Phase::Open);
        conn.io = Some(io);
        conn.peer = remote;
        conn.flags |= flag::WRITABLE;
        conn.set(flag::HALF_OPEN, half_open);
        conn
    }

    pub fn has(&self, f: u16) -> bool {
        self.flags & f != 0
    }

    pub fn set(&mut self, f: u16, on: bool) {
        if on {
            self.flags |= f;
        } else {
            self.flags &= !f;
        }
    }

    /// True while reads and writes may flow (open, or closing with bytes still to flush).
    pub fn is_live(&self) -> bool {
        matches!(self.phase, Phase::Open | Phase::Closing)
    }

    /// True while a TLS handshake is in progress (no plaintext flows yet).
    pub fn handshaking(&self) -> bool {
        self.filter.tls().is_some_and(|s| !s.is_established())
    }

    /// True while anything waits to be written: queued plaintext, or TLS records.
    pub fn has_pending_output(&self) -> bool {
        !self.wq.is_empty()
            || self
                .filter
                .tls()
                .is_some_and(|s| !s.pending_out().is_empty())
    }

    /// "read from 127.0.0.1:5000" style phrase for messages.
    pub fn describe(&self, op: &str) -> String {
        match (&self.peer, &self.connecting) {
            (Some(p), _) => format!("{op} {p}"),
            (None, Some(c)) => format!("{op} {}", c.target),
            // A Unix socket: its peer's path, or ours for the accepted side (its peer is
            // usually unnamed).
            (None, None) => match self.io.as_ref().map(|io| (io.peer_addr(), io.local_addr())) {
                Some((Some(p), _)) if p != Endpoint::Unix(Vec::new()) => format!("{op} {p}"),
                Some((_, Some(l))) if l != Endpoint::Unix(Vec::new()) => format!("{op} {l}"),
                _ => op.to_string(),
            },
        }
    }

    // ----- timeouts -----

    /// Sets both timeouts, both counting from `now`; older timer entries become stale.
    pub fn set_timeouts(&mut self, read: Option<Duration>, write: Option<Duration>, now: Instant) {
        self.timeouts = if read.is_none() && write.is_none() {
            None
        } else {
            Some(Box::new(Timeouts {
                read,
                write,
                last_read: now,
                last_write: now,
            }))
        };
        self.timer_gen = self.timer_gen.wrapping_add(1);
        self.flags &= !(flag::READ_TIMER | flag::WRITE_TIMER);
    }

    /// Data arrived (or reading was enabled) now.
    pub fn touch_read(&mut self) {
        if let Some(t) = self.timeouts.as_mut() {
            t.last_read = Instant::now();
        }
    }

    /// Queued data moved (or the queue became non-empty) now.
    pub fn touch_write(&mut self) {
        if let Some(t) = self.timeouts.as_mut() {
            t.last_write = Instant::now();
        }
    }

    /// When the read timeout fires, if one applies: set, open, reading enabled, no EOF yet, not
    /// in a TLS handshake (the handshake timeout covers that).
    pub fn read_deadline(&self) -> Option<Instant> {
        let t = self.timeouts.as_ref()?;
        let applies = self.phase == Phase::Open
            && self.has(flag::READ_ENABLED)
            && !self.has(flag::EOF)
            && !self.handshaking();
        applies.then_some(t.last_read + t.read?)
    }

    /// When the write timeout fires, if one applies: set, data waiting, not in a TLS
    /// handshake.
    pub fn write_deadline(&self) -> Option<Instant> {
        let t = self.timeouts.as_ref()?;
        (self.is_live() && self.has_pending_output() && !self.handshaking())
            .then_some(t.last_write + t.write?)
    }

    // ----- reading -----

    /// Puts connection `id` on the list read again next turn (once).
    pub fn queue_read(&mut self, id: Id, pending_read: &mut Vec<Id>) {
        if self.flags & flag::PENDING_READ == 0 {
            self.flags |= flag::PENDING_READ;
            pending_read.push(id);
        }
    }

    /// [`Conn::read_some`], counting the bytes in `bytes_read` and queuing the connection to be
    /// read on next turn when the budget ran out.
    pub fn read_step(
        &mut self,
        id: Id,
        scratch: &mut [u8],
        budget: usize,
        bytes_read: &AtomicU64,
        pending_read: &mut Vec<Id>,
        deliver: &mut dyn FnMut(&[u8]),
    ) -> ReadOutcome {
        let mut got = 0u64;
        let outcome = self.read_some(scratch, budget, &mut |data| {
            got += data.len() as u64;
            deliver(data);
        });
        crate::stats::add(bytes_read, got);
        let outcome = match (self.send_tls_output(), outcome) {
            // A failure's alert goes out if the socket takes it; the failure is what counts.
            (_, failed @ ReadOutcome::TlsFailed(_)) => failed,
            (Err(e), _) => ReadOutcome::Failed(e),
            (Ok(_), outcome) => outcome,
        };
        if let ReadOutcome::Stopped = outcome {
            self.queue_read(id, pending_read);
        }
        if let ReadOutcome::Eof = outcome {
            self.flags |= flag::EOF;
            self.flags &= !flag::READABLE;
        }
        outcome
    }

    /// Reads into `scratch` until WouldBlock, EOF, an error, or `budget` bytes; hands each chunk
    /// to `deliver`. A read shorter than the buffer means the socket was drained at that moment
    /// (the next arrival raises a new edge), so it saves the extra read that would only say
    /// WouldBlock, unless the peer's FIN was seen, which must be read to be reported.
    fn read_some(
        &mut self,
        scratch: &mut [u8],
        mut budget: usize,
        deliver: &mut dyn FnMut(&[u8]),
    ) -> ReadOutcome {
        if let Filter::Tls(_) = self.filter {
            return self.read_tls(scratch, budget, deliver);
        }
        let Some(io) = self.io.as_mut() else {
            return ReadOutcome::Drained;
        };
        loop {
            match io.read(scratch) {
                Ok(0) => return ReadOutcome::Eof,
                Ok(n) => {
                    if let Some(t) = self.timeouts.as_mut() {
                        t.last_read = Instant::now();
                    }
                    deliver(&scratch[..n]);
                    if n < scratch.len() && self.flags & flag::PEER_FIN == 0 {
                        self.flags &= !flag::READABLE;
                        return ReadOutcome::Drained;
                    }
                    budget = budget.saturating_sub(n);
                    if budget == 0 {
                        return ReadOutcome::Stopped;
                    }
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => {
                    self.flags &= !flag::READABLE;
                    return ReadOutcome::Drained;
                }
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) => return ReadOutcome::Failed(e),
            }
        }
    }

    /// Reads and discards what the peer already sent (bounded), so that closing does not turn
    /// into a reset that could destroy the data we just flushed in the peer's receive path.
    pub fn discard_input(&mut self, scratch: &mut [u8]) {
        if let Some(io) = self.io.as_mut() {
            for _ in 0..4 {
                match io.read(scratch) {
                    Ok(n) if n > 0 => continue,
                    _ => break,
                }
            }
        }
    }

    // ----- writing -----

    /// Queues `data` after what is queued; a queue that was empty starts its write timeout now.
    pub fn queue(&mut self, data: Vec<u8>) {
        if self.wq.is_empty() {
            self.touch_write();
        }
        self.wq.add(data);
    }

    /// Writes queued data while the kernel takes it (sealing it into records first over TLS,
    /// in `scratch`). Returns the bytes written to the socket, or the error.
    pub fn flush(&mut self, scratch: &mut [u8]) -> std::io::Result<usize> {
        if let Filter::Tls(_) = self.filter {
            return self.flush_tls(scratch);
        }
        let Some(io) = self.io.as_mut() else {
            return Ok(0);
        };
        let mut written = 0;
        while !self.wq.is_empty() && self.flags & flag::WRITABLE != 0 {
            let mut slices = [IoSlice::new(&[]); MAX_IOVECS];
            let n = self.wq.peek_slices(&mut slices);
            let res = if n == 1 {
                io.write(&slices[0])
            } else {
                io.write_vectored(&slices[..n])
            };
            match res {
                Ok(0) => return Err(std::io::Error::from(ErrorKind::WriteZero)),
                Ok(k) => {
                    self.wq.drain(k);
                    self.flushed += k as u64;
                    written += k;
                    if let Some(t) = self.timeouts.as_mut() {
                        t.last_write = Instant::now();
                    }
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => {
                    self.flags &= !flag::WRITABLE;
                }
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(written)
    }

    /// Writes `data` at once if nothing is queued before it and the kernel takes it; queues
    /// what is left. Returns the bytes written to the socket now.
    pub fn write_or_queue(&mut self, data: &[u8], scratch: &mut [u8]) -> std::io::Result<usize> {
        if let Filter::Tls(_) = self.filter {
            return self.write_tls_or_queue(data, scratch);
        }
        let mut written = 0;
        if self.wq.is_empty() && self.flags & flag::WRITABLE != 0 {
            if let Some(io) = self.io.as_mut() {
                while written < data.len() {
                    match io.write(&data[written..]) {
                        Ok(0) => return Err(std::io::Error::from(ErrorKind::WriteZero)),
                        Ok(k) => written += k,
                        Err(e) if e.kind() == ErrorKind::WouldBlock => {
                            self.flags &= !flag::WRITABLE;
                            break;
                        }
                        Err(e) if e.kind() == ErrorKind::Interrupted => {}
                        Err(e) => return Err(e),
                    }
                }
                self.flushed += written as u64;
            }
        }
        if written < data.len() {
            self.queue(data[written..].to_vec());
        }
        Ok(written)
    }

    /// Sends FIN once, if not sent yet.
    pub fn shut_write(&mut self) {
        if !self.has(flag::SHUT_WR) {
            self.flags |= flag::SHUT_WR;
            if let Some(io) = self.io.as_mut() {
                io.shutdown_write();
            }
        }
    }

    /// Makes the close a reset, dropping what the kernel still holds.
    pub fn reset_on_close(&self) {
        if let Some(io) = self.io.as_ref() {
            io.reset_on_close();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_idle_connection_is_small() {
        // The idle-connection budget is 512 bytes all told, JS included; the engine keeps ~110
        // of them (the peer address, kept for error messages, is a quarter of that; the filter,
        // a pointer that is null for plain connections, 8).
        let size = std::mem::size_of::<Conn>();
        assert!(size <= 112, "Conn is {size} bytes");
    }

    #[test]
    fn timeouts_apply_only_while_they_mean_something() {
        let now = Instant::now();
        let mut c = Conn::new(Phase::Open);
        assert_eq!(c.read_deadline(), None);
        c.set_timeouts(
            Some(Duration::from_secs(1)),
            Some(Duration::from_secs(2)),
            now,
        );
        assert_eq!(c.read_deadline(), Some(now + Duration::from_secs(1)));
        assert_eq!(c.write_deadline(), None, "nothing queued");
        c.queue(b"x".to_vec());
        assert!(c.write_deadline().is_some());
        c.flags |= flag::EOF;
        assert_eq!(c.read_deadline(), None, "no read timeout after EOF");
    }
}
