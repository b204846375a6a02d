//! The engine's error type: a kind with a stable code, the OS errno where there was one, and a
//! message that names the operation and the peer ("connect to 127.0.0.1:9 failed: connection
//! refused").

use std::fmt;
use std::io;

/// What went wrong, in the terms of the condition classes users see.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum ErrorKind {
    /// Any connection failure without a more precise kind.
    Connection = 1,
    /// The library enforced a timeout (connect, read, write).
    Timeout = 2,
    /// The peer refused the connection.
    Refused = 3,
    /// The peer reset the connection.
    Reset = 4,
    /// The address to listen on is taken.
    AddressInUse = 5,
    /// A name did not resolve.
    Dns = 6,
    /// A TLS handshake or record failed.
    Tls = 7,
    /// An operation named a socket that is closed.
    SocketClosed = 8,
    /// An HTTP peer sent something malformed or too large.
    Http = 9,
}

impl ErrorKind {
    /// Every kind, in number order.
    pub const ALL: [ErrorKind; 9] = [
        ErrorKind::Connection,
        ErrorKind::Timeout,
        ErrorKind::Refused,
        ErrorKind::Reset,
        ErrorKind::AddressInUse,
        ErrorKind::Dns,
        ErrorKind::Tls,
        ErrorKind::SocketClosed,
        ErrorKind::Http,
    ];

    /// The stable code of this kind, as the TypeScript condition classes carry it.
    pub fn code(self) -> &'static str {
        match self {
            ErrorKind::Connection => "EVASYNC_CONNECTION_ERROR",
            ErrorKind::Timeout => "EVASYNC_CONNECTION_TIMEOUT",
            ErrorKind::Refused => "EVASYNC_CONNECTION_REFUSED",
            ErrorKind::Reset => "EVASYNC_CONNECTION_RESET",
            ErrorKind::AddressInUse => "EVASYNC_ADDRESS_IN_USE",
            ErrorKind::Dns => "EVASYNC_DNS_ERROR",
            ErrorKind::Tls => "EVASYNC_TLS_ERROR",
            ErrorKind::SocketClosed => "EVASYNC_SOCKET_CLOSED",
            ErrorKind::Http => "EVASYNC_HTTP_ERROR",
        }
    }

    /// The kind an OS error maps to.
    pub fn from_io(err: &io::Error) -> ErrorKind {
        match err.kind() {
            io::ErrorKind::ConnectionRefused => ErrorKind::Refused,
            io::ErrorKind::ConnectionReset | io::ErrorKind::ConnectionAborted => ErrorKind::Reset,
            io::ErrorKind::AddrInUse => ErrorKind::AddressInUse,
            io::ErrorKind::TimedOut => ErrorKind::Timeout,
            _ => ErrorKind::Connection,
        }
    }
}

/// `ETIMEDOUT`: the errno every library-enforced timeout reports, as the contract asks.
pub const ETIMEDOUT: i32 = libc::ETIMEDOUT;

/// An engine error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    /// The kind.
    pub kind: ErrorKind,
    /// The OS errno, or 0 when the library made the error itself.
    pub errno: i32,
    /// What failed, naming the operation and peer.
    pub message: String,
    /// For TLS failures: the case as Node names it (`CERT_HAS_EXPIRED`, …).
    pub tls: Option<crate::tls::TlsErrorCode>,
}

impl Error {
    /// An error of `kind` with a message and no errno.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Error {
        Error {
            kind,
            errno: 0,
            message: message.into(),
            tls: None,
        }
    }

    /// An OS error met while doing `op` (a phrase such as "connect to 127.0.0.1:9").
    pub fn io(op: impl fmt::Display, err: &io::Error) -> Error {
        Error {
            kind: ErrorKind::from_io(err),
            errno: err.raw_os_error().unwrap_or(0),
            message: format!("{op} failed: {}", describe_io(err)),
            tls: None,
        }
    }

    /// A timeout the library enforced while doing `op`.
    pub fn timeout(op: impl fmt::Display) -> Error {
        Error {
            kind: ErrorKind::Timeout,
            errno: ETIMEDOUT,
            message: format!("{op} timed out"),
            tls: None,
        }
    }
}

/// The OS's words without Rust's " (os error N)" suffix, lower-cased as errno texts usually are.
fn describe_io(err: &io::Error) -> String {
    let text = err.to_string();
    let text = match text.find(" (os error") {
        Some(i) => &text[..i],
        None => &text[..],
    };
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_lowercase().chain(chars).collect(),
        None => String::new(),
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Error {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn io_errors_name_operation_and_cause() {
        let err = io::Error::from_raw_os_error(libc::ECONNREFUSED);
        let e = Error::io("connect to 127.0.0.1:9", &err);
        assert_eq!(e.kind, ErrorKind::Refused);
        assert_eq!(e.errno, libc::ECONNREFUSED);
        assert_eq!(
            e.message,
            "connect to 127.0.0.1:9 failed: connection refused"
        );
        assert_eq!(e.kind.code(), "EVASYNC_CONNECTION_REFUSED");
    }

    #[test]
    fn timeouts_carry_etimedout() {
        let e = Error::timeout("read from 127.0.0.1:80");
        assert_eq!(e.errno, ETIMEDOUT);
        assert_eq!(e.kind, ErrorKind::Timeout);
    }
}
