//! `[[slo]]` tables as loaded: bounds in base units, the share of seeds, `--set` on them.

use super::*;

const BASE: &str = r#"
[simulation]
name = "s"
[[node_pool]]
name = "p"
count = 2
[[registry]]
host = "r.example"
[[image]]
ref = "r.example/a:1"
size = "1MB"
[[workload]]
name = "web"
kind = "deployment"
replicas = 2
update = { at = "1m", image = "r.example/a:1" }
[workload.pod]
containers = [ { image = "r.example/a:1" } ]
"#;

fn with(slos: &str) -> String {
    format!("{BASE}\n{slos}")
}

#[test]
fn bounds_are_read_in_the_metric_base_unit() {
    let scn = ok(&with(
        r#"
[[slo]]
workload = "web"
metric = "startup_p99_s"
max = "1m30s"

[[slo]]
workload = "web"
metric = "bytes_pulled"
max = "1.5GB"
seeds_passing = "95%"

[[slo]]
workload = "web"
metric = "pods_running"
min = 2

[[slo]]
workload = "web"
metric = "rollout_s"
max = "250ms"
"#,
    ));
    let got: Vec<(&str, SloOp, u64, u32)> =
        scn.slos.iter().map(|s| (s.metric.as_str(), s.op, s.limit, s.seeds_passing_pct)).collect();
    assert_eq!(
        got,
        [
            ("startup_p99_s", SloOp::Max, 90_000_000_000, 100),
            ("bytes_pulled", SloOp::Max, 1_500_000_000, 95),
            ("pods_running", SloOp::Min, 2, 100),
            ("rollout_s", SloOp::Max, 250_000_000, 100),
        ]
    );
    assert!(scn.slos.iter().all(|s| s.workload == "web"));
    assert!(ok(BASE).slos.is_empty());
}

#[test]
fn set_changes_an_slo_by_its_index() {
    let text = with("[[slo]]\nworkload = \"web\"\nmetric = \"startup_p99_s\"\nmax = \"60s\"\n");
    let ov = [Override { key: "slo[0].max".into(), value: "2m".into() }];
    let scn = load(&text, "t.toml", &ov).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(scn.slos[0].limit, 120_000_000_000);
    let ov = [Override { key: "slo[0].max".into(), value: "120".into() }];
    let e = load(&text, "t.toml", &ov).unwrap_err().to_string();
    assert!(
        e.contains("key `slo[0].max`: `startup_p99_s` is a time") && e.contains("--set slo[0].max=120"),
        "{e}"
    );
}

#[test]
fn every_problem_of_a_table_is_reported() {
    let e = load(
        &with("[[slo]]\nworkload = \"api\"\nmetric = \"p99\"\nmax = \"60s\"\nseeds_passing = \"95 %\"\n"),
        "t.toml",
        &[],
    )
    .unwrap_err()
    .to_string();
    for want in [
        "t.toml:21:1: key `slo[0].workload`: no [[workload]] named \"api\"",
        "t.toml:22:1: key `slo[0].metric`: unknown metric \"p99\"",
        "t.toml:24:1: key `slo[0].seeds_passing`: expected the share of seeds",
    ] {
        assert!(e.contains(want), "{want:?} missing from:\n{e}");
    }
}
