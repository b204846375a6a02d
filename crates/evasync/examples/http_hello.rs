//! An HTTP/1.1 hello server on the engine alone: `cargo run --release --example http_hello`
//! then `curl -i http://127.0.0.1:8080/`. Keep-alive, pipelining, limits and timeouts are the
//! engine's; the application only answers requests.

use evasync::http::{HttpServerOptions, Response};
use evasync::{Event, Reactor, ReactorConfig};

fn main() -> std::io::Result<()> {
    let port: u16 = std::env::args()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .unwrap_or(8080);
    let mut reactor = Reactor::new(ReactorConfig::default())?;
    let handle = reactor.handle();
    let (_, addr) =
        handle.http_server(([127, 0, 0, 1], port).into(), HttpServerOptions::default())?;
    println!("listening on http://{addr}/");
    let hello = Response::new(
        200,
        [(b"Content-Type".as_slice(), b"text/plain".as_slice())],
        b"Hello, World!".to_vec(),
    )
    .map_err(std::io::Error::other)?;
    let responder = handle.clone();
    reactor.run(&mut |ev: Event<'_>| {
        if let Event::HttpRequest { id, seq, .. } = ev {
            responder.http_respond(id, seq, hello.clone());
        }
    })
}
