//! The members of the mixed regime's set S (see `Mixed`): a node joins S *exact* (out of the
//! closed form's node check, its flows from the registry clocks to the general
//! representation) or *clocked* (only its routed flows in the solve, its registry downloads
//! left on the clocks), becomes exact when the solve finds it binding a clocked download, and
//! leaves again (its flows back on the clocks), one node at a time while the regime lasts, or
//! every node when it ends.

use crate::ids::FlowId;
use crate::time::SimTime;
use std::cmp::Reverse;

use super::flow::OrdBytes;
use super::Network;

impl Network {
    /// Puts node `node` into S, exact: out of the classes and histograms. Its flows must be in
    /// the general representation already (on entry) or be moved there (`s_admit`).
    pub(super) fn s_insert(&mut self, node: usize) {
        self.s_make_exact(node);
        self.s_push(node);
    }

    /// Puts node `node` into S, clocked (a routed flow is coming to it): its registry
    /// downloads stay on the clocks and in the classes and histograms; the solve holds its
    /// routed flows, and its link with the clocked downloads' rates counted in.
    pub(super) fn s_join_clocked(&mut self, node: usize) {
        debug_assert!(!self.mixed.in_s[node]);
        self.s_push(node);
    }

    fn s_push(&mut self, node: usize) {
        self.mixed.in_s[node] = true;
        self.mixed.sticky[node] = false;
        self.mixed.loose += 1;
        self.mixed.nodes.push(node);
    }

    /// Node `node`'s registry downloads (in the general representation) leave the classes and
    /// histograms for S's counts.
    fn s_make_exact(&mut self, node: usize) {
        self.class_remove(node);
        for r in 0..self.n_registries {
            let k = self.node_flows(node)[r];
            self.reg_max[r].moved(k, 0);
            self.mixed.s_k[r] += k;
        }
        self.total_max.moved(self.node_total[node], 0);
        self.mixed.exact[node] = true;
    }

    /// The inverse of `s_make_exact`: back into the classes and histograms.
    fn s_unmake_exact(&mut self, node: usize) {
        self.mixed.exact[node] = false;
        for r in 0..self.n_registries {
            let k = self.node_flows(node)[r];
            self.reg_max[r].moved(0, k);
            self.mixed.s_k[r] -= k;
        }
        self.total_max.moved(0, self.node_total[node]);
        self.class_add(node);
    }

    /// Marks a node of S as chosen for its load (kept while the regime lasts).
    pub(super) fn s_stick(&mut self, node: usize) {
        debug_assert!(self.mixed.in_s[node] && !self.mixed.sticky[node]);
        self.mixed.sticky[node] = true;
        self.mixed.loose -= 1;
    }

    /// Takes node `node` out of S (its flows are on the clocks, or it has none): an exact one
    /// back into the classes and histograms.
    fn s_remove(&mut self, node: usize) {
        self.mixed.in_s[node] = false;
        if !self.mixed.sticky[node] {
            self.mixed.loose -= 1;
        }
        self.mixed.sticky[node] = false;
        if self.mixed.exact[node] {
            self.s_unmake_exact(node);
        }
    }

    /// Empties S: its nodes go back into the classes and histograms (their flows' state is
    /// the caller's: the closed form's clocks, or the general fill).
    pub(super) fn s_clear(&mut self) {
        let nodes = std::mem::take(&mut self.mixed.nodes);
        for &node in &nodes {
            self.s_remove(node);
        }
        debug_assert_eq!(self.mixed.loose, 0);
        self.mixed.nodes = nodes;
        self.mixed.nodes.clear();
    }

    /// The `k`-th flow at node `node` (a registry download) and its registry, whose clock is
    /// settled at `now`: where a flow moves onto the clocks or off them.
    fn flow_with_settled_clock(&mut self, node: usize, k: usize, now: SimTime) -> (FlowId, usize) {
        let id = self.links[node].flows[k];
        let r = self.flows[id.idx()].as_ref().expect("linked flow is live").links[1] - self.n_nodes;
        self.settle_clock(r, now);
        (id, r)
    }

    /// Closed form or mixed regime: node `node` joins S exact, or a clocked node of S becomes
    /// exact (the solve found it binding one of its registry downloads). Its registry
    /// downloads leave their clocks at `now` with the bytes the clocks give them, and keep
    /// their rates until the solve that follows.
    pub(super) fn s_admit(&mut self, node: usize, now: SimTime) {
        debug_assert!(!self.mixed.exact[node]);
        for k in 0..self.links[node].flows.len() {
            let id = self.links[node].flows[k];
            if self.flows[id.idx()].as_ref().expect("linked flow is live").routed {
                continue;
            }
            let (id, r) = self.flow_with_settled_clock(node, k, now);
            let reg = &self.fast.as_ref().expect("closed form or mixed regime").regs[r];
            let f = self.flows[id.idx()].as_mut().expect("linked flow is live");
            f.remaining_bytes = (f.clock_finish_bytes - reg.clock_bytes).max(0.0);
            // An infinite rate never ran (it exists only for the instant a regime is left).
            f.rate_bytes_per_s = if reg.rate_bytes_per_s.is_finite() { reg.rate_bytes_per_s } else { 0.0 };
            f.fill_rate_bytes_per_s = f.rate_bytes_per_s;
            f.last_update = now;
            // No completion time yet (the solve sets one), and no live clock entry.
            f.finish_at = SimTime::MAX;
            f.clock_finish_bytes = f64::NAN;
        }
        self.links[node].rate_sum_bytes_per_s = 0.0;
        if self.mixed.in_s[node] {
            self.s_make_exact(node);
        } else {
            self.s_insert(node);
        }
    }

    /// Mixed regime: the nodes of S that are not sticky and have no routed flow left leave S:
    /// a clocked one at once, an exact one if loaded below `MIXED_NODE_SHARE` (at the last
    /// solve's rates), its flows back on the clocks, each settled at its rate so far. The solve that follows gives them their registries'
    /// rates; the check after it makes sure none binds.
    pub(super) fn s_release_idle(&mut self, now: SimTime) {
        let mut i = 0;
        while self.mixed.loose > 0 && i < self.mixed.nodes.len() {
            let node = self.mixed.nodes[i];
            let exact = self.mixed.exact[node];
            // (A clocked node's link sum holds its routed flows only: no load to keep it.)
            if self.mixed.sticky[node] || self.node_routed[node] > 0 || (exact && self.loaded(node)) {
                i += 1;
                continue;
            }
            if !exact {
                self.mixed.nodes.swap_remove(i);
                self.s_remove(node);
                continue;
            }
            for k in 0..self.links[node].flows.len() {
                let (id, r) = self.flow_with_settled_clock(node, k, now);
                let reg = &mut self.fast.as_mut().expect("mixed regime").regs[r];
                let f = self.flows[id.idx()].as_mut().expect("linked flow is live");
                f.settle(now);
                f.clock_finish_bytes = reg.clock_bytes + f.remaining_bytes;
                // Its completion-heap entry is dead from here (`is_live`).
                f.finish_at = SimTime::MAX;
                reg.finishes.push(Reverse((OrdBytes(f.clock_finish_bytes), id, f.generation)));
            }
            self.links[node].rate_sum_bytes_per_s = 0.0;
            self.mixed.nodes.swap_remove(i);
            self.s_remove(node);
        }
    }
}
