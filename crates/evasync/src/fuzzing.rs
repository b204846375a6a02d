//! Harnesses for cargo-fuzz (feature `fuzzing`): internal state machines driven the way the
//! reactor drives them, with a clock the fuzzer moves, checking their invariants as they go.

use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::clock::TurnClock;
use crate::event::Event;
use crate::http::parse::{HeaderSpan, PreparedHeaders};
use crate::http::server::{Ctx, HttpConn};
use crate::http::HttpServerOptions;

/// One HTTP server connection, fed bytes, answered, and aged, as the reactor would.
pub struct ServerConnHarness {
    conn: HttpConn,
    clock: TurnClock,
    now: Instant,
    headers: Vec<HeaderSpan>,
    /// Requests reported and not answered yet.
    owed: Vec<u32>,
    closed: bool,
}

impl ServerConnHarness {
    /// A connection with short timeouts (so the fuzzer's clock reaches them).
    pub fn new(stream_body: bool, max_requests: u32) -> ServerConnHarness {
        let opts = HttpServerOptions {
            stream_body,
            max_body_size: 256,
            max_requests_per_connection: max_requests,
            request_timeout: Some(Duration::from_millis(100)),
            keep_alive_timeout: Some(Duration::from_millis(300)),
            ..HttpServerOptions::default()
        };
        let now = Instant::now();
        let mut clock = TurnClock::default();
        clock.set(now);
        ServerConnHarness {
            conn: HttpConn::new(Arc::new(opts), now),
            clock,
            now,
            headers: Vec::new(),
            owed: Vec::new(),
            closed: false,
        }
    }

    /// True once the connection decided to close.
    pub fn closed(&self) -> bool {
        self.closed
    }

    fn note(&mut self, eff: crate::http::server::Effects) {
        self.closed |= eff.close;
        self.conn.responses.out.clear();
    }

    /// Bytes arrive.
    pub fn feed(&mut self, data: &[u8]) {
        if self.closed {
            return;
        }
        let mut owed = std::mem::take(&mut self.owed);
        let mut ctx = Ctx::new(1, &self.clock, &mut self.headers);
        let eff = self.conn.feed(data, &mut ctx, &mut |ev: Event<'_>| {
            if let Event::HttpRequest { seq, .. } = ev {
                owed.push(seq);
            }
        });
        self.owed = owed;
        self.note(eff);
    }

    /// Time passes; the connection's deadline fires as the reactor's timer would. A deadline
    /// that fires must not still be due after it fired (a timer re-armed in the past spins).
    pub fn advance(&mut self, ms: u16) {
        self.now += Duration::from_millis(u64::from(ms));
        self.clock.set(self.now);
        for _ in 0..4 {
            if self.closed {
                return;
            }
            match self.conn.deadline() {
                Some(d) if d <= self.now => {
                    let mut ctx = Ctx::new(1, &self.clock, &mut self.headers);
                    ctx.now = self.now;
                    let eff = self.conn.timed_out(&mut ctx);
                    self.note(eff);
                    let again = self.conn.deadline().is_some_and(|d| d <= self.now);
                    assert!(self.closed || !again, "a deadline still due after it fired");
                }
                _ => return,
            }
        }
        panic!("a deadline fired four times at one instant");
    }

    /// The application answers one owed request (`pick` chooses which and how).
    pub fn respond(&mut self, pick: u8) {
        if self.closed || self.owed.is_empty() {
            return;
        }
        let seq = self.owed.swap_remove(usize::from(pick) % self.owed.len());
        let headers = PreparedHeaders::default();
        let eff = match pick % 4 {
            0 => self
                .conn
                .respond(seq, 200, &headers, b"body", false, &self.clock),
            1 => {
                self.conn.start(seq, 200, &headers, false, &self.clock);
                self.conn.chunk(seq, b"piece");
                self.conn.finish(seq, &self.clock)
            }
            2 => self.conn.close_after(seq),
            _ => self
                .conn
                .respond(seq, 204, &headers, b"", true, &self.clock),
        };
        self.note(eff);
    }

    /// The peer half-closes.
    pub fn peer_finished(&mut self) {
        if !self.closed {
            let eff = self.conn.peer_finished();
            self.note(eff);
        }
    }

    /// The server closes gracefully.
    pub fn drain(&mut self) {
        if !self.closed {
            let eff = self.conn.drain();
            self.note(eff);
        }
    }
}

/// One TLS server session fed arbitrary bytes in arbitrary pieces, as the reactor's reads would
/// deliver them; whatever it accepts, it must never panic, and an idle session must hold no
/// more than its bounded input buffer.
pub struct TlsServerHarness {
    session: crate::tls::session::TlsSession,
    /// A client hello (and more of a real handshake) to start from, when the input asks.
    client: Option<crate::tls::session::TlsSession>,
    failed: bool,
}

impl TlsServerHarness {
    /// A server session with `config`; with `real_hello`, the input is preceded by a genuine
    /// ClientHello so the fuzzer's bytes reach the states after it.
    pub fn new(
        config: &crate::tls::TlsServerConfig,
        client: Option<&crate::tls::TlsClientConfig>,
    ) -> TlsServerHarness {
        let mut h = TlsServerHarness {
            session: crate::tls::session::TlsSession::server(config),
            client: client
                .and_then(|c| crate::tls::session::TlsSession::client(c, "localhost").ok()),
            failed: false,
        };
        if let Some(c) = h.client.as_mut() {
            let mut hello = c.pending_out().to_vec();
            let n = hello.len();
            c.sent(n);
            h.feed(&mut hello);
        }
        h
    }

    /// Bytes arrive.
    pub fn feed(&mut self, data: &mut [u8]) {
        if self.failed {
            return;
        }
        let mut r = self.session.receive(data, &mut |_| {});
        loop {
            match r {
                crate::tls::session::Received::Failed(_) => {
                    self.failed = true;
                    return;
                }
                crate::tls::session::Received::AskConfig(_) => self.session.configure(None),
                _ => {}
            }
            if !self.session.wants_resume() {
                break;
            }
            r = self.session.resume(&mut |_| {});
        }
        let out = self.session.pending_out().len();
        self.session.sent(out);
        if self.session.is_established() {
            let mut dst = vec![0u8; crate::tls::session::sealed_len(100)];
            let _ = self.session.seal(&[b'x'; 100], &mut dst);
        }
    }
}
