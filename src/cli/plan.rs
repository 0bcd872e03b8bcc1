//! `pullsim plan`: the cheapest variant of a grid (`--axis KEY=V1,V2,...`, values cheapest
//! first) that meets every `[[slo]]` of the scenario, found by `experiment::planner` with as few
//! runs as the answer needs, and the folder that shows its evidence: `plan.json`, the
//! `runs.csv` rows of the runs made, `scenario.toml`, `command.txt` (and `report.html`).
//!
//! Determinism: the planner asks for one (variant, seed) verdict at a time, in an order that
//! depends only on earlier verdicts. With `--jobs N` the next seeds of the variant asked about
//! are run together and kept until asked for; runs the planner never asks for are dropped, so
//! the answer, `plan.json` and `runs.csv` are the same for any `--jobs`.

use super::args::PlanArgs;
use super::sweep::{self, bad, Input};
use super::{check_out, results_error, CliError};
use crate::experiment::plan::{self, Axis, Kind, Plan, Skipped, Variant};
use crate::experiment::planner::{self, Dip, Evaluated, Oracle, Outcome, Requirement};
use crate::experiment::run::{self as xrun, RunPanic, RunResult};
use crate::experiment::slo::{self, VariantVerdict};
use crate::experiment::{self, Columns, RunRow};
use crate::report::Staging;
use crate::scenario::{Override, Scenario, SloSpec};
use serde::ser::SerializeMap;
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The plan's file in its folder.
pub const PLAN_FILE: &str = "plan.json";

/// `--set` values: one per key (a list belongs in `--axis`).
fn fixed_overrides(set: &[String]) -> Result<Vec<Override>, CliError> {
    set.iter()
        .map(|s| {
            let ov = Override::parse(s).map_err(|e| bad(format!("--set: {e}")))?;
            if plan::split_values(&ov.value).len() > 1 {
                return Err(bad(format!(
                    "--set {s}: plan takes one value per --set; give the values to search as --axis {}=...",
                    ov.key
                )));
            }
            Ok(ov)
        })
        .collect()
}

/// `--axis KEY=V1,V2,...`: keys once each, values once per axis and never empty.
fn parse_axes(args: &[String]) -> Result<Vec<Axis>, CliError> {
    let mut axes: Vec<Axis> = Vec::new();
    for a in args {
        let ov = Override::parse(a).map_err(|e| bad(format!("--axis: {e}")))?;
        let values = plan::split_values(&ov.value);
        if values.iter().any(String::is_empty) {
            return Err(bad(format!("--axis {a}: empty value in the list")));
        }
        let shown: Vec<String> = values.iter().map(|v| plan::display_value(v)).collect();
        if let Some(v) = shown.iter().enumerate().find(|(i, v)| shown[..*i].contains(v)).map(|(_, v)| v) {
            return Err(bad(format!("--axis {a}: value {v} is given twice")));
        }
        if axes.iter().any(|x| x.key == ov.key) {
            return Err(bad(format!("--axis {}: the same key is given twice", ov.key)));
        }
        axes.push(Axis { key: ov.key, values });
    }
    sweep::refuse_slo_axes(&axes)?;
    Ok(axes)
}

/// Grid index of a point (the first axis varies slowest, as `grid_variants` orders them).
fn grid_index(sizes: &[usize], point: &[usize]) -> usize {
    sizes.iter().zip(point).fold(0, |acc, (&n, &i)| acc * n + i)
}

/// Runs variants for the planner and keeps what it asked for.
struct Runner<'a> {
    scenarios: &'a [(Variant, Scenario)],
    /// Per grid index, the index into `scenarios` (`None`: the scenario rejects it).
    slot: Vec<Option<usize>>,
    sizes: Vec<usize>,
    plan: &'a Plan,
    columns: &'a Columns,
    slo_columns: Vec<Option<usize>>,
    jobs: usize,
    /// Runs made, by plan run index: the row and its verdicts.
    done: BTreeMap<usize, (RunRow, Vec<bool>)>,
    /// The runs the planner asked for (what the folder reports).
    asked: BTreeSet<usize>,
    failure: Option<RunPanic>,
    progress: Option<indicatif::ProgressBar>,
}

impl Oracle for Runner<'_> {
    fn run(&mut self, point: &[usize], seed_index: u32) -> Vec<bool> {
        let none = vec![false; self.columns.slos.len()];
        let Some(v) = self.slot[grid_index(&self.sizes, point)] else { return none };
        let n = self.plan.seeds.len();
        let run = v * n + seed_index as usize;
        if !self.done.contains_key(&run) && self.failure.is_none() {
            // This seed and the next ones of the variant, as many as there are threads: the
            // planner usually asks for them next.
            let last = (seed_index as usize + self.jobs).min(n);
            let batch: Vec<usize> = (seed_index as usize..last)
                .map(|s| v * n + s)
                .filter(|r| !self.done.contains_key(r))
                .collect();
            let (plan, columns, slos, cols) =
                (self.plan, self.columns, &self.columns.slos, &self.slo_columns);
            let finish = |r: RunResult| {
                let row = experiment::run_row(plan, columns, &r);
                let verdicts = slo::row_verdicts(slos, cols, &row);
                (row, verdicts)
            };
            let tick = || {
                if let Some(pb) = &self.progress {
                    pb.inc(1);
                }
            };
            let key = columns.workload.as_ref().map(|k| k.name.as_str());
            match xrun::run_plan(self.scenarios, &plan.seeds, &batch, key, self.jobs, &finish, &tick) {
                Ok(results) => self.done.extend(batch.into_iter().zip(results)),
                Err(e) => self.failure = Some(e),
            }
        }
        self.asked.insert(run);
        self.done.get(&run).map(|(_, v)| v.clone()).unwrap_or(none)
    }

    fn invalid(&self, point: &[usize]) -> bool {
        self.slot[grid_index(&self.sizes, point)].is_none()
    }
}

pub(super) fn cmd_plan(a: PlanArgs) -> Result<(), CliError> {
    let jobs = sweep::jobs(a.jobs)?;
    let axes = parse_axes(&a.axis)?;
    let input = sweep::load_base(&a.file, fixed_overrides(&a.set)?)?;
    let file = input.file.clone();
    let key = experiment::key::choose(&input.base, None).map_err(|e| bad(format!("{file}: {e}")))?;
    if input.base.slos.is_empty() {
        let w = key.as_ref().map_or("web", |k| k.name.as_str());
        return Err(bad(format!(
            "{file}: the scenario has no [[slo]] table, and plan looks for the cheapest variant that meets \
             every SLO; add one, e.g.\n[[slo]]\nworkload = \"{w}\"\nmetric = \"startup_p99_s\"\nmax = \"60s\"\n\
             (docs/scenario-format.md#slo)"
        )));
    }
    let n_seeds = sweep::seed_count(a.seeds, &input.base)?;
    let grid = plan::grid_variants(&axes);
    let (scenarios, skipped) = xrun::prepare(&input.text, &file, &input.fixed, grid.clone(), jobs);
    let slot = slots(&grid, &scenarios);
    check_axis_values(&axes, &grid, &slot, &skipped)?;
    let out =
        a.out.clone().unwrap_or_else(|| PathBuf::from("results").join(format!("{}-plan", input.base.name)));
    check_out(&out, a.force)?;

    let valid: Vec<Variant> = scenarios.iter().map(|(v, _)| v.clone()).collect();
    let seeds = plan::seeds(input.base.seed, n_seeds);
    let the_plan = Plan { kind: Kind::Sweep, axes, variants: valid, skipped, baseline: 0, seeds };
    let mut columns = experiment::columns_of(scenarios.iter().map(|(_, s)| s), key, Default::default());
    columns.slos = input.base.slos.clone();
    let header = experiment::runs_header(&the_plan, &columns);
    let sizes: Vec<usize> = the_plan.axes.iter().map(|x| x.values.len()).collect();
    let mut runner = Runner {
        scenarios: &scenarios,
        slot,
        sizes: sizes.clone(),
        plan: &the_plan,
        columns: &columns,
        slo_columns: slo::slo_columns(&columns.slos, &header),
        jobs,
        done: BTreeMap::new(),
        asked: BTreeSet::new(),
        failure: None,
        progress: spinner(a.quiet),
    };
    let reqs: Vec<Requirement> =
        columns.slos.iter().map(|s| Requirement { need: s.needed(n_seeds) }).collect();
    let outcome = planner::plan(&mut runner, &sizes, n_seeds, &reqs);
    if let Some(pb) = &runner.progress {
        pb.finish_and_clear();
    }
    if let Some(e) = runner.failure {
        return Err(CliError::Other(format!(
            "internal error in variant {:?} seed {}: {}; reproduce with `pullsim run {file} --seed {} --check-invariants` and the variant's --set values",
            e.variant, e.seed, e.message, e.seed
        )));
    }
    let rows: Vec<RunRow> =
        runner.asked.iter().filter_map(|r| runner.done.get(r).map(|(row, _)| row.clone())).collect();
    debug_assert_eq!(rows.len(), outcome.runs as usize);
    let worst = worst_values(&columns.slos, &runner.slo_columns, &rows, &the_plan);
    let found = Found {
        plan: &the_plan,
        input: &input,
        slos: &columns.slos,
        sizes: &sizes,
        outcome: &outcome,
        slot: &runner.slot,
        worst: &worst,
    };
    let dest = write_folder(&found, &header, &rows, &out, a.force, a.report)?;
    if !a.quiet {
        print!("{}", found.text());
        println!("results: {}", dest.display());
    }
    Ok(())
}

/// Per grid index, the index of its loaded scenario (`prepare` keeps the grid's order).
fn slots(grid: &[Variant], scenarios: &[(Variant, Scenario)]) -> Vec<Option<usize>> {
    let mut next = 0;
    grid.iter()
        .map(|v| {
            let here = scenarios.get(next).is_some_and(|(x, _)| x.name == v.name);
            here.then(|| {
                next += 1;
                next - 1
            })
        })
        .collect()
}

/// A value no valid variant uses is bad input (an unknown key makes every variant invalid),
/// as a `[sweep]` grid value is.
fn check_axis_values(
    axes: &[Axis],
    grid: &[Variant],
    slot: &[Option<usize>],
    skipped: &[Skipped],
) -> Result<(), CliError> {
    for (k, axis) in axes.iter().enumerate() {
        for value in &axis.values {
            let shown = plan::display_value(value);
            let uses = |v: &Variant| v.values[k] == shown;
            if grid.iter().zip(slot).any(|(v, s)| s.is_some() && uses(v)) {
                continue;
            }
            let why = grid
                .iter()
                .find(|v| uses(v))
                .and_then(|v| skipped.iter().find(|s| s.name == v.name))
                .map_or_else(String::new, |s| format!(": {}", s.reason));
            return Err(bad(format!("--axis {}: no valid variant uses the value {shown}{why}", axis.key)));
        }
    }
    Ok(())
}

/// The worst value of an SLO over the seeds a variant ran: the highest for a `max`, the lowest
/// for a `min`; a seed without a value is worse than any.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Worst {
    Missing,
    Value(f64),
}

/// Per variant (index into the plan's variants) that ran, each SLO's worst value.
fn worst_values(
    slos: &[SloSpec],
    columns: &[Option<usize>],
    rows: &[RunRow],
    plan: &Plan,
) -> BTreeMap<usize, Vec<Worst>> {
    let mut out: BTreeMap<usize, Vec<Option<Worst>>> = BTreeMap::new();
    for row in rows {
        let v = plan.variants.iter().position(|x| x.name == row.cells[0]).unwrap_or(usize::MAX);
        let acc = out.entry(v).or_insert_with(|| vec![None; slos.len()]);
        for ((w, value), s) in acc.iter_mut().zip(slo::row_values(slos, columns, row)).zip(slos) {
            *w = Some(match (*w, value) {
                (Some(Worst::Missing), _) | (_, None) => Worst::Missing,
                (None, Some(x)) => Worst::Value(x),
                (Some(Worst::Value(y)), Some(x)) => Worst::Value(match s.op {
                    crate::scenario::SloOp::Max => y.max(x),
                    crate::scenario::SloOp::Min => y.min(x),
                }),
            });
        }
    }
    out.into_iter()
        .map(|(v, ws)| (v, ws.into_iter().map(|w| w.unwrap_or(Worst::Missing)).collect()))
        .collect()
}

/// A spinner on stderr counting runs, when it is a terminal and not `--quiet`.
fn spinner(quiet: bool) -> Option<indicatif::ProgressBar> {
    use std::io::IsTerminal;
    if quiet || !std::io::stderr().is_terminal() {
        return None;
    }
    let pb = indicatif::ProgressBar::new_spinner();
    let style =
        indicatif::ProgressStyle::with_template("{spinner} {pos} runs  {elapsed}").expect("static template");
    pb.set_style(style);
    Some(pb)
}

/// The search's result with what names its points.
struct Found<'a> {
    plan: &'a Plan,
    input: &'a Input,
    slos: &'a [SloSpec],
    sizes: &'a [usize],
    outcome: &'a Outcome,
    /// Per grid index, the index into the plan's variants.
    slot: &'a [Option<usize>],
    /// Per variant that ran, each SLO's worst value over its seeds.
    worst: &'a BTreeMap<usize, Vec<Worst>>,
}

impl Found<'_> {
    /// `kubelet.max_parallel_image_pulls=3 registry.x.bandwidth=40Gbps`.
    fn name(&self, point: &[usize]) -> String {
        self.values(point).iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(" ")
    }

    /// Axis key and value (as shown) of each axis of a point.
    fn values(&self, point: &[usize]) -> Vec<(String, String)> {
        self.plan
            .axes
            .iter()
            .zip(point)
            .map(|(a, &i)| (a.key.clone(), plan::display_value(&a.values[i])))
            .collect()
    }

    /// The worst value of SLO `k` over the seeds the point ran.
    fn worst(&self, point: &[usize], k: usize) -> Option<Worst> {
        let v = self.slot[grid_index(self.sizes, point)]?;
        self.worst.get(&v).and_then(|w| w.get(k)).copied()
    }

    /// `worst 116.942 s`, `a seed without a value`.
    fn worst_text(&self, point: &[usize], k: usize) -> String {
        match self.worst(point, k) {
            Some(Worst::Value(x)) => format!("worst {}", self.slos[k].value_text(Some(x))),
            _ => "a seed without a value".to_string(),
        }
    }

    fn evaluated(&self, point: &[usize]) -> Option<&Evaluated> {
        self.outcome.evaluated.iter().find(|e| e.point == point)
    }

    /// Each SLO's verdict of an evaluated point.
    fn verdicts(&self, e: &Evaluated) -> Vec<VariantVerdict> {
        let n = self.plan.seeds.len() as u32;
        e.per_slo
            .iter()
            .zip(self.slos)
            .map(|(&(p, r), s)| VariantVerdict { passing: p, seeds: r, needed: s.needed(n) })
            .collect()
    }

    /// Why a point fails, or that it passes: `meets web startup_p99_s <= 60 s in 20/20 seeds`,
    /// `fails web startup_p99_s <= 60 s (7 of 8 seeds run passed; 20 of 20 needed)`.
    fn evidence(&self, point: &[usize]) -> String {
        let Some(e) = self.evaluated(point) else { return "was not needed".to_string() };
        if e.invalid {
            let reason =
                self.plan.skipped.iter().find(|s| s.name == self.grid_name(point)).map(|s| s.reason.as_str());
            return format!("is not a valid scenario ({})", reason.unwrap_or("rejected"));
        }
        let n = self.plan.seeds.len() as u32;
        let parts: Vec<String> = self
            .verdicts(e)
            .iter()
            .zip(self.slos)
            .enumerate()
            .filter(|(_, (v, _))| e.pass || v.seeds - v.passing > n - v.needed)
            .map(|(k, (v, s))| {
                let worst = self.worst_text(point, k);
                if e.pass {
                    format!("{} in {}/{} seeds ({worst})", s.describe(), v.passing, v.seeds)
                } else {
                    let run = if v.seeds == 1 { "seed run" } else { "seeds run" };
                    format!(
                        "{} ({} passing of {} {run}, {worst}; {} of {n} needed)",
                        s.describe(),
                        v.passing,
                        v.seeds,
                        v.needed
                    )
                }
            })
            .collect();
        let verb = if e.pass { "meets" } else { "fails" };
        format!("{verb} {}", parts.join(" and "))
    }

    /// The variant name `grid_variants` gives a point.
    fn grid_name(&self, point: &[usize]) -> String {
        plan::grid_variants(&self.plan.axes).swap_remove(grid_index(self.sizes, point)).name
    }

    fn grid_runs(&self) -> usize {
        self.plan.variants.len() * self.plan.seeds.len()
    }

    /// What `plan` prints.
    fn text(&self) -> String {
        let o = self.outcome;
        let n = self.plan.seeds.len();
        let mut t = format!(
            "pullsim plan: {}, {} variants x up to {n} seeds (the full grid: {} runs)\n",
            self.input.base.name,
            self.sizes.iter().product::<usize>(),
            self.grid_runs()
        );
        for (k, s) in self.slos.iter().enumerate() {
            t.push_str(&format!(
                "  slo{}  {} ({} of {n} seeds needed)\n",
                k + 1,
                s.describe_with_share(),
                s.needed(n as u32)
            ));
        }
        // The variants run, in the order the search decided them: seeds passing / seeds run
        // per SLO (a variant stops once its verdict is settled).
        t.push_str("\nevaluated, in order (per SLO: seeds passing/seeds run):\n");
        let mut rows: Vec<Vec<String>> = vec![std::iter::once("variant".to_string())
            .chain((1..=self.slos.len()).map(|k| format!("slo{k}")))
            .chain(["verdict".to_string()])
            .collect()];
        for e in &o.evaluated {
            let mut r = vec![self.name(&e.point)];
            if e.invalid {
                r.extend(self.slos.iter().map(|_| "-".to_string()));
                r.push("invalid".into());
            } else {
                r.extend(self.verdicts(e).iter().map(VariantVerdict::fraction));
                r.push(slo::word(e.pass).to_string());
            }
            rows.push(r);
        }
        let widths: Vec<usize> = (0..rows[0].len())
            .map(|c| rows.iter().map(|r| r[c].chars().count()).max().unwrap_or(0))
            .collect();
        for r in &rows {
            let mut line = String::from(" ");
            for (c, (cell, w)) in r.iter().zip(&widths).enumerate() {
                line.push_str(&if c == 0 { format!(" {cell:<w$}") } else { format!("   {cell:>w$}") });
            }
            t.push_str(line.trim_end());
            t.push('\n');
        }
        t.push('\n');
        match &o.best {
            Some(best) => {
                t.push_str(&format!("answer: {} {}\n", self.name(best), self.evidence(best)));
                for (k, &i) in best.iter().enumerate() {
                    if i > 0 {
                        let mut cheaper = best.clone();
                        cheaper[k] -= 1;
                        t.push_str(&format!(
                            "  one step cheaper, {} {}\n",
                            self.name(&cheaper),
                            self.evidence(&cheaper)
                        ));
                    }
                }
                for p in &o.also {
                    t.push_str(&format!(
                        "  as cheap (same total rank): {} {}\n",
                        self.name(p),
                        self.evidence(p)
                    ));
                }
            }
            None => {
                let costliest: Vec<usize> = self.sizes.iter().map(|n| n - 1).collect();
                t.push_str(&format!(
                    "answer: no variant of the grid meets every SLO; the costliest, {}, {}\n",
                    self.name(&costliest),
                    self.evidence(&costliest)
                ));
            }
        }
        for w in &o.warnings {
            t.push_str(&format!("warning: {}\n", self.dip(w)));
        }
        let pct = if self.grid_runs() > 0 { 100.0 * o.runs as f64 / self.grid_runs() as f64 } else { 0.0 };
        t.push_str(&format!("runs: {} of the full grid's {} ({pct:.0}%)\n", o.runs, self.grid_runs()));
        t
    }

    fn dip(&self, d: &Dip) -> String {
        match d {
            Dip::CheaperPasses { point, answer } => format!(
                "{} passes although the search settled on the costlier {}: the results are not monotone here, \
                 and a cheaper variant may meet the SLOs (`pullsim sweep` over the grid shows every variant)",
                self.name(point),
                self.name(answer)
            ),
            Dip::CostlierFails { point, answer } => format!(
                "{} fails although the cheaper {} passes: the results are not monotone here, and the search \
                 may have missed a dip elsewhere (`pullsim sweep` over the grid shows every variant)",
                self.name(point),
                self.name(answer)
            ),
        }
    }
}

/// Axis key → value, in axis order (a `serde_json::Map` would sort the keys).
struct Ordered(Vec<(String, String)>);

impl Serialize for Ordered {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(self.0.len()))?;
        for (k, v) in &self.0 {
            m.serialize_entry(k, v)?;
        }
        m.end()
    }
}

#[derive(Serialize)]
struct SloEvidence {
    seeds_passing: u32,
    seeds_run: u32,
    seeds_needed: u32,
    /// The worst value over the seeds run (highest for `max`, lowest for `min`); `null` when a
    /// seed had none, or none ran.
    worst: Option<f64>,
    /// `pass`, `fail`, or `unsettled` (another SLO decided the variant first).
    verdict: &'static str,
}

#[derive(Serialize)]
struct EvaluatedJson {
    variant: String,
    values: Ordered,
    pass: bool,
    /// Why the scenario rejects the combination; `null` for a variant that ran.
    invalid: Option<String>,
    runs: u32,
    slos: Vec<SloEvidence>,
}

/// `plan.json`.
#[derive(Serialize)]
struct PlanJson<'a> {
    pullsim_version: &'static str,
    scenario: &'a str,
    scenario_file: &'a str,
    scenario_fnv1a64: String,
    fixed_overrides: Vec<String>,
    axes: &'a [Axis],
    seeds: &'a [u64],
    slos: &'a [SloSpec],
    feasible: bool,
    best: Option<Ordered>,
    also: Vec<Ordered>,
    runs: u32,
    grid_runs: usize,
    evaluated: Vec<EvaluatedJson>,
    warnings: Vec<String>,
    skipped: &'a [Skipped],
}

impl Found<'_> {
    fn json(&self) -> PlanJson<'_> {
        let o = self.outcome;
        let n = self.plan.seeds.len() as u32;
        let evaluated = o
            .evaluated
            .iter()
            .map(|e| EvaluatedJson {
                variant: self.name(&e.point),
                values: Ordered(self.values(&e.point)),
                pass: e.pass,
                invalid: e.invalid.then(|| {
                    let name = self.grid_name(&e.point);
                    self.plan
                        .skipped
                        .iter()
                        .find(|s| s.name == name)
                        .map_or_else(String::new, |s| s.reason.clone())
                }),
                runs: e.runs,
                slos: self
                    .verdicts(e)
                    .iter()
                    .enumerate()
                    .map(|(k, v)| SloEvidence {
                        seeds_passing: v.passing,
                        seeds_run: v.seeds,
                        seeds_needed: v.needed,
                        worst: match self.worst(&e.point, k) {
                            Some(Worst::Value(x)) => Some(x),
                            _ => None,
                        },
                        verdict: if v.pass() {
                            "pass"
                        } else if v.seeds - v.passing > n - v.needed || e.invalid {
                            "fail"
                        } else {
                            "unsettled"
                        },
                    })
                    .collect(),
            })
            .collect();
        let input = self.input;
        PlanJson {
            pullsim_version: env!("CARGO_PKG_VERSION"),
            scenario: &input.base.name,
            scenario_file: &input.file,
            scenario_fnv1a64: format!("{:016x}", experiment::fnv1a64(input.text.as_bytes())),
            fixed_overrides: input.fixed.iter().map(|o| format!("{}={}", o.key, o.value)).collect(),
            axes: &self.plan.axes,
            seeds: &self.plan.seeds,
            slos: self.slos,
            feasible: o.best.is_some(),
            best: o.best.as_ref().map(|b| Ordered(self.values(b))),
            also: o.also.iter().map(|p| Ordered(self.values(p))).collect(),
            runs: o.runs,
            grid_runs: self.grid_runs(),
            evaluated,
            warnings: o.warnings.iter().map(|d| self.dip(d)).collect(),
            skipped: &self.plan.skipped,
        }
    }
}

/// Writes the folder atomically: `plan.json`, `runs.csv` (the runs made, in grid then seed
/// order), `scenario.toml`, `command.txt`, and `report.html` when asked.
fn write_folder(
    found: &Found<'_>,
    header: &[String],
    rows: &[RunRow],
    out: &Path,
    force: bool,
    report: bool,
) -> Result<PathBuf, CliError> {
    let staging = Staging::create(out, force).map_err(|e| results_error(out, e))?;
    let io_err = |e: std::io::Error| CliError::Other(format!("{}: writing results: {e}", out.display()));
    let dir = staging.path();
    let mut json = serde_json::to_string_pretty(&found.json()).map_err(|e| CliError::Other(e.to_string()))?;
    json.push('\n');
    std::fs::write(dir.join(PLAN_FILE), json).map_err(io_err)?;
    let mut w = csv::Writer::from_path(dir.join("runs.csv")).map_err(|e| io_err(e.into()))?;
    w.write_record(header).map_err(|e| io_err(e.into()))?;
    for r in rows {
        w.write_record(&r.cells).map_err(|e| io_err(e.into()))?;
    }
    w.flush().map_err(io_err)?;
    std::fs::write(dir.join("scenario.toml"), &found.input.text).map_err(io_err)?;
    std::fs::write(dir.join("command.txt"), format!("{}\n", sweep::command_line())).map_err(io_err)?;
    if report {
        crate::report::html::write_report(dir).map_err(|e| CliError::Other(format!("report: {e}")))?;
    }
    staging.commit().map_err(|e| results_error(out, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The point of a grid index.
    fn point_of(sizes: &[usize], mut index: usize) -> Vec<usize> {
        let mut p = vec![0; sizes.len()];
        for (k, &n) in sizes.iter().enumerate().rev() {
            p[k] = index % n;
            index /= n;
        }
        p
    }

    #[test]
    fn grid_indices_follow_grid_variants() {
        let sizes = [3, 2, 4];
        for i in 0..24 {
            assert_eq!(grid_index(&sizes, &point_of(&sizes, i)), i);
        }
        let axes = vec![
            Axis { key: "a".into(), values: vec!["1".into(), "2".into(), "3".into()] },
            Axis { key: "b".into(), values: vec!["x".into(), "y".into()] },
        ];
        let grid = plan::grid_variants(&axes);
        assert_eq!(grid[grid_index(&[3, 2], &[2, 1])].name, "a=3 b=y");
    }

    #[test]
    fn axes_are_checked() {
        let axes = parse_axes(&["kubelet.registry_burst=1,2,4".into()]).unwrap();
        assert_eq!(axes[0].values, ["1", "2", "4"]);
        for (bad_axis, want) in [
            ("kubelet.registry_burst=1,,4", "empty value"),
            ("kubelet.registry_burst=1,2,1", "value 1 is given twice"),
            ("slo[0].max=60s,90s", "an axis may not change an [[slo]]"),
            ("novalue", "expected KEY=VALUE"),
        ] {
            let e = parse_axes(&[bad_axis.into()]).unwrap_err().to_string();
            assert!(e.contains(want), "{bad_axis}: {e}");
        }
        let e = parse_axes(&["a=1".into(), "a=2".into()]).unwrap_err().to_string();
        assert!(e.contains("the same key is given twice"), "{e}");
        let e = fixed_overrides(&["a=1,2".into()]).unwrap_err().to_string();
        assert!(e.contains("give the values to search as --axis a=..."), "{e}");
    }
}
