//! `[[link]]` and `[p2p]`, hand-computed: a NAT gateway that binds and gives its nodes one
//! Docker Hub budget, a Spegel hit and a fallback, a swarm fed by two peers at once.

use super::{base, pull_spans, run_toml, run_toml_with, spans};

/// Two nodes at 125 MB/s, an unlimited registry without latency, one 100 MB layer pulled by a
/// DaemonSet at 0 s.
fn two_nodes(extra: &str) -> String {
    base("125MB/s", "unlimited", "").replace("count = 1", "count = 2")
        + r#"
[[image]]
ref = "registry.example/app:1"
layers = [ { size = "100MB" } ]

[[workload]]
name = "ds"
kind = "daemonset"
[workload.pod]
containers = [ { image = "registry.example/app:1" } ]
"# + extra
}

const NAT: &str = r#"
[[link]]
name = "nat"
bandwidth = "100MB/s"
shared_address = true
"#;

#[test]
fn a_nat_gateway_binds_both_nodes() {
    // Without the link each node takes its 100 MB at its own 125 MB/s: 0.8 s.
    let (_, sink) = run_toml(&two_nodes(""));
    assert_eq!(pull_spans(&sink), spans(&[("pool-0", 0.0, 0.8), ("pool-1", 0.0, 0.8)]));
    // Through a 100 MB/s gateway they get 50 MB/s each: 2 s. It carried 200 MB for 2 s, full
    // the whole time, two downloads at once.
    let (out, sink) = run_toml(&two_nodes(NAT));
    assert_eq!(pull_spans(&sink), spans(&[("pool-0", 0.0, 2.0), ("pool-1", 0.0, 2.0)]));
    let l = &out.links[0];
    assert_eq!((l.name.as_str(), l.bytes, l.busy_s, l.peak_downloads), ("nat", 200_000_000, 2.0, 2));
    assert_eq!(l.utilization_while_busy, Some(1.0));
}

#[test]
fn a_link_crosses_only_the_pools_and_registries_it_names() {
    // The gateway names another registry: the downloads do not cross it.
    let extra =
        NAT.to_string() + "registries = [\"other.example\"]\n\n[[registry]]\nhost = \"other.example\"\n";
    let (out, sink) = run_toml(&two_nodes(&extra));
    assert_eq!(pull_spans(&sink), spans(&[("pool-0", 0.0, 0.8), ("pool-1", 0.0, 0.8)]));
    assert_eq!((out.links[0].bytes, out.links[0].utilization_while_busy), (0, None));
}

#[test]
fn nodes_behind_one_nat_share_one_rate_limit_budget() {
    // One manifest GET per node per 6 h: each node pulls once, so both succeed...
    let limited = |extra: &str| {
        two_nodes(extra).replace(
            "latency = \"0s\"",
            "latency = \"0s\"\nrate_limit = { pulls = 1, per = \"6h\", scope = \"node\" }",
        )
    };
    let (out, _) = run_toml(&limited(""));
    assert_eq!((out.registries[0].throttled, out.registries[0].failures), (0, 0));
    // ...but behind a NAT both nodes have the gateway's address: one budget of 1. The second
    // GET is refused (429, retried at once up to 6 answers) and that pull fails.
    let (out, _) = run_toml_with(&limited(NAT), &[("simulation.until", "\"1m\"")]);
    let r = &out.registries[0];
    assert!(r.throttled >= 6 && r.failures >= 1, "{r:?}");
    // The node whose GET got through pulled once; the other never did.
    assert_eq!(r.blob_bytes, 100_000_000);
}

/// Pools `a` and `b` of one node each (125 MB/s); a registry at 10 MB/s per connection with no
/// latency; a 100 MB layer; a Deployment on `a` at 0 s and one on `b` at 20 s.
fn a_then_b(p2p: &str) -> String {
    let pools = r#"
[[node_pool]]
name = "a"
count = 1
bandwidth = "125MB/s"
disk = "1000GiB"

[[node_pool]]
name = "b"
count = 1
bandwidth = "125MB/s"
disk = "1000GiB"
"#;
    let head = base("125MB/s", "10MB/s", "");
    let head = head.replace(
        "[[node_pool]]\nname = \"pool\"\ncount = 1\nbandwidth = \"125MB/s\"\ndisk = \"1000GiB\"\n",
        pools,
    );
    head + r#"
[[image]]
ref = "registry.example/app:1"
layers = [ { size = "100MB" } ]

[[workload]]
name = "first"
kind = "deployment"
replicas = 1
node_pools = ["a"]
[workload.pod]
containers = [ { image = "registry.example/app:1" } ]

[[workload]]
name = "second"
kind = "deployment"
replicas = 1
start = "20s"
node_pools = ["b"]
[workload.pod]
containers = [ { image = "registry.example/app:1" } ]
"# + p2p
}

#[test]
fn spegel_falls_back_to_the_registry_then_serves_from_a_peer() {
    // Without Spegel both nodes pull from the registry at 10 MB/s: 10 s each.
    let (without, sink) = run_toml(&a_then_b(""));
    assert_eq!(pull_spans(&sink), spans(&[("a-0", 0.0, 10.0), ("b-0", 20.0, 30.0)]));
    // With it: a-0 asks Spegel first. Resolve: no peer has the image, 404 after the 20 ms
    // lookup, then the registry's prelude (no latency). Blob: no peer, 404 after 20 ms, then
    // the registry: 10 s. Ends at 10.04 s and advertises the image.
    // b-0 at 20 s: the manifest comes from a-0 after the lookup (20.02 s); the blob lookup finds
    // a-0 (20.04 s), which sends 100 MB from its 125 MB/s egress into b-0's 125 MB/s: 0.8 s.
    let (out, sink) = run_toml(&a_then_b("\n[p2p]\nmode = \"spegel\"\n"));
    assert_eq!(pull_spans(&sink), spans(&[("a-0", 0.0, 10.04), ("b-0", 20.0, 20.84)]));
    let p = out.p2p.as_ref().expect("p2p in the summary");
    assert_eq!((p.blobs_from_peers, p.bytes_from_peers), (1, 100_000_000));
    assert_eq!((p.lookups_missed, p.manifests_from_peers), (1, 1));
    // The registry served one pull's manifests and one blob: half of what it served without.
    let (r, r0) = (&out.registries[0], &without.registries[0]);
    assert_eq!((r.manifest_requests * 2, r.blob_bytes * 2), (r0.manifest_requests, r0.blob_bytes));
}

#[test]
fn spegel_gains_nothing_when_no_peer_has_the_content() {
    // Both at 0 s (a cold fleet-wide start): each pays two 20 ms lookups and pulls from the
    // registry; nothing comes from peers.
    let (out, sink) = run_toml(&a_then_b("\n[p2p]\nmode = \"spegel\"\n").replace("start = \"20s\"\n", ""));
    assert_eq!(pull_spans(&sink), spans(&[("a-0", 0.0, 10.04), ("b-0", 0.0, 10.04)]));
    let p = out.p2p.as_ref().unwrap();
    assert_eq!((p.blobs_from_peers, p.lookups_missed, p.manifests_from_peers), (0, 2, 0));
}

/// Pool `a` of two nodes at 0 s, pool `b` of one at 100 s; origins (the registry) 10 MB/s in
/// all, no per-connection cap; 125 MB/s nodes uploading at most 40 MB/s to the swarm; one
/// 1000 MB layer.
fn swarm(extra: &str) -> String {
    a_then_b("\n[p2p]\nmode = \"pieces\"\nupload = \"40MB/s\"\n")
        .replace(
            "count = 1\nbandwidth = \"125MB/s\"\ndisk = \"1000GiB\"\n\n[[node_pool]]\nname = \"b\"",
            "count = 2\nbandwidth = \"125MB/s\"\ndisk = \"1000GiB\"\n\n[[node_pool]]\nname = \"b\"",
        )
        .replace("replicas = 1\nnode_pools = [\"a\"]", "replicas = 2\nnode_pools = [\"a\"]")
        .replace("start = \"20s\"", "start = \"100s\"")
        .replace("size = \"100MB\"", "size = \"1000MB\"")
        .replace(
            "bandwidth = \"unlimited\"\nper_connection = \"10MB/s\"",
            "bandwidth = \"10MB/s\"\nper_connection = \"unlimited\"",
        )
        + extra
}

#[test]
fn a_swarm_feeds_a_download_from_two_peers_and_the_origins() {
    // 0 s: a-0 and a-1 join the swarm. Its capacity: origins 10 + each downloader's 40 MB/s
    // counted (L-1)/L = 1/2 (nobody uploads to itself): 10 + 40 = 50 MB/s, 25 each: 40 s.
    // 100 s: b-0 alone downloads; a-0 and a-1 hold the blob and give 40 each, the origins 10:
    // 90 MB/s, below its 125 MB/s ingress: 1000 MB in 11.111 s. One peer alone (40 MB/s) or the
    // origins alone (10) would take 25 s or 100 s.
    let (out, sink) = run_toml(&swarm(""));
    assert_eq!(
        pull_spans(&sink),
        spans(&[("a-0", 0.0, 40.0), ("a-1", 0.0, 40.0), ("b-0", 100.0, 111.111111112)])
    );
    let p = out.p2p.as_ref().unwrap();
    assert_eq!((p.mode, p.blobs_from_peers, p.bytes_from_peers), ("pieces", 3, 3_000_000_000));
    assert_eq!(out.registries[0].blob_bytes, 0);
}

#[test]
fn a_lone_swarm_downloader_with_unlimited_upload_gets_the_origins() {
    // Pool a's bandwidth, and so its upload, is unlimited. a-0 downloads alone: it uploads to
    // nobody, so the origins' 10 MB/s serve its 100 MB in 10 s (an unlimited share times
    // (L-1)/L = 0 once made the swarm's capacity not a number, and the download stalled).
    // b-0 at 20 s: a-0 holds the blob and gives without limit, so b-0 takes its 125 MB/s
    // ingress: 0.8 s.
    let toml = a_then_b("\n[p2p]\nmode = \"pieces\"\n").replacen("bandwidth = \"125MB/s\"\n", "", 1).replace(
        "bandwidth = \"unlimited\"\nper_connection = \"10MB/s\"",
        "bandwidth = \"10MB/s\"\nper_connection = \"unlimited\"",
    );
    let (_, sink) = run_toml(&toml);
    assert_eq!(pull_spans(&sink), spans(&[("a-0", 0.0, 10.0), ("b-0", 20.0, 20.8)]));
}

#[test]
fn a_tracker_latency_delays_each_swarm_download() {
    // 2 s before each download joins: 2 → 42 s, then 102 → 113.111 s.
    let (_, sink) = run_toml(&swarm("tracker_latency = \"2s\"\n"));
    assert_eq!(
        pull_spans(&sink),
        spans(&[("a-0", 0.0, 42.0), ("a-1", 0.0, 42.0), ("b-0", 100.0, 113.111111112)])
    );
}

#[test]
fn a_cache_behind_a_nat_sends_each_blob_through_the_gateway_once() {
    // The two nodes pull docker.io images through an in-cluster cache; only the cache's fetches
    // from docker.io cross the 50 MB/s gateway. a-0's miss streams 100 MB through cache and
    // gateway at 50 MB/s: 0-2 s. The second node's request for the blob waits for it, then
    // downloads it from the cache at its own 125 MB/s: 2-2.8 s. The gateway carried it once.
    let text = two_nodes("")
        .replace("registry.example/app:1", "docker.io/library/app:1")
        .replace("host = \"registry.example\"", "host = \"docker.io\"\nmirrors = [\"cache.internal\"]")
        + r#"
[[registry]]
host = "cache.internal"
latency = "0s"
pull_through = { upstream = "docker.io" }

[[link]]
name = "nat"
bandwidth = "50MB/s"
registries = ["docker.io"]
shared_address = true
"#;
    let (out, sink) = run_toml(&text);
    assert_eq!(pull_spans(&sink), spans(&[("pool-0", 0.0, 2.0), ("pool-1", 0.0, 2.8)]));
    let l = &out.links[0];
    assert_eq!((l.bytes, l.busy_s, l.peak_downloads), (100_000_000, 2.0, 1));
}

#[test]
fn spegel_peers_find_an_image_only_after_its_advertisement_delay() {
    // a-0's pull ends at 10.04 s; with a 15 s delay its peers find it from 25.04 s. b-0 at 20 s
    // finds nothing: both lookups miss (20 ms each) and the registry serves it, 20 → 30.04 s.
    let (out, sink) = run_toml(&a_then_b("\n[p2p]\nmode = \"spegel\"\nadvertise_delay = \"15s\"\n"));
    assert_eq!(pull_spans(&sink), spans(&[("a-0", 0.0, 10.04), ("b-0", 20.0, 30.04)]));
    let p = out.p2p.as_ref().unwrap();
    assert_eq!((p.blobs_from_peers, p.lookups_missed, p.manifests_from_peers), (0, 2, 0));
    // With b-0 at 30 s instead, the advertisement is out: a peer serves it, 30 → 30.84 s.
    let text = a_then_b("\n[p2p]\nmode = \"spegel\"\nadvertise_delay = \"15s\"\n")
        .replace("start = \"20s\"", "start = \"30s\"");
    let (_, sink) = run_toml(&text);
    assert_eq!(pull_spans(&sink), spans(&[("a-0", 0.0, 10.04), ("b-0", 30.0, 30.84)]));
}
