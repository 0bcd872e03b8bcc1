//! The DaemonSet controller's rolling update as a pure decision (pkg/controller/daemon,
//! `rollingUpdate` in update.go, the maxSurge = 0 branch, and `updatedDesiredNodeCounts`): given
//! each node's pods of the new and old template and whether they are available, which old pods
//! to delete now. The model owns the pods; the controller's `manage` then creates the new pod on
//! each node left without one.

use super::deployment::{scaled_value, IntOrPercent};

/// One node's pods of the DaemonSet: the new template's and the old one's (a node runs at
/// most one of each during an update), each with whether it is available.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NodePods<P> {
    pub new: Option<(P, bool)>,
    pub old: Option<(P, bool)>,
}

/// `updatedDesiredNodeCounts`: maxUnavailable scaled from the nodes the DaemonSet should run
/// on, a percentage rounded up; with no surge, 0 becomes 1 so that the update can progress.
pub fn max_unavailable(v: IntOrPercent, desired_nodes: u32) -> u32 {
    let n = scaled_value(v, desired_nodes, true);
    if desired_nodes > 0 && n == 0 {
        1
    } else {
        n
    }
}

/// `rollingUpdate` with maxSurge 0: every old pod that is not available is replaced; available
/// old pods are replaced while fewer than `max_unavailable` nodes lack an available new pod (a
/// node with no pod, or with an old and a new one, counts as lacking it). Upstream walks the
/// nodes in map order and stops taking candidates once the count is reached; here the count
/// is taken over every node first and the candidates are taken in the order given.
pub fn pods_to_delete<P: Copy>(nodes: &[NodePods<P>], max_unavailable: u32) -> Vec<P> {
    let (mut unavailable, mut replace, mut candidates) = (0u32, Vec::new(), Vec::new());
    for n in nodes {
        match (n.new, n.old) {
            (None, None) | (Some(_), Some(_)) => unavailable += 1,
            (Some((_, available)), None) => unavailable += u32::from(!available),
            (None, Some((pod, false))) => replace.push(pod),
            (None, Some((pod, true))) => candidates.push(pod),
        }
    }
    let room = max_unavailable.saturating_sub(unavailable) as usize;
    replace.into_iter().chain(candidates.into_iter().take(room)).collect()
}

/// The update is done when every node runs an available pod of the new template and no old one.
pub fn rollout_complete<P>(nodes: &[NodePods<P>]) -> bool {
    nodes.iter().all(|n| n.old.is_none() && n.new.as_ref().is_some_and(|(_, available)| *available))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(new: Option<(u32, bool)>, old: Option<(u32, bool)>) -> NodePods<u32> {
        NodePods { new, old }
    }

    #[test]
    fn max_unavailable_rounds_up_and_never_stalls() {
        assert_eq!(max_unavailable(IntOrPercent::Percent(20), 50), 10);
        assert_eq!(max_unavailable(IntOrPercent::Percent(20), 7), 2); // 1.4 rounds up
        assert_eq!(max_unavailable(IntOrPercent::Int(0), 5), 1);
        assert_eq!(max_unavailable(IntOrPercent::Percent(0), 5), 1);
        assert_eq!(max_unavailable(IntOrPercent::Int(3), 0), 3);
    }

    #[test]
    fn unavailable_old_pods_go_first_then_available_ones_within_the_budget() {
        // Budget 2: node a's new pod is not yet available (1 unavailable), so one available
        // old pod (10) may go, and the unavailable old pod (11) goes regardless.
        let nodes = [
            node(Some((1, false)), None),
            node(None, Some((10, true))),
            node(None, Some((11, false))),
            node(None, Some((12, true))),
        ];
        assert_eq!(pods_to_delete(&nodes, 2), vec![11, 10]);
        // A node with both an old and a new pod counts as unavailable: no room left.
        let busy = [
            node(Some((1, true)), Some((2, true))),
            node(Some((3, false)), None),
            node(None, Some((4, true))),
        ];
        assert_eq!(pods_to_delete(&busy, 2), Vec::<u32>::new());
        assert!(!rollout_complete(&busy));
        assert!(rollout_complete(&[node(Some((1, true)), None), node(Some((2, true)), None)]));
    }
}
