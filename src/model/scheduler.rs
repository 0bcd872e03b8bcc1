//! Places pods on nodes. `spread` takes the node with the most free pod slots (kube-scheduler's
//! LeastAllocated idea with pods as the resource), `binpack` the node with the fewest free
//! slots that still has room (MostAllocated), `image_locality` the best sum of kube-scheduler's
//! ImageLocality score (`k8s::scheduling`) and the spread score. Ties go to the lowest node
//! index. Spread and binpack use ordered sets per pool, so a placement costs O(pools × log N).
//! A workload with CPU or memory `requests` is placed only where they fit (NodeResourcesFit's
//! filter, `fits`): the policy's order is then walked until a node fits.

use super::*;
use crate::ids::PoolId;
use crate::k8s::resources::fits_request;
use crate::k8s::scheduling::{image_locality_score, PresentImage};
use crate::scenario::{Resources, SchedulerPolicy};
use std::collections::BTreeSet;

/// Free slots per joined node, ordered for the policy: `(free, tiebreak)` where `tiebreak`
/// makes the preferred node of equal `free` come first in the direction the policy scans.
pub(super) struct Index {
    policy: SchedulerPolicy,
    per_pool: Vec<BTreeSet<(u32, u32)>>,
}

impl Index {
    pub(super) fn new(scn: &Scenario) -> Index {
        Index { policy: scn.scheduler, per_pool: scn.node_pools.iter().map(|_| BTreeSet::new()).collect() }
    }

    fn key(&self, free: u32, node: NodeId) -> (u32, u32) {
        match self.policy {
            // Scanned from the back (largest free first): the lowest index must sort last.
            SchedulerPolicy::Spread | SchedulerPolicy::ImageLocality => (free, u32::MAX - node.0),
            // Scanned from the front (smallest free first).
            SchedulerPolicy::Binpack => (free, node.0),
        }
    }

    pub(super) fn update(&mut self, pool: PoolId, node: NodeId, old_free: Option<u32>, new_free: u32) {
        if let Some(f) = old_free {
            let k = self.key(f, node);
            self.per_pool[pool.idx()].remove(&k);
        }
        let k = self.key(new_free, node);
        self.per_pool[pool.idx()].insert(k);
    }

    fn decode(&self, k: (u32, u32)) -> NodeId {
        match self.policy {
            SchedulerPolicy::Spread | SchedulerPolicy::ImageLocality => NodeId(u32::MAX - k.1),
            SchedulerPolicy::Binpack => NodeId(k.1),
        }
    }

    /// The joined nodes of `pool` with room, most free slots first, then lowest index
    /// (spread and image-locality keys only).
    fn most_free_first(&self, pool: PoolId) -> impl Iterator<Item = (u32, NodeId)> + '_ {
        debug_assert!(self.policy != SchedulerPolicy::Binpack);
        self.per_pool[pool.idx()].iter().rev().take_while(|k| k.0 > 0).map(|&k| (k.0, self.decode(k)))
    }

    /// Best node among `pools` for spread/binpack that `fits`: each pool's nodes are walked in
    /// the policy's order until one fits (a scan where pods' requests fill nodes before their
    /// pod slots do; `pick_ordered` without requests).
    fn pick_ordered_where(&self, pools: &[PoolId], fits: impl Fn(NodeId) -> bool) -> Option<NodeId> {
        let mut best: Option<(u32, u32)> = None;
        for p in pools {
            let set = &self.per_pool[p.idx()];
            let first = match self.policy {
                SchedulerPolicy::Binpack => set.range((1, 0)..).find(|k| fits(self.decode(**k))).copied(),
                _ => set.iter().rev().take_while(|k| k.0 > 0).find(|k| fits(self.decode(**k))).copied(),
            };
            if let Some(k) = first {
                let better = match self.policy {
                    SchedulerPolicy::Binpack => best.is_none_or(|b| k < b),
                    _ => best.is_none_or(|b| k > b),
                };
                if better {
                    best = Some(k);
                }
            }
        }
        best.map(|k| self.decode(k))
    }

    /// Best node among `pools` for spread/binpack.
    fn pick_ordered(&self, pools: &[PoolId]) -> Option<NodeId> {
        let mut best: Option<(u32, u32)> = None;
        for p in pools {
            let set = &self.per_pool[p.idx()];
            match self.policy {
                SchedulerPolicy::Binpack => {
                    if let Some(&k) = set.range((1, 0)..).next() {
                        if best.is_none_or(|b| k < b) {
                            best = Some(k);
                        }
                    }
                }
                _ => {
                    if let Some(&k) = set.last() {
                        if k.0 > 0 && best.is_none_or(|b| k > b) {
                            best = Some(k);
                        }
                    }
                }
            }
        }
        best.map(|k| self.decode(k))
    }
}

impl World<'_> {
    pub(super) fn free_slots(&self, node: NodeId) -> u32 {
        let n = &self.nodes[node.idx()];
        let max = self.scn.node_pools[n.pool.idx()].max_pods;
        max.saturating_sub(self.nodes[node.idx()].n_live_pods)
    }

    /// Registers a node's free slots after a change (join, bind, termination).
    pub(super) fn refresh_sched(&mut self, node: NodeId, old_free: Option<u32>) {
        let free = self.free_slots(node);
        let pool = self.nodes[node.idx()].pool;
        self.sched.update(pool, node, old_free, free);
    }

    fn eligible_pools(&self, pod: PodId) -> &[PoolId] {
        let wl = &self.scn.workloads[self.pods[pod.idx()].workload.idx()];
        wl.node_pools.as_deref().unwrap_or(&self.all_pools)
    }

    /// Chooses a node for `pod`, or `None` if no joined eligible node has room.
    pub(super) fn pick_node(&self, pod: PodId) -> Option<NodeId> {
        let pools = self.eligible_pools(pod);
        let requests = self.scn.workloads[self.pods[pod.idx()].workload.idx()].requests;
        match self.scn.scheduler {
            SchedulerPolicy::Spread | SchedulerPolicy::Binpack if requests == Resources::NONE => {
                self.sched.pick_ordered(pools)
            }
            SchedulerPolicy::Spread | SchedulerPolicy::Binpack => {
                self.sched.pick_ordered_where(pools, |node| self.fits(node, requests))
            }
            SchedulerPolicy::ImageLocality => self.pick_image_locality(pod, pools),
        }
    }

    /// NodeResourcesFit's filter on `node` (`k8s::resources::fits_request`).
    fn fits(&self, node: NodeId, requests: Resources) -> bool {
        let n = &self.nodes[node.idx()];
        fits_request(n.requested, requests, self.scn.node_pools[n.pool.idx()].allocatable)
    }

    /// ImageLocality's inputs: the pod's images present on `node` (every image when `None`,
    /// the best a node could hold).
    fn present_images(&self, p: &Pod, node: Option<&Node>) -> Vec<PresentImage> {
        p.containers
            .iter()
            .filter_map(|c| c.image)
            .filter(|img| node.is_none_or(|n| n.images.contains_key(img)))
            .map(|img| PresentImage {
                size_bytes: self.images[img.idx()].size_bytes,
                n_nodes_with_image: self.image_node_count[img.idx()],
            })
            .collect()
    }

    /// The node with the best ImageLocality + spread score (ties: lowest index), exactly as a
    /// scan of every joined node would find it, but visiting nodes from the most free slots
    /// down and stopping once even a node holding all the pod's images could not reach the best
    /// score found (the locality score only grows with the images present). A placement costs
    /// the nodes within one locality score of the best spread, not the whole cluster.
    fn pick_image_locality(&self, pod: PodId, pools: &[PoolId]) -> Option<NodeId> {
        let p = &self.pods[pod.idx()];
        let requests = self.scn.workloads[p.workload.idx()].requests;
        let n_joined = self.nodes_joined;
        let present_on = |n: &Node| self.present_images(p, Some(n));
        let max_locality = image_locality_score(&self.present_images(p, None), n_joined, p.containers.len());
        let mut best: Option<(i64, NodeId)> = None;
        for &pool in pools {
            let max_pods = i64::from(self.scn.node_pools[pool.idx()].max_pods.max(1));
            for (free, node) in self.sched.most_free_first(pool) {
                let spread = 100 * i64::from(free) / max_pods;
                if best.is_some_and(|(s, _)| spread + max_locality < s) {
                    break; // no later node of this pool can reach the best score
                }
                if !self.fits(node, requests) {
                    continue;
                }
                let n = &self.nodes[node.idx()];
                let score = image_locality_score(&present_on(n), n_joined, p.containers.len()) + spread;
                if best.is_none_or(|(s, b)| score > s || (score == s && node < b)) {
                    best = Some((score, node));
                }
            }
        }
        let picked = best.map(|(_, n)| n);
        debug_assert_eq!(picked, self.pick_image_locality_by_scan(pod, pools), "pruned scan differs");
        picked
    }

    /// The definition: score every joined eligible node with room (checked against the pruned
    /// search in debug builds, i.e. in every test run).
    fn pick_image_locality_by_scan(&self, pod: PodId, pools: &[PoolId]) -> Option<NodeId> {
        let p = &self.pods[pod.idx()];
        let mut best: Option<(i64, NodeId)> = None;
        for (i, n) in self.nodes.iter().enumerate() {
            let node = NodeId::from_idx(i);
            let free = self.free_slots(node);
            let requests = self.scn.workloads[p.workload.idx()].requests;
            if !n.joined || !pools.contains(&n.pool) || free == 0 || !self.fits(node, requests) {
                continue;
            }
            let present = self.present_images(p, Some(n));
            let max_pods = i64::from(self.scn.node_pools[n.pool.idx()].max_pods.max(1));
            let score = image_locality_score(&present, self.nodes_joined, p.containers.len())
                + 100 * i64::from(free) / max_pods;
            if best.is_none_or(|(s, _)| score > s) {
                best = Some((score, node));
            }
        }
        best.map(|(_, n)| n)
    }

    /// Binds a pod to a node and starts its pod worker.
    pub(super) fn bind(&mut self, pod: PodId, node: NodeId) {
        let old_free = self.nodes[node.idx()].joined.then(|| self.free_slots(node));
        self.pods[pod.idx()].bind(node);
        self.pods[pod.idx()].state = PodState::Idle;
        self.nodes[node.idx()].pods.push(pod);
        self.nodes[node.idx()].n_live_pods += 1;
        let req = self.scn.workloads[self.pods[pod.idx()].workload.idx()].requests;
        let n = &mut self.nodes[node.idx()];
        n.requested = n.requested.plus(req);
        if self.nodes[node.idx()].joined {
            self.refresh_sched(node, old_free);
        }
        self.note_rollout_placed(pod, node);
        // The kubelet starts the pod after the workload's scheduling latency (drawn per pod;
        // a constant, 0 by default, draws nothing).
        let w = self.pods[pod.idx()].workload;
        let (streams, label) = (&self.streams, self.labels.scheduling_latency);
        let latency = self.scn.workloads[w.idx()]
            .scheduling_latency_ns
            .sample_u64_with(|| streams.keyed(label, &[u64::from(pod.0)]));
        self.schedule_in(SimDuration(latency), Event::PodSync { pod });
    }

    /// Places a new pod, or queues it until a node can take it.
    pub(super) fn schedule_pod(&mut self, pod: PodId) {
        match self.pick_node(pod) {
            Some(node) => self.bind(pod, node),
            None => {
                let w = self.pods[pod.idx()].workload;
                self.unscheduled[w.idx()].push_back(pod);
            }
        }
    }

    /// Retries unscheduled pods in creation order (after a node joins or a slot frees).
    /// Pods wait in one FIFO per workload (a workload's pods share a node selector): once a
    /// workload's head pod finds no node, the rest of that workload cannot either, so a pass
    /// costs O(workloads + pods placed), not O(pods waiting).
    pub(super) fn retry_unscheduled(&mut self) {
        let mut blocked = vec![false; self.unscheduled.len()];
        loop {
            // The waiting pod created first among workloads not blocked in this pass.
            let next = (0..self.unscheduled.len())
                .filter(|w| !blocked[*w])
                .filter_map(|w| self.unscheduled[w].front().map(|p| (*p, w)))
                .min();
            let Some((pod, w)) = next else { break };
            if self.pods[pod.idx()].state != PodState::Unscheduled {
                self.unscheduled[w].pop_front();
                continue;
            }
            match self.pick_node(pod) {
                Some(node) => {
                    self.unscheduled[w].pop_front();
                    self.bind(pod, node);
                }
                None => blocked[w] = true,
            }
        }
    }
}
