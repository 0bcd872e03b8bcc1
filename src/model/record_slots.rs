//! `RecordSlots`: the pulled records (KubeletEnsureSecretPulledImages) of the image copies
//! that have one, in reusable slots that the copy's `NodeImage::record` names.
//!
//! Why slots and not a map keyed by (node, image, digest): a pulled record belongs to exactly
//! one image copy and goes when the copy does, and the kubelet reads it right after reading
//! the copy itself. The copy already sits in the node's image table, so a 4-byte slot number
//! in it finds the record in one step; a B-tree of 10^5 keys cost a walk through cold nodes
//! on every successful pull (a fifth of `finish_pull` on the large scenario). The slot
//! number keeps `NodeImage` plain data of the same size, so the table still frees without
//! a walk.
//!
//! Who frees: whoever drops a copy calls `release` with it (image GC, a tag moving
//! over a superseded copy, a preloaded image replacing a copy); `World::check_invariants`
//! checks that every live slot is named by exactly one copy.

use super::{NodeImage, PulledRecord};
use std::num::NonZeroU32;
use std::sync::Arc;

/// A slot of `RecordSlots` (1-based inside, so `Option<RecordId>` is 4 bytes).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(super) struct RecordId(NonZeroU32);

impl RecordId {
    fn idx(self) -> usize {
        self.0.get() as usize - 1
    }

    fn from_idx(i: usize) -> RecordId {
        let n = u32::try_from(i + 1).ok().and_then(NonZeroU32::new);
        RecordId(n.expect("more than 2^32 - 1 pulled records"))
    }
}

#[derive(Default)]
pub(super) struct RecordSlots {
    slots: Vec<Option<Arc<PulledRecord>>>,
    /// Empty slots, reused last-in first-out.
    free: Vec<RecordId>,
}

impl RecordSlots {
    /// Stores `record` in a free slot.
    pub(super) fn insert(&mut self, record: Arc<PulledRecord>) -> RecordId {
        match self.free.pop() {
            Some(id) => {
                self.slots[id.idx()] = Some(record);
                id
            }
            None => {
                self.slots.push(Some(record));
                RecordId::from_idx(self.slots.len() - 1)
            }
        }
    }

    pub(super) fn get(&self, id: RecordId) -> Option<&Arc<PulledRecord>> {
        self.slots.get(id.idx()).and_then(Option::as_ref)
    }

    pub(super) fn get_mut(&mut self, id: RecordId) -> Option<&mut Arc<PulledRecord>> {
        self.slots.get_mut(id.idx()).and_then(Option::as_mut)
    }

    /// Frees the record of an image copy that is gone, if it has one.
    pub(super) fn release(&mut self, copy: &NodeImage) {
        if let Some(id) = copy.record {
            self.remove(id);
        }
    }

    /// Frees the slot (its copy is gone).
    fn remove(&mut self, id: RecordId) {
        if let Some(slot) = self.slots.get_mut(id.idx()) {
            if slot.take().is_some() {
                self.free.push(id);
            }
        }
    }

    /// Slots in use.
    pub(super) fn live(&self) -> usize {
        self.slots.len() - self.free.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_are_reused_and_removal_is_idempotent() {
        let mut s = RecordSlots::default();
        let r = Arc::new(PulledRecord::default());
        let a = s.insert(r.clone());
        let b = s.insert(r.clone());
        assert_ne!(a, b);
        assert_eq!(s.live(), 2);
        s.remove(a);
        s.remove(a);
        assert_eq!(s.live(), 1);
        assert!(s.get(a).is_none());
        assert!(s.get(b).is_some());
        // The freed slot serves the next record.
        assert_eq!(s.insert(r), a);
        assert_eq!(s.live(), 2);
        assert_eq!(std::mem::size_of::<Option<RecordId>>(), 4);
    }
}
