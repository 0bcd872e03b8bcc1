//! A rolling update's old pods in the order the ReplicaSet controller deletes them
//! (`k8s::replicaset`), kept up to date as pods are placed, start and are deleted, so that a
//! controller step finds its victim in O(log pods) instead of ranking every old pod (which made
//! a rollout quadratic).
//!
//! The order is `deletion_class` (placed, phase, ready, the Deployment's pods on the node), then
//! the pod's age (since it became ready, else since its creation) in powers of two, then the id.
//! Here "Running" is the Deployment controller's available (Ready for `min_ready`; when the
//! workload has no readiness delay, the moment the pod is Running): a pod's phase and readiness
//! move together. A pod's class changes only when the pod is placed or becomes Running, or
//! when the count of the Deployment's pods on its node changes (any pod of the Deployment placed there or deleted
//! from there): only the old pods of that node are re-keyed, O(k log pods) for k old pods on the
//! node, which its pod capacity bounds. The power-of-two ages change with time alone, so they
//! are not part of any key. Instead each of two position orders keeps its pods in time order,
//! creation order for pods not Running and ready order for Running ones (ready times only grow,
//! so a pod that starts is appended), and a min-tree over the positions answers the query: the
//! best class, its youngest pod, the first position whose age has the same logarithmic rank (a
//! binary search over the times), and the lowest id from there on.
//!
//! The ReplicaSet controller ranks its pods once per sync and deletes the first `diff`
//! (`getPodsToDelete`). So while a controller sync runs, count changes only mark their node, and
//! the node's old pods are re-keyed when the sync ends: the pods a sync deletes are the first in
//! the order as it stood when the sync began.

use super::*;
use crate::k8s::replicaset::{api_timestamp, deletion_class, deletion_order, logarithmic_rank};
use crate::k8s::replicaset::{DeletionCandidate, PodPhase};

/// (deletion class, pod id): the min-tree's keys.
type Key = (u64, u32);
/// An empty position (above every class, which stays below 2^36).
const EMPTY: Key = (u64::MAX, u32::MAX);
/// `ready_pos` of a pod not Running.
const NOT_READY: u32 = u32::MAX;

/// The minimum key over positions, with the two descents the victim query needs.
struct MinTree {
    /// Leaves: a power of two, at least 1.
    size: usize,
    /// Node `k` holds the minimum of `2k` and `2k + 1`; leaves at `size..2 * size`.
    t: Vec<Key>,
}

impl MinTree {
    fn new(n: usize) -> MinTree {
        let size = n.next_power_of_two();
        MinTree { size, t: vec![EMPTY; 2 * size] }
    }

    /// Stops climbing at the first node whose minimum stays the same: nothing above it moves.
    /// Re-keying a node's pods mostly changes keys that are nobody's minimum, so most updates
    /// stop within a few levels.
    fn set(&mut self, i: usize, k: Key) {
        let mut p = i + self.size;
        self.t[p] = k;
        while p > 1 {
            p /= 2;
            let m = self.t[2 * p].min(self.t[2 * p + 1]);
            if self.t[p] == m {
                break;
            }
            self.t[p] = m;
        }
    }

    fn min(&self) -> Key {
        self.t[1]
    }

    /// The last position whose key is below `bound`.
    fn rightmost_below(&self, bound: Key) -> Option<usize> {
        if self.t[1] >= bound {
            return None;
        }
        let mut p = 1;
        while p < self.size {
            p = if self.t[2 * p + 1] < bound { 2 * p + 1 } else { 2 * p };
        }
        Some(p - self.size)
    }

    /// The minimum over positions `from..`.
    fn min_from(&self, from: usize) -> Key {
        let (mut lo, mut hi) = (from + self.size, 2 * self.size);
        let mut best = EMPTY;
        while lo < hi {
            if lo & 1 == 1 {
                best = best.min(self.t[lo]);
                lo += 1;
            }
            if hi & 1 == 1 {
                hi -= 1;
                best = best.min(self.t[hi]);
            }
            lo /= 2;
            hi /= 2;
        }
        best
    }
}

/// The old pods of a Deployment during its rolling update (from `update.at` until the rollout
/// is done). A pod's index is its place in `ids`, which is also its position in `by_creation`.
pub(super) struct OldPods {
    /// The pods of the old template at the rollout's start, in creation (= id) order.
    ids: Vec<PodId>,
    /// Their creation times as the API holds them: non-decreasing.
    created: Vec<SimTime>,
    /// Each pod's position in `by_ready` once Running, `NOT_READY` before.
    ready_pos: Vec<u32>,
    /// Ready times as the API holds them, by position in `by_ready`: non-decreasing.
    ready_at: Vec<SimTime>,
    /// The live old pods not Running, by index.
    by_creation: MinTree,
    /// The live old pods Running, by the order they became Running.
    by_ready: MinTree,
    /// Live old pods, and those of them not Running.
    pub(super) live: u32,
    pub(super) not_running: u32,
    /// Live pods of the Deployment (old and new template) per node: the related-pod count.
    related: Vec<u32>,
    /// The count each node's old pods are keyed with (differs from `related` only during a
    /// sync).
    keyed: Vec<u32>,
    /// The live old pods bound to each node, by index.
    on_node: Vec<Vec<u32>>,
    /// A controller sync is under way: count changes wait in `stale`, and old pods placed
    /// meanwhile (index, node) in `placed`, until it ends.
    syncing: bool,
    stale: Vec<NodeId>,
    placed: Vec<(u32, NodeId)>,
}

impl OldPods {
    fn index(&self, pod: PodId) -> Option<usize> {
        self.ids.binary_search(&pod).ok()
    }

    /// The deletion class of an old pod bound to `node` (or not bound), Running or not. Unassigned
    /// pods all get related count 0: upstream counts them under the empty node name, one value
    /// for all of them, and only their order among themselves depends on it.
    fn class(&self, node: Option<NodeId>, running: bool) -> u64 {
        deletion_class(&DeletionCandidate {
            assigned: node.is_some(),
            phase: if running { PodPhase::Running } else { PodPhase::Pending },
            // `running` is available (Ready for `min_ready`): ready, and Running.
            ready: running,
            related_on_node: node.map_or(0, |n| self.related[n.idx()]),
            // The class reads neither time nor id.
            ready_since: SimTime::ZERO,
            created: SimTime::ZERO,
            id: 0,
        })
    }

    /// Puts pod `i`'s current key in the order it belongs to: the ready order once it has a
    /// place there (it is Running), the creation order before.
    fn rekey(&mut self, i: usize, node: Option<NodeId>) {
        let running = self.ready_pos[i] != NOT_READY;
        let key = (self.class(node, running), self.ids[i].0);
        if running {
            self.by_ready.set(self.ready_pos[i] as usize, key);
        } else {
            self.by_creation.set(i, key);
        }
    }

    /// Re-keys the old pods bound to `node` (its count changed). Reads no pod: they share the
    /// node, and each one's order says whether it runs.
    fn rekey_node(&mut self, node: NodeId) {
        self.keyed[node.idx()] = self.related[node.idx()];
        let here = std::mem::take(&mut self.on_node[node.idx()]);
        for &i in &here {
            self.rekey(i as usize, Some(node));
        }
        self.on_node[node.idx()] = here;
    }

    /// The pod the ReplicaSet deletes first at `now`.
    fn victim(&self, now: SimTime) -> Option<PodId> {
        let (tree, times) = if self.by_creation.min() <= self.by_ready.min() {
            (&self.by_creation, &self.created[..])
        } else {
            (&self.by_ready, &self.ready_at[..])
        };
        let (class, _) = tree.min();
        if class == EMPTY.0 {
            return None;
        }
        // The youngest pod of the best class has the smallest logarithmic rank in it; the pods
        // sharing that rank are the class's pods from the first position of that rank on.
        let youngest = tree.rightmost_below((class + 1, 0)).expect("the class has a pod");
        let rank = logarithmic_rank(times[youngest], now);
        let from = times[..youngest].partition_point(|t| logarithmic_rank(*t, now) > rank);
        let (_, id) = tree.min_from(from);
        Some(PodId(id))
    }
}

impl World<'_> {
    /// The old pods at a rollout's start: every live pod of the workload.
    pub(super) fn start_old_pods(&mut self, workload: WorkloadId) {
        let st = &self.workloads[workload.idx()];
        let ids: Vec<PodId> = st.pods.clone();
        let n = ids.len();
        let mut old = OldPods {
            created: ids.iter().map(|p| api_timestamp(self.pods[p.idx()].created)).collect(),
            ready_pos: vec![NOT_READY; n],
            ready_at: Vec::with_capacity(n),
            by_creation: MinTree::new(n),
            by_ready: MinTree::new(n),
            live: u32::try_from(n).expect("pod count fits u32"),
            not_running: 0,
            related: vec![0; self.nodes.len()],
            keyed: Vec::new(),
            on_node: vec![Vec::new(); self.nodes.len()],
            syncing: false,
            stale: Vec::new(),
            placed: Vec::new(),
            ids,
        };
        let mut running: Vec<(SimTime, usize)> = Vec::new();
        for (i, p) in old.ids.iter().enumerate() {
            let pod = &self.pods[p.idx()];
            if pod.available {
                running.push((self.available_at(*p).expect("an available pod has started"), i));
            } else {
                old.not_running += 1;
            }
            if let Some(node) = pod.node() {
                old.related[node.idx()] += 1;
                old.on_node[node.idx()].push(i as u32);
            }
        }
        running.sort_unstable();
        for (pos, &(t, i)) in running.iter().enumerate() {
            old.ready_pos[i] = pos as u32;
            old.ready_at.push(api_timestamp(t));
        }
        old.keyed = old.related.clone();
        for i in 0..n {
            old.rekey(i, self.pods[old.ids[i].idx()].node());
        }
        self.workloads[workload.idx()].old_pods = Some(old);
    }

    /// A controller sync begins: the ranking holds still until it ends.
    pub(super) fn begin_rollout_sync(&mut self, workload: WorkloadId) {
        if let Some(old) = self.workloads[workload.idx()].old_pods.as_mut() {
            old.syncing = true;
        }
    }

    /// A controller sync ends: re-keys the old pods of the nodes whose counts changed during it
    /// (a node that lost a pod and got a replacement in the same sync, as on full nodes, keeps
    /// its count and its keys), and the old pods placed during it.
    pub(super) fn end_rollout_sync(&mut self, workload: WorkloadId) {
        let Some(old) = self.workloads[workload.idx()].old_pods.as_mut() else { return };
        old.syncing = false;
        let mut stale = std::mem::take(&mut old.stale);
        stale.sort_unstable();
        stale.dedup();
        for &node in &stale {
            if old.keyed[node.idx()] != old.related[node.idx()] {
                old.rekey_node(node);
            }
        }
        stale.clear();
        old.stale = stale;
        let mut placed = std::mem::take(&mut old.placed);
        for &(i, node) in &placed {
            old.rekey(i as usize, Some(node));
        }
        placed.clear();
        old.placed = placed;
    }

    /// The old pod the ReplicaSet deletes next.
    pub(super) fn next_old_victim(&self, workload: WorkloadId) -> Option<PodId> {
        self.workloads[workload.idx()].old_pods.as_ref().and_then(|old| old.victim(self.now))
    }

    /// The count of `workload`'s pods on `node` changed: its old pods there move, now or when
    /// the controller sync under way ends.
    fn related_count_changed(&mut self, workload: WorkloadId, node: NodeId) {
        let Some(old) = self.workloads[workload.idx()].old_pods.as_mut() else { return };
        if old.syncing {
            old.stale.push(node);
        } else {
            old.rekey_node(node);
        }
    }

    /// A pod was bound to `node` (rollout bookkeeping; nothing outside a rolling update).
    pub(super) fn note_rollout_placed(&mut self, pod: PodId, node: NodeId) {
        let w = self.pods[pod.idx()].workload;
        let Some(old) = self.workloads[w.idx()].old_pods.as_mut() else { return };
        old.related[node.idx()] += 1;
        if let Some(i) = old.index(pod) {
            // Its own key moves with the node's (placed, and counted there).
            old.on_node[node.idx()].push(i as u32);
            if old.syncing {
                old.placed.push((i as u32, node));
            }
        }
        self.related_count_changed(w, node);
    }

    /// An old pod became Running: it leaves the creation order for the end of the ready order.
    pub(super) fn note_rollout_old_running(&mut self, pod: PodId) {
        let p = &self.pods[pod.idx()];
        let (w, node) = (p.workload, p.node());
        let now = self.now;
        let Some(old) = self.workloads[w.idx()].old_pods.as_mut() else { return };
        let Some(i) = old.index(pod) else { return };
        debug_assert!(!old.syncing, "pods start between controller syncs");
        old.by_creation.set(i, EMPTY);
        old.ready_pos[i] = old.ready_at.len() as u32;
        old.ready_at.push(api_timestamp(now));
        old.not_running -= 1;
        old.rekey(i, node);
    }

    /// A pod of the workload was deleted (before its state is read again).
    pub(super) fn note_rollout_deleted(&mut self, pod: PodId, was_running: bool) {
        let p = &self.pods[pod.idx()];
        let (w, node) = (p.workload, p.node());
        let Some(old) = self.workloads[w.idx()].old_pods.as_mut() else { return };
        if let Some(i) = old.index(pod) {
            if was_running {
                old.by_ready.set(old.ready_pos[i] as usize, EMPTY);
            } else {
                old.by_creation.set(i, EMPTY);
                old.not_running -= 1;
            }
            old.live -= 1;
            if let Some(n) = node {
                let here = &mut old.on_node[n.idx()];
                let at = here.iter().position(|&j| j as usize == i).expect("a bound old pod is listed");
                here.swap_remove(at);
                // Placed and deleted within one sync: nothing to re-key at its end.
                old.placed.retain(|&(j, _)| j as usize != i);
            }
        }
        if let Some(n) = node {
            old.related[n.idx()] -= 1;
            self.related_count_changed(w, n);
        }
    }

    /// The old pods in deletion order, ranked from the pods themselves by the definition in
    /// `k8s::replicaset` (the reference the incremental order is checked against).
    pub(super) fn old_pods_ranked_by_scan(&self, workload: WorkloadId) -> Vec<PodId> {
        let st = &self.workloads[workload.idx()];
        let live = |p: &&PodId| self.pods[p.idx()].state != PodState::Terminated;
        let mut related: BTreeMap<NodeId, u32> = BTreeMap::new();
        for p in st.pods.iter().filter(live) {
            if let Some(n) = self.pods[p.idx()].node() {
                *related.entry(n).or_default() += 1;
            }
        }
        let mut cands: Vec<DeletionCandidate> = st
            .pods
            .iter()
            .filter(live)
            .filter(|p| self.pods[p.idx()].revision != st.revision)
            .map(|p| {
                let pod = &self.pods[p.idx()];
                let running = pod.available;
                DeletionCandidate {
                    assigned: pod.node().is_some(),
                    phase: if running { PodPhase::Running } else { PodPhase::Pending },
                    ready: running,
                    ready_since: self.available_at(*p).map_or(SimTime::ZERO, api_timestamp),
                    related_on_node: pod.node().map_or(0, |n| related[&n]),
                    created: api_timestamp(pod.created),
                    id: p.0,
                }
            })
            .collect();
        cands.sort_by(|a, b| deletion_order(a, b, self.now));
        cands.iter().map(|c| PodId(c.id)).collect()
    }

    /// The rollout's related-pod counts and old-pod tallies recounted (`check_invariants`).
    pub(super) fn check_old_pods(&self, workload: WorkloadId) -> Result<(), String> {
        let st = &self.workloads[workload.idx()];
        let Some(old) = st.old_pods.as_ref() else { return Ok(()) };
        let mut related = vec![0u32; self.nodes.len()];
        for p in &st.pods {
            let pod = &self.pods[p.idx()];
            if let (true, Some(n)) = (pod.state != PodState::Terminated, pod.node()) {
                related[n.idx()] += 1;
            }
        }
        if related != old.related {
            return Err(format!(
                "workload {}: related-pod counts per node differ from a recount",
                workload.0
            ));
        }
        let bound: usize = old.on_node.iter().map(Vec::len).sum();
        let want = old
            .ids
            .iter()
            .filter(|p| {
                self.pods[p.idx()].state != PodState::Terminated && self.pods[p.idx()].node().is_some()
            })
            .count();
        if bound != want {
            return Err(format!("workload {}: {bound} old pods listed on nodes, {want} bound", workload.0));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn min_tree_queries() {
        let mut t = MinTree::new(5);
        assert_eq!(t.min(), EMPTY);
        assert_eq!(t.rightmost_below((10, 0)), None);
        t.set(0, (3, 7));
        t.set(2, (2, 9));
        t.set(3, (2, 4));
        t.set(4, (5, 1));
        assert_eq!(t.min(), (2, 4));
        assert_eq!(t.rightmost_below((3, 0)), Some(3));
        assert_eq!(t.rightmost_below((4, 0)), Some(3));
        assert_eq!(t.rightmost_below((6, 0)), Some(4));
        assert_eq!(t.min_from(0), (2, 4));
        assert_eq!(t.min_from(3), (2, 4));
        assert_eq!(t.min_from(4), (5, 1));
        assert_eq!(t.min_from(5), EMPTY);
        t.set(3, EMPTY);
        assert_eq!(t.min(), (2, 9));
        assert_eq!(t.rightmost_below((3, 0)), Some(2));
        let one = MinTree::new(0);
        assert_eq!(one.min(), EMPTY);
    }
}
