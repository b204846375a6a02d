//! Why a request was refused, and the status that says so.

use std::fmt;

/// The class of a refusal; each maps to one HTTP status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// Malformed syntax or ambiguous framing: 400.
    Malformed,
    /// The head (request line and headers) is over the limit: 431.
    HeadTooLarge,
    /// The body is over the limit: 413.
    BodyTooLarge,
    /// A transfer coding we do not implement: 501.
    NotImplemented,
    /// An `Expect` other than `100-continue`: 417 (RFC 9110 §10.1.1).
    ExpectationFailed,
    /// A well-formed HTTP version other than 1.0 and 1.1: 505 (RFC 9110 §15.6.6).
    VersionNotSupported,
}

/// A refused request: its kind and a short reason for logs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    /// The kind.
    pub kind: ErrorKind,
    /// What was wrong, in a few words.
    pub reason: &'static str,
}

impl Error {
    pub(crate) fn new(kind: ErrorKind, reason: &'static str) -> Error {
        Error { kind, reason }
    }

    pub(crate) fn malformed(reason: &'static str) -> Error {
        Error::new(ErrorKind::Malformed, reason)
    }

    /// The status to answer with.
    pub fn status(&self) -> u16 {
        match self.kind {
            ErrorKind::Malformed => 400,
            ErrorKind::HeadTooLarge => 431,
            ErrorKind::BodyTooLarge => 413,
            ErrorKind::NotImplemented => 501,
            ErrorKind::ExpectationFailed => 417,
            ErrorKind::VersionNotSupported => 505,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.reason, self.status())
    }
}

impl std::error::Error for Error {}
