//! A pod as the model keeps it: its state in the pod worker's sync loop, its containers
//! (inline for the usual single one, so a pod spans two cache lines), its name as shown, and
//! its last error, kept as parts and rendered only where an output shows it.

use super::*;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum PodState {
    Unscheduled,
    /// Waiting for the pod worker's next sync (after an error, or before the first).
    Idle,
    /// A sync is walking the containers (transient, within one event).
    Syncing,
    WaitingPull(PullId),
    /// Container index (init then app); `u32` keeps the state, and the `Pod`, small.
    Starting(u32),
    InitRunning(u32),
    Running,
    /// Deleted by a rollout.
    Terminated,
}

#[derive(Clone, Debug)]
pub(super) struct PodContainer {
    /// The image string as the spec wrote it (`raw_images`).
    pub(super) raw: RawImageId,
    pub(super) image: Option<ImageId>,
    pub(super) policy: PullPolicy,
    /// Digest version of the node's image when the container was started.
    pub(super) version: u32,
    pub(super) started: bool,
    pub(super) init_done: bool,
    /// The waiting reason of the last error (pods.csv `status`).
    pub(super) waiting: Option<KubeletReason>,
    /// Pull attempts of this image string by the pod (1-based pulls.csv `attempt`), counted on
    /// the first container naming the string: the count is per string, not per container.
    pub(super) attempts: u32,
}

/// A container index (init then app) as the pod stores it.
pub(super) fn container_u32(idx: usize) -> u32 {
    u32::try_from(idx).expect("a pod's container index fits u32")
}

/// A pod's containers. Almost every pod has one: kept inline in the `Pod`, it costs no
/// separate allocation and no second cache miss on every sync.
#[derive(Clone, Debug)]
pub(super) enum PodContainers {
    One(PodContainer),
    Many(Vec<PodContainer>),
}

impl From<Vec<PodContainer>> for PodContainers {
    fn from(mut v: Vec<PodContainer>) -> Self {
        if v.len() == 1 {
            PodContainers::One(v.pop().expect("one"))
        } else {
            PodContainers::Many(v)
        }
    }
}

impl std::ops::Deref for PodContainers {
    type Target = [PodContainer];
    fn deref(&self) -> &[PodContainer] {
        match self {
            PodContainers::One(c) => std::slice::from_ref(c),
            PodContainers::Many(v) => v,
        }
    }
}

impl std::ops::DerefMut for PodContainers {
    fn deref_mut(&mut self) -> &mut [PodContainer] {
        match self {
            PodContainers::One(c) => std::slice::from_mut(c),
            PodContainers::Many(v) => v,
        }
    }
}

/// Aligned to a cache line: at 128 bytes a pod then spans exactly two lines (a large `Vec`
/// from the allocator starts 16 bytes into a page, which put most pods across three).
#[repr(align(64))]
pub(super) struct Pod {
    /// The pod's number in its workload: its name is `<workload>-<index>` (`World::pod_name`,
    /// written out only where an output or a message shows it).
    pub(super) index: u32,
    pub(super) workload: WorkloadId,
    /// Revision of the workload's template this pod runs (rollouts).
    pub(super) revision: u32,
    /// The node the pod is bound to, `UNBOUND` before (read through `node()`). Not an
    /// `Option`: with the start time a `MaybeTime`, a pod is 128 bytes, two cache lines,
    /// instead of 144 (three lines for most pods), and pods are read on most events.
    pub(super) bound_node: NodeId,
    pub(super) created: SimTime,
    /// When the pod became Running.
    pub(super) started: MaybeTime,
    /// Init containers then app containers (inline for the usual single container).
    pub(super) containers: PodContainers,
    pub(super) n_init: u32,
    pub(super) cursor: u32,
    pub(super) sync_error: bool,
    /// Ready for `min_ready` (the Deployment controller's available): what rollouts count.
    pub(super) available: bool,
    pub(super) n_syncs: u32,
    pub(super) state: PodState,
    pub(super) pull_ns: u64,
    pub(super) images_pulled: u32,
    pub(super) cache_hits: u32,
    pub(super) backoffs: u32,
    pub(super) last_error: LastError,
}

impl Pod {
    /// A pod just created: unscheduled, nothing synced, pulled or failed yet.
    pub(super) fn new(
        index: u32,
        workload: WorkloadId,
        revision: u32,
        created: SimTime,
        containers: PodContainers,
        n_init: u32,
    ) -> Pod {
        Pod {
            index,
            workload,
            revision,
            bound_node: Pod::UNBOUND,
            created,
            started: MaybeTime::NOT_YET,
            containers,
            n_init,
            cursor: 0,
            sync_error: false,
            available: false,
            n_syncs: 0,
            state: PodState::Unscheduled,
            pull_ns: 0,
            images_pulled: 0,
            cache_hits: 0,
            backoffs: 0,
            last_error: LastError::None,
        }
    }

    pub(super) const UNBOUND: NodeId = NodeId(u32::MAX);

    /// The node the pod is bound to (`None` until the scheduler binds it).
    pub(super) fn node(&self) -> Option<NodeId> {
        (self.bound_node != Pod::UNBOUND).then_some(self.bound_node)
    }

    pub(super) fn bind(&mut self, node: NodeId) {
        assert!(node != Pod::UNBOUND, "node id {} is reserved", node.0);
        self.bound_node = node;
    }
}

/// A pod's name, `<workload>-<index>`, formatted where shown.
pub(super) struct PodName<'a> {
    pub(super) workload: &'a str,
    pub(super) index: u64,
}

impl PodName<'_> {
    /// Appends the name to `out` (`metrics::write_pod_name`, as pods.csv writes it).
    pub(super) fn write_into(&self, out: &mut String) {
        crate::metrics::write_pod_name(out, self.workload, self.index);
    }
}

impl std::fmt::Display for PodName<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}-{}", self.workload, self.index)
    }
}

/// A pod's last error (pods.csv `last_error`, `"<reason>: <message>"`). A back-off repeats on
/// every sync of a waiting pod, so every message is kept as its parts and rendered at the end
/// (which also keeps `Pod` free of heap parts: see `pod_table`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum LastError {
    #[default]
    None,
    /// `InvalidImageName` for the image string (its tag error, `applyDefaultImageTag`).
    Invalid(RawImageId),
    /// `ErrImageNeverPull` for the image string.
    NeverPull(RawImageId),
    /// A failed pull of the image string (`ErrImagePull` and its message).
    Pull(RawImageId, PullFailure),
    /// `ImagePullBackOff` for the image string, quoting the stored previous failure.
    BackOff(RawImageId, Option<PullFailure>),
}

impl LastError {
    /// The waiting reason the kubelet shows with this error (`None` for no error).
    pub(super) fn reason(self) -> Option<KubeletReason> {
        match self {
            LastError::None => None,
            LastError::Invalid(_) => Some(KubeletReason::InvalidImageName),
            LastError::NeverPull(_) => Some(KubeletReason::ErrImageNeverPull),
            LastError::Pull(_, failure) => Some(failure.reason.kubelet_reason()),
            LastError::BackOff(..) => Some(KubeletReason::ImagePullBackOff),
        }
    }
}
