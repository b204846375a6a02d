//! Response heads: the status line and header fields an application chose, completed with the
//! fields the protocol needs (`Date`, `Content-Length` or `Transfer-Encoding`, `Connection`) and
//! refused when a name or value could split the response (CR, LF, NUL and other controls).

use std::fmt;
use std::io::Write as _;

use crate::request::Version;

/// Why a response head was refused. Nothing was written when this is returned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ResponseError {
    /// A header name that is not a token (RFC 9110 §5.1), e.g. with a space, colon or CR/LF.
    InvalidName(String),
    /// A header value with CR, LF, NUL or another control character.
    InvalidValue(String),
    /// A status outside 100..=999.
    InvalidStatus(u16),
    /// A `Content-Length` that differs from the body given.
    ContentLengthMismatch,
}

impl fmt::Display for ResponseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ResponseError::InvalidName(n) => write!(f, "invalid header name {n:?}"),
            ResponseError::InvalidValue(n) => write!(f, "invalid value for header {n:?}"),
            ResponseError::InvalidStatus(s) => write!(f, "invalid status {s}"),
            ResponseError::ContentLengthMismatch => {
                write!(f, "Content-Length does not match the body")
            }
        }
    }
}

impl std::error::Error for ResponseError {}

/// How the body that follows a head is delimited on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyPlan {
    /// No body bytes may follow (HEAD, 1xx, 204, 304).
    Empty,
    /// Exactly this many bytes.
    Length(u64),
    /// Chunked: the writer frames each piece and ends with the last chunk.
    Chunked,
    /// The body ends when the connection closes (HTTP/1.0 streamed responses).
    UntilClose,
}

/// What the request asked for that shapes its response.
#[derive(Debug, Clone, Copy)]
pub struct ResponseContext<'a> {
    /// The request's version.
    pub version: Version,
    /// The request was `HEAD`: headers as for GET, no body.
    pub head_request: bool,
    /// The connection may carry another request (the request's wish and the server's).
    pub keep_alive: bool,
    /// The `Date` value to add when the application gave none (cached once a second).
    pub date: &'a [u8],
    /// The body's length for a whole response, `None` for a streamed one.
    pub body_len: Option<u64>,
}

/// The decisions made while encoding a head.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ResponsePlan {
    /// How body bytes must be framed.
    pub body: BodyPlan,
    /// The connection closes after this response.
    pub close: bool,
}

/// Byte classes for validation, one table lookup per byte: bit 0 tchar (RFC 9110 §5.6.2, header
/// names), bit 1 field-value byte (visible ASCII, space, tab, obs-text).
const CLASS: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        let tchar = c.is_ascii_alphanumeric()
            || matches!(
                c,
                b'!' | b'#'
                    | b'$'
                    | b'%'
                    | b'&'
                    | b'\''
                    | b'*'
                    | b'+'
                    | b'-'
                    | b'.'
                    | b'^'
                    | b'_'
                    | b'`'
                    | b'|'
                    | b'~'
            );
        let value = c == b'\t' || (c >= b' ' && c <= b'~') || c >= 0x80;
        t[b] = (tchar as u8) | ((value as u8) << 1);
        b += 1;
    }
    t
};

/// True for bytes allowed in a token (RFC 9110 §5.6.2: header names, methods, chunk
/// extension names).
pub(crate) fn is_tchar(b: u8) -> bool {
    CLASS[b as usize] & 1 != 0
}

/// True for bytes allowed in a field value.
fn is_value_byte(b: u8) -> bool {
    CLASS[b as usize] & 2 != 0
}

/// Checks one header field; the error names the header.
pub fn validate_header(name: &[u8], value: &[u8]) -> Result<(), ResponseError> {
    if name.is_empty() || !name.iter().all(|b| is_tchar(*b)) {
        return Err(ResponseError::InvalidName(
            String::from_utf8_lossy(name).into_owned(),
        ));
    }
    if !value.iter().all(|b| is_value_byte(*b)) {
        return Err(ResponseError::InvalidValue(
            String::from_utf8_lossy(name).into_owned(),
        ));
    }
    Ok(())
}

/// The reason phrase of a status (empty for unknown ones, which RFC 9112 allows).
pub fn reason_phrase(status: u16) -> &'static str {
    match status {
        100 => "Continue",
        101 => "Switching Protocols",
        103 => "Early Hints",
        200 => "OK",
        201 => "Created",
        202 => "Accepted",
        203 => "Non-Authoritative Information",
        204 => "No Content",
        205 => "Reset Content",
        206 => "Partial Content",
        300 => "Multiple Choices",
        301 => "Moved Permanently",
        302 => "Found",
        303 => "See Other",
        304 => "Not Modified",
        307 => "Temporary Redirect",
        308 => "Permanent Redirect",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        406 => "Not Acceptable",
        408 => "Request Timeout",
        409 => "Conflict",
        410 => "Gone",
        411 => "Length Required",
        412 => "Precondition Failed",
        413 => "Content Too Large",
        414 => "URI Too Long",
        415 => "Unsupported Media Type",
        416 => "Range Not Satisfiable",
        417 => "Expectation Failed",
        422 => "Unprocessable Content",
        426 => "Upgrade Required",
        428 => "Precondition Required",
        429 => "Too Many Requests",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        501 => "Not Implemented",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        505 => "HTTP Version Not Supported",
        _ => "",
    }
}

/// True when a response with this status never has a body (RFC 9110 §6.4.1).
pub fn status_has_no_body(status: u16) -> bool {
    (100..200).contains(&status) || status == 204 || status == 304
}

/// An application's header fields, checked and encoded once (`Name: value CRLF` each, in order),
/// with what the head encoder needs to know about them. Preparing them where the application
/// calls (a binding) lets a bad field be refused there, synchronously, and leaves the engine
/// nothing to re-check.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PreparedHeaders {
    block: Vec<u8>,
    content_length: Option<u64>,
    has_transfer_encoding: bool,
    has_date: bool,
    has_connection: bool,
    close: bool,
}

impl PreparedHeaders {
    /// Checks and encodes `headers`; refuses names that are not tokens and values with CR, LF,
    /// NUL or other controls, and a `Content-Length` that is not a number.
    pub fn new<'h>(
        headers: impl IntoIterator<Item = (&'h [u8], &'h [u8])>,
    ) -> Result<PreparedHeaders, ResponseError> {
        let mut p = PreparedHeaders::default();
        p.refill(headers)?;
        Ok(p)
    }

    /// [`PreparedHeaders::new`] into an existing value, reusing its buffer (a hot path prepares
    /// every response into one scratch value). On error the value is left empty.
    pub fn refill<'h>(
        &mut self,
        headers: impl IntoIterator<Item = (&'h [u8], &'h [u8])>,
    ) -> Result<(), ResponseError> {
        let mut block = std::mem::take(&mut self.block);
        block.clear();
        *self = PreparedHeaders::default();
        let p = self;
        for (name, value) in headers {
            validate_header(name, value)?;
            if name.eq_ignore_ascii_case(b"content-length") {
                let n = std::str::from_utf8(value.trim_ascii())
                    .ok()
                    .and_then(|s| s.parse::<u64>().ok())
                    .ok_or_else(|| ResponseError::InvalidValue("Content-Length".into()))?;
                p.content_length = Some(n);
            } else if name.eq_ignore_ascii_case(b"transfer-encoding") {
                p.has_transfer_encoding = true;
            } else if name.eq_ignore_ascii_case(b"date") {
                p.has_date = true;
            } else if name.eq_ignore_ascii_case(b"connection") {
                p.has_connection = true;
                p.close |= value
                    .split(|b| *b == b',')
                    .any(|t| t.trim_ascii().eq_ignore_ascii_case(b"close"));
            }
            block.extend_from_slice(name);
            block.extend_from_slice(b": ");
            block.extend_from_slice(value);
            block.extend_from_slice(b"\r\n");
        }
        p.block = block;
        Ok(())
    }

    /// Checks a whole response's body against a `Content-Length` the application gave (bodiless
    /// statuses and HEAD answers are exempt: there it describes what GET would send).
    pub fn check_body(&self, status: u16, body_len: u64) -> Result<(), ResponseError> {
        match self.content_length {
            Some(n) if n != body_len && !status_has_no_body(status) => {
                Err(ResponseError::ContentLengthMismatch)
            }
            _ => Ok(()),
        }
    }

    /// True when no field was given.
    pub fn is_empty(&self) -> bool {
        self.block.is_empty()
    }
}

/// Appends a complete response head (status line, the application's fields in order, then the
/// fields it left out, then the blank line) to `out`, and says how the body must be framed.
/// On error `out` is left as it was.
pub fn encode_response_head<'h>(
    out: &mut Vec<u8>,
    status: u16,
    headers: impl IntoIterator<Item = (&'h [u8], &'h [u8])>,
    ctx: &ResponseContext<'_>,
) -> Result<ResponsePlan, ResponseError> {
    let prepared = PreparedHeaders::new(headers)?;
    if let (Some(len), false) = (ctx.body_len, ctx.head_request) {
        prepared.check_body(status, len)?;
    }
    encode_prepared_head(out, status, &prepared, ctx)
}

/// Appends decimal digits of `n`.
fn push_decimal(out: &mut Vec<u8>, mut n: u64) {
    let mut digits = [0u8; 20];
    let mut i = digits.len();
    loop {
        i -= 1;
        digits[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.extend_from_slice(&digits[i..]);
}

/// [`encode_response_head`] for fields prepared beforehand.
pub fn encode_prepared_head(
    out: &mut Vec<u8>,
    status: u16,
    headers: &PreparedHeaders,
    ctx: &ResponseContext<'_>,
) -> Result<ResponsePlan, ResponseError> {
    if !(100..=999).contains(&status) {
        return Err(ResponseError::InvalidStatus(status));
    }
    let no_body_status = status_has_no_body(status);
    let informational = (100..200).contains(&status);
    let mut close = !ctx.keep_alive || headers.close;
    let mut add_length: Option<u64> = None;
    let mut add_chunked = false;
    let plan_body = if no_body_status {
        BodyPlan::Empty
    } else if let Some(len) = ctx.body_len {
        if headers.content_length.is_none() && !headers.has_transfer_encoding {
            add_length = Some(len);
        }
        if ctx.head_request {
            BodyPlan::Empty
        } else {
            BodyPlan::Length(len)
        }
    } else if let Some(n) = headers.content_length {
        if ctx.head_request {
            BodyPlan::Empty
        } else {
            BodyPlan::Length(n)
        }
    } else if ctx.head_request {
        BodyPlan::Empty
    } else if headers.has_transfer_encoding || ctx.version == Version::Http11 {
        add_chunked = !headers.has_transfer_encoding;
        BodyPlan::Chunked
    } else {
        close = true;
        BodyPlan::UntilClose
    };

    out.reserve(headers.block.len() + 128);
    out.extend_from_slice(b"HTTP/1.1 ");
    push_decimal(out, u64::from(status));
    out.push(b' ');
    out.extend_from_slice(reason_phrase(status).as_bytes());
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(&headers.block);
    if !headers.has_date && !informational {
        out.extend_from_slice(b"Date: ");
        out.extend_from_slice(ctx.date);
        out.extend_from_slice(b"\r\n");
    }
    if let Some(len) = add_length {
        out.extend_from_slice(b"Content-Length: ");
        push_decimal(out, len);
        out.extend_from_slice(b"\r\n");
    }
    if add_chunked {
        out.extend_from_slice(b"Transfer-Encoding: chunked\r\n");
    }
    if !headers.has_connection && !informational {
        out.extend_from_slice(if close {
            b"Connection: close\r\n".as_slice()
        } else {
            b"Connection: keep-alive\r\n".as_slice()
        });
    }
    out.extend_from_slice(b"\r\n");
    Ok(ResponsePlan {
        body: plan_body,
        close: close && !informational,
    })
}

/// The last chunk of a chunked body, with no trailers.
pub const LAST_CHUNK: &[u8] = b"0\r\n\r\n";

/// Appends one chunk (`size CRLF data CRLF`); an empty `data` appends nothing, because an empty
/// chunk would end the body.
pub fn encode_chunk(out: &mut Vec<u8>, data: &[u8]) {
    if data.is_empty() {
        return;
    }
    let _ = write!(out, "{:x}\r\n", data.len());
    out.extend_from_slice(data);
    out.extend_from_slice(b"\r\n");
}

/// An IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`, RFC 9110 §5.6.7) for seconds since the Unix
/// epoch.
pub fn http_date(unix_secs: u64) -> String {
    const DAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let days = unix_secs / 86_400;
    let secs = unix_secs % 86_400;
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{}, {:02} {} {} {:02}:{:02}:{:02} GMT",
        DAYS[(days % 7) as usize],
        day,
        MONTHS[(month - 1) as usize],
        year,
        secs / 3600,
        secs / 60 % 60,
        secs % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx(body_len: Option<u64>) -> ResponseContext<'static> {
        ResponseContext {
            version: Version::Http11,
            head_request: false,
            keep_alive: true,
            date: b"Mon, 23 Nov 2026 23:32:17 GMT",
            body_len,
        }
    }

    fn encode(
        status: u16,
        headers: &[(&str, &str)],
        c: &ResponseContext<'_>,
    ) -> Result<(String, ResponsePlan), ResponseError> {
        let mut out = Vec::new();
        let plan = encode_response_head(
            &mut out,
            status,
            headers.iter().map(|(n, v)| (n.as_bytes(), v.as_bytes())),
            c,
        )?;
        Ok((String::from_utf8(out).unwrap_or_default(), plan))
    }

    #[test]
    fn whole_response_gets_date_length_and_connection() {
        let (text, plan) = encode(200, &[("Content-Type", "text/plain")], &ctx(Some(5))).unwrap();
        assert_eq!(
            text,
            "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nDate: Mon, 23 Nov 2026 23:32:17 GMT\r\n\
             Content-Length: 5\r\nConnection: keep-alive\r\n\r\n"
        );
        assert_eq!(
            plan,
            ResponsePlan {
                body: BodyPlan::Length(5),
                close: false
            }
        );
    }

    /// status, headers, context, expected body plan, expected close, text the head must hold
    type Row<'a> = (
        u16,
        &'a [(&'a str, &'a str)],
        ResponseContext<'a>,
        BodyPlan,
        bool,
        &'a str,
    );

    #[test]
    fn framing_table() {
        let http10 = ResponseContext {
            version: Version::Http10,
            ..ctx(None)
        };
        let head = ResponseContext {
            head_request: true,
            ..ctx(Some(11))
        };
        let closing = ResponseContext {
            keep_alive: false,
            ..ctx(Some(0))
        };
        let table: &[Row<'_>] = &[
            (
                200,
                &[],
                ctx(None),
                BodyPlan::Chunked,
                false,
                "Transfer-Encoding: chunked",
            ),
            (
                200,
                &[("Content-Length", "3")],
                ctx(None),
                BodyPlan::Length(3),
                false,
                "Content-Length: 3",
            ),
            (
                200,
                &[],
                http10,
                BodyPlan::UntilClose,
                true,
                "Connection: close",
            ),
            (200, &[], head, BodyPlan::Empty, false, "Content-Length: 11"),
            (
                204,
                &[],
                ctx(Some(0)),
                BodyPlan::Empty,
                false,
                "204 No Content",
            ),
            (
                304,
                &[],
                ctx(Some(0)),
                BodyPlan::Empty,
                false,
                "304 Not Modified",
            ),
            (
                200,
                &[],
                closing,
                BodyPlan::Length(0),
                true,
                "Connection: close",
            ),
            (
                200,
                &[("connection", "Close")],
                ctx(Some(0)),
                BodyPlan::Length(0),
                true,
                "connection: Close",
            ),
            (
                299,
                &[],
                ctx(Some(0)),
                BodyPlan::Length(0),
                false,
                "HTTP/1.1 299 \r\n",
            ),
        ];
        for (status, headers, c, body, close, needle) in table {
            let (text, plan) = encode(*status, headers, c).unwrap();
            assert_eq!(plan.body, *body, "{text}");
            assert_eq!(plan.close, *close, "{text}");
            assert!(text.contains(needle), "{needle:?} in {text}");
        }
        let (text, _) = encode(204, &[], &ctx(Some(0))).unwrap();
        assert!(!text.contains("Content-Length"), "{text}");
        let (text, plan) = encode(100, &[], &ctx(Some(0))).unwrap();
        assert_eq!(text, "HTTP/1.1 100 Continue\r\n\r\n");
        assert!(!plan.close);
    }

    #[test]
    fn splitting_bytes_are_refused_and_nothing_is_written() {
        let table: &[(&str, &str)] = &[
            ("X", "a\r\nInjected: 1"),
            ("X", "a\nb"),
            ("X", "a\0b"),
            ("X", "a\x07b"),
            ("X\r\nY", "1"),
            ("X Y", "1"),
            ("X:", "1"),
            ("", "1"),
        ];
        for (name, value) in table {
            let mut out = b"kept".to_vec();
            let r = encode_response_head(
                &mut out,
                200,
                [(name.as_bytes(), value.as_bytes())],
                &ctx(Some(0)),
            );
            assert!(r.is_err(), "{name:?}: {value:?}");
            assert_eq!(out, b"kept");
        }
        assert!(encode(200, &[("X", "tab\tand obs-text \u{e9}")], &ctx(Some(0))).is_ok());
        assert_eq!(
            encode(200, &[("Content-Length", "4")], &ctx(Some(5))).err(),
            Some(ResponseError::ContentLengthMismatch)
        );
        assert_eq!(
            encode(1000, &[], &ctx(Some(0))).err(),
            Some(ResponseError::InvalidStatus(1000))
        );
    }

    #[test]
    fn chunks_and_dates() {
        let mut out = Vec::new();
        encode_chunk(&mut out, b"hello world, 26 bytes long");
        encode_chunk(&mut out, b"");
        out.extend_from_slice(LAST_CHUNK);
        assert_eq!(out, b"1a\r\nhello world, 26 bytes long\r\n0\r\n\r\n");
        assert_eq!(http_date(0), "Thu, 01 Jan 1970 00:00:00 GMT");
        assert_eq!(http_date(784_111_777), "Sun, 06 Nov 1994 08:49:37 GMT");
        assert_eq!(http_date(951_782_400), "Tue, 29 Feb 2000 00:00:00 GMT");
        assert_eq!(http_date(1_795_476_737), "Mon, 23 Nov 2026 23:32:17 GMT");
    }
}
