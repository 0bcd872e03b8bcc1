//! Layers as they are on disk, hand-computed: unpack time from the unpacked bytes plus a
//! per-layer overhead, the disk a layer holds (blob and snapshot, or the snapshot alone with
//! `discard_unpacked_layers`), and image GC freeing more than the kubelet counts.
//!
//! One node, unlimited node bandwidth, 100 MB/s per connection, no latency: a 100 MB layer
//! downloads in 1 s.

use super::{base, run_toml, s};
use pullsim::metrics::MemorySink;

/// The node with `runtime` lines, `disk`, an unpack rate of 100 MB/s, and a pod per image in
/// `images` (name, layers TOML) at 0 s.
fn scenario(runtime: &str, disk: &str, images: &[(&str, &str)]) -> String {
    let mut text = base("unlimited", "100MB/s", "serialize_image_pulls = false")
        .replace("unpack_rate = \"unlimited\"", &format!("unpack_rate = \"100MB/s\"\n{runtime}"))
        .replace("disk = \"1000GiB\"", &format!("disk = \"{disk}\""));
    for (name, layers) in images {
        text += &format!(
            "\n[[image]]\nref = \"registry.example/{name}:v1\"\nlayers = {layers}\n\
             \n[[workload]]\nname = \"{name}\"\nkind = \"deployment\"\nreplicas = 1\n\
             [workload.pod]\ncontainers = [ {{ image = \"registry.example/{name}:v1\" }} ]\n"
        );
    }
    text
}

/// (finished seconds, result) of every pull, in pulls.csv order.
fn pulls(sink: &MemorySink) -> Vec<(String, f64, String)> {
    sink.pulls
        .iter()
        .map(|p| (p.image.clone(), s(p.finished_s.expect("finished")), p.result.clone()))
        .collect()
}

fn one(runtime: &str, layers: &str) -> f64 {
    let (_, sink) = run_toml(&scenario(runtime, "100GB", &[("app", layers)]));
    let got = pulls(&sink);
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].2, "ok");
    got[0].1
}

#[test]
fn unpack_takes_the_unpacked_bytes_at_the_unpack_rate_plus_the_layer_overhead() {
    // Download 1 s, then 100 MB unpacked at 100 MB/s: 2 s.
    assert_eq!(one("", "[ { size = \"100MB\" } ]"), 2.0);
    // 300 MB unpacked: 1 + 3 s.
    assert_eq!(one("", "[ { size = \"100MB\", uncompressed_size = \"300MB\" } ]"), 4.0);
    // The ratio applies to a layer without its own uncompressed size: 1 + 2.5 s.
    assert_eq!(one("uncompressed_ratio = 2.5", "[ { size = \"100MB\" } ]"), 3.5);
    assert_eq!(
        one("uncompressed_ratio = 2.5", "[ { size = \"100MB\", uncompressed_size = \"100MB\" } ]"),
        2.0
    );
    // Two 50 MB layers download together (0.5 s); each unpack takes 0.5 s + 0.5 s: the first
    // ends at 1.5 s, the second at 2.5 s.
    assert_eq!(one("unpack_layer_overhead = \"500ms\"", "[ { size = \"50MB\" }, { size = \"50MB\" } ]"), 2.5);
}

#[test]
fn a_layer_holds_its_blob_and_its_snapshot_unless_the_blob_is_discarded() {
    // Disk 250 MB; two images of one 100 MB layer (ratio 1). Kept as containerd keeps them by
    // default, each takes 200 MB: the second finds 50 MB left and fails.
    let two = [("x", "[ { size = \"100MB\" } ]"), ("y", "[ { size = \"100MB\" } ]")];
    let (_, sink) = run_toml(&scenario("", "250MB", &two));
    let results: Vec<String> = pulls(&sink).into_iter().map(|p| p.2).collect();
    assert_eq!(results.iter().filter(|r| *r == "ok").count(), 1, "{results:?}");
    assert!(results.contains(&"failed:disk_full".to_string()), "{results:?}");
    // Blobs discarded once unpacked: 100 MB each, both fit.
    let (out, sink) = run_toml(&scenario("discard_unpacked_layers = true", "250MB", &two));
    assert!(pulls(&sink).iter().all(|p| p.2 == "ok"), "{:?}", pulls(&sink));
    assert_eq!(out.summary.pods_running, 2);
    // A 100 MB download that unpacks to 300 MB does not fit in 250 MB, discarded blob or not.
    let big = [("z", "[ { size = \"100MB\", uncompressed_size = \"300MB\" } ]")];
    let (_, sink) = run_toml(&scenario("discard_unpacked_layers = true", "250MB", &big));
    assert_eq!(pulls(&sink)[0].2, "failed:disk_full");
}

#[test]
fn image_gc_counts_the_compressed_size_and_frees_the_whole_footprint() {
    // Disk 1000 MB; `a`, `b`, `c` are 100 MB compressed, 200 MB unpacked, blobs kept: 300 MB
    // each, 900 MB used (usage 90 % >= 85 %). `a` and `b` are freed by updates at 100 s (first
    // detected at 300 s). GC at 600 s: toFree = 1000*(100-75)/100 - 100 = 150 MB, counted in
    // the sizes the runtime reports (100 MB each, compressed): deleting `a` counts 100 MB, not
    // enough, so `b` goes too, although `a` alone gave 300 MB back.
    let mut text = base(
        "unlimited",
        "400MB/s",
        "serialize_image_pulls = false\neviction_hard_imagefs_available = 0\nimage_gc_low_threshold_percent = 75",
    )
    .replace("seed = 1\n", "seed = 1\nuntil = \"700s\"\n")
    .replace("unpack_rate = \"unlimited\"", "unpack_rate = \"unlimited\"\nuncompressed_ratio = 2")
    .replace("disk = \"1000GiB\"", "disk = \"1000MB\"\npreloaded = [\"registry.example/tiny:v1\"]");
    for (name, update) in [("a", true), ("b", true), ("c", false)] {
        let update = if update {
            "rollout = { max_surge = 1, max_unavailable = 0 }\n\
             update = { at = \"100s\", image = \"registry.example/tiny:v1\" }\n"
        } else {
            ""
        };
        text += &format!(
            "\n[[image]]\nref = \"registry.example/{name}:v1\"\nlayers = [ {{ size = \"100MB\" }} ]\n\
             \n[[workload]]\nname = \"w{name}\"\nkind = \"deployment\"\nreplicas = 1\n{update}\
             [workload.pod]\ncontainers = [ {{ image = \"registry.example/{name}:v1\" }} ]\n"
        );
    }
    let (out, _) = run_toml(&text);
    assert_eq!((out.gc_images_removed, out.gc_bytes_freed), (2, 600_000_000));
}

#[test]
fn cri_o_decompresses_while_downloading_and_again_at_commit() {
    // A 100 MB layer unpacking to 200 MB, 100 MB/s per connection and of unpack. containerd:
    // download 1 s, unpack 2 s. CRI-O decompresses as the bytes arrive, so the download goes
    // no faster than 100 MB/s of output, 50 MB/s of input: 2 s, then the commit, 2 s.
    let layer = "[ { size = \"100MB\", uncompressed_size = \"200MB\" } ]";
    assert_eq!(one("", layer), 3.0);
    assert_eq!(one("profile = \"cri-o\"", layer), 4.0);
    // Stored uncompressed, the decompression keeps up with the connection: as containerd.
    assert_eq!(one("profile = \"cri-o\"", "[ { size = \"100MB\" } ]"), 2.0);
}

#[test]
fn the_transfer_service_unpacks_layers_in_parallel_up_to_its_limit() {
    // Three 100 MB layers download together (0-1 s, containerd 2.1's three slots). One unpack
    // at a time: 1-2, 2-3, 3-4 s. Two: 1-2 s for two, 2-3 s for the third. Three: 1-2 s.
    let three = "[ { size = \"100MB\" }, { size = \"100MB\" }, { size = \"100MB\" } ]";
    let c21 = |unpacks: u32| format!("profile = \"containerd-2.1\"\nmax_concurrent_unpacks = {unpacks}");
    assert_eq!(one(&c21(1), three), 4.0);
    assert_eq!(one(&c21(2), three), 3.0);
    assert_eq!(one(&c21(3), three), 2.0);
    // Out of layer order: the 100 MB top layer arrives at 1 s, the 300 MB bottom one at 3 s.
    // In order, the top waits for the bottom (3-6 s, then 6-7 s); in parallel it is unpacked
    // at once (1-2 s) and the pull ends with the bottom, at 6 s.
    let uneven = "[ { size = \"300MB\" }, { size = \"100MB\" } ]";
    assert_eq!(one(&c21(1), uneven), 7.0);
    assert_eq!(one(&c21(2), uneven), 6.0);
}
