//! Stage one of loading: serde structs that mirror the TOML file one to one.
//!
//! Every struct denies unknown fields, so a misspelt key is an error naming the key (and, via the
//! deserializer's span, its line). Numeric fields that carry a unit or may be a distribution are
//! kept as `toml::Value` (a string like `"10Gbps"`, a bare number, or a `{ dist = ... }` table)
//! and converted in `validate`, which knows the unit of each key and can report every problem at
//! once. Plain counts are `toml::Value` too, so that a float or a string gets a message saying
//! an integer is required rather than serde's generic type error. Almost everything is optional
//! here: required keys are checked in `validate`, with a location, instead of failing the whole
//! deserialisation on the first missing one.

use serde::Deserialize;
use toml::Value;

#[derive(Deserialize, Debug, Default)]
#[serde(deny_unknown_fields)]
pub struct RawScenario {
    pub simulation: Option<RawSimulation>,
    pub kubelet: Option<RawKubelet>,
    pub runtime: Option<RawRuntime>,
    #[serde(default)]
    pub node_pool: Vec<RawNodePool>,
    #[serde(default)]
    pub registry: Vec<RawRegistry>,
    #[serde(default)]
    pub image: Vec<RawImage>,
    #[serde(default)]
    pub image_set: Vec<RawImageSet>,
    #[serde(default)]
    pub workload: Vec<RawWorkload>,
    pub scheduler: Option<RawScheduler>,
    pub sweep: Option<RawSweep>,
    /// Extension: work limits (`scenario::limits`).
    pub limits: Option<RawLimits>,
    /// Extension: service level objectives (`scenario::slo`).
    #[serde(default)]
    pub slo: Vec<RawSlo>,
    /// Extension: image pre-pulling (an image-puller DaemonSet), `validate::prepull`.
    #[serde(default)]
    pub prepull: Vec<RawPrepull>,
    /// Extension: shared network links (NAT gateways, uplinks), `validate::distribution`.
    #[serde(default)]
    pub link: Vec<RawLink>,
    /// Extension: in-cluster peer-to-peer distribution, `validate::distribution`.
    pub p2p: Option<RawP2p>,
}

#[derive(Deserialize, Debug, Default)]
#[serde(deny_unknown_fields)]
pub struct RawSimulation {
    pub name: Option<String>,
    pub seed: Option<Value>,
    pub until: Option<Value>,
    pub sample_every: Option<Value>,
    /// Extension: the date of simulated time 0 (RFC 3339), for the dates of `events.json`.
    pub start_time: Option<Value>,
}

#[derive(Deserialize, Debug, Default, Clone)]
#[serde(deny_unknown_fields)]
pub struct RawKubelet {
    pub serialize_image_pulls: Option<bool>,
    pub max_parallel_image_pulls: Option<Value>,
    pub image_pull_backoff: Option<RawBackoff>,
    pub image_gc_high_threshold_percent: Option<Value>,
    pub image_gc_low_threshold_percent: Option<Value>,
    pub image_minimum_gc_age: Option<Value>,
    /// Extension: kubelet `imageMaximumGCAge` (0 = disabled).
    pub image_maximum_gc_age: Option<Value>,
    pub image_pull_credentials_verification_policy: Option<String>,
    pub preloaded_images_verification_allowlist: Option<Vec<String>>,
    pub registry_pull_qps: Option<Value>,
    pub registry_burst: Option<Value>,
    /// Extension: feature gate KubeletEnsureSecretPulledImages.
    pub ensure_secret_pulled_images: Option<bool>,
    /// Extension: kubelet `evictionHard["imagefs.available"]` (a percentage, a size, or 0 =
    /// disabled).
    pub eviction_hard_imagefs_available: Option<Value>,
}

#[derive(Deserialize, Debug, Default, Clone)]
#[serde(deny_unknown_fields)]
pub struct RawBackoff {
    pub initial: Option<Value>,
    pub max: Option<Value>,
}

#[derive(Deserialize, Debug, Default)]
#[serde(deny_unknown_fields)]
pub struct RawRuntime {
    /// Extension: which runtime's pull behaviour (`containerd-1.7`, `cri-o`).
    pub profile: Option<String>,
    pub max_concurrent_downloads: Option<Value>,
    pub unpack_rate: Option<Value>,
    pub container_start: Option<Value>,
    /// Extension: runtime bookkeeping per pull attempt.
    pub pull_overhead: Option<Value>,
    /// Extension: unpacked size over compressed size of layers without `uncompressed_size`.
    pub uncompressed_ratio: Option<Value>,
    /// Extension: time added to each layer's unpack.
    pub unpack_layer_overhead: Option<Value>,
    /// Extension: containerd's `discard_unpacked_layers` (drop a blob once unpacked).
    pub discard_unpacked_layers: Option<bool>,
    /// Extension: containerd 2.2's transfer-service `max_concurrent_unpacks`.
    pub max_concurrent_unpacks: Option<Value>,
}

#[derive(Deserialize, Debug, Default)]
#[serde(deny_unknown_fields)]
pub struct RawNodePool {
    pub name: Option<String>,
    pub count: Option<Value>,
    pub arch: Option<String>,
    pub bandwidth: Option<Value>,
    pub disk: Option<Value>,
    pub preloaded: Option<Vec<String>>,
    pub credentials: Option<Vec<RawCredential>>,
    pub join: Option<RawJoin>,
    pub kubelet: Option<RawKubelet>,
    /// Extension: kubelet maxPods.
    pub max_pods: Option<Value>,
    /// Extension: the RuntimeClass handlers the pool's nodes offer (omitted: every class).
    pub runtime_classes: Option<Vec<String>>,
    /// Extension: a node's allocatable CPU and memory (status.allocatable).
    pub allocatable: Option<RawResources>,
}

/// Extension: CPU and memory as Kubernetes quantities.
#[derive(Deserialize, Debug, Default, Clone)]
#[serde(deny_unknown_fields)]
pub struct RawResources {
    pub cpu: Option<Value>,
    pub memory: Option<Value>,
}

#[derive(Deserialize, Debug, Default)]
#[serde(deny_unknown_fields)]
pub struct RawCredential {
    #[serde(rename = "match")]
    pub match_pattern: Option<String>,
    pub secret: Option<String>,
}

#[derive(Deserialize, Debug, Default)]
#[serde(deny_unknown_fields)]
pub struct RawJoin {
    pub at: Option<Value>,
    pub every: Option<Value>,
    /// Extension: from a joining node's start to Ready (boot, kubelet registration).
    pub boot: Option<Value>,
}

#[derive(Deserialize, Debug, Default)]
#[serde(deny_unknown_fields)]
pub struct RawRegistry {
    pub host: Option<String>,
    pub bandwidth: Option<Value>,
    pub per_connection: Option<Value>,
    /// Extension: the per-connection cap of a blob the registry's CDN edge does not hold yet.
    pub per_connection_cold: Option<Value>,
    pub latency: Option<Value>,
    pub failure_rate: Option<Value>,
    pub outages: Option<Vec<RawOutage>>,
    pub rate_limit: Option<RawRateLimit>,
    pub auth: Option<String>,
    pub accepts: Option<Vec<String>>,
    /// Extension: containerd `hosts.toml` mirror hosts, tried in order before this registry;
    /// each a host string or a `{ host, capabilities, dial_timeout }` table (read in
    /// `validate::mirrors`, which reports unknown keys itself).
    pub mirrors: Option<Vec<Value>>,
    /// Extension: this registry is a pull-through cache of another.
    pub pull_through: Option<RawPullThrough>,
}

/// Extension: a pull-through cache (Harbor proxy project, distribution in proxy mode).
#[derive(Deserialize, Debug, Default)]
#[serde(deny_unknown_fields)]
pub struct RawPullThrough {
    pub upstream: Option<String>,
    pub capacity: Option<Value>,
}

#[derive(Deserialize, Debug, Default)]
#[serde(deny_unknown_fields)]
pub struct RawOutage {
    pub from: Option<Value>,
    pub to: Option<Value>,
}

#[derive(Deserialize, Debug, Default)]
#[serde(deny_unknown_fields)]
pub struct RawRateLimit {
    pub pulls: Option<Value>,
    pub per: Option<Value>,
    pub scope: Option<String>,
}

#[derive(Deserialize, Debug, Default)]
#[serde(deny_unknown_fields)]
pub struct RawImage {
    #[serde(rename = "ref")]
    pub reference: Option<String>,
    pub layers: Option<Vec<RawLayer>>,
    pub size: Option<Value>,
    pub layer_count: Option<Value>,
    pub platforms: Option<Vec<String>>,
    /// Extension: the tag moves to a new digest at these times.
    pub pushes: Option<Vec<RawPush>>,
    /// Extension: the image is pulled lazily (eStargz, SOCI, Nydus, image streaming).
    pub lazy: Option<RawLazy>,
}

/// Extension: lazy pulling of one image.
#[derive(Deserialize, Debug, Default)]
#[serde(deny_unknown_fields)]
pub struct RawLazy {
    pub prefetch: Option<Value>,
    pub prefetch_timeout: Option<Value>,
    pub read_penalty: Option<Value>,
}

/// Extension: one push of a new digest for an image's tag.
#[derive(Deserialize, Debug, Default)]
#[serde(deny_unknown_fields)]
pub struct RawPush {
    pub at: Option<Value>,
    pub layers: Option<Vec<RawLayer>>,
}

#[derive(Deserialize, Debug, Default)]
#[serde(deny_unknown_fields)]
pub struct RawLayer {
    pub id: Option<String>,
    pub size: Option<Value>,
    /// Extension: the layer's size once unpacked (default `size` x `runtime.uncompressed_ratio`).
    pub uncompressed_size: Option<Value>,
}

#[derive(Deserialize, Debug, Default)]
#[serde(deny_unknown_fields)]
pub struct RawImageSet {
    pub name: Option<String>,
    pub count: Option<Value>,
    #[serde(rename = "ref")]
    pub reference: Option<String>,
    pub size: Option<Value>,
    pub layer_count: Option<Value>,
    pub base_layers: Option<Vec<RawLayer>>,
}

#[derive(Deserialize, Debug, Default)]
#[serde(deny_unknown_fields)]
pub struct RawWorkload {
    pub name: Option<String>,
    pub kind: Option<String>,
    pub replicas: Option<Value>,
    pub start: Option<Value>,
    pub rollout: Option<RawRollout>,
    pub update: Option<RawUpdate>,
    pub rate: Option<Value>,
    pub count: Option<Value>,
    pub at: Option<Value>,
    pub image_pull_secrets: Option<Vec<String>>,
    pub runtime_class: Option<String>,
    pub node_pools: Option<Vec<String>>,
    /// Extension: from a pod's creation until its node's kubelet starts it.
    pub scheduling_latency: Option<Value>,
    /// Extension: from a pod Running until it is Ready (its readiness probe).
    pub ready_after: Option<Value>,
    /// Extension: the Deployment's `minReadySeconds`.
    pub min_ready: Option<Value>,
    /// Extension: a pod's CPU and memory requests (all its containers').
    pub requests: Option<RawResources>,
    pub pod: Option<RawPod>,
    /// Extension, kind = "replay": each pod's node, creation time and image.
    pub pods: Option<Vec<RawReplayPod>>,
}

/// One pod of a replay workload: `{ node = "<pool>-<k>", at = "12.5s", image = "..." }`, or
/// `images = [...]` for a pod whose containers pulled several images, in order.
#[derive(Deserialize, Debug, Default)]
#[serde(deny_unknown_fields)]
pub struct RawReplayPod {
    pub node: Option<String>,
    pub at: Option<Value>,
    pub image: Option<String>,
    pub images: Option<Vec<String>>,
}

#[derive(Deserialize, Debug, Default)]
#[serde(deny_unknown_fields)]
pub struct RawRollout {
    pub max_surge: Option<Value>,
    pub max_unavailable: Option<Value>,
}

#[derive(Deserialize, Debug, Default)]
#[serde(deny_unknown_fields)]
pub struct RawUpdate {
    pub at: Option<Value>,
    pub image: Option<String>,
}

#[derive(Deserialize, Debug, Default)]
#[serde(deny_unknown_fields)]
pub struct RawPod {
    pub init_containers: Option<Vec<RawContainer>>,
    pub containers: Option<Vec<RawContainer>>,
}

#[derive(Deserialize, Debug, Default)]
#[serde(deny_unknown_fields)]
pub struct RawContainer {
    pub image: Option<String>,
    pub image_set: Option<String>,
    pub pick: Option<String>,
    pub zipf_s: Option<Value>,
    pub pull_policy: Option<String>,
    pub run_for: Option<Value>,
}

#[derive(Deserialize, Debug, Default)]
#[serde(deny_unknown_fields)]
pub struct RawScheduler {
    pub policy: Option<String>,
}

#[derive(Deserialize, Debug, Default)]
#[serde(deny_unknown_fields)]
pub struct RawSweep {
    pub seeds: Option<Value>,
    /// Key order is taken from the document (a `toml::Table` sorts its keys).
    pub grid: Option<toml::Table>,
    pub baseline: Option<toml::Table>,
    /// Extension: the workload whose results the tables and charts show.
    pub workload: Option<String>,
}

/// Extension: `[limits]`, raising (or lowering) the up-front work limits of `scenario::limits`.
#[derive(Deserialize, Debug, Default, Clone)]
#[serde(deny_unknown_fields)]
pub struct RawLimits {
    pub nodes: Option<Value>,
    pub pods: Option<Value>,
    pub images: Option<Value>,
    pub layers: Option<Value>,
    pub samples: Option<Value>,
}

/// Extension: one `[[slo]]` table, a target for one workload's metric.
#[derive(Deserialize, Debug, Default)]
#[serde(deny_unknown_fields)]
pub struct RawSlo {
    pub workload: Option<String>,
    pub metric: Option<String>,
    /// A duration, a size or a count, by the metric; exactly one of `max` and `min`.
    pub max: Option<Value>,
    pub min: Option<Value>,
    /// A percentage string (`"95%"`): the share of seeds that must meet the bound.
    pub seeds_passing: Option<Value>,
}

/// Extension: one `[[prepull]]` table, images warmed on chosen pools from a time on.
#[derive(Deserialize, Debug, Default)]
#[serde(deny_unknown_fields)]
pub struct RawPrepull {
    pub name: Option<String>,
    pub images: Option<Vec<String>>,
    pub node_pools: Option<Vec<String>>,
    pub at: Option<Value>,
    pub enabled: Option<bool>,
}

/// Extension: one `[[link]]` table, a link shared by the traffic of chosen pools from chosen
/// registries (a NAT gateway, a zone uplink, an interconnect).
#[derive(Deserialize, Debug, Default)]
#[serde(deny_unknown_fields)]
pub struct RawLink {
    pub name: Option<String>,
    pub bandwidth: Option<Value>,
    pub node_pools: Option<Vec<String>>,
    pub registries: Option<Vec<String>>,
    pub shared_address: Option<bool>,
}

/// Extension: the `[p2p]` table, in-cluster peer-to-peer distribution (Spegel; Kraken or
/// Dragonfly).
#[derive(Deserialize, Debug, Default)]
#[serde(deny_unknown_fields)]
pub struct RawP2p {
    pub mode: Option<String>,
    pub enabled: Option<bool>,
    pub registries: Option<Vec<String>>,
    pub node_pools: Option<Vec<String>>,
    pub upload: Option<Value>,
    pub per_connection: Option<Value>,
    pub lookup: Option<Value>,
    pub advertise_delay: Option<Value>,
    pub tracker_latency: Option<Value>,
}
