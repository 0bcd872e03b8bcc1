//! Per-key exponential back-off, mirroring client-go `util/flowcontrol/backoff.go`
//! (`NewBackOff`, i.e. without jitter, and the default `hasExpired` rule).
//!
//! The kubelet's image back-off is `NewBackOff(imageBackOffPeriod = 10 s, MaxImageBackOff =
//! 300 s)` keyed by `<pod UID>_<image>`; see `image_manager`. Keys are generic so the simulator
//! can use typed keys.

use crate::time::{SimDuration, SimTime};
use std::collections::BTreeMap;

/// kubelet.go `imageBackOffPeriod`.
pub const IMAGE_BACKOFF_INITIAL: SimDuration = SimDuration::from_secs(10);
/// kubelet.go `MaxImageBackOff`.
pub const IMAGE_BACKOFF_MAX: SimDuration = SimDuration::from_secs(300);

/// Mirrors the default `hasExpired(eventTime, lastUpdate, maxDuration)`:
/// `eventTime - lastUpdate > 2 * max`, strictly (exactly 2×max is not expired).
fn has_expired(event_time: SimTime, last_update: SimTime, max: SimDuration) -> bool {
    event_time.since(last_update) > max.saturating_mul(2)
}

/// One `backoffEntry`.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Entry {
    backoff: SimDuration,
    last_update: SimTime,
}

/// Mirrors `flowcontrol.Backoff` with jitter 0 (what `NewBackOff` builds).
#[derive(Clone, Debug)]
pub struct Backoff<K: Ord + Clone> {
    initial: SimDuration,
    max: SimDuration,
    entries: BTreeMap<K, Entry>,
    /// A lower bound of every entry's `last_update` (exact after a sweeping `gc`): `gc` has
    /// nothing to drop while `now - oldest_update <= 2 * max`, so the kubelet's GC after every
    /// successful pull costs O(1) instead of a pass over all entries.
    oldest_update: SimTime,
}

impl<K: Ord + Clone> Backoff<K> {
    /// Mirrors `NewBackOff(initial, max)`.
    pub fn new(initial: SimDuration, max: SimDuration) -> Self {
        Backoff { initial, max, entries: BTreeMap::new(), oldest_update: SimTime::MAX }
    }

    pub fn initial(&self) -> SimDuration {
        self.initial
    }

    pub fn max(&self) -> SimDuration {
        self.max
    }

    /// Mirrors `Backoff.Next(id, eventTime)`: a missing or expired entry restarts at `initial`;
    /// otherwise the back-off doubles, capped at `max`. `lastUpdate` becomes the clock's now,
    /// which the kubelet also passes as `eventTime`, so one `now` serves both.
    pub fn next(&mut self, key: &K, now: SimTime) {
        let (initial, max) = (self.initial, self.max);
        // One search: the entry is found (or made) once, then restarted or doubled.
        match self.entries.entry(key.clone()) {
            std::collections::btree_map::Entry::Vacant(v) => {
                v.insert(Entry { backoff: initial, last_update: now });
            }
            std::collections::btree_map::Entry::Occupied(o) => {
                let e = o.into_mut();
                let restart = has_expired(now, e.last_update, max);
                e.backoff =
                    if restart { initial } else { SimDuration(e.backoff.0.saturating_mul(2).min(max.0)) };
                e.last_update = now;
            }
        }
        self.oldest_update = self.oldest_update.min(now);
    }

    /// Mirrors `Backoff.IsInBackOffSinceUpdate(id, eventTime)`: false for a missing or expired
    /// entry; else `eventTime - lastUpdate < backoff` (strict: a retry exactly `backoff` after
    /// the last failure is allowed).
    pub fn is_in_backoff_since_update(&self, key: &K, now: SimTime) -> bool {
        match self.entries.get(key) {
            None => false,
            Some(e) if has_expired(now, e.last_update, self.max) => false,
            Some(e) => now.since(e.last_update) < e.backoff,
        }
    }

    /// Mirrors `Backoff.IsInBackOffSince(id, eventTime)`: expiry is judged at the clock's `now`,
    /// and the entry is in back-off while `now - eventTime < backoff`.
    pub fn is_in_backoff_since(&self, key: &K, event_time: SimTime, now: SimTime) -> bool {
        match self.entries.get(key) {
            None => false,
            Some(e) if has_expired(now, e.last_update, self.max) => false,
            Some(e) => now.since(event_time) < e.backoff,
        }
    }

    /// Mirrors `Backoff.Get(id)`: the current back-off, zero for an unknown key.
    pub fn get(&self, key: &K) -> SimDuration {
        self.entries.get(key).map(|e| e.backoff).unwrap_or_default()
    }

    /// The time of the last `next` for `key` (for reporting; not an upstream accessor).
    pub fn last_update(&self, key: &K) -> Option<SimTime> {
        self.entries.get(key).map(|e| e.last_update)
    }

    /// Mirrors `Backoff.GC()`: drops entries with `now - lastUpdate > 2 * max` (strict).
    pub fn gc(&mut self, now: SimTime) {
        let max = self.max;
        if self.oldest_update == SimTime::MAX || !has_expired(now, self.oldest_update, max) {
            return; // no entry can have expired
        }
        self.entries.retain(|_, e| !has_expired(now, e.last_update, max));
        self.oldest_update = self.entries.values().map(|e| e.last_update).min().unwrap_or(SimTime::MAX);
    }

    /// Mirrors `Backoff.Reset(id)` (and `DeleteEntry`): forget the key.
    pub fn reset(&mut self, key: &K) {
        self.entries.remove(key);
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// The O(1) shortcut of `gc` drops exactly what upstream's full pass drops.
        #[test]
        fn gc_shortcut_equals_a_full_pass(ops in proptest::collection::vec((0u8..3, 0u8..6, 0u64..400), 1..300)) {
            let mut fast: Backoff<u8> = Backoff::new(SimDuration::from_secs(10), SimDuration::from_secs(300));
            let mut full: BTreeMap<u8, Entry> = BTreeMap::new();
            let mut now = SimTime::ZERO;
            for (op, key, dt_s) in ops {
                now = now.plus(SimDuration::from_secs(dt_s));
                match op {
                    0 => {
                        fast.next(&key, now);
                        full.insert(key, fast.entries[&key].clone());
                    }
                    1 => {
                        fast.gc(now);
                        full.retain(|_, e| now.since(e.last_update) <= SimDuration::from_secs(600));
                    }
                    _ => {
                        fast.reset(&key);
                        full.remove(&key);
                    }
                }
                prop_assert_eq!(&fast.entries, &full);
            }
        }
    }
}
