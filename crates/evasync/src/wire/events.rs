//! Events in bulk: an [`EventBatch`] is an [`EventSink`] that encodes each event into a flat
//! `u32` record array and one byte arena, so a binding moves a whole turn's events to its own
//! language in one call and walks them there without further calls.
//!
//! Every record is [`RECORD`] words: `[kind, id, …]`; bytes (data, text, addresses) live in the
//! arena and records say where (`off`, `len`). Errors cross as numbers — the [`ErrorKind`] and
//! the errno — with the message text beside them.
//!
//! | kind | words 2–7 |
//! | --- | --- |
//! | [`TIMER`], [`EOF`], [`RELEASED`] | |
//! | [`CONNECTED`], [`ACCEPTED`] | server (0 for connected), fd, local port \| remote port << 16, family (4/6, 0 for Unix sockets), local and remote: IPv4 as numbers, IPv6 addresses and Unix paths as bytes at `off` with lengths `local \| remote << 16` |
//! | [`DATA`], [`HTTP_BODY`], [`HTTP_BODY_END`], [`DNS_NAME`], [`FATAL`] | off, len |
//! | [`FLUSHED`] | total (low, high) |
//! | [`FAILED`], [`FLUSH_FAILED`], [`SERVER_ERROR`], [`DNS_FAILED`], [`HTTP_CLIENT_FAILED`] | message off, len, [`ErrorKind`], errno |
//! | [`HTTP_REQUEST`] | off, len, seq, method length \| flags << 16, target length, headers length |
//! | [`DNS_ADDRS`] | off, len (addresses as text, space-separated), TTL in ms |
//! | [`HTTP_RESPONSE`] | off, len, status, headers length |
//! | [`TICK`] | (word 1: its sequence number) |
//! | [`TLS_ESTABLISHED`] | off, len, version (12/13) \| resumed << 8, cipher length, ALPN length \| server name length << 16, certificate length |
//! | [`TLS_SNI`] | off, len (the name), server |
//! | [`PROCESS_EXITED`] | exit code, signal, 1 when there is a code \| 2 when there is a signal |
//! | [`NOTIFIED`] | |
//! | [`POLLED`] | 1 readable \| 2 writable \| 4 error or hang-up |
//! | [`SIGNAL`] | the signal number |
//! | [`HTTP_RESPONSE_HEAD`] | off, len, status, headers length (as [`HTTP_RESPONSE`], no body) |
//! | [`HTTP_RESPONSE_BODY`] | off, len, 1 when the body is complete |
//!
//! Error records carry the [`crate::tls::TlsErrorCode`] number in word 6 (0: none).
//! `TLS_ESTABLISHED` puts the cipher suite's name, the ALPN protocol, the server name and the
//! peer's certificate (DER) in the arena one after another.
//!
//! HTTP requests put method, target, header fields (`name NUL value NUL …`) and body in the
//! arena one after another; responses header fields then body.

use std::io::Write as _;
use std::net::IpAddr;
#[cfg(test)]
use std::net::SocketAddr;
use std::time::Instant;

use crate::dns::DnsAnswer;
use crate::error::{Error, ErrorKind};
use crate::event::{Event, EventSink};
use crate::net::addr::Endpoint;

/// Words per record.
pub const RECORD: usize = 8;

/// A timer fired.
pub const TIMER: u32 = 1;
/// An outgoing connection is established.
pub const CONNECTED: u32 = 2;
/// A listener accepted a connection.
pub const ACCEPTED: u32 = 3;
/// Bytes arrived.
pub const DATA: u32 = 4;
/// Bytes reached the kernel up to a total.
pub const FLUSHED: u32 = 5;
/// The peer closed its side.
pub const EOF: u32 = 6;
/// A socket failed (its terminal event).
pub const FAILED: u32 = 7;
/// An error met while flushing a closed socket.
pub const FLUSH_FAILED: u32 = 8;
/// The reactor let go of a socket.
pub const RELEASED: u32 = 9;
/// A listener met an error that does not close it.
pub const SERVER_ERROR: u32 = 10;
/// A synthetic event (measures delivery).
pub const TICK: u32 = 11;
/// The reactor failed; the loop must end.
pub const FATAL: u32 = 12;
/// An HTTP request.
pub const HTTP_REQUEST: u32 = 13;
/// A piece of a streamed request body.
pub const HTTP_BODY: u32 = 14;
/// The last piece of a streamed request body.
pub const HTTP_BODY_END: u32 = 15;
/// A lookup's addresses.
pub const DNS_ADDRS: u32 = 16;
/// A reverse lookup's name.
pub const DNS_NAME: u32 = 17;
/// A lookup failed.
pub const DNS_FAILED: u32 = 18;
/// An HTTP client response.
pub const HTTP_RESPONSE: u32 = 19;
/// An HTTP client request failed.
pub const HTTP_CLIENT_FAILED: u32 = 20;
/// A TLS handshake finished.
pub const TLS_ESTABLISHED: u32 = 21;
/// A TLS server asks which certificate to present for a name.
pub const TLS_SNI: u32 = 22;
/// A child process exited.
pub const PROCESS_EXITED: u32 = 23;
/// A notifier was triggered.
pub const NOTIFIED: u32 = 24;
/// A polled descriptor is ready.
pub const POLLED: u32 = 25;
/// A watched signal arrived.
pub const SIGNAL: u32 = 26;
/// The head of a streamed client response.
pub const HTTP_RESPONSE_HEAD: u32 = 27;
/// A piece of a streamed client response body.
pub const HTTP_RESPONSE_BODY: u32 = 28;

/// Flags of an [`HTTP_REQUEST`] record.
pub mod http_flag {
    /// The body is complete (not streamed).
    pub const COMPLETE: u32 = 1;
    /// HTTP/1.0.
    pub const HTTP10: u32 = 2;
}

/// Arena bytes one batch may gather before the sink says it is backpressured (the reactor then
/// stops reading sockets until the batch is delivered), so one batch stays a bounded piece of
/// work for the receiver.
pub const BATCH_HIGH: usize = 4 * 1024 * 1024;

/// Undelivered arena bytes (batches waiting for a receiver on another thread) above which the
/// reactor stops reading sockets: TCP flow control then slows the peers rather than memory grow
/// without bound.
pub const BACKLOG_HIGH: usize = 16 * 1024 * 1024;

/// One batch of encoded events. Reused: `clear` keeps the capacity.
#[derive(Default, Debug)]
pub struct EventBatch {
    /// Records of [`RECORD`] words.
    pub records: Vec<u32>,
    /// The bytes the records point into.
    pub arena: Vec<u8>,
}

impl EventBatch {
    /// True when no event is encoded.
    pub fn is_empty(&self) -> bool {
        self.records.is_empty()
    }

    /// Events encoded.
    pub fn len(&self) -> usize {
        self.records.len() / RECORD
    }

    /// Forgets the events, keeping the memory.
    pub fn clear(&mut self) {
        self.records.clear();
        self.arena.clear();
    }

    /// True when the batch is big enough that the reactor should stop reading until it is
    /// delivered.
    pub fn is_full(&self) -> bool {
        self.arena.len() >= BATCH_HIGH
    }

    fn push(&mut self, words: [u32; RECORD]) {
        self.records.extend_from_slice(&words);
    }

    /// Appends bytes to the arena; returns (offset, length).
    fn bytes(&mut self, b: &[u8]) -> (u32, u32) {
        let off = self.arena.len();
        self.arena.extend_from_slice(b);
        (off as u32, b.len() as u32)
    }

    /// Formats text straight into the arena (no intermediate String); returns (offset, length).
    fn text(&mut self, f: impl FnOnce(&mut Vec<u8>)) -> (u32, u32) {
        let off = self.arena.len();
        f(&mut self.arena);
        (off as u32, (self.arena.len() - off) as u32)
    }

    fn error(&mut self, kind: u32, id: u32, e: &Error) {
        let (off, len) = self.bytes(e.message.as_bytes());
        let tls = e.tls.map_or(0, |c| c as u32);
        self.push([kind, id, off, len, e.kind as u32, e.errno as u32, tls, 0]);
    }

    /// A connection's endpoints: ports and family, IPv4 addresses as numbers, IPv6 addresses
    /// as text, Unix paths as bytes.
    fn endpoints(
        &mut self,
        kind: u32,
        id: u32,
        server: u32,
        fd: i64,
        local: &Endpoint,
        remote: &Endpoint,
    ) {
        let port = |e: &Endpoint| e.inet().map_or(0, |a| u32::from(a.port()));
        let ports = port(local) | (port(remote) << 16);
        let (family, a, b) = match (local, remote) {
            (Endpoint::Inet(l), Endpoint::Inet(r)) => match (l.ip(), r.ip()) {
                (IpAddr::V4(l), IpAddr::V4(r)) => (4, u32::from(l), u32::from(r)),
                (l, r) => {
                    let (off, l_len) = self.text(|s| {
                        let _ = write!(s, "{l}");
                    });
                    let (_, r_len) = self.text(|s| {
                        let _ = write!(s, "{r}");
                    });
                    (6, off, l_len | (r_len << 16))
                }
            },
            (l, r) => {
                let bytes = |e: &Endpoint| match e {
                    Endpoint::Unix(p) => p.clone(),
                    Endpoint::Inet(a) => a.to_string().into_bytes(),
                };
                let (off, l_len) = self.bytes(&bytes(l));
                let (_, r_len) = self.bytes(&bytes(r));
                (0, off, l_len | (r_len << 16))
            }
        };
        self.push([kind, id, server, fd as u32, ports, family, a, b]);
    }

    /// Encodes a fatal reactor failure.
    pub fn fatal(&mut self, message: &str) {
        let (off, len) = self.bytes(message.as_bytes());
        self.push([FATAL, 0, off, len, 0, 0, 0, 0]);
    }

    /// Encodes one event.
    pub fn encode(&mut self, ev: Event<'_>) {
        match ev {
            Event::TimerFired { id } => self.push([TIMER, id, 0, 0, 0, 0, 0, 0]),
            Event::Connected {
                id,
                fd,
                local,
                remote,
            } => self.endpoints(CONNECTED, id, 0, fd, &local, &remote),
            Event::Accepted {
                server,
                id,
                fd,
                local,
                remote,
            } => self.endpoints(ACCEPTED, id, server, fd, &local, &remote),
            Event::Data { id, data } => {
                let (off, len) = self.bytes(data);
                self.push([DATA, id, off, len, 0, 0, 0, 0]);
            }
            Event::Flushed { id, total } => {
                self.push([FLUSHED, id, total as u32, (total >> 32) as u32, 0, 0, 0, 0])
            }
            Event::Eof { id } => self.push([EOF, id, 0, 0, 0, 0, 0, 0]),
            Event::Failed { id, error } => self.error(FAILED, id, &error),
            Event::FlushFailed { id, error } => self.error(FLUSH_FAILED, id, &error),
            Event::Released { id } => self.push([RELEASED, id, 0, 0, 0, 0, 0, 0]),
            Event::ServerError { id, error } => self.error(SERVER_ERROR, id, &error),
            Event::Tick { seq } => self.push([TICK, seq, 0, 0, 0, 0, 0, 0]),
            #[cfg(feature = "http")]
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
                let headers_len = self.fields(head_bytes, headers);
                self.arena.extend_from_slice(body);
                let mut flags = 0;
                if complete {
                    flags |= http_flag::COMPLETE;
                }
                if head.version == evasync_http1::Version::Http10 {
                    flags |= http_flag::HTTP10;
                }
                let len = self.arena.len() - off;
                self.push([
                    HTTP_REQUEST,
                    id,
                    off as u32,
                    len as u32,
                    seq,
                    (method.len() as u32 & 0xffff) | (flags << 16),
                    target.len() as u32,
                    headers_len as u32,
                ]);
            }
            #[cfg(feature = "http")]
            Event::HttpBody { id, data, finished } => {
                let (off, len) = self.bytes(data);
                let kind = if finished { HTTP_BODY_END } else { HTTP_BODY };
                self.push([kind, id, off, len, 0, 0, 0, 0]);
            }
            Event::DnsResolved {
                id,
                result,
                valid_until,
            } => match result {
                Ok(DnsAnswer::Addrs(addrs)) => {
                    // JS keeps the answer for the TTL.
                    let ttl_ms = valid_until.map_or(0, |u| {
                        u.saturating_duration_since(Instant::now()).as_millis() as u32
                    });
                    let (off, len) = self.text(|s| {
                        for (i, a) in addrs.iter().enumerate() {
                            let sep = if i == 0 { "" } else { " " };
                            let _ = write!(s, "{sep}{a}");
                        }
                    });
                    self.push([DNS_ADDRS, id, off, len, ttl_ms, 0, 0, 0]);
                }
                Ok(DnsAnswer::Name(name)) => {
                    let (off, len) = self.bytes(name.as_bytes());
                    self.push([DNS_NAME, id, off, len, 0, 0, 0, 0]);
                }
                Err(e) => self.error(DNS_FAILED, id, &e),
            },
            #[cfg(feature = "http")]
            Event::HttpResponse {
                id,
                status,
                head_bytes,
                headers,
                body,
            } => {
                let off = self.arena.len();
                let headers_len = self.fields(head_bytes, headers);
                self.arena.extend_from_slice(body);
                let len = self.arena.len() - off;
                self.push([
                    HTTP_RESPONSE,
                    id,
                    off as u32,
                    len as u32,
                    u32::from(status),
                    headers_len as u32,
                    0,
                    0,
                ]);
            }
            #[cfg(feature = "http")]
            Event::HttpClientFailed { id, error } => self.error(HTTP_CLIENT_FAILED, id, &error),
            Event::TlsEstablished { id, info } => {
                let off = self.arena.len();
                let version = if info.protocol == "TLSv1.3" { 13 } else { 12 };
                let alpn = info.alpn.as_deref().unwrap_or("").as_bytes();
                let name = info.server_name.as_deref().unwrap_or("").as_bytes();
                let cert = info.peer_certificate.as_deref().unwrap_or(&[]);
                self.arena.extend_from_slice(info.cipher.as_bytes());
                self.arena.extend_from_slice(alpn);
                self.arena.extend_from_slice(name);
                self.arena.extend_from_slice(cert);
                let len = self.arena.len() - off;
                self.push([
                    TLS_ESTABLISHED,
                    id,
                    off as u32,
                    len as u32,
                    version | (u32::from(info.resumed) << 8),
                    info.cipher.len() as u32,
                    (alpn.len() as u32 & 0xffff) | ((name.len() as u32) << 16),
                    cert.len() as u32,
                ]);
            }
            Event::ProcessExited { id, status } => {
                let has =
                    u32::from(status.code.is_some()) | (u32::from(status.signal.is_some()) << 1);
                self.push([
                    PROCESS_EXITED,
                    id,
                    status.code.unwrap_or(0) as u32,
                    status.signal.unwrap_or(0) as u32,
                    has,
                    0,
                    0,
                    0,
                ]);
            }
            #[cfg(feature = "http")]
            Event::HttpResponseHead {
                id,
                status,
                head_bytes,
                headers,
            } => {
                let off = self.arena.len();
                let headers_len = self.fields(head_bytes, headers);
                self.push([
                    HTTP_RESPONSE_HEAD,
                    id,
                    off as u32,
                    headers_len as u32,
                    u32::from(status),
                    headers_len as u32,
                    0,
                    0,
                ]);
            }
            #[cfg(feature = "http")]
            Event::HttpResponseBody { id, data, finished } => {
                let (off, len) = self.bytes(data);
                self.push([
                    HTTP_RESPONSE_BODY,
                    id,
                    off,
                    len,
                    u32::from(finished),
                    0,
                    0,
                    0,
                ]);
            }
            Event::Notified { id } => self.push([NOTIFIED, id, 0, 0, 0, 0, 0, 0]),
            Event::Polled { id, ready } => self.push([POLLED, id, u32::from(ready), 0, 0, 0, 0, 0]),
            Event::Signal { id, signo } => self.push([SIGNAL, id, signo as u32, 0, 0, 0, 0, 0]),
            Event::TlsSniRequest { server, id, name } => {
                let (off, len) = self.bytes(name.as_bytes());
                self.push([TLS_SNI, id, off, len, server, 0, 0, 0]);
            }
        }
    }

    /// Header fields as `name NUL value NUL …`; returns their length.
    #[cfg(feature = "http")]
    fn fields(&mut self, head_bytes: &[u8], headers: &[evasync_http1::HeaderSpan]) -> usize {
        let start = self.arena.len();
        for h in headers {
            self.arena.extend_from_slice(h.name.of(head_bytes));
            self.arena.push(0);
            self.arena.extend_from_slice(h.value.of(head_bytes));
            self.arena.push(0);
        }
        self.arena.len() - start
    }
}

impl EventSink for EventBatch {
    fn event(&mut self, ev: Event<'_>) {
        self.encode(ev);
    }

    fn backpressured(&self) -> bool {
        self.is_full()
    }
}

/// The [`ErrorKind`] a record's number names (None for an unknown one).
pub fn error_kind(n: u32) -> Option<ErrorKind> {
    ErrorKind::ALL.iter().copied().find(|k| *k as u32 == n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_are_fixed_size_and_point_into_the_arena() {
        let mut b = EventBatch::default();
        b.encode(Event::TimerFired { id: 1 });
        b.encode(Event::Data {
            id: 2,
            data: b"hello",
        });
        b.encode(Event::Failed {
            id: 3,
            error: Error::timeout("read from 127.0.0.1:9"),
        });
        assert_eq!(b.len(), 3);
        let r = &b.records;
        assert_eq!(&r[..2], &[TIMER, 1]);
        let (off, len) = (r[10] as usize, r[11] as usize);
        assert_eq!(&r[8..10], &[DATA, 2]);
        assert_eq!(&b.arena[off..off + len], b"hello");
        assert_eq!(&r[16..18], &[FAILED, 3]);
        assert_eq!(error_kind(r[20]), Some(ErrorKind::Timeout));
        assert_eq!(r[21] as i32, crate::error::ETIMEDOUT);
        let (off, len) = (r[18] as usize, r[19] as usize);
        assert_eq!(&b.arena[off..off + len], b"read from 127.0.0.1:9 timed out");
        b.clear();
        assert!(b.is_empty() && b.arena.is_empty());
    }

    #[test]
    fn a_full_batch_asks_the_reactor_to_stop_reading() {
        let mut b = EventBatch::default();
        let chunk = vec![0u8; 64 * 1024];
        while b.arena.len() < BATCH_HIGH {
            assert!(!b.backpressured());
            b.encode(Event::Data {
                id: 1,
                data: &chunk,
            });
        }
        assert!(b.backpressured());
        b.clear();
        assert!(!b.backpressured(), "delivered: reading goes on");
    }

    #[test]
    fn endpoints_carry_ipv4_as_numbers_and_ipv6_as_text() {
        let mut b = EventBatch::default();
        let v4 = |p| Endpoint::Inet(SocketAddr::from(([127, 0, 0, 1], p)));
        b.encode(Event::Accepted {
            server: 5,
            id: 6,
            fd: 9,
            local: v4(80),
            remote: v4(5000),
        });
        assert_eq!(
            &b.records[..],
            &[
                ACCEPTED,
                6,
                5,
                9,
                80 | (5000 << 16),
                4,
                0x7f00_0001,
                0x7f00_0001
            ]
        );
        b.clear();
        let v6 = |p| Endpoint::Inet(SocketAddr::from(([0, 0, 0, 0, 0, 0, 0, 1], p)));
        b.encode(Event::Connected {
            id: 7,
            fd: 10,
            local: v6(1),
            remote: v6(2),
        });
        assert_eq!(b.records[5], 6);
        let (off, lens) = (b.records[6] as usize, b.records[7]);
        let (l, r) = ((lens & 0xffff) as usize, (lens >> 16) as usize);
        assert_eq!(&b.arena[off..off + l + r], b"::1::1");
    }
}
