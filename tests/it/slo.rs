//! SLO verdicts through the binary: `run`'s lines and `summary.json` `slos`, hand-computed.

use super::{pullsim, pullsim_ok as ok};
use std::path::PathBuf;

fn tmp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("pullsim-slo-{}", std::process::id())).join(name);
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// One node, one 100 MB image downloaded at 10 MB/s: the one `web` pod starts at exactly 10 s.
/// `never` pulls nothing (`Never`, an image no pod pulls): it never runs, so it has no startup.
fn one_pod(slos: &str) -> String {
    let mut text = web_only("");
    text.push_str(
        r#"
[[image]]
ref = "registry.example/b:1"
size = "100MB"

[[workload]]
name = "never"
kind = "deployment"
replicas = 1
[workload.pod]
containers = [ { image = "registry.example/b:1", pull_policy = "Never" } ]
"#,
    );
    text.push_str(slos);
    text
}

/// The `web` pod alone: it starts at 10 s, and at 100 MB / per-connection bandwidth in general.
fn web_only(slos: &str) -> String {
    let mut text = crate::base("unlimited", "80Mbps", "");
    text.push_str(
        r#"
[[image]]
ref = "registry.example/a:1"
size = "100MB"

[[workload]]
name = "web"
kind = "deployment"
replicas = 1
[workload.pod]
containers = [ { image = "registry.example/a:1" } ]
"#,
    );
    text.push_str(slos);
    text
}

const FOUR_SLOS: &str = r#"
[[slo]]
workload = "web"
metric = "startup_p99_s"
max = "10s"

[[slo]]
workload = "web"
metric = "startup_p99_s"
max = "9.999s"

[[slo]]
workload = "web"
metric = "pods_running"
min = 2

[[slo]]
workload = "never"
metric = "startup_p50_s"
max = "1h"
"#;

#[test]
fn run_prints_and_writes_a_verdict_per_slo() {
    let dir = tmp("run");
    let file = dir.join("s.toml");
    std::fs::write(&file, one_pod(FOUR_SLOS)).unwrap();
    let out = dir.join("out");
    let o = pullsim(&["run", file.to_str().unwrap(), "--out", out.to_str().unwrap()]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let stdout = String::from_utf8_lossy(&o.stdout);
    let lines: Vec<&str> = stdout.lines().filter(|l| l.trim_start().starts_with("SLO")).collect();
    assert_eq!(
        lines,
        [
            "  SLO       web startup_p99_s <= 10 s: PASS (10 s)",
            "  SLO       web startup_p99_s <= 9.999 s: FAIL (10 s)",
            "  SLO       web pods_running >= 2: FAIL (1)",
            "  SLO       never startup_p50_s <= 3600 s: FAIL (no value)",
        ],
        "{stdout}"
    );
    // After the workload lines, before the pulls line.
    let at = |p: &str| stdout.find(p).unwrap();
    assert!(at("workload  never") < at("SLO") && at("SLO") < at("\n  pulls "), "{stdout}");
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).unwrap()).unwrap();
    assert_eq!(
        summary["slos"],
        serde_json::json!([
            {"workload": "web", "metric": "startup_p99_s", "bound": "<= 10 s", "value": 10.0, "pass": true},
            {"workload": "web", "metric": "startup_p99_s", "bound": "<= 9.999 s", "value": 10.0, "pass": false},
            {"workload": "web", "metric": "pods_running", "bound": ">= 2", "value": 1.0, "pass": false},
            {"workload": "never", "metric": "startup_p50_s", "bound": "<= 3600 s", "value": null, "pass": false},
        ])
    );
}

#[test]
fn a_run_without_slos_has_an_empty_list() {
    let dir = tmp("none");
    let file = dir.join("s.toml");
    std::fs::write(&file, one_pod("")).unwrap();
    let out = dir.join("out");
    let o = pullsim(&["run", file.to_str().unwrap(), "--out", out.to_str().unwrap()]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(!String::from_utf8_lossy(&o.stdout).contains("SLO"));
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).unwrap()).unwrap();
    assert_eq!(summary["slos"], serde_json::json!([]));
}

fn read(dir: &std::path::Path, f: &str) -> String {
    std::fs::read_to_string(dir.join(f)).unwrap_or_else(|e| panic!("{}: {e}", dir.join(f).display()))
}

const SWEEP_SLOS: &str = r#"
[[slo]]
workload = "web"
metric = "startup_p99_s"
max = "10s"

[[slo]]
workload = "web"
metric = "startup_p99_s"
max = "6s"
seeds_passing = "50%"
"#;

/// Per-connection bandwidth 40, 80 and 160 Mbit/s (5, 10 and 20 MB/s): the web pod starts at
/// 20, 10 and 5 s in every seed.
const PER_CONNECTION_AXIS: &str = "registry.registry.example.per_connection=40Mbps,80Mbps,160Mbps";

#[test]
fn sweep_judges_each_variant_and_merge_gives_the_same_bytes() {
    let dir = tmp("sweep");
    let file = dir.join("s.toml");
    std::fs::write(&file, web_only(SWEEP_SLOS)).unwrap();
    let f = file.to_str().unwrap();
    let (whole, j1, s0, s1, merged) =
        (dir.join("whole"), dir.join("j1"), dir.join("s0"), dir.join("s1"), dir.join("merged"));
    let p = |d: &PathBuf| d.to_str().unwrap().to_string();
    let stdout =
        ok(&["sweep", f, "--set", PER_CONNECTION_AXIS, "--seeds", "2", "--jobs", "2", "--out", &p(&whole)]);
    for want in [
        "SLOs: a variant meets one when enough of its 2 seeds do (seeds passing/seeds, verdict)",
        "  slo1  web startup_p99_s <= 10 s in every seed (2 of 2 seeds needed)",
        "  slo2  web startup_p99_s <= 6 s in 50% of seeds (1 of 2 seeds needed)",
        "per_connection=40Mbps    0/2 FAIL   0/2 FAIL       FAIL",
        "per_connection=80Mbps    2/2 PASS   0/2 FAIL       FAIL",
        "per_connection=160Mbps   2/2 PASS   2/2 PASS       PASS",
    ] {
        assert!(stdout.contains(want), "{want:?} missing from:\n{stdout}");
    }
    let variants = read(&whole, "variants.csv");
    let mut lines = variants.lines();
    assert!(lines
        .next()
        .unwrap()
        .ends_with(",slo_pass,slo1.pass,slo1.seeds_passing,slo2.pass,slo2.seeds_passing"));
    let tails: Vec<String> =
        lines.map(|l| l.split(',').rev().take(5).collect::<Vec<_>>().join(" ")).collect();
    assert_eq!(tails, ["0/2 FAIL 0/2 FAIL FAIL", "0/2 FAIL 2/2 PASS FAIL", "2/2 PASS 2/2 PASS PASS"]);
    let manifest: serde_json::Value = serde_json::from_str(&read(&whole, "sweep.json")).unwrap();
    assert_eq!(manifest["slos"][1]["bound"], "<= 6 s");
    assert_eq!(manifest["slos"][1]["seeds_passing_pct"], 50);
    // The same bytes on one thread, and from shards merged.
    ok(&["sweep", f, "--set", PER_CONNECTION_AXIS, "--seeds", "2", "--jobs", "1", "--out", &p(&j1), "-q"]);
    ok(&["sweep", f, "--set", PER_CONNECTION_AXIS, "--seeds", "2", "--shard", "0/2", "--out", &p(&s0), "-q"]);
    ok(&["sweep", f, "--set", PER_CONNECTION_AXIS, "--seeds", "2", "--shard", "1/2", "--out", &p(&s1), "-q"]);
    let merge_out = ok(&["merge", &p(&s0), &p(&s1), "--out", &p(&merged)]);
    assert!(merge_out.contains("per_connection=160Mbps   2/2 PASS   2/2 PASS       PASS"), "{merge_out}");
    for file in ["runs.csv", "variants.csv", "sweep.json", "p99.svg"] {
        assert_eq!(read(&whole, file), read(&j1, file), "{file}: --jobs 1 and 2 differ");
        assert_eq!(read(&whole, file), read(&merged, file), "{file}: merged differs");
    }
    // The SLO line on the p99 chart.
    assert!(read(&whole, "p99.svg").contains("SLO &lt;= 10 s (judged per seed)"));
}

#[test]
fn a_grid_axis_may_not_change_an_slo() {
    let dir = tmp("axis");
    let file = dir.join("s.toml");
    std::fs::write(&file, web_only(SWEEP_SLOS)).unwrap();
    let o = pullsim(&[
        "sweep",
        file.to_str().unwrap(),
        "--set",
        "slo[0].max=5s,10s",
        "--out",
        dir.join("o").to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(stderr.contains("axis slo[0].max: an axis may not change an [[slo]]"), "{stderr}");
    // A single value changes the SLO of every variant.
    let stdout = ok(&[
        "sweep",
        file.to_str().unwrap(),
        "--set",
        "slo[0].max=5s",
        "--set",
        PER_CONNECTION_AXIS,
        "--seeds",
        "1",
        "--out",
        dir.join("o").to_str().unwrap(),
    ]);
    assert!(stdout.contains("slo1  web startup_p99_s <= 5 s in every seed"), "{stdout}");
}
