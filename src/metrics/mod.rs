//! What a run records: pull attempts and time-series samples (streamed to a `RunSink` as they
//! happen, so huge runs need not hold them), per-pod and per-registry rows (built at the end),
//! and the run summary, pooled (`summary.rs`) and per workload (`workloads.rs`). Field names are
//! the output contract's column names.

pub mod distribution;
pub mod peaks;
pub mod summary;
pub mod workloads;

use crate::time::SimTime;

/// One kubelet pull attempt (a row of `pulls.csv`).
#[derive(Clone, Debug, PartialEq)]
pub struct PullRow {
    pub node: String,
    pub pod: String,
    /// The image string as the pod spec wrote it.
    pub image: String,
    pub registry: String,
    /// When the kubelet handed the pull to its puller.
    pub requested_s: SimTime,
    /// When the puller started it (slot acquired); `None` if it never started.
    pub started_s: Option<SimTime>,
    /// `None` while still in flight at the end of the run.
    pub finished_s: Option<SimTime>,
    /// Bytes that crossed the network for this attempt.
    pub bytes: u64,
    /// 1-based attempt number for this (pod, image string).
    pub attempt: u32,
    /// `ok`, `failed:<reason>`, or `in_progress` at the horizon.
    pub result: String,
}

impl PullRow {
    /// The borrowed form the sinks take.
    pub fn record(&self) -> PullRecord<'_> {
        PullRecord {
            node: &self.node,
            pod: &self.pod,
            image: &self.image,
            registry: &self.registry,
            requested_s: self.requested_s,
            started_s: self.started_s,
            finished_s: self.finished_s,
            bytes: self.bytes,
            attempt: self.attempt,
            result: &self.result,
        }
    }
}

/// A pull attempt as the model streams it: the fields of `PullRow`, borrowed from the run's
/// state, so that streaming a row allocates nothing (a large run streams hundreds of thousands).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PullRecord<'a> {
    pub node: &'a str,
    pub pod: &'a str,
    pub image: &'a str,
    pub registry: &'a str,
    pub requested_s: SimTime,
    pub started_s: Option<SimTime>,
    pub finished_s: Option<SimTime>,
    pub bytes: u64,
    pub attempt: u32,
    pub result: &'a str,
}

impl PullRecord<'_> {
    pub fn to_row(&self) -> PullRow {
        PullRow {
            node: self.node.to_string(),
            pod: self.pod.to_string(),
            image: self.image.to_string(),
            registry: self.registry.to_string(),
            requested_s: self.requested_s,
            started_s: self.started_s,
            finished_s: self.finished_s,
            bytes: self.bytes,
            attempt: self.attempt,
            result: self.result.to_string(),
        }
    }
}

/// One time-series sample (a row of `timeseries.csv`): the state after every event at or
/// before `t_s`.
#[derive(Clone, Debug, PartialEq)]
pub struct SampleRow {
    pub t_s: SimTime,
    pub pulls_in_flight: u64,
    pub pulls_queued: u64,
    pub pods_running: u64,
    pub pods_waiting: u64,
    pub registry_egress_bytes_per_s: f64,
}

/// Appends the name of pod `index` of `workload`, `<workload>-<index>`, to `out`: without
/// the formatting machinery, as every pull row and pod row writes one.
pub fn write_pod_name(out: &mut String, workload: &str, index: u64) {
    out.push_str(workload);
    out.push('-');
    crate::units::push_u64(out, index);
}

/// One pod at the end of the run (a row of `pods.csv`).
#[derive(Clone, Debug, PartialEq)]
pub struct PodRow {
    /// The pod's index in its workload: the pod is named `<workload>-<index>` (`pod_name`).
    /// Kept as the number, not the text, so a run's 10^5 rows allocate no names (the text is
    /// written straight into pods.csv).
    pub pod_index: u64,
    /// Shared by the workload's rows.
    pub workload: std::sync::Arc<str>,
    /// Empty when never scheduled; shared by the node's rows.
    pub node: std::sync::Arc<str>,
    pub created_s: SimTime,
    pub started_s: Option<SimTime>,
    /// Total time of the pod's pull attempts, from hand-off to the puller to the result.
    pub pull_s: crate::time::SimDuration,
    pub images_pulled: u32,
    pub cache_hits: u32,
    pub backoffs: u32,
    /// `Running`, `Terminated`, `Pending` or the kubelet's waiting reason.
    pub status: &'static str,
    pub last_error: String,
    /// Running an older digest of a tag that moved (`image.pushes`); not a pods.csv column.
    pub stale_digest: bool,
}

impl PodRow {
    /// The pod's name, `<workload>-<index>` (pods.csv `pod`).
    pub fn pod_name(&self) -> String {
        let mut s = String::with_capacity(self.workload.len() + 8);
        self.write_pod_name(&mut s);
        s
    }

    /// Appends the pod's name to `out`.
    pub fn write_pod_name(&self, out: &mut String) {
        write_pod_name(out, &self.workload, self.pod_index);
    }

    pub fn startup(&self) -> Option<crate::time::SimDuration> {
        self.started_s.map(|s| s.since(self.created_s))
    }
}

/// One registry at the end of the run (a row of `registries.csv`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RegistryRow {
    pub registry: String,
    /// Every HTTP round trip: token, manifests, config and layer blobs.
    pub requests: u64,
    /// Manifest GETs (what Docker Hub counts: not HEADs, not 429s).
    pub manifest_requests: u64,
    /// Manifest HEADs: the runtime resolving a tag to a digest (not counted by Docker Hub).
    pub manifest_heads: u64,
    pub blob_bytes: u64,
    /// Most blob downloads in flight at once.
    pub peak_concurrent: u64,
    /// Requests answered 429.
    pub throttled: u64,
    /// Pull attempts that ended on this registry's answer: an outage, a 429 after the
    /// runtime's retries, a 401, a transient error. The kubelet's own rejections (`qps`) and the
    /// runtime's (`disk_full`, `platform`) are in `summary.json`'s `pull_failures_by_reason`.
    pub failures: u64,
}

/// One event the kubelet records about a pod's container (`record.EventRecorder`), as the
/// model streams it: borrowed, like `PullRecord`. What a real event adds (names, uids, dates,
/// `count`) is the writer's (`report::events`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct KubeletEvent<'a> {
    pub at: SimTime,
    /// The node whose kubelet records it (`source.host`).
    pub node: &'a str,
    /// The pod's name, `<workload>-<index>`.
    pub pod: &'a str,
    /// The pod's number over the run, in creation order (its uid is derived from it).
    pub pod_seq: u32,
    /// An init container (`spec.initContainers`) or an app container (`spec.containers`).
    pub init: bool,
    /// The container's index in its list (init containers and app containers count apart).
    pub container: u32,
    pub event_type: crate::k8s::image_manager::EventType,
    /// Upstream's reason (`k8s::image_manager::event_reason`).
    pub reason: &'static str,
    pub message: &'a str,
}

/// Receives streamed records. Implemented by the CSV writer and by in-memory collectors.
pub trait RunSink {
    fn pull(&mut self, row: &PullRecord<'_>);
    fn sample(&mut self, row: &SampleRow);
    /// Whether `pull` does anything with its rows. A sink that drops them says so, and the
    /// model then builds none (a pull row names its pod, node and image: ~2 % of a large run
    /// that only `compare`'s statistics or a benchmark wants). Asked once, at the start.
    fn wants_pull_rows(&self) -> bool {
        true
    }
    /// A kubelet event (`pullsim run --events`). Called only when `wants_events` said yes.
    fn event(&mut self, _event: &KubeletEvent<'_>) {}
    /// Whether the sink keeps kubelet events. Off unless a sink asks: the model then formats
    /// no message and tests one flag per place the kubelet would record one. Asked once, at
    /// the start.
    fn wants_events(&self) -> bool {
        false
    }
}

/// Keeps everything in memory (tests, `explain`, charts of small runs).
#[derive(Default, Debug)]
pub struct MemorySink {
    pub pulls: Vec<PullRow>,
    pub samples: Vec<SampleRow>,
}

impl RunSink for MemorySink {
    fn pull(&mut self, row: &PullRecord<'_>) {
        self.pulls.push(row.to_row());
    }
    fn sample(&mut self, row: &SampleRow) {
        self.samples.push(row.clone());
    }
}

/// Drops streamed rows (sweeps need only the summary).
#[derive(Default, Debug)]
pub struct NullSink;

impl RunSink for NullSink {
    fn pull(&mut self, _row: &PullRecord<'_>) {}
    fn sample(&mut self, _row: &SampleRow) {}
    fn wants_pull_rows(&self) -> bool {
        false
    }
}

/// Engine counters reported with `--stats` and in the human summary.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RunStats {
    /// Events handled (stale network wake-ups excluded).
    pub events: u64,
    pub events_stale: u64,
    pub peak_flows: u64,
    /// Flow-rate recomputations summed over all network changes.
    pub flows_recomputed: u64,
}

/// Everything a finished run returns (streamed rows went to the sink).
#[derive(Clone, Debug)]
pub struct RunOutput {
    pub pods: Vec<PodRow>,
    pub registries: Vec<RegistryRow>,
    pub summary: summary::Summary,
    pub stats: RunStats,
    pub gc_images_removed: u64,
    pub gc_bytes_freed: u64,
    /// Image GC runs that recorded `FreeDiskSpaceFailed` (freed less than they had to).
    pub gc_free_space_failed: u64,
    /// Deployment rolling updates: workload and duration in seconds (`None` if unfinished).
    pub rollouts: Vec<(String, Option<f64>)>,
    /// Exact peaks over the run (event resolution).
    pub peaks: peaks::Peaks,
    /// Failed pull attempts per reason (`pulls.csv` result without `failed:`), every reason.
    pub pull_failures_by_reason: Vec<(&'static str, u64)>,
    /// Per workload, in declaration order (`workloads.rs`).
    pub workloads: Vec<workloads::WorkloadSummary>,
    /// Per `[[prepull]]`, in file order (empty without any).
    pub prepulls: Vec<PrepullResult>,
    /// Per `[[link]]`, in file order (empty without any).
    pub links: Vec<distribution::LinkResult>,
    /// `[p2p]`, when enabled.
    pub p2p: Option<distribution::P2pResult>,
    /// Lazy pulling's counters; `None` unless some image is lazy.
    pub lazy: Option<LazySummary>,
}

/// What lazy pulling did in a run (`summary.json` `lazy`, only when some image is lazy).
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize)]
pub struct LazySummary {
    /// Lazy pull attempts whose kubelet pull returned before the image was whole.
    pub pulls: u64,
    /// Containers started (their start begun) by such a pull: the pulls less those whose pod
    /// was deleted meanwhile.
    pub started_before_whole: u64,
    /// Of `pulls`, those made ready by `prefetch_timeout` rather than by every layer's prefetch
    /// share arriving.
    pub prefetch_timeouts: u64,
    /// Bytes those attempts moved after they became ready (their pulls.csv `bytes` less what
    /// had arrived by then).
    pub background_bytes: u64,
    /// Nearest-rank p50 and maximum, over the early containers whose image became whole on
    /// the node before the end (and whose pod was not deleted first), of the time from the
    /// kubelet's pull returning until then; `None` when there is none.
    pub whole_after_start_p50_s: Option<f64>,
    pub whole_after_start_max_s: Option<f64>,
}

/// What one `[[prepull]]` achieved (`summary.json` `prepulls`, keyed by name).
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct PrepullResult {
    #[serde(skip)]
    pub name: String,
    /// `false` when the table was turned off (`enabled = false`): nothing was pulled for it.
    pub enabled: bool,
    /// Nodes that got a prepull pod: the chosen pools' nodes that had joined by `at` or joined
    /// later, before the end.
    pub nodes_targeted: u64,
    /// Of those, the nodes that came to hold every image of the prepull.
    pub nodes_warmed: u64,
    /// From `at` until every chosen node that had joined by `at` held every image; `None` if
    /// that did not happen before the end, or no chosen node had joined by `at`.
    pub warm_s: Option<f64>,
}

/// `[PrepullResult, ...]` as `{"<name>": {...}, ...}`, in the given order.
pub fn prepulls_as_object<S: serde::Serializer>(v: &[PrepullResult], s: S) -> Result<S::Ok, S::Error> {
    use serde::ser::SerializeMap;
    let mut m = s.serialize_map(Some(v.len()))?;
    for p in v {
        m.serialize_entry(&p.name, p)?;
    }
    m.end()
}

impl RunOutput {
    /// Pods running an older digest of a moved tag at the end (summary `pods_stale_digest`).
    pub fn pods_stale_digest(&self) -> u64 {
        self.pods.iter().filter(|p| p.stale_digest).count() as u64
    }
}
