//! The event queue: a 4-ary min-heap ordered by (time, sequence). The sequence number is assigned
//! at scheduling time and increases monotonically, so events at equal times pop in the order
//! they were scheduled (FIFO), which makes the run order fully defined.

use crate::time::SimTime;

/// One pending event. `key` packs (time, sequence) so that one integer comparison orders
/// entries: time in the high 64 bits, the FIFO sequence in the low 64.
struct Entry<E> {
    key: u128,
    event: E,
}

/// Children per heap node. A 4-ary heap is half as deep as a binary one and a node's children
/// sit side by side in memory, so a pop touches about half as many cache lines: the queue of a
/// large run holds ~10^5 events, far beyond the L1/L2 caches.
const ARITY: usize = 4;

/// A min-queue of events keyed by (time, FIFO sequence).
pub struct EventQueue<E> {
    heap: Vec<Entry<E>>,
    next_seq: u64,
}

impl<E> Default for EventQueue<E> {
    fn default() -> Self {
        Self::new()
    }
}

impl<E> EventQueue<E> {
    pub fn new() -> Self {
        EventQueue { heap: Vec::new(), next_seq: 0 }
    }

    pub fn with_capacity(n: usize) -> Self {
        EventQueue { heap: Vec::with_capacity(n), next_seq: 0 }
    }

    pub fn push(&mut self, at: SimTime, event: E) {
        let seq = self.next_seq;
        self.next_seq += 1;
        let key = (u128::from(at.0) << 64) | u128::from(seq);
        self.heap.push(Entry { key, event });
        // Sift up.
        let mut i = self.heap.len() - 1;
        while i > 0 {
            let parent = (i - 1) / ARITY;
            if self.heap[parent].key <= key {
                break;
            }
            self.heap.swap(i, parent);
            i = parent;
        }
    }

    pub fn pop(&mut self) -> Option<(SimTime, E)> {
        let last = self.heap.pop()?;
        let top = if self.heap.is_empty() {
            last
        } else {
            let top = std::mem::replace(&mut self.heap[0], last);
            self.sift_down_root();
            top
        };
        Some((SimTime((top.key >> 64) as u64), top.event))
    }

    /// Restores the heap order after the root was replaced.
    fn sift_down_root(&mut self) {
        let n = self.heap.len();
        let key = self.heap[0].key;
        let mut i = 0;
        loop {
            let first = ARITY * i + 1;
            if first >= n {
                break;
            }
            let end = (first + ARITY).min(n);
            let mut min = first;
            let mut min_key = self.heap[first].key;
            for c in first + 1..end {
                let k = self.heap[c].key;
                if k < min_key {
                    min = c;
                    min_key = k;
                }
            }
            if min_key >= key {
                break;
            }
            self.heap.swap(i, min);
            i = min;
        }
    }

    pub fn peek_time(&self) -> Option<SimTime> {
        self.heap.first().map(|e| SimTime((e.key >> 64) as u64))
    }

    pub fn len(&self) -> usize {
        self.heap.len()
    }

    pub fn is_empty(&self) -> bool {
        self.heap.is_empty()
    }

    /// Total events ever scheduled.
    pub fn scheduled(&self) -> u64 {
        self.next_seq
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

    proptest! {
        /// Shadow model: a BTreeMap keyed by (time, seq) must agree with the heap on every pop.
        #[test]
        fn matches_btreemap_shadow(ops in proptest::collection::vec((any::<bool>(), 0u64..50), 1..600)) {
            let mut q = EventQueue::new();
            let mut shadow: BTreeMap<(u64, u64), u64> = BTreeMap::new();
            let mut seq = 0u64;
            for (is_push, t) in ops {
                if is_push {
                    q.push(SimTime(t), seq);
                    shadow.insert((t, seq), seq);
                    seq += 1;
                } else {
                    let got = q.pop();
                    let want = shadow.pop_first().map(|((t, _), v)| (SimTime(t), v));
                    prop_assert_eq!(got, want);
                }
            }
            prop_assert_eq!(q.len(), shadow.len());
        }
    }
}
