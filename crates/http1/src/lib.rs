//! Sans-IO HTTP/1.1 for evasync: request heads and body framing, bytes in and decisions out.
//!
//! Nothing here does IO: [`parse_request`] takes the bytes received so far and answers
//! `Complete(head, consumed)`, `Partial` or an [`Error`] carrying the status to answer with
//! (400, 413, 431, 501). The framing rules are strict where request smuggling lives (RFC 9112
//! §6.3): `Content-Length` together with `Transfer-Encoding`, differing `Content-Length`s, a final
//! coding other than `chunked`, and an HTTP/1.1 request without exactly one `Host` are rejected.
//! [`ChunkedDecoder`] decodes chunked bodies strictly (CRLF only, bounded sizes, extensions and
//! trailers), because httparse's own chunk-size parser is lenient.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod chunked;
mod error;
mod request;

pub use chunked::{ChunkedDecoder, Decoded};
pub use error::{Error, ErrorKind};
pub use request::{parse_request, BodyFraming, Header, Limits, Parse, RequestHead, Version};
