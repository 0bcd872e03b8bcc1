//! Hand-computed unit tests for the rules without upstream vectors: GC plan, ImageLocality,
//! token bucket, glob/URL helpers, Go duration formatting, record merging. Each expected value
//! is worked out in the comment next to it.

use crate::k8s::config::go_duration_string;
use crate::k8s::credentials::{glob_match, normalize_key, urls_match_str, BadPattern};
use crate::k8s::gc::{plan_gc, plan_gc_with, usage_percent, GcPolicy, ImageRecord};
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

#[test]
fn gc_threshold_pass_lru() {
    // usage 90 >= 85; toFree = 1000*20/100 - 100 = 100. Order: A (never used), C (5 s), B (10 s);
    // D in use and E pinned are never candidates. A (60) < 100, A+C = 130 >= 100: stop.
    let p = plan_gc(&base_records(), &policy(0), 1000, 100, t(1000));
    assert_eq!(p.remove, vec!["A", "C"]);
    assert_eq!((p.bytes_to_free, p.bytes_freed, p.insufficient), (100, 130, false));
    assert!(p.threshold_pass_ran);
}

#[test]
fn gc_min_age_and_used_now_are_skipped() {
    // A first seen 60 s ago (< MinAge 120 s): skipped. C used at `now`: skipped (used during
    // this run). B (50) alone: 50 < 100 → insufficient.
    let mut r = base_records();
    r[1].first_detected = t(940);
    r[3].last_used = Some(t(1000));
    let p = plan_gc(&r, &policy(0), 1000, 100, t(1000));
    assert_eq!(p.remove, vec!["B"]);
    assert_eq!((p.bytes_to_free, p.bytes_freed, p.insufficient), (100, 50, true));
}

#[test]
fn gc_below_high_threshold_does_nothing() {
    // available 200 → usage 80 < 85.
    let p = plan_gc(&base_records(), &policy(0), 1000, 200, t(1000));
    assert!(p.remove.is_empty() && !p.threshold_pass_ran && !p.insufficient);
}

#[test]
fn gc_age_pass() {
    // MaxAge 600 s, loop started at 0, now 1000 s: 1000 > 600 → age pass. A never used and C
    // (used at 5 s, 995 s ago) are older than 600 s; B last used at 500 s (500 s ago) is not.
    let mut r = base_records();
    r[0].last_used = Some(t(500));
    let p = plan_gc_with(&r, &policy(600), 1000, 900, t(1000), SimTime::ZERO);
    assert_eq!(p.remove, vec!["A", "C"]);
    assert_eq!(p.removed_by_age, 2);
    // Not yet MaxAge after the loop started (1000 - 500 = 500 <= 600): no age pass.
    let p = plan_gc_with(&r, &policy(600), 1000, 900, t(1000), t(500));
    assert!(p.remove.is_empty());
}

#[test]
fn gc_age_pass_frees_space_for_threshold_pass() {
    // Age pass removes A (never), C (995 s) and B (990 s): available 100 + 180 = 280 →
    // usage 100 - 28 = 72 < 85, so no threshold pass.
    let p = plan_gc_with(&base_records(), &policy(600), 1000, 100, t(1000), SimTime::ZERO);
    assert_eq!(p.remove, vec!["A", "C", "B"]);
    assert_eq!(p.removed_by_age, 3);
    assert!(!p.threshold_pass_ran);
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
