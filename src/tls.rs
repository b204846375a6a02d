//! TLS options from JS to the engine's configurations, STARTTLS and SNI answers. A bad PEM
//! item is an `InvalidArg` error naming it (the TS layer turns it into a `TypeError`).

use evasync::tls::{
    PemIdentity, Roots, TlsClientConfig, TlsClientSettings, TlsIdentity, TlsServerConfig,
    TlsServerSettings, TlsVersion,
};
use evasync::TlsSide;
use napi::bindgen_prelude::*;
use napi_derive::napi;

use crate::convert::opt_seconds;
use crate::event_loop::NativeLoop;

/// A certificate for one server name (`sni` option).
#[napi(object)]
pub struct SniEntry {
    pub name: String,
    pub cert: Vec<Buffer>,
    pub key: Buffer,
}

/// API.md §8's `TlsOptions`, normalised by the TS layer (PEM as Buffers, times in seconds).
#[napi(object)]
pub struct TlsOpts {
    pub cert: Option<Vec<Buffer>>,
    pub key: Option<Buffer>,
    pub sni: Option<Vec<SniEntry>>,
    pub sni_callback: Option<bool>,
    pub request_cert: Option<bool>,
    pub require_cert: Option<bool>,
    pub session_tickets: Option<bool>,
    pub server_name: Option<String>,
    /// `serverName: false`: send no SNI.
    pub no_sni: Option<bool>,
    pub reject_unauthorized: Option<bool>,
    pub roots: Option<String>,
    pub ca: Option<Vec<Buffer>>,
    pub alpn: Option<Vec<String>>,
    pub min_version: Option<String>,
    pub handshake_timeout: Option<f64>,
}

fn invalid(message: impl Into<String>) -> Error {
    Error::new(Status::InvalidArg, message.into())
}

fn pem_list(items: &Option<Vec<Buffer>>) -> Vec<Vec<u8>> {
    items
        .iter()
        .flatten()
        .map(|b| b.as_ref().to_vec())
        .collect()
}

fn identity(cert: &Option<Vec<Buffer>>, key: &Option<Buffer>) -> Result<Option<PemIdentity>> {
    match (cert, key) {
        (None, None) => Ok(None),
        (Some(_), Some(key)) => Ok(Some(PemIdentity {
            cert: pem_list(cert),
            key: key.as_ref().to_vec(),
        })),
        (Some(_), None) => Err(invalid("tls.key is required with tls.cert")),
        (None, Some(_)) => Err(invalid("tls.cert is required with tls.key")),
    }
}

fn min_version(v: &Option<String>) -> Result<TlsVersion> {
    match v.as_deref() {
        None | Some("TLSv1.2") => Ok(TlsVersion::Tls12),
        Some("TLSv1.3") => Ok(TlsVersion::Tls13),
        Some(other) => Err(invalid(format!(
            "tls.minVersion must be 'TLSv1.2' or 'TLSv1.3', not '{other}'"
        ))),
    }
}

fn alpn(o: &TlsOpts) -> Vec<Vec<u8>> {
    o.alpn
        .iter()
        .flatten()
        .map(|p| p.as_bytes().to_vec())
        .collect()
}

/// A server configuration; `default_alpn` applies when the options name none (HTTPS offers
/// `http/1.1`).
pub(crate) fn server_config(o: &TlsOpts, default_alpn: &[&str]) -> Result<TlsServerConfig> {
    let mut alpn = alpn(o);
    if o.alpn.is_none() {
        alpn = default_alpn.iter().map(|p| p.as_bytes().to_vec()).collect();
    }
    let mut sni = Vec::new();
    for e in o.sni.iter().flatten() {
        let id = PemIdentity {
            cert: e.cert.iter().map(|b| b.as_ref().to_vec()).collect(),
            key: e.key.as_ref().to_vec(),
        };
        sni.push((e.name.clone(), id));
    }
    let settings = TlsServerSettings {
        identity: identity(&o.cert, &o.key)?,
        sni,
        sni_callback: o.sni_callback.unwrap_or(false),
        request_cert: o.request_cert.unwrap_or(false),
        require_cert: o.require_cert.unwrap_or(false),
        session_tickets: o.session_tickets.unwrap_or(true),
        ca: pem_list(&o.ca),
        alpn,
        min_version: min_version(&o.min_version)?,
        handshake_timeout: opt_seconds(o.handshake_timeout),
    };
    TlsServerConfig::new(&settings).map_err(|e| invalid(e.to_string()))
}

/// A client configuration (shared with every equal set of options).
pub(crate) fn client_config(o: &TlsOpts) -> Result<TlsClientConfig> {
    let roots = match o.roots.as_deref() {
        None | Some("bundled") => Roots::Bundled,
        Some("system") => Roots::System,
        Some(other) => {
            return Err(invalid(format!(
                "tls.roots must be 'bundled' or 'system', not '{other}'"
            )))
        }
    };
    let settings = TlsClientSettings {
        identity: identity(&o.cert, &o.key)?,
        reject_unauthorized: o.reject_unauthorized.unwrap_or(true),
        roots,
        ca: pem_list(&o.ca),
        alpn: alpn(o),
        min_version: min_version(&o.min_version)?,
        sni: !o.no_sni.unwrap_or(false),
    };
    let mut config = TlsClientConfig::new(&settings).map_err(|e| invalid(e.to_string()))?;
    config.server_name = o.server_name.clone();
    if let Some(t) = opt_seconds(o.handshake_timeout) {
        config.handshake_timeout = t;
    }
    Ok(config)
}

#[napi]
impl NativeLoop {
    /// Upgrades the open plain socket `id` to TLS (STARTTLS), as the server or the client.
    #[napi(catch_unwind)]
    pub fn start_tls(&self, id: u32, tls: TlsOpts, server: bool) -> Result<()> {
        let side = if server {
            TlsSide::Server(server_config(&tls, &[])?)
        } else {
            TlsSide::Client(client_config(&tls)?)
        };
        self.command(|h| h.start_tls(id, side));
        Ok(())
    }

    /// Answers an SNI request of socket `id`: a certificate and key, none (the default), or why
    /// the application could not choose (the handshake fails).
    #[napi(catch_unwind)]
    pub fn tls_configure(
        &self,
        id: u32,
        cert: Option<Vec<Buffer>>,
        key: Option<Buffer>,
        error: Option<String>,
    ) -> Result<()> {
        let answer = match (error, identity(&cert, &key)) {
            (Some(why), _) => Err(why),
            (None, Err(e)) => Err(e.reason.clone()),
            (None, Ok(None)) => Ok(None),
            (None, Ok(Some(id))) => TlsIdentity::from_pem(&id)
                .map(Some)
                .map_err(|e| e.to_string()),
        };
        self.command(|h| h.tls_configure(id, answer));
        Ok(())
    }
}
