//! HTTP server commands: listen, the batched response operations, close. Header fields are
//! checked by the TS layer (which must throw at the call) and again by the engine.

use evasync::http::batch;
use evasync::http::client::ClientRequest;
use evasync::http::parse::{encode_request_head, is_idempotent, RequestParts};
use evasync::http::HttpServerOptions;
use evasync::Command;
use napi::bindgen_prelude::*;
use napi_derive::napi;

use crate::event_loop::NativeLoop;
use crate::tcp::{bind, listening, server_options, ListenOptions, ListenResult};
use crate::timer::opt_seconds;

/// A client request as the TS layer passes it (fields as `name\0value\0…`).
#[napi(object)]
pub struct HttpRequestOptions {
    pub host: String,
    pub port: u32,
    pub method: String,
    pub target: String,
    pub host_header: String,
    pub field_count: u32,
    pub fields: String,
    pub timeout: Option<f64>,
    pub keep_alive: bool,
    pub max_connections: u32,
}

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

    /// Many response operations at once (`evasync::http::batch` format): the TS layer gathers the
    /// responses of a whole event batch and hands them over here in one call.
    #[napi(catch_unwind)]
    pub fn http_batch(&self, ops: &[u32], data: &[u8]) {
        self.send(Command::HttpBatch {
            ops: ops.to_vec(),
            data: data.to_vec(),
        });
    }

    /// Sends a client request; returns its id (the response or failure arrives as an event).
    /// The head is encoded and checked here: a bad method, target or field throws, nothing sent.
    #[napi(catch_unwind)]
    pub fn http_request(&self, r: HttpRequestOptions, body: Either<String, &[u8]>) -> Result<u32> {
        let body: &[u8] = match &body {
            Either::A(s) => s.as_bytes(),
            Either::B(b) => b,
        };
        let fields = batch::fields(r.fields.as_bytes(), r.field_count)
            .ok_or_else(|| Error::new(Status::InvalidArg, "invalid header field (NUL)"))?;
        let parts = RequestParts {
            method: &r.method,
            target: &r.target,
            host: &r.host_header,
            user_agent: concat!("evasync/", env!("CARGO_PKG_VERSION")),
            close: !r.keep_alive,
        };
        let mut bytes = Vec::with_capacity(256 + body.len());
        let fields: Vec<(&[u8], &[u8])> = fields.collect();
        encode_request_head(
            &mut bytes,
            &parts,
            fields.iter().copied(),
            body.len() as u64,
        )
        .map_err(|e| Error::new(Status::InvalidArg, e.to_string()))?;
        bytes.extend_from_slice(body);
        let id = self.handle.next_id();
        let request = ClientRequest {
            host: r.host,
            port: r.port as u16,
            bytes,
            head_request: r.method == "HEAD",
            idempotent: is_idempotent(&r.method),
            timeout: opt_seconds(r.timeout),
            keep_alive: r.keep_alive,
            max_connections: r.max_connections as usize,
        };
        self.send(Command::HttpRequest { id, request });
        Ok(id)
    }

    /// HTTP client connections busy with a request now.
    #[napi(catch_unwind)]
    pub fn http_client_connections(&self) -> u32 {
        self.handle.stats().outgoing_http_connections as u32
    }

    /// Stops an HTTP server: drains its connections, or aborts them when not `graceful`.
    #[napi(catch_unwind)]
    pub fn http_close_server(&self, id: u32, graceful: bool) {
        self.send(Command::HttpCloseServer { id, graceful });
    }
}
