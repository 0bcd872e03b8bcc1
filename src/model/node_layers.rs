//! `NodeLayers`: the state of every layer a node has or is fetching, sized for the cache.
//!
//! Why not one map from layer to state: a node of a large run holds a few hundred layers, and
//! every layer event reads several of their states (`runtime::kick_node` walks each active
//! pull's layers). As one open-addressing map of 16-byte slots that was about 4 KB per node,
//! 20 MB over 5,000 nodes, so almost every such read was a last-level cache miss. Here:
//! - present layers (unpacked, the state of nearly every layer) are bits, 64 layers to a
//!   block, in a map from block to bits. An image's own layers get consecutive ids
//!   (`build::materialize_images`), so its layers share one or two blocks, and a node of the
//!   large scenario keeps a few dozen blocks (well under 1 KB) instead of hundreds of slots;
//! - the other states (requested, downloading, fetched, unpacking) sit in a second map that
//!   holds only the few layers in flight on the node.
//!
//! Sparse blocks, not one bitset over every layer id: the scenario limits allow millions of
//! layers and nodes, and a node only pays for the blocks it touches.
//!
//! The two maps never hold the same layer: `insert` moves a layer from one to the other.
//! No iteration order is exposed beyond order-free folds and sorted keys (determinism).

use super::LayerState;
use crate::engine::idmap::{DenseKey, IdMap};
use crate::ids::LayerId;

/// Layers per presence block (one `u64`).
const BLOCK_BITS: u32 = 64;

/// A block of 64 consecutive layer ids.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Block(u32);

impl DenseKey for Block {
    fn key(self) -> u32 {
        self.0
    }
}

fn block_and_bit(layer: LayerId) -> (Block, u64) {
    (Block(layer.0 / BLOCK_BITS), 1u64 << (layer.0 % BLOCK_BITS))
}

#[derive(Clone, Debug, Default)]
pub(super) struct NodeLayers {
    /// Present layers, as bits of their blocks (a block with no bit set is removed).
    present: IdMap<Block, u64>,
    /// Layers in any state but `Present`.
    in_flight: IdMap<LayerId, LayerState>,
}

impl NodeLayers {
    pub(super) fn new() -> NodeLayers {
        NodeLayers::default()
    }

    /// Whether `layer` is present (unpacked): the most frequent question, one probe.
    pub(super) fn is_present(&self, layer: LayerId) -> bool {
        let (block, bit) = block_and_bit(layer);
        self.present.get(&block).is_some_and(|bits| bits & bit != 0)
    }

    pub(super) fn get(&self, layer: LayerId) -> Option<LayerState> {
        if self.is_present(layer) {
            Some(LayerState::Present)
        } else {
            self.in_flight.get(&layer).copied()
        }
    }

    /// Sets `layer`'s state; returns the previous one.
    pub(super) fn insert(&mut self, layer: LayerId, state: LayerState) -> Option<LayerState> {
        if state == LayerState::Present {
            // From unpacking (or absent, for a preload): at most one removal.
            let old = if self.is_present(layer) {
                Some(LayerState::Present)
            } else {
                self.in_flight.remove(&layer)
            };
            if old != Some(LayerState::Present) {
                let (block, bit) = block_and_bit(layer);
                *self.present.get_or_insert(block, 0) |= bit;
            }
            return old;
        }
        // The steps of a fetch (requested, downloading, fetched, unpacking) replace each other
        // in place: one probe.
        if let Some(s) = self.in_flight.get_mut(&layer) {
            return Some(std::mem::replace(s, state));
        }
        let old = self.remove(layer);
        self.in_flight.insert(layer, state);
        old
    }

    /// Forgets `layer`; returns its state.
    pub(super) fn remove(&mut self, layer: LayerId) -> Option<LayerState> {
        let (block, bit) = block_and_bit(layer);
        if let Some(bits) = self.present.get_mut(&block) {
            if *bits & bit != 0 {
                *bits &= !bit;
                if *bits == 0 {
                    self.present.remove(&block);
                }
                return Some(LayerState::Present);
            }
        }
        self.in_flight.remove(&layer)
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.present.values().map(|bits| bits.count_ones() as usize).sum::<usize>() + self.in_flight.len()
    }

    /// Every layer with its state, in no particular order: only for order-free folds.
    pub(super) fn iter_unordered(&self) -> impl Iterator<Item = (LayerId, LayerState)> + '_ {
        let present = self.present.iter_unordered().flat_map(|(block, bits)| {
            let bits = *bits;
            (0..BLOCK_BITS)
                .filter(move |b| bits & (1u64 << b) != 0)
                .map(move |b| (LayerId(block.0 * BLOCK_BITS + b), LayerState::Present))
        });
        present.chain(self.in_flight.iter_unordered().map(|(l, s)| (l, *s)))
    }

    /// Every layer with its state, by layer id.
    #[cfg(test)]
    fn iter_sorted(&self) -> Vec<(LayerId, LayerState)> {
        let mut v: Vec<(LayerId, LayerState)> = self.iter_unordered().collect();
        v.sort_unstable_by_key(|(l, _)| *l);
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::{FlowId, PullId};
    use proptest::prelude::*;
    use std::collections::BTreeMap;

    fn state(k: u8) -> LayerState {
        match k % 5 {
            0 => LayerState::Present,
            1 => LayerState::Fetched,
            2 => LayerState::Unpacking,
            3 => LayerState::Requesting { owner: PullId(u32::from(k)) },
            _ => LayerState::Downloading { owner: PullId(u32::from(k)), flow: FlowId(7) },
        }
    }

    #[test]
    fn states_move_between_the_bits_and_the_in_flight_map() {
        let mut m = NodeLayers::new();
        let l = LayerId(130);
        assert_eq!(m.insert(l, LayerState::Requesting { owner: PullId(1) }), None);
        assert!(!m.is_present(l));
        assert_eq!(m.insert(l, LayerState::Fetched), Some(LayerState::Requesting { owner: PullId(1) }));
        assert_eq!(m.insert(l, LayerState::Unpacking), Some(LayerState::Fetched));
        assert_eq!(m.insert(l, LayerState::Present), Some(LayerState::Unpacking));
        assert!(m.is_present(l));
        assert_eq!(m.get(l), Some(LayerState::Present));
        assert_eq!(m.get(LayerId(131)), None);
        assert_eq!(m.len(), 1);
        assert_eq!(m.in_flight.len(), 0, "a present layer is only a bit");
        assert_eq!(m.remove(l), Some(LayerState::Present));
        assert_eq!(m.present.len(), 0, "an empty block is dropped");
        assert_eq!(m.len(), 0);
    }

    proptest! {
        /// Any sequence of inserts and removes (ids over a few blocks, so blocks fill, empty and
        /// share) leaves the same contents as a `BTreeMap` given the same sequence.
        #[test]
        fn behaves_like_a_btreemap(ops in proptest::collection::vec((any::<bool>(), 0u32..200, any::<u8>()), 0..400)) {
            let mut m = NodeLayers::new();
            let mut b: BTreeMap<LayerId, LayerState> = BTreeMap::new();
            for (insert, l, k) in ops {
                let l = LayerId(l);
                if insert {
                    prop_assert_eq!(m.insert(l, state(k)), b.insert(l, state(k)));
                } else {
                    prop_assert_eq!(m.remove(l), b.remove(&l));
                }
                prop_assert_eq!(m.len(), b.len());
            }
            for l in 0..200 {
                let l = LayerId(l);
                prop_assert_eq!(m.get(l), b.get(&l).copied());
                prop_assert_eq!(m.is_present(l), b.get(&l) == Some(&LayerState::Present));
            }
            prop_assert_eq!(m.iter_sorted(), b.into_iter().collect::<Vec<_>>());
        }
    }
}
