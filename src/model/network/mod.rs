//! Fluid bandwidth sharing: every blob download is a flow through two links (the registry's
//! egress and the node's ingress) and under its own per-connection cap. Rates are max-min fair
//! and change only when a flow starts or ends. Four exact representations, chosen per change:
//!
//! - **Closed form** (`Fast`), the usual case of a large rollout: no node link binds and the
//!   flows of each registry share one cap, so every flow of registry r runs at
//!   `min(cap_r, C_r / N_r)`. Each registry keeps a clock of bytes delivered per flow and a
//!   heap of the clock readings at which its flows finish: a start or end costs O(log flows +
//!   registries), whatever the number of flows. Nodes are checked against their capacity by a
//!   bound on every node's load at once (the most flows on any node, per registry and in all,
//!   against the smallest capacity among nodes with flows), and only when the bound does not
//!   fit by class (capacity, flows per registry), not one by one.
//! - **Node-local** (`node_local`), when node links are the bottleneck: no registry link binds
//!   (each registry's rate sum is below `C_r × (1 − EPS)`), so the max-min allocation splits
//!   per node: the flows of node n get the water-fill of `B_n` under their caps,
//!   `rate = min(cap, level_n)`. A start or end at node n recomputes node n's flows only, in
//!   O(k log k) for its k flows plus O(log flows) per completion-heap update. The water-fill
//!   mirrors the general fill's float operations for one node (caps frozen in (cap, id) order,
//!   `level = (B_n − frozen_sum) / n_unfrozen`, the rest frozen in link order), so its rates
//!   are bit-identical to the general fill's; a debug check asserts it on every entry.
//!   Registry rate sums are kept exactly in fixed point (`LinkSum`): no drift whatever the churn.
//! - **General fill** (`recompute_component`), when neither holds (a registry binds, and a
//!   node binds or that registry's caps differ): progressive filling over the connected
//!   component of links reachable from the change, in O((F + L) log L): all unfrozen flows
//!   share one rising level; a link saturates when `capacity = frozen_rate_sum + n_unfrozen ×
//!   level`, a flow freezes when the level reaches its cap; a heap of per-link saturation
//!   levels (lazily invalidated) finds the next event. Every registry reaches every node, so
//!   the component is usually everything: O(all flows) per change.
//! - **Mixed** (`Mixed`), when registries bind and a few nodes too: the closed form's clocks for
//!   the flows of every node outside a set S of (near-)binding nodes, whose flows of registry r
//!   all run at one rate ρ_r, and the general representation for the flows of S. A change
//!   re-solves a reduced problem by progressive filling (the links of S and of the registries,
//!   the flows of S, one bundled flow of multiplicity m_r per registry), in O((flows in S +
//!   registries) log), then checks the nodes outside S at the new ρ as the closed form does.
//!   Its rates are the max-min rates up to rounding (a bundle adds `m_r × level` to its
//!   registry's frozen sum where the general fill adds `level` m_r times). It also serves
//!   routed flows: the node of each is in S, and the links they cross beyond nodes and
//!   registries (a peer's egress, a shared link) join the reduced problem. Such a node's
//!   registry downloads stay on the clocks (the node is *clocked*) unless the node would hold
//!   one below its registry's rate. This is Spegel's usual state: thousands of registry
//!   downloads on the clocks, a few dozen nodes taking a blob from a peer with what their own
//!   registry downloads leave.
//!
//! Switching: the closed form is left (for the general fill over every flow) when a change
//! makes a node bind or a registry's caps differ; the node-local regime is left the same way
//! when a change makes a registry's rate sum reach `C_r × (1 − EPS)`. After every general
//! recompute the network enters the closed form if it holds, else the node-local regime if it
//! holds, else the mixed regime if every registry has one cap and at most
//! `MIXED_MAX_FLOW_SHARE` of the flows are at nodes loaded to `MIXED_NODE_SHARE` of their
//! capacity or with a routed flow (S), else stays general. The mixed regime is left for the
//! general fill when a node outside S would bind, a registry's caps differ or S holds more
//! than that share of the flows, and becomes the closed form when S has no flows left. While
//! node-local, it stays node-local even if the closed form
//! would hold (both are cheap; switching costs O(flows)). All give the same (unique) max-min
//! allocation, so results do not depend on which one ran.
//!
//! Routed flows (`add_routed_flow`: up to three links on the way, or a source that is not
//! a registry: a peer's egress, a swarm) are known to the node-local regime, the mixed regime
//! and the general fill. While any is in flight the closed form is not in force: a routed flow
//! arriving in it puts its node in S, which starts the mixed regime. The mixed regime keeps
//! a node in S while it has a routed flow, and is left for the general fill when more than
//! `MIXED_MAX_FLOW_SHARE` of the flows are in S (piece-based P2P, where every download is
//! routed). The node-local regime keeps an exact sum for every link after the nodes'
//! (registries, shared links, peers' egress, swarms), so it holds whenever none of them binds,
//! and a change of such a link's capacity (`set_capacities`: a swarm gaining or losing
//! members) then moves no rate.
//! Otherwise the general fill is *localized* (`recompute_changed`): it walks from the
//! change through saturated links only, and from a link only to the flows it bottlenecks (those
//! at its highest rate); every other flow keeps its rate. The result stands if no link outside
//! would bind and no flow kept would run above a level the fill found; else the walk is
//! retried from those links and flows, and after a few retries the whole component is filled.
//!
//! Completion times are integers (`SimTime`), rounded up from `remaining / rate`; in the general
//! fill, the node-local regime and for the flows of S in the mixed regime a flow's `finish_at`
//! is authoritative and is left untouched
//! when a recompute leaves its rate unchanged, so unrelated churn never moves it. Bytes are
//! settled at the old rate before a rate changes. The general fill settles every flow of the
//! component at every change, the node-local regime only the flows of the changed node (and
//! the closed form through its clocks), so `remaining_bytes` can differ in the last bits (one
//! product `rate × dt` instead of a sum of several); when `remaining / rate` is a whole number
//! of nanoseconds the ceiling then moves a completion by 1 ns, and later events move with it.
//! Rates agree bit for bit; completion times within nanoseconds (a 500-node node-bound run:
//! 57% of completions moved, by at most 0.7 µs; its millisecond outputs were identical).
//!
//! Files: `flow` holds the state of one flow and one link and the small types the
//! representations share; `closed_form`, `node_local`, `mixed` and `general_fill` hold one
//! representation each (its state, its update on a change, entering and leaving it);
//! `mixed_members` moves nodes in and out of the mixed regime's S; `classes`
//! holds the node classes of the closed form's capacity check; `routed` the links beyond nodes
//! and registries and the routed flows' API (`add_link`, `set_capacities`, `add_routed_flow`).
//! This file holds `Network`, its public API and the dispatch that hands each change to the
//! representation in force (`add_flow`, `take_completed_into`, `abort`, then `enter_regime`).

use crate::ids::FlowId;
use crate::time::SimTime;
use std::cmp::Reverse;
use std::collections::BinaryHeap;

mod classes;
mod closed_form;
mod flow;
mod general_fill;
mod mixed;
mod mixed_members;
#[cfg(test)]
mod mixed_tests;
mod node_local;
mod routed;
#[cfg(test)]
mod tests;

use classes::NodeClasses;
use closed_form::{Fast, FastReg};
use flow::{Flow, Link, LinkSum, NodeMax, OrdBytes, Scratch, NO_LINK};
use mixed::Mixed;

/// What a flow is for; returned when it completes or is aborted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FlowOwner {
    pub pull: crate::ids::PullId,
    pub layer: crate::ids::LayerId,
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
    /// `Some` while the closed-form regime holds (see `Fast`).
    fast: Option<Fast>,
    /// Flows per registry and node, kept in both modes: one table, node-major
    /// (`node_flows(node)[registry]`), so a node's counts are one cache line away from
    /// nothing else (a vector per node cost a pointer chase on every flow change).
    node_k: Vec<u32>,
    /// Nodes with flows grouped by (node capacity bits, flows per registry): the node-capacity
    /// check of the closed-form regime costs O(classes), not O(nodes).
    classes: NodeClasses,
    /// Flows per node (all registries), and the most flows on any node (`NodeMax`), overall
    /// and per registry: a sufficient check of the closed-form regime in O(registries).
    node_total: Vec<u32>,
    total_max: NodeMax,
    reg_max: Vec<NodeMax>,
    /// Per registry: the connection cap of its flows and how many flows have another cap.
    reg_cap: Vec<f64>,
    reg_cap_mismatch: Vec<u32>,
    n_registries: usize,
    /// The closed-form state while the general fill is in force (reused on re-entry).
    fast_regs_spare: Option<Fast>,
    /// The latest time a change was made at (completion times are never earlier).
    last_now: SimTime,
    /// Whether the node-local regime is in force (then `fast` is `None`).
    node_local: bool,
    /// Per link after the nodes' (`link - n_nodes`: registries first, then the links
    /// `add_link` made): its rate sum, kept while the node-local regime is in force.
    link_sums: Vec<LinkSum>,
    /// The mixed regime's binding nodes (see `Mixed`); empty outside it.
    mixed: Mixed,
    /// False only for the reference network of the tests, which always runs the general fill.
    regimes_enabled: bool,
    n_active: usize,
    /// Routed flows in flight (a `via` link, or a source that is not a registry: a peer's
    /// egress, a swarm). While there are any, the closed form is not in force: the mixed
    /// regime keeps their nodes in S, and the node-local regime and the general fill know
    /// any path.
    n_routed: usize,
    /// Routed flows per node (their destination), and per registry whose link they cross:
    /// the mixed regime keeps every node with one in S, and leaves the flows out of its
    /// bundles.
    node_routed: Vec<u32>,
    reg_routed: Vec<u32>,
    /// Flows touched by the last recompute (for the cost counter in `--stats`).
    pub flows_recomputed_total: u64,
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
            fast: Some(Fast {
                regs: registry_bw
                    .iter()
                    .map(|_| FastReg {
                        rate_bytes_per_s: 0.0,
                        clock_bytes: 0.0,
                        clock_at: SimTime::ZERO,
                        finishes: BinaryHeap::new(),
                    })
                    .collect(),
            }),
            node_k: vec![0; registry_bw.len() * node_bw.len()],
            classes: NodeClasses::default(),
            node_total: vec![0; node_bw.len()],
            total_max: NodeMax::default(),
            reg_max: vec![NodeMax::default(); registry_bw.len()],
            reg_cap: vec![f64::NAN; registry_bw.len()],
            reg_cap_mismatch: vec![0; registry_bw.len()],
            n_registries: registry_bw.len(),
            fast_regs_spare: None,
            last_now: SimTime::ZERO,
            node_local: false,
            link_sums: vec![LinkSum::default(); registry_bw.len()],
            mixed: Mixed::new(node_bw.len(), registry_bw.len()),
            regimes_enabled: true,
            n_active: 0,
            n_routed: 0,
            node_routed: vec![0; node_bw.len()],
            reg_routed: vec![0; registry_bw.len()],
            flows_recomputed_total: 0,
        }
    }

    /// A network that always runs the general fill: the reference of the equivalence tests.
    #[cfg(test)]
    fn new_general_only(node_bw: &[f64], registry_bw: &[f64]) -> Network {
        let mut n = Network::new(node_bw, registry_bw);
        n.fast_regs_spare = n.fast.take();
        n.regimes_enabled = false;
        n
    }

    pub fn n_active(&self) -> usize {
        self.n_active
    }

    fn registry_link(&self, registry: usize) -> usize {
        self.n_nodes + registry
    }

    /// Current total rate out of a registry, bytes/s.
    pub fn registry_egress_bytes_per_s(&self, registry: usize) -> f64 {
        if self.is_mixed() {
            // The bundle's rate sum, then the flows of S crossing the registry: summed by the
            // solve, which every change in the regime runs.
            return self.mixed.egress[registry];
        }
        match &self.fast {
            Some(f) if self.registry_flows(registry) > 0 => {
                self.registry_flows(registry) as f64 * f.regs[registry].rate_bytes_per_s
            }
            Some(_) => 0.0,
            None if self.node_local => {
                let sum = &self.link_sums[registry];
                if sum.n_huge == 0 {
                    return sum.finite_bytes_per_s();
                }
                // Rare (unlimited or absurd rates): add them up.
                let link = &self.links[self.registry_link(registry)];
                link.flows.iter().map(|id| self.flows[id.idx()].as_ref().unwrap().fill_rate_bytes_per_s).sum()
            }
            None => self.links[self.registry_link(registry)].rate_sum_bytes_per_s,
        }
    }

    /// Current total rate into a node, bytes/s.
    pub fn node_ingress_bytes_per_s(&self, node: usize) -> f64 {
        match &self.fast {
            // A clocked node of S: the clocks' downloads, then its routed flows (the solve's).
            Some(_) if self.mixed.in_s[node] && !self.mixed.exact[node] => {
                self.node_load(self.node_flows(node)) + self.links[node].rate_sum_bytes_per_s
            }
            Some(_) if !self.mixed.in_s[node] => self.node_load(self.node_flows(node)),
            _ => self.links[node].rate_sum_bytes_per_s,
        }
    }

    /// Whether the closed-form regime is in force (tests, `--stats`).
    pub fn is_closed_form(&self) -> bool {
        self.fast.is_some() && self.mixed.nodes.is_empty()
    }

    /// Whether the node-local regime is in force (tests).
    pub fn is_node_local(&self) -> bool {
        self.node_local
    }

    /// Whether the mixed regime is in force (the closed-form clocks with a non-empty S).
    pub fn is_mixed(&self) -> bool {
        self.fast.is_some() && !self.mixed.nodes.is_empty()
    }

    /// After a change: if the general fill is in force, enters the closed form if it holds,
    /// else the node-local regime if it holds.
    fn enter_regime(&mut self, now: SimTime) {
        if self.fast.is_some() || self.node_local || !self.regimes_enabled {
            return;
        }
        if self.n_routed > 0 {
            // The closed form knows flows of a node and a registry only; the node-local regime
            // knows any path, the mixed regime any path to a node in S.
            self.try_enter_node_local(now);
            if !self.node_local {
                self.try_enter_mixed(now);
            }
            return;
        }
        self.try_enter_closed_form(now);
        if self.fast.is_none() {
            self.try_enter_node_local(now);
        }
        if self.fast.is_none() && !self.node_local {
            self.try_enter_mixed(now);
        }
    }

    /// Flows currently through a registry's egress.
    pub fn registry_flows(&self, registry: usize) -> usize {
        self.links[self.registry_link(registry)].flows.len()
    }

    /// Earliest completion among active flows.
    pub fn next_completion(&mut self) -> Option<SimTime> {
        if self.is_mixed() {
            let clock = self.fast_next().map(|(t, _, _)| t);
            let s = self.next_s_completion().map(|(t, _)| t);
            return match (clock, s) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
        }
        if self.fast.is_some() {
            return self.fast_next().map(|(t, _, _)| t);
        }
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
        let flow = Flow::new(
            links,
            [NO_LINK; 3],
            false,
            cap_bytes_per_s,
            size_bytes,
            now,
            owner,
            self.next_generation,
        );
        self.last_now = now;
        self.track(node, registry, cap_bytes_per_s, true);
        let id = self.insert_flow(flow);
        if self.is_mixed() {
            if !self.mixed.exact[node] {
                // Joins its registry's clock; its rate comes from the solve.
                self.settle_clock(registry, now);
                let reg = &mut self.fast.as_mut().unwrap().regs[registry];
                let flow = self.flows[id.idx()].as_mut().unwrap();
                flow.clock_finish_bytes = reg.clock_bytes + flow.size_bytes as f64;
                reg.finishes.push(Reverse((OrdBytes(flow.clock_finish_bytes), id, flow.generation)));
            }
            self.mixed_after_change(now);
        } else if self.fast.is_some() {
            self.fast_join(now, id, registry);
            // Only this registry's rate fell, and only this node gained a flow.
            let node_ok =
                Self::load_fits(self.node_load(self.node_flows(node)), self.links[node].capacity_bytes_per_s);
            let rate = self.closed_form_rate(registry);
            if node_ok && self.reg_cap_mismatch[registry] == 0 && rate.is_finite() && rate > 0.0 {
                return id;
            }
            self.leave_closed_form(now);
        } else if self.node_local {
            self.local_refill(now, &[node]);
        } else {
            self.recompute_changed(now, &[], &links, Some(id));
        }
        self.enter_regime(now);
        id
    }

    /// Puts `flow` in a free slot and on every link of its path; counts it active.
    fn insert_flow(&mut self, flow: Flow) -> FlowId {
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
        let (path, n) = self.flows[id.idx()].as_ref().unwrap().path();
        for &l in &path[..n] {
            self.links[l].flows.push(id);
            let pos = self.links[l].flows.len() - 1;
            self.flows[id.idx()].as_mut().unwrap().set_pos(l, pos);
        }
        self.n_active += 1;
        id
    }

    /// Removes every flow whose `finish_at <= now`, in (finish time, id) order.
    pub fn take_completed(&mut self, now: SimTime) -> Vec<FlowDone> {
        let mut done = Vec::new();
        self.take_completed_into(now, &mut done);
        done
    }

    /// `take_completed` appending to a caller's buffer (the simulator reuses one: a wake-up
    /// happens on every flow completion).
    pub fn take_completed_into(&mut self, now: SimTime, done: &mut Vec<FlowDone>) {
        self.last_now = now;
        let first = done.len();
        if self.is_mixed() {
            // Every flow due by `now` (clocks and S), in (time, id) order, then one solve.
            loop {
                let clock = self.fast_next();
                let s = self.next_s_completion().map(|(t, id)| (t, id, usize::MAX));
                let next = match (clock, s) {
                    (Some(a), Some(b)) => Some(if (a.0, a.1) <= (b.0, b.1) { a } else { b }),
                    (a, b) => a.or(b),
                };
                let Some((_, id, r)) = next.filter(|n| n.0 <= now) else { break };
                if r == usize::MAX {
                    self.mixed.s_next_stale = true;
                } else {
                    self.settle_clock(r, now);
                }
                let f = self.detach(id);
                done.push(FlowDone { flow: id, owner: f.owner, bytes: f.size_bytes });
            }
            if done.len() > first {
                self.mixed_after_change(now);
            }
            self.enter_regime(now);
            return;
        }
        while self.fast.is_some() {
            let Some((t, id, r)) = self.fast_next() else { break };
            if t > now {
                break;
            }
            self.settle_clock(r, now);
            let f = self.detach(id);
            done.push(FlowDone { flow: id, owner: f.owner, bytes: f.size_bytes });
            self.after_fast_leave(now, r);
        }
        if self.fast.is_some() {
            return;
        }
        let mut touched = Vec::new();
        let mut saturated = Vec::new();
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
            let (path, n) = f.path();
            touched.extend_from_slice(&path[..n]);
            if !self.node_local {
                self.release_path(&path[..n], f.fill_rate_bytes_per_s, &mut saturated);
            }
            done.push(FlowDone { flow: id, owner: f.owner, bytes: f.size_bytes });
        }
        if !touched.is_empty() {
            touched.sort_unstable();
            touched.dedup();
            if self.node_local {
                self.local_refill(now, &touched);
            } else {
                saturated.sort_unstable();
                saturated.dedup();
                self.recompute_changed(now, &saturated, &touched, None);
            }
        }
        self.enter_regime(now);
    }

    /// The bytes a live flow has moved by `now`, as `abort` would count them, changing nothing
    /// (a lazy pull notes what it had fetched when its container started). `now` is at least
    /// the last change of the network.
    pub fn moved_bytes(&self, now: SimTime, id: FlowId) -> u64 {
        let f = self.flows[id.idx()].as_ref().expect("a live flow");
        if let Some(fast) = self.fast.as_ref().filter(|_| self.on_clock(f)) {
            // The registry's clock read at `now`, as `settle_clock` would advance it.
            let reg = &fast.regs[f.links[1] - self.n_nodes];
            let dt = now.since(reg.clock_at).as_secs_f64();
            let clock = if dt > 0.0 && reg.rate_bytes_per_s.is_finite() {
                reg.clock_bytes + reg.rate_bytes_per_s * dt
            } else {
                reg.clock_bytes
            };
            let moved =
                (f.size_bytes as f64 - (f.clock_finish_bytes - clock)).clamp(0.0, f.size_bytes as f64);
            return moved.round() as u64;
        }
        let rate = f.rate_bytes_per_s;
        let moved = if rate.is_infinite() {
            f.size_bytes as f64
        } else {
            (f.size_bytes as f64 - (f.remaining_bytes - rate * now.since(f.last_update).as_secs_f64()))
                .clamp(0.0, f.size_bytes as f64)
        };
        moved.round() as u64
    }

    /// Aborts a flow (the pull failed); returns the bytes it had moved.
    pub fn abort(&mut self, now: SimTime, id: FlowId) -> FlowDone {
        self.last_now = now;
        if self.on_clock(self.flows[id.idx()].as_ref().expect("abort of a live flow")) {
            let r = self.flows[id.idx()].as_ref().expect("abort of a live flow").links[1] - self.n_nodes;
            self.settle_clock(r, now);
            let clock = self.fast.as_ref().unwrap().regs[r].clock_bytes;
            let f = self.flows[id.idx()].as_ref().unwrap();
            let moved =
                (f.size_bytes as f64 - (f.clock_finish_bytes - clock)).clamp(0.0, f.size_bytes as f64);
            let f = self.detach(id);
            if self.is_mixed() {
                self.mixed_after_change(now);
            } else {
                self.after_fast_leave(now, r);
            }
            self.enter_regime(now);
            return FlowDone { flow: id, owner: f.owner, bytes: moved.round() as u64 };
        }
        let rate = self.flows[id.idx()].as_ref().expect("abort of a live flow").rate_bytes_per_s;
        let f = self.flows[id.idx()].as_ref().unwrap();
        let moved = if rate.is_infinite() {
            f.size_bytes as f64
        } else {
            (f.size_bytes as f64 - (f.remaining_bytes - rate * now.since(f.last_update).as_secs_f64()))
                .clamp(0.0, f.size_bytes as f64)
        };
        let f = self.detach(id); // its heap entry is now stale
        if self.is_mixed() {
            self.mixed_after_change(now);
        } else if self.node_local {
            self.local_refill(now, &f.links);
        } else {
            let (path, n) = f.path();
            let mut saturated = Vec::new();
            self.release_path(&path[..n], f.fill_rate_bytes_per_s, &mut saturated);
            self.recompute_changed(now, &saturated, &path[..n], None);
        }
        self.enter_regime(now);
        FlowDone { flow: id, owner: f.owner, bytes: moved.round() as u64 }
    }

    fn detach(&mut self, id: FlowId) -> Flow {
        let f = self.flows[id.idx()].take().expect("live flow");
        let (path, n) = f.path();
        for &l in &path[..n] {
            let link = &mut self.links[l];
            let pos = f.pos(l);
            debug_assert_eq!(link.flows[pos], id);
            link.flows.swap_remove(pos);
            if let Some(&moved) = link.flows.get(pos) {
                self.flows[moved.idx()].as_mut().expect("linked flow is live").set_pos(l, pos);
            }
        }
        if self.node_local {
            for &l in &path[1..n] {
                self.link_sums[l - self.n_nodes].remove(f.fill_rate_bytes_per_s);
            }
        }
        if f.routed {
            self.routed_moved(f.links[0], &path[..n], false);
            self.free.push(id);
            self.n_active -= 1;
            return f;
        }
        self.track(f.links[0], f.links[1] - self.n_nodes, f.cap_bytes_per_s, false);
        self.free.push(id);
        self.n_active -= 1;
        f
    }

    /// Invariant: no link carries more than its capacity (within float tolerance).
    pub fn check_capacities(&self) -> Result<(), String> {
        if self.fast.is_some() {
            if !self.regime_holds() {
                return Err("closed-form regime in force but a node exceeds its capacity".into());
            }
            for r in 0..self.n_registries {
                let c = self.links[self.registry_link(r)].capacity_bytes_per_s;
                if self.registry_egress_bytes_per_s(r) > c * (1.0 + 1e-6) + 1e-6 {
                    return Err(format!("registry {r} over capacity"));
                }
            }
            // The nodes of S, and the links only their routed flows cross.
            let extra = self.n_nodes + self.n_registries..self.links.len();
            let over = |l: usize, sum: f64| sum > self.links[l].capacity_bytes_per_s * (1.0 + 1e-6) + 1e-6;
            if let Some(n) =
                self.mixed.nodes.iter().copied().find(|n| over(*n, self.node_ingress_bytes_per_s(*n)))
            {
                return Err(format!("mixed regime: node {n} over capacity"));
            }
            if let Some(n) = extra.into_iter().find(|l| over(*l, self.links[*l].rate_sum_bytes_per_s)) {
                return Err(format!("mixed regime: link {n} over capacity"));
            }
            return Ok(());
        }
        if self.node_local {
            if let Some(l) = (self.n_nodes..self.links.len()).find(|l| !self.local_link_fits(*l)) {
                return Err(format!("node-local regime in force but link {l} (not a node's) binds"));
            }
            // Registry links' own sums are not kept in this regime; nodes' are.
            return match (0..self.n_nodes).find(|n| {
                let l = &self.links[*n];
                l.rate_sum_bytes_per_s > l.capacity_bytes_per_s * (1.0 + 1e-6) + 1e-6
            }) {
                Some(n) => Err(format!("node {n} over capacity")),
                None => Ok(()),
            };
        }
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

    /// Whether flow `f` runs on its registry's clock (closed form or mixed regime, a registry
    /// download at a node outside S or at a clocked one), not in the general representation.
    fn on_clock(&self, f: &Flow) -> bool {
        self.fast.is_some() && !f.routed && !self.mixed.exact[f.links[0]]
    }

    /// Current rate of a flow (tests and invariants).
    pub fn rate_of(&self, id: FlowId) -> Option<f64> {
        let f = self.flows.get(id.idx()).and_then(|f| f.as_ref())?;
        match &self.fast {
            Some(fast) if self.on_clock(f) => Some(fast.regs[f.links[1] - self.n_nodes].rate_bytes_per_s),
            _ => Some(f.rate_bytes_per_s),
        }
    }
}
