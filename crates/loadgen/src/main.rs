//! An HTTP/1.1 load generator on evasync's own client (the engine, without Node), as `npm start`
//! uses it when wrk is not installed:
//!   cargo run --release -p evasync-loadgen -- http://127.0.0.1:8080/ [connections] [seconds]
//! Keeps `connections` keep-alive requests in flight (one per pooled connection) for `seconds`,
//! prints `progress <responses>` every 250 ms, then one JSON line: requests, seconds, latency
//! p50/p99 in µs, failures.

use std::time::{Duration, Instant};

use evasync::http::client::{ClientRequest, RequestSpec};
use evasync::{Event, Handle, Id, Reactor, ReactorConfig};

struct Target {
    host: String,
    port: u16,
    authority: String,
    path: String,
}

fn parse(url: &str) -> Option<Target> {
    let rest = url.strip_prefix("http://")?;
    let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let (host, port) = authority.rsplit_once(':')?;
    Some(Target {
        host: host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_string(),
        port: port.parse().ok()?,
        authority: authority.to_string(),
        path: if path.is_empty() { "/" } else { path }.to_string(),
    })
}

fn send(handle: &Handle, t: &Target, connections: usize) -> std::io::Result<Id> {
    let request = ClientRequest::new(
        &RequestSpec {
            host: &t.host,
            port: t.port,
            method: "GET",
            target: &t.path,
            host_header: &t.authority,
            body: b"",
            timeout: Some(Duration::from_secs(10)),
            keep_alive: true,
            max_connections: connections,
        },
        [],
    )
    .map_err(std::io::Error::other)?;
    Ok(handle.http_client(request))
}

fn main() -> std::io::Result<()> {
    let mut args = std::env::args().skip(1);
    let url = args
        .next()
        .unwrap_or_else(|| "http://127.0.0.1:8080/".into());
    let connections: usize = args.next().and_then(|s| s.parse().ok()).unwrap_or(50);
    let seconds: f64 = args.next().and_then(|s| s.parse().ok()).unwrap_or(3.0);
    let target = parse(&url).ok_or_else(|| std::io::Error::other("want http://host:port/path"))?;

    let mut reactor = Reactor::new(ReactorConfig::default())?;
    let handle = reactor.handle();
    let started = Instant::now();
    let until = started + Duration::from_secs_f64(seconds);
    // When each request in flight was sent, by id.
    let mut in_flight = std::collections::HashMap::with_capacity(connections * 2);
    for _ in 0..connections {
        in_flight.insert(send(&handle, &target, connections)?, Instant::now());
    }
    let progress = handle.interval(Duration::from_millis(250));
    let mut latencies_us: Vec<u32> = Vec::with_capacity(1 << 20);
    let mut failures = 0u64;
    let mut done = false;
    let mut failed_to_send = None;
    reactor.run(&mut |ev: Event<'_>| {
        let id = match ev {
            Event::HttpResponse { id, .. } => id,
            Event::HttpClientFailed { id, .. } => {
                failures += 1;
                id
            }
            Event::TimerFired { id } if id == progress => {
                println!("progress {}", latencies_us.len());
                if Instant::now() >= until {
                    done = true;
                    handle.free_timer(progress);
                }
                return;
            }
            _ => return,
        };
        let Some(sent) = in_flight.remove(&id) else {
            return;
        };
        let now = Instant::now();
        latencies_us.push(now.duration_since(sent).as_micros().min(u32::MAX as u128) as u32);
        if !done && now < until {
            match send(&handle, &target, connections) {
                Ok(next) => {
                    in_flight.insert(next, now);
                }
                Err(e) => failed_to_send = Some(e),
            }
        }
    })?;
    if let Some(e) = failed_to_send {
        return Err(e);
    }
    let secs = started.elapsed().as_secs_f64().min(seconds.max(0.001));
    latencies_us.sort_unstable();
    let pick = |q: f64| {
        latencies_us
            .get(
                ((latencies_us.len() as f64 * q) as usize)
                    .min(latencies_us.len().saturating_sub(1)),
            )
            .copied()
            .unwrap_or(0)
    };
    println!(
        "{{\"requests\":{},\"seconds\":{secs:.3},\"p50_us\":{},\"p99_us\":{},\"failures\":{failures}}}",
        latencies_us.len(),
        pick(0.5),
        pick(0.99)
    );
    Ok(())
}
