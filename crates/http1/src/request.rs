//! Request heads: parse with httparse, then decide framing, keep-alive and `Expect` by the
//! rules of RFC 9112.

use crate::error::{Error, ErrorKind};

/// Default limit on the head's size: 16 KiB, as Node and the API contract (`maxHeaderSize`) use.
pub const DEFAULT_MAX_HEAD_SIZE: usize = 16 * 1024;
/// Default limit on the number of header fields: 256, generous for real clients (browsers send
/// 10–30), small enough that the parse array fits on the stack.
pub const DEFAULT_MAX_HEADERS: usize = 256;

/// Limits applied while parsing a head.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Bytes of request line and headers (431 beyond).
    pub max_head_size: usize,
    /// Number of header fields (431 beyond).
    pub max_headers: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_head_size: DEFAULT_MAX_HEAD_SIZE,
            max_headers: DEFAULT_MAX_HEADERS,
        }
    }
}

/// The outcome of parsing what has arrived so far.
#[derive(Debug, PartialEq, Eq)]
pub enum Parse<T> {
    /// A whole head, and how many bytes it took.
    Complete(T, usize),
    /// More bytes are needed.
    Partial,
}

/// HTTP version of a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Version {
    /// HTTP/1.0.
    Http10,
    /// HTTP/1.1.
    Http11,
}

/// How the request body is delimited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyFraming {
    /// No body.
    None,
    /// Exactly this many bytes.
    ContentLength(u64),
    /// `Transfer-Encoding: chunked`.
    Chunked,
}

/// A byte range within the buffer given to [`parse_request`]: heads are described, not copied,
/// so parsing allocates nothing and the caller decides what to copy where.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Span {
    /// First byte.
    pub start: u32,
    /// One past the last byte.
    pub end: u32,
}

impl Span {
    /// The bytes of this span in `buf` (the buffer that was parsed); empty if out of range.
    pub fn of<'a>(&self, buf: &'a [u8]) -> &'a [u8] {
        buf.get(self.start as usize..self.end as usize)
            .unwrap_or(&[])
    }

    /// Length in bytes.
    pub fn len(&self) -> usize {
        (self.end - self.start) as usize
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.start == self.end
    }
}

/// One header field as sent: the name as written, the value without surrounding whitespace.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct HeaderSpan {
    /// The name.
    pub name: Span,
    /// The value.
    pub value: Span,
}

/// A parsed request head with the decisions the connection needs. Text fields are spans of the
/// parsed buffer; header fields go to the `Vec` the caller passed in (reused across requests).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RequestHead {
    /// The method, as sent (methods are case-sensitive).
    pub method: Span,
    /// The request target, as sent.
    pub target: Span,
    /// The version.
    pub version: Version,
    /// How the body is delimited.
    pub framing: BodyFraming,
    /// Whether the connection may carry another request after this one.
    pub keep_alive: bool,
    /// `Expect: 100-continue` was asked.
    pub expect_continue: bool,
}

/// The first value of header `name` (ASCII case-insensitive) among `headers` of `buf`.
pub fn find_header<'a>(buf: &'a [u8], headers: &[HeaderSpan], name: &str) -> Option<&'a [u8]> {
    headers
        .iter()
        .find(|h| h.name.of(buf).eq_ignore_ascii_case(name.as_bytes()))
        .map(|h| h.value.of(buf))
}

pub(crate) fn trim(v: &[u8]) -> &[u8] {
    let is_ws = |b: &u8| *b == b' ' || *b == b'\t';
    let start = v.iter().position(|b| !is_ws(b)).unwrap_or(v.len());
    let end = v.iter().rposition(|b| !is_ws(b)).map_or(start, |i| i + 1);
    &v[start..end]
}

/// The comma-separated, trimmed, non-empty elements of a list header value.
pub(crate) fn list(v: &[u8]) -> impl Iterator<Item = &[u8]> {
    v.split(|b| *b == b',').map(trim).filter(|e| !e.is_empty())
}

pub(crate) fn parse_content_length(v: &[u8]) -> Result<u64, Error> {
    let mut n: u64 = 0;
    if v.is_empty() {
        return Err(Error::malformed("empty Content-Length"));
    }
    for b in v {
        if !b.is_ascii_digit() {
            return Err(Error::malformed("invalid Content-Length"));
        }
        n = n
            .checked_mul(10)
            .and_then(|n| n.checked_add(u64::from(b - b'0')))
            .ok_or(Error::malformed("Content-Length overflows"))?;
    }
    Ok(n)
}

/// The span of `part` (a subslice of `buf`) within `buf`. Heads are bounded by the head-size
/// limit, so offsets fit in u32.
pub(crate) fn span_in(buf: &[u8], part: &[u8]) -> Span {
    let start = (part.as_ptr() as usize).saturating_sub(buf.as_ptr() as usize);
    Span {
        start: start as u32,
        end: (start + part.len()) as u32,
    }
}

/// Checks the request target against its method (RFC 9112 §3.2): visible ASCII only (raw
/// non-ASCII or control bytes are refused, as §3.2 origin-form and llhttp do); `CONNECT` takes
/// the authority-form `host:port` and nothing else; `OPTIONS` may take `*`; every other method
/// takes the origin-form (`/path?query`) or the absolute-form (`scheme://…`), so a bare
/// `host:80` is refused.
fn check_target(method: &[u8], target: &[u8]) -> Result<(), Error> {
    if target.is_empty() || !target.iter().all(|b| (0x21..=0x7e).contains(b)) {
        return Err(Error::malformed("invalid byte in the request target"));
    }
    let ok = match method {
        b"CONNECT" => is_authority_form(target),
        b"OPTIONS" if target == b"*" => true,
        _ => target[0] == b'/' || is_absolute_form(target),
    };
    if ok {
        Ok(())
    } else {
        Err(Error::malformed(
            "request target of the wrong form for its method",
        ))
    }
}

/// A `Host` value as RFC 9112 §3.2 and RFC 3986 §3.2.2 write it: `uri-host [ ":" port ]`,
/// possibly empty. A reg-name holds unreserved, percent-encoded and sub-delim characters; an
/// IP literal is bracketed. Anything else (spaces, `/`, `@`, controls) is an invalid Host,
/// which RFC 9112 §3.2 answers with 400.
fn is_host_value(v: &[u8]) -> bool {
    let (host, port) = match v.first() {
        None => return true,
        Some(b'[') => {
            let Some(close) = v.iter().position(|b| *b == b']') else {
                return false;
            };
            let literal = &v[1..close];
            let ok = !literal.is_empty()
                && literal
                    .iter()
                    .all(|b| b.is_ascii_hexdigit() || matches!(b, b':' | b'.' | b'v' | b'V'));
            if !ok {
                return false;
            }
            (&[][..], &v[close + 1..])
        }
        Some(_) => match v.iter().position(|b| *b == b':') {
            Some(i) => (&v[..i], &v[i..]),
            None => (v, &v[v.len()..]),
        },
    };
    let port_ok = match port {
        [] => true,
        [b':', digits @ ..] => digits.iter().all(u8::is_ascii_digit),
        _ => false,
    };
    port_ok && host.iter().all(|b| REG_NAME[*b as usize])
}

/// Bytes of a reg-name (RFC 3986 §3.2.2: unreserved, `%` of pct-encoded, sub-delims), by byte.
static REG_NAME: [bool; 256] = {
    let mut t = [false; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        t[b] = c.is_ascii_alphanumeric()
            || matches!(
                c,
                b'-' | b'.'
                    | b'_'
                    | b'~'
                    | b'%'
                    | b'!'
                    | b'$'
                    | b'&'
                    | b'\''
                    | b'('
                    | b')'
                    | b'*'
                    | b'+'
                    | b','
                    | b';'
                    | b'='
            );
        b += 1;
    }
    t
};

/// `host:port` with a non-empty host and a decimal port (an IPv6 host in brackets).
fn is_authority_form(t: &[u8]) -> bool {
    let Some(colon) = t.iter().rposition(|b| *b == b':') else {
        return false;
    };
    let (host, port) = (&t[..colon], &t[colon + 1..]);
    let host_ok = if host.first() == Some(&b'[') {
        host.len() > 2 && host.last() == Some(&b']')
    } else {
        !host.is_empty()
            && !host
                .iter()
                .any(|b| matches!(b, b'/' | b'@' | b'[' | b']' | b'?' | b'#'))
    };
    host_ok && !port.is_empty() && port.len() <= 5 && port.iter().all(u8::is_ascii_digit)
}

/// `scheme://…` (RFC 3986 scheme: a letter, then letters, digits, `+`, `-`, `.`).
fn is_absolute_form(t: &[u8]) -> bool {
    let Some(colon) = t.iter().position(|b| *b == b':') else {
        return false;
    };
    let scheme = &t[..colon];
    scheme.first().is_some_and(u8::is_ascii_alphabetic)
        && scheme
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.'))
        && t[colon + 1..].starts_with(b"//")
}

/// A line ending that is a bare LF: httparse accepts it, RFC 9112 §2.2 lets a recipient refuse
/// it, and refusing it closes a door to request smuggling through lenient intermediaries.
fn has_bare_lf(head: &[u8]) -> bool {
    head.iter()
        .enumerate()
        .any(|(i, b)| *b == b'\n' && (i == 0 || head[i - 1] != b'\r'))
}

/// Header fields parsed with an array on the stack; a larger [`Limits::max_headers`] parses
/// with one on the heap (a rare configuration, paid only by the heads that need it).
pub const MAX_HEADERS_ON_STACK: usize = 256;

/// Runs httparse over `buf` with `storage` for the header fields, mapping its verdicts to
/// ours (431 for a head over either limit, 400 for anything malformed).
fn parse_head<'b, 'h>(
    buf: &'b [u8],
    limits: &Limits,
    req: &mut httparse::Request<'h, 'b>,
    storage: &'h mut [std::mem::MaybeUninit<httparse::Header<'b>>],
) -> Result<Parse<()>, Error> {
    match req.parse_with_uninit_headers(buf, storage) {
        Ok(httparse::Status::Complete(n)) => Ok(Parse::Complete((), n)),
        Ok(httparse::Status::Partial) if buf.len() > limits.max_head_size => Err(Error::new(
            ErrorKind::HeadTooLarge,
            "request head too large (maxHeaderSize)",
        )),
        Ok(httparse::Status::Partial) => Ok(Parse::Partial),
        Err(httparse::Error::TooManyHeaders) => Err(Error::new(
            ErrorKind::HeadTooLarge,
            "too many header fields (maxHeaders)",
        )),
        Err(httparse::Error::Version) => match version_verdict(buf) {
            VersionVerdict::Unsupported => Err(Error::new(
                ErrorKind::VersionNotSupported,
                "HTTP version not supported (only 1.0 and 1.1)",
            )),
            // httparse refuses a version as soon as one byte cannot belong to 1.0 or 1.1;
            // waiting for the whole line makes the verdict the same however the bytes arrive.
            VersionVerdict::Incomplete if buf.len() > limits.max_head_size => Err(Error::new(
                ErrorKind::HeadTooLarge,
                "request head too large (maxHeaderSize)",
            )),
            VersionVerdict::Incomplete => Ok(Parse::Partial),
            VersionVerdict::Malformed => Err(Error::malformed("malformed request head")),
        },
        Err(_) => Err(Error::malformed("malformed request head")),
    }
}

/// What to make of a request line whose version httparse refused.
#[derive(Debug, PartialEq, Eq)]
enum VersionVerdict {
    /// `method SP target SP HTTP/d.d` with a version other than 1.0 and 1.1: 505 (the request
    /// was understood, its version is not served).
    Unsupported,
    /// The line has not ended and its version could still become `HTTP/d.d`.
    Incomplete,
    /// Anything else: 400.
    Malformed,
}

fn version_verdict(buf: &[u8]) -> VersionVerdict {
    let (line, complete) = match buf.iter().position(|b| *b == b'\n') {
        Some(end) => (&buf[..end], true),
        None => (buf, false),
    };
    // A CR ends the version whether or not its LF has arrived yet.
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    let mut parts = line.split(|b| *b == b' ');
    let (Some(_method), Some(_target), Some(version), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return VersionVerdict::Malformed;
    };
    const PATTERN: &[u8] = b"HTTP/d.d";
    let fits = version.len() <= PATTERN.len()
        && version.iter().zip(PATTERN).all(|(b, p)| match p {
            b'd' => b.is_ascii_digit(),
            _ => b == p,
        });
    match (fits, version.len() == PATTERN.len(), complete) {
        (true, true, true) => {
            let (major, minor) = (version[5], version[7]);
            if major == b'1' && minor <= b'1' {
                VersionVerdict::Malformed
            } else {
                VersionVerdict::Unsupported
            }
        }
        (true, _, false) => VersionVerdict::Incomplete,
        _ => VersionVerdict::Malformed,
    }
}

/// Parses a request head from the start of `buf`. Header fields go to `headers` (cleared first).
/// Allocates nothing once `headers` has grown to the usual number of fields.
pub fn parse_request(
    buf: &[u8],
    limits: &Limits,
    headers: &mut Vec<HeaderSpan>,
) -> Result<Parse<RequestHead>, Error> {
    headers.clear();
    let mut on_stack =
        [std::mem::MaybeUninit::<httparse::Header<'_>>::uninit(); MAX_HEADERS_ON_STACK];
    let mut on_heap = Vec::new();
    let storage = if limits.max_headers <= MAX_HEADERS_ON_STACK {
        &mut on_stack[..limits.max_headers]
    } else {
        on_heap.resize(limits.max_headers, std::mem::MaybeUninit::uninit());
        &mut on_heap[..]
    };
    let mut req = httparse::Request::new(&mut []);
    let parsed = parse_head(buf, limits, &mut req, storage);
    let consumed = match parsed? {
        Parse::Complete((), n) => n,
        Parse::Partial => return Ok(Parse::Partial),
    };
    if consumed > limits.max_head_size {
        return Err(Error::new(
            ErrorKind::HeadTooLarge,
            "request head too large (maxHeaderSize)",
        ));
    }
    if has_bare_lf(&buf[..consumed]) {
        return Err(Error::malformed("bare LF in request head"));
    }
    let (Some(method), Some(target), Some(minor)) = (req.method, req.path, req.version) else {
        return Err(Error::malformed("incomplete request line"));
    };
    let version = if minor == 1 {
        Version::Http11
    } else {
        Version::Http10
    };

    check_target(method.as_bytes(), target.as_bytes())?;
    let connect = method == "CONNECT";
    let mut content_length: Option<u64> = None;
    // Any Transfer-Encoding field line makes the message TE-framed (RFC 9112 §6.3), even one
    // that lists no coding at all (`Transfer-Encoding:`, `,` or blanks): framing such a request
    // by its Content-Length would let a proxy that reads the field differently smuggle a
    // second request in its body.
    let mut te_fields = 0usize;
    let mut te_codings = 0usize;
    let mut te_last_chunked = false;
    let mut te_chunked_before_last = false;
    let mut hosts = 0;
    let mut close = false;
    let mut keep_alive_token = false;
    let mut expect_continue = false;
    for h in req.headers.iter() {
        let value = trim(h.value);
        headers.push(HeaderSpan {
            name: span_in(buf, h.name.as_bytes()),
            value: span_in(buf, value),
        });
        let name = h.name;
        if name.eq_ignore_ascii_case("content-length") {
            let mut any = false;
            for v in list(value) {
                let n = parse_content_length(v)?;
                if content_length.is_some_and(|m| m != n) {
                    return Err(Error::malformed("conflicting Content-Length values"));
                }
                content_length = Some(n);
                any = true;
            }
            if !any {
                return Err(Error::malformed("empty Content-Length"));
            }
        } else if name.eq_ignore_ascii_case("transfer-encoding") {
            te_fields += 1;
            for coding in list(value) {
                te_chunked_before_last |= te_last_chunked;
                te_last_chunked = coding.eq_ignore_ascii_case(b"chunked");
                te_codings += 1;
            }
        } else if name.eq_ignore_ascii_case("host") {
            hosts += 1;
            if !is_host_value(value) {
                return Err(Error::malformed("invalid Host"));
            }
        } else if name.eq_ignore_ascii_case("connection") {
            for token in list(value) {
                close |= token.eq_ignore_ascii_case(b"close");
                keep_alive_token |= token.eq_ignore_ascii_case(b"keep-alive");
            }
        } else if name.eq_ignore_ascii_case("expect") && version == Version::Http11 {
            if value.eq_ignore_ascii_case(b"100-continue") {
                expect_continue = true;
            } else {
                return Err(Error::new(
                    ErrorKind::ExpectationFailed,
                    "unsupported expectation (only 100-continue is)",
                ));
            }
        }
    }
    if version == Version::Http11 && hosts != 1 {
        return Err(Error::malformed("HTTP/1.1 request needs exactly one Host"));
    }
    let framing = if connect {
        // A CONNECT request has no content (RFC 9110 §9.3.6): what follows its head is tunnel
        // data, never a body, whatever the fields say.
        BodyFraming::None
    } else if te_fields > 0 {
        if content_length.is_some() {
            return Err(Error::malformed(
                "both Content-Length and Transfer-Encoding",
            ));
        }
        if version == Version::Http10 {
            return Err(Error::malformed("Transfer-Encoding in an HTTP/1.0 request"));
        }
        if !te_last_chunked {
            return Err(Error::malformed("final transfer coding is not chunked"));
        }
        if te_chunked_before_last {
            return Err(Error::malformed("chunked applied more than once"));
        }
        if te_codings > 1 {
            return Err(Error::new(
                ErrorKind::NotImplemented,
                "transfer coding not implemented",
            ));
        }
        BodyFraming::Chunked
    } else {
        match content_length {
            Some(0) | None => BodyFraming::None,
            Some(n) => BodyFraming::ContentLength(n),
        }
    };
    let keep_alive = !connect
        && match version {
            Version::Http11 => !close,
            Version::Http10 => keep_alive_token && !close,
        };
    Ok(Parse::Complete(
        RequestHead {
            method: span_in(buf, method.as_bytes()),
            target: span_in(buf, target.as_bytes()),
            version,
            framing,
            keep_alive,
            expect_continue,
        },
        consumed,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(bytes: &[u8]) -> Result<Parse<RequestHead>, Error> {
        parse_request(bytes, &Limits::default(), &mut Vec::new())
    }

    /// A head and its header fields, owned for easy assertions.
    struct Owned {
        method: String,
        target: String,
        version: Version,
        framing: BodyFraming,
        keep_alive: bool,
        expect_continue: bool,
        headers: Vec<(String, Vec<u8>)>,
    }

    impl Owned {
        fn header(&self, name: &str) -> Option<&[u8]> {
            self.headers
                .iter()
                .find(|(n, _)| n.eq_ignore_ascii_case(name))
                .map(|(_, v)| v.as_slice())
        }
    }

    fn head(bytes: &[u8]) -> Owned {
        let mut spans = Vec::new();
        match parse_request(bytes, &Limits::default(), &mut spans) {
            Ok(Parse::Complete(h, n)) => {
                assert_eq!(n, bytes.len(), "consumed the whole head");
                let text = |s: Span| String::from_utf8_lossy(s.of(bytes)).into_owned();
                Owned {
                    method: text(h.method),
                    target: text(h.target),
                    version: h.version,
                    framing: h.framing,
                    keep_alive: h.keep_alive,
                    expect_continue: h.expect_continue,
                    headers: spans
                        .iter()
                        .map(|s| (text(s.name), s.value.of(bytes).to_vec()))
                        .collect(),
                }
            }
            other => panic!("expected a head, got {other:?}"),
        }
    }

    fn status(bytes: &[u8]) -> u16 {
        match parse(bytes) {
            Err(e) => e.status(),
            other => panic!("expected an error, got {other:?}"),
        }
    }

    #[test]
    fn simple_get() {
        let h = head(b"GET /documents/45?format=json HTTP/1.1\r\nHost: a\r\nX-Y:  v  \r\n\r\n");
        assert_eq!(h.method, "GET");
        assert_eq!(h.target, "/documents/45?format=json");
        assert_eq!(h.version, Version::Http11);
        assert_eq!(h.framing, BodyFraming::None);
        assert!(h.keep_alive);
        assert_eq!(h.header("x-y"), Some(&b"v"[..]));
    }

    #[test]
    fn partial_heads_wait_for_more() {
        for cut in [0, 1, 5, 20, 26] {
            let full = b"GET / HTTP/1.1\r\nHost: a\r\n\r\n";
            assert_eq!(parse(&full[..cut]), Ok(Parse::Partial), "cut at {cut}");
        }
    }

    #[test]
    fn framing_and_keep_alive_table() {
        let table: &[(&[u8], BodyFraming, bool)] = &[
            (
                b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\n",
                BodyFraming::ContentLength(5),
                true,
            ),
            (
                b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5, 5\r\n\r\n",
                BodyFraming::ContentLength(5),
                true,
            ),
            (
                b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n",
                BodyFraming::None,
                true,
            ),
            (
                b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n",
                BodyFraming::Chunked,
                true,
            ),
            (
                b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: CHUNKED\r\n\r\n",
                BodyFraming::Chunked,
                true,
            ),
            (
                b"GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n",
                BodyFraming::None,
                false,
            ),
            (b"GET / HTTP/1.0\r\n\r\n", BodyFraming::None, false),
            (
                b"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
                BodyFraming::None,
                true,
            ),
        ];
        for (bytes, framing, keep_alive) in table {
            let h = head(bytes);
            assert_eq!(h.framing, *framing, "{}", String::from_utf8_lossy(bytes));
            assert_eq!(
                h.keep_alive,
                *keep_alive,
                "{}",
                String::from_utf8_lossy(bytes)
            );
        }
    }

    #[test]
    fn smuggling_and_malformed_table() {
        let table: &[(&[u8], u16)] = &[
            // Content-Length with Transfer-Encoding.
            (b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n", 400),
            // Differing Content-Lengths, in one field or two.
            (b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5, 6\r\n\r\n", 400),
            (b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n", 400),
            // Signs, spaces and overflow in Content-Length.
            (b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: +5\r\n\r\n", 400),
            (b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5 5\r\n\r\n", 400),
            (b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 99999999999999999999999\r\n\r\n", 400),
            // Final coding not chunked; chunked twice; unknown coding before chunked.
            (b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n\r\n", 400),
            (b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, chunked\r\n\r\n", 400),
            (b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", 501),
            // Transfer-Encoding in HTTP/1.0.
            (b"POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", 400),
            // Host: none, or two.
            (b"GET / HTTP/1.1\r\n\r\n", 400),
            (b"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400),
            // obs-fold, bad version, bad bytes in names and the request line.
            (b"GET / HTTP/1.1\r\nHost: a\r\nX: a\r\n  b\r\n\r\n", 400),
            (b"GET / HTTP/2.0\r\nHost: a\r\n\r\n", 505),
            (b"GET / HTTP/1.2\r\nHost: a\r\n\r\n", 505),
            (b"GET / http/1.1\r\nHost: a\r\n\r\n", 400),
            (b"GET / HTTP/1.1x\r\nHost: a\r\n\r\n", 400),
            (b"GET / HTTP/1.1\r\nHo st: a\r\n\r\n", 400),
            (b"GET /a b HTTP/1.1\r\nHost: a\r\n\r\n", 400),
            (b"GET / HTTP/1.1\r\nHost: a\r\nX: \x00\r\n\r\n", 400),
            // Bare LF line endings; a space before the colon.
            (b"GET / HTTP/1.1\nHost: a\r\n\r\n", 400),
            (b"GET / HTTP/1.1\r\nHost: a\nX: b\r\n\r\n", 400),
            (b"GET / HTTP/1.1\r\nHost : a\r\n\r\n", 400),
            // An invalid Host value.
            (b"GET / HTTP/1.1\r\nHost: a b\r\n\r\n", 400),
            (b"GET / HTTP/1.1\r\nHost: a/b\r\n\r\n", 400),
            (b"GET / HTTP/1.1\r\nHost: user@a\r\n\r\n", 400),
            (b"GET / HTTP/1.1\r\nHost: a:8x\r\n\r\n", 400),
            (b"GET / HTTP/1.1\r\nHost: [::1\r\n\r\n", 400),
            // Expect other than 100-continue.
            (b"GET / HTTP/1.1\r\nHost: a\r\nExpect: fly\r\n\r\n", 417),
            // A Transfer-Encoding line that lists no coding still makes the request TE-framed:
            // with Content-Length (or alone) it is refused, never framed by the length.
            (b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding:\r\nContent-Length: 3\r\n\r\n", 400),
            (b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: ,\r\nContent-Length: 3\r\n\r\n", 400),
            (b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding:   \r\nContent-Length: 3\r\n\r\n", 400),
            (b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding:\r\n\r\n", 400),
            (b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked,\r\nContent-Length: 3\r\n\r\n", 400),
            // Raw non-ASCII and control bytes in the target.
            (b"GET /\xc3\xa9 HTTP/1.1\r\nHost: a\r\n\r\n", 400),
            (b"GET /\x7f HTTP/1.1\r\nHost: a\r\n\r\n", 400),
            // Authority-form for a method other than CONNECT; asterisk-form other than OPTIONS.
            (b"GET host:80 HTTP/1.1\r\nHost: a\r\n\r\n", 400),
            (b"GET * HTTP/1.1\r\nHost: a\r\n\r\n", 400),
            (b"GET mailto:a HTTP/1.1\r\nHost: a\r\n\r\n", 400),
            // CONNECT takes the authority-form only.
            (b"CONNECT /x HTTP/1.1\r\nHost: a\r\n\r\n", 400),
            (b"CONNECT host HTTP/1.1\r\nHost: a\r\n\r\n", 400),
            (b"CONNECT host:port HTTP/1.1\r\nHost: a\r\n\r\n", 400),
        ];
        for (bytes, want) in table {
            assert_eq!(status(bytes), *want, "{}", String::from_utf8_lossy(bytes));
        }
    }

    #[test]
    fn target_forms_table() {
        for ok in [
            &b"GET /a?b=c HTTP/1.1\r\nHost: a\r\n\r\n"[..],
            b"GET http://a/x HTTP/1.1\r\nHost: a\r\n\r\n",
            b"GET //x HTTP/1.1\r\nHost: a\r\n\r\n",
            b"OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n",
            b"CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n",
            b"CONNECT [::1]:443 HTTP/1.1\r\nHost: [::1]:443\r\n\r\n",
            b"GET / HTTP/1.1\r\nHost:\r\n\r\n",
            b"GET / HTTP/1.1\r\nHost: xn--bcher-kva.example:8080\r\n\r\n",
            b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n",
            b"GET / HTTP/1.1\r\nHost: [fe80::1]:80\r\n\r\n",
        ] {
            head(ok);
        }
    }

    #[test]
    fn connect_has_no_content_and_ends_the_connection() {
        let h = head(b"CONNECT a:443 HTTP/1.1\r\nHost: a:443\r\nContent-Length: 3\r\n\r\n");
        assert_eq!(h.framing, BodyFraming::None);
        assert!(!h.keep_alive, "what follows is tunnel data, not a request");
        let h =
            head(b"CONNECT a:443 HTTP/1.1\r\nHost: a:443\r\nTransfer-Encoding: chunked\r\n\r\n");
        assert_eq!(h.framing, BodyFraming::None);
    }

    #[test]
    fn max_headers_is_a_limit_of_its_own() {
        let mut many = b"GET / HTTP/1.1\r\nHost: a\r\n".to_vec();
        for i in 0..300 {
            many.extend_from_slice(format!("X-{i}: v\r\n").as_bytes());
        }
        many.extend_from_slice(b"\r\n");
        let big = Limits {
            max_head_size: 64 * 1024,
            max_headers: DEFAULT_MAX_HEADERS,
        };
        let err = parse_request(&many, &big, &mut Vec::new()).unwrap_err();
        assert_eq!(err.status(), 431);
        assert!(err.reason.contains("maxHeaders"), "{err}");
        let more = Limits {
            max_headers: 400,
            ..big
        };
        let mut spans = Vec::new();
        assert!(matches!(
            parse_request(&many, &more, &mut spans),
            Ok(Parse::Complete(..))
        ));
        assert_eq!(spans.len(), 301, "above the stack array, on the heap");
    }

    #[test]
    fn expect_continue_is_noted() {
        let h = head(
            b"POST / HTTP/1.1\r\nHost: a\r\nExpect: 100-Continue\r\nContent-Length: 3\r\n\r\n",
        );
        assert!(h.expect_continue);
    }

    #[test]
    fn limits_give_431() {
        let limits = Limits {
            max_head_size: 64,
            max_headers: 3,
        };
        let long = [b"GET / HTTP/1.1\r\nHost: a\r\nX: ".as_slice(), &[b'a'; 100]].concat();
        assert_eq!(
            parse_request(&long, &limits, &mut Vec::new()).map_err(|e| e.status()),
            Err(431)
        );
        let many = b"GET / HTTP/1.1\r\nHost: a\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n";
        assert_eq!(
            parse_request(many, &limits, &mut Vec::new()).map_err(|e| e.status()),
            Err(431)
        );
    }

    #[test]
    fn pipelined_requests_parse_one_at_a_time() {
        let two = b"GET /1 HTTP/1.1\r\nHost: a\r\n\r\nGET /2 HTTP/1.1\r\nHost: a\r\n\r\n";
        let Ok(Parse::Complete(first, n)) = parse(two) else {
            panic!("first")
        };
        assert_eq!(first.target.of(two), b"/1");
        let Ok(Parse::Complete(second, m)) = parse(&two[n..]) else {
            panic!("second")
        };
        assert_eq!(second.target.of(&two[n..]), b"/2");
        assert_eq!(n + m, two.len());
    }

    #[test]
    fn the_version_verdict_does_not_depend_on_how_the_bytes_arrive() {
        // Found by the server_conn fuzz target: refused 400 byte by byte, 505 whole.
        let cases: [(&[u8], u16); 3] = [
            (b"GET / HTTP/2.0\r\nHost: a\r\n\r\n", 505),
            (b"A T33333333333333326  HTTP/1.3\r\n\r\n", 400),
            (b"GET / HTTP/1.1x\r\nHost: a\r\n\r\n", 400),
        ];
        let mut headers = Vec::new();
        for (input, status) in cases {
            for cut in 1..=input.len() {
                match parse_request(&input[..cut], &Limits::default(), &mut headers) {
                    Ok(Parse::Partial) => assert!(cut < input.len(), "{input:?} whole is partial"),
                    Ok(Parse::Complete(..)) => panic!("{input:?} accepted at {cut}"),
                    Err(e) => {
                        assert_eq!(e.status(), status, "{input:?} cut at {cut}");
                        break;
                    }
                }
            }
        }
    }
}
