//! TLS with rustls: the `filter` layer of a connection.
//!
//! A TLS connection is a plain connection whose filter is a `TlsSession`: records
//! read from the socket become plaintext for the layer above (the application's events, an
//! HTTP server or client connection), and the write queue's plaintext is sealed into records
//! once per flush. Timeouts, watermarks, half-close and the write queue stay the connection's,
//! so everything a plain socket does works the same over TLS.
//!
//! Configuration comes from the options users give ([`TlsServerSettings`],
//! [`TlsClientSettings`]) or from rustls configurations an embedder made
//! ([`TlsServerConfig::from_rustls`], [`TlsClientConfig::from_rustls`]). Failures carry a
//! [`TlsErrorCode`] named as Node names the case.

mod client_hello;
mod config;
mod der;
mod errors;
mod inbuf;
mod pem;
mod records;
pub(crate) mod session;
mod sni;
#[cfg(test)]
#[path = "../../tests/util/certs.rs"]
mod testing;
mod verify;

pub use config::{
    PemIdentity, Roots, TlsClientConfig, TlsClientSettings, TlsIdentity, TlsServerConfig,
    TlsServerSettings, TlsVersion, DEFAULT_HANDSHAKE_TIMEOUT,
};
pub use errors::TlsErrorCode;
pub(crate) use errors::{handshake_timeout, tls_error};
pub use pem::TlsConfigError;
pub use rustls;

use rustls::pki_types::CertificateDer;

/// What a finished handshake established (API.md §8's `socket.tls`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TlsInfo {
    /// `"TLSv1.3"` or `"TLSv1.2"`.
    pub protocol: &'static str,
    /// The cipher suite's IANA name (`"TLS_AES_128_GCM_SHA256"`), as Node's `standardName`.
    pub cipher: String,
    /// The ALPN protocol agreed on.
    pub alpn: Option<String>,
    /// The server name: asked for by the client (server side) or sent (client side).
    pub server_name: Option<String>,
    /// The session was resumed (no full handshake).
    pub resumed: bool,
    /// The peer's certificate (DER), when it presented one.
    pub peer_certificate: Option<CertificateDer<'static>>,
}
