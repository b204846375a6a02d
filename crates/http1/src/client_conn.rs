//! The response side of one client connection as a state machine, beside [`crate::ServerConn`]:
//! head → body (by length, chunked, or until the server closes) → done. Interim (1xx)
//! responses are skipped; a `101` is refused (this client never asks to switch protocols);
//! HEAD, 204 and 304 responses have no body whatever their fields say. Bytes go in, heads and
//! body pieces come out; the caller owns the buffers.

use crate::chunked::ChunkedDecoder;
use crate::client::{parse_response, ResponseFraming, ResponseHead};
use crate::error::{Error, ErrorKind};
use crate::request::{HeaderSpan, Parse};

/// How the body being read is delimited.
#[derive(Debug, Clone)]
enum Body {
    /// Bytes still to come.
    Length(u64),
    Chunked(ChunkedDecoder),
    /// Until the server closes; the bytes read so far.
    UntilClose(u64),
}

#[derive(Debug, Clone)]
enum State {
    Head,
    Body(Body),
    Done,
}

/// One step's outcome.
#[derive(Debug, PartialEq, Eq)]
pub enum ClientStep<'a> {
    /// Every byte given was used, or more are needed to go on.
    NeedMore,
    /// An interim (1xx) response head, skipped.
    Interim {
        /// Input bytes it took.
        consumed: usize,
    },
    /// The final response head. `body` says whether body steps follow.
    Head {
        /// The head; its spans point into the input given to this step.
        head: ResponseHead,
        /// Input bytes the head took.
        consumed: usize,
        /// Body steps follow.
        body: bool,
    },
    /// A piece of the body (possibly empty when `finished`).
    Body {
        /// Body bytes (a slice of the input).
        data: &'a [u8],
        /// Input bytes used.
        consumed: usize,
        /// The body is complete.
        finished: bool,
    },
    /// The response is malformed or too large; the connection cannot be used again.
    Refused(Error),
    /// The response is complete; input after it belongs to no request.
    Done,
}

/// The response side of one client connection, for one request.
#[derive(Debug, Clone)]
pub struct ClientConn {
    state: State,
    head_request: bool,
    max_head: usize,
    max_body: u64,
}

impl ClientConn {
    /// Reads the response to one request; `head_request` says the request was HEAD. Heads over
    /// `max_head` bytes and bodies over `max_body` bytes are refused.
    pub fn new(head_request: bool, max_head: usize, max_body: u64) -> ClientConn {
        ClientConn {
            state: State::Head,
            head_request,
            max_head,
            max_body,
        }
    }

    /// True once the whole response was read.
    pub fn is_done(&self) -> bool {
        matches!(self.state, State::Done)
    }

    /// True while the body is read until the server closes (the connection cannot be reused).
    pub fn until_close(&self) -> bool {
        matches!(self.state, State::Body(Body::UntilClose(_)))
    }

    /// Consumes from `input` (the bytes received and not yet consumed). Header fields of a head
    /// go to `headers`. Call again with the remaining input until `NeedMore` or `Done`.
    pub fn step<'a>(&mut self, input: &'a [u8], headers: &mut Vec<HeaderSpan>) -> ClientStep<'a> {
        match &mut self.state {
            State::Done => ClientStep::Done,
            State::Head => {
                if input.is_empty() {
                    return ClientStep::NeedMore;
                }
                match parse_response(input, self.head_request, self.max_head, headers) {
                    Ok(Parse::Partial) => ClientStep::NeedMore,
                    Err(e) => self.refuse(e),
                    Ok(Parse::Complete(head, consumed)) => self.head_parsed(head, consumed),
                }
            }
            State::Body(Body::Length(left)) => {
                if input.is_empty() {
                    return ClientStep::NeedMore;
                }
                let n = (*left).min(input.len() as u64) as usize;
                *left -= n as u64;
                let finished = *left == 0;
                if finished {
                    self.state = State::Done;
                }
                ClientStep::Body {
                    data: &input[..n],
                    consumed: n,
                    finished,
                }
            }
            State::Body(Body::Chunked(decoder)) => match decoder.decode(input) {
                Err(e) => self.refuse(e),
                Ok(d) if d.done => {
                    self.state = State::Done;
                    ClientStep::Body {
                        data: d.data,
                        consumed: d.consumed,
                        finished: true,
                    }
                }
                Ok(d) if d.consumed == 0 => ClientStep::NeedMore,
                Ok(d) => ClientStep::Body {
                    data: d.data,
                    consumed: d.consumed,
                    finished: false,
                },
            },
            State::Body(Body::UntilClose(total)) => {
                if input.is_empty() {
                    return ClientStep::NeedMore;
                }
                *total += input.len() as u64;
                if *total > self.max_body {
                    return self.refuse(Error::new(
                        ErrorKind::BodyTooLarge,
                        "response body too large",
                    ));
                }
                ClientStep::Body {
                    data: input,
                    consumed: input.len(),
                    finished: false,
                }
            }
        }
    }

    /// The server closed the connection. `Ok(true)`: that ended a body read until close, the
    /// response is complete; `Ok(false)`: nothing of a response had arrived; an error: the
    /// response was cut short.
    pub fn server_closed(&mut self, got_bytes: bool) -> Result<bool, Error> {
        match self.state {
            State::Done => Ok(true),
            State::Body(Body::UntilClose(_)) => {
                self.state = State::Done;
                Ok(true)
            }
            State::Head if !got_bytes => Ok(false),
            State::Head => Err(Error::malformed(
                "connection closed inside the response head",
            )),
            State::Body(_) => Err(Error::malformed(
                "connection closed inside the response body",
            )),
        }
    }

    /// Transition: a head arrived.
    fn head_parsed(&mut self, head: ResponseHead, consumed: usize) -> ClientStep<'static> {
        if head.status == 101 {
            return self.refuse(Error::malformed("unexpected protocol switch (101)"));
        }
        if head.status < 200 {
            return ClientStep::Interim { consumed };
        }
        let body = match head.framing {
            ResponseFraming::None => None,
            ResponseFraming::Length(n) if n > self.max_body => {
                return self.refuse(Error::new(
                    ErrorKind::BodyTooLarge,
                    "response body too large",
                ))
            }
            ResponseFraming::Length(n) => Some(Body::Length(n)),
            ResponseFraming::Chunked => Some(Body::Chunked(ChunkedDecoder::new(self.max_body))),
            ResponseFraming::UntilClose => Some(Body::UntilClose(0)),
        };
        let has_body = body.is_some();
        self.state = body.map_or(State::Done, State::Body);
        ClientStep::Head {
            head,
            consumed,
            body: has_body,
        }
    }

    /// Transition: the response is refused; nothing more is read.
    fn refuse(&mut self, e: Error) -> ClientStep<'static> {
        self.state = State::Done;
        ClientStep::Refused(e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const RESPONSES: &[&[u8]] = &[
        b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
        b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nuntil close",
        b"HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok",
    ];

    /// Feeds `input` in pieces of the given sizes (then the rest), the server closing at the
    /// end; the status and body, or None when refused or cut short.
    fn run(input: &[u8], splits: &[usize], head_request: bool) -> Option<(u16, Vec<u8>)> {
        let mut c = ClientConn::new(head_request, 64 * 1024, 1 << 20);
        let mut buf = Vec::new();
        let mut spans = Vec::new();
        let (mut status, mut body) = (0, Vec::new());
        let mut pos: usize = 0;
        for &n in splits.iter().chain(std::iter::once(&usize::MAX)) {
            let end = pos.saturating_add(n).min(input.len());
            buf.extend_from_slice(&input[pos..end]);
            pos = end;
            loop {
                match c.step(&buf, &mut spans) {
                    ClientStep::NeedMore => break,
                    ClientStep::Done => return Some((status, body)),
                    ClientStep::Refused(_) => return None,
                    ClientStep::Interim { consumed } => drop(buf.drain(..consumed)),
                    ClientStep::Head { head, consumed, .. } => {
                        status = head.status;
                        buf.drain(..consumed);
                    }
                    ClientStep::Body { data, consumed, .. } => {
                        body.extend_from_slice(data);
                        buf.drain(..consumed);
                    }
                }
            }
            if pos == input.len() {
                return match c.server_closed(true) {
                    Ok(true) => Some((status, body)),
                    _ => None,
                };
            }
        }
        None
    }

    #[test]
    fn responses_frame_the_same_in_any_split() {
        let want: [Option<(u16, &[u8])>; 5] = [
            Some((200, b"hello")),
            Some((200, b"abc")),
            Some((204, b"")),
            Some((200, b"until close")),
            Some((200, b"ok")),
        ];
        for (bytes, want) in RESPONSES.iter().zip(want) {
            for step in 1..bytes.len() {
                let splits = vec![step; bytes.len() / step + 1];
                let got = run(bytes, &splits, false);
                assert_eq!(
                    got.as_ref().map(|(s, b)| (*s, b.as_slice())),
                    want,
                    "{} split by {step}",
                    String::from_utf8_lossy(bytes)
                );
            }
        }
        assert_eq!(
            run(RESPONSES[0], &[], true).map(|(s, b)| (s, b.len())),
            Some((200, 0)),
            "a response to HEAD has no body"
        );
    }

    #[test]
    fn cut_short_and_refused_responses() {
        assert_eq!(
            run(
                b"HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\nshort",
                &[],
                false
            ),
            None
        );
        assert_eq!(
            run(b"HTTP/1.1 101 Switching Protocols\r\n\r\n", &[], false),
            None
        );
        assert_eq!(
            run(
                b"HTTP/1.1 200 OK\r\nContent-Length: 99999999\r\n\r\n",
                &[],
                false
            ),
            None
        );
        assert_eq!(run(b"HTTP/1.1 2x0 OK\r\n\r\n", &[], false), None);
        let mut idle = ClientConn::new(false, 1024, 1024);
        assert_eq!(idle.server_closed(false), Ok(false), "nothing arrived");
    }

    #[test]
    fn mutated_responses_never_panic() {
        let mut x: u64 = 0x2545_f491_4f6c_dd1d;
        let mut next = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        for _ in 0..20_000 {
            let mut bytes = RESPONSES[(next() % 5) as usize].to_vec();
            for _ in 0..(next() % 4) {
                let i = (next() as usize) % bytes.len();
                bytes[i] = next() as u8;
            }
            let splits: Vec<usize> = (0..4).map(|_| 1 + (next() as usize) % 16).collect();
            let _ = run(&bytes, &splits, next() % 2 == 0);
        }
    }
}
