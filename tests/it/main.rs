//! The one integration-test binary (one link step, shared helpers). Modules:
//! `exact` hand-computed timings, `dynamics` rollouts, GC, node joins and moving tags,
//! `image_gc` image GC and the eviction manager's reclaim, hand-computed,
//! `kubelet` kubelet behaviour through whole runs, `events` the kubelet's events
//! (`--events`), `examples` the contract examples and scenarios/, `determinism`, `cli` exit
//! codes and files, `sweep` the experiment commands, `outdir` what `--out` may replace,
//! `corpus` bad inputs, `swarm` random scenarios under every pull setting, `fuzz`
//! proptest-driven fuzzing, `kill` SIGKILL mid-run, `workloads` per-workload results, `import`
//! `pullsim import` on the documents of `tests/data/import/`, `slo` SLO verdicts, `plan`
//! `pullsim plan` against brute-force sweeps, `prepull` `[[prepull]]` tables, hand-computed, `lazy` lazy pulling, hand-computed, `mirrors` mirrors and pull-through caches, hand-computed.

mod calibrate;
mod cli;
mod corpus;
mod determinism;
mod distribution;
mod dynamics;
mod events;
mod exact;
mod examples;
mod fuzz;
mod golden;
mod image_gc;
mod import;
mod kill;
mod kubelet;
mod latency;
mod layers;
mod lazy;
mod mirrors;
mod outdir;
mod plan;
mod prepull;
mod profiles;
mod registry;
mod report;
mod requests;
mod slo;
mod swarm;
mod sweep;
mod validation;
mod workloads;

use pullsim::metrics::{MemorySink, RunOutput};
use pullsim::model::RunOptions;

/// Runs the `pullsim` binary with `args`.
pub fn pullsim(args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_pullsim")).args(args).output().unwrap()
}

/// Runs the `pullsim` binary with `args`, which must succeed; its standard output.
pub fn pullsim_ok(args: &[&str]) -> String {
    let o = pullsim(args);
    assert!(o.status.success(), "{args:?}: {}", String::from_utf8_lossy(&o.stderr));
    String::from_utf8_lossy(&o.stdout).to_string()
}

/// Loads a scenario from text and runs it with invariant checks after every event.
pub fn run_toml(text: &str) -> (RunOutput, MemorySink) {
    run_toml_with(text, &[])
}

pub fn run_toml_with(text: &str, overrides: &[(&str, &str)]) -> (RunOutput, MemorySink) {
    let ov: Vec<pullsim::scenario::Override> = overrides
        .iter()
        .map(|(k, v)| pullsim::scenario::Override { key: k.to_string(), value: v.to_string() })
        .collect();
    let scn =
        pullsim::scenario::load(text, "test.toml", &ov).unwrap_or_else(|e| panic!("scenario invalid:\n{e}"));
    let mut sink = MemorySink::default();
    let out = pullsim::sim::run(&scn, scn.seed, &mut sink, RunOptions { check_invariants: true });
    (out, sink)
}

/// Each pull attempt as (node, started s, finished s), by start time then node (attempts that
/// never started or finished are left out).
pub fn pull_spans(sink: &MemorySink) -> Vec<(String, f64, f64)> {
    let mut out: Vec<(String, f64, f64)> =
        sink.pulls.iter().filter_map(|r| Some((r.node.clone(), s(r.started_s?), s(r.finished_s?)))).collect();
    out.sort_by(|a, b| a.1.total_cmp(&b.1).then_with(|| a.0.cmp(&b.0)));
    out
}

/// Node, start and end of an expected pull, as `pull_spans` gives them.
pub fn spans(want: &[(&str, f64, f64)]) -> Vec<(String, f64, f64)> {
    want.iter().map(|(n, a, b)| (n.to_string(), *a, *b)).collect()
}

/// Seconds as f64 from a SimTime.
pub fn s(t: pullsim::time::SimTime) -> f64 {
    t.as_secs_f64()
}

/// The shared header of small hand-computed scenarios: one registry with no latency, instant
/// unpack and container start, no throttle.
pub fn base(node_bw: &str, per_conn: &str, kubelet: &str) -> String {
    format!(
        r#"
[simulation]
name = "t"
seed = 1

[kubelet]
registry_pull_qps = 0
{kubelet}

[runtime]
max_concurrent_downloads = 3
unpack_rate = "unlimited"
container_start = "0s"

[[node_pool]]
name = "pool"
count = 1
bandwidth = "{node_bw}"
disk = "1000GiB"

[[registry]]
host = "registry.example"
bandwidth = "unlimited"
per_connection = "{per_conn}"
latency = "0s"
"#
    )
}
