//! The node-local representation, when node links are the bottleneck and no registry binds:
//! the max-min allocation then splits per node, so a change at a node re-runs that node's
//! water-fill only (`local_refill`, `water_fill_node`). The water-fill repeats the general
//! fill's float operations for one node, so its rates are the general fill's bit for bit (a
//! debug check asserts it on entry). The rate sums of every other link (registries, and the
//! shared links, peers' egress and swarms routed flows cross) are kept exactly (`LinkSum`) to see
//! when one would bind, which leaves the regime for the general fill. While none binds, a
//! change of such a link's capacity moves no rate.

use crate::ids::FlowId;
use crate::time::SimTime;
use std::cmp::{Ordering, Reverse};

use super::flow::{cap_order, link_fits, LinkSum, Scratch};
use super::Network;

impl Network {
    /// Enters the node-local regime after a general recompute if no link but a node's binds.
    /// The allocation is then every node's water-fill. After a fill over every flow the
    /// water-fills give exactly the fill's rates (a link that saturates ends at its capacity,
    /// which fails the check); after a localized fill (`recompute_changed`) they can differ in
    /// the last bits, and a node's sum more, since links outside that fill's component moved
    /// by differences. So the rates and node sums are set from the water-fills on entry, each
    /// flow settled first, a rate within EPS of the old one leaving its completion time as it
    /// was (`Flow::apply_rate`). Costs O(flows), like the fill before it.
    pub(super) fn try_enter_node_local(&mut self, now: SimTime) {
        if self.node_local || self.fast.is_some() || !self.regimes_enabled {
            return;
        }
        // The fill's own sums first: cheap.
        for link in &self.links[self.n_nodes..] {
            if !link_fits(link.rate_sum_bytes_per_s, link.capacity_bytes_per_s) {
                return;
            }
        }
        let mut sc = std::mem::take(&mut self.scratch);
        sc.pending.clear();
        sc.node_ends.clear();
        for node in 0..self.n_nodes {
            if self.links[node].flows.is_empty() {
                continue;
            }
            self.water_fill_node(node, &mut sc.by_cap, &mut sc.new_rate);
            sc.pending.extend_from_slice(&sc.new_rate);
            sc.node_ends.push((node, sc.pending.len()));
        }
        self.link_sums.fill(LinkSum::default());
        for &(id, rate) in &sc.pending {
            let (path, n) = self.flows[id.idx()].as_ref().unwrap().path();
            for &l in &path[1..n] {
                self.link_sums[l - self.n_nodes].add(rate);
            }
        }
        if !(self.n_nodes..self.links.len()).all(|l| self.local_link_fits(l)) {
            self.scratch = sc;
            return;
        }
        debug_assert!(
            sc.pending.iter().all(|&(id, rate)| {
                let old = self.flows[id.idx()].as_ref().unwrap().fill_rate_bytes_per_s;
                old == rate || (old - rate).abs() <= 1e-9 * rate.abs().max(old.abs())
            }),
            "node-local water-fill differs from the general fill"
        );
        self.apply_water_fills(now, &sc);
        self.scratch = sc;
        self.node_local = true;
        self.compact_completions();
    }

    /// Node-local regime: link `link` (not a node's) does not bind at its exact rate sum.
    pub(super) fn local_link_fits(&self, link: usize) -> bool {
        let capacity = self.links[link].capacity_bytes_per_s;
        let sum = &self.link_sums[link - self.n_nodes];
        capacity.is_infinite() || (sum.n_huge == 0 && link_fits(sum.finite_bytes_per_s(), capacity))
    }

    /// Leaves the node-local regime at `now` (a link binds): the general fill recomputes
    /// every flow, each settled from its own last update.
    pub(super) fn leave_node_local(&mut self, now: SimTime) {
        self.node_local = false;
        // Every flow crosses a link after the nodes' (a registry's, or a routed flow's other
        // links). Those sums were not kept in the regime: an empty link's is 0 now, and the
        // fill sets the others'.
        let mut seeds = Vec::new();
        for l in self.n_nodes..self.links.len() {
            if self.links[l].flows.is_empty() {
                self.links[l].rate_sum_bytes_per_s = 0.0;
            } else {
                seeds.push(l);
            }
        }
        self.recompute_component(now, &seeds);
    }

    /// Node-local regime: recomputes the nodes among `links` (registry links are skipped, their
    /// sums follow). If a registry would then bind, nothing is applied and the regime is left:
    /// the general fill starts from the rates and bytes as they were before this change (the
    /// water-fill's rates are wrong then, and a rate that is briefly infinite would settle a
    /// flow's bytes as all sent).
    pub(super) fn local_refill(&mut self, now: SimTime, links: &[usize]) {
        let mut sc = std::mem::take(&mut self.scratch);
        sc.pending.clear();
        sc.node_ends.clear();
        sc.rose_links.clear();
        for &node in links.iter().filter(|l| **l < self.n_nodes) {
            self.water_fill_node(node, &mut sc.by_cap, &mut sc.new_rate);
            sc.pending.extend_from_slice(&sc.new_rate);
            sc.node_ends.push((node, sc.pending.len()));
        }
        self.flows_recomputed_total += sc.pending.len() as u64;
        // The other links' sums at the new rates; only a link whose sum rose can start to bind.
        for &(id, rate) in &sc.pending {
            let f = self.flows[id.idx()].as_ref().unwrap();
            let old = f.fill_rate_bytes_per_s;
            if rate != old {
                let (path, n) = f.path();
                for &l in &path[1..n] {
                    self.link_sums[l - self.n_nodes].remove(old);
                    self.link_sums[l - self.n_nodes].add(rate);
                    if rate > old {
                        sc.rose_links.push(l);
                    }
                }
            }
        }
        if !sc.rose_links.iter().all(|&l| self.local_link_fits(l)) {
            // The sums are rebuilt on the next entry.
            self.scratch = sc;
            self.leave_node_local(now);
            return;
        }
        self.apply_water_fills(now, &sc);
        self.scratch = sc;
        self.compact_completions();
    }

    /// Applies the water-fills in `sc.pending` (flow, rate), node by node as `sc.node_ends`
    /// cuts them: each flow settled, then given its rate; each node's sum in the fill's order,
    /// so it matches the general fill's bit for bit.
    fn apply_water_fills(&mut self, now: SimTime, sc: &Scratch) {
        let mut start = 0;
        for &(node, end) in &sc.node_ends {
            let mut ingress_bytes_per_s = 0.0;
            for &(id, rate) in &sc.pending[start..end] {
                ingress_bytes_per_s += rate;
                let f = self.flows[id.idx()].as_mut().unwrap();
                f.settle(now);
                if let Some(finish) = f.apply_rate(now, rate) {
                    self.completions.push(Reverse((finish, id, f.generation)));
                }
            }
            let link = &mut self.links[node];
            link.rate_sum_bytes_per_s = ingress_bytes_per_s;
            debug_assert!(ingress_bytes_per_s <= link.capacity_bytes_per_s * (1.0 + 1e-6) + 1e-6);
            start = end;
        }
    }

    /// The water-fill of node `node`'s capacity under its flows' caps, as (flow, rate) in the
    /// order the general fill freezes them. It mirrors `recompute_component` restricted to one
    /// node while no registry binds, float operation for float operation: flows freeze at their
    /// caps in (cap, id) order while the cap is at most the node's level (caps go first on a
    /// tie), the level is `(capacity - frozen_sum) / n_unfrozen` from the same running sum, and
    /// once the level is below the next cap the node saturates and freezes the other flows, in
    /// link order, at that level.
    fn water_fill_node(&self, node: usize, by_cap: &mut Vec<(f64, FlowId)>, out: &mut Vec<(FlowId, f64)>) {
        let link = &self.links[node];
        let cap_of = |id: FlowId| self.flows[id.idx()].as_ref().expect("linked flow is live").cap_bytes_per_s;
        by_cap.clear();
        by_cap.extend(link.flows.iter().map(|&id| (cap_of(id), id)));
        by_cap.sort_by(cap_order);
        out.clear();
        let capacity = link.capacity_bytes_per_s;
        let mut n_unfrozen = by_cap.len() as u32;
        // An unlimited link never saturates (and `inf - inf` never becomes a NaN level).
        let mut level =
            if capacity.is_finite() && n_unfrozen > 0 { capacity / n_unfrozen as f64 } else { f64::INFINITY };
        let mut frozen_sum = 0.0;
        let mut n_capped: usize = 0;
        for &(cap, id) in by_cap.iter() {
            if cap > level {
                break;
            }
            out.push((id, cap));
            n_capped += 1;
            frozen_sum += cap;
            n_unfrozen -= 1;
            if n_unfrozen > 0 && capacity.is_finite() {
                level = (capacity - frozen_sum).max(0.0) / n_unfrozen as f64;
            }
        }
        if n_unfrozen > 0 {
            // The flows after the last capped one in (cap, id) order are the unfrozen ones.
            let last_capped = n_capped.checked_sub(1).map(|i| by_cap[i]);
            for &id in &link.flows {
                let key = (cap_of(id), id);
                if last_capped.is_none_or(|last| cap_order(&key, &last) == Ordering::Greater) {
                    out.push((id, level));
                }
            }
        }
    }
}
