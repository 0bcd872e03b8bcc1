//! Resource requests against node allocatable (NodeResourcesFit), hand-computed: pods go only
//! where their CPU and memory requests fit beside those of the node's other pods, stay Pending
//! otherwise, and a rolling update whose surge pod cannot fit stalls.

use super::{base, run_toml};

/// `nodes` nodes with `allocatable`, and a Deployment of `replicas` pods requesting
/// `requests`, with `extra` workload lines and `policy` placement.
fn scenario(
    nodes: u32,
    allocatable: &str,
    replicas: u32,
    requests: &str,
    extra: &str,
    policy: &str,
) -> String {
    base("unlimited", "100MB/s", "serialize_image_pulls = false")
        .replace("seed = 1\n", "seed = 1\nuntil = \"10m\"\n")
        .replace("count = 1\n", &format!("count = {nodes}\nallocatable = {allocatable}\n"))
        + &format!(
            "\n[scheduler]\npolicy = \"{policy}\"\n\
             \n[[image]]\nref = \"registry.example/app:1\"\nlayers = [ {{ size = \"100MB\" }} ]\n\
             \n[[image]]\nref = \"registry.example/app:2\"\nlayers = [ {{ size = \"100MB\" }} ]\n\
             \n[[workload]]\nname = \"app\"\nkind = \"deployment\"\nreplicas = {replicas}\n\
             requests = {requests}\n{extra}\n\
             [workload.pod]\ncontainers = [ {{ image = \"registry.example/app:1\" }} ]\n"
        )
}

/// (pods Running, pods Pending) at the end.
fn placed(text: &str) -> (usize, usize) {
    let (out, _) = run_toml(text);
    let running = out.pods.iter().filter(|p| p.status == "Running").count();
    let pending = out.pods.iter().filter(|p| p.status == "Pending").count();
    (running, pending)
}

#[test]
fn pods_go_only_where_their_requests_fit() {
    // Two nodes of 4 CPUs, pods of 3 CPUs: one per node, the third Pending, whatever the
    // pod slots (no max_pods) or the policy.
    for policy in ["spread", "binpack", "image_locality"] {
        let text = scenario(2, "{ cpu = \"4\", memory = \"16Gi\" }", 3, "{ cpu = \"3\" }", "", policy);
        assert_eq!(placed(&text), (2, 1), "{policy}");
    }
    // Memory: 8 GiB nodes, 3 GiB pods: two per node, the fifth Pending.
    let text = scenario(2, "{ memory = \"8Gi\" }", 5, "{ memory = \"3Gi\", cpu = \"100m\" }", "", "spread");
    assert_eq!(placed(&text), (4, 1));
    // Millicores add up exactly: 4 x 1000m fill a 4-CPU node.
    let text = scenario(1, "{ cpu = 4 }", 5, "{ cpu = \"1000m\" }", "", "binpack");
    assert_eq!(placed(&text), (4, 1));
    // Without allocatable, requests never block.
    let text = scenario(1, "{}", 5, "{ cpu = \"64\" }", "", "spread");
    assert_eq!(placed(&text), (5, 0));
}

#[test]
fn a_rolling_update_whose_surge_pod_cannot_fit_stalls() {
    // Two 4-CPU nodes each running one 3-CPU pod. maxSurge 1, maxUnavailable 0: the surge pod
    // fits nowhere, no old pod may go first, and the update never finishes.
    let update = |rollout: &str| {
        format!("rollout = {rollout}\nupdate = {{ at = \"60s\", image = \"registry.example/app:2\" }}")
    };
    let text = scenario(
        2,
        "{ cpu = \"4\" }",
        2,
        "{ cpu = \"3\" }",
        &update("{ max_surge = 1, max_unavailable = 0 }"),
        "spread",
    );
    let (out, _) = run_toml(&text);
    assert_eq!(out.rollouts, vec![("app".to_string(), None)]);
    // maxSurge 0, maxUnavailable 1: an old pod goes first, its CPUs take the new one: done.
    let text = scenario(
        2,
        "{ cpu = \"4\" }",
        2,
        "{ cpu = \"3\" }",
        &update("{ max_surge = 0, max_unavailable = 1 }"),
        "spread",
    );
    let (out, _) = run_toml(&text);
    assert!(out.rollouts[0].1.is_some(), "{:?}", out.rollouts);
    assert_eq!(out.summary.pods_running, 2);
}
