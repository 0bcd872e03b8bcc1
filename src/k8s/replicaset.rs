//! Which pods a ReplicaSet deletes when it scales down: `getPodsToDelete` and
//! `getPodsRankedByRelatedPodsOnSameNode` (pkg/controller/replicaset/replica_set.go), ranked by
//! `ActivePodsWithRanks.Less` (pkg/controller/controller_utils.go) with the LogarithmicScaleDown
//! comparison (on by default since 1.22). The model keeps a Deployment's old pods in this order
//! as they change; this file says what the order is.

use crate::time::{SimTime, NS_PER_S};
use std::cmp::Ordering;

/// The phases an active pod can be in, in `podPhaseToOrdinal` order (Pending first). pullsim's
/// pods are Pending until every container has started, then Running; never Unknown.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum PodPhase {
    Pending,
    Unknown,
    Running,
}

/// One pod the ReplicaSet may delete, with what `ActivePodsWithRanks.Less` reads of it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DeletionCandidate {
    /// Bound to a node (`spec.nodeName` set).
    pub assigned: bool,
    pub phase: PodPhase,
    /// The Ready condition is True.
    pub ready: bool,
    /// When the Ready condition last became True, as the API holds it (`api_timestamp`); read
    /// only when `ready`.
    pub ready_since: SimTime,
    /// The rank `getPodsRankedByRelatedPodsOnSameNode` gives the pod: the active pods of every
    /// ReplicaSet of the same Deployment (old and new template) on the pod's node, the pod
    /// included. Unassigned pods all count under the empty node name, so they share one value.
    pub related_on_node: u32,
    /// `metadata.creationTimestamp`, as the API holds it (`api_timestamp`).
    pub created: SimTime,
    /// Stands in for the pod UID, the last tie-break.
    pub id: u32,
}

/// An instant as a pod's status or metadata carries it: `metav1.Time` is serialised with whole
/// seconds (its protobuf form keeps `Seconds` only, its JSON form is RFC 3339 without a
/// fraction), so the controller reads creation and readiness times truncated to the second.
/// The controller's own `Now` keeps nanoseconds.
pub fn api_timestamp(t: SimTime) -> SimTime {
    SimTime(t.0 / NS_PER_S * NS_PER_S)
}

/// Go's `math.Log2`, formula for formula: `Frexp`, then `Log(frac)*(1/Ln2) + exp`, exact for
/// powers of two. Below 2^48 it truncates to the integer floor of log2; above, the float sum
/// can round up to the next integer for a value just under a power of two, as upstream's does.
fn go_log2(x: f64) -> f64 {
    debug_assert!(x.is_normal() && x > 0.0);
    let bits = x.to_bits();
    let exp = ((bits >> 52) & 0x7ff) as i64 - 1022;
    let frac = f64::from_bits((bits & !(0x7ff << 52)) | (1022 << 52));
    if frac == 0.5 {
        return (exp - 1) as f64;
    }
    frac.ln() * std::f64::consts::LOG2_E + exp as f64
}

/// One side of `logarithmicRankDiff`: `int64(math.Log2(float64(now - t)))` on the age in
/// nanoseconds, -1 when the age is not positive. Younger pods have smaller ranks; ages within
/// the same power of two tie.
pub fn logarithmic_rank(t: SimTime, now: SimTime) -> i64 {
    let age = i64::try_from(now.0).unwrap_or(i64::MAX).saturating_sub(i64::try_from(t.0).unwrap_or(i64::MAX));
    if age > 0 {
        go_log2(age as f64) as i64
    } else {
        -1
    }
}

/// Rules 1 to 5 of `ActivePodsWithRanks.Less` as one number, smaller deleted first:
/// unassigned before assigned, then `podPhaseToOrdinal`, then not ready before ready, then the
/// greater rank (more of the Deployment's pods on the node) first. Rule 4, the
/// `controller.kubernetes.io/pod-deletion-cost` annotation, never decides: pullsim pods carry
/// no annotations, so every cost is 0. Pods of one class are ordered by `deletion_order`'s
/// time rule. The value stays below 2^36.
pub fn deletion_class(c: &DeletionCandidate) -> u64 {
    (u64::from(c.assigned) << 35)
        | ((c.phase as u64) << 33)
        | (u64::from(c.ready) << 32)
        | u64::from(u32::MAX - c.related_on_node)
}

/// The instant the time rule of a pod's class compares: the ready time when the pod is ready
/// (rule 6, readiness), the creation time otherwise (rule 8).
pub fn deletion_time(c: &DeletionCandidate) -> SimTime {
    if c.ready {
        c.ready_since
    } else {
        c.created
    }
}

/// `ActivePodsWithRanks.Less` as a total order (`Less` = `a` is deleted first), with `Now` =
/// `now`: `deletion_class`, then the time rule on a logarithmic scale (the pod that became ready
/// more recently first when both are ready, else the more recently created first; ages in the
/// same power of two of nanoseconds tie), then the id in place of the UID.
///
/// Rule 7 (more container restarts first) never decides: pullsim's containers never restart.
/// Upstream compares ready times only when they differ and otherwise falls through to the
/// creation times; that makes `Less` intransitive for two pods that became ready in the same
/// second beside a third in the same power of two (UID against creation), so no total order
/// matches it on every pair. This one takes the id for every tie within a power of two, as
/// upstream does for all pairs whose ready times differ.
pub fn deletion_order(a: &DeletionCandidate, b: &DeletionCandidate, now: SimTime) -> Ordering {
    deletion_class(a)
        .cmp(&deletion_class(b))
        .then_with(|| logarithmic_rank(deletion_time(a), now).cmp(&logarithmic_rank(deletion_time(b), now)))
        .then(a.id.cmp(&b.id))
}

/// `getPodsToDelete`: the `diff` pods a ReplicaSet deletes, ranked once with the related-pod
/// counts as they stand (a sync does not re-rank between its deletions); no ranking when all go.
pub fn pods_to_delete(pods: &mut [DeletionCandidate], diff: usize, now: SimTime) -> &[DeletionCandidate] {
    if diff < pods.len() {
        pods.sort_by(|a, b| deletion_order(a, b, now));
    }
    &pods[..diff.min(pods.len())]
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: u64 = NS_PER_S;

    /// A Running, ready pod on a node with `related` of the Deployment's pods, ready since
    /// `ready_s` and created at 0 s.
    fn running(id: u32, related: u32, ready_s: u64) -> DeletionCandidate {
        DeletionCandidate {
            assigned: true,
            phase: PodPhase::Running,
            ready: true,
            ready_since: SimTime(ready_s * S),
            related_on_node: related,
            created: SimTime::ZERO,
            id,
        }
    }

    fn pending(id: u32, related: u32, created_s: u64) -> DeletionCandidate {
        DeletionCandidate {
            phase: PodPhase::Pending,
            ready: false,
            ready_since: SimTime::ZERO,
            created: SimTime(created_s * S),
            ..running(id, related, 0)
        }
    }

    fn unassigned(id: u32, created_s: u64) -> DeletionCandidate {
        DeletionCandidate { assigned: false, related_on_node: 0, ..pending(id, 0, created_s) }
    }

    fn first(pods: &[DeletionCandidate], now_s: u64) -> u32 {
        let mut v = pods.to_vec();
        pods_to_delete(&mut v, 1, SimTime(now_s * S))[0].id
    }

    #[test]
    fn api_timestamps_keep_whole_seconds() {
        assert_eq!(api_timestamp(SimTime(10 * S + 999_999_999)), SimTime(10 * S));
        assert_eq!(api_timestamp(SimTime(10 * S)), SimTime(10 * S));
        assert_eq!(api_timestamp(SimTime(999)), SimTime::ZERO);
    }

    #[test]
    fn logarithmic_rank_is_the_truncated_log2_of_the_age_in_nanoseconds() {
        let now = SimTime(100 * S);
        // 1 s = 1e9 ns: log2 = 29.897 → 29. 2^30 ns = 1.073741824 s → exactly 30.
        assert_eq!(logarithmic_rank(SimTime(99 * S), now), 29);
        assert_eq!(logarithmic_rank(SimTime(100 * S - (1 << 30)), now), 30);
        assert_eq!(logarithmic_rank(SimTime(100 * S - (1 << 30) + 1), now), 29);
        // 8 s → log2(8e9) = 32.897 → 32; 9 s → 33.07 → 33; 17 s → 33.98 → 33; 18 s → 34.07 → 34.
        assert_eq!(logarithmic_rank(SimTime(92 * S), now), 32);
        assert_eq!(logarithmic_rank(SimTime(91 * S), now), 33);
        assert_eq!(logarithmic_rank(SimTime(83 * S), now), 33);
        assert_eq!(logarithmic_rank(SimTime(82 * S), now), 34);
        // No age (or a time after now): -1.
        assert_eq!(logarithmic_rank(now, now), -1);
        assert_eq!(logarithmic_rank(SimTime(101 * S), now), -1);
        // One nanosecond: log2(1) = 0.
        assert_eq!(logarithmic_rank(SimTime(100 * S - 1), now), 0);
    }

    #[test]
    fn go_log2_rounds_like_upstream_near_powers_of_two() {
        // 2^47 - 1: Log(frac)*(1/Ln2) = -1.03e-14, more than half an ulp of 47 (3.6e-15),
        // so the sum stays below 47 → 46, the integer floor.
        assert_eq!(go_log2(((1u64 << 47) - 1) as f64) as i64, 46);
        // 2^50 - 1: -1.28e-15 is less than half an ulp of 50, the sum rounds to 50.0 → 50
        // (the integer floor would be 49): an age of 13 days just under 2^50 ns.
        assert_eq!(go_log2(((1u64 << 50) - 1) as f64) as i64, 50);
        assert_eq!(go_log2((1u64 << 50) as f64), 50.0);
        assert_eq!(go_log2(3.0) as i64, 1);
    }

    #[test]
    fn rule_1_unassigned_before_assigned() {
        // The unassigned pod goes first although the Pending one is newer and on a crowded node.
        assert_eq!(first(&[pending(1, 9, 50), unassigned(2, 0)], 60), 2);
    }

    #[test]
    fn rule_2_pending_before_unknown_before_running() {
        let unknown = DeletionCandidate { phase: PodPhase::Unknown, ..pending(2, 1, 0) };
        assert_eq!(first(&[running(1, 1, 0), unknown, pending(3, 1, 0)], 60), 3);
        assert_eq!(first(&[running(1, 1, 0), unknown], 60), 2);
        // Phase outranks the related-pod count: the Running pod's node holds more.
        assert_eq!(first(&[running(1, 5, 50), pending(2, 1, 0)], 60), 2);
    }

    #[test]
    fn rule_3_not_ready_before_ready() {
        let not_ready = DeletionCandidate { ready: false, ..running(2, 1, 0) };
        assert_eq!(first(&[running(1, 4, 59), not_ready], 60), 2);
    }

    #[test]
    fn rule_5_more_related_pods_on_the_node_first() {
        // Pod 2's node holds three of the Deployment's pods: it goes first although pod 1
        // became ready more recently (rule 6) and has the lower id.
        assert_eq!(first(&[running(1, 1, 59), running(2, 3, 0)], 60), 2);
        // Among Pending pods too, ahead of the creation time.
        assert_eq!(first(&[pending(1, 1, 59), pending(2, 2, 0)], 60), 2);
    }

    #[test]
    fn rule_6_more_recently_ready_first_in_powers_of_two() {
        // At 60 s: ready at 52 s is 8 s old (rank 32), at 51 s 9 s old (rank 33).
        assert_eq!(first(&[running(1, 1, 51), running(2, 1, 52)], 60), 2);
        // 9 s and 17 s are both rank 33: the lower id goes first.
        assert_eq!(first(&[running(2, 1, 51), running(1, 1, 43)], 60), 1);
        // Ready in the same second: equal API timestamps, the id decides.
        let a = DeletionCandidate {
            ready_since: api_timestamp(SimTime(51 * S + 900_000_000)),
            ..running(2, 1, 0)
        };
        let b = DeletionCandidate {
            ready_since: api_timestamp(SimTime(51 * S + 100_000_000)),
            ..running(1, 1, 0)
        };
        assert_eq!(first(&[a, b], 60), 1);
        // The ready time, not the creation time, orders ready pods.
        let old_but_recent = DeletionCandidate { created: SimTime::ZERO, ..running(3, 1, 52) };
        let new_but_long_ready = DeletionCandidate { created: SimTime(40 * S), ..running(2, 1, 43) };
        assert_eq!(first(&[new_but_long_ready, old_but_recent], 60), 3);
    }

    #[test]
    fn rule_8_more_recently_created_first_in_powers_of_two() {
        // At 60 s: created at 52 s (8 s old, rank 32) before 51 s (9 s, rank 33).
        assert_eq!(first(&[pending(1, 1, 51), pending(2, 1, 52)], 60), 2);
        // 9 s and 17 s old share rank 33: the lower id.
        assert_eq!(first(&[pending(2, 1, 51), pending(1, 1, 43)], 60), 1);
        // Unassigned pods likewise.
        assert_eq!(first(&[unassigned(1, 0), unassigned(2, 59)], 60), 2);
        // The first pair again at 100 s: 48 s and 49 s old are both rank 35 (2^35 ns = 34.4 s,
        // 2^36 ns = 68.7 s), a tie now: the lower id.
        assert_eq!(first(&[pending(2, 1, 52), pending(1, 1, 51)], 100), 1);
    }

    #[test]
    fn precedence_and_a_full_ranking() {
        let now = 60;
        let mut pods = vec![
            running(0, 2, 10), // ready 50 s (rank 35), node with 2
            running(1, 3, 10), // node with 3
            running(2, 2, 55), // ready 5 s (rank 32), node with 2
            pending(3, 2, 30), // Pending
            unassigned(4, 0),  // unassigned
            running(5, 3, 58), // node with 3, ready 2 s
            pending(6, 3, 59), // Pending, node with 3
        ];
        let order: Vec<u32> = pods_to_delete(&mut pods, 6, SimTime(now * S)).iter().map(|c| c.id).collect();
        assert_eq!(order, vec![4, 6, 3, 5, 1, 2]);
    }

    #[test]
    fn all_going_needs_no_ranking() {
        let mut pods = vec![running(0, 1, 0), unassigned(1, 0)];
        let ids: Vec<u32> = pods_to_delete(&mut pods, 2, SimTime(S)).iter().map(|c| c.id).collect();
        assert_eq!(ids, vec![0, 1]);
    }
}
