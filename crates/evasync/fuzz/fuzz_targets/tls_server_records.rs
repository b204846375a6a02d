//! Arbitrary records (and arbitrary bytes) to a TLS server session, in pieces: the first input
//! byte chooses whether a genuine ClientHello comes first, and the size of the pieces.
#![no_main]

use std::sync::OnceLock;

use evasync::fuzzing::TlsServerHarness;
use evasync::tls::{PemIdentity, TlsClientConfig, TlsClientSettings, TlsServerConfig, TlsServerSettings};
use libfuzzer_sys::fuzz_target;

fn configs() -> &'static (TlsServerConfig, TlsClientConfig) {
    static CONFIGS: OnceLock<(TlsServerConfig, TlsClientConfig)> = OnceLock::new();
    CONFIGS.get_or_init(|| {
        let key = rcgen::KeyPair::generate().expect("key");
        let cert = rcgen::CertificateParams::new(vec!["localhost".to_string()])
            .expect("params")
            .self_signed(&key)
            .expect("cert");
        let server = TlsServerConfig::new(&TlsServerSettings {
            identity: Some(PemIdentity {
                cert: vec![cert.pem().into_bytes()],
                key: key.serialize_pem().into_bytes(),
            }),
            sni_callback: true,
            ..TlsServerSettings::default()
        })
        .expect("server");
        let client = TlsClientConfig::new(&TlsClientSettings {
            ca: vec![cert.pem().into_bytes()],
            ..TlsClientSettings::default()
        })
        .expect("client");
        (server, client)
    })
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let (server, client) = configs();
    let mut h = TlsServerHarness::new(server, (mode & 1 == 1).then_some(client));
    let piece = usize::from(mode >> 1).max(1);
    let mut bytes = rest.to_vec();
    for chunk in bytes.chunks_mut(piece) {
        h.feed(chunk);
    }
});
