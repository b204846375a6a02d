//! A Unix stream socket echo server and a client of it, in one reactor:
//! `cargo run -p evasync --example unix_echo`. The socket file lives in the temp directory and
//! is removed when the server closes (only if it is still the file the server made).

use evasync::{ConnectOptions, Event, Reactor, ReactorConfig, ServerOptions};

fn main() -> std::io::Result<()> {
    let path = std::env::temp_dir().join(format!("evasync-echo-{}.sock", std::process::id()));
    let path = path.to_string_lossy().into_owned();
    let mut reactor = Reactor::new(ReactorConfig::default())?;
    let handle = reactor.handle();
    let server = handle.unix_server(path.as_bytes(), Some(0o600), ServerOptions::default())?;
    let client = handle.unix_connect(path.as_bytes(), ConnectOptions::default());
    handle.write(client, b"hello over a Unix socket".to_vec());
    println!("echo server on {path}");
    let h = handle.clone();
    reactor.run(&mut |ev: Event<'_>| match ev {
        Event::Accepted { id, remote, .. } => println!("server: {id} accepted ({remote})"),
        Event::Data { id, data } if id == client => {
            println!("client got back: {}", String::from_utf8_lossy(data));
            h.close(client, false);
            h.close_server(server);
        }
        // Echo on the server's side.
        Event::Data { id, data } => h.write(id, data.to_vec()),
        Event::Failed { id, error } => eprintln!("{id}: {error}"),
        _ => {}
    })
}
