//! Workload dynamics with hand-computed expectations (issue 5): Deployment rolling updates,
//! image GC under disk pressure and the re-pulls it causes, node joins with DaemonSets, and
//! tags that move (`pushes`). Every scenario here has no latency, instant unpack and start,
//! so times follow from bytes / bandwidth alone.

use super::{base, run_toml, s};
use pullsim::metrics::PodRow;

/// `nodes` nodes of at most `max_pods` pods each, a 3-replica Deployment of a 100 MB image at
/// 100 MB/s per connection, updated to a second 100 MB image at 10 s.
fn rollout(nodes: u32, max_pods: &str, surge: &str, unavailable: &str) -> String {
    base("unlimited", "100MB/s", "serialize_image_pulls = false")
        .replace("count = 1\n", &format!("count = {nodes}\n{max_pods}\n"))
        + &format!(
            r#"
[[image]]
ref = "registry.example/web:v1"
layers = [ {{ size = "100MB" }} ]

[[image]]
ref = "registry.example/web:v2"
layers = [ {{ size = "100MB" }} ]

[[workload]]
name = "web"
kind = "deployment"
replicas = 3
rollout = {{ max_surge = {surge}, max_unavailable = {unavailable} }}
update = {{ at = "10s", image = "registry.example/web:v2" }}
[workload.pod]
containers = [ {{ image = "registry.example/web:v1" }} ]
"#
        )
}

fn started(pods: &[PodRow], status: &str) -> Vec<(String, f64)> {
    let mut v: Vec<(String, f64)> = pods
        .iter()
        .filter(|p| p.status == status)
        .map(|p| (p.pod_name(), p.started_s.map_or(-1.0, s)))
        .collect();
    v.sort_by(|a, b| a.1.total_cmp(&b.1).then(a.0.cmp(&b.0)));
    v
}

#[test]
fn surge_1_unavailable_0_over_3_replicas_is_three_pull_start_cycles() {
    // Four nodes of one pod each: the surge pod takes the spare node, every later new pod takes
    // the node its old pod just left, so each new pod pulls v2 itself (1 s at 100 MB/s).
    let (out, _) = run_toml(&rollout(4, "max_pods = 1", "1", "0"));
    let new = started(&out.pods, "Running");
    assert_eq!(
        new,
        vec![("web-3".into(), 11.0), ("web-4".into(), 12.0), ("web-5".into(), 13.0)],
        "new pods Running at T+1, T+2, T+3"
    );
    assert_eq!(out.rollouts, vec![("web".to_string(), Some(3.0))]);
    // Old pods end Terminated; each left exactly when its replacement became Running, so
    // three pods were always available.
    assert_eq!(out.pods.iter().filter(|p| p.status == "Terminated").count(), 3);
    assert_eq!(out.summary.pods, 6);
}

#[test]
fn surge_3_over_3_nodes_is_one_cycle() {
    // All three new pods are created at once (replicas + surge = 6), one per node (spread),
    // and pull in parallel on their own nodes.
    let (out, _) = run_toml(&rollout(3, "", "3", "0"));
    let new = started(&out.pods, "Running");
    assert_eq!(new.iter().map(|(_, t)| *t).collect::<Vec<_>>(), vec![11.0, 11.0, 11.0]);
    assert_eq!(out.rollouts, vec![("web".to_string(), Some(1.0))]);
}

#[test]
fn surge_1_over_3_spread_nodes_reuses_the_image_on_the_first_node() {
    // Three nodes, no pod limit. web-3 goes to node 0 (ties go to the lowest index) and pulls
    // (10-11 s); web-0 (node 0) is deleted; web-4 again goes to node 0 (every node has one
    // pod) where v2 is present: Running at 11 s; web-1 (node 1) is deleted; web-5 goes to the
    // emptied node 1 and pulls (11-12 s). Two pull cycles: 2 s.
    let (out, sink) = run_toml(&rollout(3, "", "1", "0"));
    let new = started(&out.pods, "Running");
    assert_eq!(new, vec![("web-3".into(), 11.0), ("web-4".into(), 11.0), ("web-5".into(), 12.0)]);
    assert_eq!(out.rollouts, vec![("web".to_string(), Some(2.0))]);
    let v2_pulls = sink.pulls.iter().filter(|p| p.image.ends_with(":v2")).count();
    assert_eq!(v2_pulls, 2, "one cache hit");
}

#[test]
fn surge_0_unavailable_1_deletes_first_then_replaces() {
    // maxSurge 0: a new pod only after an old one is gone. One pod down at a time, each
    // replacement lands on the node just emptied and pulls: 11, 12, 13.
    let (out, _) = run_toml(&rollout(3, "max_pods = 1", "0", "1"));
    let new = started(&out.pods, "Running");
    assert_eq!(new.iter().map(|(_, t)| *t).collect::<Vec<_>>(), vec![11.0, 12.0, 13.0]);
    assert_eq!(out.rollouts, vec![("web".to_string(), Some(3.0))]);
}

#[test]
fn percentages_use_the_deployment_controllers_rounding() {
    // 3 replicas: maxSurge 50% rounds up to 2, maxUnavailable 50% rounds down to 1. With one
    // pod per node and 3 + 2 nodes, two surge pods and one replacement start at once: the
    // first wave takes the two spare nodes plus the node of the one old pod deleted (budget
    // 1), all Running at 11 s.
    let (out, _) = run_toml(&rollout(5, "max_pods = 1", "\"50%\"", "\"50%\""));
    let new = started(&out.pods, "Running");
    assert_eq!(new.iter().map(|(_, t)| *t).collect::<Vec<_>>(), vec![11.0, 11.0, 11.0]);
    assert_eq!(out.rollouts, vec![("web".to_string(), Some(1.0))]);
    // 25% of 3: surge ceil(0.75) = 1, unavailable floor(0.75) = 0: three cycles, like 1/0.
    let (out, _) = run_toml(&rollout(4, "max_pods = 1", "\"25%\"", "\"25%\""));
    assert_eq!(out.rollouts, vec![("web".to_string(), Some(3.0))]);
}

#[test]
fn old_pods_that_never_ran_are_replaced_only_within_the_budget() {
    // v1 does not exist anywhere (not_found), so the three old pods never run. Upstream
    // `cleanupUnhealthyReplicas` may delete unhealthy old pods only up to
    // allPods - minAvailable - newUnavailable; with maxUnavailable 1 and maxSurge 1 that is
    // 4 - 2 - 1 = 1 at first, so the rollout proceeds one pod at a time (the new pods each
    // pull 1 s on their own node).
    let text = rollout(4, "max_pods = 1", "1", "1")
        .replace("ref = \"registry.example/web:v1\"", "ref = \"other.example/web:v1\"")
        .replace("image = \"registry.example/web:v1\"", "image = \"other.example/web:v1\"")
        + "\n[[registry]]\nhost = \"other.example\"\noutages = [ { from = \"0s\", to = \"1h\" } ]\n";
    let (out, _) = run_toml(&text);
    let new = started(&out.pods, "Running");
    assert_eq!(new.len(), 3, "{:?}", out.pods);
    assert_eq!(out.rollouts, vec![("web".to_string(), Some(2.0))]);
    // First wave at 10 s: surge pod (spare node) + one unhealthy old pod deleted and
    // replaced; the third replacement waits for the first of them: 11, 11, 12.
    assert_eq!(new.iter().map(|(_, t)| *t).collect::<Vec<_>>(), vec![11.0, 11.0, 12.0]);
}

/// A Deployment of `replicas` on the node pools `pools` (replacing the base's one pool),
/// updated at 10 s with maxSurge 0 and maxUnavailable `unavailable` to an image whose registry
/// is down for the whole run: the new pods never start, so the rollout stops after the
/// deletions its first wave may make, and pods.csv shows which old pods went.
fn stuck_rollout(pools: &str, policy: &str, replicas: u32, unavailable: u32) -> String {
    let one_pool =
        "[[node_pool]]\nname = \"pool\"\ncount = 1\nbandwidth = \"unlimited\"\ndisk = \"1000GiB\"\n";
    let text = base("unlimited", "100MB/s", "serialize_image_pulls = false");
    assert!(text.contains(one_pool));
    text.replace(one_pool, pools).replace("seed = 1\n", "seed = 1\nuntil = \"60s\"\n")
        + &format!(
            r#"
[scheduler]
policy = "{policy}"

[[registry]]
host = "down.example"
outages = [ {{ from = "0s", to = "1h" }} ]

[[image]]
ref = "registry.example/web:v1"
layers = [ {{ size = "100MB" }} ]

[[image]]
ref = "down.example/web:v2"
layers = [ {{ size = "100MB" }} ]

[[workload]]
name = "web"
kind = "deployment"
replicas = {replicas}
rollout = {{ max_surge = 0, max_unavailable = {unavailable} }}
update = {{ at = "10s", image = "down.example/web:v2" }}
[workload.pod]
containers = [ {{ image = "registry.example/web:v1" }} ]
"#
        )
}

/// `[[node_pool]]` of one node.
fn one_node_pool(name: &str, max_pods: u32, bandwidth: &str, join_at: &str) -> String {
    format!(
        "[[node_pool]]\nname = \"{name}\"\ncount = 1\nmax_pods = {max_pods}\nbandwidth = \"{bandwidth}\"\n\
         disk = \"1000GiB\"\njoin = {{ at = \"{join_at}\", every = \"0s\" }}\n\n"
    )
}

/// (pod, node) of the pods with `status`, by pod name.
fn placed(pods: &[PodRow], status: &str) -> Vec<(String, String)> {
    let mut v: Vec<(String, String)> =
        pods.iter().filter(|p| p.status == status).map(|p| (p.pod_name(), p.node.to_string())).collect();
    v.sort();
    v
}

#[test]
fn scale_down_deletes_from_the_node_with_most_of_the_deployments_pods() {
    // Binpack, node slow-0 (1 pod, 50 MB/s) then fast-0 (2 pods): web-0 takes slow-0 (fewest
    // free slots), web-1 and web-2 fast-0. web-0 pulls 100 MB at 50 MB/s and runs at 2 s, the
    // others at 1 s. At 10 s maxUnavailable 1 allows one deletion: the ReplicaSet ranks web-1
    // and web-2 first (their node holds 2 of the Deployment's pods, web-0's 1), although web-0
    // became ready more recently (8 s ago, log2 rank 32, against 9 s, rank 33) and has the
    // lowest id; web-1 and web-2 tie on everything but the id. The replacement web-3 takes the
    // freed slot and never starts.
    let pools = one_node_pool("slow", 1, "50MB/s", "0s") + &one_node_pool("fast", 2, "unlimited", "0s");
    let (out, _) = run_toml(&stuck_rollout(&pools, "binpack", 3, 1));
    let running = started(&out.pods, "Running");
    assert_eq!(running, vec![("web-2".into(), 1.0), ("web-0".into(), 2.0)]);
    assert_eq!(placed(&out.pods, "Terminated"), vec![("web-1".into(), "fast-0".into())]);
    let web3 = out.pods.iter().find(|p| p.pod_name() == "web-3").unwrap();
    assert_eq!((web3.node.as_ref(), web3.started_s), ("fast-0", None));
    assert_eq!(out.rollouts, vec![("web".to_string(), None)]);
}

#[test]
fn scale_down_deletes_the_pod_ready_most_recently_on_a_logarithmic_scale() {
    // Binpack, node a-0 (unlimited) then b-0 (50 MB/s), one pod each: web-0 runs at 1 s, web-1
    // at 2 s. At 10 s both nodes hold one pod; web-1 has been ready 8 s (log2(8e9 ns) = 32.9,
    // rank 32), web-0 9 s (33.1, rank 33): web-1 goes, not the older web-0.
    let pools = one_node_pool("a", 1, "unlimited", "0s") + &one_node_pool("b", 1, "50MB/s", "0s");
    let (out, _) = run_toml(&stuck_rollout(&pools, "binpack", 2, 1));
    assert_eq!(started(&out.pods, "Running"), vec![("web-0".into(), 1.0)]);
    assert_eq!(placed(&out.pods, "Terminated"), vec![("web-1".into(), "b-0".into())]);
}

#[test]
fn one_sync_deletes_by_one_ranking() {
    // Spread over a-0 (3 pods) and b-0 (2 pods), c-0 (3 pods) joining at 5 s: web-0, web-1,
    // web-3 on a-0, web-2 and web-4 on b-0, all Running at 1 s. At 10 s maxUnavailable 3 of 5
    // lets one controller sync delete three pods; the ReplicaSet ranks once (a-0's pods have
    // rank 3, b-0's rank 2) and deletes the first three: all of a-0's, web-0, web-1, web-3.
    // Re-ranking after each deletion would take web-2 third: after web-0 and web-1 go, a-0
    // holds web-3 and the replacement web-6, b-0 holds two, and the tie goes to the lower id.
    let pools = one_node_pool("a", 3, "unlimited", "0s")
        + &one_node_pool("b", 2, "unlimited", "0s")
        + &one_node_pool("c", 3, "unlimited", "5s");
    let (out, _) = run_toml(&stuck_rollout(&pools, "spread", 5, 3));
    assert_eq!(
        placed(&out.pods, "Terminated"),
        vec![("web-0".into(), "a-0".into()), ("web-1".into(), "a-0".into()), ("web-3".into(), "a-0".into())]
    );
    assert_eq!(
        placed(&out.pods, "Running"),
        vec![("web-2".into(), "b-0".into()), ("web-4".into(), "b-0".into())]
    );
    // Replacements: web-5 on c-0 (3 free), then web-6 and web-7 on a-0 (2 free, tied with
    // c-0, the lower index).
    let new: Vec<(String, String)> =
        out.pods.iter().filter(|p| p.pod_index >= 5).map(|p| (p.pod_name(), p.node.to_string())).collect();
    assert_eq!(
        new,
        vec![("web-5".into(), "c-0".into()), ("web-6".into(), "a-0".into()), ("web-7".into(), "a-0".into())]
    );
}

#[test]
fn rollout_deletions_follow_the_ranking_by_scan_in_varied_clusters() {
    // Checked runs rank every old pod from scratch at each controller sync and assert that the
    // sync's deletions come in that order (`reconcile_rollout`). Pool a's three nodes (7 pods
    // each) join at 0, 30 and 60 s, so their pods became ready at ages in different powers of
    // two; the 9 pods left wait for b-0 (no pod limit, 20 MB/s) at 100 s, b-1 and b-2 join at
    // 120 and 140 s and take most replacements, so the count of the Deployment's pods per node
    // drifts apart as old pods go. At 103 s b-0's pods are still pulling (a class of their
    // own) and b-1, b-2 have not joined; at 160 s everything runs.
    let pools = "[[node_pool]]\nname = \"a\"\ncount = 3\nmax_pods = 7\nbandwidth = \"unlimited\"\n\
                 disk = \"1000GiB\"\njoin = { at = \"0s\", every = \"30s\" }\n\n\
                 [[node_pool]]\nname = \"b\"\ncount = 3\nbandwidth = \"20MB/s\"\n\
                 disk = \"1000GiB\"\njoin = { at = \"100s\", every = \"20s\" }\n\n";
    let one_pool =
        "[[node_pool]]\nname = \"pool\"\ncount = 1\nbandwidth = \"unlimited\"\ndisk = \"1000GiB\"\n";
    for update in ["103s", "160s"] {
        for (policy, surge, unavailable) in [
            ("spread", "\"25%\"", "\"25%\""),
            ("binpack", "0", "3"),
            ("spread", "4", "0"),
            ("spread", "1", "1"),
        ] {
            let text = base("unlimited", "100MB/s", "serialize_image_pulls = false").replace(one_pool, pools)
                + &format!(
                    r#"
[scheduler]
policy = "{policy}"

[[image]]
ref = "registry.example/web:v1"
layers = [ {{ size = "100MB" }} ]

[[image]]
ref = "registry.example/web:v2"
layers = [ {{ size = "100MB" }} ]

[[workload]]
name = "web"
kind = "deployment"
replicas = 30
rollout = {{ max_surge = {surge}, max_unavailable = {unavailable} }}
update = {{ at = "{update}", image = "registry.example/web:v2" }}
[workload.pod]
containers = [ {{ image = "registry.example/web:v1" }} ]
"#
                );
            let (out, _) = run_toml(&text);
            let what = format!("update at {update}, {policy}, surge {surge}, unavailable {unavailable}");
            assert_eq!(out.pods.iter().filter(|p| p.status == "Terminated").count(), 30, "{what}");
            assert!(out.rollouts[0].1.is_some(), "{what}: the rollout finishes");
        }
    }
}

/// One node; images a, b, c of 400 MB each (one layer). `disk` bytes of image storage, no
/// eviction threshold (these tests are about the periodic GC; `image_gc.rs` has the eviction
/// manager), run for 1000 s.
fn gc_scenario(disk: &str) -> String {
    base("unlimited", "400MB/s", "serialize_image_pulls = false\neviction_hard_imagefs_available = 0")
        .replace("seed = 1\n", "seed = 1\nuntil = \"1000s\"\n")
        .replace("disk = \"1000GiB\"", &format!("disk = \"{disk}\""))
        .replace("[runtime]\n", "[runtime]\ndiscard_unpacked_layers = true\n")
        + r#"
[[image]]
ref = "registry.example/a:v1"
layers = [ { size = "400MB" } ]
[[image]]
ref = "registry.example/b:v1"
layers = [ { size = "400MB" } ]
[[image]]
ref = "registry.example/c:v1"
layers = [ { size = "400MB" } ]

# a is used by `web` until its update to b at 60 s; c arrives at 120 s; a is wanted again
# at 700 s by `late`.
[[workload]]
name = "web"
kind = "deployment"
replicas = 1
rollout = { max_surge = 1, max_unavailable = 0 }
update = { at = "60s", image = "registry.example/b:v1" }
[workload.pod]
containers = [ { image = "registry.example/a:v1" } ]

[[workload]]
name = "cee"
kind = "deployment"
replicas = 1
start = "120s"
[workload.pod]
containers = [ { image = "registry.example/c:v1" } ]

[[workload]]
name = "late"
kind = "batch"
count = 1
at = "700s"
[workload.pod]
containers = [ { image = "registry.example/a:v1" } ]
"#
}

#[test]
fn gc_removes_the_least_recently_used_unused_image_once_old_enough() {
    // Disk 1300 MB. a (0-1 s) and b (60-61 s): 800 MB, usage 100 - floor(500*100/1300) = 62 %.
    // c (120-121 s): 1200 MB, usage 100 - floor(100*100/1300) = 93 % >= 85 % → GC at every
    // 5-minute tick from 300 s. toFree = 1300*20/100 - 100 = 160 MB. The only candidate is a
    // (b and c are in use; a's pod was deleted at 61 s), first detected at 300 s: too young
    // then (FreeDiskSpaceFailed), removed at 600 s (400 MB freed). At 700 s `late` wants a
    // again: a re-pull of 400 MB (1 s), and at 900 s everything is in use again (a second
    // FreeDiskSpaceFailed).
    let (out, sink) = run_toml(&gc_scenario("1300MB"));
    assert_eq!(out.gc_images_removed, 1);
    assert_eq!(out.gc_bytes_freed, 400_000_000);
    assert_eq!(out.gc_free_space_failed, 2);
    let a_pulls: Vec<_> = sink.pulls.iter().filter(|p| p.image == "registry.example/a:v1").collect();
    assert_eq!(a_pulls.len(), 2, "pulled, collected, pulled again");
    assert_eq!(a_pulls[1].bytes, 400_000_000);
    assert_eq!((s(a_pulls[1].started_s.unwrap()), s(a_pulls[1].finished_s.unwrap())), (700.0, 701.0));
    assert_eq!(out.summary.pods_running, 3, "pods Running at the end (web-0 was deleted)");
    assert_eq!(out.summary.pods_failed, 0, "a deleted pod did not fail");
    assert_eq!(out.summary.bytes_pulled, 4 * 400_000_000);
}

#[test]
fn gc_does_nothing_below_the_high_threshold_and_keeps_images_in_use() {
    // Disk 2000 MB: three images are 1200 MB = 60 %: no GC, a stays, no re-pull.
    let (out, sink) = run_toml(&gc_scenario("2000MB"));
    assert_eq!((out.gc_images_removed, out.gc_bytes_freed, out.gc_free_space_failed), (0, 0, 0));
    assert_eq!(sink.pulls.iter().filter(|p| p.image == "registry.example/a:v1").count(), 1);
    // Disk 1250 MB and a kept by a second pod that never goes away: from 300 s usage is
    // 100 - floor(50*100/1250) = 96 %, but every image is in use: nothing is removed, and the
    // runs at 300, 600 and 900 s each record FreeDiskSpaceFailed.
    let text = gc_scenario("1250MB")
        + r#"
[[workload]]
name = "keeper"
kind = "deployment"
replicas = 1
[workload.pod]
containers = [ { image = "registry.example/a:v1" } ]
"#;
    let (out, _) = run_toml(&text);
    assert_eq!((out.gc_images_removed, out.gc_bytes_freed, out.gc_free_space_failed), (0, 0, 3));
}

#[test]
fn gc_waits_for_the_minimum_age() {
    // image_minimum_gc_age 10 min: a (first detected at 300 s) is too young at the 300 and
    // 600 s runs (it would have gone at 600 s with the default 2 min). `late` at 700 s finds a
    // still present: a cache hit, no re-pull; at 900 s a is in use again: nothing can go.
    let text = gc_scenario("1300MB").replace(
        "serialize_image_pulls = false",
        "serialize_image_pulls = false\nimage_minimum_gc_age = \"10m\"",
    );
    let (out, sink) = run_toml(&text);
    assert_eq!(sink.pulls.iter().filter(|p| p.image == "registry.example/a:v1").count(), 1);
    assert_eq!((out.gc_images_removed, out.gc_free_space_failed), (0, 3));
}

#[test]
fn autoscaling_wave_daemonset_on_every_new_node_and_pending_pods_land_as_nodes_join() {
    // One node at 0 s plus a wave of three joining at 60, 70, 80 s; one pod per node besides
    // the DaemonSet (max_pods 2). The DaemonSet pod is created at each join; the deployment's
    // four replicas take node 0 at once and one joining node each as it joins.
    let text = base("unlimited", "100MB/s", "serialize_image_pulls = false").replace(
        "count = 1\n",
        "count = 1\nmax_pods = 2\n\n[[node_pool]]\nname = \"wave\"\ncount = 3\nmax_pods = 2\njoin = { at = \"60s\", every = \"10s\" }\n",
    ) + r#"
[[image]]
ref = "registry.example/agent:v1"
layers = [ { size = "10MB" } ]
[[image]]
ref = "registry.example/app:v1"
layers = [ { size = "100MB" } ]

[[workload]]
name = "agent"
kind = "daemonset"
[workload.pod]
containers = [ { image = "registry.example/agent:v1" } ]

[[workload]]
name = "app"
kind = "deployment"
replicas = 4
[workload.pod]
containers = [ { image = "registry.example/app:v1" } ]
"#;
    let (out, _) = run_toml(&text);
    let of = |w: &str| -> Vec<(String, f64, f64)> {
        out.pods
            .iter()
            .filter(|p| &*p.workload == w)
            .map(|p| (p.node.to_string(), s(p.created_s), p.started_s.map_or(-1.0, s)))
            .collect()
    };
    // DaemonSet pods: created at each join; the agent pull (10 MB at 100 MB/s) takes 0.1 s.
    assert_eq!(
        of("agent"),
        vec![
            ("pool-0".into(), 0.0, 0.1),
            ("wave-0".into(), 60.0, 60.1),
            ("wave-1".into(), 70.0, 70.1),
            ("wave-2".into(), 80.0, 80.1),
        ]
    );
    // Deployment pods: all created at 0 s; one fits on pool-0, the others wait for nodes and
    // are bound at their join (in FIFO order), each pulling app in 1 s while the agent pulls
    // in parallel on the same node (two connections, each 100 MB/s).
    assert_eq!(
        of("app"),
        vec![
            ("pool-0".into(), 0.0, 1.0),
            ("wave-0".into(), 0.0, 61.0),
            ("wave-1".into(), 0.0, 71.0),
            ("wave-2".into(), 0.0, 81.0),
        ]
    );
}

/// One node; `app:stable` is 80 MB of shared base plus a 20 MB top layer; at 100 s a new
/// digest is pushed that keeps the base and has a 25 MB top layer. `web` runs it from 0 s;
/// `job` (one pod, `policy`) starts at 200 s.
fn moving_tag(policy: &str) -> String {
    base("unlimited", "100MB/s", "serialize_image_pulls = false")
        + &format!(
            r#"
[[image]]
ref = "registry.example/app:stable"
layers = [ {{ id = "base", size = "80MB" }}, {{ size = "20MB" }} ]
pushes = [ {{ at = "100s", layers = [ {{ id = "base" }}, {{ size = "25MB" }} ] }} ]

[[workload]]
name = "web"
kind = "deployment"
replicas = 1
[workload.pod]
containers = [ {{ image = "registry.example/app:stable" }} ]

[[workload]]
name = "job"
kind = "batch"
count = 1
at = "200s"
[workload.pod]
containers = [ {{ image = "registry.example/app:stable", pull_policy = "{policy}" }} ]
"#
        )
}

#[test]
fn moved_tag_if_not_present_keeps_the_old_digest() {
    // web pulls digest 0 (100 MB, 0-1 s, two connections at 100 MB/s: the 80 MB base ends at
    // 0.8 s, the 20 MB top at 0.2 s). At 200 s the tag points to digest 1, but the node has
    // the tag: IfNotPresent is a cache hit and job runs digest 0 too. Both pods are stale.
    let (out, sink) = run_toml(&moving_tag("IfNotPresent"));
    assert_eq!(sink.pulls.len(), 1);
    assert_eq!(out.pods_stale_digest(), 2);
    assert_eq!(out.summary.cache_hits, 1);
    assert_eq!(out.summary.sim_end_s, 200.0);
}

#[test]
fn moved_tag_always_pulls_only_the_changed_layers() {
    // job's Always pull resolves the tag to digest 1: the base is present, only the new 25 MB
    // top layer crosses the network: 200-200.25 s. web still runs digest 0: one stale pod.
    let (out, sink) = run_toml(&moving_tag("Always"));
    assert_eq!(sink.pulls.len(), 2);
    let job = &sink.pulls[1];
    assert_eq!(job.bytes, 25_000_000);
    assert_eq!((s(job.started_s.unwrap()), s(job.finished_s.unwrap())), (200.0, 200.25));
    assert_eq!(out.pods_stale_digest(), 1);
    assert!(out.pods.iter().find(|p| p.pod_name() == "web-0").unwrap().stale_digest);
    assert!(!out.pods.iter().find(|p| p.pod_name() == "job-0").unwrap().stale_digest);
    // An Always pull of the digest the node already has moves no bytes: a second job pod on
    // the same node after the push pulls 0 bytes.
    let text = moving_tag("Always").replace("count = 1\nat", "count = 2\nat");
    let (out, sink) = run_toml(&text);
    let bytes: Vec<u64> = sink.pulls.iter().map(|p| p.bytes).collect();
    assert_eq!(bytes, vec![100_000_000, 25_000_000, 0]);
    assert_eq!(out.pods_stale_digest(), 1);
}

#[test]
fn a_pull_before_the_push_gets_the_old_digest_and_a_new_node_gets_the_new_one() {
    // A second node joins at 150 s (after the push): web-1 placed there pulls digest 1
    // (105 MB); web-0 on the first node keeps digest 0.
    let text = moving_tag("IfNotPresent")
        .replace(
            "count = 1\nbandwidth",
            "count = 2\njoin = { at = \"0s\", every = \"150s\" }\nmax_pods = 1\nbandwidth",
        )
        .replace("replicas = 1", "replicas = 2")
        .replace("count = 1\nat = \"200s\"", "count = 0\nat = \"200s\"");
    let (out, sink) = run_toml(&text);
    let bytes: Vec<(String, u64)> = sink.pulls.iter().map(|p| (p.node.clone(), p.bytes)).collect();
    assert_eq!(bytes, vec![("pool-0".into(), 100_000_000), ("pool-1".into(), 105_000_000)]);
    assert_eq!(out.pods_stale_digest(), 1);
}

#[test]
fn gc_collects_a_superseded_digest_once_unused() {
    // web runs digest 0 (100 MB). The tag moves at 100 s; at 120 s web is updated to the same
    // tag (like `kubectl rollout restart`): the new pod's Always pull gets digest 1, only the
    // new 25 MB top layer (120-120.25 s), and the old pod is deleted. Disk 145 MB: 125 MB
    // used is 100 - floor(20*100/145) = 87 % >= 85 % → GC at every 5-minute tick from 300 s.
    // (No eviction threshold: 20 MB available is below 15 %, and the eviction manager would
    // delete digest 0 at 250 s instead.)
    let text =
        base("unlimited", "100MB/s", "serialize_image_pulls = false\neviction_hard_imagefs_available = 0")
            .replace("disk = \"1000GiB\"", "disk = \"145MB\"")
            .replace("[runtime]\n", "[runtime]\ndiscard_unpacked_layers = true\n")
            + r#"
[[image]]
ref = "registry.example/app:stable"
layers = [ { id = "base", size = "80MB" }, { size = "20MB" } ]
pushes = [ { at = "100s", layers = [ { id = "base" }, { size = "25MB" } ] } ]

[[workload]]
name = "web"
kind = "deployment"
replicas = 1
rollout = { max_surge = 1, max_unavailable = 0 }
update = { at = "120s", image = "registry.example/app:stable" }
[workload.pod]
containers = [ { image = "registry.example/app:stable", pull_policy = "Always" } ]
"#;
    let (out, _) = run_toml(&text);
    // Digest 0 is no longer used (its pod was deleted at 120.25 s), but it was first detected
    // at 300 s: too young then. At 600 s: toFree = 145*20/100 - 20 = 9 MB; removing digest 0
    // frees its own 20 MB top layer (the base is shared with digest 1 and stays).
    assert_eq!(out.gc_images_removed, 1);
    assert_eq!(out.gc_bytes_freed, 20_000_000);
    assert_eq!(out.pods_stale_digest(), 0);
}

#[test]
fn pushes_are_validated() {
    let load = |text: &str| pullsim::scenario::load(text, "p.toml", &[]);
    let ok = moving_tag("Always");
    let scn = load(&ok).expect("valid");
    assert_eq!(scn.images[0].pushes.len(), 1);
    assert_eq!(scn.images[0].pushes[0].layers[0].shared_id.as_deref(), Some("base"));
    let cases = [
        // A digest reference names one manifest.
        (
            ok.replace(
                "ref = \"registry.example/app:stable\"",
                &format!("ref = \"registry.example/app@sha256:{}\"", "a".repeat(64)),
            )
            .replace(
                "image = \"registry.example/app:stable\"",
                &format!("image = \"registry.example/app@sha256:{}\"", "a".repeat(64)),
            ),
            "app@sha256:",
            "cannot move",
        ),
        (
            ok.replace(
                "{ at = \"100s\", layers",
                "{ at = \"100s\", layers = [ { size = \"1MB\" } ] }, { at = \"50s\", layers",
            ),
            "pushes[1].at",
            "strictly increasing",
        ),
        (
            ok.replace("{ id = \"base\" }, { size = \"25MB\" }", "{ id = \"nope\" }"),
            "pushes[0].layers[0]",
            "missing required key `size`",
        ),
        (ok.replace("at = \"100s\", ", ""), "pushes[0]", "missing required key `at`"),
        (ok.replace("{ id = \"base\" }, { size = \"25MB\" }", ""), "pushes[0].layers", "at least one layer"),
        (
            ok.replace("{ id = \"base\" }", "{ id = \"base\", size = \"81MB\" }"),
            "pushes[0].layers[0].size",
            "one size",
        ),
        (ok.replace("pushes = [ {", "pushes = [ { bogus = 1, "), "pushes[0]", "unknown field `bogus`"),
    ];
    for (text, key, fragment) in cases {
        let err = load(&text).err().unwrap_or_else(|| panic!("{key}: loaded"));
        let hit = err.diagnostics.iter().any(|d| {
            d.key.as_deref().is_some_and(|k| k.contains(key))
                && d.message.contains(fragment)
                && d.line.is_some()
        });
        assert!(hit, "{key} / {fragment}:\n{err}");
    }
}

fn daemonset_update(rollout: &str, ready_after: &str) -> String {
    // Five nodes, one 100MB layer per version at 100MB/s per connection: each pull takes 1 s.
    base("unlimited", "100MB/s", "serialize_image_pulls = false").replace("count = 1", "count = 5")
        + &format!(
            r#"
[[image]]
ref = "registry.example/agent:v1"
layers = [ {{ size = "100MB" }} ]

[[image]]
ref = "registry.example/agent:v2"
layers = [ {{ size = "100MB" }} ]

[[workload]]
name = "agent"
kind = "daemonset"
{rollout}
ready_after = "{ready_after}"
update = {{ at = "10s", image = "registry.example/agent:v2" }}
[workload.pod]
containers = [ {{ image = "registry.example/agent:v1" }} ]
"#
        )
}

#[test]
fn a_daemonset_rolls_node_by_node_within_max_unavailable() {
    // maxUnavailable 2 of 5 nodes: at 10 s the old pods of pool-0 and pool-1 go and new ones
    // pull 10-11 s; at 11 s they are available, so pool-2 and pool-3 go (11-12 s), then pool-4
    // (12-13 s): the rollout takes 3 s.
    let (out, sink) = run_toml(&daemonset_update("rollout = { max_unavailable = 2 }", "0s"));
    assert_eq!(out.rollouts, vec![("agent".to_string(), Some(3.0))]);
    let mut v2: Vec<(String, f64, f64)> = sink
        .pulls
        .iter()
        .filter(|r| r.image.ends_with(":v2"))
        .map(|r| (r.node.clone(), s(r.started_s.unwrap()), s(r.finished_s.unwrap())))
        .collect();
    v2.sort_by(|a, b| a.1.total_cmp(&b.1).then_with(|| a.0.cmp(&b.0)));
    assert_eq!(
        v2,
        crate::spans(&[
            ("pool-0", 10.0, 11.0),
            ("pool-1", 10.0, 11.0),
            ("pool-2", 11.0, 12.0),
            ("pool-3", 11.0, 12.0),
            ("pool-4", 12.0, 13.0)
        ])
    );
    // "40%" of 5 nodes is 2, the same rollout; the default (1) goes one node at a time: 5 s.
    let (out, _) = run_toml(&daemonset_update("rollout = { max_unavailable = \"40%\" }", "0s"));
    assert_eq!(out.rollouts, vec![("agent".to_string(), Some(3.0))]);
    let (out, _) = run_toml(&daemonset_update("", "0s"));
    assert_eq!(out.rollouts, vec![("agent".to_string(), Some(5.0))]);
    // A readiness delay holds each batch until its pods are Ready: new pods Running at 11 s
    // are available at 16 s, the next batch at 17 s is available at 22 s, the last (23 s) at
    // 28 s: 18 s.
    let (out, _) = run_toml(&daemonset_update("rollout = { max_unavailable = 2 }", "5s"));
    assert_eq!(out.rollouts, vec![("agent".to_string(), Some(18.0))]);
    // A surge is not modelled for DaemonSets: an error, not a silent change.
    let err = pullsim::scenario::load(
        &daemonset_update("rollout = { max_surge = 1, max_unavailable = 0 }", "0s"),
        "t.toml",
        &[],
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("a DaemonSet's maxSurge is not modelled"), "{err}");
}
