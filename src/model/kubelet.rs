//! The kubelet on each node: the pod worker's sync loop, `EnsureImageExists` (decisions from
//! `k8s::image_manager`), the image puller (serial or bounded parallel), the registryPullQPS
//! throttle and the image-pull backoff.
//!
//! A sync walks the pod's containers in order (`kuberuntime` `SyncPod`): init containers one at
//! a time, each run to completion, a failure ending the sync; then app containers in a loop
//! where a failure does not stop the others. Each `EnsureImageExists` blocks the pod worker until
//! its pull finishes, so one pod pulls one image at a time. After a sync with an error the pod
//! worker retries after `Jitter(10s, 0.5)`, uniform in [10 s, 15 s).
//!
//! The serial puller's channel holds 10 requests and blocks further callers; blocked callers
//! are woken in FIFO order, so the order of pulls is that of one unbounded FIFO queue, which is
//! what `Puller` keeps.
//!
//! Where upstream records an event (`Pulling`, `Pulled`, `Failed`, `BackOff`, ...), one
//! `note_event` or `note_pull_done` line reports it (`events.rs`; nothing unless the sink asks).

use super::events::Note;
use super::record_slots::RecordSlots;
use super::*;
use crate::k8s::image_manager::{
    invalid_image_message, map_pull_error, never_pull_message, precheck_verdict, write_backoff_message,
    PresenceKind, PullGate, Verdict,
};
use crate::k8s::verification::{must_attempt_image_pull_named, SecretCoords};
use rand::Rng;
use std::sync::Arc;

/// What `EnsureImageExists` returned to the sync loop.
enum Ensure {
    Ready,
    Pulling,
    Failed,
}

impl World<'_> {
    pub(super) fn on_pod_sync(&mut self, pod: PodId) {
        let p = &mut self.pods[pod.idx()];
        if p.state != PodState::Idle {
            return; // terminated, or a sync is already under way
        }
        p.n_syncs += 1;
        p.cursor = 0;
        p.sync_error = false;
        p.state = PodState::Syncing;
        self.continue_sync(pod);
    }

    /// Walks the containers from the cursor until the sync must wait or ends.
    fn continue_sync(&mut self, pod: PodId) {
        loop {
            let p = &self.pods[pod.idx()];
            if p.state == PodState::Terminated {
                return;
            }
            let idx = p.cursor as usize;
            if idx >= p.containers.len() {
                break;
            }
            let is_init = idx < p.n_init as usize;
            let c = &p.containers[idx];
            if (is_init && c.init_done) || (!is_init && c.started) {
                self.pods[pod.idx()].cursor += 1;
                continue;
            }
            match self.ensure_image_exists(pod, idx) {
                Ensure::Ready => {
                    self.start_container(pod, idx);
                    return;
                }
                Ensure::Pulling => return,
                Ensure::Failed => {
                    self.pods[pod.idx()].sync_error = true;
                    if is_init {
                        break;
                    }
                    self.pods[pod.idx()].cursor += 1;
                }
            }
        }
        self.end_sync(pod);
    }

    fn end_sync(&mut self, pod: PodId) {
        let p = &self.pods[pod.idx()];
        let all_started = p.containers[p.n_init as usize..].iter().all(|c| c.started);
        if all_started && !p.sync_error {
            self.mark_running(pod);
            return;
        }
        self.pods[pod.idx()].state = PodState::Idle;
        let n = self.pods[pod.idx()].n_syncs;
        let u: f64 =
            self.streams.keyed(self.labels.pod_worker_jitter, &[u64::from(pod.0), u64::from(n)]).gen::<f64>();
        let delay = crate::k8s::pod_worker::retry_after_error(u);
        self.schedule_in(delay, Event::PodSync { pod });
    }

    fn mark_running(&mut self, pod: PodId) {
        let node = self.pods[pod.idx()].node().expect("a running pod is bound");
        // A pod never runs before every one of its images is present on its node, but for a
        // lazily pulled one (`lazy`).
        for c in self.pods[pod.idx()].containers.iter() {
            if let Some(img) = c.image {
                assert!(
                    self.nodes[node.idx()].images.contains_key(&img)
                        || !c.started
                        || self.scn.images[img.idx()].lazy.is_some(),
                    "pod {} runs without image {}",
                    self.pod_name(pod),
                    self.raw_images.get(c.raw).text
                );
            }
        }
        let p = &mut self.pods[pod.idx()];
        p.state = PodState::Running;
        p.started.set(self.now);
        self.pods_running += 1;
        let until_available = self.until_available(pod);
        if until_available == SimDuration::ZERO {
            self.on_pod_available(pod);
        } else {
            self.schedule_in(until_available, Event::PodAvailable { pod });
        }
    }

    fn start_container(&mut self, pod: PodId, idx: usize) {
        self.use_container_image(pod, idx);
        self.launch_container(pod, idx);
    }

    /// The container will run the digest the node's tag points to, and image GC counts it.
    fn use_container_image(&mut self, pod: PodId, idx: usize) {
        let node = self.pods[pod.idx()].node().expect("bound");
        if let Some(img) = self.pods[pod.idx()].containers[idx].image {
            // The container runs whatever digest the node's tag points to, and from now on the
            // runtime has a container of it (image GC counts it in use).
            let Node { images, gc_records, .. } = &mut self.nodes[node.idx()];
            if let Some(ni) = images.get(&img) {
                self.pods[pod.idx()].containers[idx].version = ni.version;
                gc_records.get_mut(ni.gc).use_started(self.now);
            }
        }
    }

    /// Creates and starts the container (its image is settled: `use_container_image`, or a
    /// lazy pull's `lazy_ready`).
    pub(super) fn launch_container(&mut self, pod: PodId, idx: usize) {
        // A prepull pod's last image is present: its node is warm (checked only in scenarios
        // with prepulls, so a container start elsewhere costs nothing more).
        let p = &self.pods[pod.idx()];
        if !self.scn.prepulls.is_empty()
            && idx + 1 == p.containers.len()
            && self.scn.workloads[p.workload.idx()].prepull.is_some()
        {
            self.note_prepull_warm(pod);
        }
        self.pods[pod.idx()].state = PodState::Starting(container_u32(idx));
        let (streams, label) = (&self.streams, self.labels.container_start);
        let d = self
            .scn
            .runtime
            .container_start_ns
            .sample_u64_with(|| streams.keyed(label, &[u64::from(pod.0), idx as u64]));
        self.schedule_in(SimDuration(d), Event::ContainerStarted { pod, container: idx });
    }

    pub(super) fn on_container_started(&mut self, pod: PodId, idx: usize) {
        if self.pods[pod.idx()].state != PodState::Starting(container_u32(idx)) {
            return; // terminated meanwhile
        }
        let p = &mut self.pods[pod.idx()];
        p.containers[idx].started = true;
        if idx < p.n_init as usize {
            p.state = PodState::InitRunning(container_u32(idx));
            let spec = &self.scn.workloads[p.workload.idx()].pod.init_containers[idx];
            let (streams, label) = (&self.streams, self.labels.init_run_for);
            let run = spec
                .run_for_ns
                .as_ref()
                .map_or(0, |d| d.sample_u64_with(|| streams.keyed(label, &[u64::from(pod.0), idx as u64])));
            self.schedule_in(SimDuration(run), Event::InitDone { pod, container: idx });
        } else {
            p.cursor += 1;
            self.resume(pod);
        }
    }

    pub(super) fn on_init_done(&mut self, pod: PodId, idx: usize) {
        let p = &mut self.pods[pod.idx()];
        if p.state != PodState::InitRunning(container_u32(idx)) {
            return;
        }
        p.containers[idx].init_done = true;
        p.cursor += 1;
        self.resume(pod);
    }

    /// Continues the current sync after a wait (container started, init done, pull done).
    fn resume(&mut self, pod: PodId) {
        self.pods[pod.idx()].state = PodState::Syncing;
        self.continue_sync(pod);
    }

    /// Mirrors `EnsureImageExists` (pkg/kubelet/images/image_manager.go): the decision is
    /// `k8s::image_manager::precheck_verdict`; messages are rendered only into the pod's
    /// last-error buffer (the image string was parsed and quoted once, `raw_images`).
    fn ensure_image_exists(&mut self, pod: PodId, idx: usize) -> Ensure {
        let node = self.pods[pod.idx()].node().expect("bound");
        let c = &self.pods[pod.idx()].containers[idx];
        let (raw_id, image, policy) = (c.raw, c.image, c.policy);
        let raw = self.raw_images.get(raw_id);
        let kc = &self.scn.node_pools[self.nodes[node.idx()].pool.idx()].kubelet;
        let n = &self.nodes[node.idx()];
        let verdict = precheck_verdict(
            raw.tag_error.is_none(),
            policy,
            kc.ensure_secret_pulled_images,
            || match image {
                Some(img) if n.images.contains_key(&img) => PresenceKind::Present,
                _ => PresenceKind::Absent,
            },
            || {
                let img = image.expect("present implies known");
                let coords = self.pod_secret_coords(pod, img);
                must_attempt_image_pull_named(
                    kc.verification_policy,
                    &self.allowlists[n.pool.idx()],
                    raw.trimmed_name(),
                    !self.scn.images[img.idx()].normalized.is_empty(),
                    n.images
                        .get(&img)
                        .and_then(|ni| ni.record)
                        .and_then(|id| self.pulled_records.get(id))
                        .map(|r| &**r),
                    n.pull_intents.get(&img).is_some_and(|k| *k > 0),
                    &coords,
                    None,
                )
            },
        );
        match verdict {
            Verdict::Invalid => self.container_error(pod, idx, LastError::Invalid(raw_id)),
            Verdict::InspectError => unreachable!("the simulated runtime always answers GetImageRef"),
            Verdict::NeverPull { .. } => self.container_error(pod, idx, LastError::NeverPull(raw_id)),
            Verdict::UsePresent { access_checked } => {
                self.note_event(pod, idx, Note::Present { access_checked });
                self.pods[pod.idx()].cache_hits += 1;
                self.pods[pod.idx()].containers[idx].waiting = None;
                Ensure::Ready
            }
            Verdict::Pull { .. } => {
                let key = (pod, raw_id);
                match self.nodes[node.idx()].backoff.gate(&key, self.now) {
                    PullGate::BackOff => {
                        self.note_event(pod, idx, Note::BackOff);
                        self.pods[pod.idx()].backoffs += 1;
                        let previous = self.nodes[node.idx()].backoff.previous_failure(&key).copied();
                        let p = &mut self.pods[pod.idx()];
                        p.last_error = LastError::BackOff(raw_id, previous);
                        p.containers[idx].waiting = Some(KubeletReason::ImagePullBackOff);
                        Ensure::Failed
                    }
                    PullGate::Pull => {
                        self.submit_pull(pod, idx);
                        Ensure::Pulling
                    }
                }
            }
        }
    }

    /// An error of the image string itself (`InvalidImageName`, `ErrImageNeverPull`).
    fn container_error(&mut self, pod: PodId, idx: usize, error: LastError) -> Ensure {
        self.note_event(pod, idx, Note::Error(error));
        let p = &mut self.pods[pod.idx()];
        p.last_error = error;
        p.containers[idx].waiting = error.reason();
        Ensure::Failed
    }

    /// pods.csv `last_error`: `"<reason>: <message>"`.
    fn render_last_error(&self, e: &LastError) -> String {
        match e {
            LastError::None => String::new(),
            LastError::Invalid(raw) => {
                let raw = self.raw_images.get(*raw);
                let message =
                    invalid_image_message(&raw.quoted, raw.tag_error.as_deref().unwrap_or_default());
                format!("{}: {message}", KubeletReason::InvalidImageName.as_str())
            }
            LastError::NeverPull(raw) => {
                let message = never_pull_message(&self.raw_images.get(*raw).quoted);
                format!("{}: {message}", KubeletReason::ErrImageNeverPull.as_str())
            }
            LastError::Pull(raw, failure) => self.failure_text(*raw, *failure),
            LastError::BackOff(raw, previous) => {
                let previous = previous.map(|f| self.failure_text(*raw, f));
                let mut s = format!("{}: ", KubeletReason::ImagePullBackOff.as_str());
                write_backoff_message(&mut s, &self.raw_images.get(*raw).quoted, previous.as_deref());
                s
            }
        }
    }

    /// `"<reason>: <message>"` of a failed pull of `raw` (what `PullBackoffState::record_failure`
    /// stores upstream): the runtime's error text mapped by `map_pull_error`.
    fn failure_text(&self, raw: RawImageId, failure: PullFailure) -> String {
        let host = failure.registry.map_or("", |r| self.registries[r.idx()].host.as_str());
        let raw = &self.raw_images.get(raw).text;
        let (reason, message) = map_pull_error(raw, &failure.reason.error_text(raw, host));
        debug_assert_eq!(reason, failure.reason.kubelet_reason());
        format!("{}: {message}", reason.as_str())
    }

    /// Coordinates of the pod's pull secrets that the keyring would use for `img`.
    fn pod_secret_coords(&self, pod: PodId, img: ImageId) -> Vec<SecretCoords> {
        self.pod_keyrings[self.pods[pod.idx()].workload.idx()]
            .lookup(&self.scn.images[img.idx()].repo)
            .into_iter()
            .map(|c| secret_coords(&c.secret))
            .collect()
    }

    /// Hands a pull to the node's puller (`pullImage` → serial or parallel puller).
    fn submit_pull(&mut self, pod: PodId, idx: usize) {
        self.note_event(pod, idx, Note::Pulling);
        let node = self.pods[pod.idx()].node().expect("bound");
        let c = &self.pods[pod.idx()].containers[idx];
        let (raw, image) = (c.raw, c.image);
        let containers = &mut self.pods[pod.idx()].containers;
        let first = containers.iter().position(|c| c.raw == raw).expect("the container itself names it");
        containers[first].attempts += 1;
        let attempt = containers[first].attempts;
        let seq = self.pulls_created;
        self.pulls_created += 1;
        let mut attempt_state = Pull {
            generation: 0,
            seq,
            node,
            pod,
            container_index: container_u32(idx),
            image,
            version: 0,
            registry: image.and_then(|i| self.scn.images[i.idx()].registry),
            requested: self.now,
            started: MaybeTime::NOT_YET,
            finished: MaybeTime::NOT_YET,
            bytes: 0,
            attempt,
            phase: PullPhase::Queued,
            prelude_failure: None,
            prelude_requests: 0,
            responses_429: 0,
            credential: None,
            next_unpack: 0,
            scan: 0,
            downloads_in_flight: 0,
            get_step: GetStep::Manifest,
            get_slot: SlotUse::None,
            polls: 0,
        };
        let pull = match self.free_pulls.pop() {
            Some(slot) => {
                attempt_state.generation = self.pulls[slot.idx()].generation.wrapping_add(1);
                self.pulls[slot.idx()] = attempt_state;
                slot
            }
            None => {
                self.pulls.push(attempt_state);
                PullId::from_idx(self.pulls.len() - 1)
            }
        };
        self.pods[pod.idx()].state = PodState::WaitingPull(pull);
        let kc = &self.scn.node_pools[self.nodes[node.idx()].pool.idx()].kubelet;
        if kc.ensure_secret_pulled_images {
            if let Some(img) = image {
                *self.nodes[node.idx()].pull_intents.get_or_insert(img, 0) += 1;
            }
        }
        if let Some(pull) = self.nodes[node.idx()].puller.submit(pull) {
            self.schedule_in(SimDuration::ZERO, Event::PullStart { pull });
        }
        self.pulls_queued += 1;
    }

    /// A puller slot is this pull's: the throttle is checked, then the runtime pulls.
    pub(super) fn on_pull_start(&mut self, pull: PullId) {
        let node = self.pulls[pull.idx()].node;
        self.pulls_queued -= 1;
        self.pulls_in_flight += 1;
        self.peak_pulls.set(self.now, self.pulls_in_flight);
        self.pulls[pull.idx()].started.set(self.now);
        // The throttle wraps the image service: one token per kubelet pull attempt, non-blocking.
        if !self.nodes[node.idx()].throttle.try_accept(self.now) {
            self.finish_pull(pull, Some(FailReason::Qps));
            return;
        }
        self.begin_runtime_pull(pull);
    }

    /// Frees the puller slot of a finished pull and hands it to the next waiting pull (FIFO).
    pub(super) fn release_puller_slot(&mut self, node: NodeId) {
        if let Some(next) = self.nodes[node.idx()].puller.release() {
            self.schedule_in(SimDuration::ZERO, Event::PullStart { pull: next });
        }
    }

    /// Completes a pull attempt: runtime cleanup, record, puller slot, then the pod worker.
    pub(super) fn finish_pull(&mut self, pull: PullId, failure: Option<FailReason>) {
        let node = self.pulls[pull.idx()].node;
        // The pod is read last (`on_pull_done`), after the runtime's and the image's
        // bookkeeping: ask for it now so the miss overlaps that work.
        crate::engine::prefetch::prefetch_read(&self.pods[self.pulls[pull.idx()].pod.idx()]);
        assert_ne!(self.pulls[pull.idx()].phase, PullPhase::Done, "a pull finishes once");
        // A lazy pull whose kubelet pull already returned: the puller slot is free and the pod
        // worker has gone on.
        let returned = self.lazy.on && self.lazy_finished(pull);
        self.runtime_cleanup(pull, failure.is_some());
        let p = &mut self.pulls[pull.idx()];
        p.phase = PullPhase::Done;
        p.finished.set(self.now);
        self.pulls_in_flight -= 1;
        self.peak_pulls.set(self.now, self.pulls_in_flight);
        if !returned {
            self.release_puller_slot(node);
        }
        let image = self.pulls[pull.idx()].image;
        if let Some(img) = image {
            if let Some(k) = self.nodes[node.idx()].pull_intents.get_mut(&img) {
                *k -= 1;
                if *k == 0 {
                    self.nodes[node.idx()].pull_intents.remove(&img);
                }
            }
        }
        if failure.is_none() {
            self.image_pulled(pull);
        }
        if returned {
            self.lazy_background_done(pull);
            self.lazy_image_whole(pull);
        }
        self.record_pull(pull, failure);
        // The kubelet saw a returned lazy pull end when it returned (`lazy_ready`).
        if !returned {
            self.note_pull_done(pull, failure);
            self.on_pull_done(pull, failure);
        }
        // The pod worker has started its container, if its pod is still there: an image left
        // unused may be collected.
        if failure.is_none() {
            self.gc_image_appeared(node);
        }
        // A failure released the layers the pull was fetching: other pulls may now download
        // them. A success changes no layer (they were all present) and only ever happens inside
        // `kick_node`'s completion pass, which goes on with the node's other pulls itself.
        if failure.is_some() {
            self.kick_node(node);
        }
        // Nothing refers to the attempt any more but stale events, which its next generation
        // tells apart: the slot can serve a new attempt.
        self.free_pulls.push(pull);
    }

    /// The runtime now has the image: presence, pulled record, GC trigger.
    fn image_pulled(&mut self, pull: PullId) {
        let p = &self.pulls[pull.idx()];
        let (node, img) = (p.node, p.image.expect("a successful pull has an image"));
        let pod = p.pod;
        let raw = self.pods[pod.idx()].containers[p.container()].raw;
        let used = p.credential.as_deref().map(secret_coords);
        let version = p.version;
        self.install_version(node, img, version);
        if self.p2p.on {
            self.p2p_advertise(node, img, version);
        }
        // The kubelet writes pulled records only with KubeletEnsureSecretPulledImages on
        // (otherwise the kubelet runs `pullmanager.NoopImagePullManager`), and only that gate
        // reads them.
        let kc = &self.scn.node_pools[self.nodes[node.idx()].pool.idx()].kubelet;
        if kc.ensure_secret_pulled_images {
            self.write_pulled_record(node, img, version, raw, used);
        }
    }

    /// `writePulledRecordIfChanged` for a successful pull of `raw`: the merge of
    /// `PulledRecord::record_pull_shared`, on records shared copy-on-write (`pulled_records`).
    fn write_pulled_record(
        &mut self,
        node: NodeId,
        img: ImageId,
        version: u32,
        raw: RawImageId,
        used: Option<SecretCoords>,
    ) {
        let key = &self.raw_images.get(raw).record_key;
        let fresh = |used| {
            let mut r = PulledRecord::default();
            r.record_pull_shared(key, used);
            Arc::new(r)
        };
        let copy = node_image_in(&mut self.nodes[node.idx()], img, version).expect("just installed");
        match copy.record.and_then(|id| self.pulled_records.get_mut(id)) {
            None => {
                let record = if used.is_none() {
                    // The usual record: one per image string, shared by every node's copy.
                    if self.node_accessible_records.len() <= raw.idx() {
                        self.node_accessible_records.resize(raw.idx() + 1, None);
                    }
                    self.node_accessible_records[raw.idx()].get_or_insert_with(|| fresh(None)).clone()
                } else {
                    fresh(used)
                };
                copy.record = Some(self.pulled_records.insert(record));
            }
            Some(r) => {
                // Copied (if shared) only when the merge can change it.
                if r.pull_may_change(key) {
                    Arc::make_mut(r).record_pull_shared(key, used);
                }
            }
        }
    }

    /// The node now has digest `version` of `img`. The newest digest pulled is what the tag
    /// points to on the node; the other one stays on disk, untagged, until image GC.
    fn install_version(&mut self, node: NodeId, img: ImageId, version: u32) {
        let fresh = gc::GcRecord::appeared(self.now);
        let n = &mut self.nodes[node.idx()];
        // Keeps `old` as a superseded copy unless the node has that digest already (then `old`
        // goes, and its records with it: a node holds an image's digest once).
        let keep_superseded = |n: &mut Node, records: &mut RecordSlots, old: NodeImage| {
            if !n.superseded.iter().any(|(i, o)| *i == img && o.version == old.version) {
                n.superseded.push((img, old));
            } else {
                old.drop_from(n, records);
            }
        };
        // The copy the tag now names. A superseded copy of this very digest becomes it: that
        // copy's pulled record goes (the new copy has none yet), but its image GC record,
        // keyed by image ID upstream, stays with the digest.
        let tagged = |n: &mut Node, records: &mut RecordSlots| -> NodeImage {
            match n.superseded.iter().position(|(i, o)| *i == img && o.version == version) {
                Some(k) => {
                    let (_, gone) = n.superseded.remove(k);
                    records.release(&gone);
                    NodeImage { version, record: None, gc: gone.gc }
                }
                None => NodeImage::new(n, version, fresh),
            }
        };
        match n.images.get(&img).map(|ni| ni.version) {
            None => {
                let copy = tagged(n, &mut self.pulled_records);
                n.images.insert(img, copy);
                self.image_node_count[img.idx()] += 1;
            }
            Some(v) if v == version => {}
            Some(v) if v < version => {
                let copy = tagged(n, &mut self.pulled_records);
                let old = n.images.insert(img, copy).expect("present");
                keep_superseded(n, &mut self.pulled_records, old);
            }
            Some(_) => {
                let copy = NodeImage::new(n, version, fresh);
                keep_superseded(n, &mut self.pulled_records, copy);
            }
        }
    }

    /// Streams the pulls.csv row of a pull attempt (`finished_s` empty while in flight),
    /// borrowing every text from the world's state.
    fn emit_pull_record(&mut self, pull: PullId, result: &str) {
        self.totals.pulls += 1;
        // The attempt has ended (or the run has): its bytes are final.
        let p = &self.pulls[pull.idx()];
        let pod = &self.pods[p.pod.idx()];
        let w = &mut self.workload_totals[pod.workload.idx()];
        w.pulls += 1;
        w.bytes_pulled += p.bytes;
        if !self.pull_rows_wanted {
            return;
        }
        let mut name = std::mem::take(&mut self.name_scratch);
        name.clear();
        self.pod_name(p.pod).write_into(&mut name);
        let record = crate::metrics::PullRecord {
            node: &self.nodes[p.node.idx()].name,
            pod: &name,
            image: &self.raw_images.get(pod.containers[p.container()].raw).text,
            registry: p.registry.map_or("", |r| self.registries[r.idx()].host.as_str()),
            requested_s: p.requested,
            started_s: p.started.get(),
            finished_s: p.finished.get(),
            bytes: p.bytes,
            attempt: p.attempt,
            result,
        };
        self.sink.pull(&record);
        self.name_scratch = name;
    }

    fn record_pull(&mut self, pull: PullId, failure: Option<FailReason>) {
        self.emit_pull_record(pull, failure.map_or("ok", FailReason::result));
        if let Some(reason) = failure {
            self.totals.pull_failures += 1;
            let workload = self.pods[self.pulls[pull.idx()].pod.idx()].workload;
            self.workload_totals[workload.idx()].pull_failures += 1;
            self.failures_by_reason[reason as usize] += 1;
            if let Some(r) = self.pulls[pull.idx()].registry.filter(|_| reason.answered_by_registry()) {
                self.registries[r.idx()].row.failures += 1;
            }
        }
    }

    /// The pod worker's `EnsureImageExists` returns with the pull's result.
    fn on_pull_done(&mut self, pull: PullId, failure: Option<FailReason>) {
        let p = &self.pulls[pull.idx()];
        let (pod, idx, node) = (p.pod, p.container(), p.node);
        let took = self.now.since(p.requested);
        self.pods[pod.idx()].pull_ns += took.0;
        if self.pods[pod.idx()].state != PodState::WaitingPull(pull) {
            return; // the pod was deleted while its pull ran; the runtime kept the image
        }
        let raw_id = self.pods[pod.idx()].containers[idx].raw;
        let key = (pod, raw_id);
        match failure {
            None => {
                self.nodes[node.idx()].backoff.record_success(self.now);
                let po = &mut self.pods[pod.idx()];
                po.images_pulled += 1;
                po.containers[idx].waiting = None;
                self.start_container(pod, idx);
            }
            Some(reason) => {
                let failure = PullFailure { reason, registry: p.registry };
                self.nodes[node.idx()].backoff.record_failure_as(&key, self.now, failure);
                let po = &mut self.pods[pod.idx()];
                po.last_error = LastError::Pull(raw_id, failure);
                po.containers[idx].waiting = Some(reason.kubelet_reason());
                po.sync_error = true;
                if idx >= po.n_init as usize {
                    po.cursor += 1;
                    self.resume(pod);
                } else {
                    po.state = PodState::Idle;
                    self.end_sync(pod);
                }
            }
        }
    }

    /// The rows of pods.csv.
    pub fn pod_rows(&self) -> Vec<crate::metrics::PodRow> {
        // Names shared by many rows are allocated once per workload and node.
        let workload_names: Vec<Arc<str>> =
            self.scn.workloads.iter().map(|w| Arc::from(w.name.as_str())).collect();
        let node_names: Vec<Arc<str>> = self.nodes.iter().map(|n| Arc::from(n.name.as_str())).collect();
        let unscheduled: Arc<str> = Arc::from("");
        // A message depends only on the error's parts, which few distinct pairs of image string
        // and failure make up: each is rendered once, not once per pod that shows it.
        let mut messages: BTreeMap<LastError, String> = BTreeMap::new();
        self.pods
            .iter()
            .map(|p| {
                let status = match p.state {
                    PodState::Running => "Running",
                    PodState::Terminated => "Terminated",
                    _ => p
                        .containers
                        .iter()
                        .enumerate()
                        .find(|(i, c)| if *i < p.n_init as usize { !c.init_done } else { !c.started })
                        .and_then(|(_, c)| c.waiting.map(|r| r.as_str()))
                        .unwrap_or("Pending"),
                };
                crate::metrics::PodRow {
                    pod_index: u64::from(p.index),
                    workload: workload_names[p.workload.idx()].clone(),
                    node: p.node().map_or_else(|| unscheduled.clone(), |n| node_names[n.idx()].clone()),
                    created_s: p.created,
                    started_s: p.started.get(),
                    pull_s: SimDuration(p.pull_ns),
                    images_pulled: p.images_pulled,
                    cache_hits: p.cache_hits,
                    backoffs: p.backoffs,
                    status,
                    last_error: match p.last_error {
                        LastError::None => String::new(),
                        e => messages.entry(e).or_insert_with(|| self.render_last_error(&e)).clone(),
                    },
                    stale_digest: self.runs_stale_digest(p),
                }
            })
            .collect()
    }

    /// Pull attempts still in flight at the end (rows with `in_progress`). Their downloads are
    /// stopped at `end` so that `bytes` (and the registry's `blob_bytes`, the run's
    /// `bytes_pulled`) count what crossed the network until then, partial layers included.
    pub fn flush_unfinished_pulls(&mut self, end: SimTime) {
        // In creation order (slots are reused, so slot order is not creation order).
        let mut live: Vec<(u64, PullId)> = (0..self.pulls.len())
            .filter(|i| self.pulls[*i].phase != PullPhase::Done)
            .map(|i| (self.pulls[i].seq, PullId::from_idx(i)))
            .collect();
        live.sort_unstable();
        for &(_, pull) in &live {
            self.count_bytes_in_flight(pull, end);
            if self.lazy.on {
                self.lazy_background_done(pull);
            }
        }
        for (_, pull) in live {
            self.emit_pull_record(pull, "in_progress");
        }
    }
}

/// Synthetic coordinates for a scenario secret name (namespace `default`, uid and hash derived
/// from the name): enough for MustAttemptImagePull's equality checks.
fn secret_coords(name: &str) -> SecretCoords {
    SecretCoords {
        uid: format!("uid-{name}"),
        namespace: "default".to_string(),
        name: name.to_string(),
        credential_hash: format!("hash-{name}"),
    }
}

/// `n`'s copy of digest `version` of `img`, tagged or superseded.
pub(super) fn node_image_in(n: &mut Node, img: ImageId, version: u32) -> Option<&mut NodeImage> {
    match n.images.get_mut(&img) {
        Some(ni) if ni.version == version => Some(ni),
        _ => n.superseded.iter_mut().find(|(i, o)| *i == img && o.version == version).map(|(_, o)| o),
    }
}
