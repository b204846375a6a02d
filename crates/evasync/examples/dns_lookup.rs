//! Name resolution on the engine alone: `cargo run -p evasync --example dns_lookup -- NAME…`
//! (default: localhost). Each name is looked up through the resolver thread (hickory, the system's
//! configuration, `/etc/hosts` first); 127.0.0.1 is looked up in reverse. The reactor ends when
//! every answer is in.

use evasync::dns::{DnsAnswer, DnsQuery};
use evasync::{Event, Reactor, ReactorConfig};

fn main() -> std::io::Result<()> {
    let mut names: Vec<String> = std::env::args().skip(1).collect();
    if names.is_empty() {
        names.push("localhost".into());
    }
    let mut reactor = Reactor::new(ReactorConfig::default())?;
    let handle = reactor.handle();
    let mut asked = std::collections::HashMap::new();
    for name in &names {
        let query = DnsQuery::Lookup {
            host: name.clone(),
            family: 0,
        };
        asked.insert(handle.dns_lookup(query), name.clone());
    }
    let reverse = handle.dns_lookup(DnsQuery::Reverse {
        ip: [127, 0, 0, 1].into(),
    });
    asked.insert(reverse, "127.0.0.1 (PTR)".into());
    // `run` returns once nothing is pending: no lookup, timer or socket.
    reactor.run(&mut |ev: Event<'_>| {
        if let Event::DnsResolved { id, result, .. } = ev {
            let name = asked.get(&id).map_or("?", String::as_str);
            match result {
                Ok(DnsAnswer::Addrs(addrs)) => println!("{name}: {addrs:?}"),
                Ok(DnsAnswer::Name(host)) => println!("{name}: {host}"),
                Err(e) => println!("{name}: {} {}", e.kind.code(), e.message),
            }
        }
    })
}
