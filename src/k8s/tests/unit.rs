//! Hand-computed unit tests for the rules without upstream vectors: image GC, the eviction
//! threshold, ImageLocality,
//! token bucket, glob/URL helpers, Go duration formatting, record merging. Each expected value
//! is worked out in the comment next to it.

use crate::k8s::config::go_duration_string;
use crate::k8s::credentials::{glob_match, normalize_key, urls_match_str, BadPattern};
use crate::k8s::eviction::{
    parse_threshold_statement, threshold_met, threshold_quantity, ThresholdInput, ThresholdValue,
};
use crate::k8s::gc::{
    delete_unused_images, garbage_collect, high_threshold_available_below, usage_percent, GcPolicy,
    ImageRecord, ImageService,
};
use crate::k8s::scheduling::{image_locality_score, normalized_image_name, PresentImage, MB};
use crate::k8s::throttle::TokenBucket;
use crate::k8s::verification::{
    pulled_record_key, CredentialMapping, CredentialSet, PullCredential, PulledRecord, SecretCoords,
};
use crate::time::{SimDuration, SimTime};

fn t(s: u64) -> SimTime {
    SimTime(s * 1_000_000_000)
}

fn rec(id: &'static str, size: u64, first: u64, last: Option<u64>) -> ImageRecord<&'static str> {
    ImageRecord {
        id,
        size_bytes: size,
        first_detected: t(first),
        last_used: last.map(t),
        in_use: false,
        pinned: false,
    }
}

fn policy(max_age_s: u64) -> GcPolicy {
    GcPolicy {
        high_threshold_percent: 85,
        low_threshold_percent: 80,
        min_age: SimDuration::from_secs(120),
        max_age: SimDuration::from_secs(max_age_s),
    }
}

fn base_records() -> Vec<ImageRecord<&'static str>> {
    let mut d = rec("D", 500, 0, Some(1));
    d.in_use = true;
    let mut e = rec("E", 500, 0, None);
    e.pinned = true;
    vec![rec("B", 50, 0, Some(10)), rec("A", 60, 0, None), d, rec("C", 70, 0, Some(5)), e]
}

#[test]
fn gc_usage_percent() {
    // 100 - floor(100*100/1000) = 90; 100 - floor(99900/1000) = 1; 100 - floor(100/3) = 67.
    assert_eq!(usage_percent(1000, 100), 90);
    assert_eq!(usage_percent(1000, 999), 1);
    assert_eq!(usage_percent(3, 1), 67);
    // available clamped to capacity.
    assert_eq!(usage_percent(1000, 5000), 0);
}

/// An image filesystem where removing an image frees its whole size (no shared layers).
struct Fs {
    capacity: u64,
    available: u64,
    sizes: Vec<(&'static str, u64)>,
    removed: Vec<&'static str>,
}

impl Fs {
    fn new(capacity: u64, available: u64) -> Fs {
        let sizes = base_records().iter().map(|r| (r.id, r.size_bytes)).collect();
        Fs { capacity, available, sizes, removed: Vec::new() }
    }
}

impl ImageService<&'static str> for Fs {
    fn image_fs_stats(&mut self) -> (u64, u64) {
        (self.capacity, self.available)
    }
    fn remove_image(&mut self, id: &&'static str) {
        self.available += self.sizes.iter().find(|(i, _)| i == id).expect("known").1;
        self.removed.push(id);
    }
}

#[test]
fn gc_threshold_pass_lru() {
    // usage 90 >= 85; toFree = 1000*20/100 - 100 = 100. Order: A (never used), C (5 s), B (10 s);
    // D in use and E pinned are never candidates. A (60) < 100, A+C = 130 >= 100: stop.
    let mut fs = Fs::new(1000, 100);
    let out = garbage_collect(&base_records(), &policy(0), t(1000), SimTime::ZERO, &mut fs);
    assert_eq!(fs.removed, vec!["A", "C"]);
    assert_eq!((out.bytes_to_free, out.bytes_freed, out.free_space_failed), (100, 130, false));
    assert_eq!((out.removed_by_age, out.removed_by_space), (0, 2));
    assert!(out.threshold_pass_ran);
}

#[test]
fn gc_min_age_and_used_now_are_skipped() {
    // A first seen 60 s ago (< MinAge 120 s): skipped. C used at `now`: skipped (used during
    // this run). B (50) alone: 50 < 100 → FreeDiskSpaceFailed.
    let mut r = base_records();
    r[1].first_detected = t(940);
    r[3].last_used = Some(t(1000));
    let mut fs = Fs::new(1000, 100);
    let out = garbage_collect(&r, &policy(0), t(1000), SimTime::ZERO, &mut fs);
    assert_eq!(fs.removed, vec!["B"]);
    assert_eq!((out.bytes_to_free, out.bytes_freed, out.free_space_failed), (100, 50, true));
    // Exactly MinAge old counts as old enough (`freeTime - firstDetected < MinAge` skips).
    r[1].first_detected = t(880);
    let mut fs = Fs::new(1000, 100);
    garbage_collect(&r, &policy(0), t(1000), SimTime::ZERO, &mut fs);
    assert_eq!(fs.removed, vec!["A", "B"]);
}

#[test]
fn gc_below_high_threshold_does_nothing() {
    // available 200 → usage 80 < 85.
    let mut fs = Fs::new(1000, 200);
    let out = garbage_collect(&base_records(), &policy(0), t(1000), SimTime::ZERO, &mut fs);
    assert!(fs.removed.is_empty() && !out.threshold_pass_ran && !out.free_space_failed);
}

#[test]
fn gc_age_pass() {
    // MaxAge 600 s, loop started at 0, now 1000 s: 1000 > 600 → age pass. A never used and C
    // (used at 5 s, 995 s ago) are older than 600 s; B last used at 500 s (500 s ago) is not.
    // Below the high threshold (available 900): the age pass runs all the same.
    let mut r = base_records();
    r[0].last_used = Some(t(500));
    let mut fs = Fs::new(1000, 900);
    let out = garbage_collect(&r, &policy(600), t(1000), SimTime::ZERO, &mut fs);
    assert_eq!(fs.removed, vec!["A", "C"]);
    assert_eq!((out.removed_by_age, out.threshold_pass_ran), (2, false));
    // Not yet MaxAge after the loop started (1000 - 400 = 600, not > 600): no age pass.
    let mut fs = Fs::new(1000, 900);
    garbage_collect(&r, &policy(600), t(1000), t(400), &mut fs);
    assert!(fs.removed.is_empty());
}

#[test]
fn gc_age_pass_frees_space_for_threshold_pass() {
    // Age pass removes A (never), C (995 s) and B (990 s); the stats read after it show
    // available 100 + 180 = 280 → usage 100 - 28 = 72 < 85, so no threshold pass.
    let mut fs = Fs::new(1000, 100);
    let out = garbage_collect(&base_records(), &policy(600), t(1000), SimTime::ZERO, &mut fs);
    assert_eq!(fs.removed, vec!["A", "C", "B"]);
    assert_eq!(out.removed_by_age, 3);
    assert!(!out.threshold_pass_ran);
    // The stats are read again: had the removals freed nothing (layers shared with D), usage
    // is still 90 % and the threshold pass runs on what is left, which is nothing.
    struct Shared(u64);
    impl ImageService<&'static str> for Shared {
        fn image_fs_stats(&mut self) -> (u64, u64) {
            (1000, self.0)
        }
        fn remove_image(&mut self, _: &&'static str) {}
    }
    let out = garbage_collect(&base_records(), &policy(600), t(1000), SimTime::ZERO, &mut Shared(100));
    assert!(out.threshold_pass_ran && out.free_space_failed);
    assert_eq!((out.bytes_to_free, out.bytes_freed), (100, 0));
}

#[test]
fn delete_unused_images_takes_every_unused_image_past_min_age() {
    // DeleteUnusedImages: freeSpace(MaxInt64) over the candidates. A, B, C go whatever the
    // usage (available 900: 10 %); D in use and E pinned stay; an image younger than MinAge
    // (C, first seen 100 s ago) stays.
    let mut fs = Fs::new(1000, 900);
    assert_eq!(delete_unused_images(&base_records(), &policy(0), t(1000), &mut fs), 3);
    assert_eq!(fs.removed, vec!["A", "C", "B"]);
    let mut r = base_records();
    r[3].first_detected = t(900);
    let mut fs = Fs::new(1000, 900);
    assert_eq!(delete_unused_images(&r, &policy(0), t(1000), &mut fs), 2);
    assert_eq!(fs.removed, vec!["A", "B"]);
}

#[test]
fn gc_loop_is_stubbed_at_100_percent_without_max_age() {
    let mut p = policy(0);
    assert!(p.gc_loop_starts());
    p.high_threshold_percent = 100;
    assert!(!p.gc_loop_starts());
    p.max_age = SimDuration::from_secs(600);
    assert!(p.gc_loop_starts());
}

#[test]
fn high_threshold_as_available_bytes_agrees_with_usage_percent() {
    // 1000 bytes, High 85: usage >= 85 iff floor(a*100/1000) <= 15 iff a < 160.
    assert_eq!(high_threshold_available_below(1000, 85), 160);
    for capacity in [1u64, 3, 7, 100, 101, 997, 1000, 1001, 12_345] {
        for high in [0u8, 1, 50, 84, 85, 99, 100] {
            let below = high_threshold_available_below(capacity, high);
            for available in 0..=capacity {
                assert_eq!(
                    available < below,
                    usage_percent(capacity, available) >= u64::from(high),
                    "capacity {capacity} high {high} available {available}"
                );
            }
        }
    }
}

#[test]
fn eviction_threshold_as_the_kubelet_reads_it() {
    let parse = |s: &str| parse_threshold_statement("imagefs.available", &ThresholdInput::Percent(s.into()));
    // "15%": float32(15)/100 = 0.150000006; of 9.5 GB: int64(9.5e9 * 0.15000000596046448)
    // = 1425000056 (not 1425000000).
    let v = parse("15%").unwrap().unwrap();
    assert_eq!(v, ThresholdValue::Percentage(0.15));
    assert_eq!(threshold_quantity(v, 9_500_000_000), 1_425_000_056);
    assert_eq!(threshold_quantity(v, 100), 15);
    // Met when the threshold is greater than what is available.
    assert!(threshold_met(15, 14) && !threshold_met(15, 15));
    // "0%" and "100%" are ignored (no threshold); "0.0%" is not, and reads as 0.
    assert_eq!(parse("0%"), Ok(None));
    assert_eq!(parse("100%"), Ok(None));
    assert_eq!(parse("0.0%"), Ok(Some(ThresholdValue::Percentage(0.0))));
    assert_eq!(
        parse("150%"),
        Err("eviction percentage threshold imagefs.available must be <= 100%: 150%".into())
    );
    assert_eq!(
        parse("-5%"),
        Err("eviction percentage threshold imagefs.available must be >= 0%: -5%".into())
    );
    assert_eq!(parse("x%"), Err("strconv.ParseFloat: parsing \"x\": invalid syntax".into()));
    // TrimRight drops every trailing %.
    assert_eq!(parse("10%%"), Ok(Some(ThresholdValue::Percentage(0.1))));
    let bytes = |b| parse_threshold_statement("imagefs.available", &ThresholdInput::Bytes(b));
    assert_eq!(bytes(5), Ok(Some(ThresholdValue::Quantity(5))));
    assert_eq!(bytes(0), Err("eviction threshold imagefs.available must be positive: 0".into()));
}

#[test]
fn image_locality_hand_computed() {
    let img = |mb: u64, on: u32| PresentImage { size_bytes: mb * MB as u64, n_nodes_with_image: on };
    // Nothing present: clamped to 23 MB → 0.
    assert_eq!(image_locality_score(&[], 3, 1), 0);
    // 500 MB on 1/1 nodes: 100*(500-23)/(1000-23) = 47700/977 = 48.
    assert_eq!(image_locality_score(&[img(500, 1)], 1, 1), 48);
    // Same on 1/2 nodes: 250 MB → 22700/977 = 23.
    assert_eq!(image_locality_score(&[img(500, 1)], 2, 1), 23);
    // 400 MB on 5/10 nodes: 200 MB → 17700/977 = 18.
    assert_eq!(image_locality_score(&[img(400, 5)], 10, 1), 18);
    // Two containers: max 2000 MB; 1500 MB everywhere → 100*1477/1977 = 74.
    assert_eq!(image_locality_score(&[img(1500, 3)], 3, 2), 74);
    // Above max → 100.
    assert_eq!(image_locality_score(&[img(1200, 1)], 1, 1), 100);
    // Two images summed: 300 + 300 = 600 MB, 1 container → 100*577/977 = 59.
    assert_eq!(image_locality_score(&[img(300, 2), img(300, 2)], 2, 1), 59);
    assert_eq!(normalized_image_name("nginx"), "nginx:latest");
    assert_eq!(normalized_image_name("localhost:5000/nginx"), "localhost:5000/nginx:latest");
    assert_eq!(normalized_image_name("nginx:1.25"), "nginx:1.25");
}

#[test]
fn token_bucket_try_accept() {
    // qps 5, burst 10: starts full, 10 admitted at t=0, the 11th refused.
    let mut b = TokenBucket::new(5, 10);
    for _ in 0..10 {
        assert!(b.try_accept(SimTime::ZERO));
    }
    assert!(!b.try_accept(SimTime::ZERO));
    // 199 ms later: 0.995 token → refused; at 200 ms exactly one token.
    assert!(!b.try_accept(SimTime(199_000_000)));
    assert!(b.try_accept(SimTime(200_000_000)));
    assert!(!b.try_accept(SimTime(200_000_000)));
    // Refill caps at burst: after an hour, 10 then refused.
    let later = SimTime(3600 * 1_000_000_000);
    for _ in 0..10 {
        assert!(b.try_accept(later));
    }
    assert!(!b.try_accept(later));
    // qps 0 = no throttle; burst 0 admits nothing, ever.
    let mut none = TokenBucket::new(0, 0);
    assert!(none.try_accept(SimTime::ZERO));
    let mut zero = TokenBucket::new(2000, 0);
    assert!(!zero.try_accept(SimTime::ZERO));
    assert!(!zero.try_accept(later));
}

#[test]
fn go_filepath_match() {
    assert_eq!(glob_match("*", "abc"), Ok(true));
    assert_eq!(glob_match("a?c", "abc"), Ok(true));
    assert_eq!(glob_match("[a-c]x", "bx"), Ok(true));
    assert_eq!(glob_match("[^a-c]x", "bx"), Ok(false));
    assert_eq!(glob_match("[^a-c]x", "dx"), Ok(true));
    assert_eq!(glob_match("\\*", "*"), Ok(true));
    assert_eq!(glob_match("\\*", "a"), Ok(false));
    assert_eq!(glob_match("*-good", "prefix-good"), Ok(true));
    assert_eq!(glob_match("[", "a"), Err(BadPattern));
    assert_eq!(glob_match("[]a]", "a"), Err(BadPattern));
    assert_eq!(glob_match("a\\", "a"), Err(BadPattern));
    // `*` never crosses `/`.
    assert_eq!(glob_match("*", "a/b"), Ok(false));
}

#[test]
fn url_helpers() {
    assert_eq!(normalize_key("https://index.docker.io/v1/").as_deref(), Some("index.docker.io"));
    assert_eq!(normalize_key("quay.io/v2/coreos").as_deref(), Some("quay.io/coreos"));
    assert_eq!(normalize_key("http://localhost:5000/").as_deref(), Some("localhost:5000"));
    // Invalid port → url.Parse error → entry ignored.
    assert_eq!(normalize_key("registry.io:abc"), None);
    assert_eq!(normalize_key("bad host"), None);
    // Ports must be equal, missing port is "".
    assert!(!urls_match_str("registry.io", "registry.io:5000/app"));
    assert!(urls_match_str("registry.io:5000", "registry.io:5000/app"));
    // Path is a string prefix.
    assert!(urls_match_str("bar.example.com/pong", "bar.example.com/pongz"));
}

#[test]
fn go_durations() {
    assert_eq!(go_duration_string(-1), "-1ns");
    assert_eq!(go_duration_string(1), "1ns");
    assert_eq!(go_duration_string(1500), "1.5µs");
    assert_eq!(go_duration_string(2_000_000), "2ms");
    assert_eq!(go_duration_string(1_500_000_000), "1.5s");
    assert_eq!(go_duration_string(120_000_000_000), "2m0s");
    assert_eq!(go_duration_string(3_600_000_000_000), "1h0m0s");
    assert_eq!(go_duration_string(0), "0s");
}

#[test]
fn pulled_record_merge_rules() {
    let sec = |uid: &str, hash: &str| SecretCoords {
        uid: uid.into(),
        namespace: "ns".into(),
        name: "s".into(),
        credential_hash: hash.into(),
    };
    let mut r = PulledRecord::default();
    r.record_pull("docker.io/a/b:1", Some(sec("u1", "h1")));
    r.record_pull("docker.io/a/b:2", Some(sec("u1", "h2")));
    r.record_pull(
        "docker.io/a/b@sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        Some(sec("u0", "h0")),
    );
    let set = &r.credential_mapping["docker.io/a/b"];
    // Merged by coordinates with the newest hash, sorted by (ns, name, uid).
    assert_eq!(set.secrets, vec![sec("u0", "h0"), sec("u1", "h2")]);
    // NodePodsAccessible wins and clears; later secrets are not added.
    r.record_pull_credential("docker.io/a/b", PullCredential::NodeAccessible);
    r.record_pull("docker.io/a/b", Some(sec("u3", "h3")));
    let set = &r.credential_mapping["docker.io/a/b"];
    assert!(set.node_pods_accessible && set.secrets.is_empty());
    // The key derived once (`pulled_record_key`) lands in the same entry as the image string.
    // (Newest trimImageTagDigest: no Docker Hub normalisation, so `b` is its own name.)
    r.record_pull_at(&pulled_record_key("b:7"), Some(sec("u4", "h4")));
    r.record_pull(
        "b@sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        Some(sec("u5", "h5")),
    );
    assert_eq!(r.credential_mapping["b"].secrets, vec![sec("u4", "h4"), sec("u5", "h5")]);
    assert_eq!(r.credential_mapping.len(), 2);
}

#[test]
fn a_pull_may_change_a_record_until_its_name_is_node_accessible() {
    let key: std::sync::Arc<str> = "docker.io/a/b".into();
    let secret = SecretCoords {
        uid: "u".into(),
        namespace: "ns".into(),
        name: "s".into(),
        credential_hash: "h".into(),
    };
    let mut r = PulledRecord::default();
    assert!(r.pull_may_change(&key));
    r.record_pull_shared(&key, Some(secret.clone()));
    assert!(r.pull_may_change(&key), "a secret-only entry still takes more credentials");
    r.record_pull_shared(&key, None);
    assert!(!r.pull_may_change(&key));
    // Indeed nothing changes it any more.
    let before = r.clone();
    r.record_pull_shared(&key, Some(secret));
    assert_eq!(r, before);
    assert!(r.pull_may_change("docker.io/other"));
}

#[test]
fn credential_mapping_stays_sorted_by_name() {
    let mut m = CredentialMapping::default();
    let set = |node| CredentialSet { node_pods_accessible: node, ..Default::default() };
    assert_eq!(m.insert("quay.io/z".into(), set(false)), None);
    assert_eq!(m.insert("docker.io/a".into(), set(false)), None);
    m.entry_or_default("ghcr.io/m").node_pods_accessible = true;
    assert_eq!(m.insert("docker.io/a".into(), set(true)), Some(set(false)));
    let names: Vec<&str> = m.iter().map(|(k, _)| k).collect();
    assert_eq!(names, ["docker.io/a", "ghcr.io/m", "quay.io/z"]);
    assert!(m["ghcr.io/m"].node_pods_accessible && m["docker.io/a"].node_pods_accessible);
    assert_eq!((m.len(), m.get("nope")), (3, None));
    assert!(!m.get_mut("quay.io/z").expect("present").node_pods_accessible);
}
