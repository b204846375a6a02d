//! The client side: request heads (validated, with the fields a client must send) and response
//! heads with their framing (RFC 9112 §6.3), including bodies ended by the connection closing.

use crate::error::Error;
use crate::request::{
    list, parse_content_length, span_in, trim, HeaderSpan, Parse, Span, Version,
    MAX_HEADERS_ON_STACK,
};
use crate::response::{status_has_no_body, validate_header, ResponseError};

/// How a response body is delimited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResponseFraming {
    /// No body (HEAD, 1xx, 204, 304, or `Content-Length: 0`).
    None,
    /// Exactly this many bytes.
    Length(u64),
    /// Chunked.
    Chunked,
    /// Until the server closes the connection.
    UntilClose,
}

/// A parsed response head; text fields are spans of the parsed buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ResponseHead {
    /// The status code.
    pub status: u16,
    /// The reason phrase.
    pub reason: Span,
    /// The version.
    pub version: Version,
    /// How the body is delimited.
    pub framing: ResponseFraming,
    /// The connection may carry another request after this response.
    pub keep_alive: bool,
}

/// Parses a response head from the start of `buf`; `head_request` says the request was HEAD
/// (its response has no body whatever the fields say). Fields go to `headers`.
pub fn parse_response(
    buf: &[u8],
    head_request: bool,
    max_head_size: usize,
    headers: &mut Vec<HeaderSpan>,
) -> Result<Parse<ResponseHead>, Error> {
    headers.clear();
    // httparse has no uninitialised-storage variant for responses; this array is the cost of
    // one response head, not of each byte.
    let mut storage = [httparse::EMPTY_HEADER; MAX_HEADERS_ON_STACK];
    let mut res = httparse::Response::new(&mut storage);
    let consumed = match res.parse(buf) {
        Ok(httparse::Status::Complete(n)) => n,
        Ok(httparse::Status::Partial) => {
            if buf.len() > max_head_size {
                return Err(Error::new(
                    crate::ErrorKind::HeadTooLarge,
                    "response head too large",
                ));
            }
            return Ok(Parse::Partial);
        }
        Err(httparse::Error::TooManyHeaders) => {
            return Err(Error::new(
                crate::ErrorKind::HeadTooLarge,
                "too many header fields",
            ))
        }
        Err(_) => return Err(Error::malformed("malformed response head")),
    };
    let (Some(status), Some(minor)) = (res.code, res.version) else {
        return Err(Error::malformed("incomplete status line"));
    };
    let version = if minor == 1 {
        Version::Http11
    } else {
        Version::Http10
    };
    let mut length: Option<u64> = None;
    let mut chunked_last = false;
    let mut has_te = false;
    let mut close = false;
    let mut keep_alive_token = false;
    for h in res.headers.iter() {
        let value = trim(h.value);
        headers.push(HeaderSpan {
            name: span_in(buf, h.name.as_bytes()),
            value: span_in(buf, value),
        });
        if h.name.eq_ignore_ascii_case("content-length") {
            for v in value.split(|b| *b == b',').map(trim) {
                let n = parse_content_length(v)?;
                if length.is_some_and(|m| m != n) {
                    return Err(Error::malformed("conflicting Content-Length values"));
                }
                length = Some(n);
            }
        } else if h.name.eq_ignore_ascii_case("transfer-encoding") {
            has_te = true;
            for coding in list(value) {
                chunked_last = coding.eq_ignore_ascii_case(b"chunked");
            }
        } else if h.name.eq_ignore_ascii_case("connection") {
            for t in list(value) {
                close |= t.eq_ignore_ascii_case(b"close");
                keep_alive_token |= t.eq_ignore_ascii_case(b"keep-alive");
            }
        }
    }
    let framing = if head_request || status_has_no_body(status) {
        ResponseFraming::None
    } else if has_te {
        if chunked_last {
            ResponseFraming::Chunked
        } else {
            ResponseFraming::UntilClose
        }
    } else {
        match length {
            Some(0) => ResponseFraming::None,
            Some(n) => ResponseFraming::Length(n),
            None => ResponseFraming::UntilClose,
        }
    };
    let keep_alive = framing != ResponseFraming::UntilClose
        && match version {
            Version::Http11 => !close,
            Version::Http10 => keep_alive_token && !close,
        };
    Ok(Parse::Complete(
        ResponseHead {
            status,
            reason: span_in(buf, res.reason.unwrap_or("").as_bytes()),
            version,
            framing,
            keep_alive,
        },
        consumed,
    ))
}

/// What a request to encode consists of.
#[derive(Debug, Clone, Copy)]
pub struct RequestParts<'a> {
    /// The method (a token, e.g. `GET`).
    pub method: &'a str,
    /// The request target (`/path?query`).
    pub target: &'a str,
    /// The `Host` value to send unless the fields carry one.
    pub host: &'a str,
    /// The `User-Agent` value to send unless the fields carry one.
    pub user_agent: &'a str,
    /// Ask the server to close after the response.
    pub close: bool,
}

/// True for methods a client may repeat without changing the outcome (RFC 9110 §9.2.2).
pub fn is_idempotent(method: &str) -> bool {
    matches!(
        method,
        "GET" | "HEAD" | "PUT" | "DELETE" | "OPTIONS" | "TRACE"
    )
}

/// Appends a request head: the request line, the application's fields in order, then `Host`,
/// `User-Agent`, `Content-Length` (for a body, or an empty body with a method that expects
/// one) and `Connection: close` when asked and absent. Refuses a method that is not a token, a
/// target with spaces or controls, and fields that could split the request; `out` is then
/// left as it was.
pub fn encode_request_head<'h>(
    out: &mut Vec<u8>,
    parts: &RequestParts<'_>,
    headers: impl IntoIterator<Item = (&'h [u8], &'h [u8])> + Clone,
    body_len: u64,
) -> Result<(), ResponseError> {
    if parts.method.is_empty() || validate_header(parts.method.as_bytes(), b"").is_err() {
        return Err(ResponseError::InvalidName(parts.method.to_string()));
    }
    if parts.target.is_empty() || parts.target.bytes().any(|b| b <= b' ' || b == 0x7f) {
        return Err(ResponseError::InvalidValue("request target".into()));
    }
    validate_header(b"Host", parts.host.as_bytes())?;
    let (mut has_host, mut has_ua, mut has_length, mut has_te, mut has_conn) =
        (false, false, false, false, false);
    for (n, v) in headers.clone() {
        validate_header(n, v)?;
        has_host |= n.eq_ignore_ascii_case(b"host");
        has_ua |= n.eq_ignore_ascii_case(b"user-agent");
        has_length |= n.eq_ignore_ascii_case(b"content-length");
        has_te |= n.eq_ignore_ascii_case(b"transfer-encoding");
        has_conn |= n.eq_ignore_ascii_case(b"connection");
    }
    out.extend_from_slice(parts.method.as_bytes());
    out.push(b' ');
    out.extend_from_slice(parts.target.as_bytes());
    out.extend_from_slice(b" HTTP/1.1\r\n");
    if !has_host {
        out.extend_from_slice(b"Host: ");
        out.extend_from_slice(parts.host.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    for (n, v) in headers {
        out.extend_from_slice(n);
        out.extend_from_slice(b": ");
        out.extend_from_slice(v);
        out.extend_from_slice(b"\r\n");
    }
    if !has_ua {
        out.extend_from_slice(b"User-Agent: ");
        out.extend_from_slice(parts.user_agent.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    let wants_body = matches!(parts.method, "POST" | "PUT" | "PATCH");
    if !has_length && !has_te && (body_len > 0 || wants_body) {
        out.extend_from_slice(format!("Content-Length: {body_len}\r\n").as_bytes());
    }
    if parts.close && !has_conn {
        out.extend_from_slice(b"Connection: close\r\n");
    }
    out.extend_from_slice(b"\r\n");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(bytes: &[u8], head: bool) -> Result<(ResponseHead, usize), u16> {
        match parse_response(bytes, head, 16 * 1024, &mut Vec::new()) {
            Ok(Parse::Complete(h, n)) => Ok((h, n)),
            Ok(Parse::Partial) => Err(0),
            Err(e) => Err(e.status()),
        }
    }

    #[test]
    fn framing_and_keep_alive_table() {
        let table: &[(&[u8], bool, ResponseFraming, bool)] = &[
            (
                b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n",
                false,
                ResponseFraming::Length(5),
                true,
            ),
            (
                b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n",
                false,
                ResponseFraming::Chunked,
                true,
            ),
            (
                b"HTTP/1.1 200 OK\r\n\r\n",
                false,
                ResponseFraming::UntilClose,
                false,
            ),
            (
                b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n",
                false,
                ResponseFraming::UntilClose,
                false,
            ),
            (
                b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n",
                true,
                ResponseFraming::None,
                true,
            ),
            (
                b"HTTP/1.1 204 No Content\r\n\r\n",
                false,
                ResponseFraming::None,
                true,
            ),
            (
                b"HTTP/1.1 304 Not Modified\r\nContent-Length: 9\r\n\r\n",
                false,
                ResponseFraming::None,
                true,
            ),
            (
                b"HTTP/1.1 100 Continue\r\n\r\n",
                false,
                ResponseFraming::None,
                true,
            ),
            (
                b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
                false,
                ResponseFraming::None,
                false,
            ),
            (
                b"HTTP/1.0 200 OK\r\nContent-Length: 1\r\n\r\n",
                false,
                ResponseFraming::Length(1),
                false,
            ),
            (
                b"HTTP/1.0 200 OK\r\nContent-Length: 1\r\nConnection: keep-alive\r\n\r\n",
                false,
                ResponseFraming::Length(1),
                true,
            ),
        ];
        for (bytes, head, framing, keep) in table {
            let (h, n) = parse(bytes, *head)
                .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(bytes)));
            assert_eq!(n, bytes.len());
            assert_eq!(h.framing, *framing, "{}", String::from_utf8_lossy(bytes));
            assert_eq!(h.keep_alive, *keep, "{}", String::from_utf8_lossy(bytes));
        }
    }

    #[test]
    fn malformed_responses() {
        assert_eq!(parse(b"HTTP/1.1 200 OK\r\n", false), Err(0));
        assert_eq!(parse(b"HTTX/1.1 200 OK\r\n\r\n", false), Err(400));
        assert_eq!(parse(b"HTTP/1.1 2000 OK\r\n\r\n", false), Err(400));
        assert_eq!(
            parse(b"HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n", false),
            Err(400)
        );
        assert_eq!(
            parse(
                b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
                false
            ),
            Err(400)
        );
    }

    #[test]
    fn request_heads() {
        let parts = RequestParts {
            method: "POST",
            target: "/a?b=1",
            host: "example.com:8080",
            user_agent: "evasync/0.1.0",
            close: false,
        };
        let mut out = Vec::new();
        encode_request_head(&mut out, &parts, [(b"X-A".as_slice(), b"1".as_slice())], 3).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "POST /a?b=1 HTTP/1.1\r\nHost: example.com:8080\r\nX-A: 1\r\nUser-Agent: evasync/0.1.0\r\nContent-Length: 3\r\n\r\n"
        );
        let mut out = b"kept".to_vec();
        let bad = [(b"X".as_slice(), b"a\r\nInjected: 1".as_slice())];
        assert!(encode_request_head(&mut out, &parts, bad, 0).is_err());
        assert_eq!(out, b"kept");
        let get = RequestParts {
            method: "GET",
            target: "/",
            close: true,
            ..parts
        };
        let mut out = Vec::new();
        encode_request_head(&mut out, &get, [(b"host".as_slice(), b"h".as_slice())], 0).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(
            !text.contains("Content-Length")
                && text.contains("Connection: close")
                && !text.contains("Host: example")
        );
        assert!(encode_request_head(
            &mut Vec::new(),
            &RequestParts {
                method: "G T",
                ..parts
            },
            [],
            0
        )
        .is_err());
        assert!(encode_request_head(
            &mut Vec::new(),
            &RequestParts {
                target: "/a b",
                ..parts
            },
            [],
            0
        )
        .is_err());
        assert!(is_idempotent("GET") && !is_idempotent("POST"));
    }
}
