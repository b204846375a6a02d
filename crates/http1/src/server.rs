//! The request side of one server connection as a state machine: head → body → next head (keep
//! alive) or done (close). Bytes go in; heads, body pieces and refusals come out. Responses are
//! the caller's business (see [`crate::encode_response_head`]); pipelined requests are parsed
//! one after another while earlier ones still await their responses.

use crate::chunked::ChunkedDecoder;
use crate::error::{Error, ErrorKind};
use crate::request::{parse_request, BodyFraming, HeaderSpan, Limits, Parse, RequestHead};

/// Where the request side of a connection is.
#[derive(Debug, Clone)]
pub enum ReadState {
    /// Waiting for (the rest of) a request head.
    Head,
    /// Reading a body of known length.
    FixedBody {
        /// Bytes still to come.
        remaining: u64,
    },
    /// Reading a chunked body.
    ChunkedBody(ChunkedDecoder),
    /// No further request will be read: the last one asked to close, or the input was refused.
    Done,
}

/// One step's outcome.
#[derive(Debug, PartialEq, Eq)]
pub enum Step<'a> {
    /// Every byte given was used, or more are needed to go on.
    NeedMore,
    /// A request head. `body` says whether body steps follow (else the request is complete).
    Head {
        /// The head; its spans point into the input given to this step.
        head: RequestHead,
        /// Input bytes the head took.
        consumed: usize,
        /// Body steps follow.
        body: bool,
        /// This is the connection's last request (it asked to close, or the per-connection
        /// request limit was reached): answer with `Connection: close`.
        last: bool,
    },
    /// A piece of the current request's body (possibly empty when `finished`).
    Body {
        /// Body bytes (a slice of the input).
        data: &'a [u8],
        /// Input bytes used.
        consumed: usize,
        /// The body is complete.
        finished: bool,
    },
    /// The input was refused: answer with `error.status()` and close. Nothing more is read.
    Refused(Error),
    /// No more requests on this connection; further input is ignored.
    Done,
}

/// The request side of one server connection.
#[derive(Debug, Clone)]
pub struct ServerConn {
    state: ReadState,
    limits: Limits,
    max_body: u64,
    /// Whether the connection stays open after the request being read.
    keep_alive: bool,
    requests: u32,
    max_requests: u32,
}

impl ServerConn {
    /// A connection that refuses heads over `limits` (431) and bodies over `max_body` (413), and
    /// reads at most `max_requests` requests (0: no limit).
    pub fn new(limits: Limits, max_body: u64, max_requests: u32) -> ServerConn {
        ServerConn {
            state: ReadState::Head,
            limits,
            max_body,
            keep_alive: true,
            requests: 0,
            max_requests,
        }
    }

    /// Where the connection is.
    pub fn state(&self) -> &ReadState {
        &self.state
    }

    /// True between requests: no head or body byte of a new request has been consumed.
    pub fn is_between_requests(&self) -> bool {
        matches!(self.state, ReadState::Head)
    }

    /// Requests whose heads were read so far.
    pub fn requests(&self) -> u32 {
        self.requests
    }

    /// Stops after the current request (the server is closing): the next head is not read.
    pub fn stop_after_current(&mut self) {
        self.keep_alive = false;
        if matches!(self.state, ReadState::Head) {
            self.state = ReadState::Done;
        }
    }

    /// Consumes from `input` (the bytes received and not yet consumed). Header fields of a head
    /// go to `headers`. Call again with the remaining input until `NeedMore`.
    pub fn step<'a>(&mut self, input: &'a [u8], headers: &mut Vec<HeaderSpan>) -> Step<'a> {
        match &mut self.state {
            ReadState::Done => Step::Done,
            ReadState::Head => {
                if input.is_empty() {
                    return Step::NeedMore;
                }
                match parse_request(input, &self.limits, headers) {
                    Ok(Parse::Partial) => Step::NeedMore,
                    Ok(Parse::Complete(head, consumed)) => self.head_parsed(head, consumed),
                    Err(e) => self.refuse(e),
                }
            }
            ReadState::FixedBody { remaining } => {
                if input.is_empty() {
                    return Step::NeedMore;
                }
                let n = (input.len() as u64).min(*remaining) as usize;
                *remaining -= n as u64;
                let finished = *remaining == 0;
                if finished {
                    self.body_finished();
                }
                Step::Body {
                    data: &input[..n],
                    consumed: n,
                    finished,
                }
            }
            ReadState::ChunkedBody(decoder) => {
                let decoded = decoder.decode(input);
                match decoded {
                    Err(e) => self.refuse(e),
                    Ok(d) if d.done => {
                        self.body_finished();
                        Step::Body {
                            data: d.data,
                            consumed: d.consumed,
                            finished: true,
                        }
                    }
                    Ok(d) if d.consumed == 0 => Step::NeedMore,
                    Ok(d) => Step::Body {
                        data: d.data,
                        consumed: d.consumed,
                        finished: false,
                    },
                }
            }
        }
    }

    /// Transition: a whole head arrived.
    fn head_parsed(&mut self, head: RequestHead, consumed: usize) -> Step<'static> {
        self.requests += 1;
        let limit_reached = self.max_requests != 0 && self.requests >= self.max_requests;
        self.keep_alive = head.keep_alive && !limit_reached;
        let (state, body) = match head.framing {
            BodyFraming::None => (self.after_request(), false),
            BodyFraming::ContentLength(n) if n > self.max_body => {
                return self.refuse(Error::new(ErrorKind::BodyTooLarge, "body too large"));
            }
            BodyFraming::ContentLength(n) => (ReadState::FixedBody { remaining: n }, true),
            BodyFraming::Chunked => (
                ReadState::ChunkedBody(ChunkedDecoder::new(self.max_body)),
                true,
            ),
        };
        self.state = state;
        Step::Head {
            head,
            consumed,
            body,
            last: !self.keep_alive,
        }
    }

    /// Transition: the current request's body is complete.
    fn body_finished(&mut self) {
        self.state = self.after_request();
    }

    /// The state after a complete request: the next head, or done.
    fn after_request(&self) -> ReadState {
        if self.keep_alive {
            ReadState::Head
        } else {
            ReadState::Done
        }
    }

    /// Transition: the input was refused; nothing more is read.
    fn refuse(&mut self, e: Error) -> Step<'static> {
        self.state = ReadState::Done;
        self.keep_alive = false;
        Step::Refused(e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Runs a connection over `input` fed in pieces of `piece` bytes; returns a trace.
    fn trace(input: &[u8], piece: usize, max_body: u64, max_requests: u32) -> Vec<String> {
        let mut conn = ServerConn::new(Limits::default(), max_body, max_requests);
        let mut headers = Vec::new();
        let mut buf: Vec<u8> = Vec::new();
        let mut out = Vec::new();
        let mut body = Vec::new();
        for chunk in input.chunks(piece.max(1)) {
            buf.extend_from_slice(chunk);
            loop {
                match conn.step(&buf, &mut headers) {
                    Step::NeedMore => break,
                    Step::Done => {
                        out.push("done".to_string());
                        return out;
                    }
                    Step::Refused(e) => {
                        out.push(format!("refused {}", e.status()));
                        return out;
                    }
                    Step::Head {
                        head,
                        consumed,
                        body: has_body,
                        last,
                    } => {
                        let target = String::from_utf8_lossy(head.target.of(&buf)).into_owned();
                        out.push(format!("head {target} body={has_body} last={last}"));
                        buf.drain(..consumed);
                    }
                    Step::Body {
                        data,
                        consumed,
                        finished,
                    } => {
                        body.extend_from_slice(data);
                        buf.drain(..consumed);
                        if finished {
                            out.push(format!("body {}", String::from_utf8_lossy(&body)));
                            body.clear();
                        }
                    }
                }
            }
        }
        out
    }

    #[test]
    fn sequences_in_any_split() {
        let input: &[u8] = b"GET /a HTTP/1.1\r\nHost: h\r\n\r\n\
            POST /b HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nhello\
            POST /c HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n3;x=y\r\nabc\r\n2\r\nde\r\n0\r\nT: 1\r\n\r\n\
            GET /d HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n\
            GET /ignored HTTP/1.1\r\nHost: h\r\n\r\n";
        let want = [
            "head /a body=false last=false",
            "head /b body=true last=false",
            "body hello",
            "head /c body=true last=false",
            "body abcde",
            "head /d body=false last=true",
            "done",
        ];
        for piece in [1, 2, 3, 7, 64, input.len()] {
            assert_eq!(trace(input, piece, 1 << 20, 0), want, "piece {piece}");
        }
    }

    #[test]
    fn refusals_table() {
        let table: &[(&[u8], &str)] = &[
            (
                b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 11\r\n\r\n",
                "refused 413",
            ),
            (
                b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\nb\r\n",
                "refused 413",
            ),
            (
                b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n3\nabc",
                "refused 400",
            ),
            (b"GET / HTTP/1.1\r\n\r\n", "refused 400"),
            (b"\x00GET / HTTP/1.1\r\n\r\n", "refused 400"),
        ];
        for (input, want) in table {
            let t = trace(input, input.len(), 10, 0);
            assert_eq!(t.last().map(String::as_str), Some(*want), "{t:?}");
        }
    }

    #[test]
    fn request_limit_makes_the_last_one_close() {
        let one = b"GET / HTTP/1.1\r\nHost: h\r\n\r\n";
        let input = [one.as_slice(), one, one].concat();
        assert_eq!(
            trace(&input, input.len(), 0, 2),
            [
                "head / body=false last=false",
                "head / body=false last=true",
                "done"
            ]
        );
    }

    #[test]
    fn stopping_between_requests_reads_nothing_more() {
        let mut conn = ServerConn::new(Limits::default(), 0, 0);
        conn.stop_after_current();
        assert_eq!(
            conn.step(b"GET / HTTP/1.1\r\nHost: h\r\n\r\n", &mut Vec::new()),
            Step::Done
        );
    }
}
