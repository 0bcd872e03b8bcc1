//! `[[prepull]]`, hand-computed: an image-puller DaemonSet warms the chosen pools from `at`,
//! its pulls are real pulls, a node that joins later is warmed on join, the application's pods
//! then find their image present, and `summary.json` `prepulls` says when and how many.

use super::{base, pullsim, pullsim_ok, run_toml, run_toml_with, s};

/// One node; 50 MB/s per connection and no latency: a 100 MB single-layer image downloads in
/// 2 s; containers start 0.5 s after their image is present. A prepull `warm` of the app image
/// at 0 s, and a Deployment of one replica of it created at 60 s.
fn warm_then_app() -> String {
    base("unlimited", "50MB/s", "").replace(r#"container_start = "0s""#, r#"container_start = "500ms""#)
        + r#"
[[image]]
ref = "registry.example/app:1"
layers = [ { size = "100MB" } ]

[[workload]]
name = "app"
kind = "deployment"
replicas = 1
start = "60s"
[workload.pod]
containers = [ { image = "registry.example/app:1" } ]

[[prepull]]
name = "warm"
images = ["registry.example/app:1"]
at = "0s"
"#
}

fn workload<'a>(
    out: &'a pullsim::metrics::RunOutput,
    name: &str,
) -> &'a pullsim::metrics::workloads::WorkloadSummary {
    out.workloads.iter().find(|w| w.name == name).unwrap_or_else(|| panic!("no workload {name}"))
}

#[test]
fn a_prepulled_image_leaves_the_app_pod_only_its_container_start() {
    // With the prepull: its pod pulls 0 → 2 s (100 MB at 50 MB/s), so the node holds the image
    // from 2 s (warm_s = 2.0); its container starts at 2.5 s. The app pod, created at 60 s,
    // finds the image present (IfNotPresent: no pull) and starts 0.5 s later: startup 0.5 s.
    let (out, sink) = run_toml(&warm_then_app());
    let app = workload(&out, "app");
    assert_eq!(app.startup_max_s, Some(0.5));
    assert_eq!((app.pulls, app.bytes_pulled), (0, 0));
    let warm = workload(&out, "prepull:warm");
    assert_eq!((warm.pods, warm.pods_running, warm.pulls), (1, 1, 1));
    assert_eq!(warm.bytes_pulled, 100_000_000);
    assert_eq!(warm.startup_max_s, Some(2.5));
    assert_eq!(sink.pulls.len(), 1);
    assert_eq!(s(sink.pulls[0].finished_s.unwrap()), 2.0);
    let p = &out.prepulls[0];
    assert_eq!((p.name.as_str(), p.enabled, p.nodes_targeted, p.nodes_warmed), ("warm", true, 1, 1));
    assert_eq!(p.warm_s, Some(2.0));
    // The pulls count as any pull: in the pooled totals too.
    assert_eq!(out.summary.bytes_pulled, 100_000_000);

    // Without (turned off by --set): the app pod pulls 60 → 62 s and starts at 62.5 s: 2.5 s.
    let (out, sink) = run_toml_with(&warm_then_app(), &[("prepull.warm.enabled", "false")]);
    let app = workload(&out, "app");
    assert_eq!(app.startup_max_s, Some(2.5));
    assert_eq!((app.pulls, app.bytes_pulled), (1, 100_000_000));
    assert!(out.workloads.iter().all(|w| w.name != "prepull:warm"), "no DaemonSet when off");
    assert_eq!(s(sink.pulls[0].requested_s), 60.0);
    let p = &out.prepulls[0];
    assert_eq!((p.enabled, p.nodes_targeted, p.nodes_warmed, p.warm_s), (false, 0, 0, None));
}

#[test]
fn one_prepull_pod_pulls_its_images_in_order() {
    // 40 ms round trips: each pull sends HEAD + index GET + manifest GET + config (160 ms), then
    // one blob request (40 ms): 0.2 s before the bytes. At 50 MB/s: image a (50 MB) is 0.2 + 1
    // = 1.2 s, image b (100 MB) 0.2 + 2 = 2.2 s. a is the init container: its pull ends at
    // 1.2 s, the container starts 0.5 s later (1.7 s) and exits at once; b is pulled from
    // 1.7 s to 3.9 s. So the node holds both images at 1.2 + 0.5 + 2.2 = 3.9 s, and the pod
    // runs at 4.4 s.
    let text = base("unlimited", "50MB/s", "")
        .replace(r#"container_start = "0s""#, r#"container_start = "500ms""#)
        .replace(r#"latency = "0s""#, r#"latency = "40ms""#)
        + r#"
[[image]]
ref = "registry.example/a:1"
layers = [ { size = "50MB" } ]

[[image]]
ref = "registry.example/b:1"
layers = [ { size = "100MB" } ]

[[prepull]]
name = "both"
images = ["registry.example/a:1", "registry.example/b:1"]
"#;
    let (out, sink) = run_toml(&text);
    let times: Vec<(f64, f64)> =
        sink.pulls.iter().map(|p| (s(p.requested_s), s(p.finished_s.unwrap()))).collect();
    assert_eq!(times, vec![(0.0, 1.2), (1.7, 3.9)]);
    assert_eq!(out.prepulls[0].warm_s, Some(3.9));
    assert_eq!(workload(&out, "prepull:both").startup_max_s, Some(4.4));
    assert_eq!(out.registries[0].requests, 10, "five requests per pull");
}

#[test]
fn a_node_that_joins_after_at_is_warmed_on_join_and_other_pools_are_not() {
    // Pool `pool`: node 0 joins at 0 s, node 1 at 100 s. Pool `other` (one node at 0 s) is not
    // chosen. 100 MB at 100 MB/s, no latency: 1 s a pull. The prepull starts at 10 s: node 0
    // pulls 10 → 11 s (warm_s = 1.0, node 1 had not joined by `at`); node 1 gets its pod when
    // it joins and pulls 100 → 101 s.
    let text = base("unlimited", "100MB/s", "")
        .replace("count = 1\n", "count = 2\njoin = { at = \"0s\", every = \"100s\" }\n")
        + r#"
[[node_pool]]
name = "other"
count = 1

[[image]]
ref = "registry.example/app:1"
layers = [ { size = "100MB" } ]

[[prepull]]
name = "warm"
images = ["registry.example/app:1"]
node_pools = ["pool"]
at = "10s"
"#;
    let (out, sink) = run_toml(&text);
    let pulls: Vec<(String, f64, f64)> =
        sink.pulls.iter().map(|p| (p.node.to_string(), s(p.requested_s), s(p.finished_s.unwrap()))).collect();
    assert_eq!(pulls, vec![("pool-0".into(), 10.0, 11.0), ("pool-1".into(), 100.0, 101.0)]);
    let p = &out.prepulls[0];
    assert_eq!((p.nodes_targeted, p.nodes_warmed, p.warm_s), (2, 2, Some(1.0)));
    let warm = workload(&out, "prepull:warm");
    assert_eq!((warm.pods, warm.startup_p50_s, warm.startup_max_s), (2, Some(1.0), Some(1.0)));
}

#[test]
fn the_prepull_is_never_the_default_key_workload() {
    let scn = pullsim::scenario::load(&warm_then_app(), "t.toml", &[]).unwrap();
    assert_eq!(scn.workloads.len(), 2, "app, then the prepull's DaemonSet");
    let key = pullsim::experiment::key::choose(&scn, None).unwrap().unwrap();
    assert_eq!(key.name, "app");
    assert_eq!(key.chosen_by, pullsim::experiment::key::ChosenBy::Only);
    // Named explicitly, it may be studied.
    let key = pullsim::experiment::key::choose(&scn, Some("prepull:warm")).unwrap().unwrap();
    assert_eq!(key.name, "prepull:warm");
}

fn tmp(name: &str) -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!("pullsim-prepull-{}", std::process::id())).join(name);
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

#[test]
fn summary_json_has_prepulls_only_when_the_file_has_any() {
    let dir = tmp("summary");
    let file = dir.join("warm.toml");
    std::fs::write(&file, warm_then_app()).unwrap();
    let out = dir.join("out");
    let stdout = pullsim_ok(&["run", file.to_str().unwrap(), "--out", out.to_str().unwrap()]);
    assert!(stdout.contains("prepull   warm  warm 2.000s  1/1 nodes warmed"), "{stdout}");
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).unwrap()).unwrap();
    let warm = &summary["prepulls"]["warm"];
    assert_eq!(warm["enabled"], true);
    assert_eq!(warm["nodes_targeted"], 1);
    assert_eq!(warm["nodes_warmed"], 1);
    assert_eq!(warm["warm_s"], 2.0);
    assert_eq!(summary["workloads"]["prepull:warm"]["pulls"], 1);
    let pods = std::fs::read_to_string(out.join("pods.csv")).unwrap();
    assert!(pods.lines().any(|l| l.starts_with("prepull:warm-0,prepull:warm,pool-0,")), "{pods}");

    // Without any [[prepull]], the key is absent (the summary is what it always was).
    let plain = warm_then_app();
    let plain = &plain[..plain.find("[[prepull]]").unwrap()];
    std::fs::write(&file, plain).unwrap();
    pullsim_ok(&["run", file.to_str().unwrap(), "--out", out.to_str().unwrap()]);
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).unwrap()).unwrap();
    assert!(summary.get("prepulls").is_none(), "{summary}");
}

#[test]
fn bad_prepull_tables_are_refused_with_the_key_and_a_suggestion() {
    let dir = tmp("bad");
    let cases: [(&str, &str, &str); 5] = [
        (
            "images = [\"registry.example/nope:1\"]",
            "key `prepull.warm.images[0]`",
            "image \"registry.example/nope:1\" (normalized \"registry.example/nope:1\") is not declared",
        ),
        (
            "images = [\"registry.example/app:1\"]\nnode_pools = [\"poool\"]",
            "key `prepull.warm.node_pools[0]`",
            "no node_pool named \"poool\": did you mean \"pool\"? (expected one of the pools: pool)",
        ),
        ("images = [\"registry.example/app:1\"]\nimage = \"x\"", "unknown field `image`", "images"),
        ("images = []", "key `prepull.warm.images`", "must list at least one image"),
        ("images = [\"registry.example/app:1\"]\nat = \"soon\"", "key `prepull.warm.at`", "duration"),
    ];
    for (i, (lines, key, message)) in cases.iter().enumerate() {
        let text = base("unlimited", "50MB/s", "")
            + "\n[[image]]\nref = \"registry.example/app:1\"\nlayers = [ { size = \"100MB\" } ]\n"
            + &format!("\n[[prepull]]\nname = \"warm\"\n{lines}\n");
        let file = dir.join(format!("bad-{i}.toml"));
        std::fs::write(&file, text).unwrap();
        let o = pullsim(&["validate", file.to_str().unwrap()]);
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{lines}: {err}");
        assert!(err.contains(key) && err.contains(message), "{lines}: {err}");
        assert!(!err.contains("panicked"), "{err}");
    }
    // Two tables with one name.
    let text = base("unlimited", "50MB/s", "")
        + "\n[[image]]\nref = \"registry.example/app:1\"\nlayers = [ { size = \"100MB\" } ]\n"
        + "\n[[prepull]]\nname = \"warm\"\nimages = [\"registry.example/app:1\"]\n"
        + "\n[[prepull]]\nname = \"warm\"\nimages = [\"registry.example/app:1\"]\n";
    let file = dir.join("dup.toml");
    std::fs::write(&file, text).unwrap();
    let o = pullsim(&["validate", file.to_str().unwrap()]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains(":36:1: key `prepull.warm.name`: duplicate prepull name \"warm\""), "{err}");
}

#[test]
fn a_sweep_compares_the_app_with_and_without_the_prepull() {
    // The axis turns the prepull off and on; the key workload stays `app` (the prepull's
    // DaemonSet is never the default), whose startup is 2.5 s without and 0.5 s with, as
    // computed in the first test. Every seed gives the same: the scenario draws nothing.
    let dir = tmp("sweep");
    let file = dir.join("warm.toml");
    std::fs::write(&file, warm_then_app()).unwrap();
    let out = dir.join("out");
    pullsim_ok(&[
        "sweep",
        file.to_str().unwrap(),
        "--set",
        "prepull.warm.enabled=false,true",
        "--seeds",
        "2",
        "--out",
        out.to_str().unwrap(),
        "--quiet",
    ]);
    let manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("sweep.json")).unwrap()).unwrap();
    assert_eq!(manifest["workload"]["name"], "app");
    assert_eq!(manifest["workload"]["chosen_by"], "only");
    let runs = std::fs::read_to_string(out.join("runs.csv")).unwrap();
    let mut lines = runs.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let col =
        |name: &str| header.iter().position(|h| *h == name).unwrap_or_else(|| panic!("{name}: {header:?}"));
    let (axis, app) = (col("prepull.warm.enabled"), col("app.startup_max_s"));
    let got: Vec<(String, String)> = lines
        .map(|l| {
            let cells: Vec<&str> = l.split(',').collect();
            (cells[axis].to_string(), cells[app].to_string())
        })
        .collect();
    let want = [("false", "2.5"), ("false", "2.5"), ("true", "0.5"), ("true", "0.5")];
    assert_eq!(got, want.map(|(a, b)| (a.to_string(), b.to_string())));
}

#[test]
fn a_prepull_after_the_end_is_a_warning_and_validate_counts_prepulls() {
    let dir = tmp("late");
    let file = dir.join("late.toml");
    let text = warm_then_app()
        .replace("[simulation]\n", "[simulation]\nuntil = \"1h\"\n")
        .replace("at = \"0s\"\n", "at = \"2h\"\n");
    std::fs::write(&file, text).unwrap();
    let o = pullsim(&["validate", file.to_str().unwrap()]);
    let (stdout, stderr) = (String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr));
    assert_eq!(o.status.code(), Some(0), "{stderr}");
    assert!(stdout.contains("1 workloads, 1 prepulls)"), "{stdout}");
    assert!(
        stderr.contains("key `prepull.warm.at`: the prepull starts at 2.00h, at or after the end of the run"),
        "{stderr}"
    );
}
