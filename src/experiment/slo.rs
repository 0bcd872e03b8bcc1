//! SLO verdicts: of one run (`summary.json` `slos`, the lines `pullsim run` prints) from its
//! per-workload summary, and of a variant (`variants.csv`, the tables, `plan`) from its
//! `runs.csv` cells. Both read the same value: `metrics::workloads::field_value` is what a
//! workload's `runs.csv` cell holds, so a variant's verdict computed after `merge` from the
//! CSV text equals the one computed in memory.

use super::{workload_column, RunRow};
use crate::metrics::workloads::{field_value, WorkloadSummary};
use crate::scenario::SloSpec;
use serde::Serialize;

/// One SLO's verdict for one run (an item of `summary.json` `slos`).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RunVerdict {
    pub workload: String,
    pub metric: String,
    /// `<= 60 s`.
    pub bound: String,
    /// The workload's figure, as in its `workloads` entry; `null` when missing.
    pub value: Option<f64>,
    pub pass: bool,
}

/// The verdict of each SLO (file order) for a run whose workloads are `workloads`.
pub fn run_verdicts(slos: &[SloSpec], workloads: &[WorkloadSummary]) -> Vec<RunVerdict> {
    slos.iter()
        .map(|s| {
            let value =
                workloads.iter().find(|w| w.name == s.workload).and_then(|w| field_value(w, &s.metric));
            RunVerdict {
                workload: s.workload.clone(),
                metric: s.metric.clone(),
                bound: s.bound_text(),
                value,
                pass: s.meets(value),
            }
        })
        .collect()
}

/// A run's value of an SLO from its `runs.csv` cell: empty (or absent) is missing.
pub fn cell_value(cell: Option<&str>) -> Option<f64> {
    cell.filter(|c| !c.is_empty()).and_then(|c| c.parse().ok())
}

/// The `runs.csv` column of each SLO (`<workload>.<metric>`), `None` when the table has no such
/// column (a `rollout_s` no variant has, a workload an axis renamed): every value is missing.
pub fn slo_columns(slos: &[SloSpec], header: &[String]) -> Vec<Option<usize>> {
    slos.iter()
        .map(|s| {
            let name = workload_column(&s.workload, &s.metric);
            header.iter().position(|h| *h == name)
        })
        .collect()
}

/// Each SLO's value in one run, from its `runs.csv` row (`None` when missing).
pub fn row_values(slos: &[SloSpec], columns: &[Option<usize>], row: &RunRow) -> Vec<Option<f64>> {
    slos.iter()
        .zip(columns)
        .map(|(_, col)| cell_value(col.and_then(|c| row.cells.get(c)).map(String::as_str)))
        .collect()
}

/// Whether each SLO is met by one run, from its `runs.csv` row.
pub fn row_verdicts(slos: &[SloSpec], columns: &[Option<usize>], row: &RunRow) -> Vec<bool> {
    slos.iter()
        .zip(columns)
        .map(|(s, col)| s.meets(cell_value(col.and_then(|c| row.cells.get(c)).map(String::as_str))))
        .collect()
}

/// One SLO's verdict for a variant over its seeds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct VariantVerdict {
    /// Seeds whose run met it.
    pub passing: u32,
    /// Seeds run.
    pub seeds: u32,
    /// Seeds that must meet it: ⌈seeds_passing × seeds⌉.
    pub needed: u32,
}

impl VariantVerdict {
    pub fn pass(&self) -> bool {
        self.passing >= self.needed
    }

    /// `18/20`.
    pub fn fraction(&self) -> String {
        format!("{}/{}", self.passing, self.seeds)
    }
}

/// Each SLO's verdict for one variant, from the `runs.csv` rows of its seeds.
pub fn variant_verdicts(slos: &[SloSpec], columns: &[Option<usize>], rows: &[RunRow]) -> Vec<VariantVerdict> {
    let seeds = rows.len() as u32;
    let mut out: Vec<VariantVerdict> =
        slos.iter().map(|s| VariantVerdict { passing: 0, seeds, needed: s.needed(seeds) }).collect();
    for r in rows {
        for (v, ok) in out.iter_mut().zip(row_verdicts(slos, columns, r)) {
            v.passing += u32::from(ok);
        }
    }
    out
}

/// `PASS` or `FAIL`, as the tables and `variants.csv` write a verdict.
pub fn word(pass: bool) -> &'static str {
    if pass {
        "PASS"
    } else {
        "FAIL"
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::SloOp;

    fn slo(metric: &str, op: SloOp, limit: u64, pct: u32) -> SloSpec {
        SloSpec { workload: "web".into(), metric: metric.into(), op, limit, seeds_passing_pct: pct }
    }

    fn row(cells: &[&str]) -> RunRow {
        RunRow { run: 0, cells: cells.iter().map(|c| c.to_string()).collect() }
    }

    #[test]
    fn a_variant_counts_its_passing_seeds_and_a_missing_value_fails() {
        let header: Vec<String> =
            ["variant", "web.startup_p99_s", "web.pods_failed"].iter().map(|s| s.to_string()).collect();
        let slos = [
            slo("startup_p99_s", SloOp::Max, 60_000_000_000, 75),
            slo("pods_failed", SloOp::Max, 0, 100),
            slo("rollout_s", SloOp::Max, 1, 100),
        ];
        let cols = slo_columns(&slos, &header);
        assert_eq!(cols, [Some(1), Some(2), None]);
        // p99: 59.999 and 60 pass, 60.001 fails, an empty cell (no pod ran) fails: 2 of 4,
        // ⌈0.75 × 4⌉ = 3 needed. pods_failed: 0 in every seed passes.
        let rows = [
            row(&["v", "59.999", "0"]),
            row(&["v", "60", "0"]),
            row(&["v", "60.001", "0"]),
            row(&["v", "", "0"]),
        ];
        let v = variant_verdicts(&slos, &cols, &rows);
        assert_eq!(v[0], VariantVerdict { passing: 2, seeds: 4, needed: 3 });
        assert!(!v[0].pass());
        assert_eq!((v[1].fraction(), v[1].pass()), ("4/4".to_string(), true));
        // No `rollout_s` column: missing in every seed.
        assert_eq!((v[2].passing, v[2].pass()), (0, false));
    }

    #[test]
    fn a_run_reads_its_workload_figures() {
        let w = WorkloadSummary {
            name: "web".into(),
            pods: 2,
            pods_running: 2,
            pods_failed: 0,
            startup_p50_s: Some(40.0),
            startup_p90_s: Some(41.2),
            startup_p99_s: Some(41.2),
            startup_max_s: Some(41.2),
            startup_mean_s: Some(40.6),
            makespan_s: Some(41.2),
            running_50pct_s: Some(40.0),
            running_90pct_s: Some(41.2),
            running_100pct_s: Some(41.2),
            rollout_s: vec![],
            bytes_pulled: 0,
            pulls: 2,
            pull_failures: 0,
            backoffs: 0,
        };
        let slos =
            [slo("startup_p99_s", SloOp::Max, 41_000_000_000, 100), slo("pods_running", SloOp::Min, 2, 100)];
        let v = run_verdicts(&slos, std::slice::from_ref(&w));
        assert_eq!((v[0].bound.as_str(), v[0].value, v[0].pass), ("<= 41 s", Some(41.2), false));
        assert_eq!((v[1].bound.as_str(), v[1].value, v[1].pass), (">= 2", Some(2.0), true));
        // A workload the run does not have: no value, fails.
        assert!(!run_verdicts(&slos, &[])[1].pass);
        let json = serde_json::to_string(&v[0]).unwrap();
        assert_eq!(
            json,
            r#"{"workload":"web","metric":"startup_p99_s","bound":"<= 41 s","value":41.2,"pass":false}"#
        );
    }
}
