//! `Event`: the closed list of everything that can happen in a run. Only `World::handle`
//! matches on it.

use crate::ids::{ImageId, LayerId, NodeId, PodId, PullId, RegistryId, WorkloadId};

/// Everything that can happen in a run. Closed on purpose.
#[derive(Clone, Debug, PartialEq)]
pub enum Event {
    NodeJoin {
        node: NodeId,
    },
    WorkloadStart {
        workload: WorkloadId,
    },
    PoissonArrival {
        workload: WorkloadId,
    },
    /// A replay workload's next pod (`workload::replay`) is created and bound now.
    ReplayArrival {
        workload: WorkloadId,
    },
    /// The pod worker syncs the pod (first sync after binding, or a retry after an error).
    PodSync {
        pod: PodId,
    },
    /// A Running pod has been Ready for its Deployment's `min_ready`: it counts as available.
    PodAvailable {
        pod: PodId,
    },
    /// The runtime finished starting container `container` (index over init then app).
    ContainerStarted {
        pod: PodId,
        container: usize,
    },
    /// Init container `container` ran to completion.
    InitDone {
        pod: PodId,
        container: usize,
    },
    /// A puller slot was handed to this pull: it starts now.
    PullStart {
        pull: PullId,
    },
    /// The requests before the first layer (token, manifests, config) are answered.
    PullPrelude {
        pull: PullId,
        /// The pull slot's generation when scheduled (slots are reused; see `World::pulls`).
        generation: u32,
    },
    /// A lazy pull's prefetch timeout: its container may start now if it has not yet.
    LazyTimeout {
        pull: PullId,
        /// The pull slot's generation when scheduled.
        generation: u32,
    },
    /// A pull's manifest GET (or its retry after a 429) is sent now, under a rate limit.
    PullManifest {
        pull: PullId,
        /// The pull slot's generation when scheduled.
        generation: u32,
    },
    /// The blob request round trip for a layer is answered: bytes start to flow.
    BlobRequest {
        pull: PullId,
        layer: LayerId,
        /// The pull slot's generation when scheduled (a failed pull's requests go stale).
        generation: u32,
    },
    /// A prelude GET holding a node-wide download slot is answered (or failed): the slot frees
    /// and the prelude goes on (`runtime.profile = "containerd-2.1"`).
    PreludeGetDone {
        pull: PullId,
        /// The pull slot's generation when scheduled.
        generation: u32,
    },
    /// A pull re-checks a layer whose ingest another pull holds (containerd 2.1's polling of
    /// the ingest lock): `index` is the layer's position in the image, `n` the re-checks before.
    LayerPoll {
        pull: PullId,
        /// The pull slot's generation when scheduled.
        generation: u32,
        index: u32,
        n: u8,
    },
    /// The earliest flow completion; stale when `generation` is not the network's current one.
    NetworkWake {
        generation: u64,
    },
    UnpackDone {
        node: NodeId,
        layer: LayerId,
    },
    OutageStart {
        registry: RegistryId,
    },
    /// The node's kubelet runs image GC and the eviction manager's check (`gc`): a timer, from
    /// `World::timers`. Stale when the node's timer was set again since (`generation`).
    GcTick {
        node: NodeId,
        generation: u32,
    },
    /// A Deployment's image update (rolling update) begins.
    RolloutStart {
        workload: WorkloadId,
    },
    /// A new digest of the image's tag is pushed (`image.pushes`). Pulls read the version from
    /// the clock, so nothing changes here; the event keeps the run going until the push.
    TagPush {
        image: ImageId,
    },
}
