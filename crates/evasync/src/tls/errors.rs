//! TLS failures in the terms Node users know: an [`TlsErrorCode`] named as Node names the case
//! (`CERT_HAS_EXPIRED`, `ERR_TLS_CERT_ALTNAME_INVALID`, …) and a message that says what failed
//! and for which peer.

use std::sync::Arc;

use rustls::{AlertDescription, CertificateError, OtherError, PeerIncompatible};

use crate::error::{Error, ErrorKind};

/// The `errcode` of a TLS failure, as Node names the case. Crosses to bindings as its number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum TlsErrorCode {
    /// Any protocol failure without a more precise name (Node's `EPROTO`).
    Proto = 1,
    /// The peer's certificate expired.
    CertHasExpired = 2,
    /// The peer's certificate is not valid yet.
    CertNotYetValid = 3,
    /// The peer's certificate signs itself and is not trusted.
    DepthZeroSelfSignedCert = 4,
    /// The chain ends in a self-signed certificate that is not trusted.
    SelfSignedCertInChain = 5,
    /// The certificate does not chain to a trusted root.
    UnableToVerifyLeafSignature = 6,
    /// The certificate is not valid for the name checked.
    CertAltnameInvalid = 7,
    /// No signature algorithm both sides support.
    NoSuitableSignatureAlgorithm = 8,
    /// No ALPN protocol both sides support.
    NoApplicationProtocol = 9,
    /// The handshake did not finish in time (`ETIMEDOUT`, as every library timeout).
    Timeout = 10,
}

impl TlsErrorCode {
    /// Every code, in number order.
    pub const ALL: [TlsErrorCode; 10] = [
        TlsErrorCode::Proto,
        TlsErrorCode::CertHasExpired,
        TlsErrorCode::CertNotYetValid,
        TlsErrorCode::DepthZeroSelfSignedCert,
        TlsErrorCode::SelfSignedCertInChain,
        TlsErrorCode::UnableToVerifyLeafSignature,
        TlsErrorCode::CertAltnameInvalid,
        TlsErrorCode::NoSuitableSignatureAlgorithm,
        TlsErrorCode::NoApplicationProtocol,
        TlsErrorCode::Timeout,
    ];

    /// Node's name for the case.
    pub fn name(self) -> &'static str {
        match self {
            TlsErrorCode::Proto => "EPROTO",
            TlsErrorCode::CertHasExpired => "CERT_HAS_EXPIRED",
            TlsErrorCode::CertNotYetValid => "CERT_NOT_YET_VALID",
            TlsErrorCode::DepthZeroSelfSignedCert => "DEPTH_ZERO_SELF_SIGNED_CERT",
            TlsErrorCode::SelfSignedCertInChain => "SELF_SIGNED_CERT_IN_CHAIN",
            TlsErrorCode::UnableToVerifyLeafSignature => "UNABLE_TO_VERIFY_LEAF_SIGNATURE",
            TlsErrorCode::CertAltnameInvalid => "ERR_TLS_CERT_ALTNAME_INVALID",
            TlsErrorCode::NoSuitableSignatureAlgorithm => "ERR_SSL_NO_SUITABLE_SIGNATURE_ALGORITHM",
            TlsErrorCode::NoApplicationProtocol => "ERR_SSL_NO_APPLICATION_PROTOCOL",
            TlsErrorCode::Timeout => "ETIMEDOUT",
        }
    }

    /// The code a number names (None for an unknown one).
    pub fn from_number(n: u32) -> Option<TlsErrorCode> {
        TlsErrorCode::ALL.iter().copied().find(|c| *c as u32 == n)
    }
}

/// Why a certificate the verifier looked at is not trusted, when webpki's "unknown issuer" is
/// too coarse; carried through rustls inside `CertificateError::Other`.
#[derive(Debug)]
pub(crate) struct UntrustedChain(pub TlsErrorCode);

impl std::fmt::Display for UntrustedChain {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self.0 {
            TlsErrorCode::DepthZeroSelfSignedCert => "self-signed certificate",
            TlsErrorCode::SelfSignedCertInChain => "self-signed certificate in certificate chain",
            _ => "unable to verify the first certificate",
        })
    }
}

impl std::error::Error for UntrustedChain {}

/// Wraps a refined "unknown issuer" for rustls.
pub(crate) fn untrusted(code: TlsErrorCode) -> rustls::Error {
    rustls::Error::InvalidCertificate(CertificateError::Other(OtherError(Arc::new(
        UntrustedChain(code),
    ))))
}

/// The code for a rustls failure.
pub(crate) fn code_of(e: &rustls::Error) -> TlsErrorCode {
    use rustls::Error as E;
    match e {
        E::InvalidCertificate(c) => match c {
            CertificateError::Expired | CertificateError::ExpiredContext { .. } => {
                TlsErrorCode::CertHasExpired
            }
            CertificateError::NotValidYet | CertificateError::NotValidYetContext { .. } => {
                TlsErrorCode::CertNotYetValid
            }
            CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. } => {
                TlsErrorCode::CertAltnameInvalid
            }
            CertificateError::UnknownIssuer => TlsErrorCode::UnableToVerifyLeafSignature,
            CertificateError::Other(OtherError(inner)) => inner
                .downcast_ref::<UntrustedChain>()
                .map_or(TlsErrorCode::Proto, |u| u.0),
            _ => TlsErrorCode::Proto,
        },
        E::PeerIncompatible(
            PeerIncompatible::NoSignatureSchemesInCommon
            | PeerIncompatible::NoCertificateRequestSignatureSchemesInCommon,
        ) => TlsErrorCode::NoSuitableSignatureAlgorithm,
        E::NoApplicationProtocol | E::AlertReceived(AlertDescription::NoApplicationProtocol) => {
            TlsErrorCode::NoApplicationProtocol
        }
        _ => TlsErrorCode::Proto,
    }
}

/// What a failure says in words, lower-case, without rustls's Debug noise where it has better.
fn describe(e: &rustls::Error) -> String {
    use rustls::Error as E;
    match e {
        E::AlertReceived(a) => format!("the peer sent alert {}", alert_name(*a)),
        E::InvalidCertificate(CertificateError::Other(OtherError(inner))) => inner.to_string(),
        // Our own words (rustls would prefix "unexpected error: ").
        E::General(why) => why.clone(),
        E::InvalidMessage(_) | E::InappropriateMessage { .. } => {
            format!("the peer did not speak TLS ({e})")
        }
        other => other.to_string(),
    }
}

/// An alert's name as the RFC writes it ("certificate_expired").
fn alert_name(a: AlertDescription) -> String {
    let debug = format!("{a:?}");
    let mut out = String::with_capacity(debug.len() + 4);
    for (i, ch) in debug.chars().enumerate() {
        if ch.is_ascii_uppercase() {
            if i > 0 {
                out.push('_');
            }
            out.push(ch.to_ascii_lowercase());
        } else {
            out.push(ch);
        }
    }
    out
}

/// The engine error for a TLS failure met while doing `op` ("TLS handshake with 127.0.0.1:443").
pub(crate) fn tls_error(op: &str, e: &rustls::Error) -> Error {
    let mut err = Error::new(ErrorKind::Tls, format!("{op} failed: {}", describe(e)));
    err.tls = Some(code_of(e));
    err
}

/// The handshake timed out.
pub(crate) fn handshake_timeout(op: &str) -> Error {
    let mut err = Error::timeout(op);
    err.kind = ErrorKind::Tls;
    err.tls = Some(TlsErrorCode::Timeout);
    err
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_and_words() {
        let e = rustls::Error::InvalidCertificate(CertificateError::Expired);
        assert_eq!(code_of(&e), TlsErrorCode::CertHasExpired);
        let e = untrusted(TlsErrorCode::DepthZeroSelfSignedCert);
        assert_eq!(code_of(&e), TlsErrorCode::DepthZeroSelfSignedCert);
        let err = tls_error("TLS handshake with 127.0.0.1:1", &e);
        assert_eq!(
            err.message,
            "TLS handshake with 127.0.0.1:1 failed: self-signed certificate"
        );
        assert_eq!(err.tls, Some(TlsErrorCode::DepthZeroSelfSignedCert));
        let e = rustls::Error::AlertReceived(AlertDescription::CertificateExpired);
        assert_eq!(describe(&e), "the peer sent alert certificate_expired");
        assert_eq!(code_of(&e), TlsErrorCode::Proto);
        for c in TlsErrorCode::ALL {
            assert_eq!(TlsErrorCode::from_number(c as u32), Some(c));
        }
    }
}
