//! An HTTP/1.1 client on the engine alone: `cargo run --release --example http_client -- URL`
//! (e.g. `http://127.0.0.1:8080/` with the http_hello example running). The name resolves
//! through the DNS module, the connection is pooled; prints the status, headers and body.

use std::time::Duration;

use evasync::http::client::{ClientRequest, RequestSpec};
use evasync::{Event, Reactor, ReactorConfig};

fn main() -> std::io::Result<()> {
    let url = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "http://127.0.0.1:8080/".into());
    let rest = url
        .strip_prefix("http://")
        .ok_or_else(|| std::io::Error::other("only http:// URLs"))?;
    let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let path = if path.is_empty() { "/" } else { path };
    let (host, port) = match authority.rsplit_once(':') {
        Some((h, p)) => (h, p.parse().map_err(std::io::Error::other)?),
        None => (authority, 80),
    };
    let mut reactor = Reactor::new(ReactorConfig::default())?;
    let handle = reactor.handle();
    let request = ClientRequest::new(
        &RequestSpec {
            host: host.trim_start_matches('[').trim_end_matches(']'),
            port,
            method: "GET",
            target: path,
            host_header: authority,
            body: b"",
            timeout: Some(Duration::from_secs(10)),
            keep_alive: false,
            max_connections: 1,
        },
        [],
    )
    .map_err(std::io::Error::other)?;
    handle.http_client(request);
    let exit = handle.clone();
    reactor.run(&mut |ev: Event<'_>| match ev {
        Event::HttpResponse {
            status,
            head_bytes,
            headers,
            body,
            ..
        } => {
            println!("{status}");
            for h in headers {
                let name = String::from_utf8_lossy(h.name.of(head_bytes));
                let value = String::from_utf8_lossy(h.value.of(head_bytes));
                println!("{name}: {value}");
            }
            println!("\n{}", String::from_utf8_lossy(body));
            exit.exit();
        }
        Event::HttpClientFailed { error, .. } => {
            eprintln!("{}: {}", error.kind.code(), error.message);
            exit.exit();
        }
        _ => {}
    })
}
