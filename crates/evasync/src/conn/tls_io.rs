//! A connection's read and write steps when its filter is TLS.
//!
//! Reading: ciphertext is read into the reactor's scratch buffer (or, when part of a record is
//! held, straight after it), processed, and the plaintext handed to the layer above. Writing:
//! queued plaintext is sealed into records in the scratch buffer, up to three full records at a
//! time, and written from there; only what the socket does not take is kept. The write queue
//! stays the one queue the watermarks see; rustls holds nothing of its own.

use std::io::{ErrorKind, IoSlice};
use std::time::Instant;

use crate::buffer::MAX_IOVECS;
use crate::conn::{flag, Conn, Filter, ReadOutcome};
use crate::tls::session::{sealed_len, Received, TlsSession, MAX_FRAGMENT, RECORD_OVERHEAD};

/// Plaintext sealed per step: as many full records as fit in a 64 KiB scratch buffer.
fn seal_budget(scratch: usize) -> usize {
    (scratch / (MAX_FRAGMENT + RECORD_OVERHEAD)).max(1) * MAX_FRAGMENT
}

impl Conn {
    /// Makes this open plain connection a TLS one (STARTTLS): what is queued now still leaves
    /// in plain text, everything after is sealed.
    pub fn start_tls(&mut self, session: TlsSession) {
        let mut session = Box::new(session);
        session.plain_prefix = self.wq.len();
        self.filter = Filter::Tls(session);
    }

    /// True when the TLS session holds input to process before the socket is read again.
    pub fn tls_wants_resume(&self) -> bool {
        self.filter.tls().is_some_and(TlsSession::wants_resume)
    }

    /// The TLS read step (see [`Conn::read_some`]).
    pub(super) fn read_tls(
        &mut self,
        scratch: &mut [u8],
        mut budget: usize,
        deliver: &mut dyn FnMut(&[u8]),
    ) -> ReadOutcome {
        let (Some(io), Filter::Tls(tls)) = (self.io.as_mut(), &mut self.filter) else {
            return ReadOutcome::Drained;
        };
        let timeouts = &mut self.timeouts;
        let mut deliver = |data: &[u8]| {
            // Read timeouts count plaintext progress.
            if let Some(t) = timeouts.as_mut() {
                t.last_read = Instant::now();
            }
            deliver(data);
        };
        if tls.wants_resume() {
            if let Some(outcome) = outcome_of(tls.resume(&mut deliver)) {
                return outcome;
            }
        }
        if self.flags & flag::READABLE == 0 {
            return ReadOutcome::Drained;
        }
        loop {
            let want = scratch.len();
            let (res, in_place) = match tls.read_target(want) {
                Some(target) => (io.read(target), true),
                None => (io.read(scratch), false),
            };
            match res {
                Ok(0) => return ReadOutcome::Eof,
                Ok(n) => {
                    let received = if in_place {
                        tls.received_in_place(n, &mut deliver)
                    } else {
                        tls.receive(&mut scratch[..n], &mut deliver)
                    };
                    if let Some(outcome) = outcome_of(received) {
                        return outcome;
                    }
                    if n < want && self.flags & flag::PEER_FIN == 0 {
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

    /// Writes the TLS records waiting (handshake flights, alerts, what a full socket left)
    /// while the socket takes them. Returns the bytes written.
    pub(super) fn send_tls_output(&mut self) -> std::io::Result<usize> {
        let (Some(io), Filter::Tls(tls)) = (self.io.as_mut(), &mut self.filter) else {
            return Ok(0);
        };
        let mut written = 0;
        while !tls.pending_out().is_empty() && self.flags & flag::WRITABLE != 0 {
            match io.write(tls.pending_out()) {
                Ok(0) => return Err(std::io::Error::from(ErrorKind::WriteZero)),
                Ok(k) => {
                    written += k;
                    self.flushed += tls.sent(k);
                    if let Some(t) = self.timeouts.as_mut() {
                        t.last_write = Instant::now();
                    }
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => self.flags &= !flag::WRITABLE,
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(written)
    }

    /// The TLS flush (see [`Conn::flush`]).
    pub(super) fn flush_tls(&mut self, scratch: &mut [u8]) -> std::io::Result<usize> {
        let mut written = self.flush_plain_prefix()?;
        loop {
            written += self.send_tls_output()?;
            let Filter::Tls(tls) = &mut self.filter else {
                return Ok(written);
            };
            if !tls.pending_out().is_empty()
                || self.wq.is_empty()
                || !tls.is_established()
                || self.flags & flag::WRITABLE == 0
            {
                return Ok(written);
            }
            let budget = seal_budget(scratch.len());
            let mut coalesced = [0u8; MAX_FRAGMENT];
            let (plain_len, sealed) = {
                let mut slices = [IoSlice::new(&[]); MAX_IOVECS];
                let n = self.wq.peek_slices(&mut slices);
                let first: &[u8] = &slices[0];
                if n == 1 || first.len() >= MAX_FRAGMENT {
                    // One big piece: sealed from where it lies.
                    let plain = &first[..first.len().min(budget)];
                    (plain.len(), tls.seal(plain, scratch))
                } else {
                    // Small pieces share a record, as a head and body should.
                    let mut len = 0;
                    for s in &slices[..n] {
                        let take = s.len().min(MAX_FRAGMENT - len);
                        coalesced[len..len + take].copy_from_slice(&s[..take]);
                        len += take;
                        if len == MAX_FRAGMENT {
                            break;
                        }
                    }
                    (len, tls.seal(&coalesced[..len], scratch))
                }
            };
            let sealed = sealed.map_err(|e| std::io::Error::new(ErrorKind::InvalidData, e))?;
            self.wq.drain(plain_len);
            written += self.write_sealed(&scratch[..sealed], plain_len as u64)?;
        }
    }

    /// Writes freshly sealed records; what the socket does not take is kept with the session.
    fn write_sealed(&mut self, records: &[u8], plain: u64) -> std::io::Result<usize> {
        let (Some(io), Filter::Tls(tls)) = (self.io.as_mut(), &mut self.filter) else {
            return Ok(0);
        };
        let mut done = 0;
        while done < records.len() {
            match io.write(&records[done..]) {
                Ok(0) => return Err(std::io::Error::from(ErrorKind::WriteZero)),
                Ok(k) => done += k,
                Err(e) if e.kind() == ErrorKind::WouldBlock => {
                    self.flags &= !flag::WRITABLE;
                    break;
                }
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        if done > 0 {
            if let Some(t) = self.timeouts.as_mut() {
                t.last_write = Instant::now();
            }
        }
        if done < records.len() {
            tls.hold_out(&records[done..], plain);
        } else {
            self.flushed += plain;
        }
        Ok(done)
    }

    /// STARTTLS: bytes queued before the upgrade leave as they are, before any record.
    fn flush_plain_prefix(&mut self) -> std::io::Result<usize> {
        let (Some(io), Filter::Tls(tls)) = (self.io.as_mut(), &mut self.filter) else {
            return Ok(0);
        };
        let mut written = 0;
        while tls.plain_prefix > 0 && self.flags & flag::WRITABLE != 0 {
            let mut slices = [IoSlice::new(&[]); MAX_IOVECS];
            let n = self.wq.peek_slices(&mut slices);
            let first = &slices[0][..slices[0].len().min(tls.plain_prefix)];
            let _ = n;
            match io.write(first) {
                Ok(0) => return Err(std::io::Error::from(ErrorKind::WriteZero)),
                Ok(k) => {
                    self.wq.drain(k);
                    tls.plain_prefix -= k;
                    self.flushed += k as u64;
                    written += k;
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => self.flags &= !flag::WRITABLE,
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(written)
    }

    /// The TLS [`Conn::write_or_queue`]: sealed and written at once when nothing waits before
    /// it and the handshake is done; queued otherwise.
    pub(super) fn write_tls_or_queue(
        &mut self,
        data: &[u8],
        scratch: &mut [u8],
    ) -> std::io::Result<usize> {
        let ready = self.wq.is_empty()
            && self.flags & flag::WRITABLE != 0
            && self.filter.tls().is_some_and(|s| {
                s.is_established() && s.pending_out().is_empty() && s.plain_prefix == 0
            });
        let mut taken = 0;
        let mut written = 0;
        if ready {
            let budget = seal_budget(scratch.len());
            while taken < data.len() && self.flags & flag::WRITABLE != 0 {
                let Filter::Tls(tls) = &mut self.filter else {
                    break;
                };
                if !tls.pending_out().is_empty() {
                    break;
                }
                let plain = &data[taken..data.len().min(taken + budget)];
                debug_assert!(sealed_len(plain.len()) <= scratch.len());
                let sealed = tls
                    .seal(plain, scratch)
                    .map_err(|e| std::io::Error::new(ErrorKind::InvalidData, e))?;
                taken += plain.len();
                written += self.write_sealed(&scratch[..sealed], plain.len() as u64)?;
            }
        }
        if taken < data.len() {
            self.queue(data[taken..].to_vec());
        }
        Ok(written)
    }

    /// Graceful close over TLS: puts `close_notify` in the output once. True when it was added
    /// (the caller flushes it before the FIN).
    pub fn queue_close_notify(&mut self) -> bool {
        match self.filter.tls_mut() {
            Some(tls) if tls.owes_close_notify() => {
                tls.close_notify();
                true
            }
            _ => false,
        }
    }
}

/// The read outcome a TLS processing result ends the read with, if any.
fn outcome_of(r: Received) -> Option<ReadOutcome> {
    match r {
        Received::NeedMore => None,
        Received::Established => Some(ReadOutcome::Established),
        Received::PeerClosed => Some(ReadOutcome::Eof),
        Received::AskConfig(name) => Some(ReadOutcome::AskConfig(name)),
        Received::Failed(e) => Some(ReadOutcome::TlsFailed(e)),
    }
}
