//! A DaemonSet's rolling update (`spec.updateStrategy.rollingUpdate` with maxSurge 0), as the
//! DaemonSet controller's `rollingUpdate` (pkg/controller/daemon/update.go) runs it: count the
//! nodes without an available pod of the new template (a node with no pod, or with both an old
//! and a new one, counts too), delete every old pod that is not available, and delete available
//! old pods while fewer than `maxUnavailable` nodes are unavailable. The controller's `manage`
//! then creates the new pod on the node the old one left; here it is created in the same step.
//!
//! The controller walks the nodes in map order (random); the model walks them in node order.
//! `maxUnavailable` is scaled from the number of nodes the DaemonSet runs on, a percentage
//! rounded up, and 0 becomes 1 (`updatedDesiredNodeCounts`).

use super::*;
use crate::k8s::deployment::scaled_value;
use crate::scenario::IntOrPercent;
use std::collections::BTreeMap;

impl World<'_> {
    /// One sync of the DaemonSet controller during a rolling update.
    pub(super) fn reconcile_daemonset_update(&mut self, workload: WorkloadId, max_unavailable: IntOrPercent) {
        let st = &self.workloads[workload.idx()];
        if st.revision == 0 || st.rollout_finished.is_some() {
            return;
        }
        // Each node's new and old pod (at most one of each: a node gets a new pod only once
        // its old one is gone).
        let mut by_node: BTreeMap<NodeId, (Option<PodId>, Option<PodId>)> = BTreeMap::new();
        for &pod in &st.pods {
            let p = &self.pods[pod.idx()];
            let Some(node) = p.node().filter(|_| p.state != PodState::Terminated) else { continue };
            let e = by_node.entry(node).or_default();
            if p.revision == st.revision {
                e.0 = Some(pod);
            } else {
                e.1 = Some(pod);
            }
        }
        let desired = u32::try_from(by_node.len()).unwrap_or(u32::MAX);
        let max_unavailable = scaled_value(max_unavailable, desired, true).max(1);
        let available = |pod: PodId| self.pods[pod.idx()].available;
        let (mut unavailable, mut replace, mut candidates) = (0u32, Vec::new(), Vec::new());
        for (new, old) in by_node.values() {
            match (new, old) {
                (None, None) | (Some(_), Some(_)) => unavailable += 1,
                (Some(n), None) => unavailable += u32::from(!available(*n)),
                (None, Some(o)) if !available(*o) => replace.push(*o),
                (None, Some(o)) => candidates.push(*o),
            }
        }
        let done = by_node.values().all(|(new, old)| old.is_none() && new.is_some_and(available));
        if done {
            let st = &mut self.workloads[workload.idx()];
            st.rollout_finished = Some(self.now);
            st.old_pods = None;
            return;
        }
        let room = max_unavailable.saturating_sub(unavailable) as usize;
        let victims: Vec<PodId> = replace.into_iter().chain(candidates.into_iter().take(room)).collect();
        if victims.is_empty() {
            return;
        }
        self.begin_rollout_sync(workload);
        for victim in victims {
            let node = self.pods[victim.idx()].node().expect("a DaemonSet pod is bound");
            self.terminate_pod(victim);
            let pod = self.create_pod(workload);
            self.bind(pod, node);
        }
        self.end_rollout_sync(workload);
    }
}
