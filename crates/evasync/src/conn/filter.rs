//! The `filter` layer of a connection: what bytes go through between the stream and the
//! connection's users. Plain passes them as they are; TLS (rustls) is the next variant: it
//! turns records read from the stream into plaintext for the layer above and the write queue's
//! plaintext into records, so timeouts, watermarks and half-close stay the bufferevent's.

/// How bytes pass between the stream and the layer above.
#[derive(Debug, Default)]
pub(crate) enum Filter {
    /// As they are.
    #[default]
    Plain,
}
