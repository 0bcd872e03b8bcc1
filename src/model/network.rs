//! Fluid bandwidth sharing: every blob download is a flow through two links (the registry's
//! egress and the node's ingress) and under its own per-connection cap. Rates are max-min fair
//! and change only when a flow starts or ends. Two exact representations, chosen per change:
//!
//! - **Closed form** (`Fast`), the usual case of a large rollout: no node link binds and the
//!   flows of each registry share one cap, so every flow of registry r runs at
//!   `min(cap_r, C_r / N_r)`. Each registry keeps a clock of bytes delivered per flow and a
//!   heap of the clock readings at which its flows finish: a start or end costs O(log flows +
//!   node classes), whatever the number of flows. Nodes are checked against their capacity by
//!   class (capacity, flows per registry), not one by one.
//! - **General fill** (`recompute_component`), when a node link binds or caps differ:
//!   progressive filling over the connected component of links reachable from the change, in
//!   O((F + L) log L): all unfrozen flows share one rising level; a link saturates when
//!   `capacity = frozen_rate_sum + n_unfrozen × level`, a flow freezes when the level reaches
//!   its cap; a heap of per-link saturation levels (lazily invalidated) finds the next event.
//!
//! The network switches between them when the regime starts or stops holding; both give the
//! same (unique) max-min allocation, so results do not depend on which one ran.
//! Completion times are integers (`SimTime`), rounded up from `remaining / rate`; in the general
//! fill a flow's `finish_at` is authoritative and is left untouched when a recompute leaves its
//! rate unchanged, so unrelated churn never moves it.

use crate::ids::FlowId;
use crate::time::{SimDuration, SimTime};
use std::cmp::Ordering;
use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap};

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
    /// Position of this flow in `links[l].flows` for each of its two links (O(1) removal).
    pos_in_link: [usize; 2],
    /// Closed-form regime: the registry clock reading at which this flow is complete.
    clock_finish_bytes: f64,
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
    /// `Some` while the closed-form regime holds (see `Fast`).
    fast: Option<Fast>,
    /// Flows per registry and node (`node_k[node][registry]`), kept in both modes.
    node_k: Vec<Vec<u32>>,
    /// Nodes with flows grouped by (node capacity bits, flows per registry): the node-capacity
    /// check of the closed-form regime costs O(classes), not O(nodes).
    classes: BTreeMap<(u64, Vec<u32>), u32>,
    /// Per registry: the connection cap of its flows and how many flows have another cap.
    reg_cap: Vec<f64>,
    reg_cap_mismatch: Vec<u32>,
    n_registries: usize,
    /// The closed-form state while the general fill is in force (reused on re-entry).
    fast_regs_spare: Option<Fast>,
    /// The latest time a change was made at (completion times are never earlier).
    last_now: SimTime,
    n_active: usize,
    /// Flows touched by the last recompute (for the cost counter in `--stats`).
    pub flows_recomputed_total: u64,
}

/// The closed-form regime. When no node link binds and every flow of a registry has the same
/// connection cap, max-min fairness gives every flow of registry r the same rate
/// `rate_r = min(cap_r, C_r / N_r)`: each flow is then limited by its cap or by a saturated
/// registry link on which it has the largest rate, which is the max-min condition. Each
/// registry keeps a clock of bytes delivered per flow, so a rate change costs O(1) for its
/// flows, and a min-heap of the clock readings at which its flows finish. A change that would
/// make a node link bind switches the network to the general fill (`recompute_component`),
/// and a general recompute whose result is in the regime switches back.
struct Fast {
    regs: Vec<FastReg>,
}

struct FastReg {
    rate_bytes_per_s: f64,
    clock_bytes: f64,
    clock_at: SimTime,
    finishes: BinaryHeap<Reverse<(OrdBytes, FlowId, u64)>>,
}

/// A clock reading with a total order (never NaN in the regime).
#[derive(Clone, Copy, Debug, PartialEq)]
struct OrdBytes(f64);
impl Eq for OrdBytes {}
impl PartialOrd for OrdBytes {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for OrdBytes {
    fn cmp(&self, other: &Self) -> Ordering {
        self.0.total_cmp(&other.0)
    }
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
            node_k: vec![vec![0; registry_bw.len()]; node_bw.len()],
            classes: BTreeMap::new(),
            reg_cap: vec![f64::NAN; registry_bw.len()],
            reg_cap_mismatch: vec![0; registry_bw.len()],
            n_registries: registry_bw.len(),
            fast_regs_spare: None,
            last_now: SimTime::ZERO,
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
        match &self.fast {
            Some(f) if self.registry_flows(registry) > 0 => {
                self.registry_flows(registry) as f64 * f.regs[registry].rate_bytes_per_s
            }
            Some(_) => 0.0,
            None => self.links[self.registry_link(registry)].rate_sum_bytes_per_s,
        }
    }

    /// Current total rate into a node, bytes/s.
    pub fn node_ingress_bytes_per_s(&self, node: usize) -> f64 {
        match &self.fast {
            Some(_) => self.node_load(&self.node_k[node]),
            None => self.links[node].rate_sum_bytes_per_s,
        }
    }

    /// Whether the closed-form regime is in force (tests, `--stats`).
    pub fn is_closed_form(&self) -> bool {
        self.fast.is_some()
    }

    /// The closed-form rate of a registry's flows: `min(cap, capacity / flows)`.
    fn closed_form_rate(&self, registry: usize) -> f64 {
        let n = self.registry_flows(registry);
        if n == 0 {
            return 0.0;
        }
        let share = self.links[self.registry_link(registry)].capacity_bytes_per_s / n as f64;
        self.reg_cap[registry].min(share)
    }

    /// Node load at closed-form rates for flows-per-registry `k`.
    fn node_load(&self, k: &[u32]) -> f64 {
        (0..self.n_registries).filter(|r| k[*r] > 0).map(|r| f64::from(k[r]) * self.closed_form_rate(r)).sum()
    }

    fn load_fits(load: f64, capacity: f64) -> bool {
        load <= capacity * (1.0 + 1e-12)
    }

    /// The closed-form regime holds for the current flows: uniform caps per registry, finite
    /// positive rates, and no node above its capacity.
    fn regime_holds(&self) -> bool {
        for r in 0..self.n_registries {
            if self.registry_flows(r) == 0 {
                continue;
            }
            let rate = self.closed_form_rate(r);
            if self.reg_cap_mismatch[r] > 0 || !rate.is_finite() || rate <= 0.0 {
                return false;
            }
        }
        self.classes.keys().all(|(cap_bits, k)| Self::load_fits(self.node_load(k), f64::from_bits(*cap_bits)))
    }

    fn class_key(&self, node: usize) -> Option<(u64, Vec<u32>)> {
        let k = &self.node_k[node];
        k.iter().any(|x| *x > 0).then(|| (self.links[node].capacity_bytes_per_s.to_bits(), k.clone()))
    }

    /// Bookkeeping for both modes when a flow joins or leaves (`delta` = +1 / -1).
    fn track(&mut self, node: usize, registry: usize, cap_bytes_per_s: f64, joining: bool) {
        if let Some(key) = self.class_key(node) {
            let c = self.classes.get_mut(&key).expect("class of a node with flows");
            *c -= 1;
            if *c == 0 {
                self.classes.remove(&key);
            }
        }
        let n_before = self.registry_flows(registry);
        if joining {
            self.node_k[node][registry] += 1;
            if n_before == 0 {
                self.reg_cap[registry] = cap_bytes_per_s;
                self.reg_cap_mismatch[registry] = 0;
            } else if cap_bytes_per_s != self.reg_cap[registry] {
                self.reg_cap_mismatch[registry] += 1;
            }
        } else {
            self.node_k[node][registry] -= 1;
            if cap_bytes_per_s != self.reg_cap[registry] && self.reg_cap_mismatch[registry] > 0 {
                self.reg_cap_mismatch[registry] -= 1;
            }
            if n_before == 1 {
                self.reg_cap_mismatch[registry] = 0;
            }
        }
        if let Some(key) = self.class_key(node) {
            *self.classes.entry(key).or_insert(0) += 1;
        }
    }

    /// Advances a registry's clock to `now` at its current rate.
    fn settle_clock(&mut self, registry: usize, now: SimTime) {
        let f = self.fast.as_mut().expect("closed-form regime");
        let reg = &mut f.regs[registry];
        let dt = now.since(reg.clock_at).as_secs_f64();
        // A rate is finite in the regime; an infinite one only exists for the instant before
        // the regime is left, so no time passes at it (and inf × 0 must not become NaN).
        if dt > 0.0 && reg.rate_bytes_per_s.is_finite() {
            reg.clock_bytes += reg.rate_bytes_per_s * dt;
        }
        reg.clock_at = now;
    }

    /// The earliest (time, flow) among a registry's flows, dropping stale heap entries.
    fn fast_top(&mut self, registry: usize) -> Option<(SimTime, FlowId)> {
        let floor = self.last_now;
        let f = self.fast.as_mut().expect("closed-form regime");
        let reg = &mut f.regs[registry];
        while let Some(&Reverse((OrdBytes(v), id, generation))) = reg.finishes.peek() {
            let live = matches!(&self.flows[id.idx()], Some(fl) if fl.generation == generation && fl.clock_finish_bytes == v);
            if !live {
                reg.finishes.pop();
                continue;
            }
            let left = v - reg.clock_bytes;
            let t = if left <= 0.0 {
                reg.clock_at
            } else {
                reg.clock_at.plus(SimDuration::from_secs_f64_ceil(left / reg.rate_bytes_per_s))
            };
            return Some((t.max(floor), id));
        }
        None
    }

    fn fast_next(&mut self) -> Option<(SimTime, FlowId, usize)> {
        let mut best: Option<(SimTime, FlowId, usize)> = None;
        for r in 0..self.n_registries {
            if let Some((t, id)) = self.fast_top(r) {
                if best.is_none_or(|(bt, bid, _)| (t, id) < (bt, bid)) {
                    best = Some((t, id, r));
                }
            }
        }
        best
    }

    /// Registers a flow (already linked and tracked) with its registry's clock.
    fn fast_join(&mut self, now: SimTime, id: FlowId, registry: usize) {
        self.settle_clock(registry, now);
        let rate = self.closed_form_rate(registry);
        let f = self.fast.as_mut().expect("closed-form regime");
        let reg = &mut f.regs[registry];
        reg.rate_bytes_per_s = rate;
        let flow = self.flows[id.idx()].as_mut().expect("live flow");
        flow.clock_finish_bytes = reg.clock_bytes + flow.size_bytes as f64;
        reg.finishes.push(Reverse((OrdBytes(flow.clock_finish_bytes), id, flow.generation)));
        self.flows_recomputed_total += 1;
    }

    /// Leaves the closed-form regime at `now`: every flow gets its remaining bytes and rate in
    /// the general representation, then the general fill recomputes everything.
    fn leave_closed_form(&mut self, now: SimTime) {
        for r in 0..self.n_registries {
            self.settle_clock(r, now);
        }
        let f = self.fast.take().expect("closed-form regime");
        for i in 0..self.flows.len() {
            let Some(flow) = self.flows[i].as_mut() else { continue };
            let r = flow.links[1] - self.n_nodes;
            let reg = &f.regs[r];
            flow.remaining_bytes = (flow.clock_finish_bytes - reg.clock_bytes).max(0.0);
            // An infinite rate never ran (it exists only for the instant the regime is left).
            flow.rate_bytes_per_s = if reg.rate_bytes_per_s.is_finite() { reg.rate_bytes_per_s } else { 0.0 };
            flow.last_update = now;
            // Forces the general fill to set a fresh finish time (and heap entry).
            flow.finish_at = SimTime::MAX;
        }
        self.fast_regs_spare = Some(f);
        for link in &mut self.links {
            link.rate_sum_bytes_per_s = 0.0;
        }
        let seeds: Vec<usize> = (0..self.n_registries).map(|r| self.registry_link(r)).collect();
        self.recompute_component(now, &seeds);
    }

    /// Enters the closed-form regime after a general recompute if it holds.
    fn try_enter_closed_form(&mut self, now: SimTime) {
        if self.fast.is_some() || !self.regime_holds() {
            return;
        }
        let mut f = self.fast_regs_spare.take().expect("spare closed-form state");
        for r in 0..self.n_registries {
            let reg = &mut f.regs[r];
            reg.clock_bytes = 0.0;
            reg.clock_at = now;
            reg.finishes.clear();
            reg.rate_bytes_per_s = 0.0;
        }
        for r in 0..self.n_registries {
            f.regs[r].rate_bytes_per_s = self.closed_form_rate(r);
        }
        for i in 0..self.flows.len() {
            let Some(flow) = self.flows[i].as_mut() else { continue };
            // Settle at the general rate, as the fill does.
            let dt = now.since(flow.last_update).as_secs_f64();
            if flow.rate_bytes_per_s.is_finite() {
                flow.remaining_bytes = (flow.remaining_bytes - flow.rate_bytes_per_s * dt).max(0.0);
            } else if flow.rate_bytes_per_s > 0.0 {
                flow.remaining_bytes = 0.0;
            }
            flow.last_update = now;
            let r = flow.links[1] - self.n_nodes;
            flow.clock_finish_bytes = flow.remaining_bytes;
            f.regs[r].finishes.push(Reverse((
                OrdBytes(flow.clock_finish_bytes),
                FlowId::from_idx(i),
                flow.generation,
            )));
        }
        self.completions.clear();
        self.fast = Some(f);
    }

    /// Flows currently through a registry's egress.
    pub fn registry_flows(&self, registry: usize) -> usize {
        self.links[self.registry_link(registry)].flows.len()
    }

    /// Earliest completion among active flows.
    pub fn next_completion(&mut self) -> Option<SimTime> {
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
            pos_in_link: [0, 0],
            clock_finish_bytes: f64::NAN,
        };
        self.last_now = now;
        self.track(node, registry, cap_bytes_per_s, true);
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
        for (i, l) in links.into_iter().enumerate() {
            self.links[l].flows.push(id);
            let pos = self.links[l].flows.len() - 1;
            self.flows[id.idx()].as_mut().unwrap().pos_in_link[i] = pos;
        }
        self.n_active += 1;
        if self.fast.is_some() {
            self.fast_join(now, id, registry);
            // Only this registry's rate fell, and only this node gained a flow.
            let node_ok =
                Self::load_fits(self.node_load(&self.node_k[node]), self.links[node].capacity_bytes_per_s);
            let rate = self.closed_form_rate(registry);
            if node_ok && self.reg_cap_mismatch[registry] == 0 && rate.is_finite() && rate > 0.0 {
                return id;
            }
            self.leave_closed_form(now);
        } else {
            self.recompute_component(now, &links);
        }
        self.try_enter_closed_form(now);
        id
    }

    /// Removes every flow whose `finish_at <= now`, in (finish time, id) order.
    pub fn take_completed(&mut self, now: SimTime) -> Vec<FlowDone> {
        self.last_now = now;
        let mut done = Vec::new();
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
            return done;
        }
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
        self.try_enter_closed_form(now);
        done
    }

    /// After a flow of `registry` left in the closed-form regime: its registry's rate rose;
    /// stay in the regime if every node still fits, else leave it.
    fn after_fast_leave(&mut self, now: SimTime, registry: usize) {
        let rate = self.closed_form_rate(registry);
        self.fast.as_mut().expect("closed-form regime").regs[registry].rate_bytes_per_s = rate;
        self.flows_recomputed_total += 1;
        if !self.regime_holds() {
            self.leave_closed_form(now);
        }
    }

    /// Aborts a flow (the pull failed); returns the bytes it had moved.
    pub fn abort(&mut self, now: SimTime, id: FlowId) -> FlowDone {
        self.last_now = now;
        if self.fast.is_some() {
            let r = self.flows[id.idx()].as_ref().expect("abort of a live flow").links[1] - self.n_nodes;
            self.settle_clock(r, now);
            let clock = self.fast.as_ref().unwrap().regs[r].clock_bytes;
            let f = self.flows[id.idx()].as_ref().unwrap();
            let moved =
                (f.size_bytes as f64 - (f.clock_finish_bytes - clock)).clamp(0.0, f.size_bytes as f64);
            let f = self.detach(id);
            self.after_fast_leave(now, r);
            if self.fast.is_none() {
                self.try_enter_closed_form(now);
            }
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
        self.recompute_component(now, &f.links);
        self.try_enter_closed_form(now);
        FlowDone { flow: id, owner: f.owner, bytes: moved.round() as u64 }
    }

    fn detach(&mut self, id: FlowId) -> Flow {
        let f = self.flows[id.idx()].take().expect("live flow");
        for (i, l) in f.links.into_iter().enumerate() {
            let link = &mut self.links[l];
            let pos = f.pos_in_link[i];
            debug_assert_eq!(link.flows[pos], id);
            link.flows.swap_remove(pos);
            if let Some(&moved) = link.flows.get(pos) {
                let m = self.flows[moved.idx()].as_mut().expect("linked flow is live");
                let side = if m.links[0] == l { 0 } else { 1 };
                m.pos_in_link[side] = pos;
            }
        }
        self.track(f.links[0], f.links[1] - self.n_nodes, f.cap_bytes_per_s, false);
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
            return Ok(());
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

    /// Current rate of a flow (tests and invariants).
    pub fn rate_of(&self, id: FlowId) -> Option<f64> {
        let f = self.flows.get(id.idx()).and_then(|f| f.as_ref())?;
        match &self.fast {
            Some(fast) => Some(fast.regs[f.links[1] - self.n_nodes].rate_bytes_per_s),
            None => Some(f.rate_bytes_per_s),
        }
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
    fn closed_form_regime_when_no_node_binds() {
        // Registry 90 MB/s shared by 3 flows on unlimited nodes: 30 MB/s each, closed form.
        let mut n = Network::new(&[f64::INFINITY; 3], &[90e6]);
        let ids: Vec<FlowId> =
            (0..3).map(|i| n.add_flow(SimTime::ZERO, i, 0, 1e9, 30 * MB, owner(i as u32))).collect();
        assert!(n.is_closed_form());
        for id in &ids {
            assert_eq!(n.rate_of(*id), Some(30e6));
        }
        assert_eq!(n.next_completion(), Some(secs(1)));
        // Aborting one at 0.5 s: 15 MB moved; the other two speed up to 45 MB/s for their last
        // 15 MB: done at 0.5 + 1/3 s.
        let d = n.abort(SimTime(500_000_000), ids[0]);
        assert_eq!(d.bytes, 15 * MB);
        assert!(n.is_closed_form());
        assert_eq!(n.rate_of(ids[1]), Some(45e6));
        assert_eq!(n.next_completion(), Some(SimTime(833_333_334)));
        assert_eq!(n.take_completed(SimTime(833_333_334)).len(), 2);
        assert!(n.check_capacities().is_ok());
    }

    #[test]
    fn leaves_the_closed_form_when_a_node_binds_and_returns() {
        // Node 0 has 20 MB/s; registry 90 MB/s. One flow: 20 MB/s (node-bound: general fill).
        let mut n = Network::new(&[20e6, f64::INFINITY], &[90e6]);
        let a = n.add_flow(SimTime::ZERO, 0, 0, f64::INFINITY, 20 * MB, owner(0));
        assert!(!n.is_closed_form());
        assert_eq!(n.rate_of(a), Some(20e6));
        // Once node 0's flow is gone, one flow on the unlimited node is in the closed form.
        let b = n.add_flow(SimTime::ZERO, 1, 0, f64::INFINITY, 90 * MB, owner(1));
        assert_eq!(n.rate_of(b), Some(70e6));
        assert_eq!(n.take_completed(secs(1)).len(), 1);
        assert!(n.is_closed_form());
        assert_eq!(n.rate_of(b), Some(90e6));
        // b moved 70 MB in the first second and needs 20 MB more at 90 MB/s.
        assert_eq!(n.next_completion(), Some(SimTime(1_000_000_000 + 222_222_223)));
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
