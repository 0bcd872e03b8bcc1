//! Image GC as the kubelet runs it, hand-computed: `lastUsed` from the detections that saw an
//! image in use, `GarbageCollect` every 5 minutes for the node's life, the `imageMaximumGCAge`
//! pass below the threshold, the eviction manager's `DeleteUnusedImages` under
//! `imagefs.available` pressure, and the `FreeDiskSpaceFailed` count.
//!
//! Every scenario has one node that joins at 0 s (kubelet ticks at 0, 10, 20 s ... and
//! 0, 300, 600 s ...), instant start and unpack, no latency, 400 MB/s per pull, images of one
//! layer, and `tiny:v1` preloaded (no layers: it takes no disk) for rolling updates to switch
//! to, so that an update frees an image without pulling anything (a pod keeps `tiny` in use
//! throughout, or GC would take it: it has no registry to come back from). Whether an image is
//! still on the node at some time shows in pulls.csv: a pod that wants it then pulls it again,
//! or does not.

use super::{base, run_toml, s};
use pullsim::metrics::MemorySink;

/// The node, with `kubelet` lines and image storage `disk`, run until `until` seconds.
fn node(disk: &str, kubelet: &str, until: u64) -> String {
    base("unlimited", "400MB/s", &format!("serialize_image_pulls = false\n{kubelet}"))
        .replace("seed = 1\n", &format!("seed = 1\nuntil = \"{until}s\"\n"))
        .replace(
            "disk = \"1000GiB\"",
            &format!("disk = \"{disk}\"\npreloaded = [\"registry.example/tiny:v1\"]"),
        )
        .replace("[runtime]\n", "[runtime]\ndiscard_unpacked_layers = true\n")
        + &deployment("keep", "tiny", 0, None)
}

fn image(name: &str, mb: u64) -> String {
    format!("\n[[image]]\nref = \"registry.example/{name}:v1\"\nlayers = [ {{ size = \"{mb}MB\" }} ]\n")
}

/// A one-replica Deployment of `image` from `start`, updated to `tiny:v1` at `update`.
fn deployment(name: &str, image: &str, start: u64, update: Option<u64>) -> String {
    let update = update.map_or(String::new(), |u| {
        format!("rollout = {{ max_surge = 1, max_unavailable = 0 }}\nupdate = {{ at = \"{u}s\", image = \"registry.example/tiny:v1\" }}\n")
    });
    format!(
        "\n[[workload]]\nname = \"{name}\"\nkind = \"deployment\"\nreplicas = 1\nstart = \"{start}s\"\n{update}\
         [workload.pod]\ncontainers = [ {{ image = \"registry.example/{image}:v1\" }} ]\n"
    )
}

/// A pod that wants `image` at `at`.
fn late(name: &str, image: &str, at: u64) -> String {
    format!(
        "\n[[workload]]\nname = \"{name}\"\nkind = \"batch\"\ncount = 1\nat = \"{at}s\"\n\
         [workload.pod]\ncontainers = [ {{ image = \"registry.example/{image}:v1\" }} ]\n"
    )
}

/// The (started, finished) seconds of every pull of `image`.
fn pulls_of(sink: &MemorySink, image: &str) -> Vec<(f64, f64)> {
    let full = format!("registry.example/{image}:v1");
    sink.pulls
        .iter()
        .filter(|p| p.image == full)
        .map(|p| (s(p.started_s.expect("started")), s(p.finished_s.expect("finished"))))
        .collect()
}

const NO_EVICTION: &str = "eviction_hard_imagefs_available = 0";

#[test]
fn an_image_used_for_an_hour_is_not_collected_before_an_older_one() {
    // Disk 1300 MB, no eviction threshold. `long` runs from 1 s until its update at 3590 s: the
    // detections at 300, 600, ..., 3300 s saw it in use, so its lastUsed is 3300 s. `old` runs
    // from 121 s until its update at 400 s: seen in use only at 300 s, lastUsed 300 s. (When
    // each container started, 1 s and 121 s, would put `long` first.) `fill` arrives at
    // 3595 s: 1200 MB used, usage 100 - floor(100*100/1300) = 93 % ≥ 85 %. GC at 3600 s:
    // toFree = 1300*20/100 - 100 = 160 MB; candidates by lastUsed: `old` (300 s), then `long`
    // (3300 s); `old` alone (400 MB) is enough. At 3700 s two pods want both: `old` is pulled
    // again, `long` is a cache hit.
    let text = node("1300MB", NO_EVICTION, 3800)
        + &image("long", 400)
        + &image("old", 400)
        + &image("fill", 400)
        + &deployment("lg", "long", 0, Some(3590))
        + &deployment("od", "old", 120, Some(400))
        + &deployment("fl", "fill", 3595, None)
        + &late("want-long", "long", 3700)
        + &late("want-old", "old", 3700);
    let (out, sink) = run_toml(&text);
    assert_eq!(pulls_of(&sink, "long"), vec![(0.0, 1.0)]);
    assert_eq!(pulls_of(&sink, "old"), vec![(120.0, 121.0), (3700.0, 3701.0)]);
    assert_eq!((out.gc_images_removed, out.gc_bytes_freed), (1, 400_000_000));
    assert_eq!(out.gc_free_space_failed, 0);
}

/// Images `a` (400 MB) and `b` (500 MB) in use from the start on a 1000 MB disk (usage
/// 100 - floor(100*100/1000) = 90 %); `a`'s Deployment is updated at `update` (freeing `a`);
/// a pod wants `a` again at `again`.
fn freed_by_update(kubelet: &str, update: u64, again: u64, until: u64) -> String {
    node("1000MB", kubelet, until)
        + &image("a", 400)
        + &image("b", 500)
        + &deployment("wa", "a", 0, Some(update))
        + &deployment("wb", "b", 0, None)
        + &late("again", "a", again)
}

#[test]
fn an_image_freed_by_a_rolling_update_is_collected_at_the_next_tick_without_a_pull() {
    // No eviction threshold. Usage is 90 % from 0 s, but both images are in use: the GC runs
    // at 300, 600 and 900 s free nothing (toFree = 1000*20/100 - 100 = 100 MB) and each
    // records FreeDiskSpaceFailed. The update at 1000 s frees `a` (lastUsed 900 s, first
    // detected 300 s); the next run, at 1200 s, removes it. No pull happens between 1000 and
    // 1200 s: the kubelet's 5-minute loop does it on its own.
    let (out, sink) = run_toml(&freed_by_update(NO_EVICTION, 1000, 1250, 1400));
    assert_eq!(pulls_of(&sink, "a"), vec![(0.0, 1.0), (1250.0, 1251.0)], "collected by 1250 s");
    assert_eq!(pulls_of(&sink, "b"), vec![(0.0, 1.25)]);
    assert_eq!((out.gc_images_removed, out.gc_bytes_freed), (1, 400_000_000));
    // 300, 600, 900 s. (After the re-pull at 1250 s the next run would be at 1500 s.)
    assert_eq!(out.gc_free_space_failed, 3);
    // Wanted at 1150 s, `a` is still there: a cache hit, and in use again at 1200 s, which
    // records a fourth shortfall.
    let (out, sink) = run_toml(&freed_by_update(NO_EVICTION, 1000, 1150, 1400));
    assert_eq!(pulls_of(&sink, "a"), vec![(0.0, 1.0)]);
    assert_eq!((out.gc_images_removed, out.gc_free_space_failed), (0, 4));
}

#[test]
fn the_shortfall_is_reported_in_summary_json_after_the_gc_figures() {
    let text = freed_by_update(NO_EVICTION, 1000, 1250, 1400);
    let scn = pullsim::scenario::load(&text, "t.toml", &[]).expect("valid");
    let files = pullsim::report::render_in_memory(&scn, scn.seed);
    let summary = &files.iter().find(|(name, _)| name == "summary.json").expect("summary.json").1;
    let text = String::from_utf8(summary.clone()).expect("utf-8");
    let v: serde_json::Value = serde_json::from_str(&text).expect("json");
    assert_eq!(v["gc_free_space_failed"], 3);
    let at = |k: &str| text.find(&format!("\"{k}\"")).unwrap_or_else(|| panic!("{k} in {text}"));
    assert!(at("gc_bytes_freed") < at("gc_free_space_failed") && at("gc_free_space_failed") < at("rollouts"));
}

/// `a` (400 MB) used by a Deployment updated at `update`, nothing else on a roomy disk;
/// `imageMaximumGCAge` 10 minutes; pods want `a` again at each of `again`.
fn aging(update: u64, again: &[u64]) -> String {
    let mut text = node("100GB", "image_maximum_gc_age = \"10m\"", 2000)
        + &image("a", 400)
        + &deployment("wa", "a", 0, Some(update));
    for (k, at) in again.iter().enumerate() {
        text += &late(&format!("again-{k}"), "a", *at);
    }
    text
}

#[test]
fn the_max_age_pass_runs_below_the_threshold() {
    // 0.4 % used: the threshold pass never runs. `a` is in use from 1 s to 100 s: no
    // detection saw it (0 s came before, 300 s after), so it was never used: the age pass
    // removes it at the first run more than 10 minutes after the kubelet started, 900 s (at
    // 600 s, 600 - 0 is not more than 600).
    let (out, sink) = run_toml(&aging(100, &[890]));
    assert_eq!(pulls_of(&sink, "a"), vec![(0.0, 1.0)], "still there at 890 s");
    assert_eq!(out.gc_images_removed, 0, "and in use again at 900 s");
    let (out, sink) = run_toml(&aging(100, &[910]));
    assert_eq!(pulls_of(&sink, "a"), vec![(0.0, 1.0), (910.0, 911.0)], "collected at 900 s");
    assert_eq!(out.gc_images_removed, 1);
    // In use until 700 s: last seen in use at 600 s, so it goes at the first run more than
    // 10 minutes after that: 1500 s (1200 - 600 is not more than 600).
    let (_, sink) = run_toml(&aging(700, &[1490]));
    assert_eq!(pulls_of(&sink, "a"), vec![(0.0, 1.0)]);
    let (_, sink) = run_toml(&aging(700, &[1510]));
    assert_eq!(pulls_of(&sink, "a"), vec![(0.0, 1.0), (1510.0, 1511.0)]);
}

#[test]
fn eviction_deletes_unused_images_once_past_the_minimum_age() {
    // The default threshold, imagefs.available < 15 %: 1e9 * float32(0.15) = 150000005
    // bytes. From 0 s 900 MB are used (available 100 MB): the threshold is met at every
    // eviction check from 10 s, and each of them detects images, so `a` (pulled at 1 s) is
    // first detected at 10 s. The update at 60 s frees `a`; the first check at which it is
    // 2 minutes past its first detection, 130 s, deletes it (`DeleteUnusedImages`), where
    // the periodic GC alone would wait for 600 s (first detected at 300 s).
    let (out, sink) = run_toml(&freed_by_update("", 60, 125, 200));
    assert_eq!(pulls_of(&sink, "a"), vec![(0.0, 1.0)], "still there at 125 s");
    assert_eq!(out.gc_images_removed, 0);
    let (out, sink) = run_toml(&freed_by_update("", 60, 135, 200));
    assert_eq!(pulls_of(&sink, "a"), vec![(0.0, 1.0), (135.0, 136.0)], "deleted at 130 s");
    assert_eq!(out.gc_images_removed, 1);
    let (out, sink) = run_toml(&freed_by_update(NO_EVICTION, 60, 595, 700));
    assert_eq!(pulls_of(&sink, "a"), vec![(0.0, 1.0)]);
    assert_eq!(out.gc_images_removed, 0);
    let (out, sink) = run_toml(&freed_by_update(NO_EVICTION, 60, 605, 700));
    assert_eq!(pulls_of(&sink, "a"), vec![(0.0, 1.0), (605.0, 606.0)]);
    assert_eq!(out.gc_images_removed, 1);
    // A threshold as a size: 50 MB is never reached (100 MB stay available): no deletion.
    let (out, _) = run_toml(&freed_by_update("eviction_hard_imagefs_available = \"50MB\"\nimage_gc_high_threshold_percent = 100\nimage_gc_low_threshold_percent = 99", 60, 135, 700));
    assert_eq!(out.gc_images_removed, 0);
}

#[test]
fn eviction_deletes_every_unused_image_where_gc_stops_at_the_low_threshold() {
    // Disk 1300 MB: `a` and `o` (400 MB each) freed by updates at 100 s, `b` (400 MB) kept.
    // Without a threshold the GC at 600 s (both first detected at 300 s) needs toFree =
    // 1300*20/100 - 100 = 160 MB and removes only one of them (`a`, first in image order on
    // a tie). With the default threshold (195 MB; 100 MB available) the eviction check at
    // 130 s deletes both (first detected at 10 s).
    let text = |kubelet: &str| {
        node("1300MB", kubelet, 700)
            + &image("a", 400)
            + &image("o", 400)
            + &image("b", 400)
            + &deployment("wa", "a", 0, Some(100))
            + &deployment("wo", "o", 0, Some(100))
            + &deployment("wb", "b", 0, None)
    };
    let (out, _) = run_toml(&text(NO_EVICTION));
    assert_eq!((out.gc_images_removed, out.gc_bytes_freed), (1, 400_000_000));
    let (out, _) = run_toml(&text(""));
    assert_eq!((out.gc_images_removed, out.gc_bytes_freed), (2, 800_000_000));
}
