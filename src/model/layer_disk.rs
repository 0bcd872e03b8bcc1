//! What a layer occupies on its node's disk, as containerd keeps it: the compressed blob in
//! the content store and the unpacked snapshot; with `discard_unpacked_layers` the blob is
//! deleted once the layer is unpacked (containerd's `core/unpack/unpacker.go` with the CRI
//! option, runtime-reference §5), leaving the snapshot alone.
//!
//! The disk is reserved for what the layer will keep (at least its blob) when its download is
//! requested, so "no room" is decided once, where the kubelet sees it (`failed:disk_full`
//! before any byte moves). The model does not count the seconds during an unpack when a blob
//! that is about to be discarded and its snapshot are both on disk (docs/limitations.md).
//!
//! The kubelet's own view differs: an image's size is what the runtime reports (the compressed
//! blobs, `status.images[].sizeBytes`), and image GC counts that as the space a deletion frees
//! while the disk gets the layer's whole footprint back (`gc`).

use super::*;

impl World<'_> {
    /// The disk a layer holds from its download request until it is present: what it will
    /// keep, and at least its blob.
    pub(super) fn layer_reserved_bytes(&self, layer: LayerId) -> u64 {
        self.layer_kept_bytes(layer).max(self.layer_size_bytes[layer.idx()])
    }

    /// The disk a present layer holds: its snapshot, and its blob unless discarded.
    pub(super) fn layer_kept_bytes(&self, layer: LayerId) -> u64 {
        let blob =
            if self.scn.runtime.discard_unpacked_layers { 0 } else { self.layer_size_bytes[layer.idx()] };
        self.layer_unpacked_bytes[layer.idx()] + blob
    }

    /// The disk a layer in `state` holds (the accounting `invariants` checks).
    pub(super) fn layer_disk_bytes(&self, layer: LayerId, state: LayerState) -> u64 {
        match state {
            LayerState::Present => self.layer_kept_bytes(layer),
            _ => self.layer_reserved_bytes(layer),
        }
    }

    /// Reserves a layer's disk for a download; `false` (and nothing reserved) when it does not
    /// fit.
    pub(super) fn reserve_layer_disk(&mut self, node: NodeId, layer: LayerId) -> bool {
        let need = self.layer_reserved_bytes(layer);
        let n = &mut self.nodes[node.idx()];
        if n.disk_used_bytes.saturating_add(need) > n.disk_bytes {
            return false;
        }
        n.disk_used_bytes += need;
        true
    }

    /// A layer's unpack finished: a discarded blob larger than its snapshot gives the
    /// difference back.
    pub(super) fn layer_unpacked(&mut self, node: NodeId, layer: LayerId) {
        let freed = self.layer_reserved_bytes(layer) - self.layer_kept_bytes(layer);
        self.nodes[node.idx()].disk_used_bytes -= freed;
        if freed > 0 {
            self.gc_disk_changed(node);
        }
    }

    /// How long unpacking a layer takes on `node`: its unpacked bytes at the node's rate, plus
    /// the per-layer overhead (`runtime.unpack_layer_overhead`).
    pub(super) fn unpack_duration(&self, node: NodeId, layer: LayerId) -> SimDuration {
        let secs =
            self.layer_unpacked_bytes[layer.idx()] as f64 / self.nodes[node.idx()].unpack_rate_bytes_per_s;
        SimDuration(
            SimDuration::from_secs_f64_ceil(secs).0.saturating_add(self.scn.runtime.unpack_layer_overhead.0),
        )
    }
}
