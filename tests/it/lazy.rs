//! Lazy pulling (`image.lazy`), hand-computed: the container starts once the prefetch share of
//! each layer has arrived or the prefetch timeout has passed; the rest downloads in the
//! background, shares the node's bandwidth and ends the pull attempt (pulls.csv `finished_s`);
//! `read_penalty` delays Ready until the image is whole; `summary.json` `lazy` counts it all.
//!
//! One node, 100 MB/s per connection, no latency, instant unpack and container start: a 1000 MB
//! layer downloads in 10 s.

use super::{base, pullsim, run_toml, s};
use pullsim::metrics::{LazySummary, MemorySink, RunOutput};

/// An image of one 1000 MB layer (`lazy` its lazy table, or empty for an eager image) and a pod
/// of it per entry of `pods` (workload name, start). `node_bw` the node's bandwidth.
fn scenario(node_bw: &str, lazy: &str, pods: &[(&str, &str)]) -> String {
    let mut text = base(node_bw, "100MB/s", "");
    text += "\n[[image]]\nref = \"registry.example/big:v1\"\nlayers = [ { size = \"1000MB\" } ]\n";
    if !lazy.is_empty() {
        text += &format!("lazy = {lazy}\n");
    }
    for (name, start) in pods {
        text += &pod(name, start, "registry.example/big:v1");
    }
    text
}

fn pod(name: &str, start: &str, image: &str) -> String {
    format!(
        "\n[[workload]]\nname = \"{name}\"\nkind = \"deployment\"\nreplicas = 1\nstart = \"{start}\"\n\
         [workload.pod]\ncontainers = [ {{ image = \"{image}\" }} ]\n"
    )
}

/// (workload, started seconds) of every pod, in workload order.
fn started(out: &RunOutput) -> Vec<(String, f64)> {
    out.pods.iter().map(|p| (p.workload.to_string(), s(p.started_s.expect("started")))).collect()
}

/// (started, finished, bytes, result) of every pull attempt, in pulls.csv order.
fn pulls(sink: &MemorySink) -> Vec<(f64, f64, u64, String)> {
    sink.pulls
        .iter()
        .map(|p| {
            (s(p.started_s.expect("started")), s(p.finished_s.expect("finished")), p.bytes, p.result.clone())
        })
        .collect()
}

const MB: u64 = 1_000_000;

#[test]
fn a_lazy_pull_starts_the_container_after_the_prefetch_and_ends_when_the_image_is_whole() {
    // Eager: the container starts when the layer is present, at 10 s.
    let (out, sink) = run_toml(&scenario("unlimited", "", &[("a", "0s")]));
    assert_eq!(started(&out), vec![("a".to_string(), 10.0)]);
    assert_eq!(pulls(&sink), vec![(0.0, 10.0, 1000 * MB, "ok".to_string())]);
    // Lazy, 10%: 100 MB prefetched at 1 s, the container starts then; the other 900 MB arrive
    // in the background at the same 100 MB/s and the pull attempt ends at 10 s, all bytes counted.
    let (out, sink) = run_toml(&scenario("unlimited", "{ prefetch = \"10%\" }", &[("a", "0s")]));
    assert_eq!(started(&out), vec![("a".to_string(), 1.0)]);
    assert_eq!(pulls(&sink), vec![(0.0, 10.0, 1000 * MB, "ok".to_string())]);
    // The pod's pull time is the kubelet's: until the pull returned.
    assert_eq!(out.pods[0].pull_s.as_secs_f64(), 1.0);
    assert_eq!(out.summary.bytes_pulled, 1000 * MB);
    // 50%: 5 s. 0%: at once (the blob request has no latency). 100%: the whole layer, 10 s.
    for (prefetch, start) in [("50%", 5.0), ("0%", 0.0), ("100%", 10.0)] {
        let lazy = format!("{{ prefetch = \"{prefetch}\" }}");
        let (out, sink) = run_toml(&scenario("unlimited", &lazy, &[("a", "0s")]));
        assert_eq!(started(&out), vec![("a".to_string(), start)], "{prefetch}");
        assert_eq!(pulls(&sink)[0].1, 10.0, "{prefetch}");
    }
}

#[test]
fn the_prefetch_timeout_starts_the_container_first() {
    // 10% would take 1 s; the timeout of 0.5 s after the layer phase began comes first.
    let lazy = "{ prefetch = \"10%\", prefetch_timeout = \"0.5s\" }";
    let (out, sink) = run_toml(&scenario("unlimited", lazy, &[("a", "0s")]));
    assert_eq!(started(&out), vec![("a".to_string(), 0.5)]);
    assert_eq!(pulls(&sink), vec![(0.0, 10.0, 1000 * MB, "ok".to_string())]);
    // A timeout that has not fired when the image is whole is taken back: the run ends at 10 s.
    let lazy = "{ prefetch = \"10%\", prefetch_timeout = \"60s\" }";
    let (out, sink) = run_toml(&scenario("unlimited", lazy, &[("a", "0s")]));
    assert_eq!(started(&out), vec![("a".to_string(), 1.0)]);
    assert_eq!(pulls(&sink)[0].1, 10.0);
    assert_eq!(out.summary.sim_end_s, 10.0);
    // The default timeout is 10 s: 50% of a layer at 10 MB/s per connection would take 50 s.
    let text = scenario("unlimited", "{ prefetch = \"50%\" }", &[("a", "0s")]).replace("100MB/s", "10MB/s");
    let (out, sink) = run_toml(&text);
    assert_eq!(started(&out), vec![("a".to_string(), 10.0)]);
    assert_eq!(pulls(&sink)[0].1, 100.0);
}

#[test]
fn a_pending_prefetch_timeout_neither_extends_the_samples_nor_takes_the_run_to_the_horizon() {
    // Ready at 1 s by the prefetch, whole at 10 s; the 60 s timeout is still queued then. The
    // run ends at 10 s and timeseries.csv has the rows 0 s .. 10 s (not 0 s .. 59 s).
    let lazy = "{ prefetch = \"10%\", prefetch_timeout = \"60s\" }";
    let text = scenario("unlimited", lazy, &[("a", "0s")]);
    let (out, sink) = run_toml(&text);
    assert_eq!(out.summary.sim_end_s, 10.0);
    let times: Vec<f64> = sink.samples.iter().map(|r| s(r.t_s)).collect();
    assert_eq!(times, (0..=10).map(f64::from).collect::<Vec<_>>());
    // With the horizon at 30 s, between the image whole (10 s) and the timeout (60 s): the
    // timeout does not count as something going on at the horizon, so the run still ends at
    // 10 s with the same rows.
    let (out, sink) = run_toml(&text.replace("seed = 1\n", "seed = 1\nuntil = \"30s\"\n"));
    assert_eq!(out.summary.sim_end_s, 10.0);
    assert_eq!(sink.samples.len(), 11);
}

/// summary.json `lazy` of a run.
fn lazy_summary(out: &RunOutput) -> LazySummary {
    out.lazy.clone().expect("a run with a lazy image has lazy counters")
}

#[test]
fn the_lazy_counters_count_early_starts_background_bytes_and_the_wait_for_the_whole_image() {
    // No lazy image: no `lazy` object (summary.json keeps its old shape).
    let (out, _) = run_toml(&scenario("unlimited", "", &[("a", "0s")]));
    assert_eq!(out.lazy, None);
    // 10% of 1000 MB at 100 MB/s: ready at 1 s with 100 MB moved; whole at 10 s. The other
    // 900 MB arrive after the start; the container waited 10 - 1 = 9 s for the whole image.
    let (out, _) = run_toml(&scenario("unlimited", "{ prefetch = \"10%\" }", &[("a", "0s")]));
    let want = LazySummary {
        pulls: 1,
        started_before_whole: 1,
        prefetch_timeouts: 0,
        background_bytes: 900 * MB,
        whole_after_start_p50_s: Some(9.0),
        whole_after_start_max_s: Some(9.0),
    };
    assert_eq!(lazy_summary(&out), want);
    // A 0.5 s timeout: ready at 0.5 s with 50 MB of the prefetch part moved, so 950 MB after the
    // start, and 10 - 0.5 = 9.5 s until whole.
    let lazy = "{ prefetch = \"10%\", prefetch_timeout = \"0.5s\" }";
    let (out, _) = run_toml(&scenario("unlimited", lazy, &[("a", "0s")]));
    let want = LazySummary {
        prefetch_timeouts: 1,
        background_bytes: 950 * MB,
        whole_after_start_p50_s: Some(9.5),
        whole_after_start_max_s: Some(9.5),
        ..want
    };
    assert_eq!(lazy_summary(&out), want);
    // 100%: the pull ends when the layer is whole, as an eager one would: nothing early. (With
    // the default 10 s timeout, the timeout and the last byte would both come at 10 s, and the
    // timeout, queued first, would count the start as early by 0 s.)
    let lazy = "{ prefetch = \"100%\", prefetch_timeout = \"60s\" }";
    let (out, _) = run_toml(&scenario("unlimited", lazy, &[("a", "0s")]));
    assert_eq!(lazy_summary(&out), LazySummary::default());
}

#[test]
fn summary_json_has_the_lazy_object_only_with_a_lazy_image() {
    let dir = std::env::temp_dir().join(format!("pullsim-lazy-summary-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (file, out) = (dir.join("s.toml"), dir.join("out"));
    let summary = |lazy: &str| -> (String, serde_json::Value) {
        std::fs::write(&file, scenario("unlimited", lazy, &[("a", "0s")])).unwrap();
        let o = pullsim(&["run", file.to_str().unwrap(), "--out", out.to_str().unwrap()]);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let text = std::fs::read_to_string(out.join("summary.json")).unwrap();
        (String::from_utf8_lossy(&o.stdout).into_owned(), serde_json::from_str(&text).unwrap())
    };
    // The 10% case: ready at 1 s, whole at 10 s.
    let (stdout, json) = summary("{ prefetch = \"10%\" }");
    let lazy = &json["lazy"];
    assert_eq!(lazy["pulls"], 1);
    assert_eq!(lazy["started_before_whole"], 1);
    assert_eq!(lazy["prefetch_timeouts"], 0);
    assert_eq!(lazy["background_bytes"], 900 * MB);
    assert_eq!(lazy["whole_after_start_p50_s"], 9.0);
    assert_eq!(lazy["whole_after_start_max_s"], 9.0);
    assert!(stdout.contains("lazy      1 started before whole (0 by the prefetch timeout)"), "{stdout}");
    let (stdout, json) = summary("");
    assert!(json.get("lazy").is_none(), "{json}");
    assert!(!stdout.contains("  lazy  "), "{stdout}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn the_lazy_counters_of_a_second_pull_an_outage_and_the_horizon() {
    // a ready at 1 s, whole at 10 s (9 s); b's pull at 5 s is ready at once, moves nothing and
    // ends with a's at 10 s (5 s). Background: a's 900 MB, b's 0. Nearest-rank p50 of
    // [5 s, 9 s] is the first: 5 s; max 9 s.
    let (out, _) = run_toml(&scenario("unlimited", "{ prefetch = \"10%\" }", &[("a", "0s"), ("b", "5s")]));
    let want = LazySummary {
        pulls: 2,
        started_before_whole: 2,
        prefetch_timeouts: 0,
        background_bytes: 900 * MB,
        whole_after_start_p50_s: Some(5.0),
        whole_after_start_max_s: Some(9.0),
    };
    assert_eq!(lazy_summary(&out), want);
    // The outage at 5 s breaks the background fetch with 500 MB moved: 400 MB after the start,
    // and the image is never whole (no wait to report).
    let text = scenario("unlimited", "{ prefetch = \"10%\" }", &[("a", "0s")])
        .replace("latency = \"0s\"", "latency = \"0s\"\noutages = [ { from = \"5s\", to = \"6s\" } ]");
    let (out, _) = run_toml(&text);
    let want = LazySummary {
        pulls: 1,
        started_before_whole: 1,
        prefetch_timeouts: 0,
        background_bytes: 400 * MB,
        whole_after_start_p50_s: None,
        whole_after_start_max_s: None,
    };
    assert_eq!(lazy_summary(&out), want);
    // A horizon at 5 s: the attempt is in progress with 500 MB moved (pulls.csv counts the
    // bytes in flight), the same 400 MB after the start.
    let text = scenario("unlimited", "{ prefetch = \"10%\" }", &[("a", "0s")])
        .replace("seed = 1\n", "seed = 1\nuntil = \"5s\"\n");
    let (out, sink) = run_toml(&text);
    assert_eq!(sink.pulls[0].result, "in_progress");
    assert_eq!(sink.pulls[0].bytes, 500 * MB);
    assert_eq!(lazy_summary(&out), want);
}

#[test]
fn a_second_pod_during_the_background_fetch_starts_at_once_and_its_pull_ends_with_the_first() {
    // Pod a's pull returns at 1 s (its puller slot is free again). Pod b at 5 s finds no image
    // on the node (the layer is still arriving): its pull runs, finds the layer downloading its
    // rest, is ready at once (b starts at 5 s), downloads nothing, and ends at 10 s with a's.
    let (out, sink) = run_toml(&scenario("unlimited", "{ prefetch = \"10%\" }", &[("a", "0s"), ("b", "5s")]));
    assert_eq!(started(&out), vec![("a".to_string(), 1.0), ("b".to_string(), 5.0)]);
    assert_eq!(
        pulls(&sink),
        vec![(0.0, 10.0, 1000 * MB, "ok".to_string()), (5.0, 10.0, 0, "ok".to_string())]
    );
    // A pod after 10 s finds the image present: no pull.
    let (out, sink) =
        run_toml(&scenario("unlimited", "{ prefetch = \"10%\" }", &[("a", "0s"), ("c", "12s")]));
    assert_eq!(started(&out), vec![("a".to_string(), 1.0), ("c".to_string(), 12.0)]);
    assert_eq!(sink.pulls.len(), 1);
    assert_eq!(out.pods[1].cache_hits, 1);
}

#[test]
fn the_background_fetch_shares_the_node_bandwidth_with_the_next_pull() {
    // Node 100 MB/s, serial puller; pod a pulls the 1000 MB image, then pod b a 500 MB one.
    let small = "\n[[image]]\nref = \"registry.example/small:v1\"\nlayers = [ { size = \"500MB\" } ]\n";
    let two = |lazy: &str| {
        scenario("100MB/s", lazy, &[("a", "0s")]) + small + &pod("b", "0s", "registry.example/small:v1")
    };
    // Eager: a 0-10 s, then b 10-15 s.
    let (out, sink) = run_toml(&two(""));
    assert_eq!(started(&out), vec![("a".to_string(), 10.0), ("b".to_string(), 15.0)]);
    assert_eq!(pulls(&sink).iter().map(|p| (p.0, p.1)).collect::<Vec<_>>(), vec![(0.0, 10.0), (10.0, 15.0)]);
    // Lazy a: returns at 1 s, b's pull starts then. a's 900 MB rest and b's 500 MB share the
    // node at 50 MB/s each: b ends at 1 + 500/50 = 11 s, when a has 400 MB left, alone at
    // 100 MB/s: a ends at 15 s (rows in the order attempts end).
    let (out, sink) = run_toml(&two("{ prefetch = \"10%\" }"));
    assert_eq!(started(&out), vec![("a".to_string(), 1.0), ("b".to_string(), 11.0)]);
    assert_eq!(pulls(&sink).iter().map(|p| (p.0, p.1)).collect::<Vec<_>>(), vec![(1.0, 11.0), (0.0, 15.0)]);
}

#[test]
fn the_read_penalty_delays_ready_until_the_image_is_whole_and_so_a_rolling_update() {
    // One replica on v1 (100 MB), updated at 100 s to v2 (1000 MB) with maxSurge 1 and
    // maxUnavailable 0: the update ends when the new pod is available.
    let text = |lazy: &str| {
        let mut t = base("unlimited", "100MB/s", "");
        t += "\n[[image]]\nref = \"registry.example/app:1\"\nlayers = [ { size = \"100MB\" } ]\n";
        t += "\n[[image]]\nref = \"registry.example/app:2\"\nlayers = [ { size = \"1000MB\" } ]\n";
        if !lazy.is_empty() {
            t += &format!("lazy = {lazy}\n");
        }
        t + "\n[[workload]]\nname = \"app\"\nkind = \"deployment\"\nreplicas = 1\n\
             rollout = { max_surge = 1, max_unavailable = 0 }\n\
             update = { at = \"100s\", image = \"registry.example/app:2\" }\n\
             [workload.pod]\ncontainers = [ { image = \"registry.example/app:1\" } ]\n"
    };
    // Eager: the new pod runs (and is Ready) at 110 s.
    let (out, _) = run_toml(&text(""));
    assert_eq!(out.rollouts, vec![("app".to_string(), Some(10.0))]);
    // Lazy: it runs at 101 s, Ready at once.
    let (out, _) = run_toml(&text("{ prefetch = \"10%\" }"));
    assert_eq!(out.rollouts, vec![("app".to_string(), Some(1.0))]);
    // With a 5 s read penalty: Ready at 106 s.
    let (out, _) = run_toml(&text("{ prefetch = \"10%\", read_penalty = \"5s\" }"));
    assert_eq!(out.rollouts, vec![("app".to_string(), Some(6.0))]);
    // With a 20 s one: 121 s would come after the image is whole (110 s), when the reads stop
    // going to the registry: Ready at 110 s.
    let (out, _) = run_toml(&text("{ prefetch = \"10%\", read_penalty = \"20s\" }"));
    assert_eq!(out.rollouts, vec![("app".to_string(), Some(10.0))]);
    // Never before `ready_after`: with 15 s of it the pod runs at 101 s, and its image is whole
    // at 110 s, before `ready_after` ends: no penalty left, Ready at 116 s (not 121 s or 136 s).
    let with_ready = |ready: &str, lazy: &str| {
        text(lazy).replace("replicas = 1\n", &format!("replicas = 1\nready_after = \"{ready}\"\n"))
    };
    for penalty in ["5s", "20s"] {
        let lazy = format!("{{ prefetch = \"10%\", read_penalty = \"{penalty}\" }}");
        let (out, _) = run_toml(&with_ready("15s", &lazy));
        assert_eq!(out.rollouts, vec![("app".to_string(), Some(16.0))], "{penalty}");
    }
    // With 5 s of it: Ready at 106 s + 2 s = 108 s, before the image is whole; with a 20 s
    // penalty, at 110 s when the image is whole (not 126 s).
    let (out, _) = run_toml(&with_ready("5s", "{ prefetch = \"10%\", read_penalty = \"2s\" }"));
    assert_eq!(out.rollouts, vec![("app".to_string(), Some(8.0))]);
    let (out, _) = run_toml(&with_ready("5s", "{ prefetch = \"10%\", read_penalty = \"20s\" }"));
    assert_eq!(out.rollouts, vec![("app".to_string(), Some(10.0))]);
}

#[test]
fn bad_lazy_tables_are_refused_naming_the_key() {
    let dir = std::env::temp_dir().join(format!("pullsim-lazy-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let cases = [
        ("{ prefetch = \"120%\" }", "lazy.prefetch", "percentage"),
        ("{ prefetch = 0.1 }", "lazy.prefetch", "percentage"),
        ("{ prefetch = \"10\" }", "lazy.prefetch", "percentage"),
        ("{ prefetch_timeout = \"soon\" }", "lazy.prefetch_timeout", ""),
        ("{ read_penalty = \"-1s\" }", "lazy.read_penalty", ""),
        ("{ prefech = \"10%\" }", "prefech", ""),
    ];
    for (i, (lazy, key, word)) in cases.into_iter().enumerate() {
        let path = dir.join(format!("s{i}.toml"));
        std::fs::write(&path, scenario("unlimited", lazy, &[("a", "0s")])).unwrap();
        let o = pullsim(&["validate", path.to_str().unwrap()]);
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{lazy}: {err}");
        assert!(err.contains(key) && err.contains(word), "{lazy}: {err}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn an_outage_during_the_background_fetch_fails_the_attempt_but_not_the_running_container() {
    // The container started at 1 s; the outage at 5 s breaks the download after 500 MB. The
    // attempt's row says so; the pod keeps running (nothing pulls the image again).
    let text = scenario("unlimited", "{ prefetch = \"10%\" }", &[("a", "0s")])
        .replace("latency = \"0s\"", "latency = \"0s\"\noutages = [ { from = \"5s\", to = \"6s\" } ]");
    let (out, sink) = run_toml(&text);
    assert_eq!(started(&out), vec![("a".to_string(), 1.0)]);
    assert_eq!(pulls(&sink), vec![(0.0, 5.0, 500 * MB, "failed:outage".to_string())]);
    assert_eq!(out.summary.pods_running, 1);
    assert_eq!(out.pods[0].status, "Running");
}
