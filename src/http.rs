//! HTTP server commands: listen, respond (whole or streamed), close. Responses are checked here,
//! before they are queued, so that a header with CR/LF/NUL throws at the call and nothing is sent.

use evasync::http::{HttpServerOptions, Response};
use evasync::Command;
use napi::bindgen_prelude::*;
use napi_derive::napi;

use crate::event_loop::NativeLoop;
use crate::tcp::{bind, listening, server_options, ListenOptions, ListenResult};
use crate::timer::opt_seconds;

/// The HTTP part of `httpListen`'s options (API.md §5 defaults are applied by the TS layer).
#[napi(object)]
pub struct HttpOptions {
    pub max_header_size: u32,
    pub max_body_size: f64,
    pub request_timeout: Option<f64>,
    pub keep_alive_timeout: Option<f64>,
    pub max_requests_per_connection: u32,
    pub stream_body: bool,
}

/// Header fields arrive as one string `name\0value\0name\0value\0…` with their count: one string
/// conversion per response instead of two per field. A NUL inside a name or value (which HTTP
/// forbids anyway) shows up as a count mismatch and is refused like any other bad byte.
fn fields(count: u32, flat: &str) -> Result<Vec<(&[u8], &[u8])>> {
    let mut parts = flat.as_bytes().split(|b| *b == 0);
    let mut out = Vec::with_capacity(count as usize);
    for _ in 0..count {
        match (parts.next(), parts.next()) {
            (Some(n), Some(v)) => out.push((n, v)),
            _ => return Err(type_error("invalid header field (NUL)")),
        }
    }
    if parts.next().is_some_and(|rest| !rest.is_empty()) || parts.next().is_some() {
        return Err(type_error("invalid header field (NUL)"));
    }
    Ok(out)
}

fn type_error(e: impl std::fmt::Display) -> Error {
    Error::new(Status::InvalidArg, e.to_string())
}

impl NativeLoop {
    fn respond(
        &self,
        id: u32,
        seq: u32,
        status: u32,
        count: u32,
        flat: &str,
        body: Vec<u8>,
        close: bool,
    ) -> Result<()> {
        let mut response =
            Response::new(status as u16, fields(count, flat)?, body).map_err(type_error)?;
        response.close = close;
        self.send(Command::HttpRespond { id, seq, response });
        Ok(())
    }
}

#[napi]
impl NativeLoop {
    /// Binds and listens now; serves HTTP from the reactor's next turn.
    #[napi(catch_unwind)]
    pub fn http_listen(&self, o: ListenOptions, h: HttpOptions) -> ListenResult {
        let bound = match bind(&o) {
            Ok(b) => b,
            Err(failure) => return failure,
        };
        let id = self.handle.next_id();
        let result = listening(id, &bound);
        let opts = HttpServerOptions {
            tcp: server_options(&o),
            max_header_size: h.max_header_size as usize,
            max_body_size: h.max_body_size as u64,
            request_timeout: opt_seconds(h.request_timeout),
            keep_alive_timeout: opt_seconds(h.keep_alive_timeout),
            max_requests_per_connection: h.max_requests_per_connection,
            stream_body: h.stream_body,
        };
        self.send(Command::HttpListen {
            id,
            listener: bound,
            opts: Box::new(opts),
        });
        result
    }

    /// A whole response with a string body to request `seq` of connection `id`. Throws (and
    /// sends nothing) when a header would split the response.
    #[napi(catch_unwind)]
    #[allow(clippy::too_many_arguments)]
    pub fn http_respond(
        &self,
        id: u32,
        seq: u32,
        status: u32,
        count: u32,
        headers: String,
        body: String,
        close: bool,
    ) -> Result<()> {
        self.respond(id, seq, status, count, &headers, body.into_bytes(), close)
    }

    /// `httpRespond` with a byte body.
    #[napi(catch_unwind)]
    #[allow(clippy::too_many_arguments)]
    pub fn http_respond_bytes(
        &self,
        id: u32,
        seq: u32,
        status: u32,
        count: u32,
        headers: String,
        body: &[u8],
        close: bool,
    ) -> Result<()> {
        self.respond(id, seq, status, count, &headers, body.to_vec(), close)
    }

    /// The head of a streamed response.
    #[napi(catch_unwind)]
    pub fn http_start(
        &self,
        id: u32,
        seq: u32,
        status: u32,
        count: u32,
        headers: String,
    ) -> Result<()> {
        let response =
            Response::head(status as u16, fields(count, &headers)?).map_err(type_error)?;
        self.send(Command::HttpStart { id, seq, response });
        Ok(())
    }

    /// A piece of a streamed response body.
    #[napi(catch_unwind)]
    pub fn http_chunk(&self, id: u32, seq: u32, data: Either<String, &[u8]>) {
        let data = match data {
            Either::A(s) => s.into_bytes(),
            Either::B(b) => b.to_vec(),
        };
        self.send(Command::HttpChunk { id, seq, data });
    }

    /// The end of a streamed response.
    #[napi(catch_unwind)]
    pub fn http_finish(&self, id: u32, seq: u32) {
        self.send(Command::HttpFinish { id, seq });
    }

    /// Stops an HTTP server: drains its connections, or aborts them when not `graceful`.
    #[napi(catch_unwind)]
    pub fn http_close_server(&self, id: u32, graceful: bool) {
        self.send(Command::HttpCloseServer { id, graceful });
    }
}
