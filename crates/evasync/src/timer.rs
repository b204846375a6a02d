//! One deadline structure for everything that waits on time: user delays and intervals, socket
//! read/write/connect timeouts, accept retries.
//!
//! A binary heap ordered by `(deadline, sequence)`: equal deadlines come out in the order they
//! were scheduled, which is what `delay` promises. Cancellation is lazy: an entry carries a key
//! and its owner decides on expiry whether the key is still current (a generation number or a
//! re-computed deadline). That keeps cancel and re-arm O(1) and the heap free of back-pointers;
//! stale entries cost one pop each.

use std::cmp::Ordering;
use std::collections::BinaryHeap;
use std::time::Instant;

struct Entry<K> {
    deadline: Instant,
    seq: u64,
    key: K,
}

impl<K> PartialEq for Entry<K> {
    fn eq(&self, other: &Self) -> bool {
        self.deadline == other.deadline && self.seq == other.seq
    }
}
impl<K> Eq for Entry<K> {}
impl<K> PartialOrd for Entry<K> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl<K> Ord for Entry<K> {
    /// Reversed, so that `BinaryHeap` (a max-heap) pops the earliest deadline first.
    fn cmp(&self, other: &Self) -> Ordering {
        other
            .deadline
            .cmp(&self.deadline)
            .then_with(|| other.seq.cmp(&self.seq))
    }
}

/// A min-queue of deadlines carrying keys, FIFO among equal deadlines.
pub(crate) struct TimerQueue<K> {
    heap: BinaryHeap<Entry<K>>,
    seq: u64,
}

impl<K> Default for TimerQueue<K> {
    fn default() -> Self {
        Self::new()
    }
}

impl<K> TimerQueue<K> {
    /// An empty queue.
    pub fn new() -> Self {
        TimerQueue {
            heap: BinaryHeap::new(),
            seq: 0,
        }
    }

    /// Schedules `key` for `deadline`.
    pub fn schedule(&mut self, deadline: Instant, key: K) {
        self.seq += 1;
        self.heap.push(Entry {
            deadline,
            seq: self.seq,
            key,
        });
    }

    /// The earliest deadline, if any.
    pub fn next_deadline(&self) -> Option<Instant> {
        self.heap.peek().map(|e| e.deadline)
    }

    /// Removes and returns the earliest entry whose deadline is at or before `now`.
    #[cfg(test)]
    pub fn pop_expired(&mut self, now: Instant) -> Option<(Instant, K)> {
        self.pop_expired_before(now, u64::MAX)
    }

    /// A mark for [`TimerQueue::pop_expired_before`]: entries scheduled after this call come
    /// after it.
    pub fn mark(&self) -> u64 {
        self.seq
    }

    /// As [`TimerQueue::pop_expired`], but only entries scheduled up to `mark`: a pass that
    /// fires timers never fires what it scheduled itself, so an owner that re-arms a deadline
    /// already past cannot keep one pass going forever (it waits for the next turn).
    pub fn pop_expired_before(&mut self, now: Instant, mark: u64) -> Option<(Instant, K)> {
        let top = self.heap.peek()?;
        if top.deadline <= now && top.seq <= mark {
            self.heap.pop().map(|e| (e.deadline, e.key))
        } else {
            None
        }
    }

    /// Entries held, stale ones included.
    pub fn len(&self) -> usize {
        self.heap.len()
    }

    /// True when no entry is held.
    #[cfg(test)]
    pub fn is_empty(&self) -> bool {
        self.heap.is_empty()
    }

    /// Drops every entry.
    pub fn clear(&mut self) {
        self.heap.clear();
    }

    /// Keeps only the entries for which `live` says yes; used when stale entries pile up.
    pub fn retain(&mut self, mut live: impl FnMut(&K) -> bool) {
        self.heap.retain(|e| live(&e.key));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn earliest_deadline_first() {
        let t0 = Instant::now();
        let mut q = TimerQueue::new();
        q.schedule(t0 + Duration::from_millis(30), 3);
        q.schedule(t0 + Duration::from_millis(10), 1);
        q.schedule(t0 + Duration::from_millis(20), 2);
        let later = t0 + Duration::from_secs(1);
        let order: Vec<_> = std::iter::from_fn(|| q.pop_expired(later).map(|e| e.1)).collect();
        assert_eq!(order, [1, 2, 3]);
    }

    #[test]
    fn equal_deadlines_keep_schedule_order() {
        let t = Instant::now();
        let mut q = TimerQueue::new();
        for k in 0..1000 {
            q.schedule(t, k);
        }
        let order: Vec<_> = std::iter::from_fn(|| q.pop_expired(t).map(|e| e.1)).collect();
        assert_eq!(order, (0..1000).collect::<Vec<_>>());
    }

    #[test]
    fn nothing_pops_before_its_deadline() {
        let t0 = Instant::now();
        let mut q = TimerQueue::new();
        q.schedule(t0 + Duration::from_millis(50), ());
        assert!(q.pop_expired(t0).is_none());
        assert_eq!(q.next_deadline(), Some(t0 + Duration::from_millis(50)));
        assert!(q.pop_expired(t0 + Duration::from_millis(50)).is_some());
        assert!(q.is_empty());
    }

    #[test]
    fn a_pass_does_not_fire_what_it_scheduled() {
        let t = Instant::now();
        let mut q = TimerQueue::new();
        q.schedule(t, 1);
        let mark = q.mark();
        let mut fired = Vec::new();
        while let Some((_, k)) = q.pop_expired_before(t, mark) {
            fired.push(k);
            // An owner re-arming at a deadline already past.
            q.schedule(t, k + 1);
        }
        assert_eq!(fired, [1]);
        assert_eq!(q.pop_expired(t).map(|e| e.1), Some(2), "it fires next pass");
    }

    #[test]
    fn retain_cancels_in_bulk() {
        let t = Instant::now();
        let mut q = TimerQueue::new();
        for k in 0..10 {
            q.schedule(t, k);
        }
        q.retain(|k| k % 2 == 0);
        let order: Vec<_> = std::iter::from_fn(|| q.pop_expired(t).map(|e| e.1)).collect();
        assert_eq!(order, [0, 2, 4, 6, 8]);
    }

    #[test]
    fn hundred_thousand_timers_fire_in_order() {
        let t0 = Instant::now();
        let mut q = TimerQueue::new();
        // A scattered but deterministic set of deadlines, many of them equal.
        for k in 0u64..100_000 {
            let ms = (k * 7919) % 1000;
            q.schedule(t0 + Duration::from_millis(ms), (ms, k));
        }
        let end = t0 + Duration::from_secs(2);
        let mut last = (0u64, 0u64);
        let mut n = 0;
        while let Some((_, key)) = q.pop_expired(end) {
            if key.0 == last.0 {
                assert!(key.1 > last.1 || n == 0, "FIFO among equal deadlines");
            } else {
                assert!(key.0 > last.0, "deadlines ascend");
            }
            last = key;
            n += 1;
        }
        assert_eq!(n, 100_000);
    }
}
