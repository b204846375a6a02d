//! The `filter` layer of a connection: what bytes go through between the stream and the
//! connection's users. Plain passes them as they are; TLS turns records read from the stream
//! into plaintext for the layer above and the write queue's plaintext into records, so
//! timeouts, watermarks and half-close stay the bufferevent's.

use crate::tls::session::TlsSession;

/// How bytes pass between the stream and the layer above.
#[derive(Default)]
pub(crate) enum Filter {
    /// As they are.
    #[default]
    Plain,
    /// Through a TLS session (boxed: most connections are plain and an idle one stays small).
    Tls(Box<TlsSession>),
}

impl Filter {
    pub fn tls(&self) -> Option<&TlsSession> {
        match self {
            Filter::Tls(s) => Some(s),
            Filter::Plain => None,
        }
    }

    pub fn tls_mut(&mut self) -> Option<&mut TlsSession> {
        match self {
            Filter::Tls(s) => Some(s),
            Filter::Plain => None,
        }
    }
}
