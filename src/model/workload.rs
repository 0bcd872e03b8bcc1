//! Workloads create pods: Deployments (replicas at `start`, rolling updates), DaemonSets (one pod
//! per eligible node, including nodes that join later), Poisson arrivals and batches. Also node
//! joins (preloaded images, DaemonSet pods, retry of pods waiting for a node).

use super::*;
use crate::k8s::deployment::{resolve_fenceposts, rolling_update_step, RolloutCounts, RolloutStep};
use crate::scenario::{ContainerImage, ContainerSpec, Pick, WorkloadKind};
use rand::Rng;

#[derive(Default)]
pub(super) struct WorkloadState {
    /// Pods created so far (the next pod's index).
    created: u64,
    /// The workload's pods in creation (= id) order, terminated ones included until the next
    /// rollout start drops them: the live pods are those not Terminated. Appending is all a
    /// new pod costs (an ordered set cost a B-tree insert per pod, 1.7% of a large run).
    pub(super) pods: Vec<PodId>,
    /// Template revision; bumped by a rolling update.
    pub(super) revision: u32,
    /// Rolling-update bookkeeping, kept as pods are created, start and are deleted so that a
    /// controller step costs O(log pods), not a pass over every pod (a rollout would be
    /// quadratic): live and Running pods of the current revision, Running older pods, and
    /// the older pods in the order the ReplicaSet deletes them (`rollout::OldPods`, from the
    /// rollout's start until it is done).
    pub(super) new_live: u32,
    pub(super) new_running: u32,
    old_running: u32,
    pub(super) old_pods: Option<super::rollout::OldPods>,
    /// The workload's start event has been handled (DaemonSets then cover joining nodes).
    started: bool,
    /// Zipf cumulative weights per container index, built on first use.
    zipf_cdf: BTreeMap<usize, Vec<f64>>,
    rollout_started: Option<SimTime>,
    pub(super) rollout_finished: Option<SimTime>,
    /// A prepull DaemonSet's progress: its pods created at its start instant (one per chosen
    /// node joined by then), how many of those hold every image, the last time that count
    /// caught up with the first, and all its pods that hold every image.
    first_wave: u32,
    first_wave_warm: u32,
    warm_at: Option<SimTime>,
    warmed: u32,
}

impl World<'_> {
    pub(super) fn on_node_join(&mut self, node: NodeId) {
        let pool_idx = self.nodes[node.idx()].pool.idx();
        self.nodes[node.idx()].joined = true;
        self.nodes_joined += 1;
        for &img in &self.scn.node_pools[pool_idx].preloaded {
            self.install_preloaded(node, img);
        }
        self.gc_node_joined(node);
        self.refresh_sched(node, None);
        // DaemonSets that already started get a pod on the new node.
        for w_idx in 0..self.scn.workloads.len() {
            let wl = &self.scn.workloads[w_idx];
            let started = self.workloads[w_idx].started;
            let eligible = wl.node_pools.as_ref().is_none_or(|p| p.contains(&self.nodes[node.idx()].pool));
            if matches!(wl.kind, WorkloadKind::DaemonSet { .. }) && started && eligible {
                let pod = self.create_pod(WorkloadId::from_idx(w_idx));
                self.bind(pod, node);
            }
        }
        self.retry_unscheduled();
    }

    /// A preloaded image is the digest its tag points to when the node joins.
    fn install_preloaded(&mut self, node: NodeId, img: ImageId) {
        let version = self.current_version(img, self.now);
        let layers = self.version_layers(img, version).to_vec();
        for l in layers {
            let kept = self.layer_kept_bytes(l);
            let n = &mut self.nodes[node.idx()];
            if n.layers.insert(l, LayerState::Present).is_none() {
                n.disk_used_bytes += kept;
            }
        }
        let n = &mut self.nodes[node.idx()];
        let copy = NodeImage::new(n, version, gc::GcRecord::preloaded(self.now));
        match n.images.insert(img, copy) {
            None => self.image_node_count[img.idx()] += 1,
            // The copy it replaces goes, and its records with it.
            Some(old) => old.drop_from(n, &mut self.pulled_records),
        }
    }

    pub(super) fn on_workload_start(&mut self, workload: WorkloadId) {
        self.workloads[workload.idx()].started = true;
        let wl = &self.scn.workloads[workload.idx()];
        match &wl.kind {
            WorkloadKind::Deployment { replicas, .. } => {
                for _ in 0..*replicas {
                    let pod = self.create_pod(workload);
                    self.schedule_pod(pod);
                }
            }
            WorkloadKind::Batch { count, .. } => {
                for _ in 0..*count {
                    let pod = self.create_pod(workload);
                    self.schedule_pod(pod);
                }
            }
            WorkloadKind::DaemonSet { .. } => {
                for i in 0..self.nodes.len() {
                    let node = NodeId::from_idx(i);
                    let n = &self.nodes[i];
                    if n.joined && wl.node_pools.as_ref().is_none_or(|p| p.contains(&n.pool)) {
                        let pod = self.create_pod(workload);
                        self.bind(pod, node);
                    }
                }
            }
            WorkloadKind::Poisson { .. } => self.schedule_next_arrival(workload),
            WorkloadKind::Replay { .. } => self.schedule_next_replay(workload),
        }
    }

    /// A replay pod: created and bound to its node at once (no scheduler choice, as the
    /// observed pod was already on its node when it pulled).
    pub(super) fn on_replay_arrival(&mut self, workload: WorkloadId) {
        let WorkloadKind::Replay { pods } = &self.scn.workloads[workload.idx()].kind else {
            unreachable!("only replay workloads have replay arrivals")
        };
        let index = self.workloads[workload.idx()].created as usize;
        let node = pods[index].node;
        let pod = self.create_pod(workload);
        self.bind(pod, node);
        self.schedule_next_replay(workload);
    }

    /// The next pod of a replay workload, if any, at its time.
    fn schedule_next_replay(&mut self, workload: WorkloadId) {
        let WorkloadKind::Replay { pods } = &self.scn.workloads[workload.idx()].kind else { return };
        let k = self.workloads[workload.idx()].created as usize;
        if let Some(next) = pods.get(k) {
            // Sorted by `at` in validation; a pod due before the workload started (it starts
            // at 0) is created at once.
            let at = SimTime::ZERO.plus(next.at).max(self.now);
            self.schedule(at, Event::ReplayArrival { workload });
        }
    }

    pub(super) fn on_poisson_arrival(&mut self, workload: WorkloadId) {
        let pod = self.create_pod(workload);
        self.schedule_pod(pod);
        self.schedule_next_arrival(workload);
    }

    fn schedule_next_arrival(&mut self, workload: WorkloadId) {
        let WorkloadKind::Poisson { rate_per_s, count } = &self.scn.workloads[workload.idx()].kind else {
            unreachable!("only Poisson workloads have arrivals")
        };
        let k = self.workloads[workload.idx()].created;
        if count.is_some_and(|c| k >= c) {
            return;
        }
        // The rate may be a distribution: drawn once per workload.
        let rate = rate_per_s.sample(&mut self.streams.stream("arrival-rate", &[workload.0.into()]));
        if rate.is_nan() || rate <= 0.0 {
            return;
        }
        let u: f64 = self.streams.stream("arrivals", &[workload.0.into(), k]).gen::<f64>();
        let gap_s = -(1.0 - u).ln() / rate;
        self.schedule_in(SimDuration::from_secs_f64_ceil(gap_s), Event::PoissonArrival { workload });
    }

    /// Creates a pod of the workload's current template (not yet placed).
    pub(super) fn create_pod(&mut self, workload: WorkloadId) -> PodId {
        let wl = &self.scn.workloads[workload.idx()];
        let index = self.workloads[workload.idx()].created;
        self.workloads[workload.idx()].created += 1;
        let revision = self.workloads[workload.idx()].revision;
        let update_image = match &wl.kind {
            WorkloadKind::Deployment { update: Some(u), .. }
            | WorkloadKind::DaemonSet { update: Some(u), .. }
                if revision > 0 =>
            {
                Some((&u.image, u.image_id))
            }
            WorkloadKind::Replay { pods } => match pods.get(index as usize) {
                // A replay pod's one container runs the pod's own image.
                Some(r) if r.images.len() == 1 => Some((&r.images[0].0, Some(r.images[0].1))),
                // Several: one app container per image, in order, pull policies defaulted
                // from their tags (the template's one container has no explicit policy).
                Some(r) => {
                    let spec = &wl.pod.containers[0];
                    let containers: Vec<PodContainer> = r
                        .images
                        .iter()
                        .map(|(text, id)| {
                            let raw = self.raw_images.intern(text, Some(*id));
                            self.new_container(raw, spec)
                        })
                        .collect();
                    return self.push_pod(workload, index, revision, PodContainers::Many(containers), 0);
                }
                None => None,
            },
            _ => None,
        };
        let n_init = wl.pod.init_containers.len();
        let spec_at = |c_idx: usize| -> &ContainerSpec {
            if c_idx < n_init {
                &wl.pod.init_containers[c_idx]
            } else {
                &wl.pod.containers[c_idx - n_init]
            }
        };
        let n_containers = n_init + wl.pod.containers.len();
        if n_containers == 1 {
            // The usual pod: no intermediate vectors (a fleet creates 10^5 of them at once).
            let raw = self.resolve_image(workload, index, 0, &spec_at(0).image);
            let raw = match update_image {
                // `updated_container` of a single app container is always that container.
                Some((image, id)) if n_init == 0 => self.raw_images.intern(image, id),
                _ => raw,
            };
            let c = self.new_container(raw, spec_at(0));
            return self.push_pod(workload, index, revision, PodContainers::One(c), n_init);
        }
        let resolved: Vec<RawImageId> = (0..n_containers)
            .map(|c_idx| self.resolve_image(workload, index, c_idx, &spec_at(c_idx).image))
            .collect();
        let replaced = update_image.and_then(|u| {
            let app: Vec<&str> =
                resolved[n_init..].iter().map(|r| self.raw_images.get(*r).text.as_str()).collect();
            updated_container(&app, u.0)
        });
        let mut containers = Vec::with_capacity(n_containers);
        for (c_idx, mut raw) in resolved.into_iter().enumerate() {
            if let (Some(u), Some(app_idx)) = (update_image, replaced) {
                if c_idx == n_init + app_idx {
                    raw = self.raw_images.intern(u.0, u.1);
                }
            }
            containers.push(self.new_container(raw, spec_at(c_idx)));
        }
        self.push_pod(workload, index, revision, PodContainers::Many(containers), n_init)
    }

    /// A not yet started container running image string `raw`.
    fn new_container(&self, raw: RawImageId, spec: &ContainerSpec) -> PodContainer {
        let r = self.raw_images.get(raw);
        PodContainer {
            raw,
            image: r.image,
            policy: spec.pull_policy.unwrap_or(r.default_policy),
            version: 0,
            started: false,
            init_done: false,
            waiting: None,
            attempts: 0,
        }
    }

    fn push_pod(
        &mut self,
        workload: WorkloadId,
        index: u64,
        revision: u32,
        containers: PodContainers,
        n_init: usize,
    ) -> PodId {
        // The index is below the pod count, which fits u32 like every `PodId`.
        let index = u32::try_from(index).expect("pod index fits u32");
        let pod =
            self.pods.push(Pod::new(index, workload, revision, self.now, containers, container_u32(n_init)));
        let st = &mut self.workloads[workload.idx()];
        st.pods.push(pod);
        let wl = &self.scn.workloads[workload.idx()];
        if wl.prepull.is_some() && self.now == SimTime::ZERO.plus(wl.start) {
            st.first_wave += 1;
        }
        st.new_live += 1; // created from the current template
        self.pods_live += 1;
        pod
    }

    fn resolve_image(
        &mut self,
        workload: WorkloadId,
        pod_index: u64,
        c_idx: usize,
        img: &ContainerImage,
    ) -> RawImageId {
        match img {
            ContainerImage::Ref { raw, image } => self.raw_images.intern(raw, *image),
            ContainerImage::Set { set, pick } => {
                let s = &self.scn.image_sets[set.idx()];
                let count = u64::from(s.count.max(1));
                let key = [u64::from(workload.0), pod_index, c_idx as u64];
                let member = match pick {
                    Pick::Sequential => pod_index % count,
                    Pick::Uniform => self.streams.keyed(self.labels.image_pick, &key).gen_range(0..count),
                    Pick::Zipf { s: exponent } => {
                        let cdf = self.workloads[workload.idx()]
                            .zipf_cdf
                            .entry(c_idx)
                            .or_insert_with(|| zipf_cdf(count, *exponent));
                        let u: f64 = self.streams.keyed(self.labels.image_pick, &key).gen::<f64>()
                            * cdf[cdf.len() - 1];
                        cdf.partition_point(|c| *c <= u).min(cdf.len() - 1) as u64
                    }
                };
                self.image_raw[s.first_image.idx() + member as usize]
            }
        }
    }

    // ---- Rolling updates -------------------------------------------------------------------

    pub(super) fn on_rollout_start(&mut self, workload: WorkloadId) {
        let pods = &self.pods;
        let st = &mut self.workloads[workload.idx()];
        st.revision += 1;
        st.rollout_started = Some(self.now);
        // Every live pod now runs an older template.
        st.pods.retain(|p| pods[p.idx()].state != PodState::Terminated);
        st.old_running = st.new_running;
        st.new_live = 0;
        st.new_running = 0;
        self.start_old_pods(workload);
        self.reconcile_rollout(workload);
    }

    /// The rollout bookkeeping recounted from the pods (`check_invariants`).
    pub(super) fn check_rollout_counters(&self) -> Result<(), String> {
        // Every pod not Terminated, by workload, in id order: what each workload's list must
        // hold once its terminated pods are skipped.
        let mut live_by_scan: Vec<Vec<PodId>> = vec![Vec::new(); self.workloads.len()];
        for (i, p) in self.pods.iter().enumerate() {
            if p.state != PodState::Terminated {
                live_by_scan[p.workload.idx()].push(PodId::from_idx(i));
            }
        }
        for (w, st) in self.workloads.iter().enumerate() {
            let live_ids: Vec<PodId> = st
                .pods
                .iter()
                .copied()
                .filter(|p| self.pods[p.idx()].state != PodState::Terminated)
                .collect();
            if live_ids != live_by_scan[w] {
                return Err(format!("workload {w}: its pod list misses live pods or is out of order"));
            }
            let live: Vec<&Pod> = live_ids.iter().map(|p| &self.pods[p.idx()]).collect();
            let is_new = |p: &&Pod| p.revision == st.revision;
            let running = |p: &&Pod| p.available;
            let want = (
                live.iter().filter(|p| is_new(p)).count() as u32,
                live.iter().filter(|p| is_new(p) && running(p)).count() as u32,
                live.iter().filter(|p| !is_new(p) && running(p)).count() as u32,
                live.iter().filter(|p| !is_new(p)).count(),
                live.iter().filter(|p| !is_new(p) && !running(p)).count(),
            );
            let (old_live, old_not_running) =
                st.old_pods.as_ref().map_or((0, 0), |o| (o.live as usize, o.not_running as usize));
            let got = (st.new_live, st.new_running, st.old_running, old_live, old_not_running);
            if want != got {
                return Err(format!("workload {w}: rollout counters {got:?} != recount {want:?}"));
            }
            self.check_old_pods(WorkloadId::from_idx(w))?;
        }
        Ok(())
    }

    /// From a pod Running until it counts as available (`podutil.IsPodAvailable`: Ready for
    /// `minReadySeconds`): its readiness delay (`ready_after`, drawn per pod; a constant draws
    /// nothing), a lazily started pod's read penalty (`lazy`), and its Deployment's `min_ready`.
    pub(super) fn until_available(&self, pod: PodId) -> SimDuration {
        let spec = &self.scn.workloads[self.pods[pod.idx()].workload.idx()];
        let ready_after = self.ready_after_ns(pod);
        let penalty = if self.lazy.on { self.lazy_penalty(pod).0 } else { 0 };
        SimDuration(ready_after.saturating_add(penalty).saturating_add(spec.min_ready.0))
    }

    /// The pod's `ready_after` draw, in nanoseconds.
    pub(super) fn ready_after_ns(&self, pod: PodId) -> u64 {
        let spec = &self.scn.workloads[self.pods[pod.idx()].workload.idx()];
        let (streams, label) = (&self.streams, self.labels.ready_after);
        spec.ready_after_ns.sample_u64_with(|| streams.keyed(label, &[u64::from(pod.0)]))
    }

    /// When a Running pod became (or becomes) available.
    pub(super) fn available_at(&self, pod: PodId) -> Option<SimTime> {
        self.pods[pod.idx()].started.get().map(|t| t.plus(self.until_available(pod)))
    }

    /// `Event::PodAvailable`: a Running pod has been Ready for `min_ready`; the rolling update
    /// counts it from now on. Nothing if it was deleted meanwhile.
    pub(super) fn on_pod_available(&mut self, pod: PodId) {
        // Already available: a lazily started pod's Ready came earlier than first scheduled.
        if self.pods[pod.idx()].state != PodState::Running || self.pods[pod.idx()].available {
            return;
        }
        self.pods[pod.idx()].available = true;
        let w = self.pods[pod.idx()].workload;
        self.note_pod_running(pod);
        self.reconcile_rollout(w);
    }

    /// A pod of the workload became available (rollout bookkeeping).
    pub(super) fn note_pod_running(&mut self, pod: PodId) {
        let p = &self.pods[pod.idx()];
        let st = &mut self.workloads[p.workload.idx()];
        if p.revision == st.revision {
            st.new_running += 1;
        } else {
            st.old_running += 1;
            self.note_rollout_old_running(pod);
        }
    }

    /// The Deployment controller's rolling-update step: scale the new revision up within
    /// `replicas + maxSurge` and the old one down while at least `replicas - maxUnavailable` pods
    /// stay available (Running). Terminated pods leave at once (no grace period). One call is
    /// one controller sync: the old pods it deletes are the first in the ReplicaSet's deletion
    /// order as it stood when the call began (`rollout`).
    pub(super) fn reconcile_rollout(&mut self, workload: WorkloadId) {
        let (replicas, rollout) = match &self.scn.workloads[workload.idx()].kind {
            WorkloadKind::Deployment { replicas, rollout, .. } => (replicas, rollout),
            WorkloadKind::DaemonSet { max_unavailable, update: Some(_) } => {
                return self.reconcile_daemonset_update(workload, *max_unavailable);
            }
            _ => return,
        };
        let st = &self.workloads[workload.idx()];
        if st.revision == 0 || st.rollout_finished.is_some() {
            return;
        }
        let replicas = *replicas;
        let (surge, unavailable) = resolve_fenceposts(rollout.max_surge, rollout.max_unavailable, replicas);
        // Checked runs rank the old pods from scratch and expect the deletions in that order.
        let expected = self.opts.check_invariants.then(|| self.old_pods_ranked_by_scan(workload));
        let mut deleted = 0;
        self.begin_rollout_sync(workload);
        loop {
            let st = &self.workloads[workload.idx()];
            let (old, old_not_running) = st.old_pods.as_ref().map_or((0, 0), |o| (o.live, o.not_running));
            let counts = RolloutCounts {
                replicas,
                new: st.new_live,
                old,
                available: st.new_running + st.old_running,
                new_unavailable: st.new_live - st.new_running,
                old_unavailable_exists: old_not_running > 0,
            };
            match rolling_update_step(&counts, surge, unavailable) {
                RolloutStep::CreateNew => {
                    let pod = self.create_pod(workload);
                    self.schedule_pod(pod);
                }
                RolloutStep::DeleteOld => {
                    // `getPodsToDelete`'s first pod.
                    let victim = self.next_old_victim(workload).expect("DeleteOld only with old pods");
                    if let Some(order) = &expected {
                        assert_eq!(
                            Some(&victim),
                            order.get(deleted),
                            "at {}: deletion {deleted} of the sync differs from the ranking by scan {order:?}",
                            self.now
                        );
                    }
                    deleted += 1;
                    self.terminate_pod(victim);
                }
                RolloutStep::Wait => break,
            }
        }
        self.end_rollout_sync(workload);
        let st = &self.workloads[workload.idx()];
        let old_left = st.old_pods.as_ref().is_some_and(|o| o.live > 0);
        let done = st.new_live == replicas && !old_left && st.new_running == st.new_live;
        if done {
            let st = &mut self.workloads[workload.idx()];
            st.rollout_finished = Some(self.now);
            st.old_pods = None;
        }
    }

    pub(super) fn terminate_pod(&mut self, pod: PodId) {
        let p = &mut self.pods[pod.idx()];
        let was_running = p.state == PodState::Running;
        // The rollout counts available pods; a pod Running but not yet available is counted
        // as not running there.
        let was_available = p.available;
        p.available = false;
        let old_state = p.state;
        p.state = PodState::Terminated;
        let (w, revision) = (p.workload, p.revision);
        let st = &mut self.workloads[w.idx()];
        if revision == st.revision {
            st.new_live -= 1;
            if was_available {
                st.new_running -= 1;
            }
        } else if was_available {
            st.old_running -= 1;
        }
        self.note_rollout_deleted(pod, was_available);
        self.pods_live -= 1;
        if was_running {
            self.pods_running -= 1;
        }
        if old_state == PodState::Unscheduled {
            return;
        }
        if let Some(node) = self.pods[pod.idx()].node() {
            // The runtime's containers go with the pod.
            self.gc_containers_removed(node, pod, old_state);
            let free_before = self.free_slots(node);
            self.nodes[node.idx()].n_live_pods -= 1;
            let req = self.scn.workloads[w.idx()].requests;
            let n = &mut self.nodes[node.idx()];
            n.requested = n.requested.minus(req);
            self.refresh_sched(node, Some(free_before));
            self.retry_unscheduled();
        }
    }

    /// A prepull pod's last image is present (its last container is starting): its node holds
    /// every image of the prepull. The first wave is complete when its count catches up; a pod
    /// created later in the same instant (a node joining at `at`) reopens it, so the last time
    /// the counts meet is the answer.
    pub(super) fn note_prepull_warm(&mut self, pod: PodId) {
        let p = &self.pods[pod.idx()];
        let (w, created) = (p.workload, p.created);
        let start = SimTime::ZERO.plus(self.scn.workloads[w.idx()].start);
        let st = &mut self.workloads[w.idx()];
        st.warmed += 1;
        if created == start {
            st.first_wave_warm += 1;
            if st.first_wave_warm == st.first_wave {
                st.warm_at = Some(self.now);
            }
        }
    }

    /// Each `[[prepull]]`'s result (`summary.json` `prepulls`), in file order.
    pub fn prepull_results(&self) -> Vec<crate::metrics::PrepullResult> {
        self.scn
            .prepulls
            .iter()
            .enumerate()
            .map(|(i, spec)| {
                let st =
                    self.scn.workloads.iter().position(|w| w.prepull == Some(i)).map(|w| &self.workloads[w]);
                crate::metrics::PrepullResult {
                    name: spec.name.clone(),
                    enabled: st.is_some(),
                    nodes_targeted: st.map_or(0, |s| s.created),
                    nodes_warmed: st.map_or(0, |s| u64::from(s.warmed)),
                    warm_s: st
                        .and_then(|s| s.warm_at)
                        .map(|t| crate::metrics::summary::secs_ms(t.since(SimTime::ZERO.plus(spec.at)))),
                }
            })
            .collect()
    }

    /// Rollout duration of each Deployment that updated: (workload name, seconds or None).
    pub fn rollout_durations(&self) -> Vec<(String, Option<SimDuration>)> {
        self.workloads
            .iter()
            .enumerate()
            .filter_map(|(i, st)| {
                st.rollout_started
                    .map(|s| (self.scn.workloads[i].name.clone(), st.rollout_finished.map(|f| f.since(s))))
            })
            .collect()
    }
}

/// Which app container an update to `new_image` replaces: the first whose image has the same
/// repository (`ParseImageName(..).repo`), or the first app container when none has.
fn updated_container(app: &[&str], new_image: &str) -> Option<usize> {
    let repo = |s: &str| crate::k8s::image_ref::parse_image_name(s).map(|n| n.repo).ok();
    let new_repo = repo(new_image);
    let same = app.iter().position(|raw| new_repo.is_some() && repo(raw) == new_repo);
    same.or((!app.is_empty()).then_some(0))
}

fn zipf_cdf(count: u64, s: f64) -> Vec<f64> {
    let mut acc = 0.0;
    (1..=count)
        .map(|k| {
            acc += 1.0 / (k as f64).powf(s);
            acc
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn update_replaces_the_same_repository_else_the_first_app_container() {
        let app = vec!["nginx:1.27", "envoyproxy/envoy:v1.31"];
        assert_eq!(updated_container(&app, "envoyproxy/envoy:v1.32"), Some(1));
        assert_eq!(updated_container(&app, "docker.io/library/nginx:1.28"), Some(0));
        assert_eq!(updated_container(&app, "registry.example/other:v2"), Some(0));
        assert_eq!(updated_container(&[], "nginx"), None);
    }

    #[test]
    fn zipf_is_skewed_towards_first() {
        let c = zipf_cdf(3, 1.0);
        assert!((c[2] - (1.0 + 0.5 + 1.0 / 3.0)).abs() < 1e-12);
    }
}
