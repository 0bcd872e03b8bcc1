//! World state and the event handlers: all mutation of a run happens here.
//!
//! `Event` is the closed list of everything that can happen; `World::handle` is the one
//! dispatcher. Handlers never advance time and never schedule into the past (`schedule`
//! asserts it). Simulated failures (429, outage, auth, platform) are data recorded on pulls and
//! pods, never Rust errors.
//!
//! Files: `build` (World from Scenario), `workload` (pod creation), `scheduler` (placement),
//! `kubelet` (pod sync, EnsureImageExists, pullers, backoff), `events` (the kubelet's events,
//! when the sink keeps them), `runtime` (containerd-like pull:
//! requests, layer downloads, in-order unpack), `registry` (rate limits, outages, auth),
//! `network` (fluid max-min sharing), `gc` (image garbage collection), `invariants`.

mod build;
mod daemonset_update;
mod download_slots;
mod event;
mod events;
mod failure;
mod gc;
pub mod invariants;
mod kubelet;
mod layer_disk;
mod lazy;
mod mirror;
pub mod network;
mod node_layers;
mod p2p;
mod pod;
mod pod_table;
mod raw_image;
mod record_slots;
mod registry;
mod rollout;
mod routing;
mod runtime;
mod scheduler;
mod swarms;
mod workload;

pub use event::Event;
pub use failure::FailReason;
use pod::{container_u32, LastError, Pod, PodContainer, PodContainers, PodName, PodState};

use crate::engine::idmap::IdMap;
use crate::engine::queue::EventQueue;
use crate::engine::rng::Streams;
use crate::ids::{ImageId, LayerId, NodeId, PodId, PullId, RawImageId, RegistryId, WorkloadId};
use crate::k8s::backoff::{Backoff, Dense};
use crate::k8s::credentials::Keyring;
use crate::k8s::image_manager::{KubeletReason, PullBackoffState, PullSlots};
use crate::k8s::pull_policy::PullPolicy;
use crate::k8s::throttle::TokenBucket;
use crate::k8s::verification::PulledRecord;
use crate::metrics::summary::Totals;
use crate::metrics::{RegistryRow, RunSink, SampleRow};
use crate::scenario::Scenario;
use crate::time::{MaybeTime, SimDuration, SimTime};
use network::Network;
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::sync::Arc;

/// Options that do not change results.
#[derive(Clone, Copy, Debug, Default)]
pub struct RunOptions {
    /// Run the whole-world invariant checks after every event (tests, swarm runs).
    pub check_invariants: bool,
}

/// A failed pull attempt as the kubelet stored it (`prevPullErrMsg`), kept as parts: with the
/// pod's image string they give the exact text, rendered only where an output shows it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct PullFailure {
    reason: FailReason,
    registry: Option<RegistryId>,
}

/// A layer on one node.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum LayerState {
    /// `owner` holds the layer's ingest and waits for a node-wide download slot (containerd
    /// 2.1); no request is out yet.
    Queued {
        owner: PullId,
    },
    /// The blob request of `owner` is in flight (no bytes yet).
    Requesting {
        owner: PullId,
    },
    Downloading {
        owner: PullId,
        flow: crate::ids::FlowId,
    },
    /// Downloaded, waiting to be unpacked.
    Fetched,
    Unpacking,
    /// Unpacked: the snapshot exists.
    Present,
}

/// An image the node's runtime has (all layers present). Plain data: the pulled record, when
/// there is one, lives in `World::pulled_records` under `record`, so the node's image table
/// stays small (a slot is read on every sync) and frees without a walk.
#[derive(Clone, Copy, Debug)]
struct NodeImage {
    /// Which digest of the tag this is (0 = as declared, k = after the k-th push).
    version: u32,
    /// This copy's KubeletEnsureSecretPulledImages pulled record, if the kubelet wrote one.
    record: Option<record_slots::RecordId>,
    /// The image GC manager's record of this digest, in the node's `gc_records`.
    gc: gc::GcSlot,
}

impl NodeImage {
    /// A copy just installed on `n`, with no pulled record, and `gc` as its image GC record.
    fn new(n: &mut Node, version: u32, gc: gc::GcRecord) -> NodeImage {
        NodeImage { version, record: None, gc: n.gc_records.insert(gc) }
    }

    /// A copy leaves `n`: its pulled record and its image GC record go with it.
    fn drop_from(self, n: &mut Node, records: &mut record_slots::RecordSlots) {
        records.release(&self);
        n.gc_records.remove(self.gc);
    }
}

struct Node {
    name: String,
    pool: crate::ids::PoolId,
    joined: bool,
    join_at: SimTime,
    disk_bytes: u64,
    /// Bytes of layers present or reserved by a download in progress.
    disk_used_bytes: u64,
    /// Bytes/s; infinite = instant.
    unpack_rate_bytes_per_s: f64,
    /// Layer states by id: present ones as bits, the few in flight in a small map
    /// (`node_layers`: read several times on every layer event, so sized for the cache).
    layers: node_layers::NodeLayers,
    /// What each tag points to on the node (the newest digest pulled).
    images: IdMap<ImageId, NodeImage>,
    /// Older digests of moved tags still on disk (containerd keeps the untagged image until
    /// image GC removes it; containers may still run it).
    superseded: Vec<(ImageId, NodeImage)>,
    /// The serial or parallel puller (`k8s::image_manager::PullSlots`).
    puller: PullSlots<PullId>,
    throttle: TokenBucket,
    /// Image-pull back-off keyed by (pod, image string as in the spec), with the previous
    /// failure per key. Equal strings have equal `RawImageId`s. In an `IdMap`, one slot per
    /// key for both (`k8s::backoff::Slot`): a sync's gate probes one slot, where two B-trees
    /// (back-off, previous failure) each walked two or three cold nodes.
    backoff: PullBackoffState<(PodId, RawImageId), PullFailure, Dense>,
    /// Pull intents in flight per image (KubeletEnsureSecretPulledImages).
    pull_intents: IdMap<ImageId, u32>,
    /// Pulls running in the runtime, in start order.
    active_pulls: Vec<PullId>,
    /// Layers being unpacked (at most `World::unpack_limit`).
    unpacks_in_flight: u32,
    pods: Vec<PodId>,
    /// Pods on the node that are not terminated (scheduler capacity).
    n_live_pods: u32,
    /// The requests of the pods bound here and not terminated (`scheduler::fits`).
    requested: crate::scenario::Resources,
    /// The kubelet's image GC and eviction state, and the node's timer.
    gc: gc::NodeGc,
    /// The image GC records of the node's image copies (`NodeImage::gc`).
    gc_records: gc::GcSlots,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum PullPhase {
    Queued,
    Prelude,
    Layers,
    Done,
}

/// Aligned to a cache line and at most 128 bytes (a test checks): a pull attempt spans exactly
/// two lines (the times are `MaybeTime`s and the container index a `u32`), where 136
/// unaligned bytes touched three.
#[repr(align(64))]
struct Pull {
    /// Bumped each time the slot is reused, so events of an earlier attempt are recognised.
    generation: u32,
    /// Creation order over the run (slots are reused, ids are not in creation order).
    seq: u64,
    node: NodeId,
    pod: PodId,
    /// Index of the container (init then app) in the pod (read through `container()`).
    container_index: u32,
    image: Option<ImageId>,
    /// The digest version the manifest GET resolved the tag to (set when the runtime starts).
    version: u32,
    registry: Option<RegistryId>,
    requested: SimTime,
    /// When the puller granted a slot.
    started: MaybeTime,
    /// When the attempt ended.
    finished: MaybeTime,
    bytes: u64,
    attempt: u32,
    phase: PullPhase,
    /// The prelude's outcome, decided request by request; applied when it ends.
    prelude_failure: Option<FailReason>,
    /// Prelude requests sent so far (numbers each request's latency draw).
    prelude_requests: u16,
    /// 429 answers to this attempt's manifest GET so far.
    responses_429: u8,
    /// The pod secret whose credentials worked (`None` = anonymous or node credentials).
    credential: Option<Box<str>>,
    /// Index of this pull's lowest layer not yet present.
    next_unpack: u32,
    /// Index of the next layer to consider for download.
    scan: u32,
    /// Layers this pull is fetching: blob requests and downloads in flight, and, with a
    /// node-wide slot pool, layers it holds the ingest of while it waits for a slot.
    downloads_in_flight: u32,
    /// With a node-wide slot pool: the prelude's next (or current) GET.
    get_step: GetStep,
    /// With a node-wide slot pool: whether that GET waits for a slot or holds one.
    get_slot: SlotUse,
    /// With a node-wide slot pool: layers whose ingest another pull holds, being polled.
    polls: u16,
}

/// The GETs of a prelude under a node-wide slot pool, in the order they are sent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum GetStep {
    Manifest,
    /// The manifest GET was answered 429 (decided when sent, as the rate limit counts then).
    Throttled,
    PlatformManifest,
    Config,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum SlotUse {
    None,
    Waiting,
    Holding,
}

/// What waits for a node-wide download slot.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum SlotWant {
    /// The pull's next prelude GET (`Pull::get_step`).
    Get,
    /// The layer at this index of the pull's image (its ingest is held: `LayerState::Queued`).
    Layer(u32),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct SlotWaiter {
    pull: PullId,
    want: SlotWant,
}

/// A node's pool of download slots shared by every pull (containerd 2.1's `downloadLimiter`, a
/// FIFO semaphore): the slots held, and who waits, in arrival order.
#[derive(Clone, Debug, Default)]
struct NodeSlots {
    busy: u32,
    queue: VecDeque<SlotWaiter>,
}

impl Pull {
    fn container(&self) -> usize {
        self.container_index as usize
    }
}

struct Image {
    /// Bottom first (the digest as declared: version 0).
    layers: Vec<LayerId>,
    size_bytes: u64,
    /// Later digests of the tag (`image.pushes`): version k is `pushes[k - 1]`.
    pushes: Vec<ImageVersion>,
}

struct ImageVersion {
    at: SimTime,
    layers: Vec<LayerId>,
    size_bytes: u64,
}

/// A credential candidate in a keyring: the scenario secret that holds it, and whether it came
/// from the pod's pull secrets (tracked by KubeletEnsureSecretPulledImages) or the node.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Credential {
    secret: String,
    from_pod: bool,
}

/// Per-registry state: counters and rate-limit windows.
struct RegistryState {
    host: String,
    per_connection_bytes_per_s: f64,
    /// The cap of a download of a blob the CDN edge does not hold yet (`per_connection_cold`),
    /// and which layers it holds: those of which a download from this registry has completed.
    /// `None` when the registry has no cold rate.
    cold: Option<(f64, Vec<bool>)>,
    row: RegistryRow,
    /// Sliding windows of counted manifest GETs, per scope key (node index, or 0).
    windows: BTreeMap<u32, VecDeque<SimTime>>,
}

/// The labels of the streams drawn on every pod, pull, request or sync.
struct HotLabels {
    image_pick: crate::engine::rng::Label,
    pod_worker_jitter: crate::engine::rng::Label,
    container_start: crate::engine::rng::Label,
    init_run_for: crate::engine::rng::Label,
    pull_overhead: crate::engine::rng::Label,
    scheduling_latency: crate::engine::rng::Label,
    ready_after: crate::engine::rng::Label,
    latency: crate::engine::rng::Label,
    registry_failure: crate::engine::rng::Label,
}

impl HotLabels {
    fn new(streams: &Streams) -> HotLabels {
        HotLabels {
            image_pick: streams.label("image-pick"),
            pod_worker_jitter: streams.label("pod-worker-jitter"),
            container_start: streams.label("container-start"),
            init_run_for: streams.label("init-run-for"),
            pull_overhead: streams.label("pull-overhead"),
            scheduling_latency: streams.label("scheduling-latency"),
            ready_after: streams.label("ready-after"),
            latency: streams.label("latency"),
            registry_failure: streams.label("registry-failure"),
        }
    }
}

/// The state of one run.
pub struct World<'a> {
    scn: &'a Scenario,
    sink: &'a mut dyn RunSink,
    opts: RunOptions,
    now: SimTime,
    queue: EventQueue<Event>,
    streams: Streams,
    nodes: Vec<Node>,
    registries: Vec<RegistryState>,
    images: Vec<Image>,
    /// Compressed size of every layer: what a download moves.
    layer_size_bytes: Vec<u64>,
    /// Unpacked size of every layer: the snapshot it writes (`layer_disk`).
    layer_unpacked_bytes: Vec<u64>,
    pods: pod_table::PodTable,
    /// Pull attempts in flight (and free slots, phase `Done`). A finished attempt's row is
    /// streamed and its slot reused, so this holds the live attempts only: a long run with
    /// hundreds of thousands of retries keeps a small, cache-friendly table.
    pulls: Vec<Pull>,
    /// Free slots of `pulls`, reused last-in first-out.
    free_pulls: Vec<PullId>,
    /// Pull attempts created so far (`Pull::seq`).
    pulls_created: u64,
    net: Network,
    net_generation: u64,
    net_wake_at: Option<SimTime>,
    workloads: Vec<workload::WorkloadState>,
    /// Pods waiting for a node, one FIFO per workload.
    unscheduled: Vec<VecDeque<PodId>>,
    sched: scheduler::Index,
    /// Pod pull secrets per workload as a keyring (`MakeDockerKeyring`'s pod part): each
    /// secret holds an entry for every registry that accepts it.
    pod_keyrings: Vec<Keyring<Credential>>,
    /// Node docker-config credentials per pool.
    node_keyrings: Vec<Keyring<Credential>>,
    /// Per pool: `preloadedImagesVerificationAllowlist`, parsed once.
    allowlists: Vec<crate::k8s::verification::Allowlist>,
    /// Stream labels of the per-event draws, prepared once (`Streams::label`).
    labels: HotLabels,
    /// KubeletEnsureSecretPulledImages pulled records of the image copies (in a node's
    /// `images` or `superseded`) that the kubelet pulled, each named by its copy's
    /// `NodeImage::record` (a preloaded image has none); the record goes when the copy does.
    /// Empty unless the feature gate is on.
    ///
    /// Records are shared and copied on write: most say only "pulled without pod credentials"
    /// under one name, the same for every node that pulled that image string, so they all
    /// point to one `node_accessible_records` value (a large run writes 10^5 records; each was
    /// a heap allocation of its own).
    pulled_records: record_slots::RecordSlots,
    /// Per raw image (by `RawImageId`): the record of a pull without pod credentials, made on
    /// first use and shared by every record that says just that.
    node_accessible_records: Vec<Option<Arc<PulledRecord>>>,
    /// Every image string pods write, parsed once.
    raw_images: raw_image::RawImages,
    /// Per declared image: the id of its `raw_ref` (image-set members).
    image_raw: Vec<RawImageId>,
    /// Download slots shared by the pulls of a node (`RuntimeSpec::node_download_slots`), 0 when
    /// each pull has its own limit.
    node_slot_limit: u32,
    /// Per node, with a node-wide slot pool (empty otherwise).
    node_slots: Vec<NodeSlots>,
    /// Reused buffers for snapshots of a node's active pulls (`runtime::kick_node`).
    pull_snapshots: Vec<Vec<PullId>>,
    /// Reused buffer for the pod name of a streamed pull row.
    name_scratch: String,
    /// The sink keeps pull rows (`RunSink::wants_pull_rows`); otherwise none is built.
    pull_rows_wanted: bool,
    /// The sink keeps kubelet events (`RunSink::wants_events`); otherwise none is formatted.
    events_wanted: bool,
    /// Reused buffer for the message of a kubelet event.
    event_scratch: String,
    /// Reused buffers of a network wake-up: the flows completed, the nodes they were on.
    done_scratch: Vec<network::FlowDone>,
    touched_scratch: Vec<NodeId>,
    /// Every pool, in order: the eligible pools of a workload without a node selector.
    all_pools: Vec<crate::ids::PoolId>,
    /// Nodes that have joined the cluster (ImageLocality's total node count).
    nodes_joined: u32,
    /// Nodes that have each image (ImageLocality's spread factor).
    image_node_count: Vec<u32>,
    totals: Totals,
    /// `totals` per workload (by `WorkloadId`): a pull attempt counts for its pod's workload.
    workload_totals: Vec<Totals>,
    /// Failed pull attempts per `FailReason` (indexed by `reason as usize`).
    failures_by_reason: [u64; FailReason::ALL.len()],
    pulls_in_flight: u64,
    /// Exact peaks of `pulls_in_flight` and of the total registry egress.
    peak_pulls: crate::metrics::peaks::LazyMax<u64>,
    peak_egress: crate::metrics::peaks::LazyMax<f64>,
    pulls_queued: u64,
    pods_running: u64,
    pods_live: u64,
    peak_flows: u64,
    pub gc_images_removed: u64,
    pub gc_bytes_freed: u64,
    /// `GarbageCollect` runs that recorded `FreeDiskSpaceFailed`, all nodes.
    pub gc_free_space_failed: u64,
    /// The nodes' timers (`Event::GcTick`), by time then push order: popped before the main
    /// queue's events of the same instant, so a tick sees exactly the changes before it. Apart
    /// from the main queue because a timer may be set sooner than an instant the main queue
    /// has already settled on (`EventQueue::peek_time`). At most one live timer per node.
    timers: BTreeMap<(SimTime, u64), Event>,
    timers_pushed: u64,
    /// Lazy pulling (`lazy`): empty unless some image is lazy, and then every hook is skipped
    /// by one `is_lazy_run` check.
    lazy: lazy::LazyState,
    /// `[[link]]`: the shared links on each download's way (`routing`).
    routing: routing::Routing,
    /// `[p2p]`: peer-to-peer distribution (`p2p`).
    p2p: p2p::P2p,
    /// Mirrors and pull-through caches (`mirror`): off unless a registry has either, and then
    /// every hook is skipped by one flag.
    mirrors: mirror::MirrorState,
    /// The earliest timer's time, `SimTime::MAX` when none: the dispatcher's check for a timer
    /// is then one comparison (most runs never set one).
    next_timer: SimTime,
}

impl<'a> World<'a> {
    pub fn now(&self) -> SimTime {
        self.now
    }

    /// Schedules an event; never in the past.
    fn schedule(&mut self, at: SimTime, ev: Event) {
        assert!(at >= self.now, "event {ev:?} scheduled at {at} before now {}", self.now);
        self.queue.push(at, ev);
    }

    fn schedule_in(&mut self, d: SimDuration, ev: Event) {
        let at = self.now.plus(d);
        self.schedule(at, ev);
    }

    /// Sets a timer (`timers`); never in the past.
    fn schedule_timer(&mut self, at: SimTime, ev: Event) {
        assert!(at >= self.now, "timer {ev:?} set at {at} before now {}", self.now);
        assert!(at < SimTime::MAX, "timer {ev:?} set for never");
        self.timers.insert((at, self.timers_pushed), ev);
        self.timers_pushed += 1;
        self.next_timer = self.next_timer.min(at);
    }

    /// The next event: the earliest timer if it is not later than the main queue's next event.
    pub fn pop_event(&mut self) -> Option<(SimTime, Event)> {
        if self.next_timer != SimTime::MAX && self.queue.peek_time().is_none_or(|q| self.next_timer <= q) {
            let ((t, _), ev) = self.timers.pop_first().expect("a timer is set");
            self.next_timer = self.timers.first_key_value().map_or(SimTime::MAX, |(&(t, _), _)| t);
            return Some((t, ev));
        }
        self.queue.pop()
    }

    pub fn peek_time(&mut self) -> Option<SimTime> {
        let q = self.queue.peek_time();
        if self.next_timer == SimTime::MAX {
            return q;
        }
        Some(q.map_or(self.next_timer, |q| q.min(self.next_timer)))
    }

    /// Starts loading the memory the next event will most likely read first (its pod or pull
    /// slot): see `engine::prefetch`. No effect on results.
    pub fn prefetch_next(&self) {
        use crate::engine::prefetch::prefetch_read;
        match self.queue.peek_next_hint() {
            Some(
                Event::PodSync { pod } | Event::ContainerStarted { pod, .. } | Event::InitDone { pod, .. },
            ) => {
                if let Some(p) = self.pods.get(pod.idx()) {
                    prefetch_read(p);
                }
            }
            Some(
                Event::PullStart { pull }
                | Event::PullPrelude { pull, .. }
                | Event::PullManifest { pull, .. }
                | Event::BlobRequest { pull, .. },
            ) => {
                if let Some(p) = self.pulls.get(pull.idx()) {
                    prefetch_read(p);
                }
            }
            Some(Event::UnpackDone { node, .. }) => {
                if let Some(n) = self.nodes.get(node.idx()) {
                    prefetch_read(n);
                }
            }
            _ => {}
        }
    }

    /// True when an event is a network wake-up, a GC timer or a lazy pull's prefetch timeout
    /// that a later change made stale.
    pub fn is_stale(&self, ev: &Event) -> bool {
        match ev {
            Event::NetworkWake { generation } => *generation != self.net_generation,
            Event::GcTick { node, generation } => !self.nodes[node.idx()].gc.is_current_timer(*generation),
            // A prefetch timeout after its pull was ready or ended: it does not count as the
            // run's last event.
            Event::LazyTimeout { pull, generation } => !self.lazy_timeout_live(*pull, *generation),
            _ => false,
        }
    }

    /// The dispatcher: the only `match` on `Event`.
    pub fn handle(&mut self, at: SimTime, ev: Event) {
        assert!(at >= self.now, "time went backwards: {at} < {}", self.now);
        self.now = at;
        match ev {
            Event::NodeJoin { node } => self.on_node_join(node),
            Event::WorkloadStart { workload } => self.on_workload_start(workload),
            Event::PoissonArrival { workload } => self.on_poisson_arrival(workload),
            Event::ReplayArrival { workload } => self.on_replay_arrival(workload),
            Event::PodSync { pod } => self.on_pod_sync(pod),
            Event::PodAvailable { pod } => self.on_pod_available(pod),
            Event::ContainerStarted { pod, container } => self.on_container_started(pod, container),
            Event::InitDone { pod, container } => self.on_init_done(pod, container),
            Event::PullStart { pull } => self.on_pull_start(pull),
            Event::PullPrelude { pull, generation } => {
                if self.pulls[pull.idx()].generation == generation {
                    self.on_pull_prelude(pull)
                }
            }
            Event::LazyTimeout { pull, generation } => {
                if self.pulls[pull.idx()].generation == generation {
                    self.on_lazy_timeout(pull)
                }
            }
            Event::PullManifest { pull, generation } => {
                if self.pulls[pull.idx()].generation == generation {
                    self.on_pull_manifest(pull)
                }
            }
            Event::BlobRequest { pull, layer, generation } => {
                if self.pulls[pull.idx()].generation == generation {
                    self.on_blob_request(pull, layer)
                }
            }
            Event::PreludeGetDone { pull, generation } => {
                if self.pulls[pull.idx()].generation == generation {
                    self.on_prelude_get_done(pull)
                }
            }
            Event::LayerPoll { pull, generation, index, n } => {
                if self.pulls[pull.idx()].generation == generation {
                    self.on_layer_poll(pull, index, n)
                }
            }
            Event::NetworkWake { generation } => {
                if generation == self.net_generation {
                    self.on_network_wake()
                }
            }
            Event::UnpackDone { node, layer } => self.on_unpack_done(node, layer),
            Event::OutageStart { registry } => self.on_outage_start(registry),
            Event::GcTick { node, generation } => self.on_gc_tick(node, generation),
            Event::RolloutStart { workload } => self.on_rollout_start(workload),
            Event::TagPush { image: _ } => {}
        }
        if self.opts.check_invariants {
            if let Err(e) = self.check_invariants() {
                panic!("invariant violated at {}: {e}", self.now);
            }
        }
    }

    /// After any network change: make sure exactly one live wake-up is scheduled for the
    /// earliest completion.
    fn sync_network_wake(&mut self) {
        let next = self.net.next_completion();
        if next != self.net_wake_at {
            self.net_generation += 1;
            self.net_wake_at = next;
            if let Some(t) = next {
                let generation = self.net_generation;
                self.schedule(t, Event::NetworkWake { generation });
            }
        }
        self.peak_flows = self.peak_flows.max(self.net.n_active() as u64);
        // Rates change only here (after a batch of flow changes), and hold until the next call.
        let egress = self.total_egress_bytes_per_s();
        self.peak_egress.set(self.now, egress);
    }

    fn total_egress_bytes_per_s(&self) -> f64 {
        (0..self.registries.len()).map(|r| self.net.registry_egress_bytes_per_s(r)).sum()
    }

    /// The run's exact peaks (`runs.csv`), egress rounded like `timeseries.csv`.
    pub fn peaks(&self) -> crate::metrics::peaks::Peaks {
        crate::metrics::peaks::Peaks {
            pulls_in_flight: self.peak_pulls.peak(),
            registry_egress_bytes_per_s: self.peak_egress.peak().round(),
        }
    }

    /// `pod`'s name, `<workload>-<index>`.
    fn pod_name(&self, pod: PodId) -> PodName<'_> {
        self.pod_name_of(&self.pods[pod.idx()])
    }

    fn pod_name_of<'s>(&'s self, p: &Pod) -> PodName<'s> {
        PodName { workload: &self.scn.workloads[p.workload.idx()].name, index: u64::from(p.index) }
    }

    /// The current time-series sample.
    pub fn sample(&self, t: SimTime) -> SampleRow {
        let egress = self.total_egress_bytes_per_s();
        SampleRow {
            t_s: t,
            pulls_in_flight: self.pulls_in_flight,
            pulls_queued: self.pulls_queued,
            pods_running: self.pods_running,
            pods_waiting: self.pods_live - self.pods_running,
            registry_egress_bytes_per_s: egress,
        }
    }

    pub fn emit_sample(&mut self, t: SimTime) {
        let row = self.sample(t);
        self.sink.sample(&row);
    }

    pub fn scenario(&self) -> &Scenario {
        self.scn
    }

    /// The layers of digest `version` of `img`, bottom first.
    fn version_layers(&self, img: ImageId, version: u32) -> &[LayerId] {
        let im = &self.images[img.idx()];
        match version {
            0 => &im.layers,
            v => &im.pushes[v as usize - 1].layers,
        }
    }

    fn version_size_bytes(&self, img: ImageId, version: u32) -> u64 {
        let im = &self.images[img.idx()];
        match version {
            0 => im.size_bytes,
            v => im.pushes[v as usize - 1].size_bytes,
        }
    }

    /// The digest the tag of `img` points to at `t` (pushes at or before `t` count).
    fn current_version(&self, img: ImageId, t: SimTime) -> u32 {
        self.images[img.idx()].pushes.iter().filter(|p| p.at <= t).count() as u32
    }

    /// Whether `node` holds digest `version` of `img` (tagged or superseded): its manifest and
    /// config are in the content store.
    fn node_has_digest(&self, node: NodeId, img: ImageId, version: u32) -> bool {
        let n = &self.nodes[node.idx()];
        n.images.get(&img).is_some_and(|ni| ni.version == version)
            || n.superseded.iter().any(|(i, o)| *i == img && o.version == version)
    }

    /// Whether the pod runs a container whose image is an older digest than the one its tag
    /// points to now (`IfNotPresent` kept a moved tag's old digest).
    fn runs_stale_digest(&self, pod: &Pod) -> bool {
        pod.state == PodState::Running
            && pod.containers[pod.n_init as usize..]
                .iter()
                .any(|c| c.image.is_some_and(|img| c.version < self.current_version(img, self.now)))
    }
}

#[cfg(test)]
mod tests;
