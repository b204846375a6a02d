//! The write queue of a socket: an ordered list of byte chunks with a read offset into the first,
//! in libevent's words (`add`, `drain`, `peek`). Chunks are kept as written (no coalescing copy);
//! `peek_slices` hands them to `writev`.

use std::collections::VecDeque;
use std::io::IoSlice;

/// Largest buffer capacity a connection keeps between uses: a big head, body, response or
/// pipelined burst grows a buffer, and a keep-alive connection should not hold that memory for
/// its life.
#[cfg_attr(not(feature = "http"), allow(dead_code))] // used by the HTTP layers
pub(crate) const KEEP_BUFFER_MAX: usize = 64 * 1024;

/// How many chunks one `writev` takes at most: enough to empty a typical queue in one call, small
/// enough for the stack (Linux's IOV_MAX is 1024).
pub(crate) const MAX_IOVECS: usize = 64;

/// Bytes queued for a socket, not yet handed to the kernel. One pointer while empty: an idle
/// socket holds no buffer at all.
#[derive(Default)]
pub(crate) struct WriteQueue {
    inner: Option<Box<Queued>>,
}

#[derive(Default)]
struct Queued {
    chunks: VecDeque<Vec<u8>>,
    /// Bytes of `chunks[0]` already written.
    head: usize,
    len: usize,
}

impl WriteQueue {
    /// An empty queue; allocates nothing until the first `add`.
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends a chunk (empty chunks are ignored).
    pub fn add(&mut self, data: Vec<u8>) {
        if data.is_empty() {
            return;
        }
        let q = self.inner.get_or_insert_with(Box::default);
        q.len += data.len();
        q.chunks.push_back(data);
    }

    /// Bytes queued.
    pub fn len(&self) -> usize {
        self.inner.as_ref().map_or(0, |q| q.len)
    }

    /// True when nothing is queued.
    pub fn is_empty(&self) -> bool {
        self.inner.is_none()
    }

    /// Fills `out` with up to `out.len()` slices of queued data, in order; returns how many.
    pub fn peek_slices<'a>(&'a self, out: &mut [IoSlice<'a>]) -> usize {
        let Some(q) = self.inner.as_ref() else {
            return 0;
        };
        let mut n = 0;
        for (i, chunk) in q.chunks.iter().enumerate() {
            if n == out.len() {
                break;
            }
            let start = if i == 0 { q.head } else { 0 };
            out[n] = IoSlice::new(&chunk[start..]);
            n += 1;
        }
        n
    }

    /// Removes `n` bytes from the front (what the kernel accepted).
    pub fn drain(&mut self, mut n: usize) {
        let Some(q) = self.inner.as_mut() else {
            return;
        };
        debug_assert!(n <= q.len);
        n = n.min(q.len);
        q.len -= n;
        while n > 0 {
            let Some(front) = q.chunks.front() else {
                break;
            };
            let left = front.len() - q.head;
            if n >= left {
                n -= left;
                q.head = 0;
                q.chunks.pop_front();
            } else {
                q.head += n;
                n = 0;
            }
        }
        if q.len == 0 {
            // Give the memory back: an idle socket holds no buffer.
            self.inner = None;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flatten(q: &WriteQueue) -> Vec<u8> {
        let mut slices = [IoSlice::new(&[]); MAX_IOVECS];
        let n = q.peek_slices(&mut slices);
        slices[..n].iter().flat_map(|s| s.iter().copied()).collect()
    }

    #[test]
    fn drain_across_chunks_keeps_order() {
        let mut q = WriteQueue::new();
        q.add(b"hello ".to_vec());
        q.add(Vec::new());
        q.add(b"world".to_vec());
        assert_eq!(q.len(), 11);
        q.drain(3);
        assert_eq!(flatten(&q), b"lo world");
        q.drain(4);
        assert_eq!(flatten(&q), b"orld");
        q.drain(4);
        assert!(q.is_empty());
        assert_eq!(flatten(&q), b"");
    }

    #[test]
    fn peek_is_bounded_by_output() {
        let mut q = WriteQueue::new();
        for i in 0..100u8 {
            q.add(vec![i]);
        }
        let mut slices = [IoSlice::new(&[]); MAX_IOVECS];
        assert_eq!(q.peek_slices(&mut slices), MAX_IOVECS);
    }
}
