//! A small kit for engine scenarios: run a reactor on a thread and collect its events.

pub mod certs;

use std::sync::mpsc::{channel, Receiver, RecvTimeoutError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use evasync::{Event, Handle, Reactor, ReactorConfig};

/// An owned copy of an event (the borrowed data copied out).
#[derive(Debug, Clone, PartialEq, Eq)]
#[allow(dead_code)]
pub enum Ev {
    Timer(u32),
    Connected(u32, evasync::Endpoint),
    Accepted {
        server: u32,
        id: u32,
    },
    Data(u32, Vec<u8>),
    Flushed(u32, u64),
    Eof(u32),
    Failed(u32, evasync::ErrorKind, i32),
    FlushFailed(u32, evasync::ErrorKind),
    Released(u32),
    ServerError(u32, i32),
    Tick(u32),
    /// conn, seq, method, target, body, complete
    Http(u32, u32, String, String, Vec<u8>, bool),
    HttpBody(u32, Vec<u8>, bool),
    Dns(u32, Result<evasync::dns::DnsAnswer, i32>),
    /// request, status, body
    Response(u32, u16, Vec<u8>),
    ClientFailed(u32, evasync::ErrorKind),
    /// A socket failed with a TLS error: id, code, message.
    TlsFailed(u32, evasync::tls::TlsErrorCode, String),
    /// A listener reports a failed handshake: server, code, message.
    TlsServerError(u32, evasync::tls::TlsErrorCode, String),
    Tls(u32, evasync::tls::TlsInfo),
    Sni {
        server: u32,
        id: u32,
        name: String,
    },
    Exited(u32, evasync::process::ExitStatus),
    Notified(u32),
    ResponseHead(u32, u16),
    ResponseBody(u32, Vec<u8>, bool),
    Polled(u32, u8),
    Signal(u32, i32),
    /// An event this kit does not copy out.
    Other(String),
}

impl Ev {
    pub fn from(ev: Event<'_>) -> Ev {
        match ev {
            Event::TimerFired { id } => Ev::Timer(id),
            Event::Connected { id, remote, .. } => Ev::Connected(id, remote),
            Event::Accepted { server, id, .. } => Ev::Accepted { server, id },
            Event::Data { id, data } => Ev::Data(id, data.to_vec()),
            Event::Flushed { id, total } => Ev::Flushed(id, total),
            Event::Eof { id } => Ev::Eof(id),
            Event::Failed { id, error } => match error.tls {
                Some(code) => Ev::TlsFailed(id, code, error.message),
                None => Ev::Failed(id, error.kind, error.errno),
            },
            Event::FlushFailed { id, error } => Ev::FlushFailed(id, error.kind),
            Event::Released { id } => Ev::Released(id),
            Event::ServerError { id, error } => match error.tls {
                Some(code) => Ev::TlsServerError(id, code, error.message),
                None => Ev::ServerError(id, error.errno),
            },
            Event::Tick { seq } => Ev::Tick(seq),
            #[cfg(feature = "http")]
            Event::HttpRequest {
                id,
                seq,
                head,
                head_bytes,
                body,
                complete,
                ..
            } => Ev::Http(
                id,
                seq,
                String::from_utf8_lossy(head.method.of(head_bytes)).into_owned(),
                String::from_utf8_lossy(head.target.of(head_bytes)).into_owned(),
                body.to_vec(),
                complete,
            ),
            #[cfg(feature = "http")]
            Event::HttpBody { id, data, finished } => Ev::HttpBody(id, data.to_vec(), finished),
            Event::DnsResolved { id, result, .. } => {
                Ev::Dns(id, result.cloned().map_err(|e| e.errno))
            }
            #[cfg(feature = "http")]
            Event::HttpResponse {
                id, status, body, ..
            } => Ev::Response(id, status, body.to_vec()),
            #[cfg(feature = "http")]
            Event::HttpClientFailed { id, error } => Ev::ClientFailed(id, error.kind),
            Event::TlsEstablished { id, info } => Ev::Tls(id, info.clone()),
            Event::ProcessExited { id, status } => Ev::Exited(id, status),
            Event::Notified { id } => Ev::Notified(id),
            #[cfg(feature = "http")]
            Event::HttpResponseHead { id, status, .. } => Ev::ResponseHead(id, status),
            #[cfg(feature = "http")]
            Event::HttpResponseBody { id, data, finished } => {
                Ev::ResponseBody(id, data.to_vec(), finished)
            }
            Event::Polled { id, ready } => Ev::Polled(id, ready),
            Event::Signal { id, signo } => Ev::Signal(id, signo),
            Event::TlsSniRequest { server, id, name } => Ev::Sni {
                server,
                id,
                name: name.to_string(),
            },
            other => Ev::Other(format!("{other:?}")),
        }
    }
}

/// A reactor running on its own thread until `Exit`, its handle, and its events.
pub struct Running {
    pub handle: Handle,
    pub events: Receiver<Ev>,
    thread: Option<JoinHandle<()>>,
}

impl Running {
    pub fn start() -> Running {
        let mut reactor = Reactor::new(ReactorConfig::default()).expect("reactor");
        let handle = reactor.handle();
        let (tx, events) = channel();
        let thread = std::thread::spawn(move || {
            let mut sink = |ev: Event<'_>| {
                let _ = tx.send(Ev::from(ev));
            };
            while !reactor.stopped() {
                reactor.turn(None, &mut sink).expect("turn");
            }
        });
        Running {
            handle,
            events,
            thread: Some(thread),
        }
    }

    /// The next event matching `pred` within `secs`, skipping others.
    pub fn wait_for(&self, secs: f64, mut pred: impl FnMut(&Ev) -> bool) -> Option<Ev> {
        let end = Instant::now() + Duration::from_secs_f64(secs);
        loop {
            let left = end.saturating_duration_since(Instant::now());
            match self.events.recv_timeout(left) {
                Ok(ev) if pred(&ev) => return Some(ev),
                Ok(_) => {}
                Err(RecvTimeoutError::Timeout) | Err(RecvTimeoutError::Disconnected) => {
                    return None
                }
            }
        }
    }

    /// Every event for `secs`.
    #[allow(dead_code)]
    pub fn collect(&self, secs: f64) -> Vec<Ev> {
        let end = Instant::now() + Duration::from_secs_f64(secs);
        let mut out = Vec::new();
        while let Ok(ev) = self
            .events
            .recv_timeout(end.saturating_duration_since(Instant::now()))
        {
            out.push(ev);
        }
        out
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        self.handle.exit();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
