//! Certificate verification with the outcomes Node users know. webpki verifies; this wrapper
//! only refines its "unknown issuer" into self-signed leaf / self-signed chain / untrusted
//! leaf, and a second verifier accepts anything for `rejectUnauthorized: false` (signatures of
//! the handshake are still checked, so the peer must hold the key of what it presented).

use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::crypto::{verify_tls12_signature, verify_tls13_signature, CryptoProvider};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{CertificateError, DigitallySignedStruct, SignatureScheme};

use super::der::is_self_issued;
use super::errors::{untrusted, TlsErrorCode};

/// webpki's verdict, with "unknown issuer" refined.
#[derive(Debug)]
pub(crate) struct NodeVerifier {
    pub inner: Arc<WebPkiServerVerifier>,
}

impl ServerCertVerifier for NodeVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        self.inner
            .verify_server_cert(end_entity, intermediates, server_name, ocsp, now)
            .map_err(|e| match e {
                rustls::Error::InvalidCertificate(CertificateError::UnknownIssuer) => {
                    if intermediates.is_empty() && is_self_issued(end_entity) {
                        untrusted(TlsErrorCode::DepthZeroSelfSignedCert)
                    } else if intermediates.last().is_some_and(|c| is_self_issued(c)) {
                        untrusted(TlsErrorCode::SelfSignedCertInChain)
                    } else {
                        untrusted(TlsErrorCode::UnableToVerifyLeafSignature)
                    }
                }
                // A lone self-signed certificate is refused first for being self-signed, as
                // OpenSSL does, whatever else webpki found (a CA certificate used as a leaf:
                // `openssl req -x509` marks its output CA:TRUE).
                rustls::Error::InvalidCertificate(CertificateError::Other(_))
                    if intermediates.is_empty() && is_self_issued(end_entity) =>
                {
                    untrusted(TlsErrorCode::DepthZeroSelfSignedCert)
                }
                other => other,
            })
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.inner.supported_verify_schemes()
    }
}

/// Accepts any certificate (`rejectUnauthorized: false`); handshake signatures still verify.
#[derive(Debug)]
pub(crate) struct AcceptAnyCertificate {
    pub provider: Arc<CryptoProvider>,
}

impl ServerCertVerifier for AcceptAnyCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}
