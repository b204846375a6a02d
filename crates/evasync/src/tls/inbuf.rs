//! Ciphertext a connection holds between reads: the part of a record that has not fully
//! arrived, or a ClientHello being gathered. Most reads hold complete records and are processed
//! straight from the reactor's scratch buffer, so most connections hold nothing here; the
//! memory is given back as soon as it empties, which keeps an idle TLS connection small.

/// The most a connection may hold: rustls joins handshake messages of up to 64 KiB, plus a
/// record and the header of the next.
pub(crate) const MAX_HELD: usize = 0x10000 + 16 * 1024 + 2048;

/// Bytes waiting to be processed: `buf[start..end]`. `buf` is fully initialised so that reads
/// can go straight into its tail.
#[derive(Default)]
pub(crate) struct InBuf {
    buf: Vec<u8>,
    start: usize,
    end: usize,
}

impl InBuf {
    pub fn is_empty(&self) -> bool {
        self.start == self.end
    }

    pub fn len(&self) -> usize {
        self.end - self.start
    }

    /// The bytes held.
    pub fn held(&mut self) -> &mut [u8] {
        &mut self.buf[self.start..self.end]
    }

    /// Drops `n` processed bytes from the front; gives the memory back once nothing is held.
    pub fn consume(&mut self, n: usize) {
        self.start = (self.start + n).min(self.end);
        if self.start == self.end {
            *self = InBuf::default();
        }
    }

    /// Appends bytes. False when that would exceed [`MAX_HELD`].
    pub fn append(&mut self, data: &[u8]) -> bool {
        match self.spare(data.len()) {
            Some(tail) => {
                tail[..data.len()].copy_from_slice(data);
                self.end += data.len();
                true
            }
            None => false,
        }
    }

    /// Room for at least `want` more bytes at the tail (moving what is held to the front or
    /// growing as needed), or None when that would exceed [`MAX_HELD`].
    pub fn spare(&mut self, want: usize) -> Option<&mut [u8]> {
        let held = self.len();
        if held + want > MAX_HELD {
            return None;
        }
        if self.buf.len() - self.end < want {
            if self.start > 0 {
                self.buf.copy_within(self.start..self.end, 0);
                self.start = 0;
                self.end = held;
            }
            if self.buf.len() < held + want {
                let size = (held + want).max(self.buf.len() * 2).clamp(4096, MAX_HELD);
                self.buf.resize(size, 0);
            }
        }
        Some(&mut self.buf[self.end..])
    }

    /// Records that `n` bytes were written into the slice [`InBuf::spare`] returned.
    pub fn filled(&mut self, n: usize) {
        self.end = (self.end + n).min(self.buf.len());
    }

    /// Bytes of memory held (for tests of idle size).
    #[cfg(test)]
    pub fn capacity(&self) -> usize {
        self.buf.capacity()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn holds_compacts_and_lets_go() {
        let mut b = InBuf::default();
        assert!(b.append(b"hello world"));
        b.consume(6);
        assert_eq!(b.held(), b"world");
        let tail = b.spare(10_000).unwrap();
        tail[..3].copy_from_slice(b"!!!");
        b.filled(3);
        assert_eq!(b.held(), b"world!!!");
        b.consume(8);
        assert!(b.is_empty());
        assert_eq!(b.capacity(), 0, "an empty buffer holds no memory");
        assert!(b.spare(MAX_HELD + 1).is_none());
    }
}
