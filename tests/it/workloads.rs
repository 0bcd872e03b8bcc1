//! Per-workload results (`summary.json` `workloads`, the per-workload `run` lines): checked by
//! hand on a timed case, and against the pods.csv and pulls.csv rows of a real run.

use super::base;
use super::{pullsim, pullsim_ok as ok};
use std::process::Command;

/// One node, a serial puller, 100 MB/s per connection, nothing else taking time. Workload `a`
/// (one pod, created at 0) pulls its image from 0 to 1 s. Workload `b` starts at 10 s with four
/// pods, pod k taking member k of an image set (one 100 MB layer each): its pulls queue behind
/// one another, 10–11, 11–12, 12–13, 13–14 s.
fn timed() -> String {
    base("unlimited", "100MB/s", "serialize_image_pulls = true")
        + r#"
[[image]]
ref = "registry.example/a:v1"
layers = [ { size = "100MB" } ]

[[image_set]]
name = "jobs"
count = 4
ref = "registry.example/job-{n}:v1"
size = "100MB"
layer_count = 1

[[workload]]
name = "a"
kind = "deployment"
replicas = 1
[workload.pod]
containers = [ { image = "registry.example/a:v1" } ]

[[workload]]
name = "b"
kind = "deployment"
replicas = 4
start = "10s"
[workload.pod]
containers = [ { image_set = "jobs", pick = "sequential" } ]
"#
}

#[test]
fn makespan_and_running_shares_count_from_the_workloads_first_pod() {
    let (out, _) = super::run_toml(&timed());
    assert_eq!(out.summary.makespan_s, 14.0, "pooled: from time 0");
    let [a, b] = [&out.workloads[0], &out.workloads[1]];
    assert_eq!((a.name.as_str(), b.name.as_str()), ("a", "b"));
    assert_eq!((a.makespan_s, a.startup_p50_s), (Some(1.0), Some(1.0)));
    // b's pods run at 11, 12, 13, 14 s: 1, 2, 3, 4 s after its first pod's creation at 10 s.
    assert_eq!(b.makespan_s, Some(4.0));
    // Startups 1, 2, 3, 4 s: nearest rank p50 = rank 2, p90 = p99 = rank 4; mean 2.5.
    assert_eq!(
        (b.startup_p50_s, b.startup_p90_s, b.startup_p99_s, b.startup_max_s, b.startup_mean_s),
        (Some(2.0), Some(4.0), Some(4.0), Some(4.0), Some(2.5))
    );
    // 50 %: 2 of 4 pods Running, at 2 s; 90 %: ⌈3.6⌉ = 4 pods, at 4 s; 100 %: at 4 s.
    assert_eq!((b.running_50pct_s, b.running_90pct_s, b.running_100pct_s), (Some(2.0), Some(4.0), Some(4.0)));
    // Four 100 MB pulls for b, one for a; together the pooled total.
    assert_eq!((a.bytes_pulled, b.bytes_pulled), (100_000_000, 400_000_000));
    assert_eq!((a.pulls, b.pulls, a.pull_failures, b.pull_failures), (1, 4, 0, 0));
    assert_eq!(a.bytes_pulled + b.bytes_pulled, out.summary.bytes_pulled);
    assert_eq!((a.rollout_s.len(), b.rollout_s.len()), (0, 0));
}

#[test]
fn a_rolling_update_is_listed_on_its_workload_and_unfinished_is_null() {
    let text = timed().replace(
        "start = \"10s\"",
        "start = \"10s\"\nupdate = { at = \"20s\", image = \"registry.example/a:v1\" }",
    );
    let (out, _) = super::run_toml(&text);
    let (pooled, b) = (&out.rollouts, &out.workloads[1]);
    assert_eq!(pooled.len(), 1);
    assert_eq!(b.rollout_s, vec![pooled[0].1]);
    assert!(b.rollout_s[0].is_some());
    // The same update after the horizon never starts: null, while the pooled list omits it.
    let (out, _) = super::run_toml_with(&text, &[("simulation.until", "15s")]);
    assert!(out.rollouts.is_empty());
    assert_eq!(out.workloads[1].rollout_s, vec![None]);
}

/// Nearest-rank percentile of sorted values, as docs/reading-results.md defines it.
fn nearest_rank(sorted: &[f64], p: usize) -> f64 {
    sorted[(p * sorted.len()).div_ceil(100).max(1) - 1]
}

/// A run of `scenarios/rollout-300.toml` (shrunk by its `# ci-set:` lines): summary.json's
/// per-workload fields recomputed from pods.csv and pulls.csv with a CSV reader.
#[test]
fn summary_workloads_agree_with_pods_and_pulls_csv_of_a_real_run() {
    let root = env!("CARGO_MANIFEST_DIR");
    let file = format!("{root}/scenarios/rollout-300.toml");
    let text = std::fs::read_to_string(&file).unwrap();
    let dir = tmp("real-run");
    let mut args =
        vec!["run".to_string(), file.clone(), "--out".into(), dir.display().to_string(), "--force".into()];
    for kv in text.lines().filter_map(|l| l.strip_prefix("# ci-set:")) {
        args.extend(["--set".to_string(), kv.trim().to_string()]);
    }
    let o = Command::new(env!("CARGO_BIN_EXE_pullsim")).args(&args).output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let stdout = String::from_utf8_lossy(&o.stdout);
    let json = std::fs::read_to_string(dir.join("summary.json")).unwrap();
    let summary: serde_json::Value = serde_json::from_str(&json).unwrap();
    let workloads = summary["workloads"].as_object().unwrap();
    assert_eq!(workloads.len(), 2);
    // Declaration order in the file (the DaemonSet first), not sorted.
    assert!(json.find("\"node-agent\": {").unwrap() < json.find("\"web\": {").unwrap());

    let mut pods = csv::Reader::from_path(dir.join("pods.csv")).unwrap();
    let rows: Vec<csv::StringRecord> = pods.records().map(Result::unwrap).collect();
    let mut pulls = csv::Reader::from_path(dir.join("pulls.csv")).unwrap();
    let pull_rows: Vec<csv::StringRecord> = pulls.records().map(Result::unwrap).collect();
    let mut pooled_bytes = 0;
    for (name, w) in workloads {
        let mine: Vec<&csv::StringRecord> = rows.iter().filter(|r| &r[1] == name).collect();
        let mut startups: Vec<f64> =
            mine.iter().filter(|r| !r[5].is_empty()).map(|r| r[5].parse().unwrap()).collect();
        startups.sort_by(f64::total_cmp);
        assert!(!startups.is_empty());
        assert_eq!(w["pods"], mine.len(), "{name}");
        assert_eq!(w["pods_running"], mine.iter().filter(|r| &r[10] == "Running").count(), "{name}");
        for (field, p) in
            [("startup_p50_s", 50), ("startup_p90_s", 90), ("startup_p99_s", 99), ("startup_max_s", 100)]
        {
            assert_eq!(w[field].as_f64(), Some(nearest_rank(&startups, p)), "{name} {field}");
        }
        let secs = |r: &csv::StringRecord, c: usize| -> f64 { r[c].parse().unwrap() };
        let first = mine.iter().map(|r| secs(r, 3)).fold(f64::INFINITY, f64::min);
        let last = mine.iter().filter(|r| !r[4].is_empty()).map(|r| secs(r, 4)).fold(0.0, f64::max);
        let makespan = w["makespan_s"].as_f64().unwrap();
        assert!((makespan - (last - first)).abs() < 1e-9, "{name}: {makespan} vs {last} - {first}");
        let backoffs: u64 = mine.iter().map(|r| r[9].parse::<u64>().unwrap()).sum();
        assert_eq!(w["backoffs"], backoffs, "{name}");
        // A pull row names its pod `<workload>-<k>`; workload names here have no such suffix.
        let is_mine = |r: &&csv::StringRecord| {
            r[1].rsplit_once('-').is_some_and(|(wl, k)| wl == name && k.parse::<u64>().is_ok())
        };
        let bytes: u64 = pull_rows.iter().filter(is_mine).map(|r| r[7].parse::<u64>().unwrap()).sum();
        let failures = pull_rows.iter().filter(is_mine).filter(|r| r[9].starts_with("failed:")).count();
        assert_eq!(w["bytes_pulled"], bytes, "{name}");
        assert_eq!(w["pull_failures"], failures, "{name}");
        assert_eq!(w["pulls"], pull_rows.iter().filter(is_mine).count(), "{name}");
        pooled_bytes += bytes;
        // The run's summary prints the workload's line.
        let line = stdout
            .lines()
            .find(|l| l.starts_with(&format!("  workload  {name} ")))
            .unwrap_or_else(|| panic!("{stdout}"));
        let words: Vec<&str> = line.split_whitespace().collect();
        let after = |label: &str| words[words.iter().position(|w| *w == label).unwrap() + 1];
        assert_eq!(after("max"), format!("{:.3}s", nearest_rank(&startups, 100)), "{line}");
        assert_eq!(after("makespan"), format!("{makespan:.3}s"), "{line}");
    }
    assert_eq!(summary["bytes_pulled"], pooled_bytes);
    // Half the pods are the DaemonSet's, with a small image: the pooled median is the slowest
    // of them, far from the application's.
    let (agent, web) = (&workloads["node-agent"], &workloads["web"]);
    let f = |v: &serde_json::Value, k: &str| v[k].as_f64().unwrap();
    assert_eq!(f(&summary, "startup_p50_s"), f(agent, "startup_max_s"));
    assert!(f(&summary, "startup_p50_s") < f(web, "startup_p50_s"), "{summary}");
}

fn tmp(name: &str) -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!("pullsim-workloads-{}", std::process::id())).join(name);
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

const EX: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/examples/rollout-basics.toml");

/// The contract example with a rolling update of `web` at 20 s and a DaemonSet `agent` declared
/// first, written to `dir`.
fn two_workloads(dir: &std::path::Path) -> std::path::PathBuf {
    let text = std::fs::read_to_string(EX).unwrap();
    let (head, web) = text.split_at(text.find("[[workload]]").unwrap());
    let agent = "[[workload]]\nname = \"agent\"\nkind = \"daemonset\"\n[workload.pod]\ncontainers = [ { image = \"nginx:1.27\" } ]\n\n";
    let web =
        web.replace("start = \"0s\"", "start = \"0s\"\nupdate = { at = \"20s\", image = \"nginx:1.27\" }");
    let f = dir.join("two.toml");
    std::fs::write(&f, format!("{head}{agent}{web}")).unwrap();
    f
}

/// A CSV file as header and rows, cells as text.
fn table(path: &std::path::Path) -> (Vec<String>, Vec<Vec<String>>) {
    let mut rd = csv::Reader::from_path(path).unwrap();
    let header = rd.headers().unwrap().iter().map(str::to_string).collect();
    let rows = rd.records().map(|r| r.unwrap().iter().map(str::to_string).collect()).collect();
    (header, rows)
}

/// A `summary.json` value as `runs.csv` writes it (numbers as their shortest text, null empty).
fn cell(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::Null => String::new(),
        serde_json::Value::Number(n) => match n.as_u64() {
            Some(i) => i.to_string(),
            None => format!("{}", n.as_f64().unwrap()),
        },
        other => panic!("not a cell: {other}"),
    }
}

#[test]
fn runs_csv_has_the_pool_facts_and_a_column_group_per_workload() {
    let dir = tmp("runs-columns");
    let f = two_workloads(&dir);
    let f = f.to_str().unwrap();
    let out = dir.join("sweep");
    ok(&["sweep", f, "--seeds", "2", "--out", out.to_str().unwrap(), "--quiet"]);
    let (header, rows) = table(&out.join("runs.csv"));
    let at =
        |name: &str| header.iter().position(|h| h == name).unwrap_or_else(|| panic!("no {name}: {header:?}"));
    // After the contract fields and the peaks: the pool facts, then the workloads in file order,
    // `rollout_s` only for the workload with an update.
    let tail: Vec<&str> =
        header[at("peak_registry_egress_bytes_per_s") + 1..].iter().map(String::as_str).collect();
    let fields = [
        "pods",
        "pods_running",
        "pods_failed",
        "startup_p50_s",
        "startup_p90_s",
        "startup_p99_s",
        "startup_max_s",
        "startup_mean_s",
        "makespan_s",
        "running_50pct_s",
        "running_90pct_s",
        "running_100pct_s",
        "bytes_pulled",
        "pulls",
        "pull_failures",
        "backoffs",
    ];
    let mut want = vec![
        "pods_stale_digest".to_string(),
        "gc_images_removed".into(),
        "gc_bytes_freed".into(),
        "gc_free_space_failed".into(),
    ];
    want.extend(fields.iter().map(|f| format!("agent.{f}")));
    want.extend(fields.iter().map(|f| format!("web.{f}")));
    want.push("web.rollout_s".into());
    assert_eq!(tail, want);
    // Row (base, seed 2) is what `pullsim run --seed 2` writes in summary.json.
    let run = dir.join("run");
    ok(&["run", f, "--seed", "2", "--out", run.to_str().unwrap(), "--quiet"]);
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(run.join("summary.json")).unwrap()).unwrap();
    let row = rows.iter().find(|r| r[at("seed")] == "2").unwrap();
    for k in
        ["pods_stale_digest", "gc_images_removed", "gc_bytes_freed", "gc_free_space_failed", "startup_p99_s"]
    {
        assert_eq!(row[at(k)], cell(&summary[k]), "{k}");
    }
    for w in ["agent", "web"] {
        for k in fields {
            assert_eq!(row[at(&format!("{w}.{k}"))], cell(&summary["workloads"][w][k]), "{w}.{k}");
        }
    }
    let rollout = &summary["workloads"]["web"]["rollout_s"][0];
    assert!(rollout.as_f64().is_some_and(|d| d > 0.0), "{summary}");
    assert_eq!(row[at("web.rollout_s")], cell(rollout));
    assert_eq!(summary["rollouts"][0][1], *rollout);
}

#[test]
fn a_variant_without_a_workload_leaves_its_cells_empty() {
    let out = tmp("renamed");
    let out = out.to_str().unwrap();
    ok(&["sweep", EX, "--seeds", "1", "--set", "workload.web.name=web,api", "--out", out, "--quiet"]);
    let (header, rows) = table(&std::path::Path::new(out).join("runs.csv"));
    let at = |name: &str| header.iter().position(|h| h == name).unwrap();
    assert_eq!(rows.len(), 2);
    assert_eq!((rows[0][at("web.pods")].as_str(), rows[0][at("api.pods")].as_str()), ("5", ""));
    assert_eq!((rows[1][at("web.pods")].as_str(), rows[1][at("api.pods")].as_str()), ("", "5"));
}

/// Mean of a `runs.csv` column over a variant's rows (its seeds).
fn mean_of(header: &[String], rows: &[Vec<String>], variant: &str, column: &str) -> f64 {
    let c = header.iter().position(|h| h == column).unwrap_or_else(|| panic!("no {column}"));
    let xs: Vec<f64> = rows.iter().filter(|r| r[0] == variant).map(|r| r[c].parse().unwrap()).collect();
    xs.iter().sum::<f64>() / xs.len() as f64
}

#[test]
fn compare_reports_the_default_key_workload_and_workload_chooses_another() {
    let dir = tmp("key");
    let f = two_workloads(&dir);
    let f = f.to_str().unwrap();
    // Default: `agent` is a DaemonSet declared first, so the key workload is `web`.
    let out = dir.join("default");
    let stdout = ok(&["compare", f, "--seeds", "3", "--max-parallel", "2", "--out", out.to_str().unwrap()]);
    assert!(
        stdout.contains(
            "startup, makespan and pull failures: workload web (default: first non-DaemonSet workload; \
             --workload NAME to choose); peaks: whole cluster"
        ),
        "{stdout}"
    );
    let (vh, vrows) = table(&out.join("variants.csv"));
    let (rh, rrows) = table(&out.join("runs.csv"));
    let at = |name: &str| vh.iter().position(|h| h == name).unwrap();
    assert_eq!(vh[at("seeds") + 1], "workload");
    for row in &vrows {
        assert_eq!(row[at("workload")], "web");
        // The key columns are web's: its mean p99 is the mean of runs.csv's web.startup_p99_s.
        let want = mean_of(&rh, &rrows, &row[0], "web.startup_p99_s");
        assert_eq!(row[at("startup_p99_s_mean")], format!("{want:.3}"), "{}", row[0]);
        let want = mean_of(&rh, &rrows, &row[0], "web.makespan_s");
        assert_eq!(row[at("makespan_s_mean")], format!("{want:.3}"), "{}", row[0]);
        // Peaks stay the whole cluster's.
        let want = mean_of(&rh, &rrows, &row[0], "peak_pulls_in_flight");
        assert_eq!(row[at("peak_pulls_in_flight_mean")], format!("{want:.3}"));
    }
    // startups.csv holds web's pods only: 5 per run (3 seeds x 3 variants), none of the
    // agent's 3 (one per node).
    let (_, startups) = table(&out.join("startups.csv"));
    let ran: usize = rrows
        .iter()
        .map(|r| r[rh.iter().position(|h| h == "web.pods").unwrap()].parse::<usize>().unwrap())
        .sum();
    assert_eq!(startups.len(), ran);
    let m: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("sweep.json")).unwrap()).unwrap();
    assert_eq!(m["workload"], serde_json::json!({ "name": "web", "chosen_by": "first-non-daemonset" }));

    // --workload agent: the agent's columns, said so in the header.
    let chosen = dir.join("agent");
    let stdout = ok(&[
        "compare",
        f,
        "--seeds",
        "3",
        "--max-parallel",
        "2",
        "--workload",
        "agent",
        "--out",
        chosen.to_str().unwrap(),
    ]);
    assert!(
        stdout.contains("startup, makespan and pull failures: workload agent (chosen with --workload)"),
        "{stdout}"
    );
    let (vh, vrows) = table(&chosen.join("variants.csv"));
    let at = |name: &str| vh.iter().position(|h| h == name).unwrap();
    let want = mean_of(&rh, &rrows, "serial", "agent.startup_p50_s");
    assert_eq!(
        (vrows[0][at("workload")].as_str(), vrows[0][at("startup_p50_s_mean")].clone()),
        ("agent", format!("{want:.3}"))
    );
    // The same runs: runs.csv does not depend on the choice.
    assert!(std::fs::read(chosen.join("runs.csv")).unwrap() == std::fs::read(out.join("runs.csv")).unwrap());
    let (_, startups) = table(&chosen.join("startups.csv"));
    assert_eq!(startups.len(), 3 * 3 * 3, "3 agent pods per run");
    // `chart DIR` redraws from the folder alone.
    ok(&["chart", chosen.to_str().unwrap()]);
}

#[test]
fn sweep_workload_in_the_file_is_the_key_workload_and_is_checked() {
    let dir = tmp("file-key");
    let f = two_workloads(&dir);
    let text = std::fs::read_to_string(&f).unwrap();
    let with = |w: &str| {
        let p = dir.join(format!("with-{w}.toml"));
        std::fs::write(&p, format!("{text}\n[sweep]\nseeds = 2\nworkload = \"{w}\"\n")).unwrap();
        p
    };
    let good = with("agent");
    let out = dir.join("out");
    let stdout = ok(&["sweep", good.to_str().unwrap(), "--out", out.to_str().unwrap()]);
    assert!(stdout.contains("workload agent (chosen by [sweep] workload)"), "{stdout}");
    // --workload overrides the file.
    let stdout = ok(&[
        "sweep",
        good.to_str().unwrap(),
        "--workload",
        "web",
        "--out",
        out.to_str().unwrap(),
        "--force",
    ]);
    assert!(stdout.contains("workload web (chosen with --workload)"), "{stdout}");
    // An unknown name is bad input, in the file (`validate` and `run` check it too) and on the
    // command line, with the closest name.
    let bad = with("agnet");
    for args in [
        vec!["sweep", bad.to_str().unwrap(), "--out", out.to_str().unwrap(), "--force"],
        vec!["validate", bad.to_str().unwrap()],
        vec![
            "compare",
            good.to_str().unwrap(),
            "--workload",
            "wbe",
            "--out",
            out.to_str().unwrap(),
            "--force",
        ],
        vec!["sweep", good.to_str().unwrap(), "--workload", "wbe", "--out", out.to_str().unwrap(), "--force"],
    ] {
        let o = pullsim(&args);
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains("no [[workload]] named") && err.contains("did you mean"), "{err}");
        assert!(err.contains("(expected one of agent, web)"), "{err}");
    }
    let o = pullsim(&["validate", bad.to_str().unwrap()]);
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("key `sweep.workload`"),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
}

#[test]
fn shards_chosen_for_different_workloads_do_not_merge() {
    let dir = tmp("merge-key");
    let f = two_workloads(&dir);
    let f = f.to_str().unwrap();
    let [s0, s1, s1_agent, merged] = ["s0", "s1", "s1-agent", "merged"].map(|n| dir.join(n));
    let s = |p: &std::path::PathBuf| p.to_str().unwrap().to_string();
    ok(&["sweep", f, "--seeds", "2", "--shard", "0/2", "--out", &s(&s0), "--quiet"]);
    ok(&["sweep", f, "--seeds", "2", "--shard", "1/2", "--out", &s(&s1), "--quiet"]);
    ok(&[
        "sweep",
        f,
        "--seeds",
        "2",
        "--shard",
        "1/2",
        "--workload",
        "agent",
        "--out",
        &s(&s1_agent),
        "--quiet",
    ]);
    let o = pullsim(&["merge", &s(&s0), &s(&s1_agent), "--out", &s(&merged)]);
    assert_eq!(o.status.code(), Some(2), "{}", String::from_utf8_lossy(&o.stderr));
    ok(&["merge", &s(&s0), &s(&s1), "--out", &s(&merged)]);
    let whole = dir.join("whole");
    ok(&["sweep", f, "--seeds", "2", "--out", &s(&whole), "--quiet"]);
    for file in ["runs.csv", "variants.csv", "startups.csv", "sweep.json"] {
        assert!(
            std::fs::read(whole.join(file)).unwrap() == std::fs::read(merged.join(file)).unwrap(),
            "{file}"
        );
    }
}
