//! The general representation: max-min fair rates by progressive filling over the connected
//! component of links a change reaches (`recompute_component`). It is exact whatever binds, so
//! it is the fallback every other representation leaves for, the state each of them is entered
//! from, and the reference the tests compare them with. With routed flows in flight a change
//! first tries a localized fill (`recompute_changed`): the saturated links it reaches and the
//! flows they bottleneck, the other flows kept at their rates.

use crate::ids::FlowId;
use crate::time::SimTime;
use std::cmp::Reverse;

use super::flow::{cap_order, Flow, Sat, Scratch};
use super::Network;

/// A localized fill whose result would make a link outside its component bind, or leave a
/// kept flow above a saturated level, is retried with those links and flows added to the walk
/// this many times, then the whole component is filled.
const MAX_EXPANSIONS: usize = 4;

/// How often the localized fill ran with fixed flows, and was retried for a fixed flow above
/// a saturated level or for a link outside that would bind (the equivalence tests check that
/// their cases reach each).
#[cfg(test)]
pub(super) static LOCALIZED_COUNTS: [std::sync::atomic::AtomicU64; 3] =
    [const { std::sync::atomic::AtomicU64::new(0) }; 3];

#[cfg(test)]
fn count(i: usize) {
    LOCALIZED_COUNTS[i].fetch_add(1, std::sync::atomic::Ordering::Relaxed);
}

/// Relative margin under a saturated link's highest rate within which a flow counts as
/// bottlenecked there (the fill gives the flows it bottlenecks one level, bit for bit).
const BOTTLENECK_TOLERANCE: f64 = 1e-9;

impl Network {
    /// Max-min fair rates after a change: `forced` links were saturated before it (their
    /// capacity changed, or a flow left them), `path` links are the others it touched (the
    /// links of the flows that came or went, capacities that changed), and `new_flow` is the
    /// flow that came, if one did.
    ///
    /// With routed flows in flight it tries the localized fill first: the component reached
    /// from `forced`, from the saturated links among `path` and from `new_flow`, through
    /// *saturated* links only and, from a link, to the flows it bottlenecks only (see
    /// `recompute`); every other link is taken as one that will not bind. That is the
    /// max-min allocation whenever no link outside the component reaches its capacity at the
    /// new rates (a flow outside is limited by its cap or by a saturated link none of the
    /// component's flows crosses, so its rate stands; a link that was not saturated limited
    /// nobody, so a flow leaving it frees nothing). When one would, the walk is retried from
    /// those links too (`MAX_EXPANSIONS` times), then the whole component of every link given
    /// is recomputed. Used while routed flows are in flight (a peer's egress, a swarm or a
    /// shared link binds far from most changes); the reference network of the tests, and the
    /// general fill without routed flows, always fill the whole component.
    pub(super) fn recompute_changed(
        &mut self,
        now: SimTime,
        forced: &[usize],
        path: &[usize],
        new_flow: Option<FlowId>,
    ) {
        let new_flows: &[FlowId] = match &new_flow {
            Some(id) => std::slice::from_ref(id),
            None => &[],
        };
        if !self.regimes_enabled || self.n_routed == 0 {
            self.recompute(now, forced, path, new_flows, false);
            return;
        }
        if self.recompute(now, forced, path, new_flows, true) {
            return;
        }
        let mut grown = forced.to_vec();
        let mut flows = new_flows.to_vec();
        for _ in 1..MAX_EXPANSIONS {
            grown.append(&mut self.scratch.outside_binding);
            flows.append(&mut self.scratch.outside_flows);
            if self.recompute(now, &grown, path, &flows, true) {
                return;
            }
        }
        grown.append(&mut self.scratch.outside_binding);
        self.recompute(now, &grown, path, new_flows, false);
    }

    /// Max-min fair rates for every flow connected to `seeds` (links), settling bytes first.
    pub(super) fn recompute_component(&mut self, now: SimTime, seeds: &[usize]) {
        self.recompute(now, seeds, &[], &[], false);
    }

    /// General fill: a flow has left (`detach`ed, not in the closed form or the node-local
    /// regime). Its rate comes off the sums of its links, and the links it leaves that were
    /// saturated before are pushed on `saturated` (a localized fill must start from them:
    /// their other flows may rise). A link left empty sums to exactly 0.
    pub(super) fn release_path(
        &mut self,
        path: &[usize],
        fill_rate_bytes_per_s: f64,
        saturated: &mut Vec<usize>,
    ) {
        for &l in path {
            let link = &mut self.links[l];
            if is_saturated(link.rate_sum_bytes_per_s, link.capacity_bytes_per_s) {
                saturated.push(l);
            }
            if link.flows.is_empty() {
                link.rate_sum_bytes_per_s = 0.0;
            } else if fill_rate_bytes_per_s.is_finite() {
                link.rate_sum_bytes_per_s -= fill_rate_bytes_per_s;
            } else {
                self.resum_link(l); // `inf - inf` would be NaN
            }
        }
    }

    /// Puts flow `id` in the component of fill `epoch` (once) and its links to walk: all of
    /// them, or when `local` the saturated ones.
    fn join_component(
        &mut self,
        id: FlowId,
        epoch: u64,
        local: bool,
        comp_flows: &mut Vec<FlowId>,
        stack: &mut Vec<usize>,
    ) {
        let f = self.flows[id.idx()].as_mut().expect("a live flow");
        if f.comp_epoch == epoch {
            return;
        }
        f.comp_epoch = epoch;
        comp_flows.push(id);
        let (path, n) = f.path();
        for &other in &path[..n] {
            let o = &self.links[other];
            if o.mark != epoch && (!local || is_saturated(o.rate_sum_bytes_per_s, o.capacity_bytes_per_s)) {
                self.links[other].mark = epoch;
                stack.push(other);
            }
        }
    }

    /// A link's rate sum added up again from its flows' rates (an unlimited rate came or went).
    fn resum_link(&mut self, l: usize) {
        let flows = &self.flows;
        let sum = self.links[l]
            .flows
            .iter()
            .map(|id| flows[id.idx()].as_ref().unwrap().fill_rate_bytes_per_s)
            .sum();
        self.links[l].rate_sum_bytes_per_s = sum;
    }

    /// `local`: the walk crosses saturated links only (beyond `forced`), and from a link only
    /// to the flows it bottlenecks (those at its highest rate);
    /// the other flows of the component's links keep their rates (*fixed*). The result is
    /// applied only if no link outside the component would reach its capacity and no fixed
    /// flow runs above the level at which a link of the component saturates; otherwise `false`
    /// is returned, nothing applied, and those links and flows are left in
    /// `scratch.outside_binding` and `scratch.outside_flows` (bytes are settled, which a second
    /// call at the same `now` leaves as they are). Not `local`: every link of `forced` and
    /// `path`, everything connected to them, every flow of those links.
    fn recompute(
        &mut self,
        now: SimTime,
        forced: &[usize],
        path: &[usize],
        new_flows: &[FlowId],
        local: bool,
    ) -> bool {
        self.mark_epoch += 1;
        let epoch = self.mark_epoch;
        // Collect the component: links reachable through shared flows.
        let mut sc = std::mem::take(&mut self.scratch);
        let Scratch {
            comp_links,
            comp_flows,
            stack,
            by_cap,
            new_rate,
            to_freeze,
            heap,
            outside_binding,
            outside_flows,
            saturated_at,
            batch_links,
            ..
        } = &mut sc;
        comp_links.clear();
        comp_flows.clear();
        stack.clear();
        outside_binding.clear();
        outside_flows.clear();
        saturated_at.clear();
        for (i, &l) in forced.iter().chain(path).enumerate() {
            let link = &self.links[l];
            let walk = !local
                || i < forced.len()
                || is_saturated(link.rate_sum_bytes_per_s, link.capacity_bytes_per_s);
            if walk && link.mark != epoch {
                self.links[l].mark = epoch;
                stack.push(l);
            }
        }
        for &id in new_flows {
            self.join_component(id, epoch, local, comp_flows, stack);
        }
        while let Some(l) = stack.pop() {
            comp_links.push(l);
            // A saturated link bottlenecks the flows at its highest rate; a flow below it is
            // limited elsewhere, and its rate stands unless this link's level falls below it
            // (checked after the fill).
            let bottleneck_rate = if !local {
                f64::NEG_INFINITY
            } else {
                let top = self.links[l]
                    .flows
                    .iter()
                    .map(|id| self.flows[id.idx()].as_ref().unwrap().fill_rate_bytes_per_s)
                    .fold(f64::NEG_INFINITY, f64::max);
                top - BOTTLENECK_TOLERANCE * top.abs()
            };
            for i in 0..self.links[l].flows.len() {
                let fid = self.links[l].flows[i];
                if self.flows[fid.idx()].as_ref().expect("linked flow is live").fill_rate_bytes_per_s
                    >= bottleneck_rate
                {
                    self.join_component(fid, epoch, local, comp_flows, stack);
                }
            }
        }
        comp_flows.sort_unstable();
        comp_links.sort_unstable();
        self.flows_recomputed_total += comp_flows.len() as u64;

        // Settle: bytes moved at the old rates since each flow's last update.
        for &fid in comp_flows.iter() {
            self.flows[fid.idx()].as_mut().unwrap().settle(now);
        }

        // Progressive filling. A flow is frozen once its `frozen_epoch` is this epoch; a fixed
        // flow is frozen from the start, its rate in its links' `fixed_sum`.
        for &l in comp_links.iter() {
            let mut fixed_sum = 0.0;
            let mut n_fixed = 0;
            if local {
                for i in 0..self.links[l].flows.len() {
                    let f = self.flows[self.links[l].flows[i].idx()].as_mut().unwrap();
                    if f.comp_epoch != epoch {
                        f.frozen_epoch = epoch;
                        fixed_sum += f.fill_rate_bytes_per_s;
                        n_fixed += 1;
                    }
                }
            }
            let link = &mut self.links[l];
            link.fixed_sum = fixed_sum;
            link.frozen_sum = fixed_sum;
            link.n_unfrozen = (link.flows.len() - n_fixed) as u32;
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
                let level = if link.fixed_sum > 0.0 {
                    (link.capacity_bytes_per_s - link.fixed_sum).max(0.0) / link.n_unfrozen as f64
                } else {
                    link.capacity_bytes_per_s / link.n_unfrozen as f64
                };
                heap.push(Sat { level, link: l, version: link.version });
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
                if local && self.links[sat.link].fixed_sum > 0.0 {
                    saturated_at.push((sat.link, sat.level));
                }
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
                    if !link.in_batch {
                        link.in_batch = true;
                        batch_links.push(l);
                    }
                }
            }
            // One heap entry per link the batch touched, at its level after the batch (an
            // entry per freeze would be stale before the next pop).
            for &l in batch_links.iter() {
                let link = &mut self.links[l];
                link.in_batch = false;
                if link.n_unfrozen > 0 && link.capacity_bytes_per_s.is_finite() {
                    let remaining = (link.capacity_bytes_per_s - link.frozen_sum).max(0.0);
                    heap.push(Sat {
                        level: remaining / link.n_unfrozen as f64,
                        link: l,
                        version: link.version,
                    });
                }
            }
            batch_links.clear();
        }

        if local {
            // A fixed flow above the level at which a link of the component saturated: that
            // link bottlenecks it now, so it must join.
            for &(l, level) in saturated_at.iter() {
                for &fid in &self.links[l].flows {
                    let f = self.flows[fid.idx()].as_ref().unwrap();
                    if f.comp_epoch != epoch
                        && f.fill_rate_bytes_per_s > level + BOTTLENECK_TOLERANCE * level.abs()
                        && !outside_flows.contains(&fid)
                    {
                        outside_flows.push(fid);
                    }
                }
            }
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
                    if self.links[l].mark != epoch && rate != f.fill_rate_bytes_per_s {
                        self.links[l].frozen_sum += rate - f.fill_rate_bytes_per_s;
                    }
                }
            }
            for &(fid, _) in new_rate.iter() {
                let (path, n) = self.flows[fid.idx()].as_ref().unwrap().path();
                for &l in &path[..n] {
                    let link = &self.links[l];
                    if link.mark != epoch
                        && link.frozen_sum > 0.0
                        && !super::flow::link_fits(
                            link.rate_sum_bytes_per_s + link.frozen_sum,
                            link.capacity_bytes_per_s,
                        )
                        && !outside_binding.contains(&l)
                    {
                        outside_binding.push(l);
                    }
                }
            }
            #[cfg(test)]
            {
                if comp_links.iter().any(|&l| self.links[l].fixed_sum > 0.0) {
                    count(0);
                }
                if !outside_flows.is_empty() {
                    count(1);
                }
                if !outside_binding.is_empty() {
                    count(2);
                }
            }
            if !outside_binding.is_empty() || !outside_flows.is_empty() {
                self.scratch = sc;
                return false;
            }
        }

        // Apply rates and completion times.
        for &l in comp_links.iter() {
            self.links[l].rate_sum_bytes_per_s = self.links[l].fixed_sum;
        }
        let mut resum = Vec::new();
        for &(fid, rate) in new_rate.iter() {
            let f = self.flows[fid.idx()].as_mut().unwrap();
            let (path, n) = f.path();
            let old = f.fill_rate_bytes_per_s;
            for &l in &path[..n] {
                let link = &mut self.links[l];
                if link.mark == epoch {
                    link.rate_sum_bytes_per_s += rate;
                } else if rate.is_finite() && old.is_finite() {
                    // Outside the component (localized fill): the sum moves by the change.
                    link.rate_sum_bytes_per_s += rate - old;
                } else if rate != old {
                    resum.push(l); // an unlimited rate came or went: `inf - inf` would be NaN
                }
            }
            if let Some(finish) = f.apply_rate(now, rate) {
                self.completions.push(Reverse((finish, fid, f.generation)));
            }
        }
        for l in resum {
            self.resum_link(l);
        }
        self.scratch = sc;
        self.compact_completions();
        debug_assert!(self.check_capacities().is_ok(), "{:?}", self.check_capacities());
        true
    }
}

/// A link that does not fit (`link_fits`: at its capacity up to the relative margin EPS) is
/// saturated for the localized fill's walk (the fill itself freezes at the exact level).
fn is_saturated(sum_bytes_per_s: f64, capacity_bytes_per_s: f64) -> bool {
    !super::flow::link_fits(sum_bytes_per_s, capacity_bytes_per_s)
}
