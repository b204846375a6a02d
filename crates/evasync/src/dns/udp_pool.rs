//! UDP sockets shared by queries: hickory's runtime provider with `bind_udp` answered from a
//! small pool instead of a fresh socket per query.
//!
//! hickory opens, binds and registers a new UDP socket for every query (and closes it after);
//! under load that is most of the resolver thread's time (`socket`, `bind`, `epoll_ctl` add and
//! delete per query), where c-ares keeps one socket per server. Here each address family has a
//! few sockets bound to port 0 (a port the kernel picks at random from the ephemeral range),
//! each read by one task that hands every datagram to the query it answers, by message id and
//! source address. The spoofing defences stay what they were: a response must come from the
//! server asked, on the socket the query left from, with the query's random id (hickory checks
//! all three again, and the question section); a socket is retired after [`QUERIES_PER_SOCKET`]
//! queries, so no source port lives long enough to be learned and aimed at; when two queries in
//! flight on one socket would share an id and server, the second gets a socket of its own.

use std::collections::hash_map::Entry;
use std::collections::HashMap;
use std::future::Future;
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};
use std::time::Duration;

use hickory_resolver::net::runtime::iocompat::AsyncIoTokioAsStd;
use hickory_resolver::net::runtime::{
    DnsUdpSocket, RuntimeProvider, TokioHandle, TokioRuntimeProvider, TokioTime,
};
use tokio::net::{TcpStream, UdpSocket};
use tokio::sync::mpsc;

/// Queries sent from one socket before it is retired (it closes once its last query is done).
pub(crate) const QUERIES_PER_SOCKET: u32 = 1024;
/// Sockets in use per address family: queries go round-robin over them.
const SOCKETS_PER_FAMILY: usize = 4;
/// Largest datagram read (EDNS answers above this are truncated by the server and go to TCP).
const MAX_DATAGRAM: usize = 4096;
/// How often a reading task with nothing to read checks whether its retired socket is idle.
const RETIRED_CHECK: Duration = Duration::from_secs(1);

/// Who waits for a response: the query's id and the server it asked (canonical address).
type Key = (u16, SocketAddr);
type Datagram = (Vec<u8>, SocketAddr);

/// A runtime provider like hickory's Tokio one, with pooled UDP sockets.
#[derive(Clone, Default)]
pub(crate) struct PooledProvider {
    tokio: TokioRuntimeProvider,
    pool: Arc<Mutex<Pool>>,
}

#[derive(Default)]
struct Pool {
    v4: Family,
    v6: Family,
}

#[derive(Default)]
struct Family {
    sockets: Vec<Arc<Shared>>,
    next: usize,
}

/// One pooled socket and the queries waiting on it.
struct Shared {
    socket: UdpSocket,
    waiters: Mutex<HashMap<Key, mpsc::UnboundedSender<Datagram>>>,
    /// Queries handed this socket so far (changed under the pool's lock).
    uses: AtomicU32,
    /// Replaced in the pool: no new queries; it closes once its last query is done.
    retired: AtomicBool,
}

impl Shared {
    fn lock_waiters(
        &self,
    ) -> std::sync::MutexGuard<'_, HashMap<Key, mpsc::UnboundedSender<Datagram>>> {
        self.waiters.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn done_with(&self) -> bool {
        self.retired.load(Ordering::Acquire) && self.lock_waiters().is_empty()
    }
}

impl Drop for Pool {
    /// The resolver that used this pool is gone (reconfigured or shut down): every socket is
    /// retired, so each closes once its last query is done.
    fn drop(&mut self) {
        for s in self.v4.sockets.iter().chain(&self.v6.sockets) {
            s.retired.store(true, Ordering::Release);
        }
    }
}

impl PooledProvider {
    /// A socket of the pool for `server`'s family, binding a new one where the round-robin
    /// finds a gap or a socket that has served its share.
    fn shared_for(&self, server: SocketAddr) -> io::Result<Arc<Shared>> {
        let slot = {
            let mut pool = self.pool.lock().unwrap_or_else(PoisonError::into_inner);
            let family = if server.is_ipv4() {
                &mut pool.v4
            } else {
                &mut pool.v6
            };
            let i = family.next % SOCKETS_PER_FAMILY;
            family.next = family.next.wrapping_add(1);
            if let Some(s) = family.sockets.get(i) {
                if s.uses.load(Ordering::Relaxed) < QUERIES_PER_SOCKET {
                    s.uses.fetch_add(1, Ordering::Relaxed);
                    return Ok(s.clone());
                }
            }
            i
        };
        let shared = bind_shared(server)?;
        let mut pool = self.pool.lock().unwrap_or_else(PoisonError::into_inner);
        let family = if server.is_ipv4() {
            &mut pool.v4
        } else {
            &mut pool.v6
        };
        if family.sockets.len() <= slot {
            family.sockets.push(shared.clone());
        } else {
            let old = std::mem::replace(&mut family.sockets[slot], shared.clone());
            old.retired.store(true, Ordering::Release);
        }
        Ok(shared)
    }
}

/// Binds a socket to port 0 of `server`'s family and starts the task that reads it.
fn bind_shared(server: SocketAddr) -> io::Result<Arc<Shared>> {
    let shared = Arc::new(Shared {
        socket: random_port_socket(server)?,
        waiters: Mutex::new(HashMap::new()),
        uses: AtomicU32::new(1),
        retired: AtomicBool::new(false),
    });
    tokio::spawn(read_loop(shared.clone()));
    Ok(shared)
}

/// Hands each datagram to the query it answers; drops the rest (late answers of queries that
/// gave up, and anything from elsewhere). Ends once the socket is retired and idle (checked at
/// least every [`RETIRED_CHECK`]), which closes it.
async fn read_loop(shared: Arc<Shared>) {
    let mut buf = vec![0u8; MAX_DATAGRAM];
    loop {
        if shared.done_with() {
            return;
        }
        let Ok(got) = tokio::time::timeout(RETIRED_CHECK, shared.socket.recv_from(&mut buf)).await
        else {
            continue; // nothing to read: look at `retired` again
        };
        // A read error on an unconnected UDP socket is about one datagram (an ICMP report);
        // the queries time out and retry as they would with a socket each.
        let Ok((len, src)) = got else { continue };
        if len < 2 {
            continue;
        }
        let id = u16::from_be_bytes([buf[0], buf[1]]);
        let waiter = shared.lock_waiters().get(&(id, canonical(src))).cloned();
        if let Some(tx) = waiter {
            let _ = tx.send((buf[..len].to_vec(), src));
        }
    }
}

fn canonical(a: SocketAddr) -> SocketAddr {
    SocketAddr::new(a.ip().to_canonical(), a.port())
}

impl RuntimeProvider for PooledProvider {
    type Handle = TokioHandle;
    type Timer = TokioTime;
    type Udp = PooledUdp;
    type Tcp = AsyncIoTokioAsStd<TcpStream>;

    fn create_handle(&self) -> Self::Handle {
        self.tokio.create_handle()
    }

    fn connect_tcp(
        &self,
        server_addr: SocketAddr,
        bind_addr: Option<SocketAddr>,
        timeout: Option<Duration>,
    ) -> Pin<Box<dyn Send + Future<Output = Result<Self::Tcp, io::Error>>>> {
        self.tokio.connect_tcp(server_addr, bind_addr, timeout)
    }

    /// hickory asks for a socket bound to a random port of its choosing; the pool's sockets were
    /// bound to ports the kernel chose at random, which serves the same purpose.
    fn bind_udp(
        &self,
        _local_addr: SocketAddr,
        server_addr: SocketAddr,
    ) -> Pin<Box<dyn Send + Future<Output = Result<Self::Udp, io::Error>>>> {
        let this = self.clone();
        Box::pin(async move {
            let shared = this.shared_for(server_addr)?;
            Ok(PooledUdp {
                state: Mutex::new(State::Unsent(shared)),
            })
        })
    }
}

/// One query's view of a pooled socket: what it sends registers it for the answer.
pub(crate) struct PooledUdp {
    state: Mutex<State>,
}

enum State {
    /// Nothing sent yet.
    Unsent(Arc<Shared>),
    /// Sent on the shared socket; answers arrive on the channel.
    Waiting {
        shared: Arc<Shared>,
        key: Key,
        rx: mpsc::UnboundedReceiver<Datagram>,
    },
    /// Another query in flight on the shared socket had this one's id and server: a socket of
    /// its own.
    Own(UdpSocket),
}

impl PooledUdp {
    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl DnsUdpSocket for PooledUdp {
    type Time = TokioTime;

    fn poll_recv_from(
        &self,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<(usize, SocketAddr)>> {
        match &mut *self.lock() {
            State::Unsent(_) => Poll::Ready(Err(io::Error::new(
                io::ErrorKind::NotConnected,
                "recv before send on a pooled DNS socket",
            ))),
            State::Waiting { rx, .. } => match rx.poll_recv(cx) {
                Poll::Ready(Some((data, src))) => {
                    let n = data.len().min(buf.len());
                    buf[..n].copy_from_slice(&data[..n]);
                    Poll::Ready(Ok((n, src)))
                }
                Poll::Ready(None) => Poll::Ready(Err(io::Error::new(
                    io::ErrorKind::BrokenPipe,
                    "pooled DNS socket closed",
                ))),
                Poll::Pending => Poll::Pending,
            },
            State::Own(socket) => {
                let mut read = tokio::io::ReadBuf::new(buf);
                match socket.poll_recv_from(cx, &mut read) {
                    Poll::Ready(Ok(src)) => Poll::Ready(Ok((read.filled().len(), src))),
                    Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
                    Poll::Pending => Poll::Pending,
                }
            }
        }
    }

    fn poll_send_to(
        &self,
        cx: &mut Context<'_>,
        buf: &[u8],
        target: SocketAddr,
    ) -> Poll<io::Result<usize>> {
        let mut state = self.lock();
        if let State::Unsent(shared) = &*state {
            let shared = shared.clone();
            let id = buf.get(..2).map_or(0, |b| u16::from_be_bytes([b[0], b[1]]));
            let key = (id, canonical(target));
            let mut waiters = shared.lock_waiters();
            match waiters.entry(key) {
                Entry::Occupied(_) => {
                    drop(waiters);
                    *state = State::Own(random_port_socket(target)?);
                }
                Entry::Vacant(slot) => {
                    let (tx, rx) = mpsc::unbounded_channel();
                    slot.insert(tx);
                    drop(waiters);
                    *state = State::Waiting { shared, key, rx };
                }
            }
        }
        match &*state {
            State::Waiting { shared, .. } => shared.socket.poll_send_to(cx, buf, target),
            State::Own(socket) => socket.poll_send_to(cx, buf, target),
            State::Unsent(_) => Poll::Ready(Err(io::Error::other("unreachable: state was set"))),
        }
    }
}

/// A UDP socket of `target`'s family bound to port 0: a port the kernel picks at random.
fn random_port_socket(target: SocketAddr) -> io::Result<UdpSocket> {
    UdpSocket::from_std(bind_random_port(target)?)
}

/// A non-blocking UDP socket of `target`'s family bound to port 0, a port the kernel picks at
/// random from the ephemeral range: the source port of every query, here and in the exchange
/// on the reactor's thread (`stub`).
pub(crate) fn bind_random_port(target: SocketAddr) -> io::Result<std::net::UdpSocket> {
    let any: IpAddr = if target.is_ipv4() {
        Ipv4Addr::UNSPECIFIED.into()
    } else {
        Ipv6Addr::UNSPECIFIED.into()
    };
    let std = std::net::UdpSocket::bind(SocketAddr::new(any, 0))?;
    std.set_nonblocking(true)?;
    Ok(std)
}

impl Drop for PooledUdp {
    fn drop(&mut self) {
        if let State::Waiting { shared, key, .. } = &*self.lock() {
            shared.lock_waiters().remove(key);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query(id: u16) -> Vec<u8> {
        let mut q = id.to_be_bytes().to_vec();
        q.extend_from_slice(b"question");
        q
    }

    fn local_port(u: &PooledUdp) -> u16 {
        match &*u.lock() {
            State::Waiting { shared, .. } => shared.socket.local_addr().map_or(0, |a| a.port()),
            State::Own(s) => s.local_addr().map_or(0, |a| a.port()),
            State::Unsent(_) => 0,
        }
    }

    /// Queries share a socket, each gets exactly its own answer whatever the order they come
    /// back in, a stranger's datagram reaches no one, and an id already in flight to the same
    /// server gets a socket of its own.
    #[test]
    fn answers_reach_their_queries_on_shared_sockets() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        rt.block_on(async {
            let server = UdpSocket::bind("127.0.0.1:0").await.expect("server");
            let server_addr = server.local_addr().expect("addr");
            let provider = PooledProvider::default();
            // More queries than sockets: the round-robin comes back to the first socket.
            let mut queries = Vec::new();
            for id in 0..(SOCKETS_PER_FAMILY as u16 + 2) {
                let u = provider
                    .bind_udp(server_addr, server_addr)
                    .await
                    .expect("bind");
                u.send_to(&query(id + 100), server_addr)
                    .await
                    .expect("send");
                queries.push((id + 100, u));
            }
            let ports: std::collections::HashSet<u16> =
                queries.iter().map(|(_, u)| local_port(u)).collect();
            assert_eq!(
                ports.len(),
                SOCKETS_PER_FAMILY,
                "sockets are shared round-robin"
            );

            // A second query with the id of the first, on the same socket slot: its own socket.
            for _ in 0..SOCKETS_PER_FAMILY - 2 {
                let filler = provider
                    .bind_udp(server_addr, server_addr)
                    .await
                    .expect("bind");
                filler
                    .send_to(&query(999), server_addr)
                    .await
                    .expect("send");
                queries.push((999, filler));
            }
            let twin = provider
                .bind_udp(server_addr, server_addr)
                .await
                .expect("bind");
            twin.send_to(&query(100), server_addr).await.expect("send");
            assert!(
                matches!(&*twin.lock(), State::Own(_)),
                "a clashing id gets its own socket"
            );

            // Collect every query's source, answer them in reverse order, plus a stray answer.
            let mut buf = [0u8; 64];
            let mut senders = Vec::new();
            for _ in 0..queries.len() + 1 {
                let (n, from) = server.recv_from(&mut buf).await.expect("recv");
                senders.push((buf[..n].to_vec(), from));
            }
            for (q, from) in senders.iter().rev() {
                server.send_to(q, from).await.expect("answer");
            }
            let stranger = UdpSocket::bind("127.0.0.1:0").await.expect("stranger");
            for (_, from) in &senders {
                stranger.send_to(&query(100), from).await.expect("spoof");
            }
            for (id, u) in queries.iter().filter(|(id, _)| *id != 999) {
                let (n, from) = u.recv_from(&mut buf).await.expect("answer");
                assert_eq!(from, server_addr);
                assert_eq!(&buf[..n], &query(*id)[..], "query {id} got its own answer");
            }
            let (n, _) = twin.recv_from(&mut buf).await.expect("twin's answer");
            assert_eq!(&buf[..n], &query(100)[..]);
            // The stranger's datagrams were dropped: nothing more arrives for query 100.
            let more =
                tokio::time::timeout(Duration::from_millis(50), queries[0].1.recv_from(&mut buf))
                    .await;
            assert!(more.is_err(), "a datagram from elsewhere reached a query");
        });
    }

    /// A socket that has served its share of queries is replaced by a new one on another
    /// random port, and retired (it closes once its queries are done).
    #[test]
    fn sockets_are_rotated() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        rt.block_on(async {
            let server: SocketAddr = "127.0.0.1:53".parse().expect("addr");
            let provider = PooledProvider::default();
            let first = provider.shared_for(server).expect("socket");
            for _ in 1..(QUERIES_PER_SOCKET as usize * SOCKETS_PER_FAMILY) {
                provider.shared_for(server).expect("socket");
            }
            assert!(!first.retired.load(Ordering::Acquire));
            let next = provider.shared_for(server).expect("socket");
            assert!(
                !Arc::ptr_eq(&first, &next),
                "a new socket after {QUERIES_PER_SOCKET} queries"
            );
            assert!(
                first.retired.load(Ordering::Acquire),
                "the old one is retired"
            );
            drop(provider);
            assert!(
                next.retired.load(Ordering::Acquire),
                "dropping the pool retires the rest"
            );
        });
    }
}
