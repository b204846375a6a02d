//! Operations in bulk: what a binding gathers during one turn of its own loop (writes, closes,
//! timers, HTTP responses) and hands to the reactor in one call ([`crate::Reactor::apply_ops`],
//! [`crate::Handle::submit_ops`]), instead of one call each.
//!
//! `ops` holds records of [`RECORD`] `u32` words; `data` holds the bytes the records use, in
//! record order (a write's bytes; an HTTP response's header fields as `name NUL value NUL …`
//! then its body). Words 0 and 1 are the op and the object's id; the rest depend on the op.
//! Some ops carry `f64`s in words 4–5 and 6–7 (the low word first: a `Float64Array` over the same
//! memory on a little-endian machine, which every supported target is).
//!
//! | op | words 2–7 | data |
//! | --- | --- | --- |
//! | [`DELAY`] | repeat, 0, seconds (f64) | |
//! | [`TIMER_FREE`] | | |
//! | [`WRITE`] | length, 0, flushed total to report at (f64, < 0: none) | the bytes |
//! | [`NOTIFY_FLUSHED`] | 0, 0, flushed total to report at (f64) | |
//! | [`SET_TIMEOUTS`] | 0, 0, read seconds (f64), write seconds (f64); ≤ 0: none | |
//! | [`ENABLE`] | read, write: 0 unchanged, 1 on, 2 off | |
//! | [`SHUTDOWN`], [`CLOSE_SERVER`] | | |
//! | [`CLOSE`] | force | |
//! | [`HTTP_WHOLE`], [`HTTP_START`] | seq, status, field count, fields length, body length, [`FLAG_CLOSE`] | fields, body |
//! | [`HTTP_CHUNK`] | seq, 0, 0, 0, length, 0 | the bytes |
//! | [`HTTP_FINISH`], [`HTTP_CLOSE_AFTER`] | seq | |
//! | [`HTTP_CLOSE_SERVER`] | graceful | |
//! | [`EMIT_TICKS`] | (word 1: how many) | |

/// Words per record.
pub const RECORD: usize = 8;

/// Schedule timer `id`.
pub const DELAY: u32 = 1;
/// Cancel timer `id`.
pub const TIMER_FREE: u32 = 2;
/// Queue bytes on a socket.
pub const WRITE: u32 = 3;
/// Ask for a `Flushed` event at a total.
pub const NOTIFY_FLUSHED: u32 = 4;
/// Set or clear a socket's timeouts.
pub const SET_TIMEOUTS: u32 = 5;
/// Enable or disable a socket's directions.
pub const ENABLE: u32 = 6;
/// Half-close a socket once its queue drains.
pub const SHUTDOWN: u32 = 7;
/// Close a socket (gracefully, or by force).
pub const CLOSE: u32 = 8;
/// Stop a listener.
pub const CLOSE_SERVER: u32 = 9;
/// A whole HTTP response.
pub const HTTP_WHOLE: u32 = 10;
/// The head of a streamed HTTP response.
pub const HTTP_START: u32 = 11;
/// A piece of a streamed HTTP response.
pub const HTTP_CHUNK: u32 = 12;
/// The end of a streamed HTTP response.
pub const HTTP_FINISH: u32 = 13;
/// Deliver what was given for a request (a streamed response ended), then close: the
/// application failed after answering.
pub const HTTP_CLOSE_AFTER: u32 = 14;
/// Stop an HTTP server: drain its connections or abort them.
pub const HTTP_CLOSE_SERVER: u32 = 15;
/// Emit synthetic `Tick` events (measures delivery).
pub const EMIT_TICKS: u32 = 16;

/// Record flag of an HTTP response: close the connection after it.
pub const FLAG_CLOSE: u32 = 1;

/// One decoded operation.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Op<'a> {
    /// Schedule timer `id` in `seconds` (every `seconds` when `repeat`).
    Delay { id: u32, seconds: f64, repeat: bool },
    /// Cancel a timer.
    TimerFree { id: u32 },
    /// Queue bytes; report `Flushed` once `notify_at` bytes in all reached the kernel.
    Write {
        id: u32,
        data: &'a [u8],
        notify_at: Option<u64>,
    },
    /// Report `Flushed` once `at` bytes in all reached the kernel.
    NotifyFlushed { id: u32, at: u64 },
    /// Set (or clear, `None`) both timeouts, in seconds.
    SetTimeouts {
        id: u32,
        read: Option<f64>,
        write: Option<f64>,
    },
    /// Enable or disable directions (`None`: unchanged).
    Enable {
        id: u32,
        read: Option<bool>,
        write: Option<bool>,
    },
    /// Half-close once the queue drains.
    Shutdown { id: u32 },
    /// Close gracefully or by force.
    Close { id: u32, force: bool },
    /// Stop a listener.
    CloseServer { id: u32 },
    /// An HTTP response (whole, or the head of a streamed one).
    HttpResponse {
        conn: u32,
        seq: u32,
        status: u32,
        /// `HTTP_WHOLE` or `HTTP_START`.
        whole: bool,
        field_count: u32,
        fields: &'a [u8],
        body: &'a [u8],
        close: bool,
    },
    /// A piece of a streamed response.
    HttpChunk { conn: u32, seq: u32, data: &'a [u8] },
    /// The end of a streamed response.
    HttpFinish { conn: u32, seq: u32 },
    /// Deliver what was given, then close.
    HttpCloseAfter { conn: u32, seq: u32 },
    /// Stop an HTTP server.
    HttpCloseServer { id: u32, graceful: bool },
    /// Emit `count` ticks.
    EmitTicks { count: u32 },
    /// An op code this engine does not know (skipped).
    Unknown(u32),
}

fn f64_at(r: &[u32], i: usize) -> f64 {
    f64::from_bits(u64::from(r[i]) | (u64::from(r[i + 1]) << 32))
}

fn seconds_at(r: &[u32], i: usize) -> Option<f64> {
    let s = f64_at(r, i);
    (s.is_finite() && s > 0.0).then_some(s)
}

fn direction(w: u32) -> Option<bool> {
    match w {
        1 => Some(true),
        2 => Some(false),
        _ => None,
    }
}

/// Decodes `ops` and `data` into operations, in order. Lengths that run past `data` yield
/// empty slices (a binding bug must not become a panic).
pub(crate) fn decode<'a>(ops: &'a [u32], data: &'a [u8]) -> impl Iterator<Item = Op<'a>> + 'a {
    let mut off = 0usize;
    let mut take = move |len: u32| {
        let start = off;
        off = off.saturating_add(len as usize);
        data.get(start..off).unwrap_or(&[])
    };
    ops.chunks_exact(RECORD).map(move |r| {
        let (op, id) = (r[0], r[1]);
        match op {
            DELAY => Op::Delay {
                id,
                seconds: f64_at(r, 4),
                repeat: r[2] != 0,
            },
            TIMER_FREE => Op::TimerFree { id },
            WRITE => {
                let at = f64_at(r, 4);
                Op::Write {
                    id,
                    data: take(r[2]),
                    notify_at: (at >= 0.0).then_some(at as u64),
                }
            }
            NOTIFY_FLUSHED => Op::NotifyFlushed {
                id,
                at: f64_at(r, 4).max(0.0) as u64,
            },
            SET_TIMEOUTS => Op::SetTimeouts {
                id,
                read: seconds_at(r, 4),
                write: seconds_at(r, 6),
            },
            ENABLE => Op::Enable {
                id,
                read: direction(r[2]),
                write: direction(r[3]),
            },
            SHUTDOWN => Op::Shutdown { id },
            CLOSE => Op::Close {
                id,
                force: r[2] != 0,
            },
            CLOSE_SERVER => Op::CloseServer { id },
            HTTP_WHOLE | HTTP_START => {
                let fields = take(r[5]);
                let body = take(r[6]);
                Op::HttpResponse {
                    conn: id,
                    seq: r[2],
                    status: r[3],
                    whole: op == HTTP_WHOLE,
                    field_count: r[4],
                    fields,
                    body,
                    close: r[7] & FLAG_CLOSE != 0,
                }
            }
            HTTP_CHUNK => Op::HttpChunk {
                conn: id,
                seq: r[2],
                data: take(r[6]),
            },
            HTTP_FINISH => Op::HttpFinish {
                conn: id,
                seq: r[2],
            },
            HTTP_CLOSE_AFTER => Op::HttpCloseAfter {
                conn: id,
                seq: r[2],
            },
            HTTP_CLOSE_SERVER => Op::HttpCloseServer {
                id,
                graceful: r[2] != 0,
            },
            EMIT_TICKS => Op::EmitTicks { count: id },
            other => Op::Unknown(other),
        }
    })
}

/// The `count` (name, value) pairs of `fields`, or None when the bytes do not hold exactly that
/// many (a NUL inside a name or value shows up this way, and is refused like any bad byte).
pub fn fields(fields: &[u8], count: u32) -> Option<impl Iterator<Item = (&[u8], &[u8])> + '_> {
    let nuls = fields.iter().filter(|b| **b == 0).count();
    if nuls != 2 * count as usize || fields.last().is_some_and(|b| *b != 0) {
        return None;
    }
    let mut parts = fields.split(|b| *b == 0);
    Some((0..count).filter_map(move |_| Some((parts.next()?, parts.next()?))))
}

/// Builds op records (for Rust callers and tests; a binding writes the same layout from its own
/// language).
#[derive(Debug, Default, Clone)]
pub struct OpsWriter {
    /// The records.
    pub ops: Vec<u32>,
    /// The bytes they use.
    pub data: Vec<u8>,
}

impl OpsWriter {
    fn record(&mut self, words: [u32; 4], x: f64, y: f64) {
        let (x, y) = (x.to_bits(), y.to_bits());
        self.ops.extend_from_slice(&words);
        self.ops
            .extend_from_slice(&[x as u32, (x >> 32) as u32, y as u32, (y >> 32) as u32]);
    }

    /// [`DELAY`].
    pub fn delay(&mut self, id: u32, seconds: f64, repeat: bool) {
        self.record([DELAY, id, u32::from(repeat), 0], seconds, 0.0);
    }

    /// [`WRITE`].
    pub fn write(&mut self, id: u32, data: &[u8], notify_at: Option<u64>) {
        self.data.extend_from_slice(data);
        let at = notify_at.map_or(-1.0, |n| n as f64);
        self.record([WRITE, id, data.len() as u32, 0], at, 0.0);
    }

    /// [`EMIT_TICKS`].
    pub fn emit_ticks(&mut self, count: u32) {
        self.record([EMIT_TICKS, count, 0, 0], 0.0, 0.0);
    }

    /// [`CLOSE`].
    pub fn close(&mut self, id: u32, force: bool) {
        self.record([CLOSE, id, u32::from(force), 0], 0.0, 0.0);
    }

    /// [`HTTP_WHOLE`]: fields as (name, value) pairs.
    pub fn http_response(
        &mut self,
        conn: u32,
        seq: u32,
        status: u16,
        fields: &[(&str, &str)],
        body: &[u8],
    ) {
        let start = self.data.len();
        for (n, v) in fields {
            self.data.extend_from_slice(n.as_bytes());
            self.data.push(0);
            self.data.extend_from_slice(v.as_bytes());
            self.data.push(0);
        }
        let fields_len = (self.data.len() - start) as u32;
        self.data.extend_from_slice(body);
        self.ops.extend_from_slice(&[
            HTTP_WHOLE,
            conn,
            seq,
            u32::from(status),
            fields.len() as u32,
            fields_len,
            body.len() as u32,
            0,
        ]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_round_trip() {
        let mut w = OpsWriter::default();
        w.delay(7, 0.25, true);
        w.write(3, b"hello", Some(5));
        w.write(3, b"!", None);
        w.http_response(9, 2, 200, &[("A", "x")], b"body");
        w.close(3, true);
        let got: Vec<Op<'_>> = decode(&w.ops, &w.data).collect();
        assert_eq!(
            got,
            vec![
                Op::Delay {
                    id: 7,
                    seconds: 0.25,
                    repeat: true
                },
                Op::Write {
                    id: 3,
                    data: b"hello",
                    notify_at: Some(5)
                },
                Op::Write {
                    id: 3,
                    data: b"!",
                    notify_at: None
                },
                Op::HttpResponse {
                    conn: 9,
                    seq: 2,
                    status: 200,
                    whole: true,
                    field_count: 1,
                    fields: b"A\0x\0",
                    body: b"body",
                    close: false
                },
                Op::Close { id: 3, force: true },
            ]
        );
    }

    #[test]
    fn lengths_past_the_data_give_empty_slices() {
        let ops = [WRITE, 1, 100, 0, 0, 0, 0, 0, WRITE, 1, 5, 0, 0, 0, 0, 0];
        let got: Vec<_> = decode(&ops, b"abc").collect();
        assert!(matches!(got[0], Op::Write { data: b"", .. }));
        assert!(matches!(got[1], Op::Write { data: b"", .. }));
    }

    #[test]
    fn fields_split_only_when_the_count_matches() {
        let got: Vec<_> = fields(b"A\0x\0B\0\0", 2)
            .map(|f| f.collect())
            .unwrap_or_default();
        assert_eq!(got, vec![(&b"A"[..], &b"x"[..]), (&b"B"[..], &b""[..])]);
        assert!(fields(b"A\0x\0y\0", 1).is_none(), "a NUL inside a value");
        assert!(fields(b"A\0x", 1).is_none(), "truncated");
        assert_eq!(fields(b"", 0).map(|f| f.count()), Some(0));
    }
}
