//! The event queue: a monotone radix heap ordered by (time, scheduling order). Events at equal
//! times pop in the order they were scheduled (FIFO), which makes the run order fully defined.
//!
//! Why a radix heap: a discrete-event simulation never schedules into the past, so every time
//! pushed is at or after the time of the last event popped (the queue asserts it). A radix heap
//! exploits exactly that: entries sit in buckets by the highest bit where their time differs
//! from the last time popped; the earliest entries are in the lowest non-empty bucket, and
//! emptying that bucket moves each of its entries to a strictly lower one. Pushes append to a
//! vector and pops mostly take from a short one, so a queue of ~10^5 events costs a few
//! sequential cache lines per event instead of a root-to-leaf walk through a heap far larger
//! than the caches.
//!
//! FIFO ties need no sequence number in the entries: every bucket is kept in scheduling order.
//! A push appends (it is the latest scheduled), and a bucket is only ever emptied into buckets
//! that are empty at that moment (all lower buckets are), keeping its order. Bucket 0 holds the
//! entries at exactly the last time popped, and pops take its front.

use crate::time::SimTime;
use std::collections::VecDeque;

/// One pending event.
struct Entry<E> {
    at: u64,
    event: E,
}

/// Buckets 1..=64: bucket `b` holds entries whose highest bit of time differing from `last` is
/// bit `b - 1` (bucket 0, the entries at `last`, is `EventQueue::now`).
const BUCKETS: usize = 65;

/// A min-queue of events by time, FIFO among equal times. Monotone: an event may not be pushed
/// earlier than the last one popped.
pub struct EventQueue<E> {
    /// Bucket 0: the entries at exactly `last`, in scheduling order.
    now: VecDeque<Entry<E>>,
    /// Buckets 1..=64 (index 0 unused).
    buckets: Vec<Vec<Entry<E>>>,
    /// Bit `b - 1` set iff bucket `b` (1..=64) is non-empty.
    occupied: u64,
    /// The time of bucket 0: the last event popped, or the next one once settled.
    last: u64,
    len: usize,
    scheduled: u64,
}

impl<E> Default for EventQueue<E> {
    fn default() -> Self {
        Self::new()
    }
}

/// The bucket of time `at` relative to `last` (`at >= last`).
fn bucket(at: u64, last: u64) -> usize {
    (64 - (at ^ last).leading_zeros()) as usize
}

impl<E> EventQueue<E> {
    pub fn new() -> Self {
        EventQueue {
            now: VecDeque::new(),
            buckets: (0..BUCKETS).map(|_| Vec::new()).collect(),
            occupied: 0,
            last: 0,
            len: 0,
            scheduled: 0,
        }
    }

    /// A queue expecting about `n` events at a time in its front bucket, which every event
    /// passes through (the other buckets grow as needed).
    pub fn with_capacity(n: usize) -> Self {
        let mut q = Self::new();
        q.now.reserve(n);
        q
    }

    /// Schedules `event` at `at`, after every event already scheduled at `at`.
    ///
    /// Panics if `at` is earlier than the time of the last event popped, or peeked (the
    /// simulation never schedules into the past; a radix heap cannot order such an entry).
    pub fn push(&mut self, at: SimTime, event: E) {
        let at = at.0;
        assert!(at >= self.last, "event queue: push at {at} is before the last event popped");
        self.scheduled += 1;
        let b = bucket(at, self.last);
        if b == 0 {
            self.now.push_back(Entry { at, event });
        } else {
            self.buckets[b].push(Entry { at, event });
            self.occupied |= 1u64 << (b - 1);
        }
        self.len += 1;
    }

    /// Makes bucket 0 hold the earliest entries; false when the queue is empty.
    fn settle(&mut self) -> bool {
        if !self.now.is_empty() {
            return true;
        }
        if self.occupied == 0 {
            return false;
        }
        let b = self.occupied.trailing_zeros() as usize + 1;
        self.occupied &= !(1u64 << (b - 1));
        let mut items = std::mem::take(&mut self.buckets[b]);
        let min = items.iter().map(|e| e.at).min().expect("an occupied bucket has entries");
        self.last = min;
        for e in items.drain(..) {
            // Every entry of bucket b agrees with the new `last` above bit b - 1: it moves to a
            // lower bucket, which is empty now (b was the lowest occupied), so order is kept.
            let j = bucket(e.at, min);
            if j == 0 {
                self.now.push_back(e);
            } else {
                self.buckets[j].push(e);
                self.occupied |= 1u64 << (j - 1);
            }
        }
        self.buckets[b] = items; // keep the allocation
        true
    }

    pub fn pop(&mut self) -> Option<(SimTime, E)> {
        if !self.settle() {
            return None;
        }
        let top = self.now.pop_front().expect("settled");
        self.len -= 1;
        Some((SimTime(top.at), top.event))
    }

    /// The time of the next event. Settles it first (hence `&mut`): from then on the queue
    /// refuses pushes earlier than that time, as if the event had been popped.
    pub fn peek_time(&mut self) -> Option<SimTime> {
        if !self.settle() {
            return None;
        }
        self.now.front().map(|e| SimTime(e.at))
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Total events ever scheduled.
    pub fn scheduled(&self) -> u64 {
        self.scheduled
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::BTreeMap;

    #[test]
    fn ties_pop_in_fifo_order() {
        let mut q = EventQueue::new();
        q.push(SimTime(5), 'a');
        q.push(SimTime(1), 'b');
        q.push(SimTime(5), 'c');
        q.push(SimTime(1), 'd');
        let order: Vec<char> = std::iter::from_fn(|| q.pop().map(|(_, e)| e)).collect();
        assert_eq!(order, vec!['b', 'd', 'a', 'c']);
    }

    #[test]
    fn peek_settles_without_losing_order() {
        let mut q = EventQueue::new();
        for t in [9u64, 3, 3, 7, u64::MAX] {
            q.push(SimTime(t), t);
        }
        assert_eq!(q.peek_time(), Some(SimTime(3)));
        assert_eq!(q.pop(), Some((SimTime(3), 3)));
        q.push(SimTime(3), 33); // at the current time, after the one popped
        let rest: Vec<u64> = std::iter::from_fn(|| q.pop().map(|(_, e)| e)).collect();
        assert_eq!(rest, vec![3, 33, 7, 9, u64::MAX]);
        assert_eq!((q.peek_time(), q.len(), q.scheduled()), (None, 0, 6));
    }

    #[test]
    #[should_panic(expected = "before the last event popped")]
    fn pushing_into_the_past_panics() {
        let mut q = EventQueue::new();
        q.push(SimTime(10), ());
        q.pop();
        q.push(SimTime(9), ());
    }

    proptest! {
        /// Shadow model: a BTreeMap keyed by (time, seq) must agree with the heap on every pop.
        #[test]
        fn matches_btreemap_shadow(ops in proptest::collection::vec((any::<bool>(), 0u64..50), 1..600)) {
            let mut q = EventQueue::new();
            let mut shadow: BTreeMap<(u64, u64), u64> = BTreeMap::new();
            let mut seq = 0u64;
            let mut now = 0u64;
            for (is_push, dt) in ops {
                if is_push {
                    // Monotone, as in a run: never before the last event popped.
                    let t = now + dt;
                    q.push(SimTime(t), seq);
                    shadow.insert((t, seq), seq);
                    seq += 1;
                } else {
                    let got = q.pop();
                    let want = shadow.pop_first().map(|((t, _), v)| (SimTime(t), v));
                    prop_assert_eq!(got, want);
                    if let Some((t, _)) = got {
                        now = t.0;
                    }
                }
            }
            prop_assert_eq!(q.len(), shadow.len());
        }
    }
}
