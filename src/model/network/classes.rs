//! The node classes of the closed-form regime check (`Network::regime_holds`): how many nodes
//! with flows share each (link capacity, flows per registry) combination, and the smallest
//! capacity among them.
//!
//! Every flow that joins or leaves moves its node from one class to another, so this is
//! updated twice per flow change. The check itself only needs "does every class fit" (an
//! order-free `all`) and the smallest capacity, so the classes are kept in an `IdMap` (one
//! probe per update) rather than an ordered map (a B-tree walk, which cost about 4% of a large
//! run); the capacities, of which a cluster has a handful, are a short sorted list.

use crate::engine::idmap::{DenseKey, IdMap};
use std::collections::BTreeMap;

/// A class whose per-registry counts pack into one integer (at most 8 registries, each count
/// below 65,536): 16 bits per registry. Every real cluster's classes are of this form.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct PackedClass {
    capacity_bits: u64,
    flows: u128,
}

impl DenseKey for PackedClass {
    /// A mix of all the bits (the map compares whole keys; equal keys hash equally).
    fn key(self) -> u32 {
        let h = self.capacity_bits.wrapping_mul(0x9E37_79B9_7F4A_7C15)
            ^ (self.flows as u64).wrapping_mul(0xC2B2_AE3D_27D4_EB4F)
            ^ ((self.flows >> 64) as u64).wrapping_mul(0x1656_67B1_9E37_79F9);
        (h ^ (h >> 32)) as u32
    }
}

/// One class's flows per registry, as `NodeClasses::all` hands them out.
pub(super) enum ClassFlows<'a> {
    /// 16 bits per registry, registry 0 lowest.
    Packed(u128),
    Wide(&'a [u32]),
}

/// Node counts per class, and per capacity.
#[derive(Default)]
pub(super) struct NodeClasses {
    packed: IdMap<PackedClass, u32>,
    /// Classes that do not pack (more than 8 registries, or 65,536 flows of one on a node).
    wide: BTreeMap<(u64, Vec<u32>), u32>,
    /// Nodes with flows per capacity (bit pattern; capacities are positive, so bit patterns
    /// order like values), ascending.
    capacities: Vec<(u64, u32)>,
}

/// The packed form of `flows`, if it has one.
fn pack(flows: &[u32]) -> Option<u128> {
    (flows.len() <= 8 && flows.iter().all(|k| *k <= 0xffff))
        .then(|| flows.iter().enumerate().fold(0u128, |p, (r, k)| p | (u128::from(*k) << (16 * r))))
}

impl NodeClasses {
    /// A node with link capacity `capacity_bits` and `flows` per registry (not all zero) joins
    /// its class.
    pub(super) fn add(&mut self, capacity_bits: u64, flows: &[u32]) {
        match pack(flows) {
            Some(p) => *self.packed.get_or_insert(PackedClass { capacity_bits, flows: p }, 0) += 1,
            None => *self.wide.entry((capacity_bits, flows.to_vec())).or_insert(0) += 1,
        }
        match self.capacities.binary_search_by_key(&capacity_bits, |c| c.0) {
            Ok(i) => self.capacities[i].1 += 1,
            Err(i) => self.capacities.insert(i, (capacity_bits, 1)),
        }
    }

    /// The node leaves the class `add` put it in (same arguments).
    pub(super) fn remove(&mut self, capacity_bits: u64, flows: &[u32]) {
        match pack(flows) {
            Some(p) => {
                let key = PackedClass { capacity_bits, flows: p };
                let c = self.packed.get_mut(&key).expect("class of a node with flows");
                *c -= 1;
                if *c == 0 {
                    self.packed.remove(&key);
                }
            }
            None => {
                let key = (capacity_bits, flows.to_vec());
                let c = self.wide.get_mut(&key).expect("class of a node with flows");
                *c -= 1;
                if *c == 0 {
                    self.wide.remove(&key);
                }
            }
        }
        let i = self
            .capacities
            .binary_search_by_key(&capacity_bits, |c| c.0)
            .expect("capacity of a node with flows");
        self.capacities[i].1 -= 1;
        if self.capacities[i].1 == 0 {
            self.capacities.remove(i);
        }
    }

    /// The smallest capacity (bit pattern) among nodes with flows.
    pub(super) fn min_capacity_bits(&self) -> Option<u64> {
        self.capacities.first().map(|c| c.0)
    }

    /// Whether `fits(capacity_bits, flows)` holds for every class (in no particular order:
    /// `fits` must not depend on the order it is asked in).
    pub(super) fn all(&self, mut fits: impl FnMut(u64, ClassFlows<'_>) -> bool) -> bool {
        self.packed.keys().all(|c| fits(c.capacity_bits, ClassFlows::Packed(c.flows)))
            && self.wide.keys().all(|(cap, k)| fits(*cap, ClassFlows::Wide(k)))
    }

    /// Number of classes (tests).
    #[cfg(test)]
    pub(super) fn len(&self) -> usize {
        self.packed.len() + self.wide.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packs_sixteen_bits_per_registry_up_to_eight_registries() {
        assert_eq!(pack(&[1, 0, 2]), Some(1 | (2 << 32)));
        assert_eq!(pack(&[0xffff; 8]), Some(u128::MAX));
        assert_eq!(pack(&[0x1_0000, 1]), None);
        assert_eq!(pack(&[1; 9]), None);
        assert_ne!(pack(&[3, 4]), pack(&[4, 3]));
    }

    #[test]
    fn counts_classes_and_the_smallest_capacity() {
        let mut c = NodeClasses::default();
        let (slow, fast) = (1.0e8f64.to_bits(), 1.25e9f64.to_bits());
        c.add(fast, &[1, 0]);
        c.add(fast, &[1, 0]);
        c.add(slow, &[0, 2]);
        c.add(fast, &[1; 9]);
        assert_eq!((c.len(), c.min_capacity_bits()), (3, Some(slow)));
        let mut seen = Vec::new();
        assert!(c.all(|cap, f| {
            seen.push((cap, matches!(f, ClassFlows::Wide(_))));
            true
        }));
        seen.sort();
        assert_eq!(seen, vec![(slow, false), (fast, false), (fast, true)]);
        assert!(!c.all(|cap, _| cap == fast));
        c.remove(slow, &[0, 2]);
        assert_eq!(c.min_capacity_bits(), Some(fast));
        c.remove(fast, &[1, 0]);
        c.remove(fast, &[1; 9]);
        assert_eq!(c.len(), 1);
        c.remove(fast, &[1, 0]);
        assert_eq!((c.len(), c.min_capacity_bits()), (0, None));
    }
}
