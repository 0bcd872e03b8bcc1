//! Fluid bandwidth sharing: every blob download is a flow through two links (the registry's
//! egress and the node's ingress) and under its own per-connection cap. Rates are max-min fair
//! and are recomputed only when a flow starts or ends, and only for the flows that can be
//! affected: the connected component of links reachable from the changed flow.
//!
//! Progressive filling runs on that component in O((F + L) log L): all unfrozen flows share one
//! rising level; a link saturates when `capacity = frozen_rate_sum + n_unfrozen × level`, a flow
//! freezes when the level reaches its cap. A heap of per-link saturation levels (lazily
//! invalidated by a version counter) finds the next event of the fill.
//!
//! Completion times are integers (`SimTime`), rounded up from `remaining / rate`; a flow's
//! `finish_at` is authoritative (the residual float error of `remaining` is ignored), and is left
//! untouched when a recompute leaves the flow's rate unchanged, so unrelated churn never moves it.

use crate::ids::FlowId;
use crate::time::{SimDuration, SimTime};
use std::cmp::Ordering;
use std::cmp::Reverse;
use std::collections::BinaryHeap;

/// Relative tolerance for "this link is full" and "this rate did not change".
const EPS: f64 = 1e-9;

/// What a flow is for; returned when it completes or is aborted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FlowOwner {
    pub pull: crate::ids::PullId,
    pub layer: crate::ids::LayerId,
}

#[derive(Clone, Debug)]
struct Flow {
    links: [usize; 2],
    cap_bytes_per_s: f64,
    size_bytes: u64,
    remaining_bytes: f64,
    rate_bytes_per_s: f64,
    last_update: SimTime,
    finish_at: SimTime,
    owner: FlowOwner,
    /// Distinguishes this flow from earlier flows that used the same slot (stale heap entries).
    generation: u64,
    /// Fill scratch: equals the recompute's epoch once the flow's rate is fixed.
    frozen_epoch: u64,
}

#[derive(Clone, Debug, Default)]
struct Link {
    capacity_bytes_per_s: f64,
    /// Flows through this link, in insertion order (ids; removal is a swap-free retain).
    flows: Vec<FlowId>,
    rate_sum_bytes_per_s: f64,
    /// Scratch for the fill: set while the link is part of the component being recomputed.
    mark: u64,
    frozen_sum: f64,
    n_unfrozen: u32,
    version: u64,
}

/// A finished or aborted flow.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct FlowDone {
    pub flow: FlowId,
    pub owner: FlowOwner,
    /// Bytes that crossed the network for this flow.
    pub bytes: u64,
}

/// The network of one run. Link ids: `0..n_nodes` are node ingress links, then one egress link
/// per registry.
pub struct Network {
    flows: Vec<Option<Flow>>,
    free: Vec<FlowId>,
    links: Vec<Link>,
    n_nodes: usize,
    /// Completion times as a min-heap with lazy deletion: an entry is live only while its flow
    /// (same slot and generation) still finishes at that time.
    completions: BinaryHeap<Reverse<(SimTime, FlowId, u64)>>,
    next_generation: u64,
    mark_epoch: u64,
    /// Buffers reused by every recompute (no allocation per network change).
    scratch: Scratch,
    n_active: usize,
    /// Flows touched by the last recompute (for the cost counter in `--stats`).
    pub flows_recomputed_total: u64,
}

#[derive(Default)]
struct Scratch {
    comp_links: Vec<usize>,
    comp_flows: Vec<FlowId>,
    stack: Vec<usize>,
    by_cap: Vec<(f64, FlowId)>,
    new_rate: Vec<(FlowId, f64)>,
    to_freeze: Vec<FlowId>,
    heap: BinaryHeap<Sat>,
}

#[derive(PartialEq)]
struct Sat {
    level: f64,
    link: usize,
    version: u64,
}
impl Eq for Sat {}
impl PartialOrd for Sat {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Sat {
    /// Min-heap on level, then link id for a defined order.
    fn cmp(&self, other: &Self) -> Ordering {
        other.level.total_cmp(&self.level).then_with(|| other.link.cmp(&self.link))
    }
}

impl Network {
    /// `node_bw` and `registry_bw` in bytes/s; `f64::INFINITY` = unlimited.
    pub fn new(node_bw: &[f64], registry_bw: &[f64]) -> Network {
        let mut links = Vec::with_capacity(node_bw.len() + registry_bw.len());
        for &c in node_bw.iter().chain(registry_bw) {
            assert!(c > 0.0, "validated: capacities are positive");
            links.push(Link { capacity_bytes_per_s: c, ..Link::default() });
        }
        Network {
            flows: Vec::new(),
            free: Vec::new(),
            links,
            n_nodes: node_bw.len(),
            completions: BinaryHeap::new(),
            next_generation: 0,
            mark_epoch: 0,
            scratch: Scratch::default(),
            n_active: 0,
            flows_recomputed_total: 0,
        }
    }

    pub fn n_active(&self) -> usize {
        self.n_active
    }

    fn registry_link(&self, registry: usize) -> usize {
        self.n_nodes + registry
    }

    /// Current total rate out of a registry, bytes/s.
    pub fn registry_egress_bytes_per_s(&self, registry: usize) -> f64 {
        self.links[self.registry_link(registry)].rate_sum_bytes_per_s
    }

    /// Current total rate into a node, bytes/s.
    pub fn node_ingress_bytes_per_s(&self, node: usize) -> f64 {
        self.links[node].rate_sum_bytes_per_s
    }

    /// Flows currently through a registry's egress.
    pub fn registry_flows(&self, registry: usize) -> usize {
        self.links[self.registry_link(registry)].flows.len()
    }

    /// Earliest completion among active flows.
    pub fn next_completion(&mut self) -> Option<SimTime> {
        while let Some(&Reverse((t, id, generation))) = self.completions.peek() {
            if self.is_live(t, id, generation) {
                return Some(t);
            }
            self.completions.pop();
        }
        None
    }

    fn is_live(&self, t: SimTime, id: FlowId, generation: u64) -> bool {
        matches!(&self.flows[id.idx()], Some(f) if f.generation == generation && f.finish_at == t)
    }

    /// Drops stale heap entries when they outnumber live ones (bounds memory under churn).
    fn compact_completions(&mut self) {
        if self.completions.len() > 2 * self.n_active + 1024 {
            let live: Vec<Reverse<(SimTime, FlowId, u64)>> = self
                .flows
                .iter()
                .enumerate()
                .filter_map(|(i, f)| {
                    f.as_ref().map(|f| Reverse((f.finish_at, FlowId::from_idx(i), f.generation)))
                })
                .filter(|Reverse((t, _, _))| *t != SimTime::MAX)
                .collect();
            self.completions = BinaryHeap::from(live);
        }
    }

    /// Starts a download of `size_bytes` from `registry` to `node`.
    pub fn add_flow(
        &mut self,
        now: SimTime,
        node: usize,
        registry: usize,
        cap_bytes_per_s: f64,
        size_bytes: u64,
        owner: FlowOwner,
    ) -> FlowId {
        assert!(cap_bytes_per_s > 0.0);
        let links = [node, self.registry_link(registry)];
        let flow = Flow {
            links,
            cap_bytes_per_s,
            size_bytes,
            remaining_bytes: size_bytes as f64,
            rate_bytes_per_s: 0.0,
            last_update: now,
            finish_at: SimTime::MAX,
            owner,
            generation: self.next_generation,
            frozen_epoch: 0,
        };
        self.next_generation += 1;
        let id = match self.free.pop() {
            Some(id) => {
                self.flows[id.idx()] = Some(flow);
                id
            }
            None => {
                self.flows.push(Some(flow));
                FlowId::from_idx(self.flows.len() - 1)
            }
        };
        for l in links {
            self.links[l].flows.push(id);
        }
        self.n_active += 1;
        self.recompute_component(now, &links);
        id
    }

    /// Removes every flow whose `finish_at <= now`, in (finish time, id) order.
    pub fn take_completed(&mut self, now: SimTime) -> Vec<FlowDone> {
        let mut done = Vec::new();
        let mut touched = Vec::new();
        while let Some(&Reverse((t, id, generation))) = self.completions.peek() {
            if !self.is_live(t, id, generation) {
                self.completions.pop();
                continue;
            }
            if t > now {
                break;
            }
            self.completions.pop();
            let f = self.detach(id);
            touched.extend_from_slice(&f.links);
            done.push(FlowDone { flow: id, owner: f.owner, bytes: f.size_bytes });
        }
        if !touched.is_empty() {
            touched.sort_unstable();
            touched.dedup();
            self.recompute_component(now, &touched);
        }
        done
    }

    /// Aborts a flow (the pull failed); returns the bytes it had moved.
    pub fn abort(&mut self, now: SimTime, id: FlowId) -> FlowDone {
        let rate = self.flows[id.idx()].as_ref().expect("abort of a live flow").rate_bytes_per_s;
        let f = self.flows[id.idx()].as_ref().unwrap();
        let moved = if rate.is_infinite() {
            f.size_bytes as f64
        } else {
            (f.size_bytes as f64 - (f.remaining_bytes - rate * now.since(f.last_update).as_secs_f64()))
                .clamp(0.0, f.size_bytes as f64)
        };
        let f = self.detach(id); // its heap entry is now stale
        self.recompute_component(now, &f.links);
        FlowDone { flow: id, owner: f.owner, bytes: moved.round() as u64 }
    }

    fn detach(&mut self, id: FlowId) -> Flow {
        let f = self.flows[id.idx()].take().expect("live flow");
        for l in f.links {
            let link = &mut self.links[l];
            if let Some(pos) = link.flows.iter().position(|x| *x == id) {
                link.flows.remove(pos);
            }
        }
        self.free.push(id);
        self.n_active -= 1;
        f
    }

    /// Max-min fair rates for every flow connected to `seeds` (links), settling bytes first.
    fn recompute_component(&mut self, now: SimTime, seeds: &[usize]) {
        self.mark_epoch += 1;
        let epoch = self.mark_epoch;
        // Collect the component: links reachable through shared flows.
        let mut sc = std::mem::take(&mut self.scratch);
        let Scratch { comp_links, comp_flows, stack, by_cap, new_rate, to_freeze, heap } = &mut sc;
        comp_links.clear();
        comp_flows.clear();
        stack.clear();
        for &l in seeds {
            if self.links[l].mark != epoch {
                self.links[l].mark = epoch;
                stack.push(l);
            }
        }
        while let Some(l) = stack.pop() {
            comp_links.push(l);
            for i in 0..self.links[l].flows.len() {
                let fid = self.links[l].flows[i];
                let f = self.flows[fid.idx()].as_ref().expect("linked flow is live");
                let other = if f.links[0] == l { f.links[1] } else { f.links[0] };
                // Each flow is seen from both of its links; duplicates are removed below.
                comp_flows.push(fid);
                if self.links[other].mark != epoch {
                    self.links[other].mark = epoch;
                    stack.push(other);
                }
            }
        }
        comp_flows.sort_unstable();
        comp_flows.dedup();
        comp_links.sort_unstable();
        self.flows_recomputed_total += comp_flows.len() as u64;

        // Settle: bytes moved at the old rates since each flow's last update.
        for &fid in comp_flows.iter() {
            let f = self.flows[fid.idx()].as_mut().unwrap();
            let dt = now.since(f.last_update).as_secs_f64();
            if f.rate_bytes_per_s.is_finite() {
                f.remaining_bytes = (f.remaining_bytes - f.rate_bytes_per_s * dt).max(0.0);
            } else if f.rate_bytes_per_s > 0.0 {
                f.remaining_bytes = 0.0;
            }
            f.last_update = now;
        }

        // Progressive filling. A flow is frozen once its `frozen_epoch` is this epoch.
        for &l in comp_links.iter() {
            let link = &mut self.links[l];
            link.frozen_sum = 0.0;
            link.n_unfrozen = link.flows.len() as u32;
            link.version += 1;
        }
        new_rate.clear();
        by_cap.clear();
        by_cap.extend(
            comp_flows.iter().map(|&fid| (self.flows[fid.idx()].as_ref().unwrap().cap_bytes_per_s, fid)),
        );
        by_cap.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
        heap.clear();
        for &l in comp_links.iter() {
            let link = &self.links[l];
            // An unlimited link never saturates: it never enters the heap (and `inf - inf`
            // never turns into a NaN share).
            if link.n_unfrozen > 0 && link.capacity_bytes_per_s.is_finite() {
                heap.push(Sat {
                    level: link.capacity_bytes_per_s / link.n_unfrozen as f64,
                    link: l,
                    version: link.version,
                });
            }
        }
        let is_frozen =
            |flows: &Vec<Option<Flow>>, fid: FlowId| flows[fid.idx()].as_ref().unwrap().frozen_epoch == epoch;
        let mut cap_idx = 0;
        let mut n_frozen = 0;
        while n_frozen < comp_flows.len() {
            // Drop stale heap entries.
            while let Some(top) = heap.peek() {
                if top.version != self.links[top.link].version || self.links[top.link].n_unfrozen == 0 {
                    heap.pop();
                } else {
                    break;
                }
            }
            while cap_idx < by_cap.len() && is_frozen(&self.flows, by_cap[cap_idx].1) {
                cap_idx += 1;
            }
            let link_level = heap.peek().map(|s| s.level).unwrap_or(f64::INFINITY);
            let cap_level = by_cap.get(cap_idx).map(|c| c.0).unwrap_or(f64::INFINITY);
            // Flows to freeze at this level, and the level itself.
            to_freeze.clear();
            let level = if cap_level <= link_level {
                to_freeze.push(by_cap[cap_idx].1);
                cap_level
            } else {
                let sat = heap.pop().unwrap();
                let flows = &self.flows;
                to_freeze
                    .extend(self.links[sat.link].flows.iter().copied().filter(|fid| !is_frozen(flows, *fid)));
                sat.level
            };
            for &fid in to_freeze.iter() {
                let f = self.flows[fid.idx()].as_mut().unwrap();
                if f.frozen_epoch == epoch {
                    continue;
                }
                f.frozen_epoch = epoch;
                let links = f.links;
                n_frozen += 1;
                new_rate.push((fid, level));
                for l in links {
                    let link = &mut self.links[l];
                    link.frozen_sum += level;
                    link.n_unfrozen -= 1;
                    link.version += 1;
                    if link.n_unfrozen > 0 && link.capacity_bytes_per_s.is_finite() {
                        let remaining = (link.capacity_bytes_per_s - link.frozen_sum).max(0.0);
                        heap.push(Sat {
                            level: remaining / link.n_unfrozen as f64,
                            link: l,
                            version: link.version,
                        });
                    }
                }
            }
        }

        // Apply rates and completion times.
        for &l in comp_links.iter() {
            self.links[l].rate_sum_bytes_per_s = 0.0;
        }
        for &(fid, rate) in new_rate.iter() {
            let f = self.flows[fid.idx()].as_mut().unwrap();
            for l in f.links {
                self.links[l].rate_sum_bytes_per_s += rate;
            }
            let unchanged = f.finish_at != SimTime::MAX
                && (rate == f.rate_bytes_per_s || (rate - f.rate_bytes_per_s).abs() <= EPS * rate.abs());
            if unchanged {
                continue;
            }
            f.rate_bytes_per_s = rate;
            let finish = if f.remaining_bytes <= 0.0 || rate.is_infinite() {
                now
            } else {
                now.plus(SimDuration::from_secs_f64_ceil(f.remaining_bytes / rate))
            };
            if finish != f.finish_at {
                f.finish_at = finish;
                self.completions.push(Reverse((finish, fid, f.generation)));
            }
        }
        self.scratch = sc;
        self.compact_completions();
        debug_assert!(self.check_capacities().is_ok(), "{:?}", self.check_capacities());
    }

    /// Invariant: no link carries more than its capacity (within float tolerance).
    pub fn check_capacities(&self) -> Result<(), String> {
        for (i, l) in self.links.iter().enumerate() {
            if l.rate_sum_bytes_per_s > l.capacity_bytes_per_s * (1.0 + 1e-6) + 1e-6 {
                return Err(format!(
                    "link {i} carries {} B/s over its capacity {} B/s",
                    l.rate_sum_bytes_per_s, l.capacity_bytes_per_s
                ));
            }
        }
        Ok(())
    }

    /// Current rate of a flow (tests and invariants).
    pub fn rate_of(&self, id: FlowId) -> Option<f64> {
        self.flows.get(id.idx()).and_then(|f| f.as_ref()).map(|f| f.rate_bytes_per_s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::{LayerId, PullId};

    const MB: u64 = 1_000_000;
    fn owner(i: u32) -> FlowOwner {
        FlowOwner { pull: PullId(i), layer: LayerId(i) }
    }
    fn secs(s: u64) -> SimTime {
        SimTime(s * 1_000_000_000)
    }

    #[test]
    fn single_flow_per_connection_cap() {
        let mut n = Network::new(&[f64::INFINITY], &[f64::INFINITY]);
        n.add_flow(SimTime::ZERO, 0, 0, 100e6, 100 * MB, owner(0));
        assert_eq!(n.next_completion(), Some(secs(1)));
        let done = n.take_completed(secs(1));
        assert_eq!(done.len(), 1);
        assert_eq!(done[0].bytes, 100 * MB);
        assert_eq!(n.n_active(), 0);
    }

    #[test]
    fn two_flows_share_node_link_then_speed_up() {
        // 100 MB/s node link, flows of 100 MB and 50 MB: both at 50 MB/s until the small one
        // ends at 1 s, then the big one gets 100 MB/s for its last 50 MB: ends at 1.5 s.
        let mut n = Network::new(&[100e6], &[f64::INFINITY]);
        let a = n.add_flow(SimTime::ZERO, 0, 0, f64::INFINITY, 100 * MB, owner(0));
        n.add_flow(SimTime::ZERO, 0, 0, f64::INFINITY, 50 * MB, owner(1));
        assert_eq!(n.rate_of(a), Some(50e6));
        assert_eq!(n.next_completion(), Some(secs(1)));
        assert_eq!(n.take_completed(secs(1)).len(), 1);
        assert_eq!(n.rate_of(a), Some(100e6));
        assert_eq!(n.next_completion(), Some(SimTime(1_500_000_000)));
    }

    #[test]
    fn max_min_fairness_across_registry_and_nodes() {
        // Registry 90 MB/s; node 0 has 20 MB/s, node 1 and 2 are unlimited.
        // Node 0's flow is capped by its link at 20; the other two split the remaining 70: 35 each.
        let mut n = Network::new(&[20e6, f64::INFINITY, f64::INFINITY], &[90e6]);
        let a = n.add_flow(SimTime::ZERO, 0, 0, f64::INFINITY, MB, owner(0));
        let b = n.add_flow(SimTime::ZERO, 1, 0, f64::INFINITY, MB, owner(1));
        let c = n.add_flow(SimTime::ZERO, 2, 0, f64::INFINITY, MB, owner(2));
        assert_eq!(n.rate_of(a), Some(20e6));
        assert_eq!(n.rate_of(b), Some(35e6));
        assert_eq!(n.rate_of(c), Some(35e6));
        assert!(n.check_capacities().is_ok());
        assert!((n.registry_egress_bytes_per_s(0) - 90e6).abs() < 1.0);
    }

    #[test]
    fn independent_components_are_not_touched() {
        let mut n = Network::new(&[100e6, 100e6], &[f64::INFINITY, f64::INFINITY]);
        let a = n.add_flow(SimTime::ZERO, 0, 0, f64::INFINITY, 100 * MB, owner(0));
        let before = n.flows_recomputed_total;
        n.add_flow(SimTime(1), 1, 1, f64::INFINITY, 100 * MB, owner(1));
        assert_eq!(n.flows_recomputed_total - before, 1, "only the new flow's component");
        assert_eq!(n.rate_of(a), Some(100e6));
    }

    #[test]
    fn abort_reports_moved_bytes() {
        let mut n = Network::new(&[100e6], &[f64::INFINITY]);
        let a = n.add_flow(SimTime::ZERO, 0, 0, f64::INFINITY, 100 * MB, owner(0));
        let d = n.abort(SimTime(500_000_000), a);
        assert_eq!(d.bytes, 50 * MB);
        assert_eq!(n.next_completion(), None);
    }

    #[test]
    fn two_unlimited_flows_both_get_infinite_rates() {
        // Regression (swarm seed 1454): the second flow on an unlimited link used to get a
        // NaN-clamped zero share.
        let mut n = Network::new(&[f64::INFINITY], &[f64::INFINITY]);
        let a = n.add_flow(secs(1), 0, 0, f64::INFINITY, 10 * MB, owner(0));
        let b = n.add_flow(secs(1), 0, 0, f64::INFINITY, 10 * MB, owner(1));
        assert_eq!(n.rate_of(a), Some(f64::INFINITY));
        assert_eq!(n.rate_of(b), Some(f64::INFINITY));
        assert_eq!(n.take_completed(secs(1)).len(), 2);
    }

    #[test]
    fn unlimited_everything_completes_instantly() {
        let mut n = Network::new(&[f64::INFINITY], &[f64::INFINITY]);
        n.add_flow(secs(3), 0, 0, f64::INFINITY, 100 * MB, owner(0));
        assert_eq!(n.next_completion(), Some(secs(3)));
    }
}
