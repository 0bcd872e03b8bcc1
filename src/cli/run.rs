//! The commands: turn parsed arguments into validated input, call the library, print.

use super::args::{Cli, Command, ExplainCommand, RunArgs, ValidateArgs};
use super::{read_scenario_file, results_error, CliError};
use crate::k8s::pull_policy::PullPolicy;
use crate::metrics::{RunOutput, RunSink};
use crate::model::RunOptions;
use crate::report::events::{EventLog, WithEvents};
use crate::report::{self, CsvSink, Staging, SummaryExtras};
use crate::scenario::{self, Override, Scenario};
use std::path::{Path, PathBuf};
use std::time::Instant;

pub(super) fn dispatch(cli: Cli) -> Result<(), CliError> {
    match cli.command {
        Command::Run(a) => cmd_run(a),
        Command::Validate(a) => cmd_validate(a),
        Command::Explain(e) => cmd_explain(e),
        Command::Sweep(a) => super::sweep::cmd_sweep(a),
        Command::Compare(a) => super::sweep::cmd_compare(a),
        Command::Plan(a) => super::plan::cmd_plan(a),
        Command::Merge(a) => super::sweep::cmd_merge(a),
        Command::Chart(a) => super::sweep::cmd_chart(a),
        Command::Report(a) => super::sweep::cmd_report(&a.dir),
        Command::Init(a) => super::init::cmd_init(a),
        Command::Import(a) => super::import::cmd_import(a),
        Command::Calibrate(a) => super::calibrate::cmd_calibrate(a),
        Command::Completions(a) => super::init::cmd_completions(a),
    }
}

fn parse_overrides(set: &[String]) -> Result<Vec<Override>, CliError> {
    set.iter().map(|s| Override::parse(s).map_err(|e| CliError::BadInput(format!("--set: {e}")))).collect()
}

/// Reads, overrides and validates a scenario file.
pub(super) fn load_file(path: &Path, set: &[String]) -> Result<(Scenario, String), CliError> {
    let text = read_scenario_file(path)?;
    let overrides = parse_overrides(set)?;
    let scn = scenario::load(&text, &path.display().to_string(), &overrides)
        .map_err(|e| CliError::BadInput(e.to_string()))?;
    Ok((scn, text))
}

/// Likely mistakes in a valid scenario, on stderr; they do not change the exit code.
fn print_warnings(file: &Path, scn: &Scenario) {
    for w in scenario::lint(scn) {
        eprintln!("warning: {}: {w}", file.display());
    }
}

fn cmd_validate(a: ValidateArgs) -> Result<(), CliError> {
    let (scn, _) = load_file(&a.file, &a.set)?;
    print_warnings(&a.file, &scn);
    let n_nodes: u64 = scn.node_pools.iter().map(|p| u64::from(p.count)).sum();
    println!(
        "{}: valid ({} node pools, {} nodes, {} registries, {} images, {} workloads{})",
        a.file.display(),
        scn.node_pools.len(),
        n_nodes,
        scn.registries.len(),
        scn.images.len(),
        scn.workloads.iter().filter(|w| w.prepull.is_none()).count(),
        match scn.prepulls.len() {
            0 => String::new(),
            n => format!(", {n} prepulls"),
        }
    );
    Ok(())
}

fn cmd_run(a: RunArgs) -> Result<(), CliError> {
    let (scn, text) = load_file(&a.file, &a.set)?;
    print_warnings(&a.file, &scn);
    let seed = a.seed.unwrap_or(scn.seed);
    let out_dir = a.out.clone().unwrap_or_else(|| PathBuf::from("results").join(&scn.name));
    if a.check_determinism {
        let first = report::render_in_memory_with(&scn, seed, a.events);
        let second = report::render_in_memory_with(&scn, seed, a.events);
        for ((name, x), (_, y)) in first.iter().zip(&second) {
            if x != y {
                return Err(CliError::Other(format!(
                    "determinism check failed: {name} differs between two runs of seed {seed}; \
                     rerun with `pullsim run {} --seed {seed} --check-determinism`",
                    a.file.display()
                )));
            }
        }
        if !a.quiet {
            println!("determinism check passed: two runs of seed {seed} produced identical outputs");
        }
    }
    let staging = Staging::create(&out_dir, a.force).map_err(|e| results_error(&out_dir, e))?;
    let io_err = |e: std::io::Error| CliError::Other(format!("{}: writing results: {e}", out_dir.display()));
    let mut sink = CsvSink::create(staging.path()).map_err(io_err)?;
    let opts = RunOptions { check_invariants: a.check_invariants };
    let wall = Instant::now();
    let (out, events) = if a.events {
        let mut with = WithEvents { inner: &mut sink, log: EventLog::new(scn.start_time) };
        let out = run_reporting_seed(&scn, seed, &mut with, opts, &a.file);
        (out, Some(with.log))
    } else {
        (run_reporting_seed(&scn, seed, &mut sink, opts, &a.file), None)
    };
    let wall_s = wall.elapsed().as_secs_f64();
    sink.finish().map_err(io_err)?;
    if let Some(log) = events {
        let file = std::fs::File::create(staging.path().join("events.json")).map_err(io_err)?;
        log.write_json(file).map_err(io_err)?;
    }
    let command = std::env::args().collect::<Vec<_>>().join(" ");
    let extras = SummaryExtras::of(&out, &scn);
    report::write_run_files(staging.path(), &out, &extras, &text, &command).map_err(io_err)?;
    // Charts are drawn from the CSVs just written, exactly as `pullsim chart DIR` would.
    crate::chart::run_charts(staging.path()).map_err(|e| CliError::Other(format!("charts: {e}")))?;
    if a.report {
        crate::report::html::write_report(staging.path())
            .map_err(|e| CliError::Other(format!("report: {e}")))?;
    }
    let dest = staging.commit().map_err(|e| results_error(&out_dir, e))?;
    if !a.quiet {
        print_summary(&scn, &out, &extras.slos, wall_s, &dest, a.stats);
    }
    Ok(())
}

/// Runs, and on a panic (an invariant violation is a bug) prints how to reproduce it.
fn run_reporting_seed(
    scn: &Scenario,
    seed: u64,
    sink: &mut dyn RunSink,
    opts: RunOptions,
    file: &Path,
) -> RunOutput {
    let res =
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| crate::sim::run(scn, seed, sink, opts)));
    match res {
        Ok(out) => out,
        Err(p) => {
            eprintln!(
                "pullsim: internal error; reproduce with `pullsim run {} --seed {seed} --check-invariants`",
                file.display()
            );
            std::panic::resume_unwind(p)
        }
    }
}

fn fmt_opt(v: Option<f64>) -> String {
    v.map(|x| format!("{x:.3}s")).unwrap_or_else(|| "-".into())
}

fn print_summary(
    scn: &Scenario,
    out: &RunOutput,
    slos: &[crate::experiment::slo::RunVerdict],
    wall_s: f64,
    dest: &Path,
    stats: bool,
) {
    let s = &out.summary;
    println!("pullsim run: {} (seed {})", scn.name, s.seed);
    println!("  pods      {} created, {} running, {} not running", s.pods, s.pods_running, s.pods_failed);
    println!(
        "  startup   p50 {}  p90 {}  p99 {}  max {}  mean {}",
        fmt_opt(s.startup_p50_s),
        fmt_opt(s.startup_p90_s),
        fmt_opt(s.startup_p99_s),
        fmt_opt(s.startup_max_s),
        fmt_opt(s.startup_mean_s)
    );
    print!("{}", workload_lines(&out.workloads));
    for p in &out.prepulls {
        if p.enabled {
            let warm = fmt_opt(p.warm_s);
            println!(
                "  prepull   {}  warm {warm}  {}/{} nodes warmed",
                p.name, p.nodes_warmed, p.nodes_targeted
            );
        } else {
            println!("  prepull   {}  off (enabled = false)", p.name);
        }
    }
    print!("{}", slo_lines(&scn.slos, slos));
    println!(
        "  pulls     {} attempts, {} failed, {} back-offs, {} cache hits; {} pulled",
        s.pulls,
        s.pull_failures,
        s.backoffs,
        s.cache_hits,
        human_bytes(s.bytes_pulled)
    );
    if let Some(l) = &out.lazy {
        println!(
            "  lazy      {} started before whole ({} by the prefetch timeout); {} after the start; \
             whole after start p50 {}  max {}",
            l.started_before_whole,
            l.prefetch_timeouts,
            human_bytes(l.background_bytes),
            fmt_opt(l.whole_after_start_p50_s),
            fmt_opt(l.whole_after_start_max_s)
        );
    }
    println!("  makespan  {:.3}s  (simulation ended at {:.3}s)", s.makespan_s, s.sim_end_s);
    let eps = if wall_s > 0.0 { out.stats.events as f64 / wall_s } else { 0.0 };
    println!("  events    {} in {:.3}s wall ({:.2} M events/s)", s.events, wall_s, eps / 1e6);
    if stats {
        println!(
            "  engine    stale wake-ups {}, peak flows {}, flow-rate recomputations {}",
            out.stats.events_stale, out.stats.peak_flows, out.stats.flows_recomputed
        );
    }
    println!("  results   {}", dest.display());
}

/// One line per workload, columns aligned: pods running of created, startup p50, p99 and max,
/// and the makespan from its first pod's creation.
fn workload_lines(workloads: &[crate::metrics::workloads::WorkloadSummary]) -> String {
    let rows: Vec<[String; 7]> = workloads
        .iter()
        .map(|w| {
            [
                w.name.clone(),
                w.pods_running.to_string(),
                w.pods.to_string(),
                fmt_opt(w.startup_p50_s),
                fmt_opt(w.startup_p99_s),
                fmt_opt(w.startup_max_s),
                fmt_opt(w.makespan_s),
            ]
        })
        .collect();
    let width = |c: usize| rows.iter().map(|r| r[c].chars().count()).max().unwrap_or(0);
    let w: Vec<usize> = (0..7).map(width).collect();
    let mut text = String::new();
    for r in &rows {
        let line = format!(
            "  workload  {:<w0$}  {:>w1$}/{:<w2$} running  p50 {:>w3$}  p99 {:>w4$}  max {:>w5$}  makespan {:>w6$}",
            r[0],
            r[1],
            r[2],
            r[3],
            r[4],
            r[5],
            r[6],
            w0 = w[0],
            w1 = w[1],
            w2 = w[2],
            w3 = w[3],
            w4 = w[4],
            w5 = w[5],
            w6 = w[6],
        );
        text.push_str(line.trim_end());
        text.push('\n');
    }
    text
}

/// One line per SLO: `SLO       web startup_p99_s <= 60 s: PASS (41.2 s)`.
fn slo_lines(specs: &[crate::scenario::SloSpec], verdicts: &[crate::experiment::slo::RunVerdict]) -> String {
    let mut text = String::new();
    for (s, v) in specs.iter().zip(verdicts) {
        let word = crate::experiment::slo::word(v.pass);
        text.push_str(&format!("  SLO       {}: {word} ({})\n", s.describe(), s.value_text(v.value)));
    }
    text
}

fn cmd_explain(e: ExplainCommand) -> Result<(), CliError> {
    match e {
        ExplainCommand::Kubelet { file, json } => explain_kubelet(&file, json),
        ExplainCommand::Image { reference, policy, present, arch, scenario, json } => {
            let policy = match policy.as_deref() {
                None => None,
                Some(p) => Some(PullPolicy::parse(p).ok_or_else(|| {
                    CliError::BadInput(format!("--policy {p:?}: expected Always, IfNotPresent or Never"))
                })?),
            };
            let arch = match arch.as_deref() {
                None => None,
                Some(a) => Some(crate::k8s::platform::normalize_arch(a).ok_or_else(|| {
                    CliError::BadInput(format!(
                        "--arch {a:?}: unknown architecture; expected one of {} (or x86_64, aarch64)",
                        crate::k8s::platform::ARCHES.join(", ")
                    ))
                })?),
            };
            let scn = scenario.as_deref().map(|f| load_file(f, &[]).map(|(s, _)| s)).transpose()?;
            let e = crate::explain::explain_image(&reference, policy, present, arch, scn.as_ref());
            print_explanation(json, &e, e.human())
        }
        ExplainCommand::Credentials { image, keys, json } => {
            let e = crate::explain::explain_credentials(&image, &keys);
            print_explanation(json, &e, e.human())
        }
    }
}

fn print_explanation<T: serde::Serialize>(json: bool, value: &T, human: String) -> Result<(), CliError> {
    if json {
        let text = serde_json::to_string_pretty(value).map_err(|e| CliError::Other(e.to_string()))?;
        println!("{text}");
    } else {
        print!("{human}");
        if !human.ends_with('\n') {
            println!();
        }
    }
    Ok(())
}

fn explain_kubelet(file: &Path, json: bool) -> Result<(), CliError> {
    let (scn, _) = load_file(file, &[])?;
    let pools: Vec<serde_json::Value> = scn
        .node_pools
        .iter()
        .map(|p| {
            let k = &p.kubelet;
            serde_json::json!({
                "pool": p.name,
                "serialize_image_pulls": k.serialize_image_pulls,
                "max_parallel_image_pulls": k.max_parallel_image_pulls,
                "registry_pull_qps": k.registry_pull_qps,
                "registry_burst": k.registry_burst,
                "image_pull_backoff_initial_s": k.image_pull_backoff_initial.as_secs_f64(),
                "image_pull_backoff_max_s": k.image_pull_backoff_max.as_secs_f64(),
                "image_gc_high_threshold_percent": k.image_gc_high_threshold_percent,
                "image_gc_low_threshold_percent": k.image_gc_low_threshold_percent,
                "image_minimum_gc_age_s": k.image_minimum_gc_age.as_secs_f64(),
                "image_maximum_gc_age_s": k.image_maximum_gc_age.as_secs_f64(),
                "eviction_hard_imagefs_available": k.eviction_hard_imagefs_available.to_string(),
                "image_pull_credentials_verification_policy": k.verification_policy.as_str(),
                "preloaded_images_verification_allowlist": k.preloaded_images_verification_allowlist,
                "ensure_secret_pulled_images": k.ensure_secret_pulled_images,
                "runtime_profile": scn.runtime.profile.as_str(),
                "runtime_max_concurrent_downloads": scn.runtime.max_concurrent_downloads,
                "runtime_download_slots": download_slots(&scn.runtime),
                "runtime_manifest_request_on_present_image": if scn.runtime.profile.resolves_with_head() {
                    "HEAD"
                } else {
                    "GET"
                },
                "runtime_429_retries": retries_429(scn.runtime.profile),
                "runtime_decompresses_while_downloading": scn.runtime.profile.decompresses_while_downloading(),
                "runtime_uncompressed_ratio": scn.runtime.uncompressed_ratio,
                "runtime_unpack_layer_overhead_s": scn.runtime.unpack_layer_overhead.as_secs_f64(),
                "runtime_discard_unpacked_layers": scn.runtime.discard_unpacked_layers,
                "runtime_max_concurrent_unpacks": scn.runtime.max_concurrent_unpacks,
            })
        })
        .collect();
    if json {
        let v = serde_json::json!({ "file": file.display().to_string(), "pools": pools });
        println!("{}", serde_json::to_string_pretty(&v).expect("json"));
    } else {
        for p in &pools {
            println!("node pool {}:", p["pool"].as_str().unwrap_or(""));
            for (k, v) in p.as_object().expect("object") {
                if k != "pool" {
                    println!("  {k:<44} {v}");
                }
            }
        }
    }
    Ok(())
}

/// Where the download limit applies: one pool per node (containerd 2.1) or one per pull.
fn download_slots(rt: &crate::scenario::RuntimeSpec) -> String {
    match rt.node_download_slots() {
        Some(n) => format!("{n} per node, for every GET of every pull"),
        None => format!("{} per pull, for layers", rt.max_concurrent_downloads),
    }
}

/// The waits before each retry of a manifest GET answered 429, until the pull fails.
fn retries_429(profile: crate::scenario::RuntimeProfile) -> String {
    let waits: Vec<String> = (1..=u8::MAX)
        .map_while(|n| profile.retry_after_429(n))
        .map(|d| format!("{}s", d.as_secs_f64()))
        .collect();
    format!("{} ({})", waits.len(), waits.join(", "))
}

/// `1234567890` → `1.23 GB` (decimal units, as registries and `docker images` report).
fn human_bytes(b: u64) -> String {
    const UNITS: [&str; 5] = ["B", "kB", "MB", "GB", "TB"];
    let mut v = b as f64;
    let mut i = 0;
    while v >= 1000.0 && i < UNITS.len() - 1 {
        v /= 1000.0;
        i += 1;
    }
    if i == 0 {
        format!("{b} B")
    } else {
        format!("{v:.2} {}", UNITS[i])
    }
}
