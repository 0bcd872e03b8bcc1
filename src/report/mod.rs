//! Writes a run's results: `pods.csv`, `pulls.csv`, `registries.csv`, `timeseries.csv`,
//! `summary.json`, plus `scenario.toml` (the exact input) and `command.txt` (how it was made);
//! with `--events`, `events.json` (`events.rs`: the kubelet's events as a `v1` `EventList`).
//!
//! Atomicity and ownership of the results folder: `staging.rs` (written beside the destination,
//! swapped in by rename, and never over files pullsim did not write).
//!
//! Formatting is deterministic: times are seconds with exactly three decimals from integer
//! nanoseconds, rates are whole bytes per second, columns are in a fixed order.

mod calibration;
pub mod events;
pub mod html;
mod staging;
pub mod sweep;

pub use staging::{check_destination, note_written, write_marker, Refusal, Staging, StagingError, MARKER};

use crate::metrics::{PodRow, PullRecord, PullRow, RegistryRow, RunOutput, RunSink, SampleRow};
use crate::time::SimTime;
use std::fs::{self, File};
use std::io::{self, BufWriter, Write};
use std::path::Path;

pub const PODS_HEADER: [&str; 12] = [
    "pod",
    "workload",
    "node",
    "created_s",
    "started_s",
    "startup_s",
    "pull_s",
    "images_pulled",
    "cache_hits",
    "backoffs",
    "status",
    "last_error",
];
pub const PULLS_HEADER: [&str; 10] = [
    "node",
    "pod",
    "image",
    "registry",
    "requested_s",
    "started_s",
    "finished_s",
    "bytes",
    "attempt",
    "result",
];
/// The contract's columns, then `manifest_heads`.
pub const REGISTRIES_HEADER: [&str; 8] = [
    "registry",
    "requests",
    "manifest_requests",
    "blob_bytes",
    "peak_concurrent",
    "throttled",
    "failures",
    "manifest_heads",
];
pub const TIMESERIES_HEADER: [&str; 6] =
    ["t_s", "pulls_in_flight", "pulls_queued", "pods_running", "pods_waiting", "registry_egress_bytes_per_s"];

/// Seconds with three decimals, or empty.
fn t(v: Option<SimTime>) -> String {
    v.map(|t| t.fmt_ms()).unwrap_or_default()
}

/// Streams pulls.csv and timeseries.csv as the run produces them. IO errors are kept and
/// reported by `finish` (the sink interface cannot fail mid-run).
pub struct CsvSink {
    pulls: csv::Writer<BufWriter<File>>,
    samples: csv::Writer<BufWriter<File>>,
    error: Option<csv::Error>,
    /// Reused for the formatted numbers of a streamed row (no allocation per row).
    scratch: String,
}

impl CsvSink {
    pub fn create(dir: &Path) -> io::Result<CsvSink> {
        let open = |name: &str| -> io::Result<csv::Writer<BufWriter<File>>> {
            Ok(csv::Writer::from_writer(BufWriter::with_capacity(1 << 16, File::create(dir.join(name))?)))
        };
        let mut pulls = open("pulls.csv")?;
        let mut samples = open("timeseries.csv")?;
        pulls.write_record(PULLS_HEADER).map_err(io::Error::other)?;
        samples.write_record(TIMESERIES_HEADER).map_err(io::Error::other)?;
        Ok(CsvSink { pulls, samples, error: None, scratch: String::new() })
    }

    pub fn finish(mut self) -> io::Result<()> {
        if let Some(e) = self.error.take() {
            return Err(io::Error::other(e));
        }
        self.pulls.flush()?;
        self.samples.flush()?;
        Ok(())
    }

    fn keep(&mut self, r: csv::Result<()>) {
        if let (Err(e), None) = (r, &self.error) {
            self.error = Some(e);
        }
    }
}

pub fn pull_record(row: &PullRow) -> [String; 10] {
    [
        row.node.clone(),
        row.pod.clone(),
        row.image.clone(),
        row.registry.clone(),
        row.requested_s.fmt_ms(),
        t(row.started_s),
        t(row.finished_s),
        row.bytes.to_string(),
        row.attempt.to_string(),
        row.result.clone(),
    ]
}

#[cfg(test)]
mod streamed_row_tests {
    use super::*;
    use crate::time::SimTime;

    #[test]
    fn streamed_pull_row_equals_the_record_form() {
        let row = PullRow {
            node: "n-1".into(),
            pod: "web-0".into(),
            image: "registry.example/a,b:\"v1\"".into(),
            registry: String::new(),
            requested_s: SimTime(1_234_567_890),
            started_s: None,
            finished_s: Some(SimTime(2_000_000_000_499_999)),
            bytes: 42,
            attempt: 3,
            result: "failed:outage".into(),
        };
        let mut a = csv::Writer::from_writer(Vec::new());
        let mut scratch = String::new();
        write_pull_row(&mut a, &mut scratch, &row.record()).unwrap();
        write_pull_row(&mut a, &mut scratch, &row.record()).unwrap();
        let mut b = csv::Writer::from_writer(Vec::new());
        b.write_record(pull_record(&row)).unwrap();
        b.write_record(pull_record(&row)).unwrap();
        assert_eq!(a.into_inner().unwrap(), b.into_inner().unwrap());
    }

    #[test]
    fn streamed_pod_row_equals_the_record_form() {
        let base = PodRow {
            pod_index: 0,
            workload: "web".into(),
            node: "n-1".into(),
            created_s: SimTime(1_234_567_890),
            started_s: Some(SimTime(61_000_000_500)),
            pull_s: crate::time::SimDuration(59_765_432_100),
            images_pulled: 2,
            cache_hits: 1,
            backoffs: 7,
            status: "Running",
            last_error: "ImagePullBackOff: Back-off pulling image \"a,b\"".into(),
            stale_digest: false,
        };
        let pending = PodRow { node: "".into(), started_s: None, status: "Pending", ..base.clone() };
        let mut a = csv::Writer::from_writer(Vec::new());
        let mut scratch = String::new();
        let mut b = csv::Writer::from_writer(Vec::new());
        for row in [&base, &pending] {
            write_pod_row(&mut a, &mut scratch, row).unwrap();
            b.write_record(pod_record(row)).unwrap();
        }
        assert_eq!(a.into_inner().unwrap(), b.into_inner().unwrap());
    }
}

pub fn sample_record(row: &SampleRow) -> [String; 6] {
    [
        row.t_s.fmt_ms(),
        row.pulls_in_flight.to_string(),
        row.pulls_queued.to_string(),
        row.pods_running.to_string(),
        row.pods_waiting.to_string(),
        format!("{:.0}", row.registry_egress_bytes_per_s.round()),
    ]
}

/// Writes one pulls.csv row field by field, formatting numbers in `scratch`; the same text as
/// `pull_record` (tested).
fn write_pull_row<W: io::Write>(
    w: &mut csv::Writer<W>,
    scratch: &mut String,
    row: &PullRecord<'_>,
) -> csv::Result<()> {
    w.write_field(row.node)?;
    w.write_field(row.pod)?;
    w.write_field(row.image)?;
    w.write_field(row.registry)?;
    for t in [Some(row.requested_s), row.started_s, row.finished_s] {
        scratch.clear();
        if let Some(t) = t {
            crate::time::write_ns_as_secs_ms(scratch, t.0);
        }
        w.write_field(scratch.as_bytes())?;
    }
    for n in [row.bytes, u64::from(row.attempt)] {
        scratch.clear();
        crate::units::push_u64(scratch, n);
        w.write_field(scratch.as_bytes())?;
    }
    w.write_field(row.result)?;
    w.write_record(None::<&[u8]>)
}

impl RunSink for CsvSink {
    fn pull(&mut self, row: &PullRecord<'_>) {
        let r = write_pull_row(&mut self.pulls, &mut self.scratch, row);
        self.keep(r);
    }
    fn sample(&mut self, row: &SampleRow) {
        let r = self.samples.write_record(sample_record(row));
        self.keep(r);
    }
}

pub fn pod_record(p: &PodRow) -> [String; 12] {
    [
        p.pod_name(),
        p.workload.to_string(),
        p.node.to_string(),
        p.created_s.fmt_ms(),
        t(p.started_s),
        p.startup().map(|d| d.fmt_ms()).unwrap_or_default(),
        p.pull_s.fmt_ms(),
        p.images_pulled.to_string(),
        p.cache_hits.to_string(),
        p.backoffs.to_string(),
        p.status.to_string(),
        p.last_error.clone(),
    ]
}

/// Writes one pods.csv row field by field, formatting numbers in `scratch`; the same text as
/// `pod_record` (tested). A large run writes 10^5 rows: this costs no allocation per field.
fn write_pod_row<W: io::Write>(w: &mut csv::Writer<W>, scratch: &mut String, p: &PodRow) -> csv::Result<()> {
    scratch.clear();
    p.write_pod_name(scratch);
    w.write_field(scratch.as_bytes())?;
    w.write_field(p.workload.as_bytes())?;
    w.write_field(p.node.as_bytes())?;
    let times = [Some(p.created_s.0), p.started_s.map(|t| t.0), p.startup().map(|d| d.0), Some(p.pull_s.0)];
    for ns in times {
        scratch.clear();
        if let Some(ns) = ns {
            crate::time::write_ns_as_secs_ms(scratch, ns);
        }
        w.write_field(scratch.as_bytes())?;
    }
    for n in [p.images_pulled, p.cache_hits, p.backoffs] {
        scratch.clear();
        crate::units::push_u64(scratch, u64::from(n));
        w.write_field(scratch.as_bytes())?;
    }
    w.write_field(p.status)?;
    w.write_field(&p.last_error)?;
    w.write_record(None::<&[u8]>)
}

pub fn registry_record(r: &RegistryRow) -> [String; 8] {
    [
        r.registry.clone(),
        r.requests.to_string(),
        r.manifest_requests.to_string(),
        r.blob_bytes.to_string(),
        r.peak_concurrent.to_string(),
        r.throttled.to_string(),
        r.failures.to_string(),
        r.manifest_heads.to_string(),
    ]
}

/// Writes `header` then every row with `write_row` (given a reused scratch buffer).
fn write_csv<const N: usize, T>(
    path: &Path,
    header: [&str; N],
    rows: &[T],
    write_row: impl Fn(&mut csv::Writer<BufWriter<File>>, &mut String, &T) -> csv::Result<()>,
) -> io::Result<()> {
    let mut w = csv::Writer::from_writer(BufWriter::new(File::create(path)?));
    w.write_record(header).map_err(io::Error::other)?;
    let mut scratch = String::new();
    for r in rows {
        write_row(&mut w, &mut scratch, r).map_err(io::Error::other)?;
    }
    w.flush()
}

/// Extra facts recorded with the summary (beyond the contract's fields).
#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct SummaryExtras {
    pub scenario: String,
    pub gc_images_removed: u64,
    pub gc_bytes_freed: u64,
    /// Image GC runs that recorded `FreeDiskSpaceFailed`.
    pub gc_free_space_failed: u64,
    /// Deployment rolling updates: workload and duration in seconds (null if unfinished).
    pub rollouts: Vec<(String, Option<f64>)>,
    /// Pods running an older digest of a tag that moved (`image.pushes`) at the end.
    pub pods_stale_digest: u64,
    /// Failed pull attempts per reason (`pull_failures` split), every reason, in a fixed order.
    #[serde(serialize_with = "reasons_as_object")]
    pub pull_failures_by_reason: Vec<(&'static str, u64)>,
    /// Per workload, keyed by name in declaration order (`metrics::workloads`).
    #[serde(serialize_with = "crate::metrics::workloads::workloads_as_object")]
    pub workloads: Vec<crate::metrics::workloads::WorkloadSummary>,
    /// The verdict of each `[[slo]]` for this run, in file order (`[]` without SLOs).
    pub slos: Vec<crate::experiment::slo::RunVerdict>,
    /// Per `[[prepull]]`, keyed by name in file order; the key is left out without any, so a
    /// scenario without prepulls writes the summary it always did.
    #[serde(skip_serializing_if = "Vec::is_empty", serialize_with = "crate::metrics::prepulls_as_object")]
    pub prepulls: Vec<crate::metrics::PrepullResult>,
    /// Per `[[link]]`, keyed by name in file order; left out without any.
    #[serde(
        skip_serializing_if = "Vec::is_empty",
        serialize_with = "crate::metrics::distribution::links_as_object"
    )]
    pub links: Vec<crate::metrics::distribution::LinkResult>,
    /// `[p2p]`'s counters; left out without it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub p2p: Option<crate::metrics::distribution::P2pResult>,
    /// Lazy pulling's counters, only when some image is lazy (so other scenarios' summaries
    /// are unchanged).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lazy: Option<crate::metrics::LazySummary>,
}

/// `[("transient", 3), ...]` as `{"transient": 3, ...}`, in the given order.
fn reasons_as_object<S: serde::Serializer>(v: &[(&'static str, u64)], s: S) -> Result<S::Ok, S::Error> {
    use serde::ser::SerializeMap;
    let mut m = s.serialize_map(Some(v.len()))?;
    for (k, n) in v {
        m.serialize_entry(k, n)?;
    }
    m.end()
}

impl SummaryExtras {
    /// The extras of a finished run of `scn`.
    pub fn of(out: &RunOutput, scn: &crate::scenario::Scenario) -> SummaryExtras {
        SummaryExtras {
            scenario: scn.name.clone(),
            gc_images_removed: out.gc_images_removed,
            gc_bytes_freed: out.gc_bytes_freed,
            gc_free_space_failed: out.gc_free_space_failed,
            rollouts: out.rollouts.clone(),
            pods_stale_digest: out.pods_stale_digest(),
            pull_failures_by_reason: out.pull_failures_by_reason.clone(),
            workloads: out.workloads.clone(),
            slos: crate::experiment::slo::run_verdicts(&scn.slos, &out.workloads),
            prepulls: out.prepulls.clone(),
            links: out.links.clone(),
            p2p: out.p2p.clone(),
            lazy: out.lazy.clone(),
        }
    }
}

/// The five result files of a run of `scn` with `seed`, rendered in memory exactly as `run`
/// writes them (for `run --check-determinism` and the golden-output test).
pub fn render_in_memory(scn: &crate::scenario::Scenario, seed: u64) -> Vec<(String, Vec<u8>)> {
    render_in_memory_with(scn, seed, false)
}

/// `render_in_memory`, plus `events.json` last when `with_events` (`run --events`).
pub fn render_in_memory_with(
    scn: &crate::scenario::Scenario,
    seed: u64,
    with_events: bool,
) -> Vec<(String, Vec<u8>)> {
    let mut sink = crate::metrics::MemorySink::default();
    let opts = crate::model::RunOptions::default();
    let mut events_json = None;
    let out = if with_events {
        let mut with = events::WithEvents { inner: &mut sink, log: events::EventLog::new(scn.start_time) };
        let out = crate::sim::run(scn, seed, &mut with, opts);
        events_json = Some(with.log.to_json());
        out
    } else {
        crate::sim::run(scn, seed, &mut sink, opts)
    };
    fn csv(header: &[&str], rows: impl Iterator<Item = Vec<String>>) -> Vec<u8> {
        let mut w = csv::Writer::from_writer(Vec::new());
        w.write_record(header).expect("in-memory write");
        for r in rows {
            w.write_record(r).expect("in-memory write");
        }
        w.into_inner().expect("in-memory flush")
    }
    vec![
        ("pulls.csv".into(), csv(&PULLS_HEADER, sink.pulls.iter().map(|r| pull_record(r).to_vec()))),
        (
            "timeseries.csv".into(),
            csv(&TIMESERIES_HEADER, sink.samples.iter().map(|r| sample_record(r).to_vec())),
        ),
        ("pods.csv".into(), csv(&PODS_HEADER, out.pods.iter().map(|r| pod_record(r).to_vec()))),
        (
            "registries.csv".into(),
            csv(&REGISTRIES_HEADER, out.registries.iter().map(|r| registry_record(r).to_vec())),
        ),
        ("summary.json".into(), summary_json(&out, &SummaryExtras::of(&out, scn)).into_bytes()),
    ]
    .into_iter()
    .chain(events_json.map(|j| ("events.json".to_string(), j)))
    .collect()
}

/// `summary.json`: the contract's fields in contract order, then the extras.
pub fn summary_json(out: &RunOutput, extras: &SummaryExtras) -> String {
    /// Serialised directly (not through `serde_json::Value`, whose map sorts keys), so the
    /// fields come out in declaration order.
    #[derive(serde::Serialize)]
    struct Doc<'a> {
        #[serde(flatten)]
        summary: &'a crate::metrics::summary::Summary,
        #[serde(flatten)]
        extras: &'a SummaryExtras,
    }
    let mut s = serde_json::to_string_pretty(&Doc { summary: &out.summary, extras }).expect("json");
    s.push('\n');
    s
}

/// Writes the end-of-run files into `dir` (the staging folder).
pub fn write_run_files(
    dir: &Path,
    out: &RunOutput,
    extras: &SummaryExtras,
    scenario_text: &str,
    command: &str,
) -> io::Result<()> {
    write_csv(&dir.join("pods.csv"), PODS_HEADER, &out.pods, write_pod_row)?;
    write_csv(&dir.join("registries.csv"), REGISTRIES_HEADER, &out.registries, |w, _, r| {
        w.write_record(registry_record(r))
    })?;
    fs::write(dir.join("summary.json"), summary_json(out, extras))?;
    fs::write(dir.join("scenario.toml"), scenario_text)?;
    let mut f = File::create(dir.join("command.txt"))?;
    writeln!(f, "{command}")?;
    Ok(())
}
