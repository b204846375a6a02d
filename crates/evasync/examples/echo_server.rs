//! A TCP echo server on the engine alone.
//!   cargo run -p evasync --example echo_server      (then: nc 127.0.0.1 7000)
use evasync::{Event, Reactor, ReactorConfig, ServerOptions};

fn main() -> std::io::Result<()> {
    let mut reactor = Reactor::new(ReactorConfig::default())?;
    let handle = reactor.handle();
    let opts = ServerOptions {
        no_delay: true,
        ..Default::default()
    };
    let (_, addr) = handle.tcp_server("127.0.0.1:7000".parse().expect("address"), opts)?;
    println!("echo server on {addr}");
    reactor.run(&mut |ev: Event<'_>| match ev {
        Event::Accepted { id, remote, .. } => println!("{id}: connected from {remote}"),
        Event::Data { id, data } => handle.write(id, data.to_vec()),
        Event::Eof { id } => println!("{id}: peer closed"),
        Event::Failed { id, error } => println!("{id}: {error}"),
        _ => {}
    })
}
