//! HTTP server commands: listen, the batched response operations, close. Header fields are
//! checked by the TS layer (which must throw at the call) and again by the engine.

use evasync::http::HttpServerOptions;
use evasync::Command;
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

    /// Stops an HTTP server: drains its connections, or aborts them when not `graceful`.
    #[napi(catch_unwind)]
    pub fn http_close_server(&self, id: u32, graceful: bool) {
        self.send(Command::HttpCloseServer { id, graceful });
    }
}
