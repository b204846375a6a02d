//! Driving rustls's unbuffered state machine over buffers the connection owns: one pass of
//! records in (plaintext out to a callback, handshake messages and alerts appended to an output
//! buffer), and reaching the write state to seal. [`super::session`] keeps the per-connection
//! state; this keeps the loops over rustls's `ConnectionState`, the same for either side.

use rustls::client::ClientConnectionData;
use rustls::server::ServerConnectionData;
use rustls::unbuffered::{
    ConnectionState, EncodeError, EncryptError, UnbufferedConnectionCommon, UnbufferedStatus,
};
use rustls::{CommonState, HandshakeKind, ProtocolVersion};

use super::TlsInfo;

/// Either side's unbuffered connection, as one face.
pub(super) trait Records {
    type Data;
    fn records<'c, 'i>(
        &'c mut self,
        incoming: &'i mut [u8],
    ) -> UnbufferedStatus<'c, 'i, Self::Data>;
}

impl Records for UnbufferedConnectionCommon<ServerConnectionData> {
    type Data = ServerConnectionData;
    fn records<'c, 'i>(
        &'c mut self,
        incoming: &'i mut [u8],
    ) -> UnbufferedStatus<'c, 'i, Self::Data> {
        self.process_tls_records(incoming)
    }
}

impl Records for UnbufferedConnectionCommon<ClientConnectionData> {
    type Data = ClientConnectionData;
    fn records<'c, 'i>(
        &'c mut self,
        incoming: &'i mut [u8],
    ) -> UnbufferedStatus<'c, 'i, Self::Data> {
        self.process_tls_records(incoming)
    }
}

/// What a step of processing stopped at.
pub(super) enum Step {
    NeedMore,
    Established,
    PeerClosed,
    Failed(rustls::Error),
}

/// Runs records of `buf` through `conn`: plaintext to `deliver`, handshake messages and alerts
/// into `out`. Stops when more input is needed, the handshake just finished (so the events
/// announcing the connection come before its data), or the peer closed or failed.
pub(super) fn run<C: Records + std::ops::Deref<Target = CommonState>>(
    conn: &mut C,
    buf: &mut [u8],
    out: &mut Vec<u8>,
    established: bool,
    deliver: &mut dyn FnMut(&[u8]),
) -> (usize, Step) {
    let mut off = 0;
    loop {
        let status = conn.records(&mut buf[off..]);
        let mut discard = status.discard;
        let state = match status.state {
            Ok(s) => s,
            Err(e) => return (off + discard, Step::Failed(e)),
        };
        match state {
            ConnectionState::ReadTraffic(mut r) => {
                if !established {
                    // Application data flows only after the handshake: announce it first.
                    return (off + discard, Step::Established);
                }
                while let Some(rec) = r.next_record() {
                    match rec {
                        Ok(rec) => {
                            discard += rec.discard;
                            deliver(rec.payload);
                        }
                        Err(e) => return (off + discard, Step::Failed(e)),
                    }
                }
            }
            ConnectionState::ReadEarlyData(_) => {
                // Early data is never enabled (max_early_data_size stays 0).
                let e = rustls::Error::General("unexpected early data".into());
                return (off + discard, Step::Failed(e));
            }
            ConnectionState::EncodeTlsData(mut e) => {
                if let Err(err) = encode(&mut e, out) {
                    return (off + discard, Step::Failed(err));
                }
            }
            ConnectionState::TransmitTlsData(t) => t.done(),
            ConnectionState::PeerClosed => {
                off += discard;
                return if established {
                    (off, Step::PeerClosed)
                } else {
                    let e = rustls::Error::General("the peer closed during the handshake".into());
                    (off, Step::Failed(e))
                };
            }
            ConnectionState::Closed => return (off + discard, Step::PeerClosed),
            ConnectionState::WriteTraffic(_) => {
                off += discard;
                if !established && !conn.is_handshaking() {
                    return (off, Step::Established);
                }
                return (off, Step::NeedMore);
            }
            ConnectionState::BlockedHandshake => return (off + discard, Step::NeedMore),
            _ => return (off + discard, Step::NeedMore),
        }
        off += discard;
        if !established && !conn.is_handshaking() {
            return (off, Step::Established);
        }
    }
}

/// Appends the record rustls has queued (after a failure: its alert), if any.
pub(super) fn encode_queued<C: Records>(
    conn: &mut C,
    rest: &mut [u8],
    out: &mut Vec<u8>,
) -> Result<(), rustls::Error> {
    match conn.records(rest).state {
        Ok(ConnectionState::EncodeTlsData(mut e)) => encode(&mut e, out),
        _ => Ok(()),
    }
}

/// Appends a handshake record to `out`.
fn encode<D>(
    e: &mut rustls::unbuffered::EncodeTlsData<'_, D>,
    out: &mut Vec<u8>,
) -> Result<(), rustls::Error> {
    let start = out.len();
    let mut room = 4096;
    loop {
        out.resize(start + room, 0);
        match e.encode(&mut out[start..]) {
            Ok(n) => {
                out.truncate(start + n);
                return Ok(());
            }
            Err(EncodeError::InsufficientSize(s)) => room = s.required_size,
            Err(EncodeError::AlreadyEncoded) => {
                out.truncate(start);
                return Ok(());
            }
        }
    }
}

/// Encrypting through a `WriteTraffic` of either side.
pub(super) trait Encrypt {
    fn encrypt_into(&mut self, plain: &[u8], dst: &mut [u8]) -> Result<usize, rustls::Error>;
}

impl<D> Encrypt for rustls::unbuffered::WriteTraffic<'_, D> {
    fn encrypt_into(&mut self, plain: &[u8], dst: &mut [u8]) -> Result<usize, rustls::Error> {
        match self.encrypt(plain, dst) {
            Ok(n) => Ok(n),
            Err(EncryptError::InsufficientSize(s)) => Err(rustls::Error::General(format!(
                "internal: {} bytes of room needed to seal",
                s.required_size
            ))),
            Err(_) => Err(rustls::Error::EncryptError),
        }
    }
}

/// Brings `conn` to its write state and runs `f` there. Handshake messages due first (a key
/// update, tickets) go to `out`; plaintext that surfaces goes to `stash`. Returns what `f`
/// returned, the bytes of `held` to discard, and whether the peer's close_notify was seen.
pub(super) fn with_write_traffic<C: Records, R>(
    conn: &mut C,
    held: &mut [u8],
    out: &mut Vec<u8>,
    stash: &mut Vec<u8>,
    f: impl FnOnce(&mut rustls::unbuffered::WriteTraffic<'_, C::Data>) -> R,
) -> Result<(R, usize, bool), rustls::Error> {
    let mut off = 0;
    let mut peer_closed = false;
    loop {
        let status = conn.records(&mut held[off..]);
        let mut discard = status.discard;
        match status.state? {
            ConnectionState::WriteTraffic(mut w) => {
                return Ok((f(&mut w), off + discard, peer_closed));
            }
            ConnectionState::EncodeTlsData(mut e) => encode(&mut e, out)?,
            ConnectionState::TransmitTlsData(t) => t.done(),
            ConnectionState::ReadTraffic(mut r) => {
                while let Some(rec) = r.next_record() {
                    let rec = rec?;
                    discard += rec.discard;
                    stash.extend_from_slice(rec.payload);
                }
            }
            ConnectionState::PeerClosed => peer_closed = true,
            _ => {
                return Err(rustls::Error::General(
                    "the TLS session cannot send now".into(),
                ))
            }
        }
        off += discard;
    }
}

impl TlsInfo {
    pub(super) fn from_state(c: &CommonState, server_name: Option<String>) -> TlsInfo {
        let protocol = match c.protocol_version() {
            Some(ProtocolVersion::TLSv1_3) => "TLSv1.3",
            Some(ProtocolVersion::TLSv1_2) => "TLSv1.2",
            _ => "unknown",
        };
        let cipher = c
            .negotiated_cipher_suite()
            .and_then(|s| s.suite().as_str())
            .map(|name| match name.strip_prefix("TLS13_") {
                // IANA's (and Node's standardName) spelling of the TLS 1.3 suites.
                Some(rest) => format!("TLS_{rest}"),
                None => name.to_string(),
            })
            .unwrap_or_default();
        TlsInfo {
            protocol,
            cipher,
            alpn: c
                .alpn_protocol()
                .map(|p| String::from_utf8_lossy(p).into_owned()),
            server_name,
            resumed: c.handshake_kind() == Some(HandshakeKind::Resumed),
            peer_certificate: c
                .peer_certificates()
                .and_then(|certs| certs.first().cloned()),
        }
    }
}
