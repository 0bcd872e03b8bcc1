//! Latencies imported clusters need, hand-computed: a workload's scheduling latency (pod
//! created → its kubelet starts it) and a joining node's boot time (`join.boot`).
//!
//! One pool, unlimited node bandwidth, 100 MB/s per connection, no registry latency: a 100 MB
//! image pulls in 1 s.

use super::{base, run_toml, s};

/// `workload` lines added to one Deployment of `replicas` pods of a 100 MB image; `pool` lines
/// added to the pool.
fn scenario(replicas: u32, workload: &str, pool: &str, count: u32) -> String {
    base("unlimited", "100MB/s", "serialize_image_pulls = false")
        .replace("count = 1\n", &format!("count = {count}\n{pool}\n"))
        + &format!(
            "\n[[image]]\nref = \"registry.example/app:1\"\nlayers = [ {{ size = \"100MB\" }} ]\n\
             \n[[workload]]\nname = \"app\"\nkind = \"deployment\"\nreplicas = {replicas}\n{workload}\n\
             [workload.pod]\ncontainers = [ {{ image = \"registry.example/app:1\" }} ]\n"
        )
}

#[test]
fn a_pod_starts_after_its_scheduling_latency_which_counts_in_its_startup() {
    let (out, sink) = run_toml(&scenario(1, "scheduling_latency = \"5s\"", "", 1));
    // Created at 0, the kubelet starts it at 5 s: the pull is requested then and takes 1 s.
    assert_eq!(s(sink.pulls[0].requested_s), 5.0);
    assert_eq!(out.pods[0].startup().map(|d| d.as_secs_f64()), Some(6.0));
    assert_eq!(s(out.pods[0].created_s), 0.0);
}

#[test]
fn a_random_scheduling_latency_spreads_pods_out_and_is_drawn_per_pod() {
    let text =
        scenario(20, "scheduling_latency = { dist = \"uniform\", min = \"1s\", max = \"10s\" }", "", 20);
    let (_, sink) = run_toml(&text);
    let mut requested: Vec<f64> = sink.pulls.iter().map(|p| s(p.requested_s)).collect();
    assert!(requested.iter().all(|t| (1.0..=10.0).contains(t)), "{requested:?}");
    requested.sort_by(f64::total_cmp);
    requested.dedup();
    assert!(requested.len() >= 15, "not in lock-step: {requested:?}");
    // The same draws on every run (a stream per pod).
    let (_, again) = run_toml(&text);
    let again: Vec<f64> = again.pulls.iter().map(|p| s(p.requested_s)).collect();
    assert_eq!(again, sink.pulls.iter().map(|p| s(p.requested_s)).collect::<Vec<_>>());
}

#[test]
fn a_joining_node_is_ready_after_its_boot_time() {
    // The node starts at 60 s and boots for 90 s: Ready at 150 s. The Deployment's pod, created
    // at 0, waits Pending until then, pulls 150-151 s, and starts at 151 s.
    let (out, sink) = run_toml(&scenario(1, "", "join = { at = \"60s\", boot = \"90s\" }", 1));
    assert_eq!(s(sink.pulls[0].requested_s), 150.0);
    assert_eq!(out.pods[0].startup().map(|d| d.as_secs_f64()), Some(151.0));
    // Without `boot`, at 60 s.
    let (_, sink) = run_toml(&scenario(1, "", "join = { at = \"60s\" }", 1));
    assert_eq!(s(sink.pulls[0].requested_s), 60.0);
}

/// Two replicas on one node, updated at 100 s to a new 100 MB image with maxSurge 1 and
/// maxUnavailable 0, with `extra` workload lines.
fn rolling(extra: &str) -> String {
    scenario(
        2,
        &format!(
            "rollout = {{ max_surge = 1, max_unavailable = 0 }}\n\
             update = {{ at = \"100s\", image = \"registry.example/app:2\" }}\n{extra}"
        ),
        "",
        1,
    ) + "\n[[image]]\nref = \"registry.example/app:2\"\nlayers = [ { size = \"100MB\" } ]\n"
}

#[test]
fn a_rolling_update_waits_for_readiness_and_min_ready() {
    // Without readiness: the first new pod pulls 100-101 s and runs; an old pod goes, the second
    // new pod starts at once (the image is on the node): done at 101 s.
    let (out, _) = run_toml(&rolling(""));
    assert_eq!(out.rollouts, vec![("app".to_string(), Some(1.0))]);
    // Ready 10 s after Running, available 5 s later: the first new pod counts at 116 s, the
    // second starts then and counts at 131 s.
    let (out, _) = run_toml(&rolling("ready_after = \"10s\"\nmin_ready = \"5s\""));
    assert_eq!(out.rollouts, vec![("app".to_string(), Some(31.0))]);
    // Startup is still to Running: the new pods' startup_s are 1 s and 0 s.
    let mut new: Vec<f64> = out
        .pods
        .iter()
        .filter(|p| p.pod_index >= 2)
        .filter_map(|p| p.startup())
        .map(|d| d.as_secs_f64())
        .collect();
    new.sort_by(f64::total_cmp);
    assert_eq!(new, vec![0.0, 1.0]);
}
