//! The mixed representation (`Mixed`), when registries bind and a few nodes too: the flows
//! of the nodes outside a set S run on the closed form's registry clocks at one rate per
//! registry, and every change re-solves a reduced problem (the flows of S and one bundled flow
//! per registry) by progressive filling (`mixed_solve`), far smaller than the general fill's.
//! Routed flows (a peer's egress, a shared link) are served too: the node of every routed flow
//! is in S, so every link but the registries' that the reduced problem meets carries flows of
//! S only, and such a node's registry downloads stay on the clocks unless it binds them. Also
//! here: choosing S on entry (`try_enter_mixed`) and leaving for the general
//! fill or the closed form (`mixed_after_change`); moving nodes in and out of S is in
//! `mixed_members`.

use crate::ids::FlowId;
use crate::time::SimTime;
use std::cmp::Reverse;
use std::collections::BinaryHeap;

use super::flow::{OrdBytes, Sat};
use super::Network;

/// The mixed regime: the closed form's registry clocks (`Fast`) for the registry downloads of
/// every node outside a set S of nodes, and the general representation (rate, remaining
/// bytes, authoritative `finish_at`) for the flows of the nodes in S. Its preconditions: every
/// flow of a registry has the same cap, and no node outside S binds. Then all flows of
/// registry r outside S have the same rate ρ_r, and the max-min allocation is that of a
/// reduced problem: the links of S and of the registries, the flows of S one by one, and per
/// registry one bundled flow of multiplicity m_r (its flows outside S) through the registry
/// link only. (The reduced problem drops the constraints of the nodes outside S: its max-min
/// allocation, if feasible for them, is the max-min allocation of the whole problem, which is
/// unique.) A change costs one fill of the reduced problem, O((flows in S + registries) log),
/// and a check of the nodes outside S at the new ρ (the O(registries) bound, else the class
/// scan); a failing check leaves for the general fill.
///
/// S is chosen when entering (after a general fill): the nodes loaded to at least
/// `MIXED_NODE_SHARE` of their capacity (*sticky*: kept while the regime lasts, solved exactly
/// even once they stop binding), and the nodes with a routed flow. A node gains a routed flow:
/// it joins S; it has none left (and, if exact, is loaded below `MIXED_NODE_SHARE`): it leaves
/// S, unless sticky. The reduced problem then also holds the links beyond nodes and
/// registries that flows of S cross (a peer's egress, a shared link, a swarm), which carry no
/// other flow.
///
/// A node of S is *exact* (every flow of it an item of the solve; a sticky node always is) or
/// *clocked* (a node with a routed flow: only its routed flows are items, its registry
/// downloads stay on the clocks, in the bundles and in the classes). A clocked node's link
/// counts its k_r downloads of registry r as flows of r's bundle until the bundle freezes,
/// then as k_r × its level. That is the whole problem's progressive filling as long as the
/// node never saturates before all its bundles froze; if it would, the node binds one of its
/// downloads below ρ_r, the solve stops having applied nothing, and the node becomes exact
/// (`s_admit`) for a new solve. Peer downloads usually take what the clocks leave a node, so
/// a change costs a fill over the routed flows, not over every download at their nodes.
#[derive(Default)]
pub(super) struct Mixed {
    /// The nodes in S, membership per node, and which of them are exact (all their flows in
    /// the solve; a clocked node's registry downloads are on the clocks).
    pub(super) nodes: Vec<usize>,
    pub(super) in_s: Vec<bool>,
    pub(super) exact: Vec<bool>,
    /// Flows per registry at exact nodes of S (routed flows not counted).
    pub(super) s_k: Vec<u32>,
    /// Nodes of S chosen for their load on entry, kept while the regime lasts, and how many
    /// nodes of S are not.
    pub(super) sticky: Vec<bool>,
    pub(super) loose: usize,
    /// Local id of each link beyond nodes and registries in the reduced problem (`u32::MAX`
    /// when not in it), and those links, this solve's and the last one's (whose rate sums the
    /// solve sets, or clears when they left it).
    local_of: Vec<u32>,
    extra: Vec<usize>,
    prev_extra: Vec<usize>,
    /// Scratch: the nodes considered for S on entry.
    candidates: Vec<usize>,
    /// Reduced-fill scratch: items (flow or bundle), their links (local link ids: registries
    /// first, then the nodes of S in `nodes` order) and per-link item lists.
    items: Vec<Item>,
    by_cap: Vec<(u64, usize)>,
    link_fill: Vec<usize>,
    /// Per registry, its egress after the last solve, summed as `registry_egress_bytes_per_s`
    /// would (the bundle, then the flows of S in order): the world reads it after every change.
    pub(super) egress: Vec<f64>,
    /// The earliest completion among the flows of S, by (time, id): set by every solve, found
    /// again by a scan of S once a flow of S is gone (`s_next_stale`). The flows of S have no
    /// entries on the network's completion heap while the regime lasts (every change moves
    /// most of their rates, and the heap would fill with dead entries); leaving the regime
    /// pushes them.
    s_next: Option<(SimTime, FlowId)>,
    pub(super) s_next_stale: bool,
    /// Scratch: the clocked downloads at clocked nodes of S, (registry, local link of the
    /// node, flows) sorted by registry, where each registry's start in that list, and per
    /// local link the clocked downloads whose bundle is not frozen yet.
    couple: Vec<(usize, usize, u32)>,
    couple_start: Vec<usize>,
    link_coupled: Vec<u64>,
    /// Scratch: the distinct caps of a solve's items, and each item's rank among them.
    caps: Vec<u64>,
    cap_rank: Vec<u8>,
    cap_count: Vec<usize>,
    link_cap: Vec<f64>,
    link_frozen: Vec<f64>,
    link_unfrozen: Vec<u64>,
    link_version: Vec<u64>,
    link_start: Vec<usize>,
    link_items: Vec<usize>,
    rate: Vec<f64>,
    frozen: Vec<bool>,
    heap: BinaryHeap<Sat>,
    to_freeze: Vec<usize>,
    touched: Vec<bool>,
    touched_nodes: Vec<usize>,
}

/// An item of the reduced fill: a flow of a node in S (its node, source and `via` links), or
/// a registry's bundle (`flow` None, multiplicity `mult`, through the registry link only).
#[derive(Clone, Copy)]
struct Item {
    cap: f64,
    links: [usize; 5],
    n_links: usize,
    mult: u64,
    flow: Option<FlowId>,
}

/// The mixed regime takes as S the nodes loaded to at least this share of their capacity (a
/// margin, so a small rise of the registry rates does not at once make a node outside S bind).
const MIXED_NODE_SHARE: f64 = 0.95;
/// ... and is entered, or kept, only while at most this share of the flows are at nodes in S
/// (beyond it the general fill's localized walk costs less than a solve over S).
const MIXED_MAX_FLOW_SHARE: f64 = 0.8;

impl Mixed {
    /// Fills `by_cap` with the items in (cap, index) order. A solve's items have a few
    /// distinct caps (a registry's, a peer's unlimited one), so they are ranked among those
    /// and placed by a stable counting sort; more than `MAX_RANKED_CAPS` distinct ones are
    /// sorted.
    fn sort_by_cap(&mut self) {
        const MAX_RANKED_CAPS: usize = 16;
        self.by_cap.clear();
        // Caps are positive (or infinite): their bit patterns order as their values. Items
        // already in cap order (one cap for all, as without routed flows) are done in one pass.
        self.by_cap.extend(self.items.iter().enumerate().map(|(i, it)| (it.cap.to_bits(), i)));
        if self.by_cap.is_sorted() {
            return;
        }
        self.caps.clear();
        for it in &self.items {
            let bits = it.cap.to_bits();
            if !self.caps.contains(&bits) {
                self.caps.push(bits);
                if self.caps.len() > MAX_RANKED_CAPS {
                    self.by_cap.sort_unstable();
                    return;
                }
            }
        }
        self.caps.sort_unstable();
        self.cap_count.clear();
        self.cap_count.resize(self.caps.len() + 1, 0);
        self.cap_rank.clear();
        for it in &self.items {
            let rank = self.caps.iter().position(|c| *c == it.cap.to_bits()).expect("a cap seen above");
            self.cap_rank.push(rank as u8);
            self.cap_count[rank + 1] += 1;
        }
        for k in 0..self.caps.len() {
            self.cap_count[k + 1] += self.cap_count[k];
        }
        debug_assert_eq!(self.by_cap.len(), self.items.len(), "every slot is written below");
        for (i, &rank) in self.cap_rank.iter().enumerate() {
            let at = &mut self.cap_count[rank as usize];
            self.by_cap[*at] = (self.caps[rank as usize], i);
            *at += 1;
        }
    }

    /// The state outside the regime (S empty) for `n_nodes` nodes and `n_registries` registries.
    pub(super) fn new(n_nodes: usize, n_registries: usize) -> Mixed {
        Mixed {
            in_s: vec![false; n_nodes],
            exact: vec![false; n_nodes],
            sticky: vec![false; n_nodes],
            s_k: vec![0; n_registries],
            ..Mixed::default()
        }
    }
}

impl Network {
    /// Flows of registry `registry` at nodes outside S (its bundle in the mixed regime).
    pub(super) fn bundle_flows(&self, registry: usize) -> usize {
        self.registry_flows(registry) - self.mixed.s_k[registry] as usize - self.reg_routed[registry] as usize
    }

    /// The rate of registry r's flows at nodes outside S: the closed form's when S is empty,
    /// else the mixed regime's last reduced fill.
    pub(super) fn outside_rate(&self, registry: usize) -> f64 {
        if self.mixed.nodes.is_empty() {
            self.closed_form_rate(registry)
        } else {
            self.fast.as_ref().expect("mixed regime").regs[registry].rate_bytes_per_s
        }
    }

    /// Mixed regime: the reduced fill (see `Mixed`). Sets every registry's clock rate to its
    /// bundle's rate and applies the rates of the flows in S (settled first), as the general
    /// fill does. The caller checks the nodes outside S afterwards (`regime_holds`). Returns,
    /// having applied nothing, a clocked node of S that binds one of its clocked downloads
    /// below its registry's rate (the reduced problem does not hold for it).
    fn mixed_solve(&mut self, now: SimTime) -> Option<usize> {
        let mut m = std::mem::take(&mut self.mixed);
        let n_regs = self.n_registries;
        let registries = self.n_nodes..self.n_nodes + n_regs;
        m.items.clear();
        std::mem::swap(&mut m.extra, &mut m.prev_extra);
        m.extra.clear();
        if m.local_of.len() < self.links.len() {
            m.local_of.resize(self.links.len(), u32::MAX);
        }
        for r in 0..n_regs {
            // `bundle_flows`, with S taken out of `self` for the solve.
            let mult = (self.registry_flows(r) - m.s_k[r] as usize - self.reg_routed[r] as usize) as u64;
            if mult > 0 {
                m.items.push(Item {
                    cap: self.reg_cap[r],
                    links: [r, usize::MAX, usize::MAX, usize::MAX, usize::MAX],
                    n_links: 1,
                    mult,
                    flow: None,
                });
            }
        }
        // Local link ids: the registries, the nodes of S in `nodes` order, then the other
        // links flows of S cross, in order of first use.
        let first_extra = n_regs + m.nodes.len();
        m.couple.clear();
        for (j, &node) in m.nodes.iter().enumerate() {
            let exact = m.exact[node];
            if !exact {
                for (r, &k) in self.node_flows(node).iter().enumerate() {
                    if k > 0 {
                        m.couple.push((r, n_regs + j, k));
                    }
                }
            }
            // A clocked node's items are its routed flows only: stop once they are found.
            let mut wanted =
                if exact { self.links[node].flows.len() } else { self.node_routed[node] as usize };
            for &id in &self.links[node].flows {
                if wanted == 0 {
                    break;
                }
                let f = self.flows[id.idx()].as_ref().expect("linked flow is live");
                if !exact && !f.routed {
                    continue;
                }
                wanted -= 1;
                let (path, n) = f.path();
                let mut links = [n_regs + j, usize::MAX, usize::MAX, usize::MAX, usize::MAX];
                for (slot, &l) in links[1..n].iter_mut().zip(&path[1..n]) {
                    *slot = if registries.contains(&l) {
                        l - self.n_nodes
                    } else {
                        if m.local_of[l] == u32::MAX {
                            m.local_of[l] = (first_extra + m.extra.len()) as u32;
                            m.extra.push(l);
                        }
                        m.local_of[l] as usize
                    };
                }
                m.items.push(Item { cap: f.cap_bytes_per_s, links, n_links: n, mult: 1, flow: Some(id) });
            }
        }
        let n_links = first_extra + m.extra.len();
        self.flows_recomputed_total += m.items.len() as u64;
        // Per-link item lists (counting sort by link).
        m.link_cap.clear();
        m.link_cap.extend((0..n_regs).map(|r| self.links[self.registry_link(r)].capacity_bytes_per_s));
        m.link_cap.extend(m.nodes.iter().chain(&m.extra).map(|&l| self.links[l].capacity_bytes_per_s));
        m.link_frozen.clear();
        m.link_frozen.resize(n_links, 0.0);
        m.link_unfrozen.clear();
        m.link_unfrozen.resize(n_links, 0);
        m.link_version.clear();
        m.link_version.resize(n_links, 0);
        m.link_start.clear();
        m.link_start.resize(n_links + 1, 0);
        for it in &m.items {
            for &l in &it.links[..it.n_links] {
                m.link_start[l + 1] += 1;
                m.link_unfrozen[l] += it.mult;
            }
        }
        for l in 0..n_links {
            m.link_start[l + 1] += m.link_start[l];
        }
        // A clocked node's registry downloads count at its link as their bundles' flows until
        // the bundle freezes (the clocked downloads of each registry in one range).
        m.link_coupled.clear();
        m.link_coupled.resize(n_links, 0);
        m.couple.sort_unstable();
        m.couple_start.clear();
        m.couple_start.resize(n_regs + 1, 0);
        for &(r, l, k) in &m.couple {
            m.couple_start[r + 1] += 1;
            m.link_unfrozen[l] += u64::from(k);
            m.link_coupled[l] += u64::from(k);
        }
        for r in 0..n_regs {
            m.couple_start[r + 1] += m.couple_start[r];
        }
        m.link_items.clear();
        m.link_items.resize(m.link_start[n_links], 0);
        // A local buffer (taken and put back), which the compiler keeps in registers.
        let mut fill = std::mem::take(&mut m.link_fill);
        fill.clear();
        fill.extend_from_slice(&m.link_start);
        for (i, it) in m.items.iter().enumerate() {
            for &l in &it.links[..it.n_links] {
                m.link_items[fill[l]] = i;
                fill[l] += 1;
            }
        }
        m.link_fill = fill;
        // Progressive filling, as `recompute_component` (multiplicities count as flows).
        m.rate.clear();
        m.rate.resize(m.items.len(), 0.0);
        m.frozen.clear();
        m.frozen.resize(m.items.len(), false);
        m.sort_by_cap();
        // Registry links (few) are scanned for their level; the others are in a heap, where a
        // batch of freezes pushes one entry per link it touched.
        let level_of = |m: &Mixed, l: usize| {
            if m.link_unfrozen[l] > 0 && m.link_cap[l].is_finite() {
                (m.link_cap[l] - m.link_frozen[l]).max(0.0) / m.link_unfrozen[l] as f64
            } else {
                f64::INFINITY
            }
        };
        m.heap.clear();
        for l in n_regs..n_links {
            if m.link_unfrozen[l] > 0 && m.link_cap[l].is_finite() {
                m.heap.push(Sat { level: m.link_cap[l] / m.link_unfrozen[l] as f64, link: l, version: 0 });
            }
        }
        m.touched.clear();
        m.touched.resize(n_links, false);
        let (mut cap_idx, mut n_frozen) = (0, 0);
        let mut failed = None;
        let mut to_freeze = std::mem::take(&mut m.to_freeze);
        let mut touched_nodes = std::mem::take(&mut m.touched_nodes);
        while n_frozen < m.items.len() {
            while let Some(top) = m.heap.peek() {
                if top.version != m.link_version[top.link] || m.link_unfrozen[top.link] == 0 {
                    m.heap.pop();
                } else {
                    break;
                }
            }
            while cap_idx < m.by_cap.len() && m.frozen[m.by_cap[cap_idx].1] {
                cap_idx += 1;
            }
            // The lowest link level, ties to the lower local id (registries first).
            let mut sat: Option<(f64, usize)> = m.heap.peek().map(|s| (s.level, s.link));
            for r in 0..n_regs {
                let level = level_of(&m, r);
                if level.is_finite() && sat.is_none_or(|(l, link)| level < l || (level == l && r < link)) {
                    sat = Some((level, r));
                }
            }
            let link_level = sat.map(|s| s.0).unwrap_or(f64::INFINITY);
            let cap_level = m.by_cap.get(cap_idx).map(|c| f64::from_bits(c.0)).unwrap_or(f64::INFINITY);
            to_freeze.clear();
            let level = if cap_level <= link_level {
                to_freeze.push(m.by_cap[cap_idx].1);
                cap_level
            } else {
                let (level, link) = sat.expect("a link saturates");
                if m.link_coupled[link] > 0 {
                    // A clocked node binds a clocked download below its registry's rate.
                    failed = Some(m.nodes[link - n_regs]);
                    break;
                }
                if link >= n_regs {
                    m.heap.pop();
                }
                let items = &m.link_items[m.link_start[link]..m.link_start[link + 1]];
                to_freeze.extend(items.iter().copied().filter(|&i| !m.frozen[i]));
                level
            };
            for &i in &to_freeze {
                if m.frozen[i] {
                    continue;
                }
                m.frozen[i] = true;
                m.rate[i] = level;
                n_frozen += 1;
                let it = m.items[i];
                for &l in &it.links[..it.n_links] {
                    m.link_frozen[l] += it.mult as f64 * level;
                    m.link_unfrozen[l] -= it.mult;
                    m.link_version[l] += 1;
                    if l >= n_regs && !m.touched[l] {
                        m.touched[l] = true;
                        touched_nodes.push(l);
                    }
                }
                if it.flow.is_none() {
                    // A bundle: its clocked downloads at clocked nodes freeze with it.
                    let r = it.links[0];
                    for c in m.couple_start[r]..m.couple_start[r + 1] {
                        let (_, l, k) = m.couple[c];
                        m.link_frozen[l] += f64::from(k) * level;
                        m.link_unfrozen[l] -= u64::from(k);
                        m.link_coupled[l] -= u64::from(k);
                        m.link_version[l] += 1;
                        if !m.touched[l] {
                            m.touched[l] = true;
                            touched_nodes.push(l);
                        }
                    }
                }
            }
            for &l in &touched_nodes {
                m.touched[l] = false;
                if m.link_unfrozen[l] > 0 && m.link_cap[l].is_finite() {
                    let level = level_of(&m, l);
                    m.heap.push(Sat { level, link: l, version: m.link_version[l] });
                }
            }
            touched_nodes.clear();
        }
        m.to_freeze = to_freeze;
        m.touched_nodes = touched_nodes;
        if failed.is_some() {
            // Nothing applied: the last solve's extra links stay the ones to clear next time.
            for &l in &m.extra {
                m.local_of[l] = u32::MAX;
            }
            std::mem::swap(&mut m.extra, &mut m.prev_extra);
            self.mixed = m;
            return failed;
        }
        // Apply: registry clocks, then the flows of S (and the rate sums of their links but the
        // registries').
        for r in 0..n_regs {
            self.settle_clock(r, now);
            self.fast.as_mut().expect("mixed regime").regs[r].rate_bytes_per_s = 0.0;
        }
        for &l in m.nodes.iter().chain(&m.prev_extra).chain(&m.extra) {
            self.links[l].rate_sum_bytes_per_s = 0.0;
        }
        m.egress.clear();
        m.egress.resize(n_regs, 0.0);
        m.s_next = None;
        m.s_next_stale = false;
        for (i, it) in m.items.iter().enumerate() {
            let rate = m.rate[i];
            match it.flow {
                None => {
                    self.fast.as_mut().expect("mixed regime").regs[it.links[0]].rate_bytes_per_s = rate;
                    m.egress[it.links[0]] = it.mult as f64 * rate;
                }
                Some(id) => {
                    let f = self.flows[id.idx()].as_mut().unwrap();
                    f.settle(now);
                    let (path, n) = f.path();
                    f.apply_rate(now, rate);
                    if f.finish_at != SimTime::MAX && m.s_next.is_none_or(|next| (f.finish_at, id) < next) {
                        m.s_next = Some((f.finish_at, id));
                    }
                    for &l in &path[..n] {
                        if registries.contains(&l) {
                            m.egress[l - self.n_nodes] += f.rate_bytes_per_s;
                        } else {
                            self.links[l].rate_sum_bytes_per_s += rate;
                        }
                    }
                }
            }
        }
        for &l in &m.extra {
            m.local_of[l] = u32::MAX;
        }
        self.mixed = m;
        None
    }

    /// `mixed_solve`, making exact each clocked node it finds binding, until it holds (an
    /// exact node never fails a solve, so at most once per node of S).
    fn mixed_solve_admitting(&mut self, now: SimTime) {
        while let Some(node) = self.mixed_solve(now) {
            self.s_admit(node, now);
        }
    }

    /// Mixed regime: every registry with flows outside S has one cap for all its flows.
    fn mixed_caps_uniform(&self) -> bool {
        (0..self.n_registries).all(|r| self.bundle_flows(r) == 0 || self.reg_cap_mismatch[r] == 0)
    }

    /// Mixed regime, after a change: re-solves, or leaves for the general fill when a
    /// precondition fails (then the general fill starts from the state before this solve: the
    /// solve only moved rates at `now`, no bytes).
    pub(super) fn mixed_after_change(&mut self, now: SimTime) {
        if self.mixed.loose > 0 {
            self.s_release_idle(now);
        }
        if self.n_routed == 0 && self.mixed.s_k.iter().all(|k| *k == 0) {
            // No flows left in S: the closed form, whose clocks these are.
            self.s_clear();
            for &l in &self.mixed.extra {
                self.links[l].rate_sum_bytes_per_s = 0.0;
            }
            self.mixed.extra.clear();
            for r in 0..self.n_registries {
                self.settle_clock(r, now);
                let rate = self.closed_form_rate(r);
                self.fast.as_mut().expect("closed-form regime").regs[r].rate_bytes_per_s = rate;
            }
            self.flows_recomputed_total += self.n_registries as u64;
            if !self.regime_holds() {
                self.leave_closed_form(now);
            }
            return;
        }
        let s_flows = self.mixed.s_k.iter().map(|k| *k as usize).sum::<usize>() + self.n_routed;
        if self.mixed_caps_uniform() && s_flows as f64 <= self.n_active as f64 * MIXED_MAX_FLOW_SHARE {
            self.mixed_solve_admitting(now);
            if self.regime_holds() {
                return;
            }
        }
        self.leave_closed_form(now);
    }

    /// Enters the mixed regime after a general recompute (neither other regime holds) when
    /// every registry has one cap and few flows are at nodes loaded to `MIXED_NODE_SHARE` of
    /// their capacity (those nodes become S). Costs O(flows), like the recompute before it.
    pub(super) fn try_enter_mixed(&mut self, now: SimTime) {
        if self.fast.is_some() || self.node_local || !self.regimes_enabled {
            return;
        }
        // One cap per registry, and a finite rate for every bundle (an unlimited registry with
        // unlimited flows would fail the check after the solve, on every change).
        if (0..self.n_registries).any(|r| {
            self.bundle_flows(r) + self.mixed.s_k[r] as usize > 0
                && (self.reg_cap_mismatch[r] > 0
                    || (self.reg_cap[r].is_infinite()
                        && self.links[self.registry_link(r)].capacity_bytes_per_s.is_infinite()))
        }) {
            return;
        }
        // The candidates are the nodes of the last general recompute, if it covered every flow
        // (in the general fill every change recomputes, so it is this change's): O(its links).
        if self.scratch.comp_flows.len() != self.n_active {
            return;
        }
        let mut s_flows = 0;
        let mut nodes = std::mem::take(&mut self.mixed.candidates);
        nodes.clear();
        // With routed flows the fill may have been localized (its links not all of the flows'
        // links): every node is a candidate then, O(nodes) like the flows just recomputed.
        let n_candidates = if self.n_routed > 0 {
            self.n_nodes
        } else {
            self.scratch.comp_links.iter().take_while(|l| **l < self.n_nodes).count()
        };
        for i in 0..n_candidates {
            let n = if self.n_routed > 0 { i } else { self.scratch.comp_links[i] };
            if self.loaded(n) {
                nodes.push(n);
                s_flows += self.links[n].flows.len();
            } else if self.node_routed[n] > 0 {
                nodes.push(n);
                s_flows += self.node_routed[n] as usize;
            }
        }
        let worth = !nodes.is_empty() && s_flows as f64 <= self.n_active as f64 * MIXED_MAX_FLOW_SHARE;
        if worth {
            for &n in &nodes {
                if self.loaded(n) {
                    self.s_insert(n);
                    self.s_stick(n);
                } else {
                    self.s_join_clocked(n);
                }
            }
        }
        self.mixed.candidates = nodes;
        if !worth {
            return;
        }
        let mut f = self.fast_regs_spare.take().expect("spare closed-form state");
        for reg in &mut f.regs {
            reg.clock_bytes = 0.0;
            reg.clock_at = now;
            reg.finishes.clear();
            reg.rate_bytes_per_s = 0.0;
        }
        // The flows of S are followed by `s_next` from here.
        self.completions.clear();
        for i in 0..self.flows.len() {
            let Some(flow) = self.flows[i].as_mut() else { continue };
            let id = FlowId::from_idx(i);
            if flow.routed || self.mixed.exact[flow.links[0]] {
                continue;
            }
            flow.settle(now);
            let r = flow.links[1] - self.n_nodes;
            flow.clock_finish_bytes = flow.remaining_bytes;
            flow.finish_at = SimTime::MAX;
            f.regs[r].finishes.push(Reverse((OrdBytes(flow.clock_finish_bytes), id, flow.generation)));
        }
        self.fast = Some(f);
        self.mixed_solve_admitting(now);
        if !self.regime_holds() {
            self.leave_closed_form(now);
        }
    }

    /// A node loaded to `MIXED_NODE_SHARE` of its (finite) capacity by its flows' last rates:
    /// one the mixed regime keeps in S.
    pub(super) fn loaded(&self, node: usize) -> bool {
        let l = &self.links[node];
        !l.flows.is_empty()
            && l.capacity_bytes_per_s.is_finite()
            && l.rate_sum_bytes_per_s >= l.capacity_bytes_per_s * MIXED_NODE_SHARE
    }

    /// Mixed regime: the earliest completion among the flows of S, by (time, id).
    pub(super) fn next_s_completion(&mut self) -> Option<(SimTime, FlowId)> {
        if self.mixed.s_next_stale {
            let mut next: Option<(SimTime, FlowId)> = None;
            for &node in &self.mixed.nodes {
                let exact = self.mixed.exact[node];
                for &id in &self.links[node].flows {
                    let f = self.flows[id.idx()].as_ref().expect("linked flow is live");
                    let t = f.finish_at;
                    if (exact || f.routed) && t != SimTime::MAX && next.is_none_or(|n| (t, id) < n) {
                        next = Some((t, id));
                    }
                }
            }
            self.mixed.s_next = next;
            self.mixed.s_next_stale = false;
        }
        self.mixed.s_next
    }
}
