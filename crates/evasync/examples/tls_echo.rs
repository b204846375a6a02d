//! TLS on the engine alone: `cargo run -p evasync --example tls_echo`. Makes a throw-away CA and
//! a certificate for `localhost` (rcgen), serves a TLS echo on a free port, connects to it by
//! name with certificate verification against that CA, and prints the session and the echo.

use evasync::tls::{
    PemIdentity, TlsClientConfig, TlsClientSettings, TlsServerConfig, TlsServerSettings,
};
use evasync::{ConnectOptions, Event, Reactor, ReactorConfig, ServerOptions};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // A self-signed certificate is its own CA: the client trusts exactly it.
    let key = rcgen::KeyPair::generate()?;
    let cert = rcgen::CertificateParams::new(vec!["localhost".to_string()])?.self_signed(&key)?;
    let identity = PemIdentity {
        cert: vec![cert.pem().into_bytes()],
        key: key.serialize_pem().into_bytes(),
    };
    let server_tls = TlsServerConfig::new(&TlsServerSettings {
        identity: Some(identity),
        ..TlsServerSettings::default()
    })?;
    let client_tls = TlsClientConfig::new(&TlsClientSettings {
        ca: vec![cert.pem().into_bytes()],
        ..TlsClientSettings::default()
    })?;

    let mut reactor = Reactor::new(ReactorConfig::default())?;
    let handle = reactor.handle();
    let server_opts = ServerOptions {
        tls: Some(server_tls),
        ..ServerOptions::default()
    };
    let (server, addr) = handle.tcp_server("127.0.0.1:0".parse()?, server_opts)?;
    let client_opts = ConnectOptions {
        tls: Some(client_tls),
        ..ConnectOptions::default()
    };
    let client = handle.tcp_connect("localhost", addr.port(), client_opts);
    // Queued now, sealed and sent once the handshake is done.
    handle.write(client, b"hello over TLS".to_vec());
    let h = handle.clone();
    reactor.run(&mut |ev: Event<'_>| match ev {
        Event::TlsEstablished { id, info } if id == client => println!(
            "client: {} {} (server name {:?}, resumed {})",
            info.protocol, info.cipher, info.server_name, info.resumed
        ),
        Event::Data { id, data } if id == client => {
            println!("client got back: {}", String::from_utf8_lossy(data));
            h.close(client, false); // sends close_notify, then FIN
            h.close_server(server);
        }
        Event::Data { id, data } => h.write(id, data.to_vec()),
        Event::Failed { id, error } => eprintln!("{id}: {error}"),
        _ => {}
    })?;
    Ok(())
}
