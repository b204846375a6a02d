//! Server and client configurations: built from the options users give (PEM text, flags), or
//! taken as rustls configurations an embedder made.
//!
//! Client configurations are cached by their options, compared by value: building one parses
//! every root certificate, and the cache is also where TLS sessions are kept for resumption, so
//! two requests with equal options share both.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use rustls::client::WebPkiServerVerifier;
use rustls::crypto::CryptoProvider;
use rustls::server::{NoServerSessionStorage, WebPkiClientVerifier};
use rustls::sign::CertifiedKey;
use rustls::{ClientConfig, RootCertStore, ServerConfig, SupportedProtocolVersion};

use super::pem::{certificates, private_key, TlsConfigError};
use super::sni::{Chosen, SniResolver};
use super::verify::{AcceptAnyCertificate, NodeVerifier};

/// The handshake timeout when none is given.
pub const DEFAULT_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// How many distinct client configurations are kept before the cache starts over.
const CLIENT_CACHE_MAX: usize = 64;

/// The lowest protocol version offered or accepted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum TlsVersion {
    /// TLS 1.2 and 1.3 (the default).
    #[default]
    Tls12,
    /// TLS 1.3 only.
    Tls13,
}

/// Where a client's trust anchors come from when no `ca` is given.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum Roots {
    /// Mozilla's set, compiled in (`webpki-roots`).
    #[default]
    Bundled,
    /// The operating system's store (`rustls-native-certs`).
    System,
}

/// A certificate chain (leaf first) and its private key, as PEM.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct PemIdentity {
    /// PEM texts holding the chain, in order.
    pub cert: Vec<Vec<u8>>,
    /// The PEM private key: PKCS#8, PKCS#1 (RSA) or SEC1 (EC).
    pub key: Vec<u8>,
}

/// A server's TLS options, as API.md §8 lists them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsServerSettings {
    /// The default certificate (required unless `sni_callback`).
    pub identity: Option<PemIdentity>,
    /// More certificates by server name (`*.example.com` allowed).
    pub sni: Vec<(String, PemIdentity)>,
    /// Ask the embedder for the configuration of each handshake that names a server
    /// ([`crate::Event::TlsSniRequest`]).
    pub sni_callback: bool,
    /// Ask clients for a certificate.
    pub request_cert: bool,
    /// Refuse clients without a valid certificate.
    pub require_cert: bool,
    /// TLS 1.3 session tickets (resumption).
    pub session_tickets: bool,
    /// Trust anchors for client certificates (default: the bundled roots).
    pub ca: Vec<Vec<u8>>,
    /// ALPN protocols accepted, in preference order.
    pub alpn: Vec<Vec<u8>>,
    /// The lowest version accepted.
    pub min_version: TlsVersion,
    /// Time allowed for a handshake.
    pub handshake_timeout: Option<Duration>,
}

impl Default for TlsServerSettings {
    fn default() -> Self {
        TlsServerSettings {
            identity: None,
            sni: Vec::new(),
            sni_callback: false,
            request_cert: false,
            require_cert: false,
            session_tickets: true,
            ca: Vec::new(),
            alpn: Vec::new(),
            min_version: TlsVersion::Tls12,
            handshake_timeout: None,
        }
    }
}

/// A client's TLS options, as API.md §8 lists them (the server name is per connection:
/// [`TlsClientConfig::server_name`]).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TlsClientSettings {
    /// A certificate to present when the server asks (mTLS).
    pub identity: Option<PemIdentity>,
    /// Verify the server's certificate (default true).
    pub reject_unauthorized: bool,
    /// Trust anchors when `ca` is empty.
    pub roots: Roots,
    /// Trust anchors that replace the roots.
    pub ca: Vec<Vec<u8>>,
    /// ALPN protocols offered.
    pub alpn: Vec<Vec<u8>>,
    /// The lowest version offered.
    pub min_version: TlsVersion,
    /// Send the server name (SNI). False: send none (`serverName: false`).
    pub sni: bool,
}

impl Default for TlsClientSettings {
    fn default() -> Self {
        TlsClientSettings {
            identity: None,
            reject_unauthorized: true,
            roots: Roots::Bundled,
            ca: Vec::new(),
            alpn: Vec::new(),
            min_version: TlsVersion::Tls12,
            sni: true,
        }
    }
}

/// A server's TLS configuration. Cheap to clone.
#[derive(Debug, Clone)]
pub struct TlsServerConfig {
    /// The rustls configuration every handshake starts from.
    pub rustls: Arc<ServerConfig>,
    /// The same following the client's order, for ClientHellos that offer to resume a session
    /// (see [`TlsServerConfig::for_hello`]); None when `rustls` follows it already.
    client_order: Option<Arc<ServerConfig>>,
    /// Ask the embedder per handshake (see [`TlsServerSettings::sni_callback`]).
    pub ask_sni: bool,
    /// Time allowed for a handshake (default 10 s).
    pub handshake_timeout: Duration,
}

/// A client's TLS configuration and the server name to use. Cheap to clone.
#[derive(Debug, Clone)]
pub struct TlsClientConfig {
    /// The rustls configuration (its session cache is shared by every connection using it).
    pub rustls: Arc<ClientConfig>,
    /// The name to send and verify; None: the host connected to.
    pub server_name: Option<String>,
    /// Time allowed for a handshake (default 10 s).
    pub handshake_timeout: Duration,
}

/// A certificate and key the application chose for one handshake (an SNI callback's answer).
#[derive(Debug, Clone)]
pub struct TlsIdentity(pub(crate) Arc<CertifiedKey>);

impl TlsIdentity {
    /// Parses a PEM chain and key; the error names the PEM item that failed.
    pub fn from_pem(identity: &PemIdentity) -> Result<TlsIdentity, TlsConfigError> {
        certified_key("tls", identity).map(TlsIdentity)
    }
}

/// The crypto provider: aws-lc-rs (chosen by measurement; see the README), with the AES-128
/// suites first. A TLS 1.3 handshake hashes its transcript and derives every key with the
/// suite's hash: SHA-256 for AES-128-GCM, SHA-384 for AES-256-GCM. SHA-256 runs on the SHA
/// extensions of current x86 and ARM cores, SHA-384 in software on many (aws-lc uses plain
/// code for it on AMD), and that was a fifth of a server's handshake CPU; AES-128-GCM is the
/// suite TLS 1.3 requires every implementation to support.
pub(crate) fn provider() -> Arc<CryptoProvider> {
    static PROVIDER: OnceLock<Arc<CryptoProvider>> = OnceLock::new();
    PROVIDER
        .get_or_init(|| {
            let mut p = rustls::crypto::aws_lc_rs::default_provider();
            p.cipher_suites
                .sort_by_key(|s| !format!("{:?}", s.suite()).contains("AES_128"));
            // X25519 first, then the NIST curves, the post-quantum hybrid last. A client sends a
            // key share for the group it used last with a server (rustls remembers it); if its
            // list of groups puts another one first that the server also has, the server asks
            // for that one (HelloRetryRequest: a round trip), and a client resuming a session
            // then may drop its PSK, which rustls's server refuses. X25519 is what nearly every
            // peer (OpenSSL, Node, browsers, curl) supports and sends first.
            use rustls::crypto::aws_lc_rs::kx_group;
            p.kx_groups = vec![
                kx_group::X25519,
                kx_group::SECP256R1,
                kx_group::SECP384R1,
                kx_group::X25519MLKEM768,
            ];
            Arc::new(p)
        })
        .clone()
}

fn versions(min: TlsVersion) -> &'static [&'static SupportedProtocolVersion] {
    static BOTH: [&SupportedProtocolVersion; 2] =
        [&rustls::version::TLS13, &rustls::version::TLS12];
    static TLS13: [&SupportedProtocolVersion; 1] = [&rustls::version::TLS13];
    match min {
        TlsVersion::Tls12 => &BOTH,
        TlsVersion::Tls13 => &TLS13,
    }
}

fn certified_key(what: &str, id: &PemIdentity) -> Result<Arc<CertifiedKey>, TlsConfigError> {
    let chain = certificates(&format!("{what}.cert"), &id.cert)?;
    let key = private_key(&format!("{what}.key"), &id.key)?;
    CertifiedKey::from_der(chain, key, &provider())
        .map(Arc::new)
        .map_err(|e| TlsConfigError(format!("{what}.key: {}", key_problem(&e))))
}

fn key_problem(e: &rustls::Error) -> String {
    match e {
        rustls::Error::InconsistentKeys(_) => {
            "the private key does not belong to the certificate's public key".into()
        }
        other => format!("the private key cannot be used ({other})"),
    }
}

/// Mozilla's roots, parsed once.
fn bundled_roots() -> Arc<RootCertStore> {
    static ROOTS: OnceLock<Arc<RootCertStore>> = OnceLock::new();
    ROOTS
        .get_or_init(|| {
            Arc::new(RootCertStore {
                roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
            })
        })
        .clone()
}

/// The operating system's roots, loaded once (certificates it cannot parse are skipped, as
/// every rustls user of the OS store does).
fn system_roots() -> Arc<RootCertStore> {
    static ROOTS: OnceLock<Arc<RootCertStore>> = OnceLock::new();
    ROOTS
        .get_or_init(|| {
            let mut store = RootCertStore::empty();
            let found = rustls_native_certs::load_native_certs();
            store.add_parsable_certificates(found.certs);
            Arc::new(store)
        })
        .clone()
}

fn ca_store(what: &str, ca: &[Vec<u8>]) -> Result<Arc<RootCertStore>, TlsConfigError> {
    let mut store = RootCertStore::empty();
    for (i, cert) in certificates(what, ca)?.into_iter().enumerate() {
        store
            .add(cert)
            .map_err(|e| TlsConfigError(format!("{what} certificate {}: {e}", i + 1)))?;
    }
    Ok(Arc::new(store))
}

impl TlsServerConfig {
    /// A server presenting `cert` (PEM chain, leaf first) with `key`, defaults otherwise.
    pub fn from_pem(cert: &[u8], key: &[u8]) -> Result<TlsServerConfig, TlsConfigError> {
        TlsServerConfig::new(&TlsServerSettings {
            identity: Some(PemIdentity {
                cert: vec![cert.to_vec()],
                key: key.to_vec(),
            }),
            ..TlsServerSettings::default()
        })
    }

    /// A rustls configuration made by the embedder, used as it is.
    pub fn from_rustls(config: Arc<ServerConfig>) -> TlsServerConfig {
        TlsServerConfig {
            rustls: config,
            client_order: None,
            ask_sni: false,
            handshake_timeout: DEFAULT_HANDSHAKE_TIMEOUT,
        }
    }

    /// The configuration for a ClientHello. New sessions get the server's suite order (AES-128
    /// first, see `provider`); a client offering to resume a session gets its own order, so the
    /// suite agrees with its ticket's. With the server's order a ticket for another suite (from
    /// another server under the same name) meets a HelloRetryRequest whenever the key share
    /// differs too, the client then drops its incompatible PSK, and rustls's server refuses a
    /// second ClientHello that withdrew its PSK offer: the handshake would fail.
    pub fn for_hello(&self, offers_resumption: bool) -> Arc<ServerConfig> {
        match (&self.client_order, offers_resumption) {
            (Some(c), true) => c.clone(),
            _ => self.rustls.clone(),
        }
    }

    /// A configuration from the options of API.md §8.
    pub fn new(s: &TlsServerSettings) -> Result<TlsServerConfig, TlsConfigError> {
        let default = s
            .identity
            .as_ref()
            .map(|id| certified_key("tls", id))
            .transpose()?;
        if default.is_none() && !s.sni_callback && s.sni.is_empty() {
            return Err(TlsConfigError(
                "tls.cert and tls.key are required for a server (or tls.sni / tls.sniCallback)"
                    .into(),
            ));
        }
        let mut resolver = SniResolver::new(default);
        for (name, id) in &s.sni {
            resolver.add(name, certified_key(&format!("tls.sni['{name}']"), id)?);
        }
        let provider = provider();
        let builder = ServerConfig::builder_with_provider(provider.clone())
            .with_protocol_versions(versions(s.min_version))
            .map_err(|e| TlsConfigError(format!("tls.minVersion: {e}")))?;
        let builder = if s.request_cert || s.require_cert {
            let roots = if s.ca.is_empty() {
                bundled_roots()
            } else {
                ca_store("tls.ca", &s.ca)?
            };
            let verifier = WebPkiClientVerifier::builder_with_provider(roots, provider.clone());
            let verifier = if s.require_cert {
                verifier
            } else {
                verifier.allow_unauthenticated()
            };
            let verifier = verifier
                .build()
                .map_err(|e| TlsConfigError(format!("tls.ca: {e}")))?;
            builder.with_client_cert_verifier(verifier)
        } else {
            builder.with_no_client_auth()
        };
        let mut config = builder.with_cert_resolver(Arc::new(resolver));
        config.alpn_protocols = s.alpn.clone();
        if s.session_tickets {
            config.ticketer = rustls::crypto::aws_lc_rs::Ticketer::new()
                .map_err(|e| TlsConfigError(format!("session tickets: {e}")))?;
        } else {
            config.session_storage = Arc::new(NoServerSessionStorage {});
            config.send_tls13_tickets = 0;
        }
        let client_order = Arc::new(config.clone());
        // New sessions: the server's order (AES-128 first, see `provider`), as most servers do.
        config.ignore_client_order = true;
        Ok(TlsServerConfig {
            rustls: Arc::new(config),
            client_order: Some(client_order),
            ask_sni: s.sni_callback,
            handshake_timeout: s.handshake_timeout.unwrap_or(DEFAULT_HANDSHAKE_TIMEOUT),
        })
    }

    /// This configuration presenting `identity` (an SNI callback's answer) instead.
    pub fn with_identity(
        &self,
        identity: &TlsIdentity,
        offers_resumption: bool,
    ) -> Arc<ServerConfig> {
        let mut config = (*self.for_hello(offers_resumption)).clone();
        config.cert_resolver = Arc::new(Chosen(identity.0.clone()));
        Arc::new(config)
    }
}

impl Default for TlsClientConfig {
    /// Verifying against Mozilla's roots, TLS 1.2 and 1.3, no ALPN.
    fn default() -> TlsClientConfig {
        TlsClientConfig {
            rustls: client_config(&TlsClientSettings::default())
                .unwrap_or_else(|_| Arc::new(verifying(bundled_roots()))),
            server_name: None,
            handshake_timeout: DEFAULT_HANDSHAKE_TIMEOUT,
        }
    }
}

/// A verifying configuration with `roots` and nothing else.
fn verifying(roots: Arc<RootCertStore>) -> ClientConfig {
    ClientConfig::builder_with_provider(provider())
        .with_protocol_versions(versions(TlsVersion::Tls12))
        .expect("the provider supports TLS 1.2 and 1.3")
        .with_root_certificates(roots)
        .with_no_client_auth()
}

impl TlsClientConfig {
    /// A configuration from the options of API.md §8 (shared with every equal set of options).
    pub fn new(s: &TlsClientSettings) -> Result<TlsClientConfig, TlsConfigError> {
        Ok(TlsClientConfig {
            rustls: client_config(s)?,
            server_name: None,
            handshake_timeout: DEFAULT_HANDSHAKE_TIMEOUT,
        })
    }

    /// A rustls configuration made by the embedder, used as it is.
    pub fn from_rustls(config: Arc<ClientConfig>) -> TlsClientConfig {
        TlsClientConfig {
            rustls: config,
            server_name: None,
            handshake_timeout: DEFAULT_HANDSHAKE_TIMEOUT,
        }
    }

    /// True when both use the same rustls configuration (equal options share one).
    pub fn same_as(&self, other: &TlsClientConfig) -> bool {
        Arc::ptr_eq(&self.rustls, &other.rustls) && self.server_name == other.server_name
    }
}

/// The cached configuration for `s`, built on first use.
fn client_config(s: &TlsClientSettings) -> Result<Arc<ClientConfig>, TlsConfigError> {
    static CACHE: OnceLock<Mutex<HashMap<TlsClientSettings, Arc<ClientConfig>>>> = OnceLock::new();
    let cache = CACHE.get_or_init(Mutex::default);
    if let Some(found) = cache.lock().ok().and_then(|c| c.get(s).cloned()) {
        return Ok(found);
    }
    let built = Arc::new(build_client_config(s)?);
    if let Ok(mut c) = cache.lock() {
        if c.len() >= CLIENT_CACHE_MAX {
            c.clear();
        }
        c.insert(s.clone(), built.clone());
    }
    Ok(built)
}

fn build_client_config(s: &TlsClientSettings) -> Result<ClientConfig, TlsConfigError> {
    let provider = provider();
    let builder = ClientConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(versions(s.min_version))
        .map_err(|e| TlsConfigError(format!("tls.minVersion: {e}")))?;
    let builder = if s.reject_unauthorized {
        let roots = if !s.ca.is_empty() {
            ca_store("tls.ca", &s.ca)?
        } else if s.roots == Roots::System {
            system_roots()
        } else {
            bundled_roots()
        };
        let inner = WebPkiServerVerifier::builder_with_provider(roots, provider.clone())
            .build()
            .map_err(|e| TlsConfigError(format!("tls.ca: {e}")))?;
        builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(NodeVerifier { inner }))
    } else {
        builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(AcceptAnyCertificate { provider }))
    };
    let mut config = match &s.identity {
        Some(id) => {
            let chain = certificates("tls.cert", &id.cert)?;
            let key = private_key("tls.key", &id.key)?;
            builder
                .with_client_auth_cert(chain, key)
                .map_err(|e| TlsConfigError(format!("tls.key: {}", key_problem(&e))))?
        }
        None => builder.with_no_client_auth(),
    };
    config.alpn_protocols = s.alpn.clone();
    config.enable_sni = s.sni;
    Ok(config)
}
