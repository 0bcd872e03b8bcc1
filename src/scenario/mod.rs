//! The validated, immutable input of one run.
//!
//! Loading is two-stage: `raw` mirrors the TOML (serde, unknown keys rejected, units still
//! strings), `validate` resolves units, interns names to ids, compiles distributions and checks
//! cross-references. `Scenario` is what the simulator consumes; it holds no TOML types.
//! Every quantity that may be random is a `Dist` in its base unit (bytes, nanoseconds,
//! bytes per second, per second); the world builder draws them from named streams.
//!
//! Around the two stages: `suggest` words unknown keys and values (the accepted name they most
//! likely stand for), `foreign` names a Kubernetes document given instead of a scenario, and
//! `lint` finds likely mistakes in a valid scenario, which `validate` and `run` print as
//! warnings.

use crate::engine::dist::Dist;
use crate::ids::{ImageId, ImageSetId, NodeId, PoolId, RegistryId};
use crate::k8s::config::{KubeletConfig, KubeletConfigInput};
use crate::k8s::pull_policy::PullPolicy;
use crate::time::SimDuration;

pub mod foreign;
pub mod limits;
pub mod lint;
pub mod load;
pub mod locate;
pub mod overrides;
pub mod raw;
pub mod slo;
pub mod suggest;
pub mod validate;

#[cfg(test)]
mod tests;

pub use lint::{lint, Warning};
pub use load::{load, load_grid_unchecked, Diagnostic, Override, ScenarioError};
pub use slo::{SloOp, SloSpec};

#[derive(Clone, Debug)]
pub struct Scenario {
    /// `[simulation] name`: names the results folder.
    pub name: String,
    pub seed: u64,
    /// Horizon (default 24h).
    pub until: SimDuration,
    /// Time-series resolution (default 1s).
    pub sample_every: SimDuration,
    /// The date of simulated time 0 (extension `start_time`, default 2025-01-01T00:00:00Z):
    /// only the dates of `events.json` read it.
    pub start_time: crate::calendar::UnixTime,
    /// The `[kubelet]` table as written (pools merge their overrides over it).
    pub kubelet: KubeletConfigInput,
    pub runtime: RuntimeSpec,
    pub node_pools: Vec<NodePoolSpec>,
    pub registries: Vec<RegistrySpec>,
    /// Every image the run knows: declared `[[image]]`s first, then the members of each image
    /// set (contiguous per set), then images named only in `preloaded` lists.
    pub images: Vec<ImageSpec>,
    pub image_sets: Vec<ImageSetSpec>,
    pub workloads: Vec<WorkloadSpec>,
    pub scheduler: SchedulerPolicy,
    pub sweep: Option<SweepSpec>,
    /// `[[slo]]` tables in file order: the targets `run`, `sweep`, `compare` and `plan` judge.
    pub slos: Vec<SloSpec>,
    /// `[[prepull]]` tables in file order, enabled or not. Each enabled one also has a hidden
    /// DaemonSet in `workloads`, after the file's own workloads (`WorkloadSpec::prepull`).
    pub prepulls: Vec<PrepullSpec>,
    /// `[[link]]` tables in file order (extension): links shared by some pools' traffic.
    pub links: Vec<LinkSpec>,
    /// `[p2p]` (extension): peer-to-peer distribution, when enabled.
    pub p2p: Option<P2pSpec>,
    /// What validation accepted as written although Kubernetes would refuse it (a rollout count
    /// written as the string `"0"`); `lint` reports these first.
    pub notes: Vec<Warning>,
}

#[derive(Clone, Debug)]
pub struct RuntimeSpec {
    /// Which container runtime's pull behaviour (`runtime.profile`).
    pub profile: RuntimeProfile,
    /// Layer downloads of one pull in flight at once (the profile's default: containerd 3,
    /// CRI-O 6).
    pub max_concurrent_downloads: u32,
    /// Unpack speed per node, bytes/s, drawn once per node; infinite = instant.
    pub unpack_rate_bytes_per_s: Dist,
    /// From image present to container started, ns, drawn per container start.
    pub container_start_ns: Dist,
    /// Extra runtime bookkeeping per pull attempt, ns, drawn per pull (default 0).
    pub pull_overhead_ns: Dist,
    /// Unpacked over compressed size of a layer that gives no `uncompressed_size` (default 1).
    pub uncompressed_ratio: f64,
    /// Added to every layer's unpack (default 0).
    pub unpack_layer_overhead: SimDuration,
    /// containerd's `discard_unpacked_layers`: a layer's compressed blob leaves the content
    /// store once the layer is unpacked (default false, containerd's default).
    pub discard_unpacked_layers: bool,
    /// Layers a node unpacks at once (containerd 2.2's `max_concurrent_unpacks`, default 1):
    /// 1 = one at a time, each pull's in layer order; more = any downloaded layers, in parallel.
    pub max_concurrent_unpacks: u32,
}

impl RuntimeSpec {
    /// Download slots shared by every pull on a node, or `None` when each pull has its own
    /// `max_concurrent_downloads` (`RuntimeProfile::node_download_slots`).
    pub fn node_download_slots(&self) -> Option<u32> {
        self.profile.node_download_slots(self.max_concurrent_downloads, self.discard_unpacked_layers)
    }
}

/// The container runtime whose pull path the model follows (`runtime.profile`). A profile sets
/// defaults (`max_concurrent_downloads`) and the requests a pull sends; keys given explicitly
/// override its defaults.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RuntimeProfile {
    /// containerd 1.7 and 2.0 (the CRI plugin's `client.Pull`): a HEAD resolves the tag, nothing
    /// present is fetched again, 3 downloads per pull, a 429 retried at once.
    Containerd17,
    /// containerd 2.1 and later (the CRI plugin pulls through the transfer service): as 1.7, but
    /// every GET of every pull on the node shares one FIFO pool of `max_concurrent_downloads`
    /// slots, and a layer another pull is fetching is waited for by polling, holding no slot.
    /// With `max_concurrent_downloads` other than 3 containerd falls back to the 1.7 path.
    Containerd21,
    /// CRI-O (containers/image): the manifest is fetched with a GET on every pull, 6 downloads
    /// per pull, a 429 retried after 2, 4, 8 and 16 s.
    CriO,
}

impl RuntimeProfile {
    /// The accepted names, first the default.
    pub const NAMES: [&'static str; 4] = ["containerd-1.7", "containerd-2.0", "containerd-2.1", "cri-o"];

    pub fn parse(name: &str) -> Option<RuntimeProfile> {
        match name {
            "containerd-1.7" | "containerd-2.0" => Some(RuntimeProfile::Containerd17),
            "containerd-2.1" => Some(RuntimeProfile::Containerd21),
            "cri-o" => Some(RuntimeProfile::CriO),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            RuntimeProfile::Containerd17 => "containerd-1.7",
            RuntimeProfile::Containerd21 => "containerd-2.1",
            RuntimeProfile::CriO => "cri-o",
        }
    }

    /// The default of `max_concurrent_downloads`: containerd's 3 (a per-pull limiter in
    /// 1.7/2.0, `pull.go` `unpack.WithLimiter`; the node-wide `downloadLimiter` in 2.1,
    /// `internal/cri/server/images/service.go`); containers/image's `maxParallelDownloads`
    /// (`copy/copy.go`).
    pub fn default_max_concurrent_downloads(self) -> u32 {
        match self {
            RuntimeProfile::Containerd17 | RuntimeProfile::Containerd21 => 3,
            RuntimeProfile::CriO => 6,
        }
    }

    /// Whether the tag is resolved with a HEAD and a digest the node has is not fetched again
    /// (containerd `remotes/docker/resolver.go` `Resolve`), rather than the manifest fetched
    /// with a GET on every pull (CRI-O: every pull runs containers/image's full copy,
    /// `docker/docker_client.go`).
    /// Whether a layer is decompressed while it downloads, so that no download of it outruns
    /// the node's decompression: containers/image computes each layer's DiffID from the
    /// stream as it arrives (`copy/single.go` `copyLayer` with `diffIDComputationGoroutine`),
    /// and CRI-O then applies the layer again when it commits it; containerd writes the
    /// compressed blob and decompresses only when unpacking.
    pub fn decompresses_while_downloading(self) -> bool {
        self == RuntimeProfile::CriO
    }

    pub fn resolves_with_head(self) -> bool {
        self != RuntimeProfile::CriO
    }

    /// The node-wide pool of download slots, when the profile has one with this
    /// `max_concurrent_downloads`: containerd 2.1's CRI pulls through the transfer service,
    /// whose one FIFO semaphore (`internal/cri/server/images/service.go` `downloadLimiter`,
    /// taken in `core/remotes/docker/fetcher.go` for every GET; a HEAD takes none) serves every
    /// pull on the node. containerd uses the transfer service only while the CRI image config
    /// keeps the defaults it cannot express, `max_concurrent_downloads = 3` among them; any
    /// other value falls back to the 1.7 path (`client.Pull`, a limiter per pull), so `None`;
    /// so does `discard_unpacked_layers` (`internal/cri/server/images/image_pull.go`, the
    /// checks before `transfer`).
    pub fn node_download_slots(
        self,
        max_concurrent_downloads: u32,
        discard_unpacked_layers: bool,
    ) -> Option<u32> {
        (self == RuntimeProfile::Containerd21
            && !discard_unpacked_layers
            && max_concurrent_downloads == self.default_max_concurrent_downloads())
        .then_some(max_concurrent_downloads)
    }

    /// With a node-wide pool: the sleep before the `n`-th (0-based) re-check of a layer whose
    /// ingest another pull holds. containerd's `content.OpenWriter` sleeps a random 0..`retry`
    /// ms, `retry` starting at 16 and doubling up to 2,048 (`core/content/helpers.go`); the model
    /// sleeps the whole `retry`, deterministically (the upper bound: a waiter sees the blob at
    /// most this late, on average about half as late).
    pub fn ingest_poll_delay(n: u8) -> crate::time::SimDuration {
        crate::time::SimDuration::from_millis((16u64 << n.min(7)).min(2048))
    }

    /// After the `n`-th 429 answer (1-based) to a manifest GET: the wait before the GET is sent
    /// again, or `None` when the pull fails. containerd retries at once, up to 6 answers in all
    /// (`retryRequest`, unchanged in 2.1); containers/image backs off 2, 4, 8, 16 s over 5
    /// attempts.
    pub fn retry_after_429(self, n: u8) -> Option<crate::time::SimDuration> {
        match self {
            RuntimeProfile::Containerd17 | RuntimeProfile::Containerd21 => {
                (n < 6).then_some(crate::time::SimDuration::ZERO)
            }
            RuntimeProfile::CriO => (n < 5).then(|| crate::time::SimDuration::from_secs(1u64 << n)),
        }
    }
}

#[derive(Clone, Debug)]
pub struct NodePoolSpec {
    pub name: String,
    pub count: u32,
    pub arch: String,
    /// Node ingress, bytes/s, drawn once per node; infinite = unlimited.
    pub bandwidth_bytes_per_s: Dist,
    /// Image storage, bytes, drawn once per node.
    pub disk_bytes: Dist,
    /// Images present on every node of the pool when it joins.
    pub preloaded: Vec<ImageId>,
    pub credentials: Vec<NodeCredential>,
    /// First node joins at `join_at`; node k at `join_at + k * join_every`.
    pub join_at: SimDuration,
    pub join_every: SimDuration,
    /// From a joining node's start to Ready, ns, drawn per node (`join.boot`, default 0).
    pub join_boot_ns: Dist,
    /// The pool's effective kubelet settings (`[kubelet]` merged with the pool override).
    pub kubelet: KubeletConfig,
    /// Pods a node accepts (kubelet maxPods, default 110).
    pub max_pods: u32,
    /// RuntimeClass handlers the pool's nodes offer; `None` = every class.
    pub runtime_classes: Option<Vec<String>>,
    /// A node's allocatable CPU and memory (`allocatable`); `u64::MAX` where not given.
    pub allocatable: Resources,
}

/// A node-level docker-config entry: `match` is a keyring key pattern.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NodeCredential {
    pub match_pattern: String,
    pub secret: String,
}

#[derive(Clone, Debug)]
pub struct RegistrySpec {
    /// Matched against the normalized domain of image references.
    pub host: String,
    /// Total egress, bytes/s (infinite = unlimited), drawn once per run.
    pub bandwidth_bytes_per_s: Dist,
    /// Cap for one blob download, bytes/s, drawn once per run.
    pub per_connection_bytes_per_s: Dist,
    /// Extension: the cap of a download of a blob no earlier download from this registry has
    /// completed (a CDN edge that has not cached it fetches it from the origin), bytes/s,
    /// drawn once per run; `None`: every download gets `per_connection`.
    pub per_connection_cold_bytes_per_s: Option<Dist>,
    /// Round trip per request, ns, drawn per request.
    pub latency_ns: Dist,
    /// Probability that one pull attempt fails transiently.
    pub failure_rate: f64,
    /// Windows [from, to) in which every request fails.
    pub outages: Vec<(SimDuration, SimDuration)>,
    pub rate_limit: Option<RateLimit>,
    pub auth_required: bool,
    /// Secrets this registry accepts.
    pub accepts: Vec<String>,
    /// Extension: containerd `hosts.toml` mirror hosts tried in order before this registry.
    pub mirrors: Vec<MirrorHost>,
    /// Extension: this registry is a pull-through cache of another.
    pub pull_through: Option<PullThrough>,
}

/// One `[host."..."]` of containerd's `hosts.toml` (`remotes/docker/config/hosts.go`): another
/// registry of the scenario, tried for what its capabilities allow.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MirrorHost {
    pub registry: RegistryId,
    /// `resolve`: the tag is resolved (HEAD, manifest GETs) here.
    pub resolve: bool,
    /// `pull`: blobs are fetched from here.
    pub pull: bool,
    /// What a host that does not answer (in an outage) costs before the next is tried.
    pub dial_timeout: SimDuration,
}

/// A registry that fetches what it does not hold from `upstream` and keeps it (Harbor proxy
/// project, distribution's `registry/proxy`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PullThrough {
    pub upstream: RegistryId,
    /// Blob storage, bytes (`u64::MAX` = unlimited); least recently used blobs are evicted.
    pub capacity_bytes: u64,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RateLimit {
    /// Manifest GETs allowed per window.
    pub pulls: u64,
    /// Sliding window length.
    pub per: SimDuration,
    pub scope: RateLimitScope,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RateLimitScope {
    /// One budget per node (per source IP, like Docker Hub's anonymous limit).
    Node,
    /// One budget for the whole registry.
    Registry,
}

#[derive(Clone, Debug)]
pub struct ImageSpec {
    /// The reference as written in the scenario.
    pub raw_ref: String,
    /// `ParseDockerRef` string: the identity used to match container images to this image.
    pub normalized: String,
    /// `ParseImageName(..).repo`, the key for credential lookups.
    pub repo: String,
    /// Normalized domain.
    pub domain: String,
    /// The registry serving `domain`; `None` only for preloaded-only images.
    pub registry: Option<RegistryId>,
    pub layers: ImageLayers,
    /// Architectures with a manifest; `None` = every architecture.
    pub platforms: Option<Vec<String>>,
    /// Extension: later digests of the tag, in time order (version k+1 from `pushes[k].at`).
    pub pushes: Vec<PushSpec>,
    /// Extension: pulled lazily (`model/lazy.rs`); `None` = an ordinary pull.
    pub lazy: Option<LazySpec>,
}

/// Extension `image.lazy`: the container starts once the manifest and config are fetched and
/// `prefetch` of each layer's bytes has arrived (or `prefetch_timeout` after the layer phase
/// began); the rest arrives in the background.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LazySpec {
    /// The share of each layer's bytes fetched before the container may start, in [0, 1].
    pub prefetch: f64,
    /// From the start of the layer phase until the container may start anyway.
    pub prefetch_timeout: SimDuration,
    /// Added to the Ready delay of a pod whose container started before its image was whole.
    pub read_penalty: SimDuration,
}

/// A new digest pushed for a tag (extension `image.pushes`): from `at` on, a pull of the tag
/// gets these layers. Layers with the same `id` as earlier ones are the same blobs.
#[derive(Clone, Debug)]
pub struct PushSpec {
    pub at: SimDuration,
    pub layers: Vec<LayerSpec>,
}

#[derive(Clone, Debug)]
pub enum ImageLayers {
    /// `layers = [...]`: one entry per layer, bottom first.
    Explicit(Vec<LayerSpec>),
    /// `size` + `layer_count` (+ shared `base` layers below them, bottom first): the size is
    /// drawn once per image and split evenly over `layer_count` layers unique to the image.
    Drawn { size_bytes: Dist, layer_count: u32, base: Vec<LayerSpec> },
    /// Named only in a `preloaded` list: no layers known, takes no disk.
    Unknown,
}

#[derive(Clone, Debug)]
pub struct LayerSpec {
    /// Shared blob id (`id = ...`); `None` = unique to its image.
    pub shared_id: Option<String>,
    /// Compressed: what is downloaded, and what the runtime reports as the image's size.
    pub size_bytes: Dist,
    /// Unpacked (the snapshot on disk); `None` = `size_bytes` x `runtime.uncompressed_ratio`.
    pub uncompressed_bytes: Option<Dist>,
}

#[derive(Clone, Debug)]
pub struct ImageSetSpec {
    pub name: String,
    pub count: u32,
    pub ref_pattern: String,
    /// Member n is `ImageId(first_image.0 + n)`.
    pub first_image: ImageId,
}

#[derive(Clone, Debug)]
pub struct WorkloadSpec {
    pub name: String,
    pub kind: WorkloadKind,
    pub start: SimDuration,
    pub image_pull_secrets: Vec<String>,
    pub runtime_class: Option<String>,
    /// Node selector by pool; `None` = any pool.
    pub node_pools: Option<Vec<PoolId>>,
    /// From a pod's creation until its node's kubelet starts it (the controller's, the
    /// scheduler's and the API's latency), ns, drawn per pod (default 0).
    pub scheduling_latency_ns: Dist,
    /// From a pod Running (every container started) until Ready, ns, drawn per pod (a
    /// readiness probe's delay; default 0).
    pub ready_after_ns: Dist,
    /// A Deployment's `minReadySeconds`: a pod counts as available once Ready that long
    /// (default 0).
    pub min_ready: SimDuration,
    /// What a pod requests (`requests`): the scheduler places it only where this fits.
    pub requests: Resources,
    pub pod: PodTemplate,
    /// The index in `Scenario::prepulls` of the `[[prepull]]` this DaemonSet was built from;
    /// `None` for a `[[workload]]` of the file.
    pub prepull: Option<usize>,
}

/// The name of the DaemonSet a `[[prepull]]` runs as (`prepull:<name>`): its pods and its
/// per-workload results carry it, so they never read as an application's. Validation refuses a
/// `[[workload]]` of the same name.
pub fn prepull_workload_name(prepull: &str) -> String {
    format!("prepull:{prepull}")
}

/// A `[[link]]` table (extension): every download to a node of `node_pools` from a registry
/// of `registries` crosses this link as well as the node's and the registry's.
#[derive(Clone, Debug)]
pub struct LinkSpec {
    pub name: String,
    pub bandwidth_bytes_per_s: f64,
    /// `None` = every pool.
    pub node_pools: Option<Vec<PoolId>>,
    /// `None` = every registry.
    pub registries: Option<Vec<RegistryId>>,
    /// A NAT gateway: the nodes behind it reach these registries from one public address, so a
    /// registry's per-node (`scope = "node"`) rate limit gives them one budget.
    pub shared_address: bool,
}

impl LinkSpec {
    /// Whether downloads to a node of `pool` from `registry` cross this link.
    pub fn carries(&self, pool: PoolId, registry: RegistryId) -> bool {
        self.node_pools.as_ref().is_none_or(|p| p.contains(&pool))
            && self.registries.as_ref().is_none_or(|r| r.contains(&registry))
    }
}

/// How peers share blobs (`[p2p] mode`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum P2pMode {
    /// Spegel: a blob is served whole by one peer that advertises it; no peer, the registry.
    Spegel,
    /// Piece-based (Kraken, Dragonfly): a blob comes in pieces from every peer of its swarm and
    /// from the origins at once.
    Pieces,
}

/// `[p2p]` (extension): in-cluster peer-to-peer distribution of the blobs of `registries` to
/// and from the nodes of `node_pools`.
#[derive(Clone, Debug)]
pub struct P2pSpec {
    pub mode: P2pMode,
    /// `None` = every registry.
    pub registries: Option<Vec<RegistryId>>,
    /// The pools that run the agent: they fetch from peers and serve them. `None` = all.
    pub node_pools: Option<Vec<PoolId>>,
    /// A node's upload capacity for its peers, bytes/s; `None` = its pool's `bandwidth`.
    pub upload_bytes_per_s: Option<f64>,
    /// The cap of one download from peers, bytes/s (infinite = none).
    pub per_connection_bytes_per_s: f64,
    /// Spegel: the time to find a peer that holds a digest, or learn that none does.
    pub lookup: SimDuration,
    /// Spegel: from the end of a node's pull until its peers can find what it advertised.
    pub advertise_delay: SimDuration,
    /// Pieces: from a download's start until it has peers to fetch from, ns (the tracker's
    /// or scheduler's answer, announces), drawn per download.
    pub tracker_latency_ns: Dist,
}

impl P2pSpec {
    /// Whether a node of `pool` pulling from `registry` goes through the peers.
    pub fn serves(&self, pool: PoolId, registry: RegistryId) -> bool {
        self.node_pools.as_ref().is_none_or(|p| p.contains(&pool))
            && self.registries.as_ref().is_none_or(|r| r.contains(&registry))
    }
}

/// A `[[prepull]]` table (extension): from `at`, one pod per node of `node_pools` (and per
/// node that joins later) pulls `images` in order, as an image-puller DaemonSet does.
#[derive(Clone, Debug)]
pub struct PrepullSpec {
    pub name: String,
    /// The image strings as written, each with the image it names.
    pub images: Vec<(String, ImageId)>,
    /// `None` = every pool.
    pub node_pools: Option<Vec<PoolId>>,
    pub at: SimDuration,
    /// `false`: the table is kept for the results (with nothing warmed) but no pod is created.
    pub enabled: bool,
}

#[derive(Clone, Debug)]
pub enum WorkloadKind {
    Deployment {
        replicas: u32,
        rollout: Rollout,
        update: Option<Update>,
    },
    /// One pod per eligible node. With `update`, a rolling update replaces them node by node,
    /// at most `max_unavailable` nodes without an available new pod at a time (the DaemonSet
    /// controller's `rollingUpdate` with maxSurge 0).
    DaemonSet {
        max_unavailable: IntOrPercent,
        update: Option<Update>,
    },
    Poisson {
        rate_per_s: Dist,
        count: Option<u64>,
    },
    Batch {
        count: u32,
        at: SimDuration,
    },
    /// Pods pinned to a node at a time with their images (observed pulls replayed), in
    /// creation order.
    Replay {
        pods: Vec<ReplayPod>,
    },
}

/// One pod of a replay workload.
#[derive(Clone, Debug)]
pub struct ReplayPod {
    /// The node it is bound to (`<pool>-<k>`; nodes are numbered pool by pool).
    pub node: NodeId,
    /// When it is created and bound, from the run's start.
    pub at: SimDuration,
    /// Its containers' images in order (at least one): each the image string and the declared
    /// image it names.
    pub images: Vec<(String, ImageId)>,
}

/// A rolling-update strategy (`maxSurge` / `maxUnavailable`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rollout {
    pub max_surge: IntOrPercent,
    pub max_unavailable: IntOrPercent,
}

impl Default for Rollout {
    /// The Deployment defaults: 25% / 25%.
    fn default() -> Self {
        Rollout { max_surge: IntOrPercent::Percent(25), max_unavailable: IntOrPercent::Percent(25) }
    }
}

/// Defined with the Deployment rules it feeds.
pub use crate::k8s::deployment::IntOrPercent;

#[derive(Clone, Debug)]
pub struct Update {
    pub at: SimDuration,
    /// The new image string (as a container would write it).
    pub image: String,
    /// The declared image it resolves to (`None` if unparsable).
    pub image_id: Option<ImageId>,
}

#[derive(Clone, Debug, Default)]
pub struct PodTemplate {
    pub init_containers: Vec<ContainerSpec>,
    pub containers: Vec<ContainerSpec>,
}

#[derive(Clone, Debug)]
pub struct ContainerSpec {
    pub image: ContainerImage,
    /// Explicit `pull_policy`; `None` = defaulted from the tag per pod image.
    pub pull_policy: Option<PullPolicy>,
    /// Init containers: run time to completion, ns, drawn per run. `None` for app containers.
    pub run_for_ns: Option<Dist>,
}

#[derive(Clone, Debug)]
pub enum ContainerImage {
    /// A literal image string; `image` is the known image it names, `None` when the string is
    /// not a valid reference (the kubelet reports InvalidImageName at run time).
    Ref { raw: String, image: Option<ImageId> },
    /// One member of an image set per pod.
    Set { set: ImageSetId, pick: Pick },
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Pick {
    /// Pod k of the workload gets member k mod count.
    Sequential,
    Uniform,
    Zipf {
        s: f64,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum SchedulerPolicy {
    #[default]
    Spread,
    Binpack,
    ImageLocality,
}

/// The `[sweep]` table. Values are kept as TOML literal text so that each variant is applied as
/// a `--set KEY=VALUE` override and validated like any other scenario.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SweepSpec {
    pub seeds: Option<u32>,
    /// Axes in file order: dotted key and its values.
    pub grid: Vec<(String, Vec<String>)>,
    pub baseline: Vec<(String, String)>,
    /// The workload whose results fill the key columns of the tables and the charts (a
    /// `[[workload]]` name); `None` = the default choice.
    pub workload: Option<String>,
}

/// CPU (millicores) and memory (bytes): a node's allocatable or a pod's requests.
pub use crate::k8s::resources::Resources;
