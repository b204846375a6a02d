//! PEM input given by the application: certificate chains, private keys, trust anchors. Every
//! failure names the option and the item ("tls.cert item 2: …") so a wrong file is found
//! without guessing.

use std::fmt;

use rustls::pki_types::pem::{self, PemObject};
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

/// A PEM input the application gave that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsConfigError(pub String);

impl fmt::Display for TlsConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for TlsConfigError {}

fn describe(e: &pem::Error) -> String {
    match e {
        pem::Error::MissingSectionEnd { .. } => "a PEM block has no END line".into(),
        pem::Error::IllegalSectionStart { .. } => "a PEM BEGIN line is malformed".into(),
        pem::Error::Base64Decode(_) => "a PEM block is not valid base64".into(),
        other => other.to_string(),
    }
}

/// The certificates of `items` (each a PEM text holding one or more `CERTIFICATE` blocks), in
/// order. `what` names the option in messages ("tls.cert").
pub(crate) fn certificates(
    what: &str,
    items: &[Vec<u8>],
) -> Result<Vec<CertificateDer<'static>>, TlsConfigError> {
    let mut out = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let label = if items.len() > 1 {
            format!("{what} item {}", i + 1)
        } else {
            what.to_string()
        };
        let before = out.len();
        for cert in CertificateDer::pem_slice_iter(item) {
            out.push(cert.map_err(|e| TlsConfigError(format!("{label}: {}", describe(&e))))?);
        }
        if out.len() == before {
            return Err(TlsConfigError(format!(
                "{label}: no PEM CERTIFICATE block found"
            )));
        }
    }
    Ok(out)
}

/// The private key in `pem`: PKCS#8, PKCS#1 (RSA) or SEC1 (EC).
pub(crate) fn private_key(
    what: &str,
    pem: &[u8],
) -> Result<PrivateKeyDer<'static>, TlsConfigError> {
    PrivateKeyDer::from_pem_slice(pem).map_err(|e| match e {
        pem::Error::NoItemsFound => TlsConfigError(format!(
            "{what}: no private key found (expected a PEM 'PRIVATE KEY', 'RSA PRIVATE KEY' or 'EC PRIVATE KEY' block)"
        )),
        other => TlsConfigError(format!("{what}: {}", describe(&other))),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_name_the_option_and_item() {
        let ok = b"-----BEGIN CERTIFICATE-----\nMAA=\n-----END CERTIFICATE-----\n".to_vec();
        assert_eq!(
            certificates("tls.ca", std::slice::from_ref(&ok))
                .unwrap()
                .len(),
            1
        );
        let e = certificates("tls.ca", &[ok, b"hello".to_vec()]).unwrap_err();
        assert_eq!(e.0, "tls.ca item 2: no PEM CERTIFICATE block found");
        let e = certificates(
            "tls.cert",
            &[b"-----BEGIN CERTIFICATE-----\nMAA=\n".to_vec()],
        )
        .unwrap_err();
        assert_eq!(e.0, "tls.cert: a PEM block has no END line");
        let e = private_key(
            "tls.key",
            b"-----BEGIN CERTIFICATE-----\nMAA=\n-----END CERTIFICATE-----\n",
        )
        .unwrap_err();
        assert!(e.0.starts_with("tls.key: no private key found"), "{e}");
    }
}
