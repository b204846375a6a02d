//! Without the `dns` feature there is no resolver (hickory and tokio, its dependencies, are most
//! of the engine's build). IP literals still connect (they never reach this module); `localhost`
//! and names under it resolve to the loopback addresses, as RFC 6761 §6.3 lets every resolver
//! do without asking anyone; every other name fails with a `DnsError` that says why.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::{Arc, Mutex};

use crate::dns::{Answer, DnsAnswer, DnsErrorCode, DnsQuery, Request};

/// Stands for the resolver thread: answers at once, from the reactor's own thread.
pub(crate) struct DnsThread {
    waker: Arc<mio::Waker>,
    answers: Mutex<Vec<Answer>>,
}

impl DnsThread {
    pub fn start(waker: Arc<mio::Waker>) -> std::io::Result<DnsThread> {
        Ok(DnsThread {
            waker,
            answers: Mutex::new(Vec::new()),
        })
    }

    /// Answers a query now; the answer is taken on the reactor's next turn (woken for it).
    pub fn send(&self, r: Request) -> bool {
        let Request::Query { id, query } = r else {
            return true; // no servers and no cache to configure
        };
        let answer = Answer {
            id,
            result: answer(&query),
            valid_until: None,
        };
        match self.answers.lock() {
            Ok(mut queue) => queue.push(answer),
            Err(_) => return false,
        }
        let _ = self.waker.wake();
        true
    }

    pub fn take_answers(&self) -> impl Iterator<Item = Answer> + '_ {
        let taken = self
            .answers
            .lock()
            .map(|mut q| std::mem::take(&mut *q))
            .unwrap_or_default();
        taken.into_iter()
    }
}

/// What a resolver that knows only `localhost` can say.
fn answer(query: &DnsQuery) -> Result<DnsAnswer, (DnsErrorCode, String)> {
    const V4: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);
    const V6: IpAddr = IpAddr::V6(Ipv6Addr::LOCALHOST);
    match query {
        DnsQuery::Lookup { host, family } if is_localhost(host) => {
            Ok(DnsAnswer::Addrs(match family {
                4 => vec![V4],
                6 => vec![V6],
                _ => vec![V4, V6],
            }))
        }
        DnsQuery::Reverse { ip } if ip.is_loopback() => Ok(DnsAnswer::Name("localhost".into())),
        DnsQuery::Lookup { host, .. } => Err(unsupported(host)),
        DnsQuery::Reverse { ip } => Err(unsupported(&ip.to_string())),
    }
}

fn is_localhost(host: &str) -> bool {
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    host == "localhost" || host.ends_with(".localhost")
}

fn unsupported(what: &str) -> (DnsErrorCode, String) {
    (
        DnsErrorCode::ServFail,
        format!(
            "cannot resolve {what}: evasync was built without its `dns` feature \
             (only IP literals and localhost resolve)"
        ),
    )
}
