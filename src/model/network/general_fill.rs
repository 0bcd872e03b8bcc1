//! The general representation: max-min fair rates by progressive filling over the connected
//! component of links a change reaches (`recompute_component`). It is exact whatever binds, so
//! it is the fallback every other representation leaves for, the state each of them is entered
//! from, and the reference the tests compare them with.

use crate::ids::FlowId;
use crate::time::SimTime;
use std::cmp::Reverse;

use super::flow::{cap_order, Flow, Sat, Scratch};
use super::Network;

/// A link at its capacity up to this relative margin counts as saturated for the localized
/// fill's walk (the fill itself freezes at the exact level).
const SATURATED: f64 = 1e-9;

impl Network {
    /// Max-min fair rates after a change at `seeds` (links). Tries the localized fill first:
    /// the component reached from the seeds through *saturated* links only, every other link
    /// taken as one that will not bind. That is the max-min allocation whenever no link outside
    /// the component reaches its capacity at the new rates (a flow outside is limited by its
    /// cap or by a saturated link none of the component's flows crosses, so its rate stands);
    /// otherwise the whole component is recomputed. Used while routed flows are in flight (a
    /// peer's egress, a swarm or a shared link binds far from most changes); the reference
    /// network of the tests always runs the whole component.
    pub(super) fn recompute_changed(&mut self, now: SimTime, seeds: &[usize]) {
        // Only with routed flows in flight: without, the other representations serve most
        // changes, and the mixed regime is entered from a fill over every flow.
        if !self.regimes_enabled || self.n_routed == 0 || !self.recompute(now, seeds, true) {
            self.recompute(now, seeds, false);
        }
    }

    /// Max-min fair rates for every flow connected to `seeds` (links), settling bytes first.
    pub(super) fn recompute_component(&mut self, now: SimTime, seeds: &[usize]) {
        self.recompute(now, seeds, false);
    }

    /// `local`: the walk crosses saturated links only, and the result is applied only if no
    /// link outside the component would exceed its capacity (`false` is returned, nothing
    /// applied, when one would: bytes are settled, which a second call at the same `now`
    /// leaves as they are).
    fn recompute(&mut self, now: SimTime, seeds: &[usize], local: bool) -> bool {
        self.mark_epoch += 1;
        let epoch = self.mark_epoch;
        // Collect the component: links reachable through shared flows.
        let mut sc = std::mem::take(&mut self.scratch);
        let Scratch { comp_links, comp_flows, stack, by_cap, new_rate, to_freeze, heap, .. } = &mut sc;
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
                // Each flow is seen from every one of its links; duplicates are removed below.
                comp_flows.push(fid);
                let (path, n) = f.path();
                for &other in &path[..n] {
                    let o = &self.links[other];
                    if o.mark != epoch
                        && (!local
                            || (o.capacity_bytes_per_s.is_finite()
                                && o.rate_sum_bytes_per_s >= o.capacity_bytes_per_s * (1.0 - SATURATED)))
                    {
                        self.links[other].mark = epoch;
                        stack.push(other);
                    }
                }
            }
        }
        comp_flows.sort_unstable();
        comp_flows.dedup();
        comp_links.sort_unstable();
        self.flows_recomputed_total += comp_flows.len() as u64;

        // Settle: bytes moved at the old rates since each flow's last update.
        for &fid in comp_flows.iter() {
            self.flows[fid.idx()].as_mut().unwrap().settle(now);
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
        by_cap.sort_by(cap_order);
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
                let (path, n) = f.path();
                n_frozen += 1;
                new_rate.push((fid, level));
                for &l in &path[..n] {
                    let link = &mut self.links[l];
                    if link.mark != epoch {
                        continue; // outside a localized fill's component: taken as not binding
                    }
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

        if local {
            // Links outside the component that the component's flows cross: their sums move by
            // the flows' changes (in `frozen_sum`, free outside the component); none may reach
            // its capacity.
            for &(fid, _) in new_rate.iter() {
                let (path, n) = self.flows[fid.idx()].as_ref().unwrap().path();
                for &l in &path[..n] {
                    if self.links[l].mark != epoch {
                        self.links[l].frozen_sum = 0.0;
                    }
                }
            }
            for &(fid, rate) in new_rate.iter() {
                let f = self.flows[fid.idx()].as_ref().unwrap();
                let (path, n) = f.path();
                for &l in &path[..n] {
                    if self.links[l].mark != epoch {
                        self.links[l].frozen_sum += rate - f.fill_rate_bytes_per_s;
                    }
                }
            }
            let binds = new_rate.iter().any(|&(fid, _)| {
                let (path, n) = self.flows[fid.idx()].as_ref().unwrap().path();
                path[..n].iter().any(|&l| {
                    let link = &self.links[l];
                    link.mark != epoch
                        && link.frozen_sum > 0.0
                        && !super::flow::link_fits(
                            link.rate_sum_bytes_per_s + link.frozen_sum,
                            link.capacity_bytes_per_s,
                        )
                })
            });
            if binds {
                self.scratch = sc;
                return false;
            }
        }

        // Apply rates and completion times.
        for &l in comp_links.iter() {
            self.links[l].rate_sum_bytes_per_s = 0.0;
        }
        for &(fid, rate) in new_rate.iter() {
            let f = self.flows[fid.idx()].as_mut().unwrap();
            let (path, n) = f.path();
            let old = f.fill_rate_bytes_per_s;
            for &l in &path[..n] {
                let link = &mut self.links[l];
                // Outside the component (localized fill): the sum moves by the change.
                link.rate_sum_bytes_per_s += if link.mark == epoch { rate } else { rate - old };
            }
            if let Some(finish) = f.apply_rate(now, rate) {
                self.completions.push(Reverse((finish, fid, f.generation)));
            }
        }
        self.scratch = sc;
        self.compact_completions();
        debug_assert!(self.check_capacities().is_ok(), "{:?}", self.check_capacities());
        true
    }
}
