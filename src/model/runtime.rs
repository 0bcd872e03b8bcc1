//! The container runtime's pull (containerd-like): the requests before the layers
//! (`registry::prelude`), then layer downloads, at most `max_concurrent_downloads` at once per
//! pull, each paying a blob request round trip before its bytes flow through the network; then
//! unpacking strictly in layer order, one layer at a time per node, overlapping with later
//! downloads.
//!
//! Layers are shared per node by id: a layer already present (or fetched) is not downloaded
//! again. When a pull needs a layer that another pull on the node is downloading, it waits for
//! that download and starts no further downloads meanwhile (containerd 1.6, measured: see
//! kubelet-reference §9). A failed pull aborts the downloads it owns; what it already fetched
//! stays in the content store and is reused by the retry.
//!
//! Under containerd 2.1's node-wide download slots the limit, the dispatch of layers and the
//! wait for another pull's layer differ: `download_slots`.

use super::network::FlowOwner;
use super::*;
use crate::ids::FlowId;

impl World<'_> {
    /// The runtime starts a pull attempt: overhead, then the prelude requests.
    pub(super) fn begin_runtime_pull(&mut self, pull: PullId) {
        let scn = self.scn;
        let p = &self.pulls[pull.idx()];
        let node = p.node;
        let (streams, label) = (&self.streams, self.labels.pull_overhead);
        let overhead = scn.runtime.pull_overhead_ns.sample_u64_with(|| {
            streams.keyed(label, &[u64::from(p.pod.0), u64::from(p.container_index), u64::from(p.attempt)])
        });
        self.pulls[pull.idx()].phase = PullPhase::Prelude;
        self.nodes[node.idx()].active_pulls.push(pull);
        let (Some(_), Some(registry)) = (self.pulls[pull.idx()].image, self.pulls[pull.idx()].registry)
        else {
            self.pulls[pull.idx()].prelude_failure = Some(FailReason::NotFound);
            let generation = self.pulls[pull.idx()].generation;
            self.schedule_in(SimDuration(overhead), Event::PullPrelude { pull, generation });
            return;
        };
        // Saturating: absurd (accepted) durations are u64::MAX ns, and the sum must not wrap.
        let start = SimTime(self.now.0.saturating_add(overhead));
        let registry = if self.mirrors.on {
            let host = self.mirror_first_host(pull, registry);
            self.pulls[pull.idx()].registry = Some(host);
            host
        } else {
            registry
        };
        self.begin_prelude(pull, registry, start);
    }

    pub(super) fn on_pull_prelude(&mut self, pull: PullId) {
        if self.pulls[pull.idx()].phase != PullPhase::Prelude {
            return;
        }
        if let Some(reason) = self.pulls[pull.idx()].prelude_failure {
            if self.mirrors.on && self.mirror_next_host(pull, reason) {
                return;
            }
            self.finish_pull(pull, Some(reason));
            return;
        }
        if self.mirrors.on {
            self.mirror_pick_blob_host(pull);
        }
        self.pulls[pull.idx()].phase = PullPhase::Layers;
        if self.lazy.on {
            self.lazy_layers_begin(pull);
        }
        let node = self.pulls[pull.idx()].node;
        self.kick_node(node);
    }

    /// Starts downloads and unpacks that became possible on `node`, and completes pulls whose
    /// layers are all present. Cheap: a node runs few pulls at once.
    pub(super) fn kick_node(&mut self, node: NodeId) {
        // One snapshot of the active list serves the three passes. Finishing a pull removes it
        // from the list (and a failure recurses here), but every pass skips pulls not in the
        // `Layers` phase, and a pull only enters that phase through an event: a snapshot taken
        // later would differ only by finished pulls (or their reused slots, not yet started),
        // which no pass looks at.
        let active = self.snapshot_active_pulls(node);
        let node_wide = self.node_slot_limit > 0;
        for &pull in &active {
            if self.pulls[pull.idx()].phase == PullPhase::Layers {
                if node_wide {
                    self.dispatch_layers(pull);
                } else {
                    self.schedule_downloads(pull);
                }
            }
        }
        self.advance_unpack(node, &active);
        for &pull in &active {
            let p = &self.pulls[pull.idx()];
            if p.phase != PullPhase::Layers {
                continue;
            }
            let n_layers = self.version_layers(p.image.expect("layers phase has an image"), p.version).len();
            // A pull polling another's layer ends when its poll has seen it (node-wide slots).
            if p.next_unpack as usize == n_layers && p.polls == 0 {
                debug_assert_eq!(p.downloads_in_flight, 0, "a complete pull has no download in flight");
                self.finish_pull(pull, None);
            } else if self.lazy.on {
                self.lazy_check_ready(pull);
            }
        }
        self.recycle_snapshot(active);
    }

    /// A copy of the node's active pulls in a reused buffer (this runs on every layer event).
    /// The passes over them read each pull's slot: ask for all the slots at once, so their
    /// cache misses overlap instead of coming one after the other.
    fn snapshot_active_pulls(&mut self, node: NodeId) -> Vec<PullId> {
        let mut v = self.pull_snapshots.pop().unwrap_or_default();
        v.clear();
        v.extend_from_slice(&self.nodes[node.idx()].active_pulls);
        for pull in &v {
            crate::engine::prefetch::prefetch_read(&self.pulls[pull.idx()]);
        }
        v
    }

    fn recycle_snapshot(&mut self, v: Vec<PullId>) {
        self.pull_snapshots.push(v);
    }

    /// Walks the pull's layers from its scan pointer, starting downloads while slots allow.
    fn schedule_downloads(&mut self, pull: PullId) {
        let scn = self.scn;
        let p = &self.pulls[pull.idx()];
        let (node, img, version) = (p.node, p.image.expect("layers phase has an image"), p.version);
        let max = scn.runtime.max_concurrent_downloads.max(1);
        loop {
            let p = &self.pulls[pull.idx()];
            let layers = self.version_layers(img, version);
            // A lazy pull's background downloads do not hold a download slot (`lazy`).
            let busy = p.downloads_in_flight - if self.lazy.on { self.lazy_background(pull) } else { 0 };
            if p.scan as usize >= layers.len() || busy >= max {
                return;
            }
            let layer = layers[p.scan as usize];
            match self.nodes[node.idx()].layers.get(layer) {
                None => {
                    if !self.reserve_layer_disk(node, layer) {
                        self.finish_pull(pull, Some(FailReason::DiskFull));
                        return;
                    }
                    self.nodes[node.idx()].layers.insert(layer, LayerState::Requesting { owner: pull });
                    self.gc_disk_changed(node);
                    let registry = self.pulls[pull.idx()].registry.expect("layers phase has a registry");
                    let req_no = 100 + u64::from(self.pulls[pull.idx()].scan);
                    let rtt = self.blob_request_delay(registry, pull, req_no);
                    let p = &mut self.pulls[pull.idx()];
                    p.downloads_in_flight += 1;
                    p.scan += 1;
                    let generation = p.generation;
                    self.schedule_in(rtt, Event::BlobRequest { pull, layer, generation });
                }
                Some(LayerState::Requesting { owner } | LayerState::Downloading { owner, .. })
                    if owner != pull =>
                {
                    return; // wait for the other pull's download of this layer
                }
                Some(_) => self.pulls[pull.idx()].scan += 1,
            }
        }
    }

    pub(super) fn on_blob_request(&mut self, pull: PullId, layer: LayerId) {
        let p = &self.pulls[pull.idx()];
        if p.phase != PullPhase::Layers {
            return; // the pull failed meanwhile; its reservation was released
        }
        let node = p.node;
        let registry = p.registry.expect("layers phase has a registry");
        if self.p2p.on && self.p2p_blob_request(pull, layer) {
            return;
        }
        // Sent during an outage, or answered during one: the request fails.
        if self.in_outage(registry, self.now) || self.blob_request_sent_in_outage(registry, pull, layer) {
            self.finish_pull(pull, Some(FailReason::Outage));
            return;
        }
        if self.mirrors.on && !self.lazy.on && self.is_cache(registry) {
            self.cache_blob(pull, layer, registry);
            return;
        }
        let mut size = self.layer_size_bytes[layer.idx()];
        if self.lazy.on {
            size = self.lazy_first_flow_bytes(pull, node, layer, size);
        }
        let cap = self.download_cap_bytes_per_s(registry, node, layer);
        let flow = self.start_download(node, registry, cap, size, FlowOwner { pull, layer });
        self.nodes[node.idx()].layers.insert(layer, LayerState::Downloading { owner: pull, flow });
        let r = &mut self.registries[registry.idx()].row;
        r.peak_concurrent = r.peak_concurrent.max(self.net.registry_flows(registry.idx()) as u64);
        self.sync_network_wake();
        // A lazy layer with no prefetch share goes straight to its background rest: pulls of
        // the node may be ready now.
        if self.lazy.on && self.lazy_straight_to_rest(node, layer) {
            self.kick_node(node);
        }
    }

    /// The most a download of `layer` can take: the registry's per-connection cap, and under a
    /// runtime that decompresses while downloading, the node's unpack rate over the layer's
    /// unpacked bytes, in compressed bytes per second (a layer that unpacks to twice its size
    /// downloads at most at half the unpack rate).
    pub(super) fn download_cap_bytes_per_s(&self, registry: RegistryId, node: NodeId, layer: LayerId) -> f64 {
        let reg = &self.registries[registry.idx()];
        let cap = match &reg.cold {
            // CDN: a blob the edge does not hold yet comes from the origin at the cold rate.
            Some((cold, warm)) if !warm.get(layer.idx()).copied().unwrap_or(false) => *cold,
            _ => reg.per_connection_bytes_per_s,
        };
        self.unpack_limited_cap(cap, node, layer)
    }

    /// `cap`, and under a runtime that decompresses while downloading, the node's unpack rate
    /// over the layer's unpacked bytes.
    pub(super) fn unpack_limited_cap(&self, cap: f64, node: NodeId, layer: LayerId) -> f64 {
        let rate = self.nodes[node.idx()].unpack_rate_bytes_per_s;
        let (size, unpacked) = (self.layer_size_bytes[layer.idx()], self.layer_unpacked_bytes[layer.idx()]);
        if !self.scn.runtime.profile.decompresses_while_downloading()
            || rate.is_infinite()
            || size == 0
            || unpacked == 0
        {
            return cap;
        }
        cap.min(rate * size as f64 / unpacked as f64)
    }

    pub(super) fn on_network_wake(&mut self) {
        // The wake-up scheduled for `net_wake_at` is this one: it is consumed. Without this, a
        // flow whose completion moves to `now` while the completed flows are taken out (a flow
        // held at rate 0 beside an infinite-rate flow on an unlimited link gets rate infinity
        // when that flow leaves) made `sync_network_wake` see `next == net_wake_at` and
        // schedule nothing: the flow was never completed and the next wake-up was scheduled
        // in the past (found by the swarm tests, seed 1454).
        self.net_wake_at = None;
        let mut done = std::mem::take(&mut self.done_scratch);
        let mut touched = std::mem::take(&mut self.touched_scratch);
        done.clear();
        touched.clear();
        self.net.take_completed_into(self.now, &mut done);
        for d in &done {
            crate::engine::prefetch::prefetch_read(&self.pulls[d.owner.pull.idx()]);
        }
        for d in done.drain(..) {
            if self.lazy.on && self.lazy_part_done(&d) {
                let node = self.pulls[d.owner.pull.idx()].node;
                if !touched.contains(&node) {
                    touched.push(node);
                }
                continue;
            }
            let p = &mut self.pulls[d.owner.pull.idx()];
            let node = p.node;
            debug_assert_eq!(p.phase, PullPhase::Layers, "a finished pull owns no flow");
            p.bytes += d.bytes;
            p.downloads_in_flight -= 1;
            let registry = p.registry.expect("a flow has a registry");
            let from_peers = self.p2p.on && self.p2p_download_ended(&d, true, self.now);
            self.download_ended(d.flow, d.bytes);
            // What a peer sent is none of the registry's (`p2p` counts it).
            let reg = &mut self.registries[registry.idx()];
            if !from_peers {
                reg.row.blob_bytes += d.bytes;
                if let Some((_, warm)) = &mut reg.cold {
                    // The edge holds the blob from now on; downloads already running keep their cap.
                    let i = d.owner.layer.idx();
                    if warm.len() <= i {
                        warm.resize(i + 1, false);
                    }
                    warm[i] = true;
                }
            }
            self.totals.bytes_pulled += d.bytes;
            // A lazily fetched layer is mounted by the snapshotter: present, with no unpack.
            let whole = self.lazy.on && self.lazy_layer_whole(d.owner.pull, node, d.owner.layer);
            let state = if whole { LayerState::Present } else { LayerState::Fetched };
            let st = self.nodes[node.idx()].layers.insert(d.owner.layer, state);
            debug_assert!(
                matches!(st, Some(LayerState::Downloading { .. })),
                "fetched layer was downloading"
            );
            if whole {
                self.layer_unpacked(node, d.owner.layer);
            }
            if self.mirrors.on {
                self.cache_flow_ended(d.owner.pull, d.owner.layer, registry, d.bytes, true, true);
            }
            if !touched.contains(&node) {
                touched.push(node);
            }
            if self.node_slot_limit > 0 {
                self.release_slot(node);
            }
        }
        self.sync_network_wake();
        for &node in &touched {
            self.kick_node(node);
        }
        self.done_scratch = done;
        self.touched_scratch = touched;
    }

    /// Starts the unpacks the node has room for. One at a time (the default): the first
    /// active pull (in start order, `active` being the node's snapshot) whose lowest missing
    /// layer is fetched. Several (`max_concurrent_unpacks`): every fetched layer of every
    /// active pull, in pull start order and layer order, until the limit.
    fn advance_unpack(&mut self, node: NodeId, active: &[PullId]) {
        // Every active pull moves its unpack pointer past layers already present.
        for &pull in active {
            let p = &self.pulls[pull.idx()];
            if p.phase != PullPhase::Layers {
                continue;
            }
            let layers = self.version_layers(p.image.expect("image"), p.version);
            let mut i = p.next_unpack as usize;
            while i < layers.len() && self.nodes[node.idx()].layers.is_present(layers[i]) {
                i += 1;
            }
            self.pulls[pull.idx()].next_unpack = u32::try_from(i).expect("layer count fits u32");
        }
        let limit = self.scn.runtime.max_concurrent_unpacks;
        if self.nodes[node.idx()].unpacks_in_flight >= limit {
            return;
        }
        if limit == 1 {
            let next = active.iter().find_map(|&pull| {
                let p = &self.pulls[pull.idx()];
                if p.phase != PullPhase::Layers {
                    return None;
                }
                let layer =
                    *self.version_layers(p.image.expect("image"), p.version).get(p.next_unpack as usize)?;
                (self.nodes[node.idx()].layers.get(layer) == Some(LayerState::Fetched)).then_some(layer)
            });
            if let Some(layer) = next {
                self.start_unpack(node, layer);
            }
            return;
        }
        for &pull in active {
            let p = &self.pulls[pull.idx()];
            if p.phase != PullPhase::Layers {
                continue;
            }
            let (img, version, from) = (p.image.expect("image"), p.version, p.next_unpack as usize);
            for i in from..self.version_layers(img, version).len() {
                if self.nodes[node.idx()].unpacks_in_flight >= limit {
                    return;
                }
                let layer = self.version_layers(img, version)[i];
                if self.nodes[node.idx()].layers.get(layer) == Some(LayerState::Fetched) {
                    self.start_unpack(node, layer);
                }
            }
        }
    }

    fn start_unpack(&mut self, node: NodeId, layer: LayerId) {
        let n = &mut self.nodes[node.idx()];
        n.layers.insert(layer, LayerState::Unpacking);
        n.unpacks_in_flight += 1;
        let took = self.unpack_duration(node, layer);
        self.schedule_in(took, Event::UnpackDone { node, layer });
    }

    pub(super) fn on_unpack_done(&mut self, node: NodeId, layer: LayerId) {
        let n = &mut self.nodes[node.idx()];
        assert_eq!(
            n.layers.get(layer),
            Some(LayerState::Unpacking),
            "unpack completion for a layer being unpacked"
        );
        n.unpacks_in_flight -= 1;
        n.layers.insert(layer, LayerState::Present);
        self.layer_unpacked(node, layer);
        self.kick_node(node);
    }

    /// The layers `pull` requested and still owns (requesting or downloading), in layer-id
    /// order (the order aborts reach the network in). Only its own layers are looked at, not
    /// the node's.
    pub(super) fn owned_layers(&self, pull: PullId) -> Vec<(LayerId, LayerState)> {
        let p = &self.pulls[pull.idx()];
        let Some(img) = p.image.filter(|_| p.phase == PullPhase::Layers) else { return Vec::new() };
        let node = &self.nodes[p.node.idx()];
        let mut owned: Vec<(LayerId, LayerState)> = self.version_layers(img, p.version)[..p.scan as usize]
            .iter()
            .filter_map(|l| node.layers.get(*l).map(|s| (*l, s)))
            .filter(|(_, s)| {
                matches!(
                    s,
                    LayerState::Queued { owner }
                        | LayerState::Requesting { owner }
                        | LayerState::Downloading { owner, .. } if *owner == pull
                )
            })
            .collect();
        owned.sort_unstable_by_key(|(l, _)| *l);
        owned.dedup_by_key(|(l, _)| *l);
        owned
    }

    /// Stops a download of `pull` at `at`, counting the bytes that crossed the network.
    /// A cache's miss hands its fetch to the requests waiting for it when `redispatch`.
    fn stop_download(&mut self, pull: PullId, flow: FlowId, at: SimTime, redispatch: bool) {
        let d = self.net.abort(at, flow);
        let p = &mut self.pulls[pull.idx()];
        p.bytes += d.bytes;
        let registry = p.registry.expect("a flow has a registry");
        self.download_ended(flow, d.bytes);
        if !(self.p2p.on && self.p2p_download_ended(&d, false, at)) {
            self.registries[registry.idx()].row.blob_bytes += d.bytes;
        }
        self.totals.bytes_pulled += d.bytes;
        if self.mirrors.on {
            self.cache_flow_ended(pull, d.owner.layer, registry, d.bytes, false, redispatch);
        }
    }

    /// At the end of the run: a pull still downloading counts the bytes its downloads moved
    /// until `end` (the horizon), partial layers included.
    pub(super) fn count_bytes_in_flight(&mut self, pull: PullId, end: SimTime) {
        for (_, st) in self.owned_layers(pull) {
            if let LayerState::Downloading { flow, .. } = st {
                self.stop_download(pull, flow, end, false);
            }
        }
    }

    /// On failure, aborts the pull's downloads (their layers become absent again and their
    /// disk reservation is released); always removes the pull from the node's active list.
    /// With node-wide slots, the pull leaves the slot queue and its slots go to the waiters.
    pub(super) fn runtime_cleanup(&mut self, pull: PullId, failed: bool) {
        let node = self.pulls[pull.idx()].node;
        self.nodes[node.idx()].active_pulls.retain(|p| *p != pull);
        let node_wide = self.node_slot_limit > 0;
        let mut freed = node_wide && self.leave_slots(pull);
        if failed && self.pulls[pull.idx()].phase == PullPhase::Layers {
            let mut net_changed = false;
            for (layer, st) in self.owned_layers(pull) {
                if let LayerState::Downloading { flow, .. } = st {
                    self.stop_download(pull, flow, self.now, true);
                    net_changed = true;
                }
                if node_wide && !matches!(st, LayerState::Queued { .. }) {
                    self.node_slots[node.idx()].busy -= 1;
                    freed = true;
                }
                if self.lazy.on {
                    self.lazy_layer_aborted(node, layer);
                }
                let reserved = self.layer_reserved_bytes(layer);
                let n = &mut self.nodes[node.idx()];
                n.layers.remove(layer);
                n.disk_used_bytes -= reserved;
                self.pulls[pull.idx()].downloads_in_flight -= 1;
            }
            self.gc_disk_changed(node);
            if net_changed {
                self.sync_network_wake();
            }
        }
        if freed {
            self.grant_slots(node);
        }
    }

    /// Every request to the registry fails from now on: pulls with downloads in flight from it
    /// fail with `outage` (their connections break).
    pub(super) fn on_outage_start(&mut self, registry: RegistryId) {
        let victims: Vec<PullId> = self
            .nodes
            .iter()
            .flat_map(|n| n.active_pulls.iter().copied())
            .filter(|p| {
                let p = &self.pulls[p.idx()];
                p.phase == PullPhase::Layers && p.registry == Some(registry) && p.downloads_in_flight > 0
            })
            // With node-wide slots, ingests waiting for a slot have no connection to break.
            .filter(|p| self.node_slot_limit == 0 || self.has_connection(*p))
            .collect();
        let mut victims = victims;
        if self.mirrors.on {
            // Caches fed by this registry lose their upstream fetches.
            victims.extend(self.upstream_fetch_victims(registry));
        }
        for pull in victims {
            if self.pulls[pull.idx()].phase == PullPhase::Layers {
                self.finish_pull(pull, Some(FailReason::Outage));
            }
        }
    }
}
