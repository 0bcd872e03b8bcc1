//! Replaying observed pulls (`kind = "replay"`) and `pullsim calibrate`.

use super::{base, pull_spans, pullsim, run_toml, s, spans};

fn replay(pods: &str) -> String {
    base("unlimited", "100MB/s", "").replace("count = 1", "count = 2")
        + &format!(
            r#"
[[image]]
ref = "registry.example/a:v1"
layers = [ {{ size = "100MB" }} ]

[[image]]
ref = "registry.example/b:v1"
layers = [ {{ size = "200MB" }} ]

[[workload]]
name = "r"
kind = "replay"
pods = [
{pods}
]
"#
        )
}

fn load_err(text: &str) -> String {
    match pullsim::scenario::load(text, "test.toml", &[]) {
        Ok(_) => panic!("expected an invalid scenario"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn replay_pods_are_bound_to_their_node_at_their_time() {
    // Written out of order: sorted by `at`, r-0 is the 2 s pod. Each pull is one layer at
    // 100MB/s per connection with no latency: a (100MB) takes 1 s, b (200MB) 2 s.
    let (out, sink) = run_toml(&replay(
        r#"  { node = "pool-1", at = "5s", image = "registry.example/a:v1" },
  { node = "pool-0", at = "2s", image = "registry.example/b:v1" },"#,
    ));
    let mut rows = sink.pulls.clone();
    rows.sort_by_key(|r| r.started_s);
    assert_eq!(rows.len(), 2);
    assert_eq!(
        (rows[0].node.as_str(), rows[0].pod.as_str(), rows[0].image.as_str()),
        ("pool-0", "r-0", "registry.example/b:v1")
    );
    assert_eq!((s(rows[0].started_s.unwrap()), s(rows[0].finished_s.unwrap())), (2.0, 4.0));
    assert_eq!(
        (rows[1].node.as_str(), rows[1].pod.as_str(), rows[1].image.as_str()),
        ("pool-1", "r-1", "registry.example/a:v1")
    );
    assert_eq!((s(rows[1].started_s.unwrap()), s(rows[1].finished_s.unwrap())), (5.0, 6.0));
    assert_eq!(out.pods.len(), 2);
}

#[test]
fn replay_on_one_node_shares_it_as_pods_would() {
    // Two pods on one node 0.5 s apart; the kubelet pulls one image at a time (its default):
    // a ends at 1 s, b is requested at 0.5 s, starts at 1 s (its "in X" excludes the wait)
    // and ends at 3 s.
    let (_, sink) = run_toml(&replay(
        r#"  { node = "pool-0", at = "0s", image = "registry.example/a:v1" },
  { node = "pool-0", at = "0.5s", image = "registry.example/b:v1" },"#,
    ));
    let mut rows = sink.pulls.clone();
    rows.sort_by_key(|r| r.started_s);
    assert_eq!(rows.iter().map(|r| r.node.as_str()).collect::<Vec<_>>(), ["pool-0", "pool-0"]);
    assert_eq!(s(rows[0].finished_s.unwrap()), 1.0);
    assert_eq!(s(rows[1].requested_s), 0.5);
    assert_eq!((s(rows[1].started_s.unwrap()), s(rows[1].finished_s.unwrap())), (1.0, 3.0));
}

#[test]
fn a_replay_pod_with_several_images_pulls_them_in_order() {
    // One pod whose containers run a then b: the kubelet pulls a (0-1 s), starts it (start
    // time 0), then pulls b (1-3 s). With parallel pulls allowed the order stays: one pod's
    // containers are worked through one at a time.
    let text = replay(
        r#"  { node = "pool-0", at = "0s", images = ["registry.example/a:v1", "registry.example/b:v1"] },"#,
    );
    for serialize in ["true", "false"] {
        let (out, sink) =
            run_toml(&text.replace("[kubelet]", &format!("[kubelet]\nserialize_image_pulls = {serialize}")));
        let mut rows = sink.pulls.clone();
        rows.sort_by_key(|r| r.started_s);
        let got: Vec<_> = rows
            .iter()
            .map(|r| (r.pod.as_str(), r.image.as_str(), s(r.requested_s), s(r.finished_s.unwrap())))
            .collect();
        assert_eq!(
            got,
            [("r-0", "registry.example/a:v1", 0.0, 1.0), ("r-0", "registry.example/b:v1", 1.0, 3.0)],
            "serialize_image_pulls = {serialize}"
        );
        assert_eq!(out.pods.len(), 1);
    }
    let e = load_err(&replay(
        r#"  { node = "pool-0", at = "0s", image = "registry.example/a:v1", images = ["registry.example/b:v1"] },"#,
    ));
    assert!(e.contains("give either `image` (one container) or `images`"), "{e}");
    let e = load_err(&replay(
        r#"  { node = "pool-0", at = "0s", images = ["registry.example/a:v1", "x/zzz:v1"] },"#,
    ));
    assert!(e.contains("images[1]") && e.contains("is not declared"), "{e}");
    let e = load_err(&replay(r#"  { node = "pool-0", at = "0s", images = [] },"#));
    assert!(e.contains("must list at least one image"), "{e}");
}

#[test]
fn replay_errors_name_the_node_and_the_image() {
    let e = load_err(&replay(r#"  { node = "pool-2", at = "0s", image = "registry.example/a:v1" },"#));
    assert!(e.contains(r#"no node named "pool-2" (nodes: pool-0 to pool-1)"#), "{e}");
    let e = load_err(&replay(r#"  { node = "pool-0", at = "0s", image = "registry.example/zzz:v1" },"#));
    assert!(e.contains(r#"image "registry.example/zzz:v1""#) && e.contains("is not declared"), "{e}");
    let e = load_err(&replay(r#"  { node = "pool-0", image = "registry.example/a:v1" },"#));
    assert!(e.contains("missing required key `at`"), "{e}");
    // A node that joins later: a pod before it is an error (pool-1 joins at 10 s + 1 x 5 s).
    let late = replay(r#"  { node = "pool-1", at = "12s", image = "registry.example/a:v1" },"#)
        .replace("count = 2", "count = 2\njoin = { at = \"10s\", every = \"5s\" }");
    let e = load_err(&late);
    assert!(e.contains(r#"12s is before node "pool-1" joins (15s"#), "{e}");
    assert!(pullsim::scenario::load(&late.replace("12s", "15s"), "test.toml", &[]).is_ok());
    let e = load_err(&replay("").replace("pods = [\n\n]", "replicas = 1"));
    assert!(e.contains("`replicas` is only valid for kind = \"deployment\""), "{e}");
    assert!(e.contains("missing required key `pods`"), "{e}");
    let e = load_err(
        &(replay(r#"  { node = "pool-0", at = "0s", image = "registry.example/a:v1" },"#)
            + "[workload.pod]\ncontainers = [ { image = \"registry.example/a:v1\" } ]\n"),
    );
    assert!(e.contains("`pod` is only valid for kind"), "{e}");
}

/// `pullsim calibrate ARGS... --out OUT`, which must succeed: its output and calibration.json.
fn calibrate(args: &[&str], out: &std::path::Path) -> (std::process::Output, serde_json::Value) {
    let mut all = vec!["calibrate"];
    all.extend_from_slice(args);
    all.extend(["--out", out.to_str().unwrap()]);
    let o = pullsim(&all);
    assert!(o.status.success(), "{args:?}: {}", String::from_utf8_lossy(&o.stderr));
    let j = serde_json::from_str(&std::fs::read_to_string(out.join("calibration.json")).unwrap()).unwrap();
    (o, j)
}

/// A fitted value of calibration.json in its unit (`"80.01MB/s"` with `"MB/s"`: 80.01).
fn fitted(j: &serde_json::Value, key: &str, unit: &str) -> f64 {
    let text = j["params"][key].as_str().unwrap_or_else(|| panic!("no fitted {key} in {j}"));
    text.trim_end_matches(unit).parse().unwrap_or_else(|_| panic!("{key} = {text:?}: not in {unit}"))
}

fn data(name: &str) -> String {
    format!("{}/tests/data/calibrate/{name}", env!("CARGO_MANIFEST_DIR"))
}

fn out_dir(name: &str) -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!("pullsim-calibrate-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    d
}

#[test]
fn calibrate_recovers_the_per_connection_rate_the_events_were_made_with() {
    // events.jsonl: six pulls of one-layer images on three nodes, apart in time, timed as
    // size / 80MB/s (tests/data/calibrate/README.md); the scenario says 20MB/s.
    let out = out_dir("recover");
    let (o, j) = calibrate(
        &[
            &data("events.jsonl"),
            "--scenario",
            &data("cluster.toml"),
            "--fit",
            "registry.registry.example.per_connection",
        ],
        &out,
    );
    let mb_s = fitted(&j, "registry.registry.example.per_connection", "MB/s");
    let text = j["params"]["registry.registry.example.per_connection"].as_str().unwrap();
    assert!((mb_s / 80.0 - 1.0).abs() < 0.02, "fitted {text}");
    // At 20MB/s every pull takes 4 times as long: 300% off.
    assert_eq!(j["baseline_error"]["mape"], 3.0);
    assert!(j["error"]["mape"].as_f64().unwrap() < 0.02);
    assert_eq!(j["error"]["n"], 6);
    assert_eq!(j["nodes"]["ip-10-0-0-3.ec2.internal"], "workers-2");
    let csv = std::fs::read_to_string(out.join("pulls-observed-vs-predicted.csv")).unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines[0], "pod,node,image,observed_s,predicted_s");
    assert_eq!(lines.len(), 7);
    assert!(lines[1].starts_with("default/web-1,ip-10-0-0-1.ec2.internal,registry.example/app/a:v1,5.000,"));
    // The input with the fitted value, comments kept.
    let scn = std::fs::read_to_string(out.join("scenario.toml")).unwrap();
    assert!(
        scn.contains(&format!(
            "per_connection = \"{text}\" # fitted by pullsim calibrate to 6 observed pulls of events.jsonl (MAPE 300.0% before, 0.0% after)"
        )),
        "{scn}"
    );
    assert!(scn.contains("# from nodes.json: 3 x m5.large"));
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(stdout.contains("MAPE before 300.0%, after"), "{stdout}");
    assert!(!stdout.contains("could not fit well"), "{stdout}");
    // Deterministic: a second calibration writes the same bytes.
    let again = out_dir("recover-again");
    calibrate(
        &[
            &data("events.jsonl"),
            "--scenario",
            &data("cluster.toml"),
            "--fit",
            "registry.registry.example.per_connection",
        ],
        &again,
    );
    for f in ["calibration.json", "pulls-observed-vs-predicted.csv", "scenario.toml"] {
        assert_eq!(std::fs::read(out.join(f)).unwrap(), std::fs::read(again.join(f)).unwrap(), "{f}");
    }
}

#[test]
fn calibrate_holdout_reports_the_error_on_the_rest() {
    let out = out_dir("holdout");
    let (_, j) =
        calibrate(&[&data("events.jsonl"), "--scenario", &data("cluster.toml"), "--holdout", "0.34"], &out);
    // The default parameters; ceil(0.66 x 6) = 4 pulls fitted, 2 held out.
    let keys: Vec<&String> = j["params"].as_object().unwrap().keys().collect();
    assert_eq!(
        keys,
        [
            "registry.registry.example.latency",
            "registry.registry.example.per_connection",
            "runtime.unpack_rate"
        ]
    );
    assert_eq!((j["error"]["n"].as_u64(), j["holdout_error"]["n"].as_u64()), (Some(4), Some(2)));
    assert!(j["holdout_error"]["mape"].as_f64().unwrap() < 0.05, "{j}");
}

#[test]
fn calibrate_bad_input_is_exit_2_with_nothing_written() {
    let out = out_dir("bad");
    let (events, cluster, o) =
        (data("events.jsonl"), data("cluster.toml"), out.to_str().unwrap().to_string());
    let cases: [(Vec<&str>, &str); 3] = [
        (vec!["--holdout", "1.5"], "--holdout 1.5"),
        (vec!["--fit", "kubelet.registry_pull_qps"], "--fit kubelet.registry_pull_qps: pullsim fits"),
        (vec!["--fit", "registry.nowhere.example.latency"], "--fit registry.nowhere.example.latency"),
    ];
    for (extra, expect) in &cases {
        let mut args =
            vec!["calibrate", events.as_str(), "--scenario", cluster.as_str(), "--out", o.as_str()];
        args.extend(extra.iter().copied());
        let r = pullsim(&args);
        assert_eq!(r.status.code(), Some(2), "{extra:?}");
        let err = String::from_utf8_lossy(&r.stderr);
        assert!(err.contains(expect), "{extra:?}: {err}");
        assert!(!out.exists());
    }
    // Fewer nodes in the scenario than the events name.
    let small = out_dir("small-scenario");
    std::fs::create_dir_all(&small).unwrap();
    let one = small.join("one.toml");
    std::fs::write(&one, std::fs::read_to_string(&cluster).unwrap().replace("count = 3", "count = 2"))
        .unwrap();
    let r = pullsim(&["calibrate", &events, "--scenario", one.to_str().unwrap(), "--out", &o]);
    assert_eq!(r.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&r.stderr).contains("the events name 3 nodes but"), "{r:?}");
    // A file with no events at all.
    let r = pullsim(&["calibrate", &cluster, "--scenario", &cluster, "--out", &o]);
    assert_eq!(r.status.code(), Some(2), "{r:?}");
    assert!(!out.exists());
}

/// `pullsim import nodes.json events.jsonl` into `dir/out.toml`, with `assume`.
fn import_replay(dir: &std::path::Path, assume: &[&str]) -> String {
    std::fs::create_dir_all(dir).unwrap();
    let out = dir.join("out.toml");
    let mut args = vec![
        "import".to_string(),
        data("nodes.json"),
        data("events.jsonl"),
        "--out".into(),
        out.to_str().unwrap().into(),
        "--quiet".into(),
    ];
    for a in assume {
        args.extend(["--assume".to_string(), (*a).to_string()]);
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let o = pullsim(&args);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    std::fs::read_to_string(out).unwrap()
}

#[test]
fn an_imported_replay_reproduces_the_pulls_it_came_from() {
    // nodes.json lists ip-10-0-0-3 first: it is m5-large-0, and its pulls (batch-2 at 20 s,
    // tools-2 at 200 s) are replayed there. At the 80MB/s the events were made with, no
    // latency and instant unpacking, the run's pulls take what the events say: a 5 s, b 15 s,
    // c 2 s (tests/data/calibrate/README.md).
    let dir = out_dir("import-replay");
    let text = import_replay(
        &dir,
        &[
            "registry.registry.example.per_connection=80MB/s",
            "registry.registry.example.latency=0s",
            "runtime.unpack_rate=unlimited",
            "runtime.container_start=0s",
        ],
    );
    assert!(text.contains(r#"{ node = "m5-large-0", at = "20s", image = "registry.example/app/b:v1" }, # default/batch-2 on ip-10-0-0-3.ec2.internal"#), "{text}");
    let (_, sink) = run_toml(&text);
    assert_eq!(
        pull_spans(&sink),
        spans(&[
            ("m5-large-1", 0.0, 5.0),
            ("m5-large-2", 10.0, 12.0),
            ("m5-large-0", 20.0, 35.0),
            ("m5-large-1", 60.0, 75.0),
            ("m5-large-2", 100.0, 105.0),
            ("m5-large-0", 200.0, 202.0),
        ])
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn calibrate_places_the_events_nodes_by_the_node_list_given() {
    // The imported scenario and the node list together: ip-10-0-0-3 is m5-large-0, as import
    // made it, not m5-large-2 as sorted order would.
    let dir = out_dir("node-list");
    import_replay(&dir, &[]);
    let scenario = dir.join("out.toml");
    let cal = dir.join("cal");
    let (_, j) = calibrate(
        &[
            &data("events.jsonl"),
            &data("nodes.json"),
            "--scenario",
            scenario.to_str().unwrap(),
            "--fit",
            "registry.registry.example.per_connection",
        ],
        &cal,
    );
    assert_eq!(j["nodes"]["ip-10-0-0-3.ec2.internal"], "m5-large-0");
    assert_eq!(j["nodes"]["ip-10-0-0-1.ec2.internal"], "m5-large-1");
    // A scenario whose pools are named otherwise: sorted order, said so.
    let cal2 = dir.join("cal2");
    let (o, j) =
        calibrate(&[&data("events.jsonl"), &data("nodes.json"), "--scenario", &data("cluster.toml")], &cal2);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("3 of the events' 3 nodes are not in the Node documents given (or not in the scenario)"),
        "{err}"
    );
    assert_eq!(j["nodes"]["ip-10-0-0-3.ec2.internal"], "workers-2");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn calibrate_separates_the_per_layer_overhead_where_layer_counts_differ() {
    // layers-events.jsonl: a 1-layer and an 8-layer image of 400MB, made at 80MB/s with 1 s
    // per layer unpacked (tests/data/calibrate/README.md: 6 s and 8.625 s).
    let out = out_dir("layers");
    let (_, j) = calibrate(
        &[
            &data("layers-events.jsonl"),
            "--scenario",
            &data("layers-cluster.toml"),
            "--fit",
            "registry.registry.example.per_connection",
            "--fit",
            "runtime.unpack_layer_overhead",
        ],
        &out,
    );
    let rate = fitted(&j, "registry.registry.example.per_connection", "MB/s");
    let overhead_ms = fitted(&j, "runtime.unpack_layer_overhead", "ms");
    assert!((rate / 80.0 - 1.0).abs() < 0.01, "{j}");
    assert!((overhead_ms / 1000.0 - 1.0).abs() < 0.01, "{j}");
    assert!(j["error"]["mape"].as_f64().unwrap() < 0.01, "{j}");
    // The chart of predicted against observed, drawn from the CSV.
    for f in ["pulls-observed-vs-predicted.png", "pulls-observed-vs-predicted.svg"] {
        assert!(std::fs::metadata(out.join(f)).unwrap().len() > 1000, "{f}");
    }
    let svg = std::fs::read_to_string(out.join("pulls-observed-vs-predicted.svg")).unwrap();
    assert!(svg.contains("4 pulls"), "the title counts the pulls");
    // Without --fit, the defaults include the overhead: two layer counts were pulled (the
    // one-layer events.jsonl leaves it out: calibrate_holdout_reports_the_error_on_the_rest).
    let out2 = out_dir("layers-default");
    let (_, j) =
        calibrate(&[&data("layers-events.jsonl"), "--scenario", &data("layers-cluster.toml")], &out2);
    assert!(j["params"].get("runtime.unpack_layer_overhead").is_some(), "{j}");
    // `pullsim report` makes a page of it: the fitted values, the errors, the chart inline.
    let o = pullsim(&["report", out.to_str().unwrap()]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let html = std::fs::read_to_string(out.join("report.html")).unwrap();
    for want in [
        "<span class=\"kind\">calibration</span>",
        "<code>runtime.unpack_layer_overhead</code>",
        "before fitting (all pulls)",
        "after fitting (pulls fitted on)",
        "<svg",
        "--fit runtime.unpack_layer_overhead",
    ] {
        assert!(html.contains(want), "report.html lacks {want:?}");
    }
    // `pullsim chart` redraws it from the folder.
    std::fs::remove_file(out.join("pulls-observed-vs-predicted.png")).unwrap();
    let o = pullsim(&["chart", out.to_str().unwrap()]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(out.join("pulls-observed-vs-predicted.png").exists());
    let _ = std::fs::remove_dir_all(&out);
    let _ = std::fs::remove_dir_all(&out2);
}
