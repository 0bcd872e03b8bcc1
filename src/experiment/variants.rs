//! `variants.csv` and the statistics behind the comparison table: for each variant and key
//! metric, the mean over its seeds with a 95% confidence interval, and the paired difference
//! against the baseline, computed from the `runs.csv` text cells (so a folder rebuilt by `merge`
//! gives the same bytes).
//!
//! The key metrics are the key workload's (`key`) startup percentiles, makespan and failures,
//! and the cluster's peaks. Each has a unit (for the practical threshold of `stats::MinEffect`)
//! and what bounds it (for the interval's range, `stats::Range`): every key metric is at least
//! 0; pods not running are at most the pods, pull failures at most the pull attempts, pulls in
//! flight at most the pods of the run.
//!
//! With `[[slo]]` tables, each variant also gets its SLO verdicts (`experiment::slo`), from
//! the same cells: per SLO the seeds that met it, and whether enough did.

use super::plan::Plan;
use super::slo::{self as slo_verdicts, VariantVerdict};
use super::stats::{self, Estimate, Range, Unit};
use super::{workload_column, Columns, RunRow};

/// A metric of `variants.csv` and the compare table.
#[derive(Clone, Copy, Debug)]
pub struct Metric {
    /// `runs.csv` column (of the key workload's group when `per_workload`).
    pub field: &'static str,
    /// Short name for the terminal table.
    pub label: &'static str,
    /// The key workload's value (`<workload>.<field>`), not the whole run's.
    pub per_workload: bool,
    pub unit: Unit,
    /// The `runs.csv` field that bounds it from above in each run (of the same group), if any.
    pub at_most: Option<&'static str>,
}

const fn time(field: &'static str, label: &'static str) -> Metric {
    Metric { field, label, per_workload: true, unit: Unit::Seconds, at_most: None }
}

/// The key metrics: the key workload's startup percentiles, makespan and failures, and the
/// whole cluster's peaks (pulls in flight and registry egress are not per workload).
pub const KEY_METRICS: [Metric; 9] = [
    time("startup_p50_s", "startup p50"),
    time("startup_p90_s", "startup p90"),
    time("startup_p99_s", "startup p99"),
    time("startup_mean_s", "startup mean"),
    time("makespan_s", "makespan"),
    // A pod has at most one pull attempt in flight.
    Metric {
        field: "peak_pulls_in_flight",
        label: "peak pulls",
        per_workload: false,
        unit: Unit::Count,
        at_most: Some("pods"),
    },
    Metric {
        field: "peak_registry_egress_bytes_per_s",
        label: "peak egress",
        per_workload: false,
        unit: Unit::BytesPerSecond,
        at_most: None,
    },
    Metric {
        field: "pull_failures",
        label: "pull failures",
        per_workload: true,
        unit: Unit::Count,
        at_most: Some("pulls"),
    },
    Metric {
        field: "pods_failed",
        label: "pods not running",
        per_workload: true,
        unit: Unit::Count,
        at_most: Some("pods"),
    },
];

/// The `runs.csv` column of `field` for a key metric of this kind: the key workload's, or the
/// whole run's when the scenario has no workload (and for the peaks).
fn key_field(field: &str, m: &Metric, columns: &Columns) -> String {
    match (&columns.workload, m.per_workload) {
        (Some(k), true) => workload_column(&k.name, field),
        _ => field.to_string(),
    }
}

/// The `runs.csv` column a key metric is read from.
pub fn key_column(m: &Metric, columns: &Columns) -> String {
    key_field(m.field, m, columns)
}

/// The statistics of one metric for one variant.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct MetricStats {
    pub estimate: Option<Estimate>,
    /// Paired difference against the baseline over the same seeds.
    pub diff: Option<Estimate>,
    /// The smallest difference marked significant (`stats::MinEffect::threshold` of the
    /// baseline's mean).
    pub min_effect: f64,
}

impl MetricStats {
    /// The paired difference is significant: its interval excludes 0 and it is at least
    /// `min_effect`.
    pub fn significant(&self) -> bool {
        self.diff.is_some_and(|d| d.significant(self.min_effect))
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct VariantStats {
    pub runs: usize,
    /// One per `KEY_METRICS` entry.
    pub metrics: Vec<MetricStats>,
    /// One per SLO (`Columns::slos`): the seeds that met it.
    pub slos: Vec<VariantVerdict>,
}

impl VariantStats {
    /// Every SLO is met (true without SLOs).
    pub fn slo_pass(&self) -> bool {
        self.slos.iter().all(VariantVerdict::pass)
    }
}

/// The values of one `runs.csv` column for one variant, in seed order.
fn column(rows: &[RunRow], col: usize) -> Result<Vec<Option<f64>>, String> {
    rows.iter()
        .map(|r| {
            let c = r.cells.get(col).map(String::as_str).unwrap_or("");
            if c.is_empty() {
                Ok(None)
            } else {
                c.parse::<f64>().map(Some).map_err(|_| format!("runs.csv: not a number: {c:?}"))
            }
        })
        .collect()
}

/// The largest value present, if any.
fn max_present(xs: &[Option<f64>]) -> Option<f64> {
    xs.iter().flatten().copied().reduce(f64::max)
}

/// Statistics per variant from complete `runs.csv` rows in plan order.
pub fn variant_stats(
    plan: &Plan,
    columns: &Columns,
    header: &[String],
    rows: &[RunRow],
) -> Result<Vec<VariantStats>, String> {
    let n = plan.seeds.len();
    if rows.len() != plan.runs() {
        return Err(format!("{} runs in runs.csv, the plan has {}", rows.len(), plan.runs()));
    }
    let find = |name: String| -> Result<usize, String> {
        header.iter().position(|h| *h == name).ok_or_else(|| format!("runs.csv: no column {name}"))
    };
    // Per key metric: its column and its bound's.
    let cols: Vec<(usize, Option<usize>)> = KEY_METRICS
        .iter()
        .map(|m| {
            let bound = m.at_most.map(|f| find(key_field(f, m, columns))).transpose()?;
            Ok((find(key_column(m, columns))?, bound))
        })
        .collect::<Result<_, String>>()?;
    let per_variant = |v: usize, col: usize| column(&rows[v * n..(v + 1) * n], col);
    // The values can be in [0, the largest bound of the variant's runs].
    let range = |v: usize, bound: Option<usize>| -> Result<Range, String> {
        Ok(match bound {
            Some(b) => max_present(&per_variant(v, b)?).map_or(Range::NON_NEGATIVE, Range::up_to),
            None => Range::NON_NEGATIVE,
        })
    };
    let slo_cols = slo_verdicts::slo_columns(&columns.slos, header);
    let mut out = Vec::with_capacity(plan.variants.len());
    for v in 0..plan.variants.len() {
        let mut metrics = Vec::with_capacity(cols.len());
        for (m, &(col, bound)) in KEY_METRICS.iter().zip(&cols) {
            let xs = per_variant(v, col)?;
            let base = per_variant(plan.baseline, col)?;
            let present: Vec<f64> = xs.iter().flatten().copied().collect();
            let base_present: Vec<f64> = base.iter().flatten().copied().collect();
            let (own, of_base) = (range(v, bound)?, range(plan.baseline, bound)?);
            // A difference of two values in [0, B] is in [-B, B], B the larger bound.
            let diff_range = Range::up_to(own.high.max(of_base.high)).differences();
            let base_mean = stats::estimate(&base_present).map(|e| e.mean);
            metrics.push(MetricStats {
                estimate: stats::estimate_in(&present, own),
                diff: stats::paired_difference_in(&xs, &base, diff_range),
                min_effect: columns.min_effect.threshold(m.unit, base_mean),
            });
        }
        let slos = slo_verdicts::variant_verdicts(&columns.slos, &slo_cols, &rows[v * n..(v + 1) * n]);
        out.push(VariantStats { runs: n, metrics, slos });
    }
    Ok(out)
}

/// The columns of each key metric in `variants.csv`, after its field name.
const METRIC_SUFFIXES: [&str; 10] = [
    "mean",
    "ci95_low",
    "ci95_high",
    "identical",
    "diff_mean",
    "diff_ci95_low",
    "diff_ci95_high",
    "diff_identical",
    "diff_min_effect",
    "diff_significant",
];

/// `variants.csv` header: variant, axes, baseline flag, runs, the key workload, then per key
/// metric its mean, CI and whether every seed gave the same value, and the paired difference
/// against the baseline with its CI, whether it was the same in every seed, the practical
/// threshold and its significance; with SLOs, then `slo_pass` (every SLO met) and per SLO
/// `slo<k>.pass` and `slo<k>.seeds_passing` (k from 1 in file order).
pub fn variants_header(plan: &Plan, columns: &Columns) -> Vec<String> {
    let mut h = vec!["variant".to_string()];
    h.extend(plan.axes.iter().map(|a| a.key.clone()));
    h.push("baseline".into());
    h.push("seeds".into());
    h.push("workload".into());
    for m in KEY_METRICS {
        h.extend(METRIC_SUFFIXES.iter().map(|suffix| format!("{}_{suffix}", m.field)));
    }
    if !columns.slos.is_empty() {
        h.push("slo_pass".into());
        for k in 1..=columns.slos.len() {
            h.push(format!("slo{k}.pass"));
            h.push(format!("slo{k}.seeds_passing"));
        }
    }
    h
}

/// Three decimals (the output precision of times), empty when undefined.
fn fixed3(v: Option<f64>) -> String {
    v.map(|x| format!("{x:.3}")).unwrap_or_default()
}

pub fn variants_rows(plan: &Plan, columns: &Columns, stats: &[VariantStats]) -> Vec<Vec<String>> {
    let workload = columns.workload.as_ref().map(|k| k.name.clone()).unwrap_or_default();
    plan.variants
        .iter()
        .zip(stats)
        .enumerate()
        .map(|(i, (v, s))| {
            let mut r = vec![v.name.clone()];
            r.extend(v.values.iter().cloned());
            r.push((i == plan.baseline).to_string());
            r.push(s.runs.to_string());
            r.push(workload.clone());
            for m in &s.metrics {
                for e in [m.estimate, m.diff] {
                    r.push(fixed3(e.map(|e| e.mean)));
                    r.push(fixed3(e.and_then(|e| e.low())));
                    r.push(fixed3(e.and_then(|e| e.high())));
                    r.push(e.map(|e| e.identical.to_string()).unwrap_or_default());
                }
                r.push(fixed3(Some(m.min_effect)));
                r.push(m.diff.map(|_| m.significant().to_string()).unwrap_or_default());
            }
            if !columns.slos.is_empty() {
                r.push(slo_verdicts::word(s.slo_pass()).to_string());
                for v in &s.slos {
                    r.push(slo_verdicts::word(v.pass()).to_string());
                    r.push(v.fraction());
                }
            }
            r
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::super::plan::{grid_variants, seeds, Axis, Kind};
    use super::super::{runs_header, EXTRA_FIELDS, PEAK_FIELDS, SUMMARY_FIELDS};
    use super::*;

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

    /// A `runs.csv` row whose fields are 0 except those given.
    fn row(run: usize, name: &str, cells: &[(&str, &str)]) -> RunRow {
        let mut out = vec![name.to_string(), "x".into()];
        for f in SUMMARY_FIELDS.iter().chain(&PEAK_FIELDS).chain(&EXTRA_FIELDS) {
            out.push(cells.iter().find(|(k, _)| k == f).map_or("0", |(_, v)| v).to_string());
        }
        RunRow { run, cells: out }
    }

    fn metric(field: &str) -> usize {
        KEY_METRICS.iter().position(|m| m.field == field).unwrap()
    }

    #[test]
    fn variant_stats_pair_by_seed_against_the_baseline() {
        let plan = plan2();
        let header = runs_header(&plan, &Columns::default());
        // Baseline p99 10, 20, 30; variant 2: 8, 17, 29 → differences -2, -3, -1: mean -2,
        // s = 1, half-width = 4.3027 / √3 = 2.48417 → [-4.484, 0.484], not significant.
        let r =
            |run, name, p99, makespan| row(run, name, &[("startup_p99_s", p99), ("makespan_s", makespan)]);
        let rows = vec![
            r(0, "k=1", "10", "100"),
            r(1, "k=1", "20", "100"),
            r(2, "k=1", "30", "100"),
            r(3, "k=2", "8", "90"),
            r(4, "k=2", "17", "91"),
            r(5, "k=2", "29", ""),
        ];
        let st = variant_stats(&plan, &Columns::default(), &header, &rows).unwrap();
        let p99 = metric("startup_p99_s");
        let d = st[1].metrics[p99].diff.unwrap();
        assert_eq!(d.mean, -2.0);
        assert!((d.half_width.unwrap() - 2.48417).abs() < 1e-5);
        assert!(!st[1].metrics[p99].significant());
        // Makespan: the third seed is missing in the variant, so two pairs: -10, -9.
        let mk = metric("makespan_s");
        assert_eq!(st[1].metrics[mk].diff.unwrap().n, 2);
        assert_eq!(st[1].metrics[mk].estimate.unwrap().mean, 90.5);
        // Makespan 100 in every seed of the baseline: identical, no interval.
        assert!(st[0].metrics[mk].estimate.unwrap().identical);
        let table = variants_rows(&plan, &Columns::default(), &st);
        let h = variants_header(&plan, &Columns::default());
        let at = |name: &str| h.iter().position(|x| x == name).unwrap();
        assert_eq!(table[1][at("startup_p99_s_diff_mean")], "-2.000");
        assert_eq!(table[1][at("startup_p99_s_diff_ci95_low")], "-4.484");
        assert_eq!(table[1][at("startup_p99_s_diff_significant")], "false");
        // Threshold: max(1 % of the baseline mean 20, 0.1 s) = 0.2 s.
        assert_eq!(table[1][at("startup_p99_s_diff_min_effect")], "0.200");
        assert_eq!(table[0][at("baseline")], "true");
        assert_eq!(table[0][at("startup_p99_s_mean")], "20.000");
        assert_eq!(table[0][at("startup_p99_s_identical")], "false");
        assert_eq!(
            (&table[0][at("makespan_s_mean")][..], &table[0][at("makespan_s_ci95_low")][..]),
            ("100.000", "")
        );
        assert_eq!(table[0][at("makespan_s_identical")], "true");
        assert_eq!(h.len(), table[0].len());
        // Incomplete tables are refused.
        assert!(variant_stats(&plan, &Columns::default(), &header, &rows[..5]).is_err());
    }

    #[test]
    fn slo_verdicts_count_the_seeds_whose_cell_meets_the_bound() {
        let plan = plan2();
        let mut header = runs_header(&plan, &Columns::default());
        header.push("web.startup_p99_s".into());
        let r = |run, name, p99: &str| {
            let mut x = row(run, name, &[]);
            x.cells.push(p99.into());
            x
        };
        // k=1: 50, 61, 70 s → 1 of 3 at most 60 s; k=2: 40, 45 and no value → 2 of 3. 60 % of
        // 3 seeds: ⌈1.8⌉ = 2 needed.
        let rows = vec![
            r(0, "k=1", "50"),
            r(1, "k=1", "61"),
            r(2, "k=1", "70"),
            r(3, "k=2", "40"),
            r(4, "k=2", "45"),
            r(5, "k=2", ""),
        ];
        let slo = crate::scenario::SloSpec {
            workload: "web".into(),
            metric: "startup_p99_s".into(),
            op: crate::scenario::SloOp::Max,
            limit: 60_000_000_000,
            seeds_passing_pct: 60,
        };
        let columns = Columns { slos: vec![slo], ..Columns::default() };
        let st = variant_stats(&plan, &columns, &header, &rows).unwrap();
        assert_eq!((st[0].slos[0].passing, st[0].slos[0].needed, st[0].slo_pass()), (1, 2, false));
        assert_eq!((st[1].slos[0].passing, st[1].slo_pass()), (2, true));
        let h = variants_header(&plan, &columns);
        assert_eq!(h[h.len() - 3..], ["slo_pass", "slo1.pass", "slo1.seeds_passing"]);
        let table = variants_rows(&plan, &columns, &st);
        assert_eq!(table[0][h.len() - 3..], ["FAIL", "FAIL", "1/3"]);
        assert_eq!(table[1][h.len() - 3..], ["PASS", "PASS", "2/3"]);
        // Without SLOs, no SLO columns.
        assert!(!variants_header(&plan, &Columns::default()).iter().any(|c| c.starts_with("slo")));
    }

    #[test]
    fn counts_are_cut_at_zero_and_at_their_bound_and_small_differences_are_not_marked() {
        let plan = plan2();
        let header = runs_header(&plan, &Columns::default());
        // 4 pods per run. Pods not running: baseline 0, 0, 0; variant 0, 0, 3: mean 1,
        // s = √3, half-width = 4.3027 × √3 / √3 = 4.3027 → [-3.303, 5.303] cut to [0, 4].
        // Startup p50: baseline 36.707 in every seed, variant 36.695 in every seed: an exact
        // -0.012 s, below max(1 % × 36.707, 0.1) = 0.367 s.
        let r = |run, name, failed, p50| {
            row(run, name, &[("pods", "4"), ("pods_failed", failed), ("startup_p50_s", p50)])
        };
        let rows = vec![
            r(0, "k=1", "0", "36.707"),
            r(1, "k=1", "0", "36.707"),
            r(2, "k=1", "0", "36.707"),
            r(3, "k=2", "0", "36.695"),
            r(4, "k=2", "0", "36.695"),
            r(5, "k=2", "3", "36.695"),
        ];
        let st = variant_stats(&plan, &Columns::default(), &header, &rows).unwrap();
        let failed = &st[1].metrics[metric("pods_failed")];
        let e = failed.estimate.unwrap();
        assert_eq!((e.mean, e.low(), e.high()), (1.0, Some(0.0), Some(4.0)));
        // The difference is within [-4, 4]: [-3.303, 5.303] cut to [-3.303, 4].
        let d = failed.diff.unwrap();
        assert_eq!(d.high(), Some(4.0));
        assert!((d.low().unwrap() + 3.3027).abs() < 1e-4);
        // Baseline's zero failures in every seed: identical.
        assert!(st[0].metrics[metric("pods_failed")].estimate.unwrap().identical);
        let p50 = &st[1].metrics[metric("startup_p50_s")];
        assert!(p50.diff.unwrap().identical && p50.diff.unwrap().significant(0.0));
        assert!((p50.min_effect - 0.36707).abs() < 1e-12);
        assert!(!p50.significant());
        // With --min-effect 0%,0s,0 the same difference is marked.
        let columns =
            Columns { min_effect: stats::MinEffect::parse("0%,0s,0").unwrap(), ..Columns::default() };
        let st = variant_stats(&plan, &columns, &header, &rows).unwrap();
        assert!(st[1].metrics[metric("startup_p50_s")].significant());
    }
}
