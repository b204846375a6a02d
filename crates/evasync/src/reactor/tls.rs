//! TLS in the reactor: what the connection's TLS filter reports during reads (the handshake
//! finished, a server name needs a certificate chosen, a failure) is turned into events here,
//! for every upper layer alike; handshake deadlines; STARTTLS; the application's certificate
//! choices.
//!
//! A TLS connection is announced (`Connected`, `Accepted`) only once its handshake is done, right
//! after a `TlsEstablished` event. A server connection whose handshake fails was never
//! announced, so its failure goes to its listener (`ServerError`), as the contract says.

use std::time::Instant;

use crate::conn::{flag, Phase, ReadOutcome};
use crate::error::Error;
use crate::event::{Event, EventSink};
use crate::id::Id;
use crate::net::addr::Endpoint;
#[cfg(feature = "http")]
use crate::reactor::Upper;
use crate::reactor::{Reactor, TimerKey, TlsSide};
use crate::tls::session::TlsSession;
use crate::tls::{handshake_timeout, tls_error, TlsIdentity};

impl Reactor {
    /// Acts on what a TLS read step reported. Returns the outcome left for the upper layer
    /// (data flowed, EOF, an OS error), or None when this was TLS's business.
    pub(super) fn tls_read_outcome(
        &mut self,
        id: Id,
        outcome: ReadOutcome,
        sink: &mut dyn EventSink,
    ) -> Option<ReadOutcome> {
        match outcome {
            ReadOutcome::Established => {
                self.tls_established(id, sink);
                None
            }
            ReadOutcome::AskConfig(name) => {
                let server = self.conns.get(&id).map_or(0, |s| s.server);
                sink.event(Event::TlsSniRequest {
                    server,
                    id,
                    name: &name,
                });
                None
            }
            ReadOutcome::TlsFailed(e) => {
                let err = self.conns.get(&id).map(|s| {
                    let op = if s.conn.handshaking() {
                        "TLS handshake with"
                    } else {
                        "TLS read from"
                    };
                    tls_error(&s.conn.describe(op), &e)
                });
                if let Some(err) = err {
                    self.tls_fail(id, err, sink);
                }
                None
            }
            ReadOutcome::Eof if self.conns.get(&id).is_some_and(|s| s.conn.handshaking()) => {
                let slot = self.conns.get(&id)?;
                let e = rustls::Error::General(
                    "the peer closed the connection before the handshake finished".into(),
                );
                let err = tls_error(&slot.conn.describe("TLS handshake with"), &e);
                let probe =
                    slot.server != 0 && slot.conn.filter.tls().is_some_and(|t| !t.saw_input());
                if probe {
                    // A connection that closed without sending a byte (a port probe, a health
                    // check) attempted no handshake: nothing to report.
                    self.release_conn(id, sink);
                } else {
                    self.tls_fail(id, err, sink);
                }
                None
            }
            other => Some(other),
        }
    }

    /// The handshake of `id` finished: report it, announce the connection, send what waited,
    /// and deliver what arrived with the last handshake flight.
    fn tls_established(&mut self, id: Id, sink: &mut dyn EventSink) {
        let Some(slot) = self.conns.get_mut(&id) else {
            return;
        };
        let conn = &mut slot.conn;
        let Some(info) = conn.filter.tls().map(TlsSession::info) else {
            return;
        };
        // Read and write timeouts count from now: the handshake had its own deadline.
        conn.touch_read();
        conn.touch_write();
        sink.event(Event::TlsEstablished { id, info: &info });
        if !conn.has(flag::ANNOUNCED) && !conn.has(flag::APP_CLOSED) {
            self.announce(id, sink);
        }
        self.arm_read_timer(id);
        self.flush_conn(id, sink);
        self.read_conn(id, sink);
    }

    /// Emits `Connected` or `Accepted` for connection `id` (once).
    pub(super) fn announce(&mut self, id: Id, sink: &mut dyn EventSink) {
        let Some(slot) = self.conns.get_mut(&id) else {
            return;
        };
        let conn = &mut slot.conn;
        if conn.has(flag::ANNOUNCED) {
            return;
        }
        conn.flags |= flag::ANNOUNCED;
        let Some(io) = conn.io.as_ref() else {
            return;
        };
        let fd = io.fd();
        let remote = io.peer_addr().or(conn.peer.map(Endpoint::Inet));
        let (Some(local), Some(remote)) = (io.local_addr(), remote) else {
            return;
        };
        match (&slot.upper, slot.server) {
            #[cfg(feature = "http")]
            (Upper::HttpClient(_), _) => {}
            (_, 0) => sink.event(Event::Connected {
                id,
                fd,
                local,
                remote,
            }),
            (_, server) => sink.event(Event::Accepted {
                server,
                id,
                fd,
                local,
                remote,
            }),
        }
    }

    /// A TLS failure: a server connection never announced reports to its listener; any other
    /// fails as a socket does.
    pub(super) fn tls_fail(&mut self, id: Id, err: Error, sink: &mut dyn EventSink) {
        let Some(slot) = self.conns.get(&id) else {
            return;
        };
        if !slot.conn.has(flag::ANNOUNCED) && slot.server != 0 {
            if self.listeners.contains_key(&slot.server) {
                sink.event(Event::ServerError {
                    id: slot.server,
                    error: err,
                });
            }
            return self.release_conn(id, sink);
        }
        self.fail(id, err, sink);
    }

    /// Starts the handshake deadline of `id`.
    pub(super) fn arm_handshake_timer(&mut self, id: Id, after: std::time::Duration) {
        self.timers
            .schedule(Instant::now() + after, TimerKey::Handshake(id));
    }

    pub(super) fn handshake_timer_fired(&mut self, id: Id, sink: &mut dyn EventSink) {
        let Some(slot) = self.conns.get(&id) else {
            return;
        };
        if slot.conn.handshaking() {
            let err = handshake_timeout(&slot.conn.describe("TLS handshake with"));
            self.tls_fail(id, err, sink);
        }
    }

    /// STARTTLS: the open plain socket `id` becomes a TLS one.
    pub(super) fn start_tls(&mut self, id: Id, side: TlsSide, sink: &mut dyn EventSink) {
        let Some(slot) = self.conns.get_mut(&id) else {
            return;
        };
        let conn = &mut slot.conn;
        if conn.phase != Phase::Open || conn.filter.tls().is_some() {
            let err = Error::new(
                crate::error::ErrorKind::Tls,
                conn.describe("STARTTLS on a socket that is not an open plain one:"),
            );
            return self.fail(id, err, sink);
        }
        let (session, timeout) = match side {
            TlsSide::Server(cfg) => (Ok(TlsSession::server(&cfg)), cfg.handshake_timeout),
            TlsSide::Client(cfg) => {
                let host = conn.peer.map(|p| p.ip().to_string()).unwrap_or_default();
                (TlsSession::client(&cfg, &host), cfg.handshake_timeout)
            }
        };
        match session {
            Ok(session) => {
                conn.start_tls(session);
                self.arm_handshake_timer(id, timeout);
                self.flush_conn(id, sink);
                // Bytes already read past the upgrade point would be lost otherwise.
                self.read_conn(id, sink);
            }
            Err(e) => {
                let err = tls_error(&conn.describe("TLS handshake with"), &e);
                self.fail(id, err, sink);
            }
        }
    }

    /// The application chose the certificate for the handshake of `id`.
    pub(super) fn tls_configure(
        &mut self,
        id: Id,
        answer: Result<Option<TlsIdentity>, String>,
        sink: &mut dyn EventSink,
    ) {
        let server = self.conns.get(&id).map_or(0, |s| s.server);
        let base = self
            .listeners
            .get(&server)
            .and_then(|l| l.tls_config().cloned());
        let Some(slot) = self.conns.get_mut(&id) else {
            return;
        };
        let Some(tls) = slot.conn.filter.tls_mut() else {
            return;
        };
        match answer {
            Ok(identity) => {
                let resumption = tls.offers_resumption();
                let chosen = match (identity, base) {
                    (Some(identity), Some(base)) => Some(base.with_identity(&identity, resumption)),
                    _ => None,
                };
                tls.configure(chosen);
                self.read_conn(id, sink);
                self.flush_conn(id, sink);
            }
            Err(why) => {
                let e = rustls::Error::General(format!("the certificate callback failed: {why}"));
                let err = tls_error(&slot.conn.describe("TLS handshake with"), &e);
                self.tls_fail(id, err, sink);
            }
        }
    }
}
