//! SLO verdicts through the binary: `run`'s lines and `summary.json` `slos`, hand-computed.

use std::path::PathBuf;
use std::process::{Command, Output};

fn pullsim(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_pullsim")).args(args).output().unwrap()
}

fn tmp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("pullsim-slo-{}", std::process::id())).join(name);
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// One node, one 100 MB image downloaded at 10 MB/s: the one `web` pod starts at exactly 10 s.
/// `never` pulls nothing (`Never`, an image no pod pulls): it never runs, so it has no startup.
fn one_pod(slos: &str) -> String {
    let mut text = crate::base("unlimited", "80Mbps", "");
    text.push_str(
        r#"
[[image]]
ref = "registry.example/a:1"
size = "100MB"

[[image]]
ref = "registry.example/b:1"
size = "100MB"

[[workload]]
name = "web"
kind = "deployment"
replicas = 1
[workload.pod]
containers = [ { image = "registry.example/a:1" } ]

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
