//! Happy Eyeballs (RFC 8305) for outgoing connections: the addresses of a name are tried IPv6
//! first, the families alternating; a new attempt starts every 250 ms while earlier ones are
//! still pending (or at once when one fails), and the first to connect wins: the others are
//! closed. Each attempt has its own socket and token until it wins.

use std::io;
use std::time::{Duration, Instant};

use mio::{Interest, Token};

use crate::error::Error;
use crate::event::EventSink;
use crate::id::Id;
use crate::reactor::{Reactor, TimerKey};
use crate::tcp::conn::{Connecting, Phase, Racer};
use crate::tcp::reactor_tcp::open_stream;

/// RFC 8305's recommended "Connection Attempt Delay".
pub const ATTEMPT_DELAY: Duration = Duration::from_millis(250);

impl Reactor {
    /// Starts the next address's attempt; with more addresses left, schedules the one after.
    /// Fails the connection when nothing is left to try and nothing is pending.
    pub(crate) fn start_attempt(&mut self, id: Id, sink: &mut dyn EventSink) {
        loop {
            let next_id = self.handle().next_id();
            let Some(conn) = self.conns.get_mut(&id) else {
                return;
            };
            let Some(c) = conn.connecting.as_mut() else {
                return;
            };
            let Some(addr) = c.addrs.pop() else {
                if c.racers.is_empty() {
                    let err = c
                        .last_error
                        .take()
                        .unwrap_or_else(|| io::Error::from(io::ErrorKind::ConnectionRefused));
                    let e = Error::io(format!("connect to {}", c.target), &err);
                    self.fail(id, e, sink);
                }
                return;
            };
            let opened = open_stream(addr, c.opts.local_address).and_then(|mut stream| {
                let interest = Interest::READABLE | Interest::WRITABLE;
                self.poll
                    .registry()
                    .register(&mut stream, Token(next_id as usize), interest)
                    .map(|()| stream)
            });
            match opened {
                Ok(stream) => {
                    c.racers.push(Racer {
                        id: next_id,
                        stream,
                        addr,
                    });
                    let more = !c.addrs.is_empty();
                    let gen = conn.timer_gen;
                    self.racer_owner.insert(next_id, id);
                    if more {
                        self.timers
                            .schedule(Instant::now() + ATTEMPT_DELAY, TimerKey::Stagger(id, gen));
                    }
                    return;
                }
                Err(e) => c.last_error = Some(e),
            }
        }
    }

    /// The attempt delay passed: start another attempt if the race is still on.
    pub(crate) fn stagger_fired(&mut self, id: Id, gen: u32, sink: &mut dyn EventSink) {
        let Some(conn) = self.conns.get(&id) else {
            return;
        };
        let pending = conn
            .connecting
            .as_ref()
            .is_some_and(|c| !c.addrs.is_empty() && !c.racers.is_empty());
        if conn.timer_gen == gen && conn.phase == Phase::Connecting && pending {
            self.start_attempt(id, sink);
        }
    }

    /// Readiness on an attempt's socket: it failed (try on) or connected (it wins).
    pub(crate) fn racer_ready(
        &mut self,
        owner: Id,
        rid: Id,
        readable: bool,
        writable: bool,
        read_closed: bool,
        sink: &mut dyn EventSink,
    ) {
        let Some(conn) = self.conns.get_mut(&owner) else {
            self.racer_owner.remove(&rid);
            return;
        };
        let Some(c) = conn.connecting.as_mut() else {
            return;
        };
        let Some(pos) = c.racers.iter().position(|r| r.id == rid) else {
            return;
        };
        let stream = &c.racers[pos].stream;
        let failure = match stream.take_error() {
            Ok(Some(e)) | Err(e) => Some(e),
            Ok(None) => match stream.peer_addr() {
                Ok(_) => None,
                Err(e) if e.kind() == io::ErrorKind::NotConnected => return,
                Err(e) => Some(e),
            },
        };
        let mut racer = c.racers.swap_remove(pos);
        self.racer_owner.remove(&rid);
        let _ = self.poll.registry().deregister(&mut racer.stream);
        if let Some(e) = failure {
            c.last_error = Some(e);
            if c.racers.is_empty() {
                // Nothing pending: the next address need not wait for the delay.
                self.start_attempt(owner, sink);
            }
            return;
        }
        // The winner: the others are closed, its socket becomes the connection's.
        let mut losers = std::mem::take(&mut c.racers);
        for l in &mut losers {
            let _ = self.poll.registry().deregister(&mut l.stream);
            self.racer_owner.remove(&l.id);
        }
        drop(losers);
        c.addrs.clear();
        let interest = Interest::READABLE | Interest::WRITABLE;
        if let Err(e) =
            self.poll
                .registry()
                .register(&mut racer.stream, Token(owner as usize), interest)
        {
            let err = Error::io(format!("connect to {}", racer.addr), &e);
            self.fail(owner, err, sink);
            return;
        }
        conn.peer = Some(racer.addr);
        conn.stream = Some(racer.stream);
        // A connected socket is writable; whatever else the event said still applies.
        let _ = writable;
        self.socket_ready(owner, readable, true, read_closed, sink);
    }

    /// Closes every attempt of a connection that is going away.
    pub(crate) fn drop_racers(&mut self, c: &mut Connecting) {
        for mut r in c.racers.drain(..) {
            let _ = self.poll.registry().deregister(&mut r.stream);
            self.racer_owner.remove(&r.id);
        }
    }
}
