//! The numbers of the wire formats (`evasync::wire`), as `#[napi]` enums so that `binding.d.ts`
//! carries them to TypeScript (const enums, inlined by tsc): the engine defines each number once,
//! this file names it for JS, and the assertions below fail the build if the two ever differ.

use evasync::tls::TlsErrorCode as Tls;
use evasync::wire::{events, ops};
use evasync::ErrorKind as EngineErrorKind;
use napi_derive::napi;

/// Kinds of event records (`evasync::wire::events`).
#[napi]
pub enum EventKind {
    Timer = 1,
    Connected = 2,
    Accepted = 3,
    Data = 4,
    Flushed = 5,
    Eof = 6,
    Failed = 7,
    FlushFailed = 8,
    Released = 9,
    ServerError = 10,
    Tick = 11,
    Fatal = 12,
    HttpRequest = 13,
    HttpBody = 14,
    HttpBodyEnd = 15,
    DnsAddrs = 16,
    DnsName = 17,
    DnsFailed = 18,
    HttpResponse = 19,
    HttpClientFailed = 20,
    TlsEstablished = 21,
    TlsSni = 22,
    ProcessExited = 23,
    Notified = 24,
    Polled = 25,
    Signal = 26,
    HttpResponseHead = 27,
    HttpResponseBody = 28,
}

/// TLS error codes as error records carry them (word 6); names in `lib/errors.ts`.
#[napi]
pub enum TlsErrorCode {
    Proto = 1,
    CertHasExpired = 2,
    CertNotYetValid = 3,
    DepthZeroSelfSignedCert = 4,
    SelfSignedCertInChain = 5,
    UnableToVerifyLeafSignature = 6,
    CertAltnameInvalid = 7,
    NoSuitableSignatureAlgorithm = 8,
    NoApplicationProtocol = 9,
    Timeout = 10,
}

/// Flags of an HTTP request record.
#[napi]
pub enum HttpRequestFlag {
    Complete = 1,
    Http10 = 2,
}

/// Engine error kinds, as error records carry them.
#[napi]
pub enum ErrorKind {
    Connection = 1,
    Timeout = 2,
    Refused = 3,
    Reset = 4,
    AddressInUse = 5,
    Dns = 6,
    Tls = 7,
    SocketClosed = 8,
    Http = 9,
}

/// Operation codes (`evasync::wire::ops`).
#[napi]
pub enum OpCode {
    Delay = 1,
    TimerFree = 2,
    Write = 3,
    NotifyFlushed = 4,
    SetTimeouts = 5,
    Enable = 6,
    Shutdown = 7,
    Close = 8,
    CloseServer = 9,
    HttpWhole = 10,
    HttpStart = 11,
    HttpChunk = 12,
    HttpFinish = 13,
    HttpCloseAfter = 14,
    HttpCloseServer = 15,
    EmitTicks = 16,
}

/// Sizes of the wire formats.
#[napi]
pub enum Layout {
    /// Words per record, of events and of ops alike.
    RecordWords = 8,
}

/// Flags of an HTTP response op.
#[napi]
pub enum HttpResponseFlag {
    /// Close the connection after this response.
    Close = 1,
}

/// Slots of the control block (an `Int32Array` JS and the engine share).
#[napi]
pub enum Ctl {
    /// Op records written.
    Ops = 0,
    /// Op bytes written.
    Data = 1,
    /// 1 while the engine delivers events: what JS queues meanwhile is applied right after.
    Delivering = 2,
    /// The block's length.
    Len = 4,
}

macro_rules! same {
    ($($a:expr => $b:expr),* $(,)?) => {
        $(const _: () = assert!($a as u32 == $b as u32);)*
    };
}

same! {
    EventKind::Timer => events::TIMER, EventKind::Connected => events::CONNECTED,
    EventKind::Accepted => events::ACCEPTED, EventKind::Data => events::DATA,
    EventKind::Flushed => events::FLUSHED, EventKind::Eof => events::EOF,
    EventKind::Failed => events::FAILED, EventKind::FlushFailed => events::FLUSH_FAILED,
    EventKind::Released => events::RELEASED, EventKind::ServerError => events::SERVER_ERROR,
    EventKind::Tick => events::TICK, EventKind::Fatal => events::FATAL,
    EventKind::HttpRequest => events::HTTP_REQUEST, EventKind::HttpBody => events::HTTP_BODY,
    EventKind::HttpBodyEnd => events::HTTP_BODY_END, EventKind::DnsAddrs => events::DNS_ADDRS,
    EventKind::DnsName => events::DNS_NAME, EventKind::DnsFailed => events::DNS_FAILED,
    EventKind::HttpResponse => events::HTTP_RESPONSE,
    EventKind::HttpClientFailed => events::HTTP_CLIENT_FAILED,
    EventKind::TlsEstablished => events::TLS_ESTABLISHED, EventKind::TlsSni => events::TLS_SNI,
    EventKind::ProcessExited => events::PROCESS_EXITED, EventKind::Notified => events::NOTIFIED,
    EventKind::Polled => events::POLLED, EventKind::Signal => events::SIGNAL,
    EventKind::HttpResponseHead => events::HTTP_RESPONSE_HEAD,
    EventKind::HttpResponseBody => events::HTTP_RESPONSE_BODY,
    TlsErrorCode::Proto => Tls::Proto, TlsErrorCode::CertHasExpired => Tls::CertHasExpired,
    TlsErrorCode::CertNotYetValid => Tls::CertNotYetValid,
    TlsErrorCode::DepthZeroSelfSignedCert => Tls::DepthZeroSelfSignedCert,
    TlsErrorCode::SelfSignedCertInChain => Tls::SelfSignedCertInChain,
    TlsErrorCode::UnableToVerifyLeafSignature => Tls::UnableToVerifyLeafSignature,
    TlsErrorCode::CertAltnameInvalid => Tls::CertAltnameInvalid,
    TlsErrorCode::NoSuitableSignatureAlgorithm => Tls::NoSuitableSignatureAlgorithm,
    TlsErrorCode::NoApplicationProtocol => Tls::NoApplicationProtocol,
    TlsErrorCode::Timeout => Tls::Timeout,
    HttpRequestFlag::Complete => events::http_flag::COMPLETE,
    HttpRequestFlag::Http10 => events::http_flag::HTTP10,
    ErrorKind::Connection => EngineErrorKind::Connection, ErrorKind::Timeout => EngineErrorKind::Timeout,
    ErrorKind::Refused => EngineErrorKind::Refused, ErrorKind::Reset => EngineErrorKind::Reset,
    ErrorKind::AddressInUse => EngineErrorKind::AddressInUse, ErrorKind::Dns => EngineErrorKind::Dns,
    ErrorKind::Tls => EngineErrorKind::Tls, ErrorKind::SocketClosed => EngineErrorKind::SocketClosed,
    ErrorKind::Http => EngineErrorKind::Http,
    OpCode::Delay => ops::DELAY, OpCode::TimerFree => ops::TIMER_FREE, OpCode::Write => ops::WRITE,
    OpCode::NotifyFlushed => ops::NOTIFY_FLUSHED, OpCode::SetTimeouts => ops::SET_TIMEOUTS,
    OpCode::Enable => ops::ENABLE, OpCode::Shutdown => ops::SHUTDOWN, OpCode::Close => ops::CLOSE,
    OpCode::CloseServer => ops::CLOSE_SERVER, OpCode::HttpWhole => ops::HTTP_WHOLE,
    OpCode::HttpStart => ops::HTTP_START, OpCode::HttpChunk => ops::HTTP_CHUNK,
    OpCode::HttpFinish => ops::HTTP_FINISH, OpCode::HttpCloseAfter => ops::HTTP_CLOSE_AFTER,
    OpCode::HttpCloseServer => ops::HTTP_CLOSE_SERVER, OpCode::EmitTicks => ops::EMIT_TICKS,
    Layout::RecordWords => events::RECORD, Layout::RecordWords => ops::RECORD,
    HttpResponseFlag::Close => ops::FLAG_CLOSE,
}
