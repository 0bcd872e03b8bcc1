//! The closed-form representation (`Fast`): while no node link binds and each registry's
//! flows share one cap, every flow of registry r runs at `min(cap_r, C_r / N_r)`, so each
//! registry keeps a clock of bytes delivered per flow and a heap of the clock readings at which
//! its flows finish, and a start or end costs O(log flows + registries). Also here: the check
//! that the regime holds (`regime_holds`: a bound over every node at once, else the node
//! classes), the per-node bookkeeping it reads (`track`, kept in every regime), and entering
//! and leaving the regime. The mixed regime runs its flows outside S on these same clocks.

use crate::ids::FlowId;
use crate::time::{SimDuration, SimTime};
use std::cmp::Reverse;
use std::collections::BinaryHeap;

use super::classes::ClassFlows;
use super::flow::{flows_of, OrdBytes};
use super::Network;

/// The closed-form regime. When no node link binds and every flow of a registry has the same
/// connection cap, max-min fairness gives every flow of registry r the same rate
/// `rate_r = min(cap_r, C_r / N_r)`: each flow is then limited by its cap or by a saturated
/// registry link on which it has the largest rate, which is the max-min condition. Each
/// registry keeps a clock of bytes delivered per flow, so a rate change costs O(1) for its
/// flows, and a min-heap of the clock readings at which its flows finish. A change that would
/// make a node link bind switches the network to the general fill (`recompute_component`),
/// and a general recompute whose result is in the regime switches back.
pub(super) struct Fast {
    pub(super) regs: Vec<FastReg>,
}

pub(super) struct FastReg {
    pub(super) rate_bytes_per_s: f64,
    pub(super) clock_bytes: f64,
    pub(super) clock_at: SimTime,
    pub(super) finishes: BinaryHeap<Reverse<(OrdBytes, FlowId, u64)>>,
}

// Rates, and the check that no node binds.
impl Network {
    /// The closed-form rate of a registry's flows: `min(cap, capacity / flows)`.
    pub(super) fn closed_form_rate(&self, registry: usize) -> f64 {
        let n = self.registry_flows(registry);
        if n == 0 {
            return 0.0;
        }
        let share = self.links[self.registry_link(registry)].capacity_bytes_per_s / n as f64;
        self.reg_cap[registry].min(share)
    }

    /// Node load at closed-form rates for flows-per-registry `k`.
    pub(super) fn node_load(&self, k: &[u32]) -> f64 {
        (0..self.n_registries).filter(|r| k[*r] > 0).map(|r| f64::from(k[r]) * self.outside_rate(r)).sum()
    }

    /// `node_load` of a class's flows (the same terms in the same order, so the same bits).
    fn class_load(&self, flows: ClassFlows<'_>) -> f64 {
        match flows {
            ClassFlows::Packed(p) => (0..self.n_registries)
                .map(|r| ((p >> (16 * r)) & 0xffff) as u32)
                .enumerate()
                .filter(|(_, k)| *k > 0)
                .map(|(r, k)| f64::from(k) * self.outside_rate(r))
                .sum(),
            ClassFlows::Wide(k) => self.node_load(k),
        }
    }

    pub(super) fn load_fits(load: f64, capacity: f64) -> bool {
        load <= capacity * (1.0 + 1e-12)
    }

    /// The closed-form regime holds for the current flows: uniform caps per registry, finite
    /// positive rates, and no node above its capacity. The node check first tries a bound on
    /// every node's load at once, in O(registries): with `K_r` the most flows of registry r on
    /// any node and `K` the most flows on any node, a node's load is at most
    /// `Σ_r K_r × rate_r` (computed in the same order as `node_load`, so the bound holds in
    /// floating point too: rounding is monotone and the terms are non-negative) and at most
    /// `K × max_r rate_r` (given a relative margin for the rounding of `node_load`'s sum);
    /// if the bound fits the smallest capacity among nodes with flows, every node fits.
    /// Otherwise it scans the node classes, O(classes × registries).
    pub(super) fn regime_holds(&self) -> bool {
        let mut max_rate: f64 = 0.0;
        let mut reg_bound = 0.0;
        for r in 0..self.n_registries {
            if self.bundle_flows(r) == 0 {
                continue;
            }
            let rate = self.outside_rate(r);
            if self.reg_cap_mismatch[r] > 0 || !rate.is_finite() || rate <= 0.0 {
                return false;
            }
            max_rate = max_rate.max(rate);
            reg_bound += f64::from(self.reg_max[r].max) * rate;
        }
        let Some(min_cap_bits) = self.classes.min_capacity_bits() else { return true };
        let min_cap = f64::from_bits(min_cap_bits);
        let margin = 1.0 + 4.0 * (self.n_registries as f64 + 2.0) * f64::EPSILON;
        let total_bound = f64::from(self.total_max.max) * max_rate * margin;
        if Self::load_fits(reg_bound.min(total_bound), min_cap) {
            debug_assert!(self.classes_fit());
            return true;
        }
        self.classes_fit()
    }

    /// Every node class fits its capacity at the closed-form rates.
    fn classes_fit(&self) -> bool {
        self.classes.all(|cap_bits, k| Self::load_fits(self.class_load(k), f64::from_bits(cap_bits)))
    }
}

// Per-node bookkeeping on every flow join and leave, in every regime: the counts the node
// check above reads.
impl Network {
    /// Bookkeeping for every mode when a flow joins or leaves; called while it is unlinked.
    pub(super) fn track(&mut self, node: usize, registry: usize, cap_bytes_per_s: f64, joining: bool) {
        // Exact nodes of the mixed regime's S are not in the classes nor the histograms.
        let indexed = !self.mixed.exact[node];
        if indexed {
            self.class_remove(node);
        }
        // The flow is not linked here (not yet, or no longer): these are the registry's other
        // plain flows (a routed flow's cap is not the registry's).
        let n_others = self.registry_flows(registry) - self.reg_routed[registry] as usize;
        let (k, total) = (self.node_flows(node)[registry], self.node_total[node]);
        let (k_to, total_to) = if joining { (k + 1, total + 1) } else { (k - 1, total - 1) };
        if indexed {
            self.reg_max[registry].moved(k, k_to);
            self.total_max.moved(total, total_to);
        } else if joining {
            self.mixed.s_k[registry] += 1;
        } else {
            self.mixed.s_k[registry] -= 1;
        }
        self.node_total[node] = total_to;
        if joining {
            self.node_k[node * self.n_registries + registry] += 1;
            if n_others == 0 {
                self.reg_cap[registry] = cap_bytes_per_s;
                self.reg_cap_mismatch[registry] = 0;
            } else if cap_bytes_per_s != self.reg_cap[registry] {
                self.reg_cap_mismatch[registry] += 1;
            }
        } else {
            self.node_k[node * self.n_registries + registry] -= 1;
            if cap_bytes_per_s != self.reg_cap[registry] && self.reg_cap_mismatch[registry] > 0 {
                self.reg_cap_mismatch[registry] -= 1;
            }
            // Only once the last flow left: a remaining one may have another cap.
            if n_others == 0 {
                self.reg_cap_mismatch[registry] = 0;
            }
        }
        if indexed {
            self.class_add(node);
        }
    }

    /// `node`'s flows per registry.
    pub(super) fn node_flows(&self, node: usize) -> &[u32] {
        flows_of(&self.node_k, self.n_registries, node)
    }

    /// Takes `node` out of its class (a node without flows is in none). `node_total` and
    /// `node_k` agree whenever this and `class_add` run.
    pub(super) fn class_remove(&mut self, node: usize) {
        if self.node_total[node] > 0 {
            let k = flows_of(&self.node_k, self.n_registries, node);
            self.classes.remove(self.links[node].capacity_bytes_per_s.to_bits(), k);
        }
    }

    pub(super) fn class_add(&mut self, node: usize) {
        if self.node_total[node] > 0 {
            let k = flows_of(&self.node_k, self.n_registries, node);
            self.classes.add(self.links[node].capacity_bytes_per_s.to_bits(), k);
        }
    }
}

// The registry clocks, and entering and leaving the regime.
impl Network {
    /// Advances a registry's clock to `now` at its current rate.
    pub(super) fn settle_clock(&mut self, registry: usize, now: SimTime) {
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

    pub(super) fn fast_next(&mut self) -> Option<(SimTime, FlowId, usize)> {
        // Each registry's earliest entry is checked against its flow, usually a cache miss on
        // a large run: ask for all of them first, so the misses overlap.
        if let Some(f) = &self.fast {
            for reg in &f.regs {
                if let Some(Some(flow)) =
                    reg.finishes.peek().and_then(|Reverse((_, id, _))| self.flows.get(id.idx()))
                {
                    crate::engine::prefetch::prefetch_read(flow);
                }
            }
        }
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
    pub(super) fn fast_join(&mut self, now: SimTime, id: FlowId, registry: usize) {
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
    pub(super) fn leave_closed_form(&mut self, now: SimTime) {
        for r in 0..self.n_registries {
            self.settle_clock(r, now);
        }
        let f = self.fast.take().expect("closed-form regime");
        for i in 0..self.flows.len() {
            let Some(flow) = self.flows[i].as_mut() else { continue };
            // Routed flows and the flows of exact nodes of S (mixed regime) are in the general
            // representation already, but not on the completion heap.
            if flow.routed || self.mixed.exact[flow.links[0]] {
                if flow.finish_at != SimTime::MAX {
                    self.completions.push(Reverse((flow.finish_at, FlowId::from_idx(i), flow.generation)));
                }
                continue;
            }
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
        // Every flow is reached from a registry or from a node of S (where every routed flow
        // ends).
        let mut seeds: Vec<usize> = (0..self.n_registries).map(|r| self.registry_link(r)).collect();
        seeds.extend_from_slice(&self.mixed.nodes);
        self.s_clear();
        for link in &mut self.links {
            link.rate_sum_bytes_per_s = 0.0;
        }
        self.recompute_component(now, &seeds);
    }

    /// Enters the closed-form regime after a general recompute if it holds.
    pub(super) fn try_enter_closed_form(&mut self, now: SimTime) {
        if self.fast.is_some() || !self.regimes_enabled || !self.regime_holds() {
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
            flow.settle(now);
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

    /// After a flow of `registry` left in the closed-form regime: its registry's rate rose;
    /// stay in the regime if every node still fits, else leave it.
    pub(super) fn after_fast_leave(&mut self, now: SimTime, registry: usize) {
        let rate = self.closed_form_rate(registry);
        self.fast.as_mut().expect("closed-form regime").regs[registry].rate_bytes_per_s = rate;
        self.flows_recomputed_total += 1;
        if !self.regime_holds() {
            self.leave_closed_form(now);
        }
    }
}
