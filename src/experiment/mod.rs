//! Experiments over many runs: `sweep` (a grid of settings × seeds) and `compare` (serial vs
//! parallel image pulls). The only module that uses rayon; pure apart from running the model.
//!
//! - `plan`: which variants and seeds, in which order, and shards;
//! - `key`: which workload the key columns are about;
//! - `run`: load variants (skipping invalid combinations), run in parallel, collect in order;
//! - `stats`: mean, 95% CI (Student's t), paired differences, what is possible and what is
//!   significant;
//! - `variants`: the key metrics' statistics per variant, `variants.csv`;
//! - `slo`: SLO verdicts of a run and, from `runs.csv` cells, of a variant;
//! - `planner`: the search of `pullsim plan` (pure);
//! - this file: the tables written to `runs.csv` and `startups.csv`, and the `sweep.json`
//!   manifest, all as text cells so that a folder rebuilt by `merge` from CSVs is
//!   byte-identical to one written straight from memory (both compute `variants.csv` from the
//!   same `runs.csv` cells).

pub mod key;
pub mod plan;
pub mod planner;
pub mod run;
pub mod slo;
pub mod stats;
pub mod variants;

pub use variants::{
    key_column, variant_stats, variants_header, variants_rows, Metric, MetricStats, VariantStats, KEY_METRICS,
};

use crate::metrics::summary::Summary;
pub use crate::metrics::workloads::{ROLLOUT_FIELD, WORKLOAD_FIELDS};

use crate::metrics::workloads::WorkloadSummary;
use plan::{Plan, Shard};
use run::RunResult;
use serde::{Deserialize, Serialize};

/// The contract's summary fields, in contract order (the `runs.csv` columns after the grid).
pub const SUMMARY_FIELDS: [&str; 17] = [
    "seed",
    "pods",
    "pods_running",
    "pods_failed",
    "startup_p50_s",
    "startup_p90_s",
    "startup_p99_s",
    "startup_max_s",
    "startup_mean_s",
    "makespan_s",
    "bytes_pulled",
    "pulls",
    "cache_hits",
    "pull_failures",
    "backoffs",
    "events",
    "sim_end_s",
];
/// Per-run exact peaks (event resolution, whatever `sample_every`), after the summary fields.
pub const PEAK_FIELDS: [&str; 2] = ["peak_pulls_in_flight", "peak_registry_egress_bytes_per_s"];
/// The `summary.json` facts of the whole run that the contract's fields lack, after the peaks.
pub const EXTRA_FIELDS: [&str; 4] =
    ["pods_stale_digest", "gc_images_removed", "gc_bytes_freed", "gc_free_space_failed"];
/// The `runs.csv` column of `field` for workload `name`.
pub fn workload_column(name: &str, field: &str) -> String {
    format!("{name}.{field}")
}

/// A workload with a group of `runs.csv` columns.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorkloadColumns {
    pub name: String,
    /// Some variant gives it an `update`: it has a `rollout_s` column.
    pub rollout: bool,
}

/// What the tables of a sweep folder show besides the plan's runs; written to `sweep.json`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Columns {
    /// The workloads of every variant, in the order they first appear (variants in plan order,
    /// workloads in file order). Variants of one file normally share them; a variant without
    /// one (a grid value that renames it) leaves its cells empty.
    #[serde(default)]
    pub workloads: Vec<WorkloadColumns>,
    /// The workload of the key columns (`key`); `None` when the scenario has no workload.
    #[serde(default)]
    pub workload: Option<key::KeyWorkload>,
    /// The smallest paired difference marked significant (`--min-effect`).
    #[serde(default)]
    pub min_effect: stats::MinEffect,
    /// The scenario's `[[slo]]` tables (with the fixed `--set`s): each variant is judged
    /// against them (`variants.csv` `slo_pass`).
    #[serde(default)]
    pub slos: Vec<crate::scenario::SloSpec>,
}

/// The `Columns` of a plan whose variants load as `scenarios` (plan order), with `workload` as
/// the key workload.
pub fn columns_of<'a>(
    scenarios: impl IntoIterator<Item = &'a crate::scenario::Scenario>,
    workload: Option<key::KeyWorkload>,
    min_effect: stats::MinEffect,
) -> Columns {
    let mut workloads: Vec<WorkloadColumns> = Vec::new();
    for scn in scenarios {
        for w in &scn.workloads {
            let rollout = matches!(w.kind, crate::scenario::WorkloadKind::Deployment { update: Some(_), .. });
            match workloads.iter_mut().find(|c| c.name == w.name) {
                Some(c) => c.rollout |= rollout,
                None => workloads.push(WorkloadColumns { name: w.name.clone(), rollout }),
            }
        }
    }
    Columns { workloads, workload, min_effect, slos: Vec::new() }
}

/// Summary values as `runs.csv` cells: integers as integers, seconds as the shortest text
/// that reads back to the same f64, a missing percentile (no pod ran) as empty.
pub fn summary_cells(s: &Summary) -> Vec<String> {
    let f = |v: f64| format!("{v}");
    let o = |v: Option<f64>| v.map(f).unwrap_or_default();
    vec![
        s.seed.to_string(),
        s.pods.to_string(),
        s.pods_running.to_string(),
        s.pods_failed.to_string(),
        o(s.startup_p50_s),
        o(s.startup_p90_s),
        o(s.startup_p99_s),
        o(s.startup_max_s),
        o(s.startup_mean_s),
        f(s.makespan_s),
        s.bytes_pulled.to_string(),
        s.pulls.to_string(),
        s.cache_hits.to_string(),
        s.pull_failures.to_string(),
        s.backoffs.to_string(),
        s.events.to_string(),
        f(s.sim_end_s),
    ]
}

/// A workload's cells, as `summary_cells` writes numbers: `WORKLOAD_FIELDS`, then `rollout_s`
/// when `rollout` (the last update's duration; empty when unfinished or absent).
fn workload_cells(w: &WorkloadSummary, rollout: bool) -> Vec<String> {
    let f = |v: f64| format!("{v}");
    let o = |v: Option<f64>| v.map(f).unwrap_or_default();
    let mut cells = vec![
        w.pods.to_string(),
        w.pods_running.to_string(),
        w.pods_failed.to_string(),
        o(w.startup_p50_s),
        o(w.startup_p90_s),
        o(w.startup_p99_s),
        o(w.startup_max_s),
        o(w.startup_mean_s),
        o(w.makespan_s),
        o(w.running_50pct_s),
        o(w.running_90pct_s),
        o(w.running_100pct_s),
        w.bytes_pulled.to_string(),
        w.pulls.to_string(),
        w.pull_failures.to_string(),
        w.backoffs.to_string(),
    ];
    if rollout {
        cells.push(o(w.rollout_s.last().copied().flatten()));
    }
    cells
}

/// `runs.csv` header: `variant`, the axis keys, the summary fields, the peaks, the extra
/// fields, then each workload's columns.
pub fn runs_header(plan: &Plan, columns: &Columns) -> Vec<String> {
    let mut h = vec!["variant".to_string()];
    h.extend(plan.axes.iter().map(|a| a.key.clone()));
    h.extend(SUMMARY_FIELDS.iter().chain(&PEAK_FIELDS).chain(&EXTRA_FIELDS).map(|s| s.to_string()));
    for w in &columns.workloads {
        let rollout = w.rollout.then_some(ROLLOUT_FIELD);
        h.extend(WORKLOAD_FIELDS.iter().copied().chain(rollout).map(|f| workload_column(&w.name, f)));
    }
    h
}

/// One `runs.csv` row with its plan run index (rows are written in run order).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RunRow {
    pub run: usize,
    pub cells: Vec<String>,
}

pub fn run_row(plan: &Plan, columns: &Columns, r: &RunResult) -> RunRow {
    let (v, _) = plan.run_at(r.run);
    let variant = &plan.variants[v];
    let mut cells = vec![variant.name.clone()];
    cells.extend(variant.values.iter().cloned());
    cells.extend(summary_cells(&r.summary));
    cells.push(r.peak_pulls_in_flight.to_string());
    cells.push(format!("{}", r.peak_registry_egress_bytes_per_s));
    for n in [r.pods_stale_digest, r.gc_images_removed, r.gc_bytes_freed, r.gc_free_space_failed] {
        cells.push(n.to_string());
    }
    for c in &columns.workloads {
        match r.workloads.iter().find(|w| w.name == c.name) {
            Some(w) => cells.extend(workload_cells(w, c.rollout)),
            None => cells
                .extend(std::iter::repeat_n(String::new(), WORKLOAD_FIELDS.len() + usize::from(c.rollout))),
        }
    }
    RunRow { run: r.run, cells }
}

pub const STARTUPS_HEADER: [&str; 3] = ["variant", "seed", "startup_s"];

/// The `startups.csv` rows of one run (one per pod that ran, in pod order), already encoded.
///
/// Why encoded: a sweep has a row per pod per run (10^5 and more). Encoding them where the
/// run finished, on the run's own thread, takes that work off the serial part after the runs
/// (it was most of it: `sweep --jobs 2` ran only ×1.8 faster than `--jobs 1`), and one string
/// per run replaces three per row.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct StartupRows {
    /// Plan run index.
    pub run: usize,
    /// The rows as CSV text, each ending with the CSV writer's record terminator.
    pub csv: Vec<u8>,
    /// The value of each row's `startup_s` as the text reads back (what the charts plot).
    pub startups_s: Vec<f64>,
}

/// Encodes `startups.csv` rows one at a time, exactly as a `csv::Writer` on the file would.
pub struct StartupRowsEncoder {
    run: usize,
    writer: csv::Writer<Vec<u8>>,
    startups_s: Vec<f64>,
}

impl StartupRowsEncoder {
    pub fn new(run: usize) -> StartupRowsEncoder {
        StartupRowsEncoder { run, writer: csv::Writer::from_writer(Vec::new()), startups_s: Vec::new() }
    }

    /// The run these rows belong to.
    pub fn run(&self) -> usize {
        self.run
    }

    /// Appends one row; `value` is the row's `startup_s` when its text is a number.
    pub fn push(&mut self, row: [&str; 3], value: Option<f64>) {
        // Writing to memory cannot fail.
        self.writer.write_record(row).expect("CSV into memory");
        self.startups_s.extend(value);
    }

    pub fn finish(self) -> StartupRows {
        let csv = self.writer.into_inner().expect("CSV into memory");
        StartupRows { run: self.run, csv, startups_s: self.startups_s }
    }
}

/// The `startups.csv` rows of one finished run: variant, seed and each startup (the shortest
/// text that reads back to the same f64).
pub fn startup_rows(plan: &Plan, run: usize, startups_s: &[f64]) -> StartupRows {
    use std::fmt::Write as _;
    let (v, s) = plan.run_at(run);
    let (name, seed) = (&plan.variants[v].name, plan.seeds[s].to_string());
    let mut rows = StartupRowsEncoder::new(run);
    let mut cell = String::new();
    for &x in startups_s {
        cell.clear();
        write!(cell, "{x}").expect("formatting into a String");
        rows.push([name, &seed, &cell], Some(x));
    }
    rows.finish()
}

/// `sweep.json`: what a result folder holds and how it was made.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    pub pullsim_version: String,
    /// `[simulation] name`.
    pub scenario: String,
    /// The file as given on the command line.
    pub scenario_file: String,
    /// FNV-1a 64 of the scenario text, hex: identifies the input without storing it twice
    /// (`scenario.toml` in the folder is the text itself).
    pub scenario_fnv1a64: String,
    /// `--set KEY=VALUE` applied to every variant.
    pub fixed_overrides: Vec<String>,
    #[serde(flatten)]
    pub plan: Plan,
    pub runs: usize,
    /// Set in the folder of one shard; `null` for a whole sweep (also after `merge`).
    pub shard: Option<Shard>,
    #[serde(flatten)]
    pub columns: Columns,
}

/// FNV-1a, 64 bits: a stable, dependency-free fingerprint (not a security hash).
pub fn fnv1a64(bytes: &[u8]) -> u64 {
    bytes
        .iter()
        .fold(0xcbf2_9ce4_8422_2325u64, |h, &b| (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3))
}

#[cfg(test)]
mod tests {
    use super::plan::{grid_variants, seeds, Axis, Kind};
    use super::*;

    #[test]
    fn fnv1a64_reference_values() {
        assert_eq!(fnv1a64(b""), 0xcbf29ce484222325);
        assert_eq!(fnv1a64(b"a"), 0xaf63dc4c8601ec8c);
        assert_eq!(fnv1a64(b"foobar"), 0x85944171f73967e8);
    }

    fn plan2() -> Plan {
        let axes = vec![Axis { key: "k".into(), values: vec!["1".into(), "2".into()] }];
        Plan {
            kind: Kind::Sweep,
            variants: grid_variants(&axes),
            axes,
            skipped: vec![],
            baseline: 0,
            seeds: seeds(7, 3),
        }
    }

    #[test]
    fn an_slo_reads_the_value_the_cell_holds() {
        use crate::metrics::workloads::field_value;
        let w = WorkloadSummary {
            name: "web".into(),
            pods: 4,
            pods_running: 3,
            pods_failed: 1,
            startup_p50_s: Some(1.5),
            startup_p90_s: Some(2.25),
            startup_p99_s: Some(252.705),
            startup_max_s: Some(253.092),
            startup_mean_s: Some(0.001),
            makespan_s: None,
            running_50pct_s: Some(9.0),
            running_90pct_s: Some(10.0),
            running_100pct_s: None,
            rollout_s: vec![Some(1.0), Some(61.5)],
            bytes_pulled: 594_029_000_000,
            pulls: 303,
            pull_failures: 3,
            backoffs: 7,
        };
        let cells = workload_cells(&w, true);
        let fields: Vec<&str> = WORKLOAD_FIELDS.iter().copied().chain([ROLLOUT_FIELD]).collect();
        assert_eq!(cells.len(), fields.len());
        for (f, cell) in fields.iter().zip(&cells) {
            let value = field_value(&w, f);
            assert_eq!(value, if cell.is_empty() { None } else { Some(cell.parse().unwrap()) }, "{f}");
            assert_eq!(value.map(|v| format!("{v}")).unwrap_or_default(), *cell, "{f}");
        }
        assert_eq!(field_value(&w, "nope"), None);
    }

    #[test]
    fn startup_rows_are_what_a_csv_writer_on_the_file_writes() {
        let mut plan = plan2();
        // A name that needs quoting, and values whose shortest text has many digits.
        plan.variants[1].name = "k=2, \"quoted\"".into();
        let values = [0.5, 12.345, 1e-7, 123456789.125];
        let run = 4; // variant 1, seed 1
        let rows = startup_rows(&plan, run, &values);
        let mut w = csv::Writer::from_writer(Vec::new());
        for x in values {
            w.write_record([plan.variants[1].name.clone(), plan.seeds[1].to_string(), format!("{x}")])
                .unwrap();
        }
        let expected = w.into_inner().unwrap();
        assert_eq!(String::from_utf8(rows.csv.clone()).unwrap(), String::from_utf8(expected).unwrap());
        assert!(rows.csv.starts_with(b"\"k=2, \"\"quoted\"\"\","));
        assert_eq!((rows.run, rows.startups_s.as_slice()), (run, &values[..]));
        // Read back row by row (what `merge` does), the block is the same.
        let mut again = StartupRowsEncoder::new(run);
        let mut rd = csv::ReaderBuilder::new().has_headers(false).from_reader(rows.csv.as_slice());
        for rec in rd.records() {
            let rec = rec.unwrap();
            again.push([&rec[0], &rec[1], &rec[2]], rec[2].parse().ok());
        }
        assert_eq!(again.finish(), rows);
    }
}
