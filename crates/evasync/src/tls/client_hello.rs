//! Reads the server name (SNI) out of a ClientHello before any TLS state exists, sans-IO.
//!
//! A server needs the name for two things rustls's unbuffered server connection does not
//! offer: choosing the certificate through an application callback that may answer later (the
//! connection can only be made once its configuration is known), and reporting the name the
//! client asked for. The scan reads records and the handshake header, skips to the extensions
//! and returns the `host_name` entry. Anything malformed is "not a hello": the bytes then go to
//! rustls, which says precisely what is wrong and sends the alert.

/// The largest ClientHello waited for; rustls refuses handshake messages above 64 KiB too.
const MAX_HELLO: usize = 0xffff;

/// What the first bytes of a connection say.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum HelloScan {
    /// The ClientHello is not complete yet: read more.
    Incomplete,
    /// A complete ClientHello.
    Hello(Hello),
    /// Not a well-formed ClientHello (rustls will report what it is).
    NotHello,
}

/// What a server wants to know from a ClientHello before it makes its connection.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Hello {
    /// The server name asked for (lower-case).
    pub name: Option<String>,
    /// The client offers to resume a session (a `pre_shared_key` extension).
    pub offers_psk: bool,
}

/// Scans the bytes a client sent first.
pub(crate) fn scan(bytes: &[u8]) -> HelloScan {
    let mut message = Vec::new();
    let mut rest = bytes;
    // Join the payloads of handshake records until the first handshake message is whole.
    loop {
        if rest.len() < 5 {
            return HelloScan::Incomplete;
        }
        if rest[0] != 0x16 || rest[1] != 0x03 {
            return HelloScan::NotHello;
        }
        let len = usize::from(u16::from_be_bytes([rest[3], rest[4]]));
        if len == 0 || len > 16384 + 256 {
            return HelloScan::NotHello;
        }
        let Some(payload) = rest.get(5..5 + len) else {
            return HelloScan::Incomplete;
        };
        message.extend_from_slice(payload);
        rest = &rest[5 + len..];
        if message.len() >= 4 {
            if message[0] != 1 {
                return HelloScan::NotHello;
            }
            let need = 4 + u32::from_be_bytes([0, message[1], message[2], message[3]]) as usize;
            if need > MAX_HELLO {
                return HelloScan::NotHello;
            }
            if message.len() >= need {
                return match hello(&message[4..need]) {
                    Some(h) => HelloScan::Hello(h),
                    None => HelloScan::NotHello,
                };
            }
        }
    }
}

/// A cursor over a ClientHello body; every read is bounds-checked.
struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        if self.0.len() < n {
            return None;
        }
        let (head, tail) = self.0.split_at(n);
        self.0 = tail;
        Some(head)
    }

    fn u8(&mut self) -> Option<usize> {
        self.take(1).map(|b| usize::from(b[0]))
    }

    fn u16(&mut self) -> Option<usize> {
        self.take(2)
            .map(|b| usize::from(u16::from_be_bytes([b[0], b[1]])))
    }

    /// A vector with a one- or two-byte length prefix.
    fn vec8(&mut self) -> Option<&'a [u8]> {
        let n = self.u8()?;
        self.take(n)
    }

    fn vec16(&mut self) -> Option<&'a [u8]> {
        let n = self.u16()?;
        self.take(n)
    }
}

/// The server name and the resumption offer of a ClientHello body; None when malformed.
fn hello(body: &[u8]) -> Option<Hello> {
    let mut r = Reader(body);
    r.take(2 + 32)?; // legacy_version, random
    r.vec8()?; // legacy_session_id
    r.vec16()?; // cipher_suites
    r.vec8()?; // legacy_compression_methods
    let mut out = Hello::default();
    if r.0.is_empty() {
        return Some(out); // no extensions at all
    }
    let mut exts = Reader(r.vec16()?);
    while !exts.0.is_empty() {
        let kind = exts.u16()?;
        let data = exts.vec16()?;
        match kind {
            0 => out.name = host_name(data)?,
            41 => out.offers_psk = true,
            _ => {}
        }
    }
    Some(out)
}

/// The `host_name` entry of a server_name extension (`Some(None)`: none; None: malformed).
fn host_name(data: &[u8]) -> Option<Option<String>> {
    let mut list = Reader(Reader(data).vec16()?);
    while !list.0.is_empty() {
        let name_type = list.u8()?;
        let name = list.vec16()?;
        if name_type == 0 {
            let name = std::str::from_utf8(name).ok()?;
            return Some(Some(name.to_ascii_lowercase()));
        }
    }
    Some(None)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A ClientHello with the given extensions, wrapped in one record.
    fn hello(exts: &[u8]) -> Vec<u8> {
        let mut body = vec![3, 3];
        body.extend_from_slice(&[7; 32]);
        body.extend_from_slice(&[0]); // session id
        body.extend_from_slice(&[0, 2, 0x13, 0x01]); // one suite
        body.extend_from_slice(&[1, 0]); // null compression
        body.extend_from_slice(&(exts.len() as u16).to_be_bytes());
        body.extend_from_slice(exts);
        let mut msg = vec![1];
        msg.extend_from_slice(&(body.len() as u32).to_be_bytes()[1..]);
        msg.extend_from_slice(&body);
        let mut rec = vec![0x16, 3, 1];
        rec.extend_from_slice(&(msg.len() as u16).to_be_bytes());
        rec.extend_from_slice(&msg);
        rec
    }

    fn sni(name: &str) -> Vec<u8> {
        let mut entry = vec![0];
        entry.extend_from_slice(&(name.len() as u16).to_be_bytes());
        entry.extend_from_slice(name.as_bytes());
        let mut list = (entry.len() as u16).to_be_bytes().to_vec();
        list.extend_from_slice(&entry);
        let mut ext = vec![0, 0];
        ext.extend_from_slice(&(list.len() as u16).to_be_bytes());
        ext.extend_from_slice(&list);
        ext
    }

    #[test]
    fn finds_the_name_after_other_extensions() {
        let mut exts = vec![0, 0x10, 0, 3, 2, b'h', b'2']; // an unrelated extension first
        exts.extend_from_slice(&sni("Example.COM"));
        let named = |n: &str| {
            HelloScan::Hello(Hello {
                name: Some(n.into()),
                offers_psk: false,
            })
        };
        assert_eq!(scan(&hello(&exts)), named("example.com"));
        assert_eq!(scan(&hello(&[])), HelloScan::Hello(Hello::default()));
        let mut with_psk = sni("a.test");
        with_psk.extend_from_slice(&[0, 41, 0, 0]);
        assert_eq!(
            scan(&hello(&with_psk)),
            HelloScan::Hello(Hello {
                name: Some("a.test".into()),
                offers_psk: true
            })
        );
    }

    #[test]
    fn waits_for_the_whole_hello_and_joins_records() {
        let full = hello(&sni("a.test"));
        for cut in 0..full.len() {
            assert_eq!(scan(&full[..cut]), HelloScan::Incomplete, "cut at {cut}");
        }
        // The same message split over two records.
        let msg = &full[5..];
        let (a, b) = msg.split_at(10);
        let mut two = vec![0x16, 3, 1, 0, a.len() as u8];
        two.extend_from_slice(a);
        two.extend_from_slice(&[0x16, 3, 1]);
        two.extend_from_slice(&(b.len() as u16).to_be_bytes());
        two.extend_from_slice(b);
        assert_eq!(
            scan(&two),
            HelloScan::Hello(Hello {
                name: Some("a.test".into()),
                offers_psk: false
            })
        );
    }

    #[test]
    fn other_bytes_are_not_a_hello() {
        assert_eq!(
            scan(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"),
            HelloScan::NotHello
        );
        let mut bad = hello(&sni("a.test"));
        bad[5] = 2; // ServerHello
        assert_eq!(scan(&bad), HelloScan::NotHello);
        // A length that runs past the message.
        let mut short = hello(&[0, 0, 0, 50, 0]);
        let len = (short.len() - 5) as u16;
        short[3..5].copy_from_slice(&len.to_be_bytes());
        assert_eq!(scan(&short), HelloScan::NotHello);
    }
}
