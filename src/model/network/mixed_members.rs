//! The members of the mixed regime's set S (see `Mixed`): moving a node in (out of the closed
//! form's node check, its flows from the registry clocks to the general representation) and
//! out again (its flows back on the clocks), one node at a time while the regime lasts, or
//! every node when it ends.

use crate::ids::FlowId;
use crate::time::SimTime;
use std::cmp::Reverse;

use super::flow::OrdBytes;
use super::Network;

impl Network {
    /// Puts node `node` into S: out of the classes and histograms. Its flows must be in the
    /// general representation already (on entry) or be moved there (`s_admit`).
    pub(super) fn s_insert(&mut self, node: usize) {
        self.class_remove(node);
        for r in 0..self.n_registries {
            let k = self.node_flows(node)[r];
            self.reg_max[r].moved(k, 0);
            self.mixed.s_k[r] += k;
        }
        self.total_max.moved(self.node_total[node], 0);
        self.mixed.in_s[node] = true;
        self.mixed.sticky[node] = false;
        self.mixed.loose += 1;
        self.mixed.nodes.push(node);
    }

    /// Marks a node of S as chosen for its load (kept while the regime lasts).
    pub(super) fn s_stick(&mut self, node: usize) {
        debug_assert!(self.mixed.in_s[node] && !self.mixed.sticky[node]);
        self.mixed.sticky[node] = true;
        self.mixed.loose -= 1;
    }

    /// Takes node `node` out of S (its flows are on the clocks, or it has none): back into
    /// the classes and histograms.
    fn s_remove(&mut self, node: usize) {
        self.mixed.in_s[node] = false;
        if !self.mixed.sticky[node] {
            self.mixed.loose -= 1;
        }
        self.mixed.sticky[node] = false;
        for r in 0..self.n_registries {
            let k = self.node_flows(node)[r];
            self.reg_max[r].moved(0, k);
            self.mixed.s_k[r] -= k;
        }
        self.total_max.moved(0, self.node_total[node]);
        self.class_add(node);
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

    /// Closed form or mixed regime: node `node` joins S (a routed flow is coming to it). Its
    /// flows leave their registries' clocks at `now` with the bytes the clocks give them, and
    /// keep their rates until the solve that follows.
    pub(super) fn s_admit(&mut self, node: usize, now: SimTime) {
        debug_assert!(!self.mixed.in_s[node]);
        for k in 0..self.links[node].flows.len() {
            let (id, r) = self.flow_with_settled_clock(node, k, now);
            let reg = &self.fast.as_ref().expect("closed form or mixed regime").regs[r];
            let f = self.flows[id.idx()].as_mut().expect("linked flow is live");
            debug_assert!(!f.routed, "a routed flow's node is in S");
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
        self.s_insert(node);
    }

    /// Mixed regime: the nodes of S that are not sticky, have no routed flow left and are
    /// loaded below `MIXED_NODE_SHARE` (at the last solve's rates) go back on the clocks, each
    /// flow settled at its rate so far. The solve that follows gives them their registries'
    /// rates; the check after it makes sure none binds.
    pub(super) fn s_release_idle(&mut self, now: SimTime) {
        let mut i = 0;
        while self.mixed.loose > 0 && i < self.mixed.nodes.len() {
            let node = self.mixed.nodes[i];
            if self.mixed.sticky[node] || self.node_routed[node] > 0 || self.loaded(node) {
                i += 1;
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
