//! The TLS filter of one connection, on rustls's unbuffered API: ciphertext in, plaintext out to
//! the layer above; plaintext in, records out.
//!
//! Why unbuffered: the connection owns every buffer, so an idle TLS connection holds none (the
//! buffered `ServerConnection` keeps a 4 KiB deframer buffer per connection for life, and idle
//! memory is one of the things users pick this engine for); reads are processed straight from
//! the reactor's scratch buffer and writes are sealed straight into it, so the common case
//! copies nothing and allocates nothing. Only the tail of a record that has not fully arrived,
//! handshake messages and what the socket would not take stay with the connection.

use std::sync::Arc;

use rustls::client::UnbufferedClientConnection;
use rustls::pki_types::ServerName;
use rustls::server::UnbufferedServerConnection;
use rustls::{CommonState, ServerConfig};

use super::client_hello::{self, HelloScan};
use super::inbuf::InBuf;
use super::records::{encode_queued, run, with_write_traffic, Encrypt, Step};
use super::{TlsClientConfig, TlsInfo, TlsServerConfig};

/// Bytes a record adds to its plaintext, at most: header 5, TLS 1.3 content type 1, AEAD tag
/// 16, TLS 1.2 explicit nonce 8; rounded up.
pub(crate) const RECORD_OVERHEAD: usize = 32;
/// The largest plaintext of one record.
pub(crate) const MAX_FRAGMENT: usize = 16 * 1024;

/// Where the session is.
enum Role {
    /// A server gathering the ClientHello, to learn the name asked for before anything else.
    Hello(TlsServerConfig),
    /// A server waiting for the embedder to choose the configuration for that name.
    AwaitingConfig(TlsServerConfig),
    Server(UnbufferedServerConnection),
    Client(UnbufferedClientConnection),
    /// Failed or closed both ways: nothing more goes through.
    Done,
}

/// What processing received bytes came to.
#[derive(Debug)]
pub(crate) enum Received {
    /// Everything was processed; more bytes are needed.
    NeedMore,
    /// The handshake just finished. Held input is processed on the next call (events about
    /// the established connection must come before its data).
    Established,
    /// The peer sent `close_notify`: no more data will come.
    PeerClosed,
    /// A server's ClientHello asks for this name; answer with [`TlsSession::configure`].
    AskConfig(String),
    /// The peer broke the protocol, or a certificate was refused. Alerts are in the output.
    Failed(rustls::Error),
}

/// One connection's TLS state and the ciphertext it holds.
pub(crate) struct TlsSession {
    role: Role,
    /// Received ciphertext not processed yet.
    incoming: InBuf,
    /// Ciphertext waiting for the socket (handshake flights, alerts, what a full socket left).
    out: Vec<u8>,
    out_pos: usize,
    /// Plaintext bytes whose records are in `out`; they count as flushed once `out` empties.
    pub sealed_unsent: u64,
    established: bool,
    /// Held input must be processed before reading the socket again.
    resume: bool,
    /// Plaintext that surfaced while sealing (delivered by the next read).
    stash: Vec<u8>,
    peer_closed: bool,
    close_notify_sent: bool,
    /// The name asked for (server) or sent (client).
    server_name: Option<String>,
    /// STARTTLS: queued bytes that still leave in plain text.
    pub plain_prefix: usize,
    /// Some input arrived (a connection that sent nothing attempted no handshake).
    saw_input: bool,
    /// Server: the ClientHello offers to resume a session.
    resumption: bool,
}

impl TlsSession {
    fn new(role: Role, server_name: Option<String>) -> TlsSession {
        TlsSession {
            role,
            incoming: InBuf::default(),
            out: Vec::new(),
            out_pos: 0,
            sealed_unsent: 0,
            established: false,
            resume: false,
            stash: Vec::new(),
            peer_closed: false,
            close_notify_sent: false,
            server_name,
            plain_prefix: 0,
            saw_input: false,
            resumption: false,
        }
    }

    /// True once the peer sent anything.
    pub fn saw_input(&self) -> bool {
        self.saw_input
    }

    /// A server session; the ClientHello decides the rest.
    pub fn server(config: &TlsServerConfig) -> TlsSession {
        TlsSession::new(Role::Hello(config.clone()), None)
    }

    /// A client session to `host` (the name verified and sent as SNI unless the configuration
    /// says otherwise); its ClientHello is in the output at once.
    pub fn client(config: &TlsClientConfig, host: &str) -> Result<TlsSession, rustls::Error> {
        let name = config.server_name.as_deref().unwrap_or(host);
        let literal = name.trim_start_matches('[').trim_end_matches(']');
        let server_name = ServerName::try_from(literal.to_string())
            .map_err(|_| rustls::Error::General(format!("'{name}' is not a valid server name")))?;
        let sent = match &server_name {
            ServerName::DnsName(d) if config.rustls.enable_sni => Some(d.as_ref().to_string()),
            _ => None,
        };
        let conn = UnbufferedClientConnection::new(config.rustls.clone(), server_name)?;
        let mut s = TlsSession::new(Role::Client(conn), sent);
        // The ClientHello.
        let mut none = [0u8; 0];
        if let Role::Client(c) = &mut s.role {
            if let (_, Step::Failed(e)) = run(&mut **c, &mut none, &mut s.out, false, &mut |_| {}) {
                return Err(e);
            }
        }
        Ok(s)
    }

    pub fn is_established(&self) -> bool {
        self.established
    }

    /// True when held input must be processed before the socket is read again.
    pub fn wants_resume(&self) -> bool {
        self.resume && !matches!(self.role, Role::AwaitingConfig(_))
    }

    /// True once the peer's `close_notify` was seen.
    #[cfg(test)]
    pub fn peer_closed(&self) -> bool {
        self.peer_closed
    }

    /// True while a graceful close still owes the peer a `close_notify`.
    pub fn owes_close_notify(&self) -> bool {
        self.established && !self.close_notify_sent && !matches!(self.role, Role::Done)
    }

    /// Ciphertext waiting for the socket.
    pub fn pending_out(&self) -> &[u8] {
        &self.out[self.out_pos..]
    }

    /// `n` bytes of [`TlsSession::pending_out`] went to the socket. Returns the plaintext bytes
    /// that now count as flushed (when the output emptied).
    pub fn sent(&mut self, n: usize) -> u64 {
        self.out_pos += n;
        if self.out_pos < self.out.len() {
            return 0;
        }
        self.out = Vec::new();
        self.out_pos = 0;
        std::mem::take(&mut self.sealed_unsent)
    }

    /// Keeps ciphertext the socket did not take.
    pub fn hold_out(&mut self, rest: &[u8], plaintext: u64) {
        self.out.extend_from_slice(rest);
        self.sealed_unsent += plaintext;
    }

    /// Room to read into when part of a record is held, so the rest lands after it without a
    /// copy; None when nothing is held (read into the scratch buffer then) or the limit is hit.
    pub fn read_target(&mut self, want: usize) -> Option<&mut [u8]> {
        if self.incoming.is_empty() {
            None
        } else {
            self.incoming.spare(want)
        }
    }

    /// Processes `n` bytes just read into [`TlsSession::read_target`].
    pub fn received_in_place(&mut self, n: usize, deliver: &mut dyn FnMut(&[u8])) -> Received {
        self.saw_input = true;
        self.incoming.filled(n);
        self.process_held(deliver)
    }

    /// Processes bytes just read (into the scratch buffer): plaintext goes to `deliver`.
    pub fn receive(&mut self, data: &mut [u8], deliver: &mut dyn FnMut(&[u8])) -> Received {
        self.saw_input = true;
        if !self.incoming.is_empty() || !matches!(self.role, Role::Server(_) | Role::Client(_)) {
            if !self.incoming.append(data) {
                return self.fail_local("the peer sent a TLS message larger than 64 KiB");
            }
            return self.process_held(deliver);
        }
        let (used, received) = self.process(data, deliver);
        if used < data.len() && !matches!(received, Received::Failed(_)) {
            // The tail of a record (or input held back for the events of a new connection).
            if !self.incoming.append(&data[used..]) {
                return self.fail_local("the peer sent a TLS message larger than 64 KiB");
            }
        }
        received
    }

    /// Processes what is held (after [`Received::Established`] or a configuration answer).
    pub fn resume(&mut self, deliver: &mut dyn FnMut(&[u8])) -> Received {
        self.resume = false;
        if !self.stash.is_empty() {
            let stash = std::mem::take(&mut self.stash);
            deliver(&stash);
        }
        if self.peer_closed {
            return Received::PeerClosed;
        }
        self.process_held(deliver)
    }

    fn process_held(&mut self, deliver: &mut dyn FnMut(&[u8])) -> Received {
        let mut held = std::mem::take(&mut self.incoming);
        let (used, received) = self.process(held.held(), deliver);
        held.consume(used);
        self.incoming = held;
        received
    }

    /// Runs `buf` through the session; returns the bytes used and the outcome.
    fn process(&mut self, buf: &mut [u8], deliver: &mut dyn FnMut(&[u8])) -> (usize, Received) {
        if let Role::Hello(_) = self.role {
            match client_hello::scan(buf) {
                HelloScan::Incomplete => return (0, Received::NeedMore),
                HelloScan::NotHello => self.start_server(None),
                HelloScan::Hello(hello) => {
                    let ask = match (&self.role, &hello.name) {
                        (Role::Hello(cfg), Some(n)) => cfg.ask_sni.then(|| n.clone()),
                        _ => None,
                    };
                    self.server_name = hello.name;
                    self.resumption = hello.offers_psk;
                    if let Some(n) = ask {
                        if let Role::Hello(cfg) = std::mem::replace(&mut self.role, Role::Done) {
                            self.role = Role::AwaitingConfig(cfg);
                        }
                        return (0, Received::AskConfig(n));
                    }
                    self.start_server(None);
                }
            }
        }
        if let Role::AwaitingConfig(_) = self.role {
            return (0, Received::NeedMore);
        }
        let established = self.established;
        let (used, step) = match &mut self.role {
            Role::Server(c) => run(&mut **c, buf, &mut self.out, established, deliver),
            Role::Client(c) => run(&mut **c, buf, &mut self.out, established, deliver),
            _ => (buf.len(), Step::NeedMore),
        };
        let received = match step {
            Step::NeedMore => Received::NeedMore,
            Step::Established => {
                self.established = true;
                self.resume = true;
                Received::Established
            }
            Step::PeerClosed => {
                self.peer_closed = true;
                Received::PeerClosed
            }
            Step::Failed(e) => {
                let from = used.min(buf.len());
                self.drain_alerts(&mut buf[from..]);
                self.role = Role::Done;
                Received::Failed(e)
            }
        };
        (used, received)
    }

    /// A server's connection with the configuration chosen (None: the server's own).
    fn start_server(&mut self, chosen: Option<Arc<ServerConfig>>) {
        let cfg = match std::mem::replace(&mut self.role, Role::Done) {
            Role::Hello(c) | Role::AwaitingConfig(c) => c,
            other => {
                self.role = other;
                return;
            }
        };
        let config = chosen.unwrap_or_else(|| cfg.for_hello(self.resumption));
        match UnbufferedServerConnection::new(config) {
            Ok(conn) => self.role = Role::Server(conn),
            Err(_) => self.role = Role::Done,
        }
    }

    /// The embedder's answer to [`Received::AskConfig`]: the configuration for this
    /// handshake (None: the server's own). Held input is processed on the next read.
    /// Whether the ClientHello offered to resume a session (choose the configuration with
    /// [`TlsServerConfig::for_hello`]).
    pub fn offers_resumption(&self) -> bool {
        self.resumption
    }

    pub fn configure(&mut self, chosen: Option<Arc<ServerConfig>>) {
        if let Role::AwaitingConfig(_) = self.role {
            self.start_server(chosen);
            self.resume = true;
        }
    }

    /// Encodes the alert a failure queued. `rest` is the input after the failure point (the
    /// buffer rustls expects to be called with). Called once: rustls returns the queued alert
    /// before looking at input again, and looking at the input again would fail again.
    fn drain_alerts(&mut self, rest: &mut [u8]) {
        let _ = match &mut self.role {
            Role::Server(c) => encode_queued(&mut **c, rest, &mut self.out),
            Role::Client(c) => encode_queued(&mut **c, rest, &mut self.out),
            _ => return,
        };
    }

    fn fail_local(&mut self, why: &str) -> Received {
        self.role = Role::Done;
        Received::Failed(rustls::Error::General(why.to_string()))
    }

    /// Seals `plain` into records at the front of `dst`, which must hold
    /// [`sealed_len`]`(plain.len())` bytes. Returns the ciphertext length.
    pub fn seal(&mut self, plain: &[u8], dst: &mut [u8]) -> Result<usize, rustls::Error> {
        let mut held = std::mem::take(&mut self.incoming);
        let mut encrypt = |w: &mut dyn Encrypt| w.encrypt_into(plain, dst);
        let result = match &mut self.role {
            Role::Server(c) => {
                with_write_traffic(&mut **c, held.held(), &mut self.out, &mut self.stash, |w| {
                    encrypt(w)
                })
            }
            Role::Client(c) => {
                with_write_traffic(&mut **c, held.held(), &mut self.out, &mut self.stash, |w| {
                    encrypt(w)
                })
            }
            _ => Err(rustls::Error::General("the TLS session is closed".into())),
        };
        let result = match result {
            Ok((written, discard, peer_closed)) => {
                held.consume(discard);
                self.resume |= !self.stash.is_empty() || peer_closed;
                self.peer_closed |= peer_closed;
                written
            }
            Err(e) => Err(e),
        };
        self.incoming = held;
        result
    }

    /// Puts a `close_notify` alert in the output (once).
    pub fn close_notify(&mut self) {
        if !self.owes_close_notify() {
            return;
        }
        self.close_notify_sent = true;
        let mut alert = [0u8; 64];
        let mut held = std::mem::take(&mut self.incoming);
        let res = match &mut self.role {
            Role::Server(c) => {
                with_write_traffic(&mut **c, held.held(), &mut self.out, &mut self.stash, |w| {
                    w.queue_close_notify(&mut alert).unwrap_or(0)
                })
            }
            Role::Client(c) => {
                with_write_traffic(&mut **c, held.held(), &mut self.out, &mut self.stash, |w| {
                    w.queue_close_notify(&mut alert).unwrap_or(0)
                })
            }
            _ => Err(rustls::Error::HandshakeNotComplete),
        };
        if let Ok((n, discard, _)) = res {
            held.consume(discard);
            self.out.extend_from_slice(&alert[..n]);
        }
        self.incoming = held;
    }

    /// What the handshake established.
    pub fn info(&self) -> TlsInfo {
        let common: &CommonState = match &self.role {
            Role::Server(c) => c,
            Role::Client(c) => c,
            _ => {
                return TlsInfo::default();
            }
        };
        TlsInfo::from_state(common, self.server_name.clone())
    }

    /// Bytes the session holds, for tests of idle size.
    #[cfg(test)]
    pub fn held_bytes(&self) -> usize {
        self.incoming.capacity() + self.out.capacity() + self.stash.capacity()
    }
}

/// Ciphertext length of `plain` bytes sealed into records.
#[cfg_attr(not(feature = "http"), allow(dead_code))] // used by the HTTP layers
pub(crate) fn sealed_len(plain: usize) -> usize {
    plain + plain.div_ceil(MAX_FRAGMENT).max(1) * RECORD_OVERHEAD
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tls::errors::code_of;
    use crate::tls::testing::{self_signed, TestCa};
    use crate::tls::{PemIdentity, TlsClientSettings, TlsErrorCode, TlsServerSettings};

    fn server_config(
        id: PemIdentity,
        tweak: impl FnOnce(&mut TlsServerSettings),
    ) -> TlsServerConfig {
        let mut s = TlsServerSettings {
            identity: Some(id),
            ..TlsServerSettings::default()
        };
        tweak(&mut s);
        TlsServerConfig::new(&s).expect("server config")
    }

    fn client_config(ca: &str) -> TlsClientConfig {
        TlsClientConfig::new(&TlsClientSettings {
            ca: vec![ca.as_bytes().to_vec()],
            ..TlsClientSettings::default()
        })
        .expect("client config")
    }

    /// Moves `from`'s output to `to` in pieces of `step` bytes; returns what `to` reported last
    /// (Established and configuration answers are resumed on the spot) and the plaintext.
    fn pump(
        from: &mut TlsSession,
        to: &mut TlsSession,
        step: usize,
    ) -> (Option<Received>, Vec<u8>) {
        let mut bytes = from.pending_out().to_vec();
        let n = bytes.len();
        from.sent(n);
        let mut got = Vec::new();
        let mut last = None;
        for piece in bytes.chunks_mut(step.max(1)) {
            let mut r = to.receive(piece, &mut |d| got.extend_from_slice(d));
            while matches!(r, Received::Established) || to.wants_resume() {
                last = Some(Received::Established);
                r = to.resume(&mut |d| got.extend_from_slice(d));
            }
            if !matches!(r, Received::NeedMore) {
                last = Some(r);
            }
        }
        (last, got)
    }

    fn handshake(c: &mut TlsSession, s: &mut TlsSession, step: usize) -> Option<Received> {
        let mut last = None;
        for _ in 0..6 {
            let (a, _) = pump(c, s, step);
            let (b, _) = pump(s, c, step);
            if let Some(Received::Failed(e)) = a {
                return Some(Received::Failed(e));
            }
            if let Some(Received::Failed(e)) = b {
                return Some(Received::Failed(e));
            }
            if c.is_established() && s.is_established() {
                break;
            }
            last = b.or(a);
        }
        last
    }

    fn send(from: &mut TlsSession, plain: &[u8]) {
        let mut dst = vec![0u8; sealed_len(plain.len())];
        let n = from.seal(plain, &mut dst).expect("seal");
        from.hold_out(&dst[..n], plain.len() as u64);
    }

    #[test]
    fn handshake_and_data_both_ways_in_any_pieces() {
        let ca = TestCa::new();
        for step in [1, 7, 100, usize::MAX] {
            let server = server_config(ca.leaf(&["localhost"], false), |s| {
                s.alpn = vec![b"http/1.1".to_vec()];
            });
            let mut s = TlsSession::server(&server);
            let mut client = client_config(&ca.cert_pem);
            client.rustls = {
                let mut c = (*client.rustls).clone();
                c.alpn_protocols = vec![b"http/1.1".to_vec()];
                Arc::new(c)
            };
            let mut c = TlsSession::client(&client, "localhost").expect("client");
            let r = handshake(&mut c, &mut s, step);
            assert!(
                c.is_established() && s.is_established(),
                "step {step}: {r:?}"
            );
            send(&mut c, b"GET / HTTP/1.1\r\n\r\n");
            let (_, got) = pump(&mut c, &mut s, step);
            assert_eq!(got, b"GET / HTTP/1.1\r\n\r\n");
            let big = vec![42u8; 100_000];
            send(&mut s, &big);
            let (_, got) = pump(&mut s, &mut c, step.min(5000));
            assert_eq!(got.len(), big.len());
            let info = c.info();
            assert_eq!(info.protocol, "TLSv1.3");
            assert!(info.cipher.starts_with("TLS_"), "{}", info.cipher);
            assert_eq!(info.alpn.as_deref(), Some("http/1.1"));
            assert!(info.peer_certificate.is_some());
            assert_eq!(s.info().server_name.as_deref(), Some("localhost"));
            assert_eq!(s.held_bytes(), 0, "an idle session holds no buffers");
        }
    }

    fn client_failure(server_id: PemIdentity, ca_pem: &str, host: &str) -> TlsErrorCode {
        let server = server_config(server_id, |_| {});
        let mut s = TlsSession::server(&server);
        let mut c = TlsSession::client(&client_config(ca_pem), host).expect("client");
        match handshake(&mut c, &mut s, usize::MAX) {
            Some(Received::Failed(e)) => code_of(&e),
            other => panic!("expected a failure, got {other:?}"),
        }
    }

    #[test]
    fn certificate_failures_have_node_names() {
        let ca = TestCa::new();
        assert_eq!(
            client_failure(ca.leaf(&["localhost"], true), &ca.cert_pem, "localhost"),
            TlsErrorCode::CertHasExpired
        );
        assert_eq!(
            client_failure(ca.leaf(&["localhost"], false), &ca.cert_pem, "other.test"),
            TlsErrorCode::CertAltnameInvalid
        );
        let other = TestCa::new();
        assert_eq!(
            client_failure(self_signed(&["localhost"]), &other.cert_pem, "localhost"),
            TlsErrorCode::DepthZeroSelfSignedCert
        );
        assert_eq!(
            client_failure(ca.leaf(&["localhost"], false), &other.cert_pem, "localhost"),
            TlsErrorCode::UnableToVerifyLeafSignature
        );
    }

    #[test]
    fn a_server_can_wait_for_the_application_to_choose_a_certificate() {
        let ca = TestCa::new();
        let server = server_config(ca.leaf(&["default.test"], false), |s| s.sni_callback = true);
        let mut s = TlsSession::server(&server);
        let mut c = TlsSession::client(&client_config(&ca.cert_pem), "named.test").expect("client");
        let hello = c.pending_out().to_vec();
        c.sent(hello.len());
        let mut hello = hello;
        let r = s.receive(&mut hello, &mut |_| {});
        assert!(
            matches!(&r, Received::AskConfig(n) if n == "named.test"),
            "{r:?}"
        );
        assert!(s.pending_out().is_empty() && !s.wants_resume());
        let id = crate::tls::TlsIdentity::from_pem(&ca.leaf(&["named.test"], false)).expect("id");
        s.configure(Some(server.with_identity(&id, s.offers_resumption())));
        assert!(s.wants_resume());
        let r = s.resume(&mut |_| {});
        assert!(matches!(r, Received::NeedMore), "{r:?}");
        handshake(&mut c, &mut s, usize::MAX);
        assert!(c.is_established() && s.is_established());
    }

    #[test]
    fn garbage_and_close_notify() {
        let ca = TestCa::new();
        let server = server_config(ca.leaf(&["localhost"], false), |_| {});
        let mut s = TlsSession::server(&server);
        let mut junk = b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n".to_vec();
        let r = s.receive(&mut junk, &mut |_| {});
        assert!(matches!(r, Received::Failed(_)), "{r:?}");

        let mut s = TlsSession::server(&server);
        let mut c = TlsSession::client(&client_config(&ca.cert_pem), "localhost").expect("client");
        handshake(&mut c, &mut s, usize::MAX);
        c.close_notify();
        assert!(!c.owes_close_notify());
        let (r, _) = pump(&mut c, &mut s, usize::MAX);
        assert!(matches!(r, Some(Received::PeerClosed)), "{r:?}");
        assert!(s.peer_closed());
    }
}
