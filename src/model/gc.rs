//! Image garbage collection on a node, driven by `k8s::gc::plan_gc` (the kubelet's
//! `GarbageCollect`). The kubelet runs it every 5 minutes from its start; since it can only act
//! when usage is at or above the high threshold, the simulation schedules a run only for the
//! next 5-minute tick after usage crosses the threshold (same effect, and the event queue can
//! still drain so the run ends when nothing else can change).
//!
//! Removing an image frees its layers that no other image on the node and no pull in progress
//! uses (containerd's leases keep in-flight content). An older digest of a moved tag is an
//! image of its own (upstream keys records by image ID), collected like any other.

use super::*;
use crate::k8s::gc::{plan_gc, usage_percent, GcPolicy, ImageRecord, IMAGE_GC_PERIOD};

impl World<'_> {
    fn gc_policy(&self, node: NodeId) -> GcPolicy {
        let kc = &self.scn.node_pools[self.nodes[node.idx()].pool.idx()].kubelet;
        GcPolicy {
            high_threshold_percent: kc.image_gc_high_threshold_percent,
            low_threshold_percent: kc.image_gc_low_threshold_percent,
            min_age: kc.image_minimum_gc_age,
            max_age: kc.image_maximum_gc_age,
        }
    }

    /// Schedules a GC run at the node's next GC tick if usage is at or above the threshold.
    pub(super) fn maybe_schedule_gc(&mut self, node: NodeId) {
        let n = &self.nodes[node.idx()];
        if n.gc_scheduled || !n.joined {
            return;
        }
        let available = n.disk_bytes.saturating_sub(n.disk_used_bytes);
        let policy = self.gc_policy(node);
        if usage_percent(n.disk_bytes, available) < u64::from(policy.high_threshold_percent) {
            return;
        }
        self.schedule_next_gc_tick(node);
    }

    fn schedule_next_gc_tick(&mut self, node: NodeId) {
        let n = &mut self.nodes[node.idx()];
        let since_join = self.now.since(n.join_at).0;
        let period = IMAGE_GC_PERIOD.0;
        let next = n.join_at.plus(SimDuration(since_join.div_ceil(period) * period));
        n.gc_scheduled = true;
        self.schedule(next.max(self.now), Event::GcRun { node });
    }

    /// In use: a live pod on the node has a container of this digest started or starting.
    fn image_in_use(&self, node: NodeId, img: ImageId, version: u32) -> bool {
        self.nodes[node.idx()].pods.iter().any(|p| {
            let pod = &self.pods[p.idx()];
            pod.state != PodState::Terminated
                && pod.containers.iter().enumerate().any(|(i, c)| {
                    c.image == Some(img)
                        && c.version == version
                        && (c.started || pod.state == PodState::Starting(container_u32(i)))
                })
        })
    }

    pub(super) fn on_gc_run(&mut self, node: NodeId) {
        self.nodes[node.idx()].gc_scheduled = false;
        let policy = self.gc_policy(node);
        // Every image on the node, keyed by (image, digest version): what each tag points to,
        // then the superseded digests of moved tags.
        let n = &self.nodes[node.idx()];
        let records: Vec<ImageRecord<(ImageId, u32)>> = n
            .images
            .iter_sorted()
            .into_iter()
            .chain(n.superseded.iter().map(|(i, o)| (*i, o)))
            .map(|(img, ni)| ImageRecord {
                id: (img, ni.version),
                size_bytes: self.version_size_bytes(img, ni.version),
                first_detected: ni.first_detected,
                last_used: ni.last_used,
                in_use: self.image_in_use(node, img, ni.version),
                pinned: false,
            })
            .collect();
        let n = &self.nodes[node.idx()];
        let available = n.disk_bytes.saturating_sub(n.disk_used_bytes);
        let plan = plan_gc(&records, &policy, n.disk_bytes, available, self.now);
        for img in &plan.remove {
            self.remove_image(node, *img);
        }
        // Images too young to collect now become eligible later: look again then.
        let waiting_for_age = records.iter().any(|r| {
            !r.in_use && !plan.remove.contains(&r.id) && self.now.since(r.first_detected) < policy.min_age
        });
        if waiting_for_age {
            self.maybe_schedule_gc_after_tick(node);
        }
    }

    fn maybe_schedule_gc_after_tick(&mut self, node: NodeId) {
        let n = &self.nodes[node.idx()];
        let available = n.disk_bytes.saturating_sub(n.disk_used_bytes);
        if usage_percent(n.disk_bytes, available) >= u64::from(self.gc_policy(node).high_threshold_percent) {
            let n = &mut self.nodes[node.idx()];
            n.gc_scheduled = true;
            self.schedule_in(IMAGE_GC_PERIOD, Event::GcRun { node });
        }
    }

    fn remove_image(&mut self, node: NodeId, (img, version): (ImageId, u32)) {
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
            self.pulled_records.release(&copy);
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
                let size = self.layer_size_bytes[layer.idx()];
                let n = &mut self.nodes[node.idx()];
                n.layers.remove(layer);
                n.disk_used_bytes -= size;
                self.gc_bytes_freed += size;
            }
        }
    }
}
