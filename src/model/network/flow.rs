//! The state of one flow and one link, and the small value types the representations share:
//! how a flow settles its bytes and turns a new rate into a completion time (`Flow`), the
//! order in which fills freeze flows at their caps (`cap_order`), the saturation events and
//! scratch buffers of the fills (`Sat`, `Scratch`), the clock readings of the closed form
//! (`OrdBytes`), the most flows on any node (`NodeMax`, for the closed form's node check) and
//! the node-local regime's exact registry sums (`LinkSum`). They are kept apart from `Network`
//! and from any one representation because several representations read and write them.

use crate::ids::FlowId;
use crate::time::{SimDuration, SimTime};
use std::cmp::Ordering;
use std::collections::BinaryHeap;

use super::FlowOwner;

/// Relative tolerance for "this link is full" and "this rate did not change".
const EPS: f64 = 1e-9;

/// No link in a `Flow::via` slot.
pub(super) const NO_LINK: u32 = u32::MAX;

/// One download: its two links (node ingress, source egress: a registry's, or on a routed flow
/// a peer's or a swarm's), up to three links on the way (`via`: shared links, an upstream's
/// egress behind a cache), its cap and its progress
/// in the general representation (the closed form keeps progress in its registry's clock).
#[derive(Clone, Debug)]
pub(super) struct Flow {
    pub(super) links: [usize; 2],
    /// Shared links between source and node (`[[link]]`, an upstream behind a cache), or
    /// `NO_LINK`. A flow with any, or whose source is not a registry, is *routed*: only the
    /// general fill serves it (`Network::n_routed`).
    pub(super) via: [u32; 3],
    /// Position of this flow in `links[via[i]].flows`.
    pub(super) via_pos: [u32; 3],
    pub(super) routed: bool,
    pub(super) cap_bytes_per_s: f64,
    pub(super) size_bytes: u64,
    pub(super) remaining_bytes: f64,
    pub(super) rate_bytes_per_s: f64,
    pub(super) last_update: SimTime,
    pub(super) finish_at: SimTime,
    pub(super) owner: FlowOwner,
    /// Distinguishes this flow from earlier flows that used the same slot (stale heap entries).
    pub(super) generation: u64,
    /// Fill scratch: equals the recompute's epoch once the flow's rate is fixed.
    pub(super) frozen_epoch: u64,
    /// Fill scratch: equals the recompute's epoch while the flow is in its component.
    pub(super) comp_epoch: u64,
    /// Position of this flow in `links[l].flows` for each of its two links (O(1) removal).
    pub(super) pos_in_link: [usize; 2],
    /// Closed-form regime: the registry clock reading at which this flow is complete.
    pub(super) clock_finish_bytes: f64,
    /// The rate the last fill computed (general or node-local). `rate_bytes_per_s` keeps its
    /// old value when the two differ by less than EPS; link sums are over this one.
    pub(super) fill_rate_bytes_per_s: f64,
}

/// A node's ingress or a registry's egress: its capacity, its flows and the fill's scratch.
#[derive(Clone, Debug, Default)]
pub(super) struct Link {
    pub(super) capacity_bytes_per_s: f64,
    /// Flows through this link (ids). Not in insertion order: removal swaps the last flow into
    /// the hole (`swap_remove`) and updates its `pos_in_link`.
    pub(super) flows: Vec<FlowId>,
    pub(super) rate_sum_bytes_per_s: f64,
    /// Scratch for the fill: set while the link is part of the component being recomputed.
    pub(super) mark: u64,
    pub(super) frozen_sum: f64,
    /// Localized fill: the rates of the link's flows outside the component (fixed).
    pub(super) fixed_sum: f64,
    pub(super) n_unfrozen: u32,
    pub(super) version: u64,
    /// Fill scratch: on the list of links a batch of freezes touched.
    pub(super) in_batch: bool,
}

/// `node`'s row of the node-major flow-count table (a free function so that callers can hold
/// it while changing other fields of the network).
pub(super) fn flows_of(node_k: &[u32], n_registries: usize, node: usize) -> &[u32] {
    &node_k[node * n_registries..(node + 1) * n_registries]
}

/// A link (not a node's) does not bind at this rate sum: below capacity by the relative margin
/// EPS (an unlimited link never binds). The margin keeps a link that is full up to rounding on
/// the general fill, which then treats it exactly.
pub(super) fn link_fits(sum_bytes_per_s: f64, capacity_bytes_per_s: f64) -> bool {
    capacity_bytes_per_s.is_infinite() || sum_bytes_per_s < capacity_bytes_per_s * (1.0 - EPS)
}

impl Flow {
    /// A new flow of `size_bytes` at rate 0 and no completion time yet, crossing `links` (node,
    /// source) and `via`; `routed`: served by the node-local regime and the general fill only.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn new(
        links: [usize; 2],
        via: [u32; 3],
        routed: bool,
        cap_bytes_per_s: f64,
        size_bytes: u64,
        now: SimTime,
        owner: FlowOwner,
        generation: u64,
    ) -> Flow {
        Flow {
            links,
            cap_bytes_per_s,
            size_bytes,
            remaining_bytes: size_bytes as f64,
            rate_bytes_per_s: 0.0,
            last_update: now,
            finish_at: SimTime::MAX,
            owner,
            generation,
            frozen_epoch: 0,
            comp_epoch: 0,
            pos_in_link: [0, 0],
            via,
            via_pos: [0; 3],
            routed,
            clock_finish_bytes: f64::NAN,
            fill_rate_bytes_per_s: 0.0,
        }
    }

    /// Every link the flow crosses, in slot order (node, source, then the `via` links), and how
    /// many there are.
    #[inline]
    pub(super) fn path(&self) -> ([usize; 5], usize) {
        let mut out = [self.links[0], self.links[1], 0, 0, 0];
        let mut n = 2;
        for v in self.via {
            if v != NO_LINK {
                out[n] = v as usize;
                n += 1;
            }
        }
        (out, n)
    }

    /// Records that this flow now sits at `pos` in `link`'s flow list.
    #[inline]
    pub(super) fn set_pos(&mut self, link: usize, pos: usize) {
        if self.links[0] == link {
            self.pos_in_link[0] = pos;
        } else if self.links[1] == link {
            self.pos_in_link[1] = pos;
        } else if self.via[0] as usize == link {
            self.via_pos[0] = pos as u32;
        } else if self.via[1] as usize == link {
            self.via_pos[1] = pos as u32;
        } else {
            debug_assert_eq!(self.via[2] as usize, link, "the flow crosses the link");
            self.via_pos[2] = pos as u32;
        }
    }

    /// Where this flow sits in `link`'s flow list.
    #[inline]
    pub(super) fn pos(&self, link: usize) -> usize {
        if self.links[0] == link {
            self.pos_in_link[0]
        } else if self.links[1] == link {
            self.pos_in_link[1]
        } else if self.via[0] as usize == link {
            self.via_pos[0] as usize
        } else if self.via[1] as usize == link {
            self.via_pos[1] as usize
        } else {
            self.via_pos[2] as usize
        }
    }

    /// Moves the bytes sent at the current rate since the last update.
    pub(super) fn settle(&mut self, now: SimTime) {
        let dt = now.since(self.last_update).as_secs_f64();
        if self.rate_bytes_per_s.is_finite() {
            self.remaining_bytes = (self.remaining_bytes - self.rate_bytes_per_s * dt).max(0.0);
        } else if self.rate_bytes_per_s > 0.0 {
            self.remaining_bytes = 0.0;
        }
        self.last_update = now;
    }

    /// Applies a rate computed by a fill (bytes settled first). A rate within EPS of the
    /// current one leaves the flow as it is, `finish_at` included. Returns the new completion
    /// time when it moved (the caller pushes it on the completion heap).
    pub(super) fn apply_rate(&mut self, now: SimTime, rate_bytes_per_s: f64) -> Option<SimTime> {
        let rate = rate_bytes_per_s;
        self.fill_rate_bytes_per_s = rate;
        let unchanged = self.finish_at != SimTime::MAX
            && (rate == self.rate_bytes_per_s || (rate - self.rate_bytes_per_s).abs() <= EPS * rate.abs());
        if unchanged {
            return None;
        }
        self.rate_bytes_per_s = rate;
        let finish = if self.remaining_bytes <= 0.0 || rate.is_infinite() {
            now
        } else {
            now.plus(SimDuration::from_secs_f64_ceil(self.remaining_bytes / rate))
        };
        if finish == self.finish_at {
            return None;
        }
        self.finish_at = finish;
        Some(finish)
    }
}

/// The (cap, id) order in which fills freeze flows at their caps.
pub(super) fn cap_order(a: &(f64, FlowId), b: &(f64, FlowId)) -> Ordering {
    a.0.total_cmp(&b.0).then(a.1.cmp(&b.1))
}

/// A clock reading with a total order (never NaN in the regime).
#[derive(Clone, Copy, Debug, PartialEq)]
pub(super) struct OrdBytes(pub(super) f64);
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

/// The largest per-node count (flows on a node, of one registry or of all): a histogram of
/// nodes by count, so the maximum is O(1) amortized as counts move by one.
#[derive(Clone, Debug, Default)]
pub(super) struct NodeMax {
    /// `nodes[k]`: nodes whose count is k (k ≥ 1; index 0 unused).
    pub(super) nodes: Vec<u32>,
    pub(super) max: u32,
}

impl NodeMax {
    /// A node's count moved from `from` to `to`.
    pub(super) fn moved(&mut self, from: u32, to: u32) {
        if from > 0 {
            self.nodes[from as usize] -= 1;
        }
        if to > 0 {
            if self.nodes.len() <= to as usize {
                self.nodes.resize(to as usize + 1, 0);
            }
            self.nodes[to as usize] += 1;
            self.max = self.max.max(to);
        }
        while self.max > 0 && self.nodes[self.max as usize] == 0 {
            self.max -= 1;
        }
    }
}

/// The rate sum of a link other than a node's (a registry's egress, a shared link, a peer's
/// egress, a swarm) in the node-local regime, exact by construction: each flow adds its
/// fill rate rounded to a multiple of 2^-32 B/s as an integer, so removing a flow subtracts
/// exactly what it added. The sum cannot drift under any amount of churn and depends only on
/// the current rates, never on the order of changes (a float running sum would drift, and a
/// periodic exact re-summation would cost O(flows of the link)). The rounding is at most
/// 2^-33 B/s per flow, far below the EPS margin of the regime check. Rates that are infinite or
/// too large for the grid (≥ 2^64 B/s) are counted instead of summed.
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct LinkSum {
    pub(super) fixed: i128,
    pub(super) n_huge: u32,
}

/// Units per byte/s of `LinkSum::fixed` (2^32: scaling by it is exact in f64).
const FIXED_PER_BYTE_PER_S: f64 = 4_294_967_296.0;
/// Rates from here up (2^64 B/s) are not summed in fixed point.
const FIXED_LIMIT_BYTES_PER_S: f64 = 18_446_744_073_709_551_616.0;

impl LinkSum {
    /// `rate` in fixed point, or `None` if it is infinite, NaN or huge.
    pub(super) fn fixed(rate_bytes_per_s: f64) -> Option<i128> {
        (rate_bytes_per_s < FIXED_LIMIT_BYTES_PER_S)
            .then(|| (rate_bytes_per_s * FIXED_PER_BYTE_PER_S).round() as i128)
    }

    pub(super) fn add(&mut self, rate_bytes_per_s: f64) {
        match Self::fixed(rate_bytes_per_s) {
            Some(x) => self.fixed += x,
            None => self.n_huge += 1,
        }
    }

    pub(super) fn remove(&mut self, rate_bytes_per_s: f64) {
        match Self::fixed(rate_bytes_per_s) {
            Some(x) => self.fixed -= x,
            None => self.n_huge -= 1,
        }
    }

    /// The sum of the finite rates, bytes/s.
    pub(super) fn finite_bytes_per_s(&self) -> f64 {
        self.fixed as f64 / FIXED_PER_BYTE_PER_S
    }
}

/// Buffers reused by every recompute (general fill and node-local refill).
#[derive(Default)]
pub(super) struct Scratch {
    pub(super) comp_links: Vec<usize>,
    pub(super) comp_flows: Vec<FlowId>,
    pub(super) stack: Vec<usize>,
    pub(super) by_cap: Vec<(f64, FlowId)>,
    pub(super) new_rate: Vec<(FlowId, f64)>,
    pub(super) to_freeze: Vec<FlowId>,
    pub(super) heap: BinaryHeap<Sat>,
    /// Node-local regime: the new rates of the changed nodes' flows, where each node's run
    /// ends in `pending`, and the registries whose rate sum rose.
    pub(super) pending: Vec<(FlowId, f64)>,
    pub(super) node_ends: Vec<(usize, usize)>,
    pub(super) rose_links: Vec<usize>,
    /// General fill: links outside a localized fill's component that its result would make
    /// bind, and fixed flows it would leave above a saturated link's level.
    pub(super) outside_binding: Vec<usize>,
    pub(super) outside_flows: Vec<FlowId>,
    /// Localized fill: the links with fixed flows that saturated, and at which level.
    pub(super) saturated_at: Vec<(usize, f64)>,
    /// The links a batch of freezes touched (one heap entry each after the batch).
    pub(super) batch_links: Vec<usize>,
}

/// A link's saturation level in a fill's heap; stale once the link's `version` moved on.
#[derive(PartialEq)]
pub(super) struct Sat {
    pub(super) level: f64,
    pub(super) link: usize,
    pub(super) version: u64,
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
