//! HTTP commands that do not go through the shared memory: serving (bound here, synchronously)
//! and client requests (encoded and checked by the engine at the call, so a bad one throws).
//! Responses are operations JS writes in the shared memory.

use evasync::http::client::{ClientRequest, RequestSpec};
use evasync::http::HttpServerOptions;
use evasync::wire::ops::fields;
use napi::bindgen_prelude::*;
use napi_derive::napi;

use crate::convert::opt_seconds;
use crate::event_loop::NativeLoop;
use crate::tcp::{bind, listening, server_options, ListenOptions, ListenResult};
use crate::tls::{client_config, server_config, TlsOpts};

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
    /// Connect to this Unix socket (bytes) instead of host:port.
    pub socket_path: Option<Buffer>,
    /// Report the head at once and the body in pieces.
    pub stream_body: Option<bool>,
}

/// The HTTP part of `httpListen`'s options. Absent ones take the engine's defaults
/// (`HttpServerOptions::default()`, API.md §5); a timeout of 0 means none.
#[napi(object)]
pub struct HttpOptions {
    pub max_header_size: Option<u32>,
    pub max_headers: Option<u32>,
    pub max_body_size: Option<f64>,
    pub request_timeout: Option<f64>,
    pub keep_alive_timeout: Option<f64>,
    pub max_requests_per_connection: Option<u32>,
    pub stream_body: Option<bool>,
}

#[napi]
impl NativeLoop {
    /// Binds and listens now; serves HTTP from the reactor's next turn.
    #[napi(catch_unwind)]
    pub fn http_listen(
        &self,
        o: ListenOptions,
        h: HttpOptions,
        tls: Option<TlsOpts>,
    ) -> Result<ListenResult> {
        // HTTPS offers ALPN `http/1.1` unless the options say otherwise.
        let tls = tls.map(|t| server_config(&t, &["http/1.1"])).transpose()?;
        let bound = match bind(&o) {
            Ok(b) => b,
            Err(failure) => return Ok(failure),
        };
        let d = HttpServerOptions::default();
        let timeout = |given: Option<f64>, default| given.map_or(default, |s| opt_seconds(Some(s)));
        let opts = HttpServerOptions {
            tcp: server_options(&o, tls),
            max_header_size: h.max_header_size.map_or(d.max_header_size, |n| n as usize),
            max_headers: h.max_headers.map_or(d.max_headers, |n| n as usize),
            max_body_size: h.max_body_size.map_or(d.max_body_size, |n| n as u64),
            request_timeout: timeout(h.request_timeout, d.request_timeout),
            keep_alive_timeout: timeout(h.keep_alive_timeout, d.keep_alive_timeout),
            max_requests_per_connection: h
                .max_requests_per_connection
                .unwrap_or(d.max_requests_per_connection),
            stream_body: h.stream_body.unwrap_or(d.stream_body),
        };
        let (local, fd) = (bound.local.clone(), bound.fd());
        let (id, _) = self.command(|handle| handle.http_serve(bound, opts));
        Ok(listening(id, local, fd))
    }

    /// Sends a client request; returns its id (the response or failure arrives as an event).
    /// The engine encodes and checks the head here: a bad method, target or field throws and
    /// nothing is sent.
    #[napi(catch_unwind)]
    pub fn http_request(
        &self,
        r: HttpRequestOptions,
        body: Either<String, &[u8]>,
        tls: Option<TlsOpts>,
    ) -> Result<u32> {
        let tls = tls.as_ref().map(client_config).transpose()?;
        let body: &[u8] = match &body {
            Either::A(s) => s.as_bytes(),
            Either::B(b) => b,
        };
        let invalid = |e: String| Error::new(Status::InvalidArg, e);
        let fields = fields(r.fields.as_bytes(), r.field_count)
            .ok_or_else(|| invalid("invalid header field (NUL)".into()))?;
        let spec = RequestSpec {
            host: &r.host,
            port: r.port as u16,
            method: &r.method,
            target: &r.target,
            host_header: &r.host_header,
            body,
            timeout: opt_seconds(r.timeout),
            keep_alive: r.keep_alive,
            max_connections: r.max_connections as usize,
        };
        let fields: Vec<(&[u8], &[u8])> = fields.collect();
        let mut request = ClientRequest::new(&spec, fields.iter().copied())
            .map_err(|e| invalid(e.to_string()))?;
        request.tls = tls;
        request.socket_path = r.socket_path.as_ref().map(|p| p.as_ref().to_vec());
        request.stream_body = r.stream_body.unwrap_or(false);
        Ok(self.command(|h| h.http_client(request)))
    }

    /// Stops (or resumes) reading the streamed response of request `id` (backpressure).
    #[napi(catch_unwind)]
    pub fn http_client_pause(&self, id: u32, paused: bool) {
        self.command(|h| h.http_client_pause(id, paused));
    }

    /// Gives up on request `id` (aborted, or its streamed body dropped).
    #[napi(catch_unwind)]
    pub fn http_client_cancel(&self, id: u32) {
        self.command(|h| h.http_client_cancel(id));
    }
}
