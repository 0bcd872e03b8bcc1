//! A DaemonSet's rolling update (`spec.updateStrategy.rollingUpdate` with maxSurge 0): the
//! model's side of `k8s::daemonset`. One controller sync gathers each node's pods of the new
//! and old template, asks `k8s::daemonset::pods_to_delete` which old pods go, deletes them and
//! creates the new pod on each of their nodes in the same step (the controller's `manage`,
//! which runs in its next sync). Nodes are walked in node order, where the controller walks a
//! map (random order).

use super::*;
use crate::k8s::daemonset::{max_unavailable, pods_to_delete, rollout_complete, NodePods};
use crate::scenario::IntOrPercent;
use std::collections::BTreeMap;

impl World<'_> {
    /// One sync of the DaemonSet controller during a rolling update.
    pub(super) fn reconcile_daemonset_update(&mut self, workload: WorkloadId, max_unavail: IntOrPercent) {
        let st = &self.workloads[workload.idx()];
        if st.revision == 0 || st.rollout_finished.is_some() {
            return;
        }
        // Most syncs (a new pod becoming available while the budget is used up) delete
        // nothing; the counters say so without walking the pods. No node ever holds two pods
        // of the DaemonSet here (an old pod's replacement is created as it goes), so each node
        // with a new pod not yet available is one unavailable node.
        let (old_live, old_not_running) = st.old_pods.as_ref().map_or((0, 0), |o| (o.live, o.not_running));
        let unavailable = st.new_live - st.new_running;
        let budget = max_unavailable(max_unavail, st.new_live + old_live);
        if old_live > 0 && old_not_running == 0 && unavailable >= budget {
            return;
        }
        let mut by_node: BTreeMap<NodeId, NodePods<PodId>> = BTreeMap::new();
        for &pod in &st.pods {
            let p = &self.pods[pod.idx()];
            let Some(node) = p.node().filter(|_| p.state != PodState::Terminated) else { continue };
            let e = by_node.entry(node).or_insert(NodePods { new: None, old: None });
            if p.revision == st.revision {
                e.new = Some((pod, p.available));
            } else {
                e.old = Some((pod, p.available));
            }
        }
        let nodes: Vec<NodePods<PodId>> = by_node.into_values().collect();
        if rollout_complete(&nodes) {
            let st = &mut self.workloads[workload.idx()];
            st.rollout_finished = Some(self.now);
            st.old_pods = None;
            return;
        }
        let desired = u32::try_from(nodes.len()).unwrap_or(u32::MAX);
        let victims = pods_to_delete(&nodes, max_unavailable(max_unavail, desired));
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
