//! Strict `Transfer-Encoding: chunked` decoding (RFC 9112 §7.1). httparse's chunk-size parser
//! accepts bare LF and loose sizes; a server that is lenient where its proxy is strict (or the
//! reverse) can be smuggled through, so this decoder accepts CRLF only, hex sizes without
//! overflow, chunk extensions exactly as §7.1.1 writes them (`;name`, `;name=token`,
//! `;name="quoted"`), bounded extensions and trailers, and a body no larger than its limit.
//!
//! Whitespace in a chunk line is refused, also the "bad whitespace" (BWS) that §7.1.1 allows
//! around `;` and `=`: llhttp (Node's parser) refuses it too, and no sender is allowed to make
//! it, so accepting it would only widen the gap a smuggler needs.

use crate::error::{Error, ErrorKind};
use crate::response::is_tchar;

/// Longest chunk extension accepted (bytes after `;` up to CRLF).
pub const MAX_EXTENSION: usize = 4 * 1024;
/// Largest trailer section accepted.
pub const MAX_TRAILERS: usize = 8 * 1024;
/// Hex digits in a chunk size: 16 fill a u64.
const MAX_SIZE_DIGITS: u8 = 16;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Reading hex digits of a chunk size.
    Size,
    /// After `;`: the first byte of an extension name.
    ExtName,
    /// Inside an extension name.
    ExtNameMore,
    /// After `=`: the first byte of an extension value.
    ExtValue,
    /// Inside a token extension value.
    ExtToken,
    /// Inside a quoted extension value.
    ExtQuoted,
    /// After a backslash inside a quoted value.
    ExtQuotedPair,
    /// After the closing quote: `;` or CR must follow.
    ExtAfterQuoted,
    /// CR seen after the size line: LF must follow.
    SizeLf,
    /// Chunk data.
    Data,
    /// After data: CR must follow.
    DataCr,
    /// After data's CR: LF must follow.
    DataLf,
    /// At the start of a trailer line (or of the final CRLF).
    TrailerStart,
    /// Inside a trailer line.
    TrailerLine,
    /// CR seen in a trailer line.
    TrailerLf,
    /// CR seen at the start of a line after the last chunk: the final LF must follow.
    EndLf,
    /// The body is complete.
    Done,
}

/// What one call to [`ChunkedDecoder::decode`] produced.
#[derive(Debug, PartialEq, Eq)]
pub struct Decoded<'a> {
    /// Bytes of the input used.
    pub consumed: usize,
    /// Body bytes found (a slice of the input; may be empty).
    pub data: &'a [u8],
    /// The body is complete (the last chunk and trailers were read).
    pub done: bool,
}

/// Decodes one chunked body, fed in pieces as they arrive.
#[derive(Debug, Clone)]
pub struct ChunkedDecoder {
    state: State,
    /// Bytes left in the current chunk (or the size being read).
    size: u64,
    digits: u8,
    ext_len: usize,
    trailer_len: usize,
    total: u64,
    max_body: u64,
}

impl ChunkedDecoder {
    /// A decoder for a body of at most `max_body` bytes (413 beyond).
    pub fn new(max_body: u64) -> ChunkedDecoder {
        ChunkedDecoder {
            state: State::Size,
            size: 0,
            digits: 0,
            ext_len: 0,
            trailer_len: 0,
            total: 0,
            max_body,
        }
    }

    /// True once the whole body was read.
    pub fn is_done(&self) -> bool {
        self.state == State::Done
    }

    /// Body bytes decoded so far.
    pub fn total(&self) -> u64 {
        self.total
    }

    /// Consumes from `input` until it yields body bytes, runs out, or the body ends. Call again
    /// with the rest of the input while `consumed > 0` and not `done`.
    pub fn decode<'a>(&mut self, input: &'a [u8]) -> Result<Decoded<'a>, Error> {
        let mut i = 0;
        while i < input.len() {
            if self.state == State::Data {
                let n = (input.len() - i).min(usize::try_from(self.size).unwrap_or(usize::MAX));
                let data = &input[i..i + n];
                self.size -= n as u64;
                self.total += n as u64;
                if self.total > self.max_body {
                    return Err(Error::new(
                        ErrorKind::BodyTooLarge,
                        "chunked body too large",
                    ));
                }
                if self.size == 0 {
                    self.state = State::DataCr;
                }
                return Ok(Decoded {
                    consumed: i + n,
                    data,
                    done: false,
                });
            }
            let b = input[i];
            i += 1;
            self.step(b)?;
            if self.state == State::Done {
                return Ok(Decoded {
                    consumed: i,
                    data: &[],
                    done: true,
                });
            }
        }
        Ok(Decoded {
            consumed: i,
            data: &[],
            done: self.state == State::Done,
        })
    }

    fn step(&mut self, b: u8) -> Result<(), Error> {
        let bad = |reason| Err(Error::malformed(reason));
        match self.state {
            State::Size => match b {
                b'0'..=b'9' | b'a'..=b'f' | b'A'..=b'F' => {
                    if self.digits == MAX_SIZE_DIGITS {
                        return bad("chunk size too long");
                    }
                    let v = (b as char).to_digit(16).unwrap_or(0);
                    self.size = (self.size << 4) | u64::from(v);
                    self.digits += 1;
                }
                _ if self.digits == 0 => return bad("missing chunk size"),
                b';' => self.state = State::ExtName,
                b'\r' => self.state = State::SizeLf,
                _ => return bad("invalid chunk size line"),
            },
            State::ExtName => {
                if !is_tchar(b) {
                    return bad("chunk extension without a name");
                }
                self.ext_byte(State::ExtNameMore)?;
            }
            State::ExtNameMore => match b {
                b';' => self.ext_byte(State::ExtName)?,
                b'=' => self.ext_byte(State::ExtValue)?,
                b'\r' => self.state = State::SizeLf,
                _ if is_tchar(b) => self.ext_byte(State::ExtNameMore)?,
                _ => return bad("invalid byte in a chunk extension name"),
            },
            State::ExtValue => match b {
                b'"' => self.ext_byte(State::ExtQuoted)?,
                _ if is_tchar(b) => self.ext_byte(State::ExtToken)?,
                _ => return bad("chunk extension without a value after '='"),
            },
            State::ExtToken => match b {
                b';' => self.ext_byte(State::ExtName)?,
                b'\r' => self.state = State::SizeLf,
                _ if is_tchar(b) => self.ext_byte(State::ExtToken)?,
                _ => return bad("invalid byte in a chunk extension value"),
            },
            State::ExtQuoted => match b {
                b'"' => self.ext_byte(State::ExtAfterQuoted)?,
                b'\\' => self.ext_byte(State::ExtQuotedPair)?,
                b'\t' | b' ' | 0x21..=0x7e | 0x80..=0xff => self.ext_byte(State::ExtQuoted)?,
                // A CR (or any control) inside quotes: the quote never closed.
                _ => return bad("unbalanced quote in a chunk extension"),
            },
            State::ExtQuotedPair => match b {
                b'\t' | b' ' | 0x21..=0x7e | 0x80..=0xff => self.ext_byte(State::ExtQuoted)?,
                _ => return bad("invalid escape in a chunk extension"),
            },
            State::ExtAfterQuoted => match b {
                b';' => self.ext_byte(State::ExtName)?,
                b'\r' => self.state = State::SizeLf,
                _ => return bad("invalid byte after a quoted chunk extension"),
            },
            State::SizeLf => {
                if b != b'\n' {
                    return bad("chunk size line not ended by CRLF");
                }
                self.ext_len = 0;
                self.digits = 0;
                if self.total.saturating_add(self.size) > self.max_body {
                    // Refuse at the size line, before any of the oversized chunk is buffered.
                    return Err(Error::new(
                        ErrorKind::BodyTooLarge,
                        "chunked body too large",
                    ));
                }
                self.state = if self.size == 0 {
                    State::TrailerStart
                } else {
                    State::Data
                };
            }
            // `decode` takes data bytes in bulk and never passes one here.
            State::Data => return bad("chunk data out of place"),
            State::DataCr => {
                if b != b'\r' {
                    return bad("chunk data not followed by CRLF");
                }
                self.state = State::DataLf;
            }
            State::DataLf => {
                if b != b'\n' {
                    return bad("chunk data not followed by CRLF");
                }
                self.size = 0;
                self.state = State::Size;
            }
            State::TrailerStart => match b {
                b'\r' => self.state = State::EndLf,
                b'\n' => return bad("bare LF in trailers"),
                _ => self.trailer_byte(State::TrailerLine)?,
            },
            State::TrailerLine => match b {
                b'\r' => self.state = State::TrailerLf,
                b'\n' => return bad("bare LF in trailers"),
                _ => self.trailer_byte(State::TrailerLine)?,
            },
            State::TrailerLf => {
                if b != b'\n' {
                    return bad("trailer line not ended by CRLF");
                }
                self.state = State::TrailerStart;
            }
            State::EndLf => {
                if b != b'\n' {
                    return bad("chunked body not ended by CRLF");
                }
                self.state = State::Done;
            }
            State::Done => {}
        }
        Ok(())
    }

    /// One byte of a chunk extension: counted against its bound, then `next`.
    fn ext_byte(&mut self, next: State) -> Result<(), Error> {
        self.ext_len += 1;
        if self.ext_len > MAX_EXTENSION {
            return Err(Error::malformed("chunk extension too long"));
        }
        self.state = next;
        Ok(())
    }

    fn trailer_byte(&mut self, next: State) -> Result<(), Error> {
        self.trailer_len += 1;
        if self.trailer_len > MAX_TRAILERS {
            return Err(Error::new(ErrorKind::HeadTooLarge, "trailers too large"));
        }
        self.state = next;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Decodes `input` fed in pieces of `step` bytes; returns the body and whether it ended.
    fn run(input: &[u8], step: usize) -> Result<(Vec<u8>, bool, usize), Error> {
        let mut dec = ChunkedDecoder::new(1 << 20);
        let mut body = Vec::new();
        let mut used = 0;
        for piece in input.chunks(step.max(1)) {
            let mut rest = piece;
            while !rest.is_empty() && !dec.is_done() {
                let d = dec.decode(rest)?;
                body.extend_from_slice(d.data);
                used += d.consumed;
                rest = &rest[d.consumed..];
            }
        }
        Ok((body, dec.is_done(), used))
    }

    #[test]
    fn valid_bodies_in_any_split() {
        let table: &[(&[u8], &[u8])] = &[
            (b"5\r\nhello\r\n0\r\n\r\n", b"hello"),
            (b"5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n", b"hello world"),
            (b"A\r\n0123456789\r\n0\r\n\r\n", b"0123456789"),
            (b"5;name=value\r\nhello\r\n0;last\r\n\r\n", b"hello"),
            (b"5;a=b;c\r\nhello\r\n0\r\n\r\n", b"hello"),
            (b"5;a=\"q;\\\"uoted\"\r\nhello\r\n0\r\n\r\n", b"hello"),
            (b"5\r\nhello\r\n0\r\nX-Trailer: 1\r\nY: 2\r\n\r\n", b"hello"),
            (b"0\r\n\r\n", b""),
            (b"000005\r\nhello\r\n0\r\n\r\n", b"hello"),
        ];
        for (input, body) in table {
            for step in [1, 2, 3, 7, input.len()] {
                let (got, done, used) =
                    run(input, step).unwrap_or_else(|e| panic!("{e} for {input:?}"));
                assert_eq!(&got, body, "step {step}");
                assert!(done);
                assert_eq!(used, input.len());
            }
        }
    }

    #[test]
    fn stops_at_the_end_of_the_body() {
        let mut dec = ChunkedDecoder::new(100);
        let input = b"3\r\nabc\r\n0\r\n\r\nGET / HTTP/1.1\r\n";
        let d = dec.decode(input).unwrap();
        assert_eq!(d.data, b"abc");
        let rest = &input[d.consumed..];
        let d2 = dec.decode(rest).unwrap();
        assert!(d2.done);
        assert_eq!(
            &rest[d2.consumed..],
            b"GET / HTTP/1.1\r\n",
            "pipelined bytes untouched"
        );
    }

    #[test]
    fn malformed_bodies_table() {
        let table: &[&[u8]] = &[
            b"5\nhello\r\n0\r\n\r\n",          // bare LF after size
            b"5\r\nhello\n0\r\n\r\n",          // bare LF after data
            b"5\r\nhelloX\r\n0\r\n\r\n",       // data longer than size
            b"\r\nhello\r\n0\r\n\r\n",         // missing size
            b"-5\r\nhello\r\n0\r\n\r\n",       // sign
            b"0x5\r\nhello\r\n0\r\n\r\n",      // 0x prefix
            b"5 5\r\nhello\r\n0\r\n\r\n",      // space inside the size
            b"11111111111111111\r\n",          // 17 hex digits: overflow
            b"5\r\nhello\r\n0\r\n\n",          // bare LF at the end
            b"5\r\nhello\r\n0\r\nX: 1\n\r\n",  // bare LF in trailers
            b"5;a\x00b\r\nhello\r\n0\r\n\r\n", // NUL in an extension
            b"5 \r\nhello\r\n0\r\n\r\n",       // whitespace after the size
            b"5 ;a\r\nhello\r\n0\r\n\r\n",     // whitespace before ';' (BWS, refused)
            b"5; a\r\nhello\r\n0\r\n\r\n",     // whitespace after ';'
            b"5;\r\nhello\r\n0\r\n\r\n",       // ';' without a name
            b"5;=b\r\nhello\r\n0\r\n\r\n",     // a value without a name
            b"5;a=\r\nhello\r\n0\r\n\r\n",     // '=' without a value
            b"5;a=\"b\r\nhello\r\n0\r\n\r\n",  // unbalanced quote
            b"5;a\"=b\r\nhello\r\n0\r\n\r\n",  // a quote inside a name
            b"5;a=b c\r\nhello\r\n0\r\n\r\n",  // a space inside a token value
        ];
        for input in table {
            assert!(
                run(input, input.len()).is_err(),
                "accepted {:?}",
                String::from_utf8_lossy(input)
            );
        }
    }

    #[test]
    fn body_limit_gives_413() {
        let mut dec = ChunkedDecoder::new(4);
        let err = dec.decode(b"5\r\nhello\r\n").unwrap_err();
        assert_eq!(err.status(), 413);
    }

    #[test]
    fn oversized_extension_and_trailers_are_refused() {
        let mut long_ext = b"5;".to_vec();
        long_ext.extend(std::iter::repeat_n(b'a', MAX_EXTENSION + 1));
        assert!(run(&long_ext, long_ext.len()).is_err());
        let mut long_trailer = b"0\r\nX: ".to_vec();
        long_trailer.extend(std::iter::repeat_n(b'a', MAX_TRAILERS + 1));
        assert_eq!(run(&long_trailer, 100).unwrap_err().status(), 431);
    }
}
