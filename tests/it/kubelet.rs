//! Kubelet behaviour through whole runs: backoff, policies, pullers, throttle, failures.

use super::{base, run_toml, run_toml_with, s};
use pullsim::metrics::PullRow;

fn one_image_pods(kubelet: &str, replicas: u32, container: &str) -> String {
    base("unlimited", "100MB/s", kubelet)
        + &format!(
            r#"
[[image]]
ref = "registry.example/a:v1"
layers = [ {{ size = "100MB" }} ]

[[workload]]
name = "w"
kind = "deployment"
replicas = {replicas}
[workload.pod]
containers = [ {container} ]
"#
        )
}

#[test]
fn backoff_ladder_against_a_registry_that_always_fails() {
    let text = one_image_pods("", 1, r#"{ image = "registry.example/a:v1" }"#)
        .replace("latency = \"0s\"", "latency = \"0s\"\nfailure_rate = 1.0")
        .replace("seed = 1", "seed = 1\nuntil = \"1h\"");
    let (out, sink) = run_toml(&text);
    let times: Vec<f64> = sink.pulls.iter().map(|r| s(r.requested_s)).collect();
    assert!(sink.pulls.iter().all(|r| r.result == "failed:transient"));
    // Each retry comes at least one backoff step after the previous failure (10 s doubling to
    // 300 s), and at most one pod-worker period (< 15 s) later than that.
    let steps = [10.0, 20.0, 40.0, 80.0, 160.0, 300.0, 300.0, 300.0];
    assert!(times.len() >= 8, "attempts within an hour: {times:?}");
    for (i, w) in times.windows(2).enumerate() {
        let gap = w[1] - w[0];
        let step = steps[i.min(steps.len() - 1)];
        assert!(
            gap >= step && gap < step + 15.0,
            "attempt {}: gap {gap} for backoff {step}: {times:?}",
            i + 2
        );
    }
    let attempts: Vec<u32> = sink.pulls.iter().map(|r| r.attempt).collect();
    assert_eq!(attempts, (1..=attempts.len() as u32).collect::<Vec<_>>());
    let pod = &out.pods[0];
    assert!(pod.status == "ImagePullBackOff" || pod.status == "ErrImagePull", "{}", pod.status);
    assert!(pod.backoffs > 0);
    assert!(pod.started_s.is_none());
    assert_eq!(out.summary.pods_running, 0);
}

#[test]
fn never_with_an_absent_image_is_err_image_never_pull() {
    let text = one_image_pods("", 1, r#"{ image = "registry.example/a:v1", pull_policy = "Never" }"#)
        .replace("seed = 1", "seed = 1\nuntil = \"2m\"");
    let (out, sink) = run_toml(&text);
    assert!(sink.pulls.is_empty(), "Never never pulls");
    assert_eq!(out.pods[0].status, "ErrImageNeverPull");
    assert!(
        out.pods[0].last_error.contains("is not present with pull policy of Never"),
        "{}",
        out.pods[0].last_error
    );
}

#[test]
fn never_with_a_preloaded_image_runs() {
    let text = one_image_pods("", 1, r#"{ image = "registry.example/a:v1", pull_policy = "Never" }"#)
        .replace("disk = \"1000GiB\"", "disk = \"1000GiB\"\npreloaded = [\"registry.example/a:v1\"]");
    let (out, sink) = run_toml(&text);
    assert!(sink.pulls.is_empty());
    assert_eq!(out.pods[0].status, "Running");
    assert_eq!(out.pods[0].cache_hits, 1);
}

#[test]
fn invalid_image_name_never_pulls() {
    let text = one_image_pods("", 1, r#"{ image = "Registry.Example/A:v1" }"#)
        .replace("seed = 1", "seed = 1\nuntil = \"1m\"");
    let (out, sink) = run_toml(&text);
    assert!(sink.pulls.is_empty());
    assert_eq!(out.pods[0].status, "InvalidImageName");
}

fn max_overlap(rows: &[PullRow]) -> usize {
    let mut ev: Vec<(u64, i32)> = Vec::new();
    for r in rows {
        ev.push((r.started_s.unwrap().0, 1));
        ev.push((r.finished_s.unwrap().0, -1));
    }
    ev.sort(); // ends before starts at equal times
    let (mut cur, mut max) = (0i32, 0i32);
    for (_, d) in ev {
        cur += d;
        max = max.max(cur);
    }
    max as usize
}

fn many_images(kubelet: &str, n: usize) -> String {
    let mut t = base("100MB/s", "unlimited", kubelet);
    for i in 0..n {
        t += &format!(
            "[[image]]\nref = \"registry.example/i{i}:v1\"\nlayers = [ {{ size = \"50MB\" }} ]\n[[workload]]\nname = \"w{i}\"\nkind = \"deployment\"\nreplicas = 1\n[workload.pod]\ncontainers = [ {{ image = \"registry.example/i{i}:v1\" }} ]\n"
        );
    }
    t
}

#[test]
fn max_parallel_two_never_has_a_third_pull_in_flight() {
    let (out, sink) =
        run_toml(&many_images("serialize_image_pulls = false\nmax_parallel_image_pulls = 2", 7));
    assert_eq!(out.summary.pods_running, 7);
    assert_eq!(max_overlap(&sink.pulls), 2);
}

#[test]
fn serial_never_has_two_pulls_in_flight() {
    let (out, sink) = run_toml(&many_images("serialize_image_pulls = true", 5));
    assert_eq!(out.summary.pods_running, 5);
    assert_eq!(max_overlap(&sink.pulls), 1);
    // Back to back at 50 MB / 100 MB/s = 0.5 s each.
    let ends: Vec<f64> = sink.pulls.iter().map(|r| s(r.finished_s.unwrap())).collect();
    assert_eq!(ends, vec![0.5, 1.0, 1.5, 2.0, 2.5]);
}

#[test]
fn unlimited_parallel_runs_everything_at_once() {
    let (_, sink) = run_toml(&many_images("serialize_image_pulls = false", 5));
    assert_eq!(max_overlap(&sink.pulls), 5);
    assert!(sink.pulls.iter().all(|r| s(r.finished_s.unwrap()) == 2.5), "fair share of 100 MB/s");
}

#[test]
fn registry_qps_throttle_fails_pulls_over_the_burst() {
    // qps 1, burst 2, 5 pods pulling at t=0 in parallel: 2 admitted, 3 fail with qps at once.
    let (_, sink) = run_toml(
        &many_images("serialize_image_pulls = false\nregistry_pull_qps = 1\nregistry_burst = 2", 5)
            .replace("registry_pull_qps = 0\n", ""),
    );
    let first: Vec<&PullRow> = sink.pulls.iter().filter(|r| r.attempt == 1).collect();
    let qps = first.iter().filter(|r| r.result == "failed:qps").count();
    assert_eq!(qps, 3, "{first:?}");
    assert!(first
        .iter()
        .filter(|r| r.result == "failed:qps")
        .all(|r| r.finished_s == r.started_s && r.bytes == 0));
    assert!(sink.pulls.iter().any(|r| r.attempt == 2 && r.result == "ok"), "retried after backoff");
}

#[test]
fn always_pull_of_a_present_image_is_an_attempt_with_zero_bytes() {
    let text = one_image_pods("", 2, r#"{ image = "registry.example/a:v1", pull_policy = "Always" }"#);
    let (out, sink) = run_toml(&text);
    assert_eq!(sink.pulls.len(), 2);
    assert_eq!(sink.pulls[0].bytes, 100_000_000);
    assert_eq!(sink.pulls[1].bytes, 0);
    assert_eq!(out.summary.pods_running, 2);
}

#[test]
fn if_not_present_second_pod_is_a_cache_hit() {
    let text = one_image_pods("", 1, r#"{ image = "registry.example/a:v1" }"#)
        .replace("replicas = 1", "replicas = 1\nstart = \"0s\"")
        + r#"
[[workload]]
name = "later"
kind = "batch"
count = 1
at = "10s"
[workload.pod]
containers = [ { image = "registry.example/a:v1" } ]
"#;
    let (out, sink) = run_toml(&text);
    assert_eq!(sink.pulls.len(), 1);
    assert_eq!(out.summary.cache_hits, 1);
    assert_eq!(out.pods[1].startup().map(|d| d.0), Some(0));
}

#[test]
fn rate_limit_answers_429_over_the_budget() {
    let text = many_images("serialize_image_pulls = true", 3)
        .replace(
            "latency = \"0s\"",
            "latency = \"0s\"\nrate_limit = { pulls = 2, per = \"6h\", scope = \"node\" }",
        )
        .replace("seed = 1", "seed = 1\nuntil = \"10m\"");
    let (out, sink) = run_toml(&text);
    assert_eq!(sink.pulls.iter().filter(|r| r.result == "ok").count(), 2);
    assert!(sink.pulls.iter().any(|r| r.result == "failed:rate_limited"));
    assert!(out.registries[0].throttled >= 1);
    assert_eq!(out.summary.pods_running, 2);
}

#[test]
fn outage_fails_pulls_then_they_recover() {
    let text = one_image_pods("", 1, r#"{ image = "registry.example/a:v1" }"#)
        .replace("latency = \"0s\"", "latency = \"0s\"\noutages = [ { from = \"0s\", to = \"30s\" } ]");
    let (out, sink) = run_toml(&text);
    assert!(sink.pulls.iter().any(|r| r.result == "failed:outage"));
    assert_eq!(sink.pulls.last().unwrap().result, "ok");
    assert!(s(sink.pulls.last().unwrap().started_s.unwrap()) >= 30.0);
    assert_eq!(out.summary.pods_running, 1);
}

#[test]
fn outage_breaks_downloads_in_flight() {
    let text = one_image_pods("", 1, r#"{ image = "registry.example/a:v1" }"#)
        .replace("latency = \"0s\"", "latency = \"0s\"\noutages = [ { from = \"500ms\", to = \"20s\" } ]");
    let (_, sink) = run_toml(&text);
    assert_eq!(sink.pulls[0].result, "failed:outage");
    assert_eq!(s(sink.pulls[0].finished_s.unwrap()), 0.5);
    assert_eq!(sink.pulls[0].bytes, 50_000_000, "half the layer crossed the network");
}

#[test]
fn platform_mismatch_fails() {
    let text = one_image_pods("", 1, r#"{ image = "registry.example/a:v1" }"#)
        .replace(
            "layers = [ { size = \"100MB\" } ]",
            "layers = [ { size = \"100MB\" } ]\nplatforms = [\"arm64\"]",
        )
        .replace("seed = 1", "seed = 1\nuntil = \"1m\"");
    let (out, sink) = run_toml(&text);
    assert!(sink.pulls.iter().all(|r| r.result == "failed:platform"));
    assert_ne!(out.pods[0].status, "Running");
}

#[test]
fn auth_required_without_secret_is_unauthorized_with_secret_ok() {
    let t = one_image_pods("", 1, r#"{ image = "registry.example/a:v1" }"#)
        .replace("latency = \"0s\"", "latency = \"0s\"\nauth = \"required\"\naccepts = [\"regcred\"]")
        .replace("seed = 1", "seed = 1\nuntil = \"1m\"");
    let (out, sink) = run_toml(&t);
    assert!(sink.pulls.iter().all(|r| r.result == "failed:unauthorized"));
    assert_ne!(out.pods[0].status, "Running");
    let with = t.replace("replicas = 1", "replicas = 1\nimage_pull_secrets = [\"regcred\"]");
    let (out, _) = run_toml(&with);
    assert_eq!(out.pods[0].status, "Running");
}

#[test]
fn ensure_secret_pulled_images_makes_a_pod_without_the_secret_verify() {
    // Pod A pulls with its secret; pod B (no secret) on the same node finds the image present
    // but must re-pull to verify (KubeletEnsureSecretPulledImages), and is refused.
    let t = one_image_pods("", 1, r#"{ image = "registry.example/a:v1" }"#)
        .replace("latency = \"0s\"", "latency = \"0s\"\nauth = \"required\"\naccepts = [\"regcred\"]")
        .replace("replicas = 1", "replicas = 1\nimage_pull_secrets = [\"regcred\"]")
        .replace("seed = 1", "seed = 1\nuntil = \"1m\"")
        + r#"
[[workload]]
name = "nosecret"
kind = "batch"
count = 1
at = "5s"
[workload.pod]
containers = [ { image = "registry.example/a:v1" } ]
"#;
    let (out, sink) = run_toml(&t);
    assert_eq!(out.pods[0].status, "Running");
    assert_ne!(out.pods[1].status, "Running");
    assert!(sink.pulls.iter().any(|r| r.pod == "nosecret-0" && r.result == "failed:unauthorized"));
    // With the gate off, the cached image is used.
    let (out, _) = run_toml_with(&t, &[("kubelet.ensure_secret_pulled_images", "false")]);
    assert_eq!(out.pods[1].status, "Running");
}

#[test]
fn images_of_one_pod_are_pulled_one_at_a_time_even_when_parallel() {
    let text = base("unlimited", "100MB/s", "serialize_image_pulls = false")
        + r#"
[[image]]
ref = "registry.example/a:v1"
layers = [ { size = "100MB" } ]
[[image]]
ref = "registry.example/b:v1"
layers = [ { size = "100MB" } ]
[[workload]]
name = "w"
kind = "deployment"
replicas = 1
[workload.pod]
init_containers = [ { image = "registry.example/b:v1", run_for = "2s" } ]
containers = [ { image = "registry.example/a:v1" } ]
"#;
    let (out, sink) = run_toml(&text);
    assert_eq!(max_overlap(&sink.pulls), 1);
    // init image 0-1 s, runs 2 s, app image 3-4 s.
    assert_eq!(s(sink.pulls[1].started_s.unwrap()), 3.0);
    assert_eq!(out.summary.startup_max_s, Some(4.0));
}

#[test]
fn daemonset_covers_every_node_once_including_late_joiners() {
    let text = base("unlimited", "100MB/s", "")
        .replace("count = 1\n", "count = 3\njoin = { at = \"0s\", every = \"10s\" }\n")
        + r#"
[[image]]
ref = "registry.example/agent:v1"
layers = [ { size = "10MB" } ]
[[workload]]
name = "agent"
kind = "daemonset"
[workload.pod]
containers = [ { image = "registry.example/agent:v1" } ]
"#;
    let (out, _) = run_toml(&text);
    assert_eq!(out.summary.pods, 3);
    let mut nodes: Vec<&str> = out.pods.iter().map(|p| &*p.node).collect();
    nodes.sort();
    assert_eq!(nodes, vec!["pool-0", "pool-1", "pool-2"]);
    let created: Vec<f64> = out.pods.iter().map(|p| super::s(p.created_s)).collect();
    assert_eq!(created, vec![0.0, 10.0, 20.0], "a DaemonSet pod is created when its node joins");
}

/// A workload's RuntimeClass keeps its pods on the pools that offer it: all four replicas run on
/// `sandboxed`'s two nodes, none on the larger `general` pool that `spread` would also use.
#[test]
fn runtime_class_places_pods_only_on_pools_that_offer_it() {
    let text = r#"
[simulation]
name = "rc"
[[node_pool]]
name = "general"
count = 4
runtime_classes = ["runc"]
[[node_pool]]
name = "sandboxed"
count = 2
runtime_classes = ["runc", "gvisor"]
[[registry]]
host = "registry.example"
[[image]]
ref = "registry.example/app:1"
size = "10MB"
[[workload]]
name = "isolated"
kind = "deployment"
replicas = 4
runtime_class = "gvisor"
[workload.pod]
containers = [ { image = "registry.example/app:1" } ]
[[workload]]
name = "plain"
kind = "deployment"
replicas = 6
[workload.pod]
containers = [ { image = "registry.example/app:1" } ]
"#;
    let (out, _) = crate::run_toml(text);
    let nodes_of = |w: &str| -> Vec<String> {
        out.pods.iter().filter(|p| p.workload.as_ref() == w).map(|p| p.node.to_string()).collect()
    };
    let isolated = nodes_of("isolated");
    assert_eq!(isolated.len(), 4);
    assert!(isolated.iter().all(|n| n.starts_with("sandboxed-")), "{isolated:?}");
    assert!(nodes_of("plain").iter().any(|n| n.starts_with("general-")));
    assert_eq!(out.summary.pods_running, 10);
}
