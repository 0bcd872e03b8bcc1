//! Hand-computed exact cases (issue 2): timings that follow from bytes / bandwidth alone.

use super::{base, run_toml, s};

fn two_pods_two_images(kubelet: &str, node_bw: &str, per_conn: &str) -> String {
    base(node_bw, per_conn, kubelet)
        + r#"
[[image]]
ref = "registry.example/a:v1"
layers = [ { size = "100MB" } ]

[[image]]
ref = "registry.example/b:v1"
layers = [ { size = "100MB" } ]

[[workload]]
name = "a"
kind = "deployment"
replicas = 1
[workload.pod]
containers = [ { image = "registry.example/a:v1" } ]

[[workload]]
name = "b"
kind = "deployment"
replicas = 1
[workload.pod]
containers = [ { image = "registry.example/b:v1" } ]
"#
}

#[test]
fn one_100mb_layer_at_100mb_per_s_takes_exactly_one_second() {
    let text =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/examples/minimal.toml"))
            .expect("contract example");
    let (out, sink) = run_toml(&text);
    assert_eq!(sink.pulls.len(), 1);
    let p = &sink.pulls[0];
    assert_eq!(p.started_s.map(|t| t.0), Some(0));
    assert_eq!(p.finished_s.map(|t| t.0), Some(1_000_000_000), "exactly 1 s");
    assert_eq!(p.bytes, 100_000_000);
    assert_eq!(p.result, "ok");
    assert_eq!(out.pods[0].startup().map(|d| d.0), Some(1_000_000_000));
    assert_eq!(out.summary.startup_p50_s, Some(1.0));
}

#[test]
fn serial_second_pull_starts_at_1s_ends_at_2s() {
    let (_, sink) = run_toml(&two_pods_two_images("serialize_image_pulls = true", "unlimited", "100MB/s"));
    let mut rows = sink.pulls.clone();
    rows.sort_by_key(|r| r.started_s);
    assert_eq!(rows.len(), 2);
    assert_eq!((s(rows[0].started_s.unwrap()), s(rows[0].finished_s.unwrap())), (0.0, 1.0));
    assert_eq!((s(rows[1].started_s.unwrap()), s(rows[1].finished_s.unwrap())), (1.0, 2.0));
    assert_eq!(s(rows[1].requested_s), 0.0, "requested at once, queued behind the first");
}

#[test]
fn parallel_sharing_a_100mb_per_s_node_link_both_end_at_2s() {
    let (_, sink) = run_toml(&two_pods_two_images("serialize_image_pulls = false", "100MB/s", "unlimited"));
    assert_eq!(sink.pulls.len(), 2);
    for r in &sink.pulls {
        assert_eq!(s(r.started_s.unwrap()), 0.0);
        assert_eq!(s(r.finished_s.unwrap()), 2.0, "{r:?}");
    }
}

#[test]
fn parallel_with_only_per_connection_caps_both_end_at_1s() {
    let (_, sink) = run_toml(&two_pods_two_images("serialize_image_pulls = false", "unlimited", "100MB/s"));
    for r in &sink.pulls {
        assert_eq!(s(r.finished_s.unwrap()), 1.0, "{r:?}");
    }
}

#[test]
fn a_layer_shared_by_two_images_is_downloaded_once() {
    let text = base("unlimited", "100MB/s", "serialize_image_pulls = true")
        + r#"
[[image]]
ref = "registry.example/a:v1"
layers = [ { id = "base", size = "100MB" }, { size = "10MB" } ]

[[image]]
ref = "registry.example/b:v1"
layers = [ { id = "base", size = "100MB" }, { size = "20MB" } ]

[[workload]]
name = "w"
kind = "deployment"
replicas = 1
[workload.pod]
containers = [ { image = "registry.example/a:v1" }, { image = "registry.example/b:v1" } ]
"#;
    let (out, sink) = run_toml(&text);
    assert_eq!(out.summary.bytes_pulled, 130_000_000, "base once + 10 MB + 20 MB");
    let bytes: Vec<u64> = sink.pulls.iter().map(|r| r.bytes).collect();
    assert_eq!(bytes, vec![110_000_000, 20_000_000]);
    // Second pull: only the 20 MB layer at 100 MB/s after the first ended at 1 s.
    assert_eq!(s(sink.pulls[1].finished_s.unwrap()), 1.0 + 0.2);
    assert_eq!(out.registries[0].blob_bytes, 130_000_000);
}

#[test]
fn latency_and_unpack_add_up_as_documented() {
    // 40 ms RTT: the HEAD resolving the tag + manifest (index) GET + platform manifest + config
    // = 160 ms, then a blob request (40 ms) and 50 MB at 50 MB/s = 1 s, then unpack 50 MB at
    // 100 MB/s = 0.5 s, then container start 0.5 s: 2.2 s.
    let text = r#"
[simulation]
name = "t"
seed = 1
[kubelet]
registry_pull_qps = 0
[runtime]
unpack_rate = "100MB/s"
container_start = "500ms"
[[node_pool]]
name = "pool"
count = 1
[[registry]]
host = "registry.example"
per_connection = "50MB/s"
latency = "40ms"
[[image]]
ref = "registry.example/a:v1"
layers = [ { size = "50MB" } ]
[[workload]]
name = "w"
kind = "deployment"
replicas = 1
[workload.pod]
containers = [ { image = "registry.example/a:v1" } ]
"#;
    let (out, sink) = run_toml(text);
    assert_eq!(s(sink.pulls[0].finished_s.unwrap()), 1.7);
    assert_eq!(out.summary.startup_max_s, Some(2.2));
    assert_eq!(out.registries[0].requests, 5, "HEAD + index + manifest + config + one blob");
    assert_eq!(out.registries[0].manifest_requests, 2);
    assert_eq!(out.registries[0].manifest_heads, 1);
}

#[test]
fn unpack_is_in_layer_order_and_overlaps_downloads() {
    // Layer 0 is big (100 MB, done at 1 s), layer 1 small (10 MB, done at 0.1 s): layer 1
    // waits for layer 0's unpack. Unpack at 100 MB/s: layer 0 from 1.0 to 2.0, layer 1 to 2.1.
    let text = base("unlimited", "100MB/s", "")
        .replace(r#"unpack_rate = "unlimited""#, r#"unpack_rate = "100MB/s""#)
        + r#"
[[image]]
ref = "registry.example/a:v1"
layers = [ { size = "100MB" }, { size = "10MB" } ]
[[workload]]
name = "w"
kind = "deployment"
replicas = 1
[workload.pod]
containers = [ { image = "registry.example/a:v1" } ]
"#;
    let (_, sink) = run_toml(&text);
    assert_eq!(s(sink.pulls[0].finished_s.unwrap()), 2.1);
}

/// Peaks are exact, not sampled: two parallel pulls of 100 MB images at 100 MB/s each, 100 ms
/// round trips. Each prelude is HEAD, index GET, manifest GET and config (0.4 s), then a blob
/// request (0.1 s): both downloads run from 0.5 s to 1.5 s at 200 MB/s in all. Samples every
/// 10 s see only t = 0 (egress 0), yet the peak egress is 200 MB/s and the peak pulls in flight
/// 2, and neither depends on `sample_every`.
#[test]
fn peaks_are_exact_whatever_the_sampling() {
    let text = |every: &str| {
        base("unlimited", "100MB/s", "serialize_image_pulls = false")
            .replace(r#"latency = "0s""#, r#"latency = "100ms""#)
            .replace("seed = 1\n", &format!("seed = 1\nuntil = \"1h\"\nsample_every = \"{every}\"\n"))
            + r#"
[[image]]
ref = "registry.example/a:v1"
layers = [ { size = "100MB" } ]
[[image]]
ref = "registry.example/b:v1"
layers = [ { size = "100MB" } ]
[[workload]]
name = "a"
kind = "deployment"
replicas = 1
[workload.pod]
containers = [ { image = "registry.example/a:v1" } ]
[[workload]]
name = "b"
kind = "deployment"
replicas = 1
[workload.pod]
containers = [ { image = "registry.example/b:v1" } ]
"#
    };
    for every in ["10s", "1s", "100ms", "7ms"] {
        let (out, sink) = run_toml(&text(every));
        assert_eq!(out.peaks.pulls_in_flight, 2, "sample_every {every}");
        assert_eq!(out.peaks.registry_egress_bytes_per_s, 200_000_000.0, "sample_every {every}");
        let sampled = sink.samples.iter().map(|r| r.registry_egress_bytes_per_s).fold(0.0, f64::max);
        assert!(sampled <= out.peaks.registry_egress_bytes_per_s);
        if every == "10s" {
            assert_eq!(sampled, 0.0, "the only sample is at 0 s");
        }
    }
}
