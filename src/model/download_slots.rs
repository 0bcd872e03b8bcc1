//! containerd 2.1's node-wide download slots (`runtime.profile = "containerd-2.1"` with
//! `max_concurrent_downloads = 3`): one FIFO semaphore per node (the CRI image service's
//! `downloadLimiter`, `internal/cri/server/images/service.go`) that every GET of every pull on
//! the node takes for as long as it runs (`core/remotes/docker/fetcher.go`): the prelude's
//! manifest, platform-manifest and config GETs from send to answer, a layer blob from its
//! request until its last byte. A HEAD or a token request takes none.
//!
//! Because a GET may wait for a slot that another pull frees later, the GETs here are events,
//! not worked out when the pull starts: a GET (or a layer) that finds no free slot, or finds
//! others already waiting, joins the node's queue, and each slot that frees (a layer download
//! completes or fails, a GET is answered or fails) goes to the head of the queue at once. Each
//! request is still decided when it is sent (`registry::request`), so outages keep their
//! per-request semantics.
//!
//! The transfer service dispatches every layer of a pull at once (`core/transfer/local/pull.go`):
//! each locks its ingest, then waits for a slot, in layer order. A layer whose ingest another
//! pull holds is not waited for with a slot: `content.OpenWriter` (`core/content/helpers.go`)
//! sleeps and tries again, the sleep doubling from 16 ms up to 2,048 ms, until the blob is
//! there (`RuntimeProfile::ingest_poll_delay`: the model sleeps each bound in full, no draw), or
//! until the ingest is free because its holder failed, and then fetches it itself. Meanwhile the
//! pull's other layers go on. A pull ends only after its polls have seen their layers.

use super::*;
use crate::scenario::RuntimeProfile;

impl World<'_> {
    /// `pull` wants a slot for `want` now: it takes a free one when nobody waits before it,
    /// otherwise it joins the queue.
    pub(super) fn want_slot(&mut self, pull: PullId, want: SlotWant) {
        let node = self.pulls[pull.idx()].node;
        let slots = &mut self.node_slots[node.idx()];
        if slots.busy < self.node_slot_limit && slots.queue.is_empty() {
            slots.busy += 1;
            self.slot_granted(pull, want);
        } else {
            slots.queue.push_back(SlotWaiter { pull, want });
            if want == SlotWant::Get {
                self.pulls[pull.idx()].get_slot = SlotUse::Waiting;
            }
        }
    }

    /// One slot of `node` frees; the waiters take the free slots in order.
    pub(super) fn release_slot(&mut self, node: NodeId) {
        let slots = &mut self.node_slots[node.idx()];
        assert!(slots.busy > 0, "a slot is released only by its holder");
        slots.busy -= 1;
        self.grant_slots(node);
    }

    /// Hands free slots to the queue's head while both last.
    pub(super) fn grant_slots(&mut self, node: NodeId) {
        while self.node_slots[node.idx()].busy < self.node_slot_limit {
            let Some(w) = self.node_slots[node.idx()].queue.pop_front() else { return };
            self.node_slots[node.idx()].busy += 1;
            self.slot_granted(w.pull, w.want);
        }
    }

    /// `pull` holds a slot for `want`: the request goes out now. Schedules events only, so a
    /// grant never frees another slot.
    fn slot_granted(&mut self, pull: PullId, want: SlotWant) {
        match want {
            SlotWant::Get => self.send_prelude_get(pull),
            SlotWant::Layer(index) => {
                let p = &self.pulls[pull.idx()];
                let (node, img, version) = (p.node, p.image.expect("layers phase has an image"), p.version);
                let layer = self.version_layers(img, version)[index as usize];
                let st = self.nodes[node.idx()].layers.insert(layer, LayerState::Requesting { owner: pull });
                debug_assert_eq!(
                    st,
                    Some(LayerState::Queued { owner: pull }),
                    "a queued layer keeps its ingest"
                );
                let registry = self.pulls[pull.idx()].registry.expect("layers phase has a registry");
                let rtt = self.blob_request_delay(registry, pull, 100 + u64::from(index));
                let generation = self.pulls[pull.idx()].generation;
                self.schedule_in(rtt, Event::BlobRequest { pull, layer, generation });
            }
        }
    }

    /// The node-wide counterpart of `schedule_downloads`: every layer of the pull not present
    /// is dispatched at once, in layer order: its ingest locked and a slot asked for, or, when
    /// another pull holds its ingest, polled.
    pub(super) fn dispatch_layers(&mut self, pull: PullId) {
        let p = &self.pulls[pull.idx()];
        let (node, img, version) = (p.node, p.image.expect("layers phase has an image"), p.version);
        loop {
            let index = self.pulls[pull.idx()].scan;
            let Some(&layer) = self.version_layers(img, version).get(index as usize) else { return };
            self.pulls[pull.idx()].scan += 1;
            match self.nodes[node.idx()].layers.get(layer) {
                None => {
                    if !self.lock_ingest(pull, layer) {
                        return;
                    }
                    self.want_slot(pull, SlotWant::Layer(index));
                }
                Some(
                    LayerState::Queued { owner }
                    | LayerState::Requesting { owner }
                    | LayerState::Downloading { owner, .. },
                ) if owner != pull => {
                    let p = &mut self.pulls[pull.idx()];
                    p.polls += 1;
                    let generation = p.generation;
                    let delay = RuntimeProfile::ingest_poll_delay(0);
                    self.schedule_in(delay, Event::LayerPoll { pull, generation, index, n: 0 });
                }
                Some(_) => {}
            }
        }
    }

    /// Reserves the layer's disk and takes its ingest for `pull`; `false` when the disk is full
    /// (the pull has then failed).
    fn lock_ingest(&mut self, pull: PullId, layer: LayerId) -> bool {
        let node = self.pulls[pull.idx()].node;
        if !self.reserve_layer_disk(node, layer) {
            self.finish_pull(pull, Some(FailReason::DiskFull));
            return false;
        }
        self.nodes[node.idx()].layers.insert(layer, LayerState::Queued { owner: pull });
        self.gc_disk_changed(node);
        self.pulls[pull.idx()].downloads_in_flight += 1;
        true
    }

    /// `Event::LayerPoll`: the `n`-th re-check of a layer another pull's ingest held.
    pub(super) fn on_layer_poll(&mut self, pull: PullId, index: u32, n: u8) {
        let p = &self.pulls[pull.idx()];
        if p.phase != PullPhase::Layers {
            return;
        }
        let (node, img, version) = (p.node, p.image.expect("layers phase has an image"), p.version);
        let layer = self.version_layers(img, version)[index as usize];
        match self.nodes[node.idx()].layers.get(layer) {
            Some(
                LayerState::Queued { .. } | LayerState::Requesting { .. } | LayerState::Downloading { .. },
            ) => {
                let generation = self.pulls[pull.idx()].generation;
                let n = n.saturating_add(1);
                let delay = RuntimeProfile::ingest_poll_delay(n);
                self.schedule_in(delay, Event::LayerPoll { pull, generation, index, n });
            }
            None => {
                // The holder failed and dropped the ingest: this pull fetches the layer.
                self.pulls[pull.idx()].polls -= 1;
                if self.lock_ingest(pull, layer) {
                    self.want_slot(pull, SlotWant::Layer(index));
                }
            }
            Some(_) => {
                self.pulls[pull.idx()].polls -= 1;
                self.kick_node(node);
            }
        }
    }

    /// A pull that ends leaves the queue and frees the slot of a prelude GET it holds (the
    /// prelude's own events end it only after the answer, so this is for completeness);
    /// whether a slot was freed.
    pub(super) fn leave_slots(&mut self, pull: PullId) -> bool {
        let node = self.pulls[pull.idx()].node;
        let slots = &mut self.node_slots[node.idx()];
        if slots.queue.iter().any(|w| w.pull == pull) {
            slots.queue.retain(|w| w.pull != pull);
        }
        let p = &mut self.pulls[pull.idx()];
        let held = p.get_slot == SlotUse::Holding;
        p.get_slot = SlotUse::None;
        if held {
            self.node_slots[node.idx()].busy -= 1;
        }
        held
    }

    /// Whether `pull` has a request or download in flight (not only ingests waiting for a
    /// slot): an outage that starts breaks those.
    pub(super) fn has_connection(&self, pull: PullId) -> bool {
        self.owned_layers(pull)
            .iter()
            .any(|(_, s)| matches!(s, LayerState::Requesting { .. } | LayerState::Downloading { .. }))
    }
}
