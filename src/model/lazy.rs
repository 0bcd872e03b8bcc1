//! Lazy pulling (`image.lazy`: eStargz, SOCI, Nydus, GKE image streaming), a first model.
//!
//! A lazy pull runs the prelude (token, manifests, config) as any pull. Then each layer's
//! download is two flows one after the other on the same connection: the prefetch part
//! (`prefetch` of the layer's bytes) and the rest. Max-min sharing has no memory, so the two
//! flows move exactly as one flow of the whole layer would. The pull is ready, and the kubelet's
//! pull returns (its puller slot is free, the container starts), once every layer of the image
//! has its prefetch part on the node (or is downloading its rest, or is present), or
//! `prefetch_timeout` after the layer phase began, whichever is first.
//!
//! The rest downloads in the background as ordinary flows, competing for the node's and the
//! registry's bandwidth; it does not count against `max_concurrent_downloads` (the snapshotter
//! fetches it, not the runtime's download loop), so the next layers' prefetch parts start.
//! A lazily fetched layer has no unpack step (the snapshotter mounts it remotely): it is
//! present once its last byte arrives. The pull attempt ends, and its pulls.csv row with it,
//! when every layer is present: only then does the node have the image (later pods, image GC,
//! disk). A second pod that wants the image meanwhile starts its own pull, which is ready at
//! once if every layer is at least prefetched, and ends with the first.
//!
//! "Run slower" is `read_penalty` added to the Ready delay of a pod whose container started
//! before its image was whole (reads of files not yet fetched go to the registry), ended early
//! when every image the pod started lazily becomes whole: Ready at `ready_after` plus the
//! penalty or when the images are whole, whichever is first (never before `ready_after`).
//!
//! The run's lazy counters (`summary.json` `lazy`) are kept here too: attempts made ready,
//! by the timeout or not, containers started early, the bytes fetched after the start, and
//! how long each early container waited for its image to be whole.
//!
//! Every hook is behind `LazyState::on`, false unless some image is lazy: scenarios without a
//! lazy image do no more work per event than before.

use super::*;
use crate::metrics::summary::{nearest_ranks, secs_ms};
use crate::metrics::LazySummary;
use crate::scenario::LazySpec;

/// Where a lazily fetched layer's download is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum LazyFlow {
    /// The prefetch part is downloading; `rest` bytes follow it (0: the layer is then whole).
    Prefetch { rest: u64 },
    /// The rest is downloading in the background.
    Rest,
}

/// A lazy pull attempt in the layer phase.
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct LazyPull {
    /// The kubelet's pull returned: the puller slot is free and the container started.
    pub(super) ready: bool,
    /// Background (rest) downloads in flight: counted in `downloads_in_flight`, but not
    /// against `max_concurrent_downloads`.
    pub(super) background: u32,
}

/// The lazy pulling state of a run.
#[derive(Debug, Default)]
pub(super) struct LazyState {
    /// Some image is lazy: every hook checks this first.
    pub(super) on: bool,
    /// Lazily fetched layers in flight, by (node, layer).
    pub(super) flows: BTreeMap<(NodeId, LayerId), LazyFlow>,
    /// Lazy pull attempts in the layer phase.
    pub(super) pulls: BTreeMap<PullId, LazyPull>,
    /// Pods with a container started before its image was whole: their Ready penalty.
    pub(super) penalties: BTreeMap<PodId, SimDuration>,
    /// Containers (pod, index) started before their image was on the node, which image GC
    /// does not count yet (it counts a container against its image's record), with the time
    /// the kubelet's pull returned.
    pub(super) uncounted: BTreeMap<(PodId, u32), SimTime>,
    /// Ready attempts still running: the bytes each had moved when it became ready.
    pub(super) moved_at_ready: BTreeMap<PullId, u64>,
    /// `summary.json` `lazy`, but for the percentiles.
    pub(super) counters: LazySummary,
    /// From the kubelet's pull returning until the image was whole, per early container.
    pub(super) whole_after_start: Vec<SimDuration>,
}

impl LazyState {
    pub(super) fn new(scn: &Scenario) -> LazyState {
        LazyState { on: scn.images.iter().any(|i| i.lazy.is_some()), ..LazyState::default() }
    }

    /// Pull attempts on `node` whose kubelet pull has returned (they hold no puller slot).
    pub(super) fn ready_on(&self, pulls: &[Pull], node: NodeId) -> usize {
        self.pulls.iter().filter(|(p, l)| l.ready && pulls[p.idx()].node == node).count()
    }

    /// Whether the attempt's kubelet pull has returned.
    pub(super) fn is_ready(&self, pull: PullId) -> bool {
        self.pulls.get(&pull).is_some_and(|l| l.ready)
    }
}

impl World<'_> {
    fn lazy_spec(&self, pull: PullId) -> Option<LazySpec> {
        self.pulls[pull.idx()].image.and_then(|i| self.scn.images[i.idx()].lazy)
    }

    /// The pull enters its layer phase: a lazy one starts its prefetch timeout.
    pub(super) fn lazy_layers_begin(&mut self, pull: PullId) {
        let Some(spec) = self.lazy_spec(pull) else { return };
        self.lazy.pulls.insert(pull, LazyPull::default());
        let generation = self.pulls[pull.idx()].generation;
        self.schedule_in(spec.prefetch_timeout, Event::LazyTimeout { pull, generation });
    }

    pub(super) fn on_lazy_timeout(&mut self, pull: PullId) {
        if self.pulls[pull.idx()].phase == PullPhase::Layers
            && self.lazy.pulls.get(&pull).is_some_and(|l| !l.ready)
        {
            self.lazy.counters.prefetch_timeouts += 1;
            self.lazy_ready(pull);
        }
    }

    /// Whether a prefetch timeout can still start a container: its pull attempt (this
    /// generation) is in its layer phase and not ready yet.
    pub(super) fn lazy_timeout_live(&self, pull: PullId, generation: u32) -> bool {
        self.pulls[pull.idx()].generation == generation
            && self.pulls[pull.idx()].phase == PullPhase::Layers
            && self.lazy.pulls.get(&pull).is_some_and(|l| !l.ready)
    }

    /// Whether `ev` is a prefetch timeout that can start nothing (its pull was ready first, or
    /// ended): the run loop drops it before its time moves the samples or reaches the horizon.
    pub fn is_stale_prefetch_timeout(&self, ev: &Event) -> bool {
        match ev {
            Event::LazyTimeout { pull, generation } => !self.lazy_timeout_live(*pull, *generation),
            _ => false,
        }
    }

    /// Background downloads of `pull` (not counted against `max_concurrent_downloads`).
    pub(super) fn lazy_background(&self, pull: PullId) -> u32 {
        self.lazy.pulls.get(&pull).map_or(0, |l| l.background)
    }

    /// The bytes of the first flow of `layer`'s download by `pull`: its prefetch part when the
    /// pull is lazy (the rest is noted to follow), else the whole layer.
    pub(super) fn lazy_first_flow_bytes(
        &mut self,
        pull: PullId,
        node: NodeId,
        layer: LayerId,
        size: u64,
    ) -> u64 {
        let Some(spec) = self.lazy_spec(pull) else { return size };
        // Rounded to whole bytes; at most the layer.
        let prefetch = ((size as f64 * spec.prefetch).round() as u64).min(size);
        if prefetch == 0 {
            self.lazy.flows.insert((node, layer), LazyFlow::Rest);
            self.lazy.pulls.get_mut(&pull).expect("a lazy pull in its layer phase").background += 1;
            return size;
        }
        self.lazy.flows.insert((node, layer), LazyFlow::Prefetch { rest: size - prefetch });
        prefetch
    }

    /// Whether `layer`'s download on `node` is a lazy one with no prefetch share.
    pub(super) fn lazy_straight_to_rest(&self, node: NodeId, layer: LayerId) -> bool {
        self.lazy.flows.get(&(node, layer)) == Some(&LazyFlow::Rest)
    }

    /// A flow completed: if it was a lazy layer's prefetch part with bytes left, counts its
    /// bytes, starts the rest on the same connection and returns true (the layer is still
    /// downloading); otherwise returns false and the completion is an ordinary one.
    pub(super) fn lazy_part_done(&mut self, d: &network::FlowDone) -> bool {
        let (pull, layer) = (d.owner.pull, d.owner.layer);
        let node = self.pulls[pull.idx()].node;
        let Some(LazyFlow::Prefetch { rest }) = self.lazy.flows.get(&(node, layer)).copied() else {
            return false;
        };
        if rest == 0 {
            return false;
        }
        let p = &mut self.pulls[pull.idx()];
        p.bytes += d.bytes;
        let registry = p.registry.expect("a flow has a registry");
        self.registries[registry.idx()].row.blob_bytes += d.bytes;
        self.totals.bytes_pulled += d.bytes;
        let cap = self.download_cap_bytes_per_s(registry, node, layer);
        let flow = self.start_download(node, registry, cap, rest, d.owner);
        self.nodes[node.idx()].layers.insert(layer, LayerState::Downloading { owner: pull, flow });
        self.lazy.flows.insert((node, layer), LazyFlow::Rest);
        self.lazy.pulls.get_mut(&pull).expect("a lazy pull owns the flow").background += 1;
        true
    }

    /// A layer's last byte arrived: true if it was fetched lazily (it is then present with no
    /// unpack).
    pub(super) fn lazy_layer_whole(&mut self, pull: PullId, node: NodeId, layer: LayerId) -> bool {
        match self.lazy.flows.remove(&(node, layer)) {
            None => false,
            Some(flow) => {
                if flow == LazyFlow::Rest {
                    if let Some(l) = self.lazy.pulls.get_mut(&pull) {
                        l.background -= 1;
                    }
                }
                true
            }
        }
    }

    /// A failed pull's download of `layer` was aborted.
    pub(super) fn lazy_layer_aborted(&mut self, node: NodeId, layer: LayerId) {
        self.lazy.flows.remove(&(node, layer));
    }

    /// `kick_node`'s check of a lazy pull not complete yet: ready once every layer is
    /// prefetched.
    pub(super) fn lazy_check_ready(&mut self, pull: PullId) {
        if self.lazy.pulls.get(&pull).is_none_or(|l| l.ready) {
            return;
        }
        let p = &self.pulls[pull.idx()];
        let node = p.node;
        let n = &self.nodes[node.idx()];
        let prefetched = self
            .version_layers(p.image.expect("layers phase has an image"), p.version)
            .iter()
            .all(|&l| match n.layers.get(l) {
                Some(LayerState::Fetched | LayerState::Unpacking | LayerState::Present) => true,
                Some(LayerState::Downloading { .. }) => {
                    self.lazy.flows.get(&(node, l)) == Some(&LazyFlow::Rest)
                }
                _ => false,
            });
        if prefetched {
            self.lazy_ready(pull);
        }
    }

    /// The kubelet's pull returns before the image is whole: the puller slot goes to the next
    /// pull and the pod's container starts, its pull time counted until now.
    fn lazy_ready(&mut self, pull: PullId) {
        self.lazy.pulls.get_mut(&pull).expect("a lazy pull").ready = true;
        let moved = self.lazy_bytes_moved(pull);
        self.lazy.moved_at_ready.insert(pull, moved);
        self.lazy.counters.pulls += 1;
        let p = &self.pulls[pull.idx()];
        let (pod, idx, node, version, requested) = (p.pod, p.container(), p.node, p.version, p.requested);
        let penalty = self.lazy_spec(pull).map_or(SimDuration::ZERO, |s| s.read_penalty);
        self.release_puller_slot(node);
        self.note_pull_done(pull, None);
        if self.pods[pod.idx()].state != PodState::WaitingPull(pull) {
            return; // the pod was deleted while its pull ran
        }
        self.nodes[node.idx()].backoff.record_success(self.now);
        let po = &mut self.pods[pod.idx()];
        po.pull_ns += self.now.since(requested).0;
        po.images_pulled += 1;
        po.containers[idx].waiting = None;
        // The digest the pull resolved; the node gets it (and its image GC record, which then
        // counts this container) when the last layer arrives: `lazy_image_whole`.
        po.containers[idx].version = version;
        self.lazy.uncounted.insert((pod, container_u32(idx)), self.now);
        self.lazy.counters.started_before_whole += 1;
        let e = self.lazy.penalties.entry(pod).or_insert(SimDuration::ZERO);
        *e = (*e).max(penalty);
        self.launch_container(pod, idx);
    }

    /// `finish_pull` of a lazy pull: forgets it; true if its kubelet pull had returned (the
    /// puller slot is already free and the pod worker has gone on).
    pub(super) fn lazy_finished(&mut self, pull: PullId) -> bool {
        self.lazy.pulls.remove(&pull).is_some_and(|l| l.ready)
    }

    /// The bytes `pull` has moved by now: its finished flows and the part of its flows in
    /// flight that has arrived.
    fn lazy_bytes_moved(&self, pull: PullId) -> u64 {
        let in_flight: u64 = self
            .owned_layers(pull)
            .into_iter()
            .map(|(_, st)| match st {
                LayerState::Downloading { flow, .. } => self.net.moved_bytes(self.now, flow),
                _ => 0,
            })
            .sum();
        self.pulls[pull.idx()].bytes + in_flight
    }

    /// A ready attempt ended (its image whole, failed, or cut at the horizon with its bytes in
    /// flight counted): the bytes it moved after its container started are background bytes.
    pub(super) fn lazy_background_done(&mut self, pull: PullId) {
        if let Some(at_ready) = self.lazy.moved_at_ready.remove(&pull) {
            let total = self.pulls[pull.idx()].bytes;
            debug_assert!(total >= at_ready, "an attempt's bytes only grow: {at_ready} then {total}");
            self.lazy.counters.background_bytes += total.saturating_sub(at_ready);
        }
    }

    /// `summary.json` `lazy`: `None` in a run without a lazy image, so its summary is the one
    /// it always was.
    pub fn lazy_summary(&self) -> Option<LazySummary> {
        if !self.lazy.on {
            return None;
        }
        let mut waits = self.lazy.whole_after_start.clone();
        let [p50, max] = nearest_ranks(&mut waits, [50, 100]);
        Some(LazySummary {
            whole_after_start_p50_s: p50.map(secs_ms),
            whole_after_start_max_s: max.map(secs_ms),
            ..self.lazy.counters.clone()
        })
    }

    /// A lazy pull ended: if it started its container before the image was whole and the node
    /// now has the image (this pull brought it, or another did), image GC counts the container
    /// from now on (unless its pod was deleted meanwhile).
    pub(super) fn lazy_image_whole(&mut self, pull: PullId) {
        let p = &self.pulls[pull.idx()];
        let (pod, idx, node, img) = (p.pod, p.container_index, p.node, p.image.expect("a lazy pull's image"));
        let po = &self.pods[pod.idx()];
        if po.state == PodState::Terminated {
            return;
        }
        let Some(&returned) = self.lazy.uncounted.get(&(pod, idx)) else { return };
        let version = po.containers[idx as usize].version;
        let now = self.now;
        let n = &mut self.nodes[node.idx()];
        if let Some(copy) = kubelet::node_image_in(n, img, version) {
            let slot = copy.gc;
            n.gc_records.get_mut(slot).use_started(now);
            self.lazy.uncounted.remove(&(pod, idx));
            self.lazy.whole_after_start.push(now.since(returned));
            if self.lazy.uncounted.range((pod, 0)..=(pod, u32::MAX)).next().is_none() {
                self.lazy_reads_local(pod);
            }
        }
    }

    /// Every image the pod started lazily is now whole: its reads no longer go to the
    /// registry, so its Ready penalty ends now. Ready at `ready_after` plus the penalty, or
    /// now, whichever is first (never before `ready_after`); no penalty if it is not Running
    /// yet.
    fn lazy_reads_local(&mut self, pod: PodId) {
        let Some(&penalty) = self.lazy.penalties.get(&pod) else { return };
        let po = &self.pods[pod.idx()];
        if po.available || po.state == PodState::Terminated {
            return;
        }
        let Some(started) = po.started.get() else {
            self.lazy.penalties.remove(&pod);
            return;
        };
        let running = po.state == PodState::Running;
        let waited = self.now.since(started).0.saturating_sub(self.ready_after_ns(pod));
        let shorter = SimDuration(penalty.0.min(waited));
        if shorter == penalty {
            return;
        }
        self.lazy.penalties.insert(pod, shorter);
        if running {
            // The event first scheduled comes later and finds the pod available already.
            let at = started.plus(self.until_available(pod));
            self.schedule(at, Event::PodAvailable { pod });
        }
    }

    /// Whether image GC does not count container `idx` of `pod` (started lazily, image not
    /// whole yet, or never whole).
    pub(super) fn lazy_uncounted(&self, pod: PodId, idx: usize) -> bool {
        self.lazy.uncounted.contains_key(&(pod, container_u32(idx)))
    }

    /// The Ready penalty of `pod` (0 unless a container started lazily).
    pub(super) fn lazy_penalty(&self, pod: PodId) -> SimDuration {
        self.lazy.penalties.get(&pod).copied().unwrap_or(SimDuration::ZERO)
    }
}
