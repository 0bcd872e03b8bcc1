//! containerd 2.1's node-wide download slots against 1.7's per-pull limit, hand-computed: six
//! layers of two parallel pulls, a manifest GET queued behind another pull's layers, a shared
//! layer waited for by polling the ingest, and the fallback to the 1.7 path when
//! `max_concurrent_downloads` is not 3.

use crate::{base, run_toml, s};

/// One node (unlimited link), 100 MB/s per connection, `latency`; pods `a` (at 0) and `b` (at
/// `b_start`) pull images of three 100 MB layers in parallel, `b_image` naming `a`'s image or
/// its own.
fn two_pulls(profile: &str, downloads: u32, latency: &str, b_start: &str, b_image: &str) -> String {
    base("unlimited", "100MB/s", "serialize_image_pulls = false")
        .replace(
            "[runtime]\nmax_concurrent_downloads = 3\n",
            &format!("[runtime]\nprofile = \"{profile}\"\nmax_concurrent_downloads = {downloads}\n"),
        )
        .replace("latency = \"0s\"", &format!("latency = \"{latency}\""))
        + &format!(
            r#"
[[image]]
ref = "registry.example/a:v1"
layers = [ {{ size = "100MB" }}, {{ size = "100MB" }}, {{ size = "100MB" }} ]

[[image]]
ref = "registry.example/b:v1"
layers = [ {{ size = "100MB" }}, {{ size = "100MB" }}, {{ size = "100MB" }} ]

[[workload]]
name = "a"
kind = "deployment"
replicas = 1
[workload.pod]
containers = [ {{ image = "registry.example/a:v1" }} ]

[[workload]]
name = "b"
kind = "deployment"
replicas = 1
start = "{b_start}"
[workload.pod]
containers = [ {{ image = "registry.example/{b_image}:v1" }} ]
"#
        )
}

/// (image, started, finished) of each pull, by image.
fn times(text: &str) -> Vec<(String, f64, f64)> {
    let (out, sink) = run_toml(text);
    assert_eq!(out.summary.pods_running, 2);
    let mut v: Vec<_> = sink
        .pulls
        .iter()
        .map(|p| {
            assert_eq!(p.result, "ok");
            (p.image.clone(), s(p.started_s.unwrap()), s(p.finished_s.unwrap()))
        })
        .collect();
    v.sort_by(|x, y| x.0.cmp(&y.0));
    v
}

fn row(image: &str, started: f64, finished: f64) -> (String, f64, f64) {
    (format!("registry.example/{image}:v1"), started, finished)
}

#[test]
fn six_layers_of_two_pulls_run_six_at_once_under_17_and_three_under_21() {
    // No latency: both preludes end at 0. containerd 1.7: each pull has 3 slots, all six
    // layers flow at 100 MB/s from 0 to 1 s. containerd 2.1: the node has 3 slots, taken by
    // pull a's layers (its prelude ended first); b's three wait in the queue and get the slots
    // a's downloads free at 1 s: b ends at 2 s.
    let (out17, _) = run_toml(&two_pulls("containerd-1.7", 3, "0s", "0s", "b"));
    assert_eq!(out17.registries[0].peak_concurrent, 6);
    assert_eq!(
        times(&two_pulls("containerd-1.7", 3, "0s", "0s", "b")),
        [row("a", 0.0, 1.0), row("b", 0.0, 1.0)]
    );
    let text = two_pulls("containerd-2.1", 3, "0s", "0s", "b");
    let (out21, _) = run_toml(&text);
    assert_eq!(out21.registries[0].peak_concurrent, 3);
    assert_eq!(times(&text), [row("a", 0.0, 1.0), row("b", 0.0, 2.0)]);
    // Same requests either way: per pull a HEAD, the index and platform manifests, the config,
    // three blobs.
    assert_eq!((out17.registries[0].requests, out21.registries[0].requests), (14, 14));
}

#[test]
fn a_manifest_get_waits_for_a_slot_behind_another_pulls_layers() {
    // 100 ms round trips. Pull a: HEAD 0-0.1, manifest GETs 0.1-0.2 and 0.2-0.3, config
    // 0.3-0.4; its three blob requests take all three slots at 0.4, answered at 0.5, bytes
    // 0.5-1.5. Pull b starts at 0.5: HEAD (no slot) 0.5-0.6, then its manifest GET waits for a
    // slot until a's downloads end at 1.5: manifest 1.5-1.6, platform manifest 1.6-1.7, config
    // 1.7-1.8, blob requests 1.8-1.9, bytes 1.9-2.9.
    assert_eq!(
        times(&two_pulls("containerd-2.1", 3, "100ms", "500ms", "b")),
        [row("a", 0.0, 1.5), row("b", 0.5, 2.9)]
    );
    // containerd 1.7: b's GETs take none of a's slots: its requests end at 1.0 and its bytes
    // flow 1.0-2.0 beside a's.
    assert_eq!(
        times(&two_pulls("containerd-1.7", 3, "100ms", "500ms", "b")),
        [row("a", 0.0, 1.5), row("b", 0.5, 2.0)]
    );
}

#[test]
fn a_layer_another_pull_fetches_is_polled_with_doubling_sleeps() {
    // Both pods pull image a; no latency. Pull a takes the three layers' ingests and slots at 0
    // and finishes at 1 s. Pull b finds each ingest held and polls it: re-checks at 16, 48,
    // 112, 240, 496 and 1,008 ms (sleeps of 16, 32, ... 512 ms), and sees the blobs at 1.008 s.
    // containerd 1.7 waits on the lock and goes on when the download ends: 1 s.
    let mut text = two_pulls("containerd-2.1", 3, "0s", "0s", "a");
    let (out, sink) = run_toml(&text);
    assert_eq!(out.summary.pods_running, 2);
    let mut ends: Vec<f64> = sink.pulls.iter().map(|p| s(p.finished_s.unwrap())).collect();
    ends.sort_by(f64::total_cmp);
    assert_eq!(ends, [1.0, 1.008]);
    assert_eq!(sink.pulls.iter().map(|p| p.bytes).sum::<u64>(), 300_000_000, "each layer fetched once");
    text = two_pulls("containerd-1.7", 3, "0s", "0s", "a");
    let (_, sink) = run_toml(&text);
    assert!(sink.pulls.iter().all(|p| s(p.finished_s.unwrap()) == 1.0));
}

#[test]
fn a_polled_layer_reaches_the_2048_ms_cap() {
    // Pull a's three layers at 20 MB/s per connection take 5 s. Pull b re-checks at 16, 48,
    // 112, 240, 496, 1,008, 2,032, 4,080 ms (the sleep capped at 2,048 ms from then on) and
    // 6,128 ms, when it sees the blobs.
    let text = two_pulls("containerd-2.1", 3, "0s", "0s", "a")
        .replace("per_connection = \"100MB/s\"", "per_connection = \"20MB/s\"");
    let (_, sink) = run_toml(&text);
    let mut ends: Vec<f64> = sink.pulls.iter().map(|p| s(p.finished_s.unwrap())).collect();
    ends.sort_by(f64::total_cmp);
    assert_eq!(ends, [5.0, 6.128]);
}

#[test]
fn containerd_21_with_five_downloads_falls_back_to_the_17_path() {
    // `max_concurrent_downloads = 5` is not containerd's default: the CRI plugin pulls with
    // `client.Pull` as 1.7 does, each pull with 5 slots of its own. Every output equals 1.7's.
    for (latency, b_start, b_image) in [("0s", "0s", "b"), ("100ms", "500ms", "b"), ("0s", "0s", "a")] {
        let (o21, s21) = run_toml(&two_pulls("containerd-2.1", 5, latency, b_start, b_image));
        let (o17, s17) = run_toml(&two_pulls("containerd-1.7", 5, latency, b_start, b_image));
        assert_eq!(format!("{:?}", s21.pulls), format!("{:?}", s17.pulls));
        assert_eq!(format!("{:?}", o21.registries), format!("{:?}", o17.registries));
    }
    // The six layers of the first case: all at once (5 per pull ≥ 3), both end at 1 s.
    assert_eq!(
        times(&two_pulls("containerd-2.1", 5, "0s", "0s", "b")),
        [row("a", 0.0, 1.0), row("b", 0.0, 1.0)]
    );
}

#[test]
fn an_outage_breaks_the_blobs_in_flight_but_not_ingests_waiting_for_a_slot() {
    // 100 ms round trips; outage from 1.0 s. Pull a's blobs flow 0.5-1.5 and break at 1.0.
    // Pull b (start 0.5) waits for a slot for its manifest GET, so it has no connection: when
    // a fails at 1.0 its slots free, and b's manifest GET is sent during the outage and fails
    // when its answer would come, at 1.1.
    let text = two_pulls("containerd-2.1", 3, "100ms", "500ms", "b")
        .replace("latency = \"100ms\"", "latency = \"100ms\"\noutages = [ { from = \"1s\", to = \"1h\" } ]")
        .replace("[simulation]\nname = \"t\"", "[simulation]\nname = \"t\"\nuntil = \"5s\"");
    let (_, sink) = run_toml(&text);
    let mut v: Vec<_> =
        sink.pulls.iter().map(|p| (p.image.clone(), p.result.clone(), s(p.finished_s.unwrap()))).collect();
    v.sort_by(|x, y| x.0.cmp(&y.0));
    assert_eq!(
        v,
        [
            ("registry.example/a:v1".to_string(), "failed:outage".to_string(), 1.0),
            ("registry.example/b:v1".to_string(), "failed:outage".to_string(), 1.1)
        ]
    );
}

/// CRI-O merges concurrent pulls only when their `pullArguments` match, and those include the
/// pod's cgroup parent (`server/image_pull.go`): two pods pulling one image on one node are
/// two pulls, each with its own manifest GETs (the index and the platform's manifest), sharing
/// the layers as containerd 1.7 does: the three layers download once, at once (1 s), and the
/// second pull waits for them and ends with the first.
#[test]
fn cri_o_does_not_merge_the_pulls_of_two_pods() {
    let text = two_pulls("cri-o", 6, "0s", "0s", "a");
    let (out, sink) = run_toml(&text);
    assert_eq!(sink.pulls.len(), 2);
    assert_eq!(out.registries[0].manifest_requests, 4, "two GETs per pull");
    assert_eq!(out.summary.bytes_pulled, 300_000_000, "the layers once");
    let got = times(&text);
    assert_eq!(
        got,
        vec![("registry.example/a:v1".into(), 0.0, 1.0), ("registry.example/a:v1".into(), 0.0, 1.0)]
    );
}
