//! Per-key exponential back-off, mirroring client-go `util/flowcontrol/backoff.go`
//! (`NewBackOff`, i.e. without jitter, and the default `hasExpired` rule).
//!
//! The kubelet's image back-off is `NewBackOff(imageBackOffPeriod = 10 s, MaxImageBackOff =
//! 300 s)` keyed by `<pod UID>_<image>`; see `image_manager`. Keys are generic so the simulator
//! can use typed keys, and so is the map the entries live in (`StoreKind`): a `BTreeMap` for
//! any ordered key, or the engine's `IdMap` for the model's dense (pod, image string) keys.

use crate::engine::idmap::{DenseKey, IdMap};
use crate::time::{SimDuration, SimTime};
use std::collections::BTreeMap;

/// A map from keys to per-key state, with only what a back-off needs. Nothing here depends on
/// the order of keys (upstream keeps them in a Go map), so an unordered map serves as well.
pub trait KeyedStore<K, V>: Default {
    fn get(&self, k: &K) -> Option<&V>;
    fn get_mut(&mut self, k: &K) -> Option<&mut V>;
    /// The value of `k`, made by `new` when absent; `true` when it was just made.
    fn get_or_make(&mut self, k: &K, new: impl FnOnce() -> V) -> (&mut V, bool);
    fn remove(&mut self, k: &K) -> Option<V>;
    /// Keeps the values `keep` accepts, which may change them (visited in no particular order).
    fn retain(&mut self, keep: impl FnMut(&mut V) -> bool);
    /// How many values `f` accepts: an order-free fold.
    fn count(&self, f: impl Fn(&V) -> bool) -> usize;
    /// The least `f` of any value (`None` when empty): an order-free fold.
    fn min_of<T: Ord>(&self, f: impl Fn(&V) -> T) -> Option<T>;
}

impl<K: Ord + Clone, V> KeyedStore<K, V> for BTreeMap<K, V> {
    fn get(&self, k: &K) -> Option<&V> {
        BTreeMap::get(self, k)
    }
    fn get_mut(&mut self, k: &K) -> Option<&mut V> {
        BTreeMap::get_mut(self, k)
    }
    fn get_or_make(&mut self, k: &K, new: impl FnOnce() -> V) -> (&mut V, bool) {
        // One search, found or made (`entry` needs the key by value).
        match self.entry(k.clone()) {
            std::collections::btree_map::Entry::Vacant(v) => (v.insert(new()), true),
            std::collections::btree_map::Entry::Occupied(o) => (o.into_mut(), false),
        }
    }
    fn remove(&mut self, k: &K) -> Option<V> {
        BTreeMap::remove(self, k)
    }
    fn retain(&mut self, mut keep: impl FnMut(&mut V) -> bool) {
        BTreeMap::retain(self, |_, v| keep(v));
    }
    fn count(&self, f: impl Fn(&V) -> bool) -> usize {
        BTreeMap::values(self).filter(|v| f(v)).count()
    }
    fn min_of<T: Ord>(&self, f: impl Fn(&V) -> T) -> Option<T> {
        BTreeMap::values(self).map(f).min()
    }
}

impl<K: DenseKey, V> KeyedStore<K, V> for IdMap<K, V> {
    fn get(&self, k: &K) -> Option<&V> {
        IdMap::get(self, k)
    }
    fn get_mut(&mut self, k: &K) -> Option<&mut V> {
        IdMap::get_mut(self, k)
    }
    fn get_or_make(&mut self, k: &K, new: impl FnOnce() -> V) -> (&mut V, bool) {
        IdMap::get_or_make(self, *k, new)
    }
    fn remove(&mut self, k: &K) -> Option<V> {
        IdMap::remove(self, k)
    }
    fn retain(&mut self, keep: impl FnMut(&mut V) -> bool) {
        IdMap::retain(self, keep);
    }
    fn count(&self, f: impl Fn(&V) -> bool) -> usize {
        IdMap::values(self).filter(|v| f(v)).count()
    }
    fn min_of<T: Ord>(&self, f: impl Fn(&V) -> T) -> Option<T> {
        IdMap::values(self).map(f).min()
    }
}

/// Which map a back-off keeps its per-key slots in (`Slot`, whatever the owner's data).
pub trait StoreKind<K> {
    type Map<V>: KeyedStore<K, V>;
}

/// A `BTreeMap`: any ordered key (the default; tests key by strings).
#[derive(Clone, Copy, Debug, Default)]
pub struct Ordered;

impl<K: Ord + Clone> StoreKind<K> for Ordered {
    type Map<V> = BTreeMap<K, V>;
}

/// The engine's `IdMap`: one probe where a B-tree walks two or three nodes. The model keys
/// each node's back-off by (pod, image string), read on every sync of a pod that pulls: on a
/// large cluster the B-trees' walks were about a tenth of the run's last-level cache misses.
#[derive(Clone, Copy, Debug, Default)]
pub struct Dense;

impl<K: DenseKey> StoreKind<K> for Dense {
    type Map<V> = IdMap<K, V>;
}

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

/// What a back-off keeps per key: its `backoffEntry` (`None` once `gc` or `reset` dropped
/// it) and what the owner keeps beside it under the same key (`extra`: nothing for a plain
/// back-off, the kubelet's previous failure for `image_manager::PullBackoffState`), which
/// `gc` leaves in place. One slot per key, so the owner's data costs no second search. A slot
/// with neither is removed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Slot<X> {
    entry: Option<Entry>,
    extra: Option<X>,
}

impl<X> Slot<X> {
    fn is_vacant(&self) -> bool {
        self.entry.is_none() && self.extra.is_none()
    }
}

/// Mirrors `flowcontrol.Backoff` with jitter 0 (what `NewBackOff` builds). `F` is the map the
/// slots live in, `X` what the owner keeps per key beside the entry (see `Slot`).
pub struct Backoff<K, F: StoreKind<K> = Ordered, X = ()> {
    initial: SimDuration,
    max: SimDuration,
    slots: F::Map<Slot<X>>,
    /// A lower bound of every entry's `last_update` (exact after a sweeping `gc`): `gc` has
    /// nothing to drop while `now - oldest_update <= 2 * max`, so the kubelet's GC after every
    /// successful pull costs O(1) instead of a pass over all entries.
    oldest_update: SimTime,
}

impl<K, F: StoreKind<K>, X> Backoff<K, F, X> {
    /// Mirrors `NewBackOff(initial, max)`.
    pub fn new(initial: SimDuration, max: SimDuration) -> Self {
        Backoff { initial, max, slots: Default::default(), oldest_update: SimTime::MAX }
    }

    pub fn initial(&self) -> SimDuration {
        self.initial
    }

    pub fn max(&self) -> SimDuration {
        self.max
    }

    fn entry(&self, key: &K) -> Option<&Entry> {
        self.slots.get(key).and_then(|s| s.entry.as_ref())
    }

    /// Mirrors `Backoff.Next(id, eventTime)`: a missing or expired entry restarts at `initial`;
    /// otherwise the back-off doubles, capped at `max`. `lastUpdate` becomes the clock's now,
    /// which the kubelet also passes as `eventTime`, so one `now` serves both.
    pub fn next(&mut self, key: &K, now: SimTime) {
        self.next_slot(key, now);
    }

    /// `next`, returning the key's slot (one search: the slot is found or made once).
    fn next_slot(&mut self, key: &K, now: SimTime) -> &mut Slot<X> {
        let (initial, max) = (self.initial, self.max);
        self.oldest_update = self.oldest_update.min(now);
        let (slot, _) = self.slots.get_or_make(key, || Slot { entry: None, extra: None });
        let backoff = match unexpired(slot.entry.as_ref(), now, max) {
            Some(e) => SimDuration(e.backoff.0.saturating_mul(2).min(max.0)),
            None => initial,
        };
        slot.entry = Some(Entry { backoff, last_update: now });
        slot
    }

    /// Mirrors `Backoff.IsInBackOffSinceUpdate(id, eventTime)`: false for a missing or expired
    /// entry; else `eventTime - lastUpdate < backoff` (strict: a retry exactly `backoff` after
    /// the last failure is allowed).
    pub fn is_in_backoff_since_update(&self, key: &K, now: SimTime) -> bool {
        in_backoff_since_update(self.entry(key), now, self.max)
    }

    /// Mirrors `Backoff.IsInBackOffSince(id, eventTime)`: expiry is judged at the clock's `now`,
    /// and the entry is in back-off while `now - eventTime < backoff`.
    pub fn is_in_backoff_since(&self, key: &K, event_time: SimTime, now: SimTime) -> bool {
        unexpired(self.entry(key), now, self.max).is_some_and(|e| now.since(event_time) < e.backoff)
    }

    /// Mirrors `Backoff.Get(id)`: the current back-off, zero for an unknown key.
    pub fn get(&self, key: &K) -> SimDuration {
        self.entry(key).map(|e| e.backoff).unwrap_or_default()
    }

    /// The time of the last `next` for `key` (for reporting; not an upstream accessor).
    pub fn last_update(&self, key: &K) -> Option<SimTime> {
        self.entry(key).map(|e| e.last_update)
    }

    /// Mirrors `Backoff.GC()`: drops entries with `now - lastUpdate > 2 * max` (strict). The
    /// owner's `extra` stays (upstream keeps it in a map of its own).
    pub fn gc(&mut self, now: SimTime) {
        let max = self.max;
        if self.oldest_update == SimTime::MAX || !has_expired(now, self.oldest_update, max) {
            return; // no entry can have expired
        }
        self.slots.retain(|s| {
            if s.entry.as_ref().is_some_and(|e| has_expired(now, e.last_update, max)) {
                s.entry = None;
            }
            !s.is_vacant()
        });
        self.oldest_update = self
            .slots
            .min_of(|s| s.entry.as_ref().map_or(SimTime::MAX, |e| e.last_update))
            .unwrap_or(SimTime::MAX);
    }

    /// Mirrors `Backoff.Reset(id)` (and `DeleteEntry`): forget the key's entry.
    pub fn reset(&mut self, key: &K) {
        if let Some(s) = self.slots.get_mut(key) {
            s.entry = None;
            if s.is_vacant() {
                self.slots.remove(key);
            }
        }
    }

    /// How many keys have an entry.
    pub fn len(&self) -> usize {
        self.slots.count(|s| s.entry.is_some())
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// What the owner keeps for `key`, if anything.
    pub fn extra(&self, key: &K) -> Option<&X> {
        self.slots.get(key).and_then(|s| s.extra.as_ref())
    }

    /// `next(key, now)`, and `extra` kept for the key, in one search.
    pub fn next_keeping(&mut self, key: &K, now: SimTime, extra: X) {
        self.next_slot(key, now).extra = Some(extra);
    }

    /// `IsInBackOffSinceUpdate(key, now)`; when not in back-off, the key's `extra` goes too
    /// (the kubelet's gate: one search for both).
    pub fn in_backoff_else_drop_extra(&mut self, key: &K, now: SimTime) -> bool {
        let max = self.max;
        let Some(s) = self.slots.get_mut(key) else { return false };
        if in_backoff_since_update(s.entry.as_ref(), now, max) {
            return true;
        }
        s.extra = None;
        if s.is_vacant() {
            self.slots.remove(key);
        }
        false
    }
}

/// The entry unless it is missing or expired at `now` (`hasExpired`): every query and `Next`
/// treat an expired entry as no entry.
fn unexpired(entry: Option<&Entry>, now: SimTime, max: SimDuration) -> Option<&Entry> {
    entry.filter(|e| !has_expired(now, e.last_update, max))
}

/// `IsInBackOffSinceUpdate` of one key's entry (`None`: no entry).
fn in_backoff_since_update(entry: Option<&Entry>, now: SimTime, max: SimDuration) -> bool {
    unexpired(entry, now, max).is_some_and(|e| now.since(e.last_update) < e.backoff)
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
                        full.insert(key, fast.entry(&key).expect("just made").clone());
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
                let entries: BTreeMap<u8, Entry> =
                    fast.slots.iter().map(|(k, s)| (*k, s.entry.clone().expect("no extra: every slot has an entry"))).collect();
                prop_assert_eq!(&entries, &full);
            }
        }

        /// A slot's `extra` lives as upstream's separate map would: set with `next_keeping`,
        /// read with `extra`, dropped only by `in_backoff_else_drop_extra` (not by `gc` or
        /// `reset`); the entries answer as a plain back-off's whatever the extras do.
        #[test]
        fn extras_live_as_in_a_map_of_their_own(ops in proptest::collection::vec((0u8..5, 0u8..6, 0u64..400), 1..300)) {
            let (initial, max) = (SimDuration::from_secs(10), SimDuration::from_secs(300));
            let mut with: Backoff<u8, Ordered, u64> = Backoff::new(initial, max);
            let mut plain: Backoff<u8> = Backoff::new(initial, max);
            let mut extras: BTreeMap<u8, u64> = BTreeMap::new();
            let mut now = SimTime::ZERO;
            for (op, key, dt_s) in ops {
                now = now.plus(SimDuration::from_secs(dt_s));
                match op {
                    0 => {
                        with.next_keeping(&key, now, dt_s);
                        plain.next(&key, now);
                        extras.insert(key, dt_s);
                    }
                    1 => {
                        with.gc(now);
                        plain.gc(now);
                    }
                    2 => {
                        with.reset(&key);
                        plain.reset(&key);
                    }
                    3 => {
                        let was = plain.is_in_backoff_since_update(&key, now);
                        prop_assert_eq!(with.in_backoff_else_drop_extra(&key, now), was);
                        if !was {
                            extras.remove(&key);
                        }
                    }
                    _ => {
                        with.next(&key, now);
                        plain.next(&key, now);
                    }
                }
                prop_assert_eq!(with.len(), plain.len());
                prop_assert_eq!(with.oldest_update, plain.oldest_update);
                for k in 0..6 {
                    prop_assert_eq!(with.extra(&k), extras.get(&k));
                    prop_assert_eq!(with.get(&k), plain.get(&k));
                    prop_assert_eq!(with.last_update(&k), plain.last_update(&k));
                }
                // A slot exists only for a key with an entry or an extra.
                prop_assert!(with.slots.values().all(|s| !s.is_vacant()));
            }
        }

        /// Kept in an `IdMap` (the model's store), a back-off answers every query as the
        /// `BTreeMap` one does, after any sequence of failures, GCs and resets.
        #[test]
        fn dense_store_answers_like_the_ordered_one(ops in proptest::collection::vec((0u8..3, 0u32..40, 0u64..400), 1..300)) {
            #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
            struct Key(u32);
            impl DenseKey for Key {
                fn key(self) -> u32 {
                    self.0 % 7 // collisions on purpose: slots must compare whole keys
                }
            }
            let (initial, max) = (SimDuration::from_secs(10), SimDuration::from_secs(300));
            let mut ordered: Backoff<Key> = Backoff::new(initial, max);
            let mut dense: Backoff<Key, Dense> = Backoff::new(initial, max);
            let mut now = SimTime::ZERO;
            for (op, k, dt_s) in ops {
                now = now.plus(SimDuration::from_secs(dt_s));
                let key = Key(k);
                match op {
                    0 => {
                        ordered.next(&key, now);
                        dense.next(&key, now);
                    }
                    1 => {
                        ordered.gc(now);
                        dense.gc(now);
                    }
                    _ => {
                        ordered.reset(&key);
                        dense.reset(&key);
                    }
                }
                prop_assert_eq!(ordered.len(), dense.len());
                prop_assert_eq!(ordered.oldest_update, dense.oldest_update);
                for q in (0..40).map(Key) {
                    prop_assert_eq!(ordered.get(&q), dense.get(&q));
                    prop_assert_eq!(ordered.last_update(&q), dense.last_update(&q));
                    prop_assert_eq!(
                        ordered.is_in_backoff_since_update(&q, now),
                        dense.is_in_backoff_since_update(&q, now)
                    );
                }
            }
        }
    }
}
