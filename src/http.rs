//! HTTP server commands: listen, respond (whole or streamed), close. Responses are checked here,
//! before they are queued, so that a header with CR/LF/NUL throws at the call and nothing is sent.

use evasync::http::{check_response, HttpServerOptions, Response};
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

/// Pairs from the flat `[name, value, name, value, …]` list the TS layer passes.
fn pairs(flat: Option<Vec<String>>) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut it = flat.unwrap_or_default().into_iter();
    while let (Some(n), Some(v)) = (it.next(), it.next()) {
        out.push((n, v));
    }
    out
}

fn type_error(e: impl std::fmt::Display) -> Error {
    Error::new(Status::InvalidArg, e.to_string())
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

    /// A whole response to request `seq` of connection `id`; `body` is bytes or a string.
    /// Throws (and sends nothing) when a header would split the response.
    #[napi(catch_unwind)]
    pub fn http_respond(
        &self,
        id: u32,
        seq: u32,
        status: u32,
        headers: Option<Vec<String>>,
        body: Either<String, &[u8]>,
        close: bool,
    ) -> Result<()> {
        let body = match body {
            Either::A(s) => s.into_bytes(),
            Either::B(b) => b.to_vec(),
        };
        let headers = pairs(headers);
        check_response(status as u16, &headers, Some(body.len() as u64)).map_err(type_error)?;
        self.send(Command::HttpRespond {
            id,
            seq,
            response: Response {
                status: status as u16,
                headers,
                body,
                close,
            },
        });
        Ok(())
    }

    /// The head of a streamed response.
    #[napi(catch_unwind)]
    pub fn http_start(
        &self,
        id: u32,
        seq: u32,
        status: u32,
        headers: Option<Vec<String>>,
        close: bool,
    ) -> Result<()> {
        let headers = pairs(headers);
        check_response(status as u16, &headers, None).map_err(type_error)?;
        self.send(Command::HttpStart {
            id,
            seq,
            response: Response {
                status: status as u16,
                headers,
                body: Vec::new(),
                close,
            },
        });
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
