//! `IdMap`: a map from dense ids to small values by open addressing, for the lookups on the
//! hottest path of a run (a node's layer states, read several times per layer event, and its
//! images, read on every sync).
//!
//! Why not a `BTreeMap`: a lookup walks two or three B-tree nodes, each a separate allocation,
//! so on a large cluster it costs two or three cache misses; here it is usually one (a key and
//! its value share a slot). Why not `std::collections::HashMap`: its hasher is randomly seeded
//! and clippy.toml forbids it for determinism. This map is deterministic: a fixed
//! multiplicative (Fibonacci) hash, linear probing and backward-shift removal, so its layout
//! depends only on the sequence of inserts and removes. Even so it offers no slot-order
//! iteration: `values` and `keys` are for order-free folds (sums, counts), and `sorted_keys`
//! gives key order for anything that must be ordered.

/// Keys usable in an `IdMap`. `key` is the hash input: equal keys must give equal values, and
/// distinct keys may collide (slots compare whole keys). For ids it is the index itself.
pub trait DenseKey: Copy + Eq + Ord {
    fn key(self) -> u32;
}

/// Smallest table; tables double when more than three quarters full.
const MIN_SLOTS: usize = 8;

#[derive(Clone, Debug)]
pub struct IdMap<K, V> {
    slots: Vec<Option<(K, V)>>,
    len: usize,
    /// `64 - log2(slots.len())`: the hash's top bits pick the home slot.
    shift: u32,
}

impl<K: DenseKey, V> Default for IdMap<K, V> {
    fn default() -> Self {
        Self::new()
    }
}

fn empty_slots<K, V>(n: usize) -> Vec<Option<(K, V)>> {
    (0..n).map(|_| None).collect()
}

impl<K: DenseKey, V> IdMap<K, V> {
    pub fn new() -> Self {
        IdMap { slots: empty_slots(MIN_SLOTS), len: 0, shift: 64 - MIN_SLOTS.trailing_zeros() }
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    fn home(&self, k: K) -> usize {
        (u64::from(k.key()).wrapping_mul(0x9E37_79B9_7F4A_7C15) >> self.shift) as usize
    }

    /// The slot holding `k`, or the empty slot where it would go.
    fn find(&self, k: K) -> Result<usize, usize> {
        let mask = self.slots.len() - 1;
        let mut i = self.home(k);
        loop {
            match &self.slots[i] {
                Some((key, _)) if *key == k => return Ok(i),
                Some(_) => i = (i + 1) & mask,
                None => return Err(i),
            }
        }
    }

    pub fn get(&self, k: &K) -> Option<&V> {
        match self.find(*k) {
            Ok(i) => self.slots[i].as_ref().map(|(_, v)| v),
            Err(_) => None,
        }
    }

    pub fn get_mut(&mut self, k: &K) -> Option<&mut V> {
        match self.find(*k) {
            Ok(i) => self.slots[i].as_mut().map(|(_, v)| v),
            Err(_) => None,
        }
    }

    pub fn contains_key(&self, k: &K) -> bool {
        self.find(*k).is_ok()
    }

    /// Sets `k` to `v`; returns the previous value.
    pub fn insert(&mut self, k: K, v: V) -> Option<V> {
        match self.find(k) {
            Ok(i) => self.slots[i].replace((k, v)).map(|(_, old)| old),
            Err(i) => {
                self.fill_vacant(i, k, v);
                None
            }
        }
    }

    /// Puts the absent `k` in the empty slot `i` that `find` gave (or, when the table must
    /// grow first, where it goes after growing); returns the slot used.
    fn fill_vacant(&mut self, i: usize, k: K, v: V) -> usize {
        let i = if (self.len + 1) * 4 > self.slots.len() * 3 {
            self.grow();
            self.find(k).expect_err("absent")
        } else {
            i
        };
        self.slots[i] = Some((k, v));
        self.len += 1;
        i
    }

    /// The value of `k`, inserting `default` first when absent (`BTreeMap`'s
    /// `entry(k).or_insert(default)`).
    pub fn get_or_insert(&mut self, k: K, default: V) -> &mut V {
        let i = match self.find(k) {
            Ok(i) => i,
            Err(i) => self.fill_vacant(i, k, default),
        };
        &mut self.slots[i].as_mut().expect("occupied").1
    }

    /// The value of `k`, made by `new` first when absent; `true` when it was just made (one
    /// probe either way).
    pub fn get_or_make(&mut self, k: K, new: impl FnOnce() -> V) -> (&mut V, bool) {
        let (i, made) = match self.find(k) {
            Ok(i) => (i, false),
            Err(i) => (self.fill_vacant(i, k, new()), true),
        };
        (&mut self.slots[i].as_mut().expect("occupied").1, made)
    }

    /// Keeps the entries whose value `keep` accepts, which may change the values it keeps.
    /// Visited in slot order, which only decides the order of the removals: the map's
    /// contents do not depend on it.
    pub fn retain(&mut self, mut keep: impl FnMut(&mut V) -> bool) {
        let gone: Vec<K> =
            self.slots.iter_mut().flatten().filter_map(|(k, v)| (!keep(v)).then_some(*k)).collect();
        for k in gone {
            self.remove(&k);
        }
    }

    /// Removes `k`; later entries of its probe run shift back (no tombstones, so lookups
    /// never slow down with churn).
    pub fn remove(&mut self, k: &K) -> Option<V> {
        let mut hole = self.find(*k).ok()?;
        let (_, old) = self.slots[hole].take().expect("found");
        self.len -= 1;
        let mask = self.slots.len() - 1;
        let mut i = (hole + 1) & mask;
        while let Some((key, _)) = &self.slots[i] {
            let key = *key;
            // The entry at `i` may fill the hole unless its home lies cyclically in (hole, i].
            let home = self.home(key);
            let stays = if hole <= i { hole < home && home <= i } else { hole < home || home <= i };
            if !stays {
                self.slots[hole] = self.slots[i].take();
                hole = i;
            }
            i = (i + 1) & mask;
        }
        Some(old)
    }

    fn grow(&mut self) {
        let old = std::mem::take(&mut self.slots);
        self.slots = empty_slots(old.len() * 2);
        self.shift -= 1;
        for (k, v) in old.into_iter().flatten() {
            let i = self.find(k).expect_err("keys are unique");
            self.slots[i] = Some((k, v));
        }
    }

    /// The values in no particular order: only for order-free folds (counts, sums).
    pub fn values(&self) -> impl Iterator<Item = &V> {
        self.slots.iter().flatten().map(|(_, v)| v)
    }

    /// The keys in no particular order: only for order-free folds (counts, sums).
    pub fn keys(&self) -> impl Iterator<Item = K> + '_ {
        self.slots.iter().flatten().map(|(k, _)| *k)
    }

    /// The entries in no particular order: only for order-free folds (any, all, counts).
    pub fn iter_unordered(&self) -> impl Iterator<Item = (K, &V)> {
        self.slots.iter().flatten().map(|(k, v)| (*k, v))
    }

    /// The keys in ascending order.
    pub fn sorted_keys(&self) -> Vec<K> {
        let mut v: Vec<K> = self.keys().collect();
        v.sort_unstable();
        v
    }

    /// The entries in ascending key order (what a `BTreeMap` would iterate).
    pub fn iter_sorted(&self) -> Vec<(K, &V)> {
        let mut v: Vec<(K, &V)> = self.iter_unordered().collect();
        v.sort_unstable_by_key(|(k, _)| *k);
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::BTreeMap;

    #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
    struct K(u32);
    impl DenseKey for K {
        fn key(self) -> u32 {
            self.0
        }
    }

    #[test]
    fn insert_get_remove_and_growth() {
        let mut m: IdMap<K, u64> = IdMap::new();
        for i in 0..1000 {
            assert_eq!(m.insert(K(i * 7), u64::from(i)), None);
        }
        assert_eq!(m.len(), 1000);
        assert_eq!(m.insert(K(14), 99), Some(2));
        assert_eq!(m.get(&K(14)), Some(&99));
        assert_eq!(m.get(&K(15)), None);
        for i in (0..1000).step_by(2) {
            assert!(m.remove(&K(i * 7)).is_some());
        }
        assert_eq!(m.remove(&K(0)), None);
        assert_eq!(m.len(), 500);
        assert!((0..1000).all(|i| m.contains_key(&K(i * 7)) == (i % 2 == 1)));
        assert_eq!(m.sorted_keys().first(), Some(&K(7)));
        *m.get_mut(&K(7)).expect("present") += 1;
        assert_eq!(m.get(&K(7)), Some(&2));
        *m.get_or_insert(K(7), 0) += 1;
        *m.get_or_insert(K(8), 40) += 2;
        assert_eq!((m.get(&K(7)), m.get(&K(8))), (Some(&3), Some(&42)));
        assert!(m.remove(&K(8)).is_some());
        assert_eq!(m.values().count(), 500);
        let (v, made) = m.get_or_make(K(7), || 0);
        assert_eq!((*v, made), (3, false));
        let (v, made) = m.get_or_make(K(9), || 5);
        assert_eq!((*v, made), (5, true));
        // The values are now the odd i of K(7 i) (K(7) holds 3), and K(9) holds 5: keep
        // those that are 1 mod 4, and every other key goes while the kept ones stay findable.
        m.retain(|v| *v % 4 == 1);
        assert_eq!(m.len(), 250); // i = 5, 9, ..., 997 (K(7) now holds 3), and K(9)
        assert_eq!((m.get(&K(7)), m.get(&K(21)), m.get(&K(9))), (None, None, Some(&5)));
        assert_eq!((m.get(&K(35)), m.get(&K(7 * 997))), (Some(&5), Some(&997)));
    }

    proptest! {
        /// Any sequence of inserts and removes (keys from a small range, so probe runs collide
        /// and wrap) leaves the same contents as a `BTreeMap` given the same sequence.
        #[test]
        fn behaves_like_a_btreemap(ops in proptest::collection::vec((any::<bool>(), 0u32..64, any::<u16>()), 0..400)) {
            let mut m: IdMap<K, u16> = IdMap::new();
            let mut b: BTreeMap<K, u16> = BTreeMap::new();
            for (insert, k, v) in ops {
                if insert {
                    prop_assert_eq!(m.insert(K(k), v), b.insert(K(k), v));
                } else if v % 16 == 0 {
                    // Now and then, drop a whole class of values at once.
                    let bit = 1 << (k % 16);
                    m.retain(|x| *x & bit == 0);
                    b.retain(|_, x| *x & bit == 0);
                } else {
                    prop_assert_eq!(m.remove(&K(k)), b.remove(&K(k)));
                }
                prop_assert_eq!(m.len(), b.len());
            }
            for k in 0..64 {
                prop_assert_eq!(m.get(&K(k)), b.get(&K(k)));
            }
            prop_assert_eq!(m.sorted_keys(), b.keys().copied().collect::<Vec<_>>());
            prop_assert_eq!(m.iter_sorted(), b.iter().map(|(k, v)| (*k, v)).collect::<Vec<_>>());
        }
    }
}
