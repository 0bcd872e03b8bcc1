//! `PodTable`: the run's pods, indexed by `PodId`, whose teardown does not walk them.
//!
//! Why: a large run holds hundreds of thousands of pods (128 bytes each), long evicted from
//! the cache by the end. A `Vec<Pod>` drops element by element, reading every pod back from
//! memory only to find that almost none owns heap memory: at 150,000 pods that walk was about
//! 7 % of the whole run's last-level cache misses. Here the pods sit in `ManuallyDrop`, so the
//! table frees its buffer without visiting them, and the table remembers the few pods that
//! own heap memory (several containers: `PodContainers::Many`) and drops those parts itself.
//!
//! What keeps this leak-free: a pod's only heap part is its container list, fixed when the pod
//! is pushed (a pod's containers never change shape), and `push` records every pod that has
//! one. Every other field of `Pod` is plain data (`LastError` keeps its messages as parts);
//! `pod_fields_own_no_heap_memory` checks that at test time.

use super::{Pod, PodContainers};
use crate::ids::PodId;
use std::mem::ManuallyDrop;

pub(super) struct PodTable {
    pods: Vec<ManuallyDrop<Pod>>,
    /// Pods whose containers live in a `Vec` (`PodContainers::Many`), in push order.
    heap_owners: Vec<PodId>,
}

impl PodTable {
    pub(super) fn with_capacity(n: usize) -> PodTable {
        PodTable { pods: Vec::with_capacity(n), heap_owners: Vec::new() }
    }

    pub(super) fn len(&self) -> usize {
        self.pods.len()
    }

    /// Appends `pod`; its id is the previous length.
    pub(super) fn push(&mut self, pod: Pod) -> PodId {
        let id = PodId::from_idx(self.pods.len());
        if matches!(pod.containers, PodContainers::Many(_)) {
            self.heap_owners.push(id);
        }
        self.pods.push(ManuallyDrop::new(pod));
        id
    }

    pub(super) fn get(&self, i: usize) -> Option<&Pod> {
        self.pods.get(i).map(|p| &**p)
    }

    pub(super) fn iter(&self) -> impl Iterator<Item = &Pod> + '_ {
        self.pods.iter().map(|p| &**p)
    }
}

impl std::ops::Index<usize> for PodTable {
    type Output = Pod;
    fn index(&self, i: usize) -> &Pod {
        &self.pods[i]
    }
}

impl std::ops::IndexMut<usize> for PodTable {
    fn index_mut(&mut self, i: usize) -> &mut Pod {
        &mut self.pods[i]
    }
}

impl Drop for PodTable {
    fn drop(&mut self) {
        for id in &self.heap_owners {
            // Dropping the taken list frees it; an empty `Vec` left behind owns nothing.
            drop(std::mem::replace(&mut self.pods[id.idx()].containers, PodContainers::Many(Vec::new())));
        }
        // `self.pods` now frees its buffer without visiting the pods (`ManuallyDrop`).
    }
}

#[cfg(test)]
mod tests {
    use super::super::{LastError, PodContainer, PodState};
    use super::*;
    use crate::ids::{RawImageId, WorkloadId};
    use crate::k8s::pull_policy::PullPolicy;
    use crate::time::SimTime;

    /// Everything in a `Pod` but the container list is plain data: if a field gained heap
    /// memory, the table would leak it.
    #[test]
    fn pod_fields_own_no_heap_memory() {
        assert!(!std::mem::needs_drop::<LastError>());
        assert!(!std::mem::needs_drop::<PodContainer>());
        assert!(!std::mem::needs_drop::<PodState>());
    }

    fn container(raw: u32) -> PodContainer {
        PodContainer {
            raw: RawImageId(raw),
            image: None,
            policy: PullPolicy::IfNotPresent,
            version: 0,
            started: false,
            init_done: false,
            waiting: None,
            attempts: 0,
        }
    }

    fn pod(containers: PodContainers) -> Pod {
        Pod::new(0, WorkloadId(0), 0, SimTime::ZERO, containers, 0)
    }

    /// Exactly the multi-container pods are recorded for the table's drop (the one heap part
    /// a pod has); ids follow push order and indexing reaches the pods pushed.
    #[test]
    fn the_table_records_exactly_the_pods_owning_heap_memory() {
        let mut t = PodTable::with_capacity(3);
        let a = t.push(pod(PodContainers::One(container(1))));
        let b = t.push(pod(PodContainers::Many(vec![container(2), container(3)])));
        let c = t.push(pod(PodContainers::One(container(4))));
        assert_eq!((a.idx(), b.idx(), c.idx(), t.len()), (0, 1, 2, 3));
        assert_eq!(t.heap_owners, vec![b]);
        assert_eq!(t[1].containers.len(), 2);
        assert_eq!(t[2].containers[0].raw, RawImageId(4));
        t[0].n_syncs = 7;
        assert_eq!(t.iter().map(|p| p.n_syncs).collect::<Vec<_>>(), vec![7, 0, 0]);
        drop(t);
    }
}
