//! Results per workload (`summary.json` `workloads`, and the `<workload>.<metric>` columns of a
//! sweep's `runs.csv`): the run summary's figures over one workload's pods only, because pooled
//! percentiles mix workloads (a small DaemonSet's pods pull the median of an application down).
//!
//! Same methods as the pooled summary (`summary.rs`): nearest-rank percentiles over the pods
//! that ran (`Terminated` ones included), times rounded to the millisecond (`secs_ms`). What
//! differs:
//!
//! - `makespan_s` counts from the workload's first pod's creation, not from time 0, to its last
//!   pod Running; `null` when none of its pods ran.
//! - `running_<p>pct_s`: time from the first pod's creation until ⌈p/100 × n⌉ of the
//!   workload's n pods had become Running, n being the pods it created less those a rolling
//!   update deleted before they ever ran (they could not run). A pod counts from when it became
//!   Running, even if a rolling update deleted it later. `null` when fewer pods ever ran.
//! - `bytes_pulled`, `pulls` and `pull_failures` come from counters the model keeps per
//!   workload (a pull attempt belongs to the workload of its pod); they add up to the pooled
//!   figures.

use super::summary::{kth_smallest, nearest_ranks, secs_ms, Totals};
use super::PodRow;
use crate::time::{SimDuration, SimTime};
use serde::Serialize;

/// A workload's `summary.json` fields as `runs.csv` columns `<workload>.<field>` (one group per
/// workload in a sweep's `runs.csv`), and the metrics an `[[slo]]` may name; `rollout_s`
/// (`ROLLOUT_FIELD`) follows for a workload with an `update`. Kept here, beside the summary they
/// name, so that the scenario's validation can check an SLO's metric without the experiment
/// layer.
pub const WORKLOAD_FIELDS: [&str; 16] = [
    "pods",
    "pods_running",
    "pods_failed",
    "startup_p50_s",
    "startup_p90_s",
    "startup_p99_s",
    "startup_max_s",
    "startup_mean_s",
    "makespan_s",
    "running_50pct_s",
    "running_90pct_s",
    "running_100pct_s",
    "bytes_pulled",
    "pulls",
    "pull_failures",
    "backoffs",
];
/// The column of a workload's rolling update: the duration of its last (and only) `update`.
pub const ROLLOUT_FIELD: &str = "rollout_s";

/// What a per-workload metric counts, which decides the unit an SLO bound on it is written in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FieldUnit {
    /// Seconds with millisecond precision (the `_s` fields).
    Seconds,
    /// Bytes (`bytes_pulled`).
    Bytes,
    /// A number of pods, attempts or back-offs.
    Count,
}

/// The unit of a per-workload metric (`WORKLOAD_FIELDS` or `ROLLOUT_FIELD`); `None` for any
/// other name.
pub fn field_unit(field: &str) -> Option<FieldUnit> {
    if !(WORKLOAD_FIELDS.contains(&field) || field == ROLLOUT_FIELD) {
        return None;
    }
    Some(if field.ends_with("_s") {
        FieldUnit::Seconds
    } else if field == "bytes_pulled" {
        FieldUnit::Bytes
    } else {
        FieldUnit::Count
    })
}

/// A workload's value of a metric as its `runs.csv` cell holds it: seconds, bytes or a count;
/// `None` where the cell is empty (no pod ran, a rollout that did not finish) or the metric is
/// unknown. `rollout_s` is the last update's, as in `runs.csv`.
pub fn field_value(w: &WorkloadSummary, field: &str) -> Option<f64> {
    let count = |n: u64| Some(n as f64);
    match field {
        "pods" => count(w.pods),
        "pods_running" => count(w.pods_running),
        "pods_failed" => count(w.pods_failed),
        "startup_p50_s" => w.startup_p50_s,
        "startup_p90_s" => w.startup_p90_s,
        "startup_p99_s" => w.startup_p99_s,
        "startup_max_s" => w.startup_max_s,
        "startup_mean_s" => w.startup_mean_s,
        "makespan_s" => w.makespan_s,
        "running_50pct_s" => w.running_50pct_s,
        "running_90pct_s" => w.running_90pct_s,
        "running_100pct_s" => w.running_100pct_s,
        "bytes_pulled" => count(w.bytes_pulled),
        "pulls" => count(w.pulls),
        "pull_failures" => count(w.pull_failures),
        "backoffs" => count(w.backoffs),
        ROLLOUT_FIELD => w.rollout_s.last().copied().flatten(),
        _ => None,
    }
}

/// One workload's results. Serialised without its name: `summary.json` keys the object by it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct WorkloadSummary {
    #[serde(skip)]
    pub name: String,
    /// Pods the workload created (the rows of pods.csv with its name).
    pub pods: u64,
    pub pods_running: u64,
    /// Neither Running nor Terminated at the end.
    pub pods_failed: u64,
    pub startup_p50_s: Option<f64>,
    pub startup_p90_s: Option<f64>,
    pub startup_p99_s: Option<f64>,
    pub startup_max_s: Option<f64>,
    pub startup_mean_s: Option<f64>,
    /// From the first pod's creation to the last pod Running.
    pub makespan_s: Option<f64>,
    pub running_50pct_s: Option<f64>,
    pub running_90pct_s: Option<f64>,
    pub running_100pct_s: Option<f64>,
    /// One per rolling update (`update`) of the workload: its duration, `None` if unfinished.
    pub rollout_s: Vec<Option<f64>>,
    pub bytes_pulled: u64,
    pub pulls: u64,
    pub pull_failures: u64,
    pub backoffs: u64,
}

/// What the summary needs of a workload besides its pods.
#[derive(Clone, Debug, PartialEq)]
pub struct WorkloadFacts<'a> {
    pub name: &'a str,
    /// Counters kept by the model for the workload's pull attempts.
    pub totals: Totals,
    /// One per rolling update: its duration, `None` if it did not finish (or start) in time.
    pub rollouts: Vec<Option<SimDuration>>,
}

/// The shares of `running_<p>pct_s`.
pub const RUNNING_PCTS: [u32; 3] = [50, 90, 100];

/// Per-workload gatherings of one pass over the pod rows.
#[derive(Default)]
struct Acc {
    pods: u64,
    running: u64,
    terminated: u64,
    /// Deleted by a rolling update before they ran.
    deleted_unstarted: u64,
    backoffs: u64,
    first_created: Option<SimTime>,
    startups: Vec<SimDuration>,
    started: Vec<SimTime>,
}

/// The summaries of `workloads` (declaration order) from the run's pod rows.
pub fn summarize_workloads(workloads: &[WorkloadFacts<'_>], pods: &[PodRow]) -> Vec<WorkloadSummary> {
    let by_name: std::collections::BTreeMap<&str, usize> =
        workloads.iter().enumerate().map(|(i, w)| (w.name, i)).collect();
    let mut acc: Vec<Acc> = workloads.iter().map(|_| Acc::default()).collect();
    // Consecutive rows usually share a workload: compare with the last one before looking up.
    let mut last: Option<(&str, usize)> = None;
    for p in pods {
        let w = match last {
            Some((name, i)) if name == &*p.workload => i,
            _ => match by_name.get(&*p.workload) {
                Some(&i) => {
                    last = Some((workloads[i].name, i));
                    i
                }
                None => continue,
            },
        };
        let a = &mut acc[w];
        a.pods += 1;
        a.running += u64::from(p.status == "Running");
        let terminated = p.status == "Terminated";
        a.terminated += u64::from(terminated);
        a.deleted_unstarted += u64::from(terminated && p.started_s.is_none());
        a.backoffs += u64::from(p.backoffs);
        a.first_created = Some(a.first_created.map_or(p.created_s, |t| t.min(p.created_s)));
        if let Some(started) = p.started_s {
            a.startups.push(started.since(p.created_s));
            a.started.push(started);
        }
    }
    workloads.iter().zip(acc).map(|(w, a)| one(w, a)).collect()
}

fn one(w: &WorkloadFacts<'_>, mut a: Acc) -> WorkloadSummary {
    let [p50, p90, p99, max] = nearest_ranks(&mut a.startups, [50, 90, 99, 100]);
    let mean = (!a.startups.is_empty()).then(|| {
        let total: u128 = a.startups.iter().map(|d| u128::from(d.0)).sum();
        secs_ms(SimDuration((total / a.startups.len() as u128) as u64))
    });
    let first = a.first_created.unwrap_or(SimTime::ZERO);
    let makespan = a.started.iter().max().map(|t| secs_ms(t.since(first)));
    // Rank ⌈p/100 × n⌉ among the pods that could run; a rank past those that ran is `None`.
    let could_run = a.pods - a.deleted_unstarted;
    let ranks = RUNNING_PCTS.map(|p| {
        if could_run == 0 {
            0
        } else {
            (u64::from(p) * could_run).div_ceil(100).max(1) as usize
        }
    });
    let mut since_first: Vec<SimDuration> = a.started.iter().map(|t| t.since(first)).collect();
    let [r50, r90, r100] = kth_smallest(&mut since_first, ranks);
    WorkloadSummary {
        name: w.name.to_string(),
        pods: a.pods,
        pods_running: a.running,
        pods_failed: a.pods - a.running - a.terminated,
        startup_p50_s: p50.map(secs_ms),
        startup_p90_s: p90.map(secs_ms),
        startup_p99_s: p99.map(secs_ms),
        startup_max_s: max.map(secs_ms),
        startup_mean_s: mean,
        makespan_s: makespan,
        running_50pct_s: r50.map(secs_ms),
        running_90pct_s: r90.map(secs_ms),
        running_100pct_s: r100.map(secs_ms),
        rollout_s: w.rollouts.iter().map(|d| d.map(secs_ms)).collect(),
        bytes_pulled: w.totals.bytes_pulled,
        pulls: w.totals.pulls,
        pull_failures: w.totals.pull_failures,
        backoffs: a.backoffs,
    }
}

/// `[WorkloadSummary, ...]` as `{"<name>": {...}, ...}`, in the given (declaration) order.
pub fn workloads_as_object<S: serde::Serializer>(v: &[WorkloadSummary], s: S) -> Result<S::Ok, S::Error> {
    use serde::ser::SerializeMap;
    let mut m = s.serialize_map(Some(v.len()))?;
    for w in v {
        m.serialize_entry(&w.name, w)?;
    }
    m.end()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    fn t(s: u64) -> SimTime {
        SimTime(s * 1_000_000_000)
    }

    fn pod(workload: &str, created: u64, started: Option<u64>, status: &'static str) -> PodRow {
        PodRow {
            pod_index: 0,
            workload: Arc::from(workload),
            node: Arc::from("n"),
            created_s: t(created),
            started_s: started.map(t),
            pull_s: SimDuration::ZERO,
            images_pulled: 0,
            cache_hits: 0,
            backoffs: 1,
            status,
            last_error: String::new(),
            stale_digest: false,
        }
    }

    fn facts(name: &str) -> WorkloadFacts<'_> {
        WorkloadFacts { name, totals: Totals::default(), rollouts: Vec::new() }
    }

    /// A workload whose first pod is created at 100 s: four pods ran (started 110, 130, 160,
    /// 200), one was deleted by a rolling update before it ran, one is still Pending.
    fn app_pods() -> Vec<PodRow> {
        vec![
            pod("app", 100, Some(110), "Running"),
            pod("agent", 0, Some(1), "Running"),
            pod("app", 100, Some(130), "Terminated"),
            pod("app", 100, None, "Terminated"),
            pod("app", 150, Some(160), "Running"),
            pod("app", 150, None, "Pending"),
            pod("app", 180, Some(200), "Running"),
        ]
    }

    #[test]
    fn counts_percentiles_and_makespan_from_the_first_pod() {
        let s = summarize_workloads(&[facts("agent"), facts("app")], &app_pods());
        let app = &s[1];
        assert_eq!((app.name.as_str(), app.pods, app.pods_running, app.pods_failed), ("app", 6, 3, 1));
        assert_eq!(app.backoffs, 6);
        // Startups 10, 30, 10, 20 s → sorted 10, 10, 20, 30: p50 rank 2 = 10, p90 rank 4 = 30.
        assert_eq!(
            (app.startup_p50_s, app.startup_p90_s, app.startup_max_s, app.startup_mean_s),
            (Some(10.0), Some(30.0), Some(30.0), Some(17.5))
        );
        // Last pod Running at 200 s, first pod created at 100 s (not time 0).
        assert_eq!(app.makespan_s, Some(100.0));
        assert_eq!((s[0].pods, s[0].makespan_s, s[0].startup_p50_s), (1, Some(1.0), Some(1.0)));
    }

    #[test]
    fn running_shares_count_pods_that_could_run() {
        let s = summarize_workloads(&[facts("agent"), facts("app")], &app_pods());
        let app = &s[1];
        // 6 pods less 1 deleted before it ran = 5. Running at 110, 130, 160, 200 s, i.e. 10, 30,
        // 60, 100 s after the first creation. 50 %: rank ⌈2.5⌉ = 3 → 60 s; 90 %: rank ⌈4.5⌉ =
        // 5, but only 4 ever ran → null; 100 %: rank 5 → null.
        assert_eq!(
            (app.running_50pct_s, app.running_90pct_s, app.running_100pct_s),
            (Some(60.0), None, None)
        );
        // Without the Pending pod: 4 could run, all did: 50 % rank 2 → 30 s, 90 % rank ⌈3.6⌉
        // = 4 → 100 s, 100 % rank 4 → 100 s.
        let rows: Vec<PodRow> = app_pods().into_iter().filter(|p| p.status != "Pending").collect();
        let app = &summarize_workloads(&[facts("app")], &rows)[0];
        assert_eq!(
            (app.running_50pct_s, app.running_90pct_s, app.running_100pct_s),
            (Some(30.0), Some(100.0), Some(100.0))
        );
    }

    #[test]
    fn a_workload_without_pods_has_no_times() {
        let s = summarize_workloads(&[facts("none")], &app_pods());
        let w = &s[0];
        assert_eq!((w.pods, w.pods_failed), (0, 0));
        assert_eq!((w.startup_p50_s, w.makespan_s, w.running_50pct_s), (None, None, None));
    }

    #[test]
    fn totals_and_rollouts_pass_through() {
        let f = WorkloadFacts {
            name: "app",
            totals: Totals { bytes_pulled: 7, pulls: 3, pull_failures: 1 },
            rollouts: vec![Some(SimDuration(1_234_500_000)), None],
        };
        let w = &summarize_workloads(&[f], &app_pods())[0];
        assert_eq!((w.bytes_pulled, w.pulls, w.pull_failures), (7, 3, 1));
        assert_eq!(w.rollout_s, vec![Some(1.235), None]);
    }

    #[test]
    fn units_of_the_metrics() {
        assert_eq!(field_unit("startup_p99_s"), Some(FieldUnit::Seconds));
        assert_eq!(field_unit(ROLLOUT_FIELD), Some(FieldUnit::Seconds));
        assert_eq!(field_unit("bytes_pulled"), Some(FieldUnit::Bytes));
        assert_eq!(field_unit("pods_failed"), Some(FieldUnit::Count));
        assert_eq!((field_unit("sim_end_s"), field_unit("web.pods")), (None, None));
        assert!(WORKLOAD_FIELDS.iter().all(|f| field_unit(f).is_some()));
    }

    #[test]
    fn serialises_as_an_object_in_declaration_order() {
        #[derive(Serialize)]
        struct Doc {
            #[serde(serialize_with = "workloads_as_object")]
            workloads: Vec<WorkloadSummary>,
        }
        let s = summarize_workloads(&[facts("zeta"), facts("app")], &app_pods());
        let json = serde_json::to_string(&Doc { workloads: s }).unwrap();
        assert!(json.starts_with(r#"{"workloads":{"zeta":{"pods":0,"#), "{json}");
        assert!(json.find("\"zeta\"").unwrap() < json.find("\"app\"").unwrap());
        assert!(!json.contains("\"name\""), "{json}");
    }
}
