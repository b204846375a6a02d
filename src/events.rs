//! Engine events → JS, in batches. A batch is a flat `u32` record array (`[kind, id, a, b]` per
//! event) plus one byte arena holding data and text; JS walks the records and slices the arena.
//! Under the thread driver, batches wait in the [`Outbox`] and the ThreadsafeFunction is called
//! only when the outbox goes from empty to non-empty (an atomic flag), never once per event.

use std::io::Write as _;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use evasync::{Error, Event, EventSink, Handle};
use napi::threadsafe_function::{ThreadsafeFunction, ThreadsafeFunctionCallMode};
use napi::Status;

/// Record kinds; `lib/events.ts` mirrors these numbers.
pub mod kind {
    pub const TIMER: u32 = 1;
    pub const CONNECTED: u32 = 2;
    pub const ACCEPTED: u32 = 3;
    pub const DATA: u32 = 4;
    pub const FLUSHED: u32 = 5;
    pub const EOF: u32 = 6;
    pub const FAILED: u32 = 7;
    pub const FLUSH_FAILED: u32 = 8;
    pub const RELEASED: u32 = 9;
    pub const SERVER_ERROR: u32 = 10;
    pub const TICK: u32 = 11;
    pub const FATAL: u32 = 12;
    /// `[13, conn, off, len]` then `[seq, methodLen | flags << 16, targetLen, headersLen]`;
    /// the arena holds method, target, `name\0value\0…`, body.
    pub const HTTP_REQUEST: u32 = 13;
    pub const HTTP_BODY: u32 = 14;
    pub const HTTP_BODY_END: u32 = 15;
    /// A lookup's addresses, space-separated text.
    pub const DNS_ADDRS: u32 = 16;
    /// A reverse lookup's name.
    pub const DNS_NAME: u32 = 17;
    /// A lookup failed (error text as FAILED).
    pub const DNS_FAILED: u32 = 18;
    /// `[19, request, off, len]` then `[status, headersLen, 0, 0]`; the arena holds
    /// `name\0value\0…` then the body.
    pub const HTTP_RESPONSE: u32 = 19;
    /// A client request failed (error text as FAILED).
    pub const HTTP_CLIENT_FAILED: u32 = 20;
}

/// Flags of an HTTP_REQUEST record.
pub mod http_flag {
    /// The body is complete (not streamed).
    pub const COMPLETE: u32 = 1;
    /// HTTP/1.0.
    pub const HTTP10: u32 = 2;
}

/// Arenas kept for reuse. A batch arena is handed to JS as an external Buffer; when V8
/// collects it, its finalizer puts the memory back here instead of freeing it, so the data path
/// reuses memory that is already mapped (fresh memory cost a page fault, and a 2 MiB clear
/// under transparent huge pages, per batch: most of a bulk transfer's CPU).
const ARENA_POOL_MAX: usize = 4;
/// Arenas larger than this are freed rather than kept.
const ARENA_KEEP_MAX_CAPACITY: usize = 512 * 1024;
/// An arena whose capacity exceeds both this and four times its contents is shrunk before it
/// is lent to JS, so a small batch never pins a big buffer until the next garbage collection.
const ARENA_SHRINK_ABOVE: usize = 64 * 1024;

/// Undelivered arena bytes above which the reactor stops reading sockets: JS is behind, and
/// TCP flow control should slow the peers rather than memory grow without bound.
const BACKLOG_HIGH: usize = 16 * 1024 * 1024;
/// Arena bytes one turn may gather before reads pause until the batch is published, so a single
/// batch stays a bounded piece of work for JS.
const BATCH_HIGH: usize = 4 * 1024 * 1024;

/// One batch of encoded events.
#[derive(Default)]
pub struct Batch {
    pub records: Vec<u32>,
    pub arena: Vec<u8>,
}

impl Batch {
    pub fn is_empty(&self) -> bool {
        self.records.is_empty()
    }

    fn push(&mut self, kind: u32, id: u32, a: u32, b: u32) {
        self.records.extend_from_slice(&[kind, id, a, b]);
    }

    /// Formats text straight into the arena (no intermediate String), returning (offset, length).
    fn text(&mut self, f: impl FnOnce(&mut Vec<u8>)) -> (u32, u32) {
        let off = self.arena.len();
        f(&mut self.arena);
        (off as u32, (self.arena.len() - off) as u32)
    }

    fn error(&mut self, kind: u32, id: u32, e: &Error) {
        let (off, len) = self.text(|s| {
            let _ = write!(s, "{}\u{1}{}\u{1}{}", e.kind as u8, e.errno, e.message);
        });
        self.push(kind, id, off, len);
    }

    /// Encodes one engine event.
    pub fn encode(&mut self, ev: Event<'_>) {
        match ev {
            Event::TimerFired { id } => self.push(kind::TIMER, id, 0, 0),
            Event::Connected {
                id,
                fd,
                local,
                remote,
            } => {
                let (off, len) = self.text(|s| {
                    let _ = write!(s, "0 {fd} {local} {remote}");
                });
                self.push(kind::CONNECTED, id, off, len);
            }
            Event::Accepted {
                server,
                id,
                fd,
                local,
                remote,
            } => {
                let (off, len) = self.text(|s| {
                    let _ = write!(s, "{server} {fd} {local} {remote}");
                });
                self.push(kind::ACCEPTED, id, off, len);
            }
            Event::Data { id, data } => {
                let off = self.arena.len() as u32;
                self.arena.extend_from_slice(data);
                self.push(kind::DATA, id, off, data.len() as u32);
            }
            Event::Flushed { id, total } => {
                self.push(kind::FLUSHED, id, total as u32, (total >> 32) as u32)
            }
            Event::Eof { id } => self.push(kind::EOF, id, 0, 0),
            Event::Failed { id, error } => self.error(kind::FAILED, id, &error),
            Event::FlushFailed { id, error } => self.error(kind::FLUSH_FAILED, id, &error),
            Event::Released { id } => self.push(kind::RELEASED, id, 0, 0),
            Event::ServerError { id, error } => self.error(kind::SERVER_ERROR, id, &error),
            Event::Tick { seq } => self.push(kind::TICK, seq, 0, 0),
            Event::HttpRequest {
                id,
                seq,
                head,
                head_bytes,
                headers,
                body,
                complete,
            } => {
                let off = self.arena.len();
                let method = head.method.of(head_bytes);
                let target = head.target.of(head_bytes);
                self.arena.extend_from_slice(method);
                self.arena.extend_from_slice(target);
                let headers_start = self.arena.len();
                for h in headers {
                    self.arena.extend_from_slice(h.name.of(head_bytes));
                    self.arena.push(0);
                    self.arena.extend_from_slice(h.value.of(head_bytes));
                    self.arena.push(0);
                }
                let headers_len = self.arena.len() - headers_start;
                self.arena.extend_from_slice(body);
                let mut flags = 0;
                if complete {
                    flags |= http_flag::COMPLETE;
                }
                if head.version == evasync::http::parse::Version::Http10 {
                    flags |= http_flag::HTTP10;
                }
                let len = self.arena.len() - off;
                self.push(kind::HTTP_REQUEST, id, off as u32, len as u32);
                self.records.extend_from_slice(&[
                    seq,
                    (method.len() as u32 & 0xffff) | (flags << 16),
                    target.len() as u32,
                    headers_len as u32,
                ]);
            }
            Event::DnsResolved {
                id,
                result,
                valid_until,
            } => match result {
                Ok(evasync::dns::DnsAnswer::Addrs(addrs)) => {
                    // "<ttl ms>;<addr> <addr>…": JS keeps the answer that long.
                    let ttl_ms = valid_until.map_or(0, |u| {
                        u.saturating_duration_since(std::time::Instant::now())
                            .as_millis()
                    });
                    let (off, len) = self.text(|s| {
                        let _ = write!(s, "{ttl_ms};");
                        for (i, a) in addrs.iter().enumerate() {
                            let sep = if i == 0 { "" } else { " " };
                            let _ = write!(s, "{sep}{a}");
                        }
                    });
                    self.push(kind::DNS_ADDRS, id, off, len);
                }
                Ok(evasync::dns::DnsAnswer::Name(name)) => {
                    let (off, len) = self.text(|s| s.extend_from_slice(name.as_bytes()));
                    self.push(kind::DNS_NAME, id, off, len);
                }
                Err(e) => self.error(kind::DNS_FAILED, id, &e),
            },
            Event::HttpResponse {
                id,
                status,
                head_bytes,
                headers,
                body,
            } => {
                let off = self.arena.len();
                for h in headers {
                    self.arena.extend_from_slice(h.name.of(head_bytes));
                    self.arena.push(0);
                    self.arena.extend_from_slice(h.value.of(head_bytes));
                    self.arena.push(0);
                }
                let headers_len = self.arena.len() - off;
                self.arena.extend_from_slice(body);
                let len = self.arena.len() - off;
                self.push(kind::HTTP_RESPONSE, id, off as u32, len as u32);
                self.records
                    .extend_from_slice(&[u32::from(status), headers_len as u32, 0, 0]);
            }
            Event::HttpClientFailed { id, error } => {
                self.error(kind::HTTP_CLIENT_FAILED, id, &error)
            }
            Event::HttpBody { id, data, finished } => {
                let off = self.arena.len() as u32;
                self.arena.extend_from_slice(data);
                let k = if finished {
                    kind::HTTP_BODY_END
                } else {
                    kind::HTTP_BODY
                };
                self.push(k, id, off, data.len() as u32);
            }
        }
    }

    /// Encodes a fatal reactor failure.
    pub fn fatal(&mut self, message: &str) {
        let (off, len) = self.text(|s| s.extend_from_slice(message.as_bytes()));
        self.push(kind::FATAL, 0, off, len);
    }
}

/// The ThreadsafeFunction that tells JS "batches are waiting": no arguments, errors handled by
/// JS itself (`CalleeHandled = false`).
pub type NotifyFn = ThreadsafeFunction<(), (), (), Status, false>;

/// Batches waiting for JS, shared by the reactor thread (producer) and the JS thread (consumer).
pub struct Outbox {
    queue: Mutex<Vec<Batch>>,
    /// Arenas returned by JS's garbage collector, ready for reuse.
    pool: Mutex<Vec<Vec<u8>>>,
    /// True from the TSFN call until JS drains: at most one call in flight.
    scheduled: AtomicBool,
    /// Arena bytes published and not yet drained.
    backlog: AtomicUsize,
    handle: Handle,
}

impl Outbox {
    pub fn new(handle: Handle) -> Outbox {
        Outbox {
            queue: Mutex::new(Vec::new()),
            pool: Mutex::new(Vec::new()),
            scheduled: AtomicBool::new(false),
            backlog: AtomicUsize::new(0),
            handle,
        }
    }

    /// An empty arena, reused when one is pooled.
    pub fn take_arena(&self) -> Vec<u8> {
        self.pool
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .pop()
            // A fresh arena starts empty: presizing each one (8 KiB) cost ~1 KB of RSS per idle
            // connection after an accept storm (thousands of batches before V8 collects them,
            // their memory kept by malloc), for no measurable speed.
            .unwrap_or_default()
    }

    /// Takes an arena back (from the finalizer of the Buffer that lent it to JS).
    pub fn give_back(&self, mut arena: Vec<u8>) {
        if arena.capacity() > ARENA_KEEP_MAX_CAPACITY {
            return;
        }
        arena.clear();
        let mut pool = self.pool.lock().unwrap_or_else(|p| p.into_inner());
        if pool.len() < ARENA_POOL_MAX {
            pool.push(arena);
        }
    }

    /// True when no batch waits.
    pub fn is_empty(&self) -> bool {
        self.queue
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .is_empty()
    }

    /// Takes every waiting batch (JS thread). Clears the flag first, so a batch published during
    /// the take schedules a new call rather than being stranded.
    pub fn drain(&self) -> Vec<Batch> {
        self.scheduled.store(false, Ordering::SeqCst);
        let batches = std::mem::take(&mut *self.queue.lock().unwrap_or_else(|p| p.into_inner()));
        let bytes: usize = batches.iter().map(|b| b.arena.len()).sum();
        let before = self.backlog.fetch_sub(bytes, Ordering::SeqCst);
        if before > BACKLOG_HIGH && before - bytes <= BACKLOG_HIGH {
            // The reactor may be holding reads back for us: let it resume.
            self.handle.wake();
        }
        batches
    }
}

/// The reactor-side sink of the thread driver: encodes into the current batch and publishes it
/// at the end of each turn.
pub struct ThreadSink {
    pub batch: Batch,
    outbox: Arc<Outbox>,
    /// The TSFN under the thread driver; None under the main driver, which calls JS itself.
    notify: Option<NotifyFn>,
}

impl ThreadSink {
    pub fn new(outbox: Arc<Outbox>, notify: Option<NotifyFn>) -> ThreadSink {
        ThreadSink {
            batch: Batch::default(),
            outbox,
            notify,
        }
    }

    /// Hands the current batch to JS; calls the TSFN only if no call is already pending.
    pub fn publish(&mut self) {
        if self.batch.is_empty() {
            return;
        }
        let mut batch = std::mem::replace(
            &mut self.batch,
            Batch {
                records: Vec::new(),
                arena: self.outbox.take_arena(),
            },
        );
        let (len, cap) = (batch.arena.len(), batch.arena.capacity());
        if cap > ARENA_SHRINK_ABOVE && cap > 4 * len {
            batch.arena.shrink_to_fit();
        }
        self.outbox
            .backlog
            .fetch_add(batch.arena.len(), Ordering::SeqCst);
        self.outbox
            .queue
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(batch);
        if let Some(notify) = &self.notify {
            if !self.outbox.scheduled.swap(true, Ordering::SeqCst) {
                notify.call((), ThreadsafeFunctionCallMode::NonBlocking);
            }
        }
    }
}

impl EventSink for ThreadSink {
    fn event(&mut self, ev: Event<'_>) {
        self.batch.encode(ev);
    }

    fn backpressured(&self) -> bool {
        self.batch.arena.len() >= BATCH_HIGH
            || self.outbox.backlog.load(Ordering::Relaxed) >= BACKLOG_HIGH
    }
}
