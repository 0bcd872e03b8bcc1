//! The event queue: a monotone radix heap ordered by (time, scheduling order). Events at equal
//! times pop in the order they were scheduled (FIFO), which makes the run order fully defined.
//!
//! Why a radix heap: a discrete-event simulation never schedules into the past, so every time
//! pushed is at or after the time of the last event popped (the queue asserts it). A radix heap
//! exploits exactly that: entries sit in buckets by where their time first differs from `last`
//! (the time of the last event popped); the earliest entries are in the lowest non-empty
//! bucket, and emptying that bucket moves each of its entries to a strictly lower one. Pushes
//! append to a vector and pops mostly take from a short one, so a queue of ~10^5 events costs a
//! few sequential cache lines per event instead of a root-to-leaf walk through a heap far
//! larger than the caches.
//!
//! Buckets are by 6-bit digit, not by bit: the bucket of a time is (the highest 6-bit digit
//! where it differs from `last`, the value of that digit). An entry moves at most once per digit
//! level below its first one (at most 10 times, typically 2–4 for the millisecond-to-minute
//! delays of a run) instead of once per bit: with nanosecond times, bit buckets moved an entry
//! scheduled seconds ahead up to ~30 times, which cost more than the rest of the queue.
//!
//! FIFO ties need no sequence number in the entries: every bucket is kept in scheduling order.
//! A push appends (it is the latest scheduled), and a bucket is only ever emptied into buckets
//! that are empty at that moment (all lower buckets are), keeping its order. The front bucket
//! holds the entries at exactly the last time popped, and pops take its front.

use crate::time::SimTime;
use std::collections::VecDeque;

/// One pending event.
struct Entry<E> {
    at: u64,
    event: E,
}

/// Bits per digit: 64 digits per level, so one `u64` says which buckets of a level are occupied.
const DIGIT_BITS: u32 = 6;
const DIGITS: usize = 1 << DIGIT_BITS;
/// Digit levels covering 64 bits (the top level has only 4 bits).
const LEVELS: usize = 64_usize.div_ceil(DIGIT_BITS as usize);

/// A min-queue of events by time, FIFO among equal times. Monotone: an event may not be pushed
/// earlier than the last one popped.
pub struct EventQueue<E> {
    /// The entries at exactly `last`, in scheduling order.
    now: VecDeque<Entry<E>>,
    /// Bucket `level * DIGITS + digit`: entries whose time first differs from `last` at digit
    /// `level` (counting from the least significant), where it has the value `digit`.
    buckets: Vec<Vec<Entry<E>>>,
    /// Per level, bit `digit` set iff that bucket is non-empty.
    occupied: [u64; LEVELS],
    /// Bit `level` set iff any bucket of that level is non-empty.
    levels_occupied: u32,
    /// The time of the front bucket: the last event popped, or the next one once settled.
    last: u64,
    len: usize,
    scheduled: u64,
}

impl<E> Default for EventQueue<E> {
    fn default() -> Self {
        Self::new()
    }
}

/// Where time `at` goes relative to `last` (`at >= last`): `None` for the front bucket (equal
/// times), else `(level, digit)`.
#[inline(always)]
fn bucket(at: u64, last: u64) -> Option<(usize, usize)> {
    let diff = at ^ last;
    if diff == 0 {
        return None;
    }
    let level = (63 - diff.leading_zeros()) / DIGIT_BITS;
    let digit = (at >> (level * DIGIT_BITS)) as usize & (DIGITS - 1);
    Some((level as usize, digit))
}

impl<E> EventQueue<E> {
    pub fn new() -> Self {
        EventQueue {
            now: VecDeque::new(),
            buckets: (0..LEVELS * DIGITS).map(|_| Vec::new()).collect(),
            occupied: [0; LEVELS],
            levels_occupied: 0,
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

    /// Files an entry in the bucket of its time relative to `last`.
    #[inline(always)]
    fn file(&mut self, e: Entry<E>) {
        match bucket(e.at, self.last) {
            None => self.now.push_back(e),
            Some((level, digit)) => {
                self.buckets[level * DIGITS + digit].push(e);
                self.occupied[level] |= 1u64 << digit;
                self.levels_occupied |= 1 << level;
            }
        }
    }

    /// Schedules `event` at `at`, after every event already scheduled at `at`.
    ///
    /// Panics if `at` is earlier than the time of the last event popped, or peeked (the
    /// simulation never schedules into the past; a radix heap cannot order such an entry).
    pub fn push(&mut self, at: SimTime, event: E) {
        let at = at.0;
        assert!(at >= self.last, "event queue: push at {at} is before the last event popped");
        self.scheduled += 1;
        self.file(Entry { at, event });
        self.len += 1;
    }

    /// Makes the front bucket hold the earliest entries; false when the queue is empty.
    #[inline(always)]
    fn settle(&mut self) -> bool {
        !self.now.is_empty() || self.refill_front()
    }

    /// `settle` when the front bucket is empty: empties the lowest occupied bucket into lower
    /// ones (or makes it the front bucket).
    #[inline(never)]
    fn refill_front(&mut self) -> bool {
        if self.levels_occupied == 0 {
            return false;
        }
        let level = self.levels_occupied.trailing_zeros() as usize;
        let digit = self.occupied[level].trailing_zeros() as usize;
        self.occupied[level] &= !(1u64 << digit);
        if self.occupied[level] == 0 {
            self.levels_occupied &= !(1 << level);
        }
        let b = level * DIGITS + digit;
        if self.buckets[b].len() == 1 {
            // The usual case with nanosecond times: a lone entry is the next event.
            let e = self.buckets[b].pop().expect("one entry");
            self.last = e.at;
            self.now.push_back(e);
            return true;
        }
        if level == 0 {
            // Lowest level: every entry has the same time (all other digits equal `last`'s).
            // The bucket becomes the front one as it is; the empty front takes its place.
            let items = std::mem::take(&mut self.buckets[b]);
            self.last = items[0].at;
            let empty = std::mem::replace(&mut self.now, VecDeque::from(items));
            self.buckets[b] = Vec::from(empty);
            return true;
        }
        let mut items = std::mem::take(&mut self.buckets[b]);
        self.last = items.iter().map(|e| e.at).min().expect("an occupied bucket has entries");
        for e in items.drain(..) {
            // Every entry agrees with the new `last` from digit `level` up: it moves to a lower
            // level, all of whose buckets are empty now (this was the lowest occupied bucket),
            // so order is kept.
            self.file(e);
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

    /// The event most likely to be popped next, without settling the queue (a cheap guess
    /// for prefetching: an event pushed before the next pop may come first). `None` when the
    /// guess would need a scan of a bucket.
    pub fn peek_next_hint(&self) -> Option<&E> {
        if let Some(e) = self.now.front() {
            return Some(&e.event);
        }
        let level = self.levels_occupied.trailing_zeros() as usize;
        if level >= LEVELS {
            return None;
        }
        let digit = self.occupied[level].trailing_zeros() as usize;
        let bucket = &self.buckets[level * DIGITS + digit];
        // Level 0: every entry has the same time, the first is next. Above, only a lone entry
        // is known to be the earliest without a scan.
        if level == 0 || bucket.len() == 1 {
            bucket.first().map(|e| &e.event)
        } else {
            None
        }
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

    /// The hint is a guess, but whenever it names an event, that event is the next pop (no push
    /// in between); it gives up only where finding the earliest would need a scan.
    #[test]
    fn the_next_hint_names_the_next_pop_or_nothing() {
        let mut q = EventQueue::new();
        assert_eq!(q.peek_next_hint(), None);
        for (t, e) in [(900, 'a'), (7, 'b'), (7, 'c'), (64, 'd'), (5_000, 'e'), (5_001, 'f')] {
            q.push(SimTime(t), e);
        }
        let mut named = 0;
        while !q.is_empty() {
            let hint = q.peek_next_hint().copied();
            let (_, next) = q.pop().expect("not empty");
            if let Some(h) = hint {
                assert_eq!(h, next);
                named += 1;
            }
        }
        // Only the very first guess (four different levels pending, several entries in the
        // lowest occupied bucket above level 0) may give up.
        assert!(named >= 5, "the hint named {named} of 6 pops");
        assert_eq!(q.peek_next_hint(), None);
    }

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

    /// Pops everything, checking against a BTreeMap keyed by (time, seq) on every pop.
    fn check_against_shadow(ops: Vec<(bool, u64)>) -> Result<(), TestCaseError> {
        let mut q = EventQueue::new();
        let mut shadow: BTreeMap<(u64, u64), u64> = BTreeMap::new();
        let mut seq = 0u64;
        let mut now = 0u64;
        for (is_push, dt) in ops {
            if is_push {
                // Monotone, as in a run: never before the last event popped.
                let t = now.saturating_add(dt);
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
        while let Some(want) = shadow.pop_first() {
            prop_assert_eq!(q.pop(), Some((SimTime(want.0 .0), want.1)));
        }
        prop_assert_eq!(q.pop(), None);
        Ok(())
    }

    proptest! {
        /// Small delays: many equal times (FIFO ties) and the lowest digit level.
        #[test]
        fn matches_btreemap_shadow(ops in proptest::collection::vec((any::<bool>(), 0u64..50), 1..600)) {
            check_against_shadow(ops)?;
        }

        /// Delays of every magnitude up to the end of time: entries filed at every digit level
        /// and moved down through several of them.
        #[test]
        fn matches_btreemap_shadow_at_every_scale(
            ops in proptest::collection::vec(
                (any::<bool>(), (0u32..64, any::<u64>()).prop_map(|(shift, x)| x >> shift)),
                1..600,
            )
        ) {
            check_against_shadow(ops)?;
        }
    }
}
