//! Links beyond the nodes' and registries' (a `[[link]]`, a peer's egress, a swarm) and the
//! *routed* flows that cross them: adding links, changing their capacities (a swarm gaining or
//! losing members), reading their rates, and starting a routed download. The closed form does
//! not know routed flows; the node-local regime and the general fill do
//! (see the module doc of `network`), and so does the mixed regime, which keeps the node of
//! every routed flow in its set S.

use crate::ids::FlowId;
use crate::time::SimTime;

use super::flow::{self, Flow, Link, LinkSum, NO_LINK};
use super::{FlowOwner, Network};

impl Network {
    /// Adds a link after the node and registry links (a `[[link]]`, a node's egress that serves
    /// its peers, a swarm) and returns its id. `f64::INFINITY` = unlimited.
    pub fn add_link(&mut self, capacity_bytes_per_s: f64) -> usize {
        assert!(capacity_bytes_per_s > 0.0, "validated: capacities are positive");
        self.links.push(Link { capacity_bytes_per_s, ..Link::default() });
        self.link_sums.push(LinkSum::default());
        self.links.len() - 1
    }

    /// The link id of registry `registry`'s egress (for `via` paths).
    pub fn registry_link_id(&self, registry: usize) -> usize {
        self.registry_link(registry)
    }

    /// Changes a link's capacity at `now` (a swarm whose seeders come and go); the rates of
    /// the flows it reaches are recomputed.
    pub fn set_capacity(&mut self, now: SimTime, link: usize, capacity_bytes_per_s: f64) {
        self.set_capacities(now, &[(link, capacity_bytes_per_s)]);
    }

    /// Changes several links' capacities at `now` with one recompute of the flows they reach.
    pub fn set_capacities(&mut self, now: SimTime, changes: &[(usize, f64)]) {
        let changed: Vec<usize> = changes
            .iter()
            .filter(|(l, c)| {
                assert!(*c > 0.0, "capacities are positive");
                self.links[*l].capacity_bytes_per_s.to_bits() != c.to_bits()
            })
            .map(|(l, _)| *l)
            .collect();
        if changed.is_empty() {
            return;
        }
        self.last_now = now;
        if self.fast_regime_takes(changes, changed.iter().copied()) {
            self.mixed_after_change(now);
            self.enter_regime(now);
            return;
        }
        if self.node_local && changed.iter().all(|l| *l >= self.n_nodes) {
            // Node-local: no rate depends on these links while none binds.
            for &(l, c) in changes {
                self.set_link_capacity(l, c);
            }
            if changed.iter().all(|l| self.local_link_fits(*l)) {
                return;
            }
            self.leave_node_local(now);
            self.enter_regime(now);
            return;
        }
        self.leave_fast_regimes(now);
        let (mut was_saturated, mut others) = (Vec::new(), Vec::new());
        self.apply_capacities(changes, &mut was_saturated, &mut others);
        if !was_saturated.is_empty() || !others.is_empty() {
            self.recompute_changed(now, &was_saturated, &others, None);
        }
        self.enter_regime(now);
    }

    /// In the closed form or the mixed regime, sets `changes` and returns true when every link
    /// in `moved` (those whose capacity changes) is beyond the nodes or a node of S: the closed
    /// form reads registry capacities at each change and the mixed solve every capacity it
    /// uses, and no other link carries a flow outside S. Otherwise changes nothing.
    fn fast_regime_takes(
        &mut self,
        changes: &[(usize, f64)],
        mut moved: impl Iterator<Item = usize>,
    ) -> bool {
        if self.fast.is_none() || !moved.all(|l| l >= self.n_nodes || self.mixed.in_s[l]) {
            return false;
        }
        for &(l, c) in changes {
            assert!(c > 0.0, "capacities are positive");
            self.set_link_capacity(l, c);
        }
        true
    }

    /// Sets link `l`'s capacity. A node's class, kept in every regime for each node but the
    /// exact ones of the mixed regime's S, is keyed by its capacity: the node moves to its new
    /// class.
    fn set_link_capacity(&mut self, l: usize, c: f64) {
        let classed = l < self.n_nodes && !self.mixed.exact[l];
        if classed {
            self.class_remove(l);
        }
        self.links[l].capacity_bytes_per_s = c;
        if classed {
            self.class_add(l);
        }
    }

    /// Current total rate through any link, bytes/s: a node's ingress, a registry's egress, or
    /// the general representation's sum (exact for links only routed flows cross, which is
    /// every link `add_link` made).
    pub fn link_rate_bytes_per_s(&self, link: usize) -> f64 {
        if link < self.n_nodes {
            // On the clocks, a node's downloads are not in its link's own sum.
            return self.node_ingress_bytes_per_s(link);
        }
        if self.fast.is_some() && (self.n_nodes..self.n_nodes + self.n_registries).contains(&link) {
            // The clocks' rates (and in the mixed regime those of S): not the link's own sum.
            return self.registry_egress_bytes_per_s(link - self.n_nodes);
        }
        if self.node_local && link >= self.n_nodes {
            // Kept exactly in the regime; the link's own sum is not.
            let sum = &self.link_sums[link - self.n_nodes];
            if sum.n_huge == 0 {
                return sum.finite_bytes_per_s();
            }
            let l = &self.links[link];
            return l
                .flows
                .iter()
                .map(|id| self.flows[id.idx()].as_ref().unwrap().fill_rate_bytes_per_s)
                .sum();
        }
        self.links[link].rate_sum_bytes_per_s
    }

    /// Flows through any link.
    pub fn link_flows(&self, link: usize) -> usize {
        self.links[link].flows.len()
    }

    /// Leaves the closed-form, mixed or node-local regime for the general fill.
    fn leave_fast_regimes(&mut self, now: SimTime) {
        if self.fast.is_some() {
            self.leave_closed_form(now);
        } else if self.node_local {
            self.leave_node_local(now);
        }
    }

    /// Starts a routed download to `node`: from `source` (any link: a registry's egress, a
    /// peer's, a swarm) through the links `via` (at most three, none repeated: shared links, an
    /// upstream's egress behind a cache). A flow with no `via` from a registry is an ordinary
    /// flow (`add_flow`).
    #[allow(clippy::too_many_arguments)]
    pub fn add_routed_flow(
        &mut self,
        now: SimTime,
        node: usize,
        source: usize,
        via: &[usize],
        cap_bytes_per_s: f64,
        size_bytes: u64,
        owner: FlowOwner,
    ) -> FlowId {
        self.add_routed_flow_and_set(now, node, source, via, cap_bytes_per_s, size_bytes, owner, &[])
    }

    /// `add_routed_flow` and `set_capacities(changes)` at once, with one recompute (a swarm
    /// gains a downloader and its capacity changes with it).
    #[allow(clippy::too_many_arguments)]
    pub fn add_routed_flow_and_set(
        &mut self,
        now: SimTime,
        node: usize,
        source: usize,
        via: &[usize],
        cap_bytes_per_s: f64,
        size_bytes: u64,
        owner: FlowOwner,
        changes: &[(usize, f64)],
    ) -> FlowId {
        let registry_source = source >= self.n_nodes && source < self.n_nodes + self.n_registries;
        if via.is_empty() && registry_source {
            self.set_capacities(now, changes);
            return self.add_flow(now, node, source - self.n_nodes, cap_bytes_per_s, size_bytes, owner);
        }
        assert!(cap_bytes_per_s > 0.0);
        assert!(via.len() <= 3, "at most three links between source and node");
        assert!(
            node < self.n_nodes && source >= self.n_nodes,
            "a flow enters a node from a link not a node's"
        );
        assert!(via.iter().all(|l| *l >= self.n_nodes), "a path crosses no other node's ingress");
        self.last_now = now;
        // Node-local: the capacities first (cheap while no link binds), then the node's
        // water-fill. Closed form or mixed: the node joins S and the mixed regime solves
        // once for both. Otherwise the general fill does both at once.
        let mut pending_changes = changes;
        if self.node_local {
            self.set_capacities(now, changes);
            pending_changes = &[];
        } else if self.fast_regime_takes(changes, changes.iter().map(|(l, _)| *l)) {
            pending_changes = &[];
            if !self.mixed.in_s[node] {
                self.s_join_clocked(node);
            }
        } else if self.fast.is_some() {
            self.leave_closed_form(now);
        }
        let mut v = [NO_LINK; 3];
        for (i, &l) in via.iter().enumerate() {
            assert!(l != node && l != source && !v.contains(&(l as u32)), "a path crosses a link once");
            v[i] = l as u32;
        }
        let flow =
            Flow::new([node, source], v, true, cap_bytes_per_s, size_bytes, now, owner, self.next_generation);
        let id = self.insert_flow(flow);
        let (path, n) = self.flows[id.idx()].as_ref().unwrap().path();
        self.routed_moved(node, &path[..n], true);
        if self.node_local {
            self.local_refill(now, &[node]);
        } else if self.fast.is_some() {
            self.mixed_after_change(now);
        } else {
            let mut was_saturated = Vec::new();
            let mut seeds = path[..n].to_vec();
            self.apply_capacities(pending_changes, &mut was_saturated, &mut seeds);
            self.recompute_changed(now, &was_saturated, &seeds, Some(id));
        }
        self.enter_regime(now);
        id
    }

    /// Counts a routed flow to `node` over `path` (node first) in (`joining`) or out: in all,
    /// at its node, at the registries it crosses.
    pub(super) fn routed_moved(&mut self, node: usize, path: &[usize], joining: bool) {
        let registries = self.n_nodes..self.n_nodes + self.n_registries;
        let step = |k: &mut u32| if joining { *k += 1 } else { *k -= 1 };
        step(&mut self.node_routed[node]);
        for &l in path[1..].iter().filter(|l| registries.contains(l)) {
            step(&mut self.reg_routed[l - self.n_nodes]);
        }
        if joining {
            self.n_routed += 1;
        } else {
            self.n_routed -= 1;
        }
    }

    /// General representation: sets the capacities of `changes`, and sorts the links whose
    /// capacity moved and that carry flows for the localized fill. One that was saturated may
    /// free or take rate from the flows it bottlenecks, so it goes on `was_saturated` (walked
    /// whatever its new capacity); one that was not binds only if its new capacity is under
    /// its sum, so it goes on `others` (walked if saturated now).
    fn apply_capacities(
        &mut self,
        changes: &[(usize, f64)],
        was_saturated: &mut Vec<usize>,
        others: &mut Vec<usize>,
    ) {
        for &(l, c) in changes {
            assert!(c > 0.0, "capacities are positive");
            let link = &mut self.links[l];
            if link.capacity_bytes_per_s.to_bits() == c.to_bits() {
                continue;
            }
            if !link.flows.is_empty() {
                if flow::link_fits(link.rate_sum_bytes_per_s, link.capacity_bytes_per_s) {
                    others.push(l);
                } else {
                    was_saturated.push(l);
                }
            }
            self.set_link_capacity(l, c);
        }
    }
}
