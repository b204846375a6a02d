//! The resolver thread: a tokio current-thread runtime driving hickory, one task per query.
//! Answers go back on a channel of their own, and the reactor is woken once per burst of them
//! (a flag set by the first answer, cleared when the reactor takes them).

use std::net::IpAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc as std_mpsc, Arc};
use std::thread::JoinHandle;
use std::time::Instant;

use hickory_resolver::config::{
    ConnectionConfig, NameServerConfig, ResolveHosts, ResolverConfig, ResolverOpts,
};
use hickory_resolver::net::{DnsError, NetError};
use hickory_resolver::proto::op::ResponseCode;
use hickory_resolver::proto::rr::{RData, RecordType};
use hickory_resolver::Resolver;
use tokio::sync::mpsc;

use crate::dns::udp_pool::PooledProvider;
use crate::dns::{
    lookup_failure, Answer, DnsAnswer, DnsConfig, DnsErrorCode, DnsQuery, Failure, Request,
};

/// hickory's resolver over our runtime provider (pooled UDP sockets; see `udp_pool`).
type PooledResolver = Resolver<PooledProvider>;

/// Where answers go: a channel to the reactor and its waker.
#[derive(Clone)]
struct Outbox {
    tx: std_mpsc::Sender<Answer>,
    waker: Arc<mio::Waker>,
    /// True from the first answer of a burst until the reactor takes them: one wake per burst.
    pending: Arc<AtomicBool>,
}

impl Outbox {
    fn post(&self, answer: Answer) {
        if self.tx.send(answer).is_ok() && !self.pending.swap(true, Ordering::AcqRel) {
            // A failed wake means the poll is gone: the reactor is shutting down.
            let _ = self.waker.wake();
        }
    }
}

/// The resolver thread's handle: dropping it ends the thread.
pub(crate) struct DnsThread {
    tx: mpsc::UnboundedSender<Request>,
    answers: std_mpsc::Receiver<Answer>,
    pending: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl DnsThread {
    /// Starts the thread; its answers wake the reactor through `waker`.
    pub fn start(waker: Arc<mio::Waker>) -> std::io::Result<DnsThread> {
        let (tx, rx) = mpsc::unbounded_channel();
        let (answer_tx, answers) = std_mpsc::channel();
        let pending = Arc::new(AtomicBool::new(false));
        let out = Outbox {
            tx: answer_tx,
            waker,
            pending: pending.clone(),
        };
        let thread = std::thread::Builder::new()
            .name("evasync-dns".into())
            .spawn(move || run(rx, out))?;
        Ok(DnsThread {
            tx,
            answers,
            pending,
            thread: Some(thread),
        })
    }

    /// Queues a request (never blocks).
    pub fn send(&self, r: Request) -> bool {
        self.tx.send(r).is_ok()
    }

    /// The answers that arrived since the last call.
    pub fn take_answers(&self) -> impl Iterator<Item = Answer> + '_ {
        self.pending.store(false, Ordering::Release);
        self.answers.try_iter()
    }
}

impl Drop for DnsThread {
    fn drop(&mut self) {
        // Closing the channel ends the thread's loop; queries in flight are abandoned.
        let (closed, _) = mpsc::unbounded_channel();
        self.tx = closed;
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// The system's resolver, or one asking `cfg`'s servers (hosts file still first, no search).
fn build(cfg: Option<&DnsConfig>) -> Result<PooledResolver, String> {
    let provider = PooledProvider::default();
    let mut builder = match cfg {
        None => PooledResolver::builder(provider).map_err(|e| e.to_string())?,
        Some(c) => {
            let servers = c
                .servers
                .iter()
                .map(|a| {
                    let mut udp = ConnectionConfig::udp();
                    udp.port = a.port();
                    let mut tcp = ConnectionConfig::tcp();
                    tcp.port = a.port();
                    NameServerConfig::new(a.ip(), true, vec![udp, tcp])
                })
                .collect();
            let mut b = PooledResolver::builder_with_config(
                ResolverConfig::from_parts(None, Vec::new(), servers),
                provider,
            );
            let o = b.options_mut();
            o.timeout = c.timeout;
            // hickory counts retries after the first try; the contract counts tries.
            o.attempts = c.attempts.max(1) - 1;
            o.ndots = 0;
            b
        }
    };
    let o: &mut ResolverOpts = builder.options_mut();
    o.use_hosts_file = ResolveHosts::Always;
    // Servers are asked in order, as glibc and c-ares do, rather than two at once: half the
    // sockets and packets per query when several servers are configured.
    o.num_concurrent_reqs = 1;
    builder.build().map_err(|e| e.to_string())
}

fn run(mut rx: mpsc::UnboundedReceiver<Request>, out: Outbox) {
    let Ok(rt) = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    else {
        // Without a runtime every query fails; the reactor hears about each one.
        while let Some(r) = rx.blocking_recv() {
            if let Request::Query { id, query } = r {
                let f = (
                    DnsErrorCode::ServFail,
                    format!("resolve {}: no DNS runtime", label(&query)),
                );
                out.post(Answer {
                    id,
                    result: Err(f),
                    valid_until: None,
                });
            }
        }
        return;
    };
    rt.block_on(async move {
        let mut resolver: Option<Arc<PooledResolver>> = None;
        let mut config: Option<DnsConfig> = None;
        let local = tokio::task::LocalSet::new();
        local
            .run_until(async {
                while let Some(r) = rx.recv().await {
                    match r {
                        Request::Configure(c) => {
                            config = c;
                            resolver = None;
                        }
                        Request::ClearCache => {
                            if let Some(r) = &resolver {
                                r.clear_cache();
                            }
                        }
                        Request::Query { id, query } => {
                            if resolver.is_none() {
                                match build(config.as_ref()) {
                                    Ok(r) => resolver = Some(Arc::new(r)),
                                    Err(e) => {
                                        let f = (
                                            DnsErrorCode::ServFail,
                                            format!("resolve {}: {e}", label(&query)),
                                        );
                                        out.post(Answer {
                                            id,
                                            result: Err(f),
                                            valid_until: None,
                                        });
                                        continue;
                                    }
                                }
                            }
                            let Some(r) = resolver.clone() else { continue };
                            let out = out.clone();
                            tokio::task::spawn_local(async move {
                                let (result, valid_until) = match answer(&r, &query).await {
                                    Ok((a, until)) => (Ok(a), until),
                                    Err(e) => (Err(e), None),
                                };
                                out.post(Answer {
                                    id,
                                    result,
                                    valid_until,
                                });
                            });
                        }
                    }
                }
            })
            .await;
    });
}

/// "example.com" / "1.2.3.4" for messages.
fn label(q: &DnsQuery) -> String {
    match q {
        DnsQuery::Lookup { host, .. } => host.clone(),
        DnsQuery::Reverse { ip } => ip.to_string(),
    }
}

/// The answer and, for addresses, until when it may be reused (the records' TTL).
async fn answer(r: &PooledResolver, q: &DnsQuery) -> Result<(DnsAnswer, Option<Instant>), Failure> {
    let fail = |e: NetError| {
        let code = classify(&e);
        match q {
            DnsQuery::Lookup { host, .. } => lookup_failure(host, code),
            DnsQuery::Reverse { ip } => reverse_failure(*ip, code),
        }
    };
    match q {
        DnsQuery::Lookup { host, family } => {
            let mut addrs: Vec<IpAddr> = Vec::new();
            let valid_until;
            match family {
                4 | 6 => {
                    let rt = if *family == 4 {
                        RecordType::A
                    } else {
                        RecordType::AAAA
                    };
                    let lookup = r.lookup(host.as_str(), rt).await.map_err(fail)?;
                    valid_until = lookup.valid_until();
                    for rec in lookup.answers() {
                        match &rec.data {
                            RData::A(a) => addrs.push(IpAddr::V4(a.0)),
                            RData::AAAA(a) => addrs.push(IpAddr::V6(a.0)),
                            _ => {}
                        }
                    }
                }
                _ => {
                    let lookup = r.lookup_ip(host.as_str()).await.map_err(fail)?;
                    valid_until = lookup.valid_until();
                    addrs.extend(lookup.iter());
                    // IPv4 first, then IPv6, each in the server's order (API.md §3).
                    addrs.sort_by_key(|a| a.is_ipv6());
                }
            }
            if addrs.is_empty() {
                return Err(lookup_failure(host, DnsErrorCode::NoData));
            }
            Ok((DnsAnswer::Addrs(addrs), Some(valid_until)))
        }
        DnsQuery::Reverse { ip } => {
            let lookup = r
                .lookup(
                    hickory_resolver::proto::rr::Name::from(*ip),
                    RecordType::PTR,
                )
                .await
                .map_err(fail)?;
            for rec in lookup.answers() {
                if let RData::PTR(name) = &rec.data {
                    let s = name.0.to_utf8();
                    return Ok((DnsAnswer::Name(s.trim_end_matches('.').to_string()), None));
                }
            }
            Err(reverse_failure(*ip, DnsErrorCode::NotFound))
        }
    }
}

/// The failure of a reverse lookup: "reverse lookup of 192.0.2.9 failed: no such name (ENOTFOUND)".
fn reverse_failure(ip: IpAddr, code: DnsErrorCode) -> Failure {
    (
        code,
        format!(
            "reverse lookup of {ip} failed: {} ({})",
            code.describe(),
            code.name()
        ),
    )
}

/// The contract's code for a hickory error.
fn classify(e: &NetError) -> DnsErrorCode {
    match e {
        NetError::Timeout => DnsErrorCode::Timeout,
        NetError::Dns(DnsError::NoRecordsFound(n)) => match n.response_code {
            ResponseCode::NXDomain => DnsErrorCode::NotFound,
            ResponseCode::NoError => DnsErrorCode::NoData,
            ResponseCode::Refused => DnsErrorCode::ConnRefused,
            _ => DnsErrorCode::ServFail,
        },
        NetError::Dns(DnsError::ResponseCode(ResponseCode::Refused)) => DnsErrorCode::ConnRefused,
        NetError::Dns(DnsError::ResponseCode(ResponseCode::NXDomain)) => DnsErrorCode::NotFound,
        NetError::Dns(_) => DnsErrorCode::ServFail,
        NetError::Io(io) if io.kind() == std::io::ErrorKind::ConnectionRefused => {
            DnsErrorCode::ConnRefused
        }
        NetError::Io(io) if io.kind() == std::io::ErrorKind::TimedOut => DnsErrorCode::Timeout,
        NetError::NoConnections => DnsErrorCode::ConnRefused,
        _ => DnsErrorCode::ServFail,
    }
}
