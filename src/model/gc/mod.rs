//! Image garbage collection on a node: the kubelet's image GC manager (`k8s::gc`:
//! `GarbageCollect` every 5 minutes, with its age pass) and the eviction manager's reclaim of
//! unused images under disk pressure (`k8s::eviction`, `DeleteUnusedImages`), each run only at
//! the ticks where it can change something (`ticks`, which also keeps the image records).
//!
//! The world tells this module what the records depend on: the image filesystem changing
//! (`gc_disk_changed`), images appearing (`gc_image_appeared`), containers being created and
//! going (`GcRecord::use_started`, `gc_containers_removed`), the node joining. Each may set the
//! node's timer sooner. Timers live in their own queue (`World::timers`), popped before the
//! events of the same instant, so a tick sees exactly the changes before it.
//!
//! Removing an image frees its layers that no other image on the node and no pull in progress
//! uses (containerd's leases keep in-flight content). An older digest of a moved tag is an
//! image of its own (upstream keys records by image ID), collected like any other.

#[cfg(test)]
mod tests;
mod ticks;

use super::*;
use crate::k8s::gc::GcPolicy;
use std::num::NonZeroU32;
use ticks::{after, next_tick, note_disk, run_tick, GcNode, GcNodeMut};
pub(super) use ticks::{GcRecord, NodeGc};

/// An image copy on a node: the image and which digest of its tag (`NodeImage::version`).
type CopyKey = (ImageId, u32);

/// A slot of `GcSlots` (1-based inside, so that a node's image table entry keeps a niche).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(super) struct GcSlot(NonZeroU32);

impl GcSlot {
    fn idx(self) -> usize {
        self.0.get() as usize - 1
    }
}

/// The image GC records of a node's image copies, in reusable slots that each copy names
/// (`NodeImage::gc`). Kept beside the node's image table rather than in it: that table is
/// probed on every sync, and 28 bytes more per entry made its entries 56 bytes instead of 16.
#[derive(Default)]
pub(super) struct GcSlots {
    slots: Vec<GcRecord>,
    /// Free slots, reused last-in first-out.
    free: Vec<GcSlot>,
}

impl GcSlots {
    pub(super) fn insert(&mut self, r: GcRecord) -> GcSlot {
        match self.free.pop() {
            Some(s) => {
                self.slots[s.idx()] = r;
                s
            }
            None => {
                self.slots.push(r);
                let n = u32::try_from(self.slots.len()).ok().and_then(NonZeroU32::new);
                GcSlot(n.expect("fewer than 2^32 image copies on a node"))
            }
        }
    }

    pub(super) fn get(&self, s: GcSlot) -> &GcRecord {
        &self.slots[s.idx()]
    }

    pub(super) fn get_mut(&mut self, s: GcSlot) -> &mut GcRecord {
        &mut self.slots[s.idx()]
    }

    /// Frees the slot (its copy is gone).
    pub(super) fn remove(&mut self, s: GcSlot) {
        debug_assert_eq!(self.slots[s.idx()].in_use(), 0, "an image in use stays on its node");
        self.free.push(s);
    }

    /// Slots in use.
    fn live(&self) -> usize {
        self.slots.len() - self.free.len()
    }
}

/// A node of the world, read.
struct NodeRef<'w, 'a> {
    w: &'w World<'a>,
    node: NodeId,
}

/// A node of the world, changed.
struct NodeMut<'w, 'a> {
    w: &'w mut World<'a>,
    node: NodeId,
}

/// Every image copy of `node`: what each tag points to (by image id), then the superseded
/// digests of moved tags (in the order they were superseded).
fn for_each_image_of(w: &World, node: NodeId, f: &mut dyn FnMut(CopyKey, u64, &GcRecord)) {
    let n = &w.nodes[node.idx()];
    for (img, ni) in n.images.iter_sorted() {
        f((img, ni.version), w.version_size_bytes(img, ni.version), n.gc_records.get(ni.gc));
    }
    for (img, ni) in &n.superseded {
        f((*img, ni.version), w.version_size_bytes(*img, ni.version), n.gc_records.get(ni.gc));
    }
}

fn available(n: &Node) -> u64 {
    n.disk_bytes.saturating_sub(n.disk_used_bytes)
}

/// The read side of `GcNode`, the same for a shared and an exclusive view of the node.
macro_rules! impl_gc_node {
    ($view:ident) => {
        impl GcNode for $view<'_, '_> {
            type Key = CopyKey;
            fn gc(&self) -> &NodeGc {
                &self.w.nodes[self.node.idx()].gc
            }
            fn for_each_image(&self, f: &mut dyn FnMut(CopyKey, u64, &GcRecord)) {
                for_each_image_of(self.w, self.node, f);
            }
            fn capacity(&self) -> u64 {
                self.w.nodes[self.node.idx()].disk_bytes
            }
            fn available(&self) -> u64 {
                available(&self.w.nodes[self.node.idx()])
            }
        }
    };
}
impl_gc_node!(NodeRef);
impl_gc_node!(NodeMut);

impl GcNodeMut for NodeMut<'_, '_> {
    fn gc_mut(&mut self) -> &mut NodeGc {
        &mut self.w.nodes[self.node.idx()].gc
    }
    fn remove_image(&mut self, key: CopyKey) {
        self.w.remove_image(self.node, key);
    }
}

impl World<'_> {
    /// The image GC policy of a pool's kubelet settings.
    pub(super) fn gc_policy(kc: &crate::k8s::config::KubeletConfig) -> GcPolicy {
        GcPolicy {
            high_threshold_percent: kc.image_gc_high_threshold_percent,
            low_threshold_percent: kc.image_gc_low_threshold_percent,
            min_age: kc.image_minimum_gc_age,
            max_age: kc.image_maximum_gc_age,
        }
    }

    /// The node joined with its preloaded images: its kubelet starts, and its first runs (at
    /// the join) see them.
    pub(super) fn gc_node_joined(&mut self, node: NodeId) {
        let now = self.now;
        note_disk(&mut NodeMut { w: self, node }, now);
        self.gc_reschedule(node, now);
    }

    /// The node's image filesystem changed (a layer reserved or released). Runs on every layer
    /// download, so the usual case, no threshold crossed, is a comparison, and the rest is
    /// kept out of the download path's code.
    #[inline]
    pub(super) fn gc_disk_changed(&mut self, node: NodeId) {
        let n = &self.nodes[node.idx()];
        if n.gc.crosses(available(n)) {
            self.gc_threshold_crossed(node);
        }
    }

    #[cold]
    #[inline(never)]
    fn gc_threshold_crossed(&mut self, node: NodeId) {
        let first_tick = after(self.now);
        if note_disk(&mut NodeMut { w: self, node }, first_tick) {
            self.gc_reschedule(node, first_tick);
        }
    }

    /// A pull put an image on the node: if nothing uses it, a run may remove it (only the age
    /// pass and the eviction manager look at unused images without usage being high, and a
    /// high usage has its timer set already).
    #[inline]
    pub(super) fn gc_image_appeared(&mut self, node: NodeId) {
        if self.nodes[node.idx()].gc.watches_unused_images() {
            self.gc_reschedule(node, after(self.now));
        }
    }

    /// `pod` left the node at `now`, and the runtime's containers with it (those created:
    /// started or being started, `state_before` telling which is being started). Images they
    /// were the last to use become candidates.
    #[inline(never)]
    pub(super) fn gc_containers_removed(&mut self, node: NodeId, pod: PodId, state_before: PodState) {
        let now = self.now;
        let mut unused = false;
        let p = &self.pods[pod.idx()];
        for (i, c) in p.containers.iter().enumerate() {
            let created = c.started || state_before == PodState::Starting(container_u32(i));
            let Some(img) = c.image.filter(|_| created) else { continue };
            if self.lazy.on && self.lazy_uncounted(pod, i) {
                continue; // started lazily, never counted (`lazy`)
            }
            let Node { images, superseded, gc, gc_records, .. } = &mut self.nodes[node.idx()];
            let slot = match images.get(&img) {
                Some(ni) if ni.version == c.version => ni.gc,
                _ => {
                    superseded
                        .iter()
                        .find(|(i, o)| *i == img && o.version == c.version)
                        .expect("an image in use stays on its node")
                        .1
                        .gc
                }
            };
            unused |= gc.use_ended(gc_records.get_mut(slot), now);
        }
        if unused {
            self.gc_reschedule(node, after(now));
        }
    }

    /// Sets the node's timer for the first tick from `first_tick` that can change something,
    /// if that is sooner than the timer set.
    #[cold]
    #[inline(never)]
    fn gc_reschedule(&mut self, node: NodeId, first_tick: SimTime) {
        let Some(t) = next_tick(&NodeRef { w: self, node }, first_tick) else { return };
        if let Some(generation) = self.nodes[node.idx()].gc.set_timer_if_sooner(t) {
            self.schedule_timer(t, Event::GcTick { node, generation });
        }
    }

    #[cold]
    #[inline(never)]
    pub(super) fn on_gc_tick(&mut self, node: NodeId, generation: u32) {
        if !self.nodes[node.idx()].gc.timer_fired(generation) {
            return;
        }
        // A tick pushes nothing onto the main queue: it may be settled past this instant
        // (`EventQueue::peek_time`), and a removal wakes nothing up.
        let (scheduled, now) = (self.queue.scheduled(), self.now);
        let report = run_tick(&mut NodeMut { w: self, node }, now);
        debug_assert_eq!(self.queue.scheduled(), scheduled);
        if report.free_space_failed {
            self.gc_free_space_failed += 1;
        }
        self.gc_reschedule(node, after(now));
    }

    /// The node's GC bookkeeping agrees with its pods and disk (invariant checks): each
    /// record counts the created containers of live pods that use its digest, the threshold
    /// state is current, and no run that could change something is left without a timer.
    pub(super) fn check_gc(&self, node: NodeId) -> Result<(), String> {
        let n = &self.nodes[node.idx()];
        if !n.joined {
            return Ok(());
        }
        let mut counts: BTreeMap<CopyKey, u32> = BTreeMap::new();
        for p in &n.pods {
            let pod = &self.pods[p.idx()];
            if pod.state == PodState::Terminated {
                continue;
            }
            for (i, c) in pod.containers.iter().enumerate() {
                if let Some(img) = c.image {
                    let uncounted = self.lazy.on && self.lazy_uncounted(*p, i);
                    if (c.started || pod.state == PodState::Starting(container_u32(i))) && !uncounted {
                        *counts.entry((img, c.version)).or_default() += 1;
                    }
                }
            }
        }
        let mut bad = None;
        for_each_image_of(self, node, &mut |key, _, r| {
            if counts.remove(&key).unwrap_or(0) != r.in_use() {
                bad = Some(key);
            }
        });
        if let Some(key) = bad.or_else(|| counts.keys().next().copied()) {
            return Err(format!("node {}: containers using image {key:?} miscounted", n.name));
        }
        // Each copy names its own record, and no record outlives its copy.
        let copies = n.images.iter_unordered().map(|(_, c)| c).chain(n.superseded.iter().map(|(_, c)| c));
        let slots: BTreeSet<GcSlot> = copies.map(|c| c.gc).collect();
        if slots.len() != n.images.len() + n.superseded.len() || slots.len() != n.gc_records.live() {
            return Err(format!("node {}: image GC records and image copies do not match", n.name));
        }
        n.gc.check(available(n)).map_err(|e| format!("node {}: {e}", n.name))?;
        if let Some(t) = next_tick(&NodeRef { w: self, node }, after(self.now)) {
            if n.gc.timer().is_none_or(|at| at > t) {
                return Err(format!("node {}: a run is due at {t} but the timer is not set for it", n.name));
            }
        }
        Ok(())
    }

    pub(super) fn remove_image(&mut self, node: NodeId, (img, version): CopyKey) {
        let n = &mut self.nodes[node.idx()];
        let gone = if n.images.get(&img).is_some_and(|ni| ni.version == version) {
            self.image_node_count[img.idx()] -= 1;
            n.images.remove(&img)
        } else if let Some(k) = n.superseded.iter().position(|(i, o)| *i == img && o.version == version) {
            Some(n.superseded.remove(k).1)
        } else {
            return;
        };
        if let Some(copy) = gone {
            copy.drop_from(&mut self.nodes[node.idx()], &mut self.pulled_records);
        }
        self.gc_images_removed += 1;
        let needed = |w: &World, l: LayerId| {
            let n = &w.nodes[node.idx()];
            n.images
                .iter_unordered()
                .chain(n.superseded.iter().map(|(i, o)| (*i, o)))
                .any(|(i, ni)| w.version_layers(i, ni.version).contains(&l))
                || n.active_pulls.iter().any(|p| {
                    let p = &w.pulls[p.idx()];
                    p.image.is_some_and(|i| w.version_layers(i, p.version).contains(&l))
                })
        };
        for layer in self.version_layers(img, version).to_vec() {
            if self.nodes[node.idx()].layers.is_present(layer) && !needed(self, layer) {
                // The disk gets the layer's whole footprint back, blob and snapshot.
                let size = self.layer_kept_bytes(layer);
                let n = &mut self.nodes[node.idx()];
                n.layers.remove(layer);
                n.disk_used_bytes -= size;
                self.gc_bytes_freed += size;
            }
        }
    }
}
