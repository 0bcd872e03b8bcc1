//! `sweep`, `compare`, `merge` and `chart`: build a plan, run it with a progress bar, write the
//! folder atomically (staging then rename), draw the charts, print the comparison table.

use super::args::{ChartArgs, CompareArgs, MergeArgs, SweepArgs};
use super::{check_out, read_scenario_file, results_error, CliError};
use crate::experiment::plan::{self, Axis, Kind, Plan, Shard, Variant};
use crate::experiment::run::{self as xrun, RunResult};
use crate::experiment::stats::{Estimate, MinEffect, Unit};
use crate::experiment::{self, Manifest, Metric, RunRow, StartupRows, VariantStats, KEY_METRICS};
use crate::report::sweep::{self as rsweep, SweepFolder, SweepTables};
use crate::report::Staging;
use crate::scenario::{self, Override, Scenario};
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::time::Instant;

/// Seeds per variant when neither `--seeds` nor `[sweep] seeds` says.
pub const DEFAULT_SEEDS: u32 = 10;
/// `compare`'s parallel limits unless `--max-parallel` says otherwise.
pub const DEFAULT_PARALLEL_LIMITS: [u32; 3] = [2, 4, 8];

pub(super) fn bad(m: impl Into<String>) -> CliError {
    CliError::BadInput(m.into())
}

/// `--set` arguments of a sweep: `KEY=V1,V2,...` is an axis; `KEY=V` is a fixed override unless
/// KEY is already an axis of the file's grid (then it narrows that axis to one value).
fn split_sets(
    set: &[String],
    file_axes: &[(String, Vec<String>)],
) -> Result<(Vec<Override>, Vec<Axis>), CliError> {
    let mut fixed = Vec::new();
    let mut axes: Vec<Axis> = Vec::new();
    for s in set {
        let ov = Override::parse(s).map_err(|e| bad(format!("--set: {e}")))?;
        let values = plan::split_values(&ov.value);
        if values.iter().any(String::is_empty) {
            return Err(bad(format!("--set {s}: empty value in the list")));
        }
        if values.len() == 1 && !file_axes.iter().any(|(k, _)| *k == ov.key) {
            fixed.push(ov);
        } else if axes.iter().any(|a| a.key == ov.key) {
            return Err(bad(format!("--set {}: the same key is given twice", ov.key)));
        } else {
            axes.push(Axis { key: ov.key, values });
        }
    }
    Ok((fixed, axes))
}

/// Every variant is judged against the same SLOs (the file's, with the fixed `--set`s), so an
/// axis may not change one: it would move the target along with the setting.
pub(super) fn refuse_slo_axes(axes: &[Axis]) -> Result<(), CliError> {
    match axes.iter().find(|a| a.key == "slo" || a.key.starts_with("slo.") || a.key.starts_with("slo[")) {
        Some(a) => Err(bad(format!(
            "axis {}: an axis may not change an [[slo]]: every variant is judged against the same SLOs \
             (change one for all variants with a single value, --set {}=V)",
            a.key, a.key
        ))),
        None => Ok(()),
    }
}

pub(super) fn jobs(j: Option<usize>) -> Result<usize, CliError> {
    match j {
        Some(0) => Err(bad("--jobs must be at least 1")),
        Some(n) => Ok(n),
        None => Ok(std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1)),
    }
}

pub(super) fn seed_count(flag: Option<u32>, scn: &Scenario) -> Result<u32, CliError> {
    match flag.or(scn.sweep.as_ref().and_then(|s| s.seeds)) {
        Some(0) => Err(bad("--seeds must be at least 1")),
        Some(n) => Ok(n),
        None => Ok(DEFAULT_SEEDS),
    }
}

/// The scenario as given: text, file name, the base scenario (fixed `--set`s applied).
pub(super) struct Input {
    pub(super) text: String,
    pub(super) file: String,
    pub(super) base: Scenario,
    pub(super) fixed: Vec<Override>,
}

/// Everything a sweep or compare needs to run and write.
struct Prepared {
    input: Input,
    plan: Plan,
    scenarios: Vec<(Variant, Scenario)>,
    columns: experiment::Columns,
}

/// What a sweep or compare is asked, besides its variants.
struct Request<'a> {
    kind: Kind,
    baseline: &'a [(String, String)],
    n_seeds: u32,
    /// `--workload`.
    workload: Option<&'a str>,
    /// `--min-effect`.
    min_effect: Option<&'a str>,
    jobs: usize,
}

/// Loads the variants, drops the invalid ones (every one invalid = bad input), picks the
/// baseline and the key workload.
fn prepare(
    input: Input,
    axes: Vec<Axis>,
    variants: Vec<Variant>,
    rq: Request<'_>,
) -> Result<Prepared, CliError> {
    let Request { kind, baseline, n_seeds, workload, min_effect, jobs } = rq;
    let min_effect = min_effect.map(MinEffect::parse).transpose().map_err(bad)?.unwrap_or_default();
    let key =
        experiment::key::choose(&input.base, workload).map_err(|e| bad(format!("{}: {e}", input.file)))?;
    let file = &input.file;
    let (scenarios, skipped) = xrun::prepare(&input.text, file, &input.fixed, variants, jobs);
    if scenarios.is_empty() {
        let why: Vec<String> = skipped.iter().map(|s| format!("  {}: {}", s.name, s.reason)).collect();
        return Err(bad(format!("{file}: every variant of the sweep is invalid:\n{}", why.join("\n"))));
    }
    let valid: Vec<Variant> = scenarios.iter().map(|(v, _)| v.clone()).collect();
    let baseline = match plan::find_baseline(&axes, &valid, baseline) {
        Ok(b) => b,
        // The baseline combination exists but is invalid (skipped): compare against the first.
        Err(e) => {
            eprintln!("note: {e}; using {} as the baseline", valid[0].name);
            0
        }
    };
    let seeds = plan::seeds(input.base.seed, n_seeds);
    let plan = Plan { kind, axes, variants: valid, skipped, baseline, seeds };
    let mut columns = experiment::columns_of(scenarios.iter().map(|(_, s)| s), key, min_effect);
    columns.slos = input.base.slos.clone();
    Ok(Prepared { input, plan, scenarios, columns })
}

pub(super) fn load_base(path: &Path, fixed: Vec<Override>) -> Result<Input, CliError> {
    let text = read_scenario_file(path)?;
    let file = path.display().to_string();
    let base = scenario::load(&text, &file, &fixed).map_err(|e| bad(e.to_string()))?;
    Ok(Input { text, file, base, fixed })
}

pub(super) fn cmd_sweep(a: SweepArgs) -> Result<(), CliError> {
    let shard = a.shard.as_deref().map(Shard::parse).transpose().map_err(bad)?;
    let jobs = jobs(a.jobs)?;
    // First pass: which `--set`s are axes depends on the file's grid.
    let text = read_scenario_file(&a.file)?;
    // (`load_base` below checks the grid's variants, once.)
    let file_axes = scenario::load_grid_unchecked(&text, &a.file.display().to_string(), &[])
        .ok()
        .and_then(|s| s.sweep)
        .map(|s| s.grid)
        .unwrap_or_default();
    let (fixed, cli_axes) = split_sets(&a.set, &file_axes)?;
    let input = load_base(&a.file, fixed)?;
    let spec = input.base.sweep.clone().unwrap_or_default();
    let axes = plan::merge_axes(&spec.grid, cli_axes);
    refuse_slo_axes(&axes)?;
    // A baseline pair whose value a `--set` axis removed no longer applies.
    let in_grid = |k: &String, v: &String| {
        axes.iter()
            .any(|a| &a.key == k && a.values.iter().any(|x| plan::display_value(x) == plan::display_value(v)))
    };
    let baseline: Vec<(String, String)> =
        spec.baseline.iter().filter(|(k, v)| in_grid(k, v)).cloned().collect();
    let n_seeds = seed_count(a.seeds, &input.base)?;
    let variants = plan::grid_variants(&axes);
    let rq = Request {
        kind: Kind::Sweep,
        baseline: &baseline,
        n_seeds,
        workload: a.workload.as_deref(),
        min_effect: a.min_effect.as_deref(),
        jobs,
    };
    let p = prepare(input, axes, variants, rq)?;
    let out = a.out.clone().unwrap_or_else(|| {
        let name = match shard {
            Some(s) => format!("{}-sweep-shard-{}-of-{}", p.input.base.name, s.index, s.count),
            None => format!("{}-sweep", p.input.base.name),
        };
        PathBuf::from("results").join(name)
    });
    check_out(&out, a.force)?;
    if a.report && shard.is_some() {
        return Err(bad("--report needs the whole sweep: merge the shards, then `pullsim report DIR`"));
    }
    execute(&p, shard, jobs, &out, a.force, a.quiet, a.report)
}

/// Pools whose own `kubelet` table sets a pull setting (so `compare` must set it there too).
fn pools_overriding_pull_settings(text: &str) -> Vec<String> {
    let Ok(doc) = text.parse::<toml_edit::DocumentMut>() else { return Vec::new() };
    let Some(pools) = doc.get("node_pool").and_then(|p| p.as_array_of_tables()) else { return Vec::new() };
    pools
        .iter()
        .filter(|t| {
            t.get("kubelet").and_then(|k| k.as_table_like()).is_some_and(|k| {
                k.contains_key("serialize_image_pulls") || k.contains_key("max_parallel_image_pulls")
            })
        })
        .filter_map(|t| t.get("name").and_then(|n| n.as_str()).map(str::to_string))
        .collect()
}

pub(super) fn cmd_compare(a: CompareArgs) -> Result<(), CliError> {
    let jobs = jobs(a.jobs)?;
    let limits: Vec<u32> = match &a.max_parallel {
        None => DEFAULT_PARALLEL_LIMITS.to_vec(),
        Some(s) => plan::split_values(s)
            .iter()
            .map(|v| match v.parse::<u32>() {
                Ok(n) if n >= 2 => Ok(n),
                _ => Err(bad(format!("--max-parallel {s}: expected integers >= 2, e.g. 2,4,8"))),
            })
            .collect::<Result<_, _>>()?,
    };
    let fixed = a
        .set
        .iter()
        .map(|s| Override::parse(s).map_err(|e| bad(format!("--set: {e}"))))
        .collect::<Result<Vec<_>, _>>()?;
    let input = load_base(&a.file, fixed)?;
    let n_seeds = seed_count(a.seeds, &input.base)?;
    let (axes, variants) = plan::compare_variants(&limits, &pools_overriding_pull_settings(&input.text));
    let baseline = [(plan::SERIALIZE_KEY.to_string(), "true".to_string())];
    let rq = Request {
        kind: Kind::Compare,
        baseline: &baseline,
        n_seeds,
        workload: a.workload.as_deref(),
        min_effect: a.min_effect.as_deref(),
        jobs,
    };
    let p = prepare(input, axes, variants, rq)?;
    let name = &p.input.base.name;
    let out = a.out.clone().unwrap_or_else(|| PathBuf::from("results").join(format!("{name}-compare")));
    check_out(&out, a.force)?;
    execute(&p, None, jobs, &out, a.force, a.quiet, a.report)
}

/// A progress bar on stderr when it is a terminal and not `--quiet`.
fn progress_bar(total: usize, quiet: bool) -> Option<indicatif::ProgressBar> {
    if quiet || !std::io::stderr().is_terminal() {
        return None;
    }
    let pb = indicatif::ProgressBar::new(total as u64);
    let style = indicatif::ProgressStyle::with_template(
        "{bar:40.cyan/blue} {pos}/{len} runs  {per_sec}  {elapsed} elapsed, {eta} left",
    )
    .expect("static template");
    pb.set_style(style);
    Some(pb)
}

/// What a sweep keeps of a run: its `runs.csv` row and its `startups.csv` rows, formatted on
/// the thread that ran it.
fn rows_of(plan: &Plan, columns: &experiment::Columns, r: RunResult) -> (RunRow, StartupRows) {
    (experiment::run_row(plan, columns, &r), experiment::startup_rows(plan, r.run, &r.startups_s))
}

pub(super) fn command_line() -> String {
    std::env::args().collect::<Vec<_>>().join(" ")
}

fn execute(
    p: &Prepared,
    shard: Option<Shard>,
    jobs: usize,
    out: &Path,
    force: bool,
    quiet: bool,
    report: bool,
) -> Result<(), CliError> {
    let runs = p.plan.shard_runs(shard);
    if !quiet {
        for s in &p.plan.skipped {
            eprintln!("note: skipping variant {}: {}", s.name, s.reason);
        }
    }
    let pb = progress_bar(runs.len(), quiet);
    let wall = Instant::now();
    let tick = || {
        if let Some(pb) = &pb {
            pb.inc(1);
        }
    };
    let input = &p.input;
    let finish = |r: RunResult| rows_of(&p.plan, &p.columns, r);
    let key = p.columns.workload.as_ref().map(|k| k.name.as_str());
    let results = xrun::run_plan(&p.scenarios, &p.plan.seeds, &runs, key, jobs, &finish, &tick).map_err(|e| {
        CliError::Other(format!(
            "internal error in variant {:?} seed {}: {}; reproduce with `pullsim run {} --seed {} --check-invariants` and the variant's --set values",
            e.variant, e.seed, e.message, input.file, e.seed
        ))
    })?;
    if let Some(pb) = &pb {
        pb.finish_and_clear();
    }
    let wall_s = wall.elapsed().as_secs_f64();
    let manifest = Manifest {
        pullsim_version: env!("CARGO_PKG_VERSION").to_string(),
        scenario: input.base.name.clone(),
        scenario_file: input.file.clone(),
        scenario_fnv1a64: format!("{:016x}", experiment::fnv1a64(input.text.as_bytes())),
        fixed_overrides: input.fixed.iter().map(|o| format!("{}={}", o.key, o.value)).collect(),
        plan: p.plan.clone(),
        runs: p.plan.runs(),
        shard,
        columns: p.columns.clone(),
    };
    // Tables, files and charts on a pool of the same size as the runs' (they format and
    // render in parallel).
    let (runs_rows, startups): (Vec<RunRow>, Vec<StartupRows>) = results.into_iter().unzip();
    let tables =
        SweepTables { header: experiment::runs_header(&p.plan, &p.columns), runs: runs_rows, startups };
    let (dest, stats) = xrun::on_pool(jobs, || {
        let folder = SweepFolder { manifest, tables, scenario_text: input.text.clone() };
        write_folder(&folder, out, force, report)
    })
    .map_err(|e| CliError::Other(format!("thread pool: {e}")))??;
    if !quiet {
        let what = if p.plan.kind == Kind::Compare { "compare" } else { "sweep" };
        println!(
            "pullsim {what}: {}, {} variants x {} seeds = {} runs{} on {jobs} threads in {wall_s:.1}s",
            input.base.name,
            p.plan.variants.len(),
            p.plan.seeds.len(),
            runs.len(),
            shard
                .map(|s| format!(" (shard {}/{} of {})", s.index, s.count, p.plan.runs()))
                .unwrap_or_default(),
        );
        if let Some(stats) = &stats {
            print!("{}", comparison_table(&p.plan, &p.columns, stats));
        }
        println!("results: {}", dest.display());
    }
    Ok(())
}

/// Writes a sweep folder atomically, with its charts when it is a whole sweep.
fn write_folder(
    folder: &SweepFolder,
    out: &Path,
    force: bool,
    report: bool,
) -> Result<(PathBuf, Option<Vec<VariantStats>>), CliError> {
    let staging = Staging::create(out, force).map_err(|e| results_error(out, e))?;
    let io_err = |e: std::io::Error| CliError::Other(format!("{}: writing results: {e}", out.display()));
    let chart_err = |e: String| CliError::Other(format!("charts: {e}"));
    let plan = &folder.manifest.plan;
    let whole = folder.manifest.shard.is_none();
    // The startup CDF needs only the startups in memory: it is drawn while the files are
    // written; the p99 charts read the variants.csv just written.
    let (stats, cdf) = xrun::both(
        || {
            let stats = rsweep::write_sweep_files(
                staging.path(),
                &folder.manifest,
                &folder.tables,
                &folder.scenario_text,
                &command_line(),
            )
            .map_err(io_err)?;
            if stats.is_some() {
                crate::chart::p99_charts(staging.path(), plan, &folder.manifest.columns)
                    .map_err(chart_err)?;
            }
            Ok::<_, CliError>(stats)
        },
        || {
            // The startups just written, per variant, as the CSV text reads back (same numbers).
            whole.then(|| {
                let mut per_variant: Vec<Vec<f64>> = vec![Vec::new(); plan.variants.len()];
                for rows in &folder.tables.startups {
                    if let Some(v) = per_variant.get_mut(plan.run_at(rows.run).0) {
                        v.extend_from_slice(&rows.startups_s);
                    }
                }
                crate::chart::startup_cdf_chart(
                    staging.path(),
                    plan,
                    &folder.manifest.columns,
                    Some(per_variant),
                )
                .map_err(chart_err)
            })
        },
    );
    let stats = stats?;
    cdf.transpose()?;
    if report && whole {
        crate::report::html::write_report(staging.path())
            .map_err(|e| CliError::Other(format!("report: {e}")))?;
    }
    let dest = staging.commit().map_err(|e| results_error(out, e))?;
    Ok((dest, stats))
}

/// Scale and unit of a metric in the terminal table.
fn unit(field: &str) -> (f64, &'static str) {
    match field {
        "peak_registry_egress_bytes_per_s" => (8e-9, "Gbit/s"),
        f if f.ends_with("_s") => (1.0, "s"),
        _ => (1.0, ""),
    }
}

/// The metrics shown in the terminal (variants.csv has all of KEY_METRICS).
const TABLE_METRICS: [&str; 7] = [
    "startup_p50_s",
    "startup_p90_s",
    "startup_p99_s",
    "makespan_s",
    "peak_pulls_in_flight",
    "peak_registry_egress_bytes_per_s",
    "pull_failures",
];

/// One cell: `mean ± half-width`; `mean [low, high]` when the interval is cut at what the
/// metric can be; `value (identical)` when every seed gave the same value (no interval: there
/// is no spread to estimate); `*` after a significant difference.
fn cell(e: Option<Estimate>, m: &Metric, significant: bool) -> String {
    let Some(e) = e else { return "-".to_string() };
    let scale = unit(m.field).0;
    let mut s = if e.identical {
        // The exact value: times to the millisecond, counts as integers.
        let v = e.mean * scale;
        let d = if m.unit == Unit::Count && v.fract() == 0.0 { 0 } else { 3 };
        format!("{v:.d$} (identical)")
    } else {
        let (mean, h) = (e.mean * scale, e.half_width.map(|h| h * scale));
        // Mean and half-width share one precision, chosen from the larger of the two, with
        // more decimals (up to 3) until the half-width shows a digit: a spread is never "0.0".
        let mut d = match mean.abs().max(h.unwrap_or(0.0)) {
            x if x >= 1000.0 => 0,
            x if x >= 10.0 => 1,
            x if x >= 0.1 => 2,
            _ => 3,
        };
        let shows = |h: f64, d: usize| (h * 10f64.powi(d as i32)).round() > 0.0;
        while d < 3 && h.is_some_and(|h| !shows(h, d)) {
            d += 1;
        }
        let half = |h: f64| {
            if shows(h, d) {
                format!("{h:.d$}")
            } else {
                format!("<{:.d$}", 10f64.powi(-(d as i32)))
            }
        };
        match (h, e.low(), e.high()) {
            (Some(_), Some(lo), Some(hi)) if e.clamped() => {
                format!("{mean:.d$} [{:.d$}, {:.d$}]", lo * scale, hi * scale)
            }
            (Some(h), _, _) => format!("{mean:.d$} ± {}", half(h)),
            _ => format!("{mean:.d$}"),
        }
    };
    if significant {
        s.push_str(" *");
    }
    s
}

/// Per variant: each metric's mean with its 95% CI; then the paired difference against the
/// baseline, marked `*` when significant (its CI excludes 0 and it is at least the practical
/// threshold). Startup, makespan and failures are the key workload's, named above the columns.
pub fn comparison_table(plan: &Plan, columns: &experiment::Columns, stats: &[VariantStats]) -> String {
    let cols: Vec<usize> =
        TABLE_METRICS.iter().filter_map(|f| KEY_METRICS.iter().position(|m| m.field == *f)).collect();
    let header: Vec<String> = std::iter::once("variant".to_string())
        .chain(cols.iter().map(|&c| {
            let m = KEY_METRICS[c];
            match unit(m.field).1 {
                "" => m.label.to_string(),
                u => format!("{} ({u})", m.label),
            }
        }))
        .collect();
    let mut means: Vec<Vec<String>> = Vec::new();
    let mut diffs: Vec<Vec<String>> = Vec::new();
    // Whether the legend must explain `[low, high]` and `(identical)`.
    let (mut cut, mut identical) = (false, false);
    for (i, (v, s)) in plan.variants.iter().zip(stats).enumerate() {
        let mut r = vec![v.name.clone()];
        let mut d = vec![v.name.clone()];
        for &c in &cols {
            let (m, ms) = (&KEY_METRICS[c], &s.metrics[c]);
            r.push(cell(ms.estimate, m, false));
            d.push(cell(ms.diff, m, ms.significant()));
            let shown = [Some(ms.estimate), (i != plan.baseline).then_some(ms.diff)];
            for e in shown.into_iter().flatten().flatten() {
                cut |= e.clamped();
                identical |= e.identical;
            }
        }
        means.push(r);
        if i != plan.baseline {
            diffs.push(d);
        }
    }
    let widths = column_widths(std::iter::once(&header).chain(&means).chain(&diffs));
    let line = |r: &[String]| aligned(r, &widths);
    let mut out = String::new();
    let whose = columns
        .workload
        .as_ref()
        .map_or_else(|| "all pods (the scenario has no workload)".to_string(), |k| k.describe());
    let n = plan.seeds.len();
    out.push_str(&format!("\nstartup, makespan and pull failures: {whose}; peaks: whole cluster\n"));
    out.push_str(&format!("mean ± 95% confidence interval over {n} seeds (Student's t)"));
    if cut {
        out.push_str("; [low, high]: the interval cut at what is possible (a count is never below 0)");
    }
    if identical {
        out.push_str(&format!("; (identical): the same value in all {n} seeds, no interval"));
    }
    out.push('\n');
    out.push_str(&line(&header));
    for r in &means {
        out.push_str(&line(r));
    }
    out.push_str(&slo_table(plan, columns, stats));
    if !diffs.is_empty() {
        out.push_str(&format!(
            "\npaired difference vs baseline {} over the same seeds (* = 95% CI excludes 0 and |difference| >= {})\n",
            plan.variants[plan.baseline].name,
            columns.min_effect.describe()
        ));
        out.push_str(&line(&header));
        for r in &diffs {
            out.push_str(&line(r));
        }
    }
    if !plan.skipped.is_empty() {
        out.push_str(&format!("\nskipped {} invalid variant(s): ", plan.skipped.len()));
        out.push_str(&plan.skipped.iter().map(|s| s.name.as_str()).collect::<Vec<_>>().join("; "));
        out.push('\n');
    }
    out
}

/// The widest cell of each column.
fn column_widths<'a>(rows: impl Iterator<Item = &'a Vec<String>> + Clone) -> Vec<usize> {
    let n = rows.clone().map(Vec::len).max().unwrap_or(0);
    (0..n)
        .map(|c| rows.clone().filter_map(|r| r.get(c)).map(|t| t.chars().count()).max().unwrap_or(0))
        .collect()
}

/// One table line: the first column left-aligned, the others right-aligned, three spaces apart.
fn aligned(r: &[String], widths: &[usize]) -> String {
    let mut s = String::new();
    for (c, (text, w)) in r.iter().zip(widths).enumerate() {
        let pad = w.saturating_sub(text.chars().count());
        if c == 0 {
            s.push_str(&format!("{text}{}", " ".repeat(pad)));
        } else {
            s.push_str(&format!("   {}{text}", " ".repeat(pad)));
        }
    }
    s.trim_end().to_string() + "\n"
}

/// The SLO verdicts: a legend line per SLO, then per variant the seeds passing each SLO with
/// its verdict, and whether it meets them all. Empty without SLOs.
fn slo_table(plan: &Plan, columns: &experiment::Columns, stats: &[VariantStats]) -> String {
    if columns.slos.is_empty() {
        return String::new();
    }
    let n = plan.seeds.len() as u32;
    let mut out = format!(
        "\nSLOs: a variant meets one when enough of its {n} seeds do (seeds passing/seeds, verdict)\n"
    );
    for (k, s) in columns.slos.iter().enumerate() {
        out.push_str(&format!(
            "  slo{}  {} ({} of {n} seeds needed)\n",
            k + 1,
            s.describe_with_share(),
            s.needed(n)
        ));
    }
    let mut rows: Vec<Vec<String>> = vec![std::iter::once("variant".to_string())
        .chain((1..=columns.slos.len()).map(|k| format!("slo{k}")))
        .chain(["all SLOs".to_string()])
        .collect()];
    for (v, st) in plan.variants.iter().zip(stats) {
        let mut r = vec![v.name.clone()];
        r.extend(st.slos.iter().map(|x| format!("{} {}", x.fraction(), experiment::slo::word(x.pass()))));
        r.push(experiment::slo::word(st.slo_pass()).to_string());
        rows.push(r);
    }
    let widths = column_widths(rows.iter());
    for r in &rows {
        out.push_str(&aligned(r, &widths));
    }
    out
}

pub(super) fn cmd_merge(a: MergeArgs) -> Result<(), CliError> {
    check_out(&a.out, a.force)?;
    let parts =
        a.dirs.iter().map(|d| rsweep::read_sweep_folder(d).map_err(bad)).collect::<Result<Vec<_>, _>>()?;
    let merged = rsweep::merge_folders(parts).map_err(bad)?;
    let (dest, stats) = write_folder(&merged, &a.out, a.force, false)?;
    if let Some(stats) = &stats {
        print!("{}", comparison_table(&merged.manifest.plan, &merged.manifest.columns, stats));
    }
    println!("merged {} folders: {}", a.dirs.len(), dest.display());
    Ok(())
}

/// `pullsim report DIR` (and `--report`): writes `DIR/report.html` and adds it to the folder's
/// marker.
pub(super) fn cmd_report(dir: &Path) -> Result<(), CliError> {
    if !dir.is_dir() {
        return Err(bad(format!("{}: not a folder", dir.display())));
    }
    let path = crate::report::html::write_report(dir).map_err(|e| bad(format!("{}: {e}", dir.display())))?;
    crate::report::note_written(dir, std::slice::from_ref(&path))
        .map_err(|e| CliError::Other(format!("{}: updating the results marker: {e}", dir.display())))?;
    println!("{}", path.display());
    Ok(())
}

pub(super) fn cmd_chart(a: ChartArgs) -> Result<(), CliError> {
    let dir = &a.dir;
    if !dir.is_dir() {
        return Err(bad(format!("{}: not a folder", dir.display())));
    }
    let written = if dir.join("sweep.json").exists() {
        if !dir.join("variants.csv").exists() {
            return Err(bad(format!("{}: a shard folder; merge the shards first", dir.display())));
        }
        crate::chart::sweep_charts(dir)
    } else if dir.join("pods.csv").exists() {
        crate::chart::run_charts(dir)
    } else if dir.join("calibration.json").exists() {
        crate::chart::calibration_charts(dir)
    } else if dir.join(super::plan::PLAN_FILE).exists() {
        return Err(bad(format!(
            "{}: a plan folder has no charts (its runs are a few seeds of a few variants); \
             `pullsim sweep` over its axes draws them",
            dir.display()
        )));
    } else {
        return Err(bad(format!(
            "{}: not a run folder (pods.csv), a sweep folder (sweep.json) or a calibration folder (calibration.json)",
            dir.display()
        )));
    }
    .map_err(|e| bad(format!("{}: {e}", dir.display())))?;
    crate::report::note_written(dir, &written)
        .map_err(|e| CliError::Other(format!("{}: updating the results marker: {e}", dir.display())))?;
    for f in written {
        println!("{}", f.display());
    }
    Ok(())
}
