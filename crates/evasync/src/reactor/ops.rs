//! Operations in bulk ([`crate::wire::ops`]): a binding's whole turn of writes, closes, timers
//! and HTTP responses, applied in one call, then the responses written (one write per
//! connection).

use std::time::Duration;

use crate::event::{Event, EventSink};
#[cfg(feature = "http")]
use crate::http::parse::PreparedHeaders;
use crate::id::Id;
#[cfg(feature = "http")]
use crate::reactor::http_server::Part;
use crate::reactor::Reactor;
#[cfg(feature = "http")]
use crate::wire::ops::fields;
use crate::wire::ops::{decode, Op};

impl Reactor {
    /// A write whose bytes the caller lends for this call only (a large JS Buffer under the
    /// `main` driver, which so skips copying it into the op memory): written straight from
    /// them as far as the kernel takes them, the rest copied into the queue. Operations written
    /// before it must have been applied. Returns the connection's flushed total, as
    /// [`Reactor::apply_ops`] does for its writes; None when the connection is gone.
    pub fn write_lent(
        &mut self,
        id: Id,
        data: &[u8],
        notify_at: Option<u64>,
        sink: &mut dyn EventSink,
    ) -> Option<u64> {
        self.clock.refresh();
        self.write(id, data, notify_at, sink);
        self.flushed_total(id)
    }

    /// Applies `ops` (with the bytes in `data`) in order, then writes what they deferred. When
    /// `results` is given (one slot per record), a write's slot receives the bytes of its socket
    /// in the kernel afterwards, so a driver on the reactor's thread learns at once what went
    /// out; other slots are set to -1.
    pub fn apply_ops(
        &mut self,
        ops: &[u32],
        data: &[u8],
        mut results: Option<&mut [f64]>,
        sink: &mut dyn EventSink,
    ) {
        self.clock.refresh();
        let now = self.clock.instant();
        #[cfg(feature = "http")]
        let mut prepared = std::mem::take(&mut self.http.prepared);
        for (i, op) in decode(ops, data).enumerate() {
            if self.stopped {
                break;
            }
            let mut written = None;
            match op {
                Op::Delay {
                    id,
                    seconds,
                    repeat,
                } => {
                    let d = seconds_or_zero(seconds);
                    let interval = repeat.then_some(d.max(Duration::from_micros(1)));
                    self.timer_add(id, now + d, interval);
                }
                Op::TimerFree { id } => self.timer_free(id),
                Op::Write {
                    id,
                    data,
                    notify_at,
                } => {
                    self.write(id, data, notify_at, sink);
                    written = self.flushed_total(id);
                }
                Op::NotifyFlushed { id, at } => self.notify_flushed(id, at, sink),
                Op::SetTimeouts { id, read, write } => {
                    self.set_timeouts(id, read.map(seconds_or_zero), write.map(seconds_or_zero))
                }
                Op::Enable { id, read, write } => self.enable(id, read, write, sink),
                Op::Shutdown { id } => self.shutdown(id, sink),
                Op::Close { id, force } => self.close(id, force, sink),
                Op::CloseServer { id } => self.close_server(id),
                #[cfg(feature = "http")]
                Op::HttpResponse {
                    conn,
                    seq,
                    status,
                    whole,
                    field_count,
                    fields: f,
                    body,
                    close,
                } => {
                    let status = u16::try_from(status).unwrap_or(0);
                    let checked = fields(f, field_count)
                        .and_then(|f| prepared.refill(f).ok())
                        .filter(|_| (100..=999).contains(&status))
                        .filter(|_| {
                            !whole || prepared.check_body(status, body.len() as u64).is_ok()
                        });
                    let part = match (checked, whole) {
                        (Some(()), true) => Part::Whole {
                            status,
                            headers: &prepared,
                            body,
                            close,
                        },
                        (Some(()), false) => Part::Head {
                            status,
                            headers: &prepared,
                            close,
                        },
                        // The binding checks before queuing; should a bad response get here
                        // anyway, the client gets a 500 rather than a broken message.
                        (None, _) => {
                            prepared = PreparedHeaders::default();
                            Part::Whole {
                                status: 500,
                                headers: &prepared,
                                body: &[],
                                close: true,
                            }
                        }
                    };
                    self.http_response(conn, seq, part, sink);
                }
                #[cfg(feature = "http")]
                Op::HttpChunk { conn, seq, data } => {
                    self.http_response(conn, seq, Part::Chunk(data), sink)
                }
                #[cfg(feature = "http")]
                Op::HttpFinish { conn, seq } => self.http_response(conn, seq, Part::End, sink),
                #[cfg(feature = "http")]
                Op::HttpCloseAfter { conn, seq } => {
                    self.http_response(conn, seq, Part::CloseAfter, sink)
                }
                #[cfg(feature = "http")]
                Op::HttpCloseServer { id, graceful } => self.http_close_server(id, graceful, sink),
                Op::EmitTicks { count } => {
                    for seq in 0..count {
                        sink.event(Event::Tick { seq });
                    }
                }
                // A build without HTTP has no HTTP connections for these to act on.
                #[cfg(not(feature = "http"))]
                Op::HttpResponse { .. }
                | Op::HttpChunk { .. }
                | Op::HttpFinish { .. }
                | Op::HttpCloseAfter { .. }
                | Op::HttpCloseServer { .. } => {}
                Op::Unknown(_) => {}
            }
            if let Some(slot) = results.as_deref_mut().and_then(|r| r.get_mut(i)) {
                *slot = written.map_or(-1.0, |n| n as f64);
            }
        }
        #[cfg(feature = "http")]
        {
            self.http.prepared = prepared;
            self.flush_deferred(sink);
        }
    }
}

/// Seconds (a binding's number) as a Duration; negative, NaN and infinite clamp to sane bounds.
fn seconds_or_zero(s: f64) -> Duration {
    if s.is_finite() && s > 0.0 {
        Duration::from_secs_f64(s.min(1e9))
    } else {
        Duration::ZERO
    }
}
