//! Sans-IO HTTP/1.1 for evasync: request heads, body framing, response heads and the request side
//! of a server connection, bytes in and decisions out.
//!
//! Nothing here does IO. [`parse_request`] takes the bytes received so far and answers
//! `Complete(head, consumed)`, `Partial` or an [`Error`] carrying the status to answer with
//! (400, 413, 431, 501); heads are described by [`Span`]s of the input, so parsing allocates
//! nothing. The framing rules are strict where request smuggling lives (RFC 9112 §6.3):
//! `Content-Length` together with `Transfer-Encoding`, differing `Content-Length`s, a final
//! coding other than `chunked`, bare LF line endings, and an HTTP/1.1 request without exactly one
//! `Host` are refused. [`ChunkedDecoder`] decodes chunked bodies strictly (CRLF only, bounded
//! sizes, extensions and trailers), because httparse's own chunk-size parser is lenient.
//! [`ServerConn`] strings these together per server connection and [`ClientConn`] per client
//! response; [`encode_response_head`] writes response heads and refuses fields that could split
//! a response, [`encode_request_head`] request heads.
#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![deny(rustdoc::broken_intra_doc_links, rustdoc::private_intra_doc_links)]

mod chunked;
mod client;
mod client_conn;
mod error;
mod request;
mod response;
mod server;

pub use chunked::{ChunkedDecoder, Decoded};
pub use client::{
    encode_request_head, is_idempotent, parse_response, RequestParts, ResponseFraming, ResponseHead,
};
pub use client_conn::{ClientConn, ClientStep};
pub use error::{Error, ErrorKind};
pub use request::{
    find_header, parse_request, BodyFraming, HeaderSpan, Limits, Parse, RequestHead, Span, Version,
    DEFAULT_MAX_HEADERS, MAX_HEADERS_ON_STACK,
};
pub use response::{
    encode_chunk, encode_prepared_head, encode_response_head, http_date, reason_phrase,
    status_has_no_body, validate_header, BodyPlan, PreparedHeaders, ResponseContext, ResponseError,
    ResponsePlan, LAST_CHUNK,
};
pub use server::{ReadState, ServerConn, Step};
