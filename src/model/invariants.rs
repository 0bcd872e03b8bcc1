//! Whole-world invariants, checked after every event when `RunOptions::check_invariants` is
//! set (tests and swarm runs). Cheap local assertions live in the handlers themselves.

use super::*;

impl World<'_> {
    /// Returns the first violated invariant, if any.
    pub fn check_invariants(&self) -> Result<(), String> {
        self.net.check_capacities()?;
        // Every live pulled record belongs to exactly one image copy (it goes when the copy
        // does): the copies name distinct live slots, and as many as are live.
        let mut named = BTreeSet::new();
        for n in &self.nodes {
            let copies = n.images.iter_unordered().map(|(_, c)| c).chain(n.superseded.iter().map(|(_, c)| c));
            for id in copies.filter_map(|c| c.record) {
                if self.pulled_records.get(id).is_none() || !named.insert(id) {
                    return Err(format!(
                        "node {} names a pulled record that is freed or named twice",
                        n.name
                    ));
                }
            }
        }
        if named.len() != self.pulled_records.live() {
            return Err(format!(
                "{} pulled records are live but image copies name {}",
                self.pulled_records.live(),
                named.len()
            ));
        }
        // Pulls granted a slot but still queued, per node: one pass over the pulls (this runs
        // after every event, so a pass per node made swarm runs quadratic in nodes × pulls).
        let mut granted_queued = vec![0u64; self.nodes.len()];
        for p in &self.pulls {
            if p.phase == PullPhase::Queued && p.started.get().is_some() {
                granted_queued[p.node.idx()] += 1;
            }
        }
        for (i, n) in self.nodes.iter().enumerate() {
            // Serialized: at most one pull in flight; bounded: at most the limit.
            // A lazy pull whose kubelet pull returned holds no puller slot (`lazy`).
            let returned =
                if self.lazy.on { self.lazy.ready_on(&self.pulls, NodeId::from_idx(i)) } else { 0 };
            let in_flight = (n.active_pulls.len() - returned) as u64 + granted_queued[i];
            if let Some(limit) = n.puller.limit() {
                if in_flight > u64::from(limit) {
                    return Err(format!("node {} has {in_flight} pulls in flight, limit {limit}", n.name));
                }
                if n.puller.in_flight() > limit {
                    return Err(format!(
                        "node {} puller holds {} slots, limit {limit}",
                        n.name,
                        n.puller.in_flight()
                    ));
                }
            }
            let live =
                n.pods.iter().filter(|p| self.pods[p.idx()].state != PodState::Terminated).count() as u32;
            if live != n.n_live_pods {
                return Err(format!("node {} live pod counter {} != {live}", n.name, n.n_live_pods));
            }
            let (mut cpu, mut memory) = (0u64, 0u64);
            for p in n.pods.iter().filter(|p| self.pods[p.idx()].state != PodState::Terminated) {
                let r = self.scn.workloads[self.pods[p.idx()].workload.idx()].requests;
                cpu += r.cpu_milli;
                memory += r.memory_bytes;
            }
            if (cpu, memory) != (n.requested.cpu_milli, n.requested.memory_bytes) {
                return Err(format!(
                    "node {} requests counted {:?}, recounted ({cpu}, {memory})",
                    n.name, n.requested
                ));
            }
            let used: u64 = n.layers.iter_unordered().map(|(l, st)| self.layer_disk_bytes(l, st)).sum();
            if used != n.disk_used_bytes {
                return Err(format!(
                    "node {} disk accounting {} != layers {used}",
                    n.name, n.disk_used_bytes
                ));
            }
            let unpacking = n.layers.iter_unordered().filter(|(_, s)| *s == LayerState::Unpacking).count();
            let limit = self.scn.runtime.max_concurrent_unpacks as usize;
            if unpacking > limit || unpacking != n.unpacks_in_flight as usize {
                return Err(format!(
                    "node {} unpacks {unpacking} layers at once (counted {}, limit {limit})",
                    n.name, n.unpacks_in_flight
                ));
            }
            for (img, ni) in
                n.images.iter_sorted().into_iter().chain(n.superseded.iter().map(|(i, o)| (*i, o)))
            {
                for l in self.version_layers(img, ni.version) {
                    if !n.layers.is_present(*l) {
                        return Err(format!(
                            "node {} has image {} (digest {}) without its layer {}",
                            n.name, img.0, ni.version, l.0
                        ));
                    }
                }
            }
        }
        self.check_node_slots()?;
        // At most one pull per pod at a time, and a waiting pod's pull is live.
        let mut per_pod = vec![0u32; self.pods.len()];
        for (i, p) in self.pulls.iter().enumerate() {
            if p.phase != PullPhase::Done && !(self.lazy.on && self.lazy.is_ready(PullId::from_idx(i))) {
                per_pod[p.pod.idx()] += 1;
            }
        }
        for (i, pod) in self.pods.iter().enumerate() {
            let live_pulls = per_pod[i];
            let waiting = matches!(pod.state, PodState::WaitingPull(_));
            if live_pulls > 1 {
                return Err(format!("pod {} has {live_pulls} pulls at once", self.pod_name_of(pod)));
            }
            if waiting && live_pulls != 1 {
                return Err(format!("pod {} waits for a pull that is not running", self.pod_name_of(pod)));
            }
            // Image presence when the pod starts is asserted in `mark_running`.
            if pod.state == PodState::Running {
                pod.node().ok_or("running pod without node")?;
                if let Some(c) = pod.containers.iter().find(|c| !c.started) {
                    return Err(format!(
                        "pod {} Running with container {} not started",
                        self.pod_name_of(pod),
                        self.raw_images.get(c.raw).text
                    ));
                }
            }
        }
        let running = self.pods.iter().filter(|p| p.state == PodState::Running).count() as u64;
        if running != self.pods_running {
            return Err(format!("pods_running counter {} != {running}", self.pods_running));
        }
        self.check_rollout_counters()?;
        for i in 0..self.nodes.len() {
            self.check_gc(NodeId::from_idx(i))?;
        }
        Ok(())
    }

    /// Node-wide download slots (containerd 2.1): per node, the slots held are the blob
    /// requests and downloads in flight plus the prelude GETs in flight, never more than the
    /// limit; waiters exist only while every slot is held, and each is a live pull waiting for
    /// what it says.
    fn check_node_slots(&self) -> Result<(), String> {
        if self.node_slot_limit == 0 {
            return Ok(());
        }
        let mut gets = vec![0u32; self.nodes.len()];
        for p in &self.pulls {
            if p.phase != PullPhase::Done && p.get_slot == SlotUse::Holding {
                gets[p.node.idx()] += 1;
            }
        }
        for (i, (n, slots)) in self.nodes.iter().zip(&self.node_slots).enumerate() {
            let blobs = n
                .layers
                .iter_unordered()
                .filter(|(_, s)| matches!(s, LayerState::Requesting { .. } | LayerState::Downloading { .. }))
                .count() as u32;
            if slots.busy != blobs + gets[i] || slots.busy > self.node_slot_limit {
                return Err(format!(
                    "node {} holds {} download slots (limit {}) for {blobs} blobs and {} GETs",
                    n.name, slots.busy, self.node_slot_limit, gets[i]
                ));
            }
            if !slots.queue.is_empty() && slots.busy < self.node_slot_limit {
                return Err(format!(
                    "node {} has a free download slot and {} waiters",
                    n.name,
                    slots.queue.len()
                ));
            }
            for w in &slots.queue {
                let p = &self.pulls[w.pull.idx()];
                let ok = p.node.idx() == i
                    && match w.want {
                        SlotWant::Get => p.phase == PullPhase::Prelude && p.get_slot == SlotUse::Waiting,
                        SlotWant::Layer(index) => {
                            p.phase == PullPhase::Layers
                                && self
                                    .version_layers(p.image.expect("image"), p.version)
                                    .get(index as usize)
                                    .is_some_and(|l| {
                                        n.layers.get(*l) == Some(LayerState::Queued { owner: w.pull })
                                    })
                        }
                    };
                if !ok {
                    return Err(format!("node {} has a stale download-slot waiter {:?}", n.name, w));
                }
            }
        }
        Ok(())
    }
}
