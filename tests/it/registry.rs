//! What a registry sees and answers, hand-computed: each prelude request decided when it is
//! sent (an outage that starts mid-prelude), the HEAD that resolves a tag (an `Always` pull of
//! a present image costs nothing else, and no Docker Hub pull), containerd's immediate 429
//! retries, registry failures without the kubelet's own rejections, and bytes still in flight
//! at the horizon.

use crate::{base, pull_spans, run_toml, s, spans};

/// One node, one registry with `latency` and `extra` registry keys, one 100 MB image, one
/// deployment of `replicas` with `container`.
fn scenario(
    latency: &str,
    extra: &str,
    kubelet: &str,
    replicas: u32,
    container: &str,
    until: &str,
) -> String {
    format!(
        r#"
[simulation]
name = "r"
until = "{until}"
[kubelet]
registry_pull_qps = 0
{kubelet}
[[node_pool]]
name = "pool"
count = 1
preloaded = ["registry.example/pre:1"]
[[registry]]
host = "registry.example"
per_connection = "100MB/s"
latency = "{latency}"
{extra}
[[image]]
ref = "registry.example/app:1"
layers = [ {{ size = "100MB" }} ]
[[image]]
ref = "registry.example/other:1"
layers = [ {{ size = "100MB" }} ]
[[image]]
ref = "registry.example/pre:1"
layers = [ {{ size = "1MB" }} ]
[[workload]]
name = "w"
kind = "deployment"
replicas = {replicas}
[workload.pod]
containers = [ {container} ]
"#
    )
}

const APP: &str = r#"{ image = "registry.example/app:1" }"#;

#[test]
fn an_outage_that_starts_during_the_prelude_fails_the_request_in_flight() {
    // 100 ms round trips: HEAD 0-0.1 s, manifest GET sent at 0.1 s. The outage starts at
    // 0.15 s, while the GET is in flight: the attempt fails then. (Decided at the start, as
    // before, the registry was up and the pull went through.)
    let text = scenario("100ms", "outages = [ { from = \"150ms\", to = \"1h\" } ]", "", 1, APP, "10s");
    let (out, sink) = run_toml(&text);
    assert_eq!(sink.pulls[0].result, "failed:outage");
    assert_eq!(s(sink.pulls[0].finished_s.unwrap()), 0.15);
    assert_eq!(out.registries[0].failures, 1);
    assert_eq!(out.registries[0].manifest_heads, 1);
    assert_eq!(out.registries[0].manifest_requests, 0, "the GET never got an answer");
}

#[test]
fn a_request_sent_during_an_outage_fails_after_its_round_trip() {
    // The outage covers 0-50 ms: the HEAD sent at 0 gets its error at 0.1 s.
    let text = scenario("100ms", "outages = [ { from = \"0s\", to = \"50ms\" } ]", "", 1, APP, "10s");
    let (_, sink) = run_toml(&text);
    assert_eq!(sink.pulls[0].result, "failed:outage");
    assert_eq!(s(sink.pulls[0].finished_s.unwrap()), 0.1);
    // The back-off retry (10 s) is past the horizon here; with a later horizon it succeeds.
}

#[test]
fn a_blob_request_sent_during_an_outage_fails_even_if_the_outage_ends_before_its_answer() {
    // 100 ms round trips: HEAD, the index GET, the platform manifest GET and the config GET
    // take 0-0.4 s; the blob request is sent at 0.4 s, inside the outage 0.4-0.45 s, and its
    // error comes back with the round trip, at 0.5 s, after the outage ended.
    let text = scenario("100ms", "outages = [ { from = \"400ms\", to = \"450ms\" } ]", "", 1, APP, "5s");
    let (_, sink) = run_toml(&text);
    assert_eq!(sink.pulls[0].result, "failed:outage");
    assert_eq!(s(sink.pulls[0].finished_s.unwrap()), 0.5);
    assert_eq!(sink.pulls[0].bytes, 0);
    // An outage that starts while the blob request is in flight fails it when it starts; one
    // that starts while the config GET is in flight fails that.
    let text = scenario("100ms", "outages = [ { from = \"450ms\", to = \"460ms\" } ]", "", 1, APP, "5s");
    let (_, sink) = run_toml(&text);
    assert_eq!(sink.pulls[0].result, "failed:outage", "in flight when it started");
    assert_eq!(s(sink.pulls[0].finished_s.unwrap()), 0.45);
    let text = scenario("100ms", "outages = [ { from = \"390ms\", to = \"400ms\" } ]", "", 1, APP, "5s");
    let (_, sink) = run_toml(&text);
    assert_eq!(sink.pulls[0].result, "failed:outage", "the config GET in flight");
    assert_eq!(s(sink.pulls[0].finished_s.unwrap()), 0.39);
}

#[test]
fn always_on_a_present_image_costs_one_head_and_no_counted_pull() {
    // pre:1 is preloaded. Two pods with pull_policy Always: each pull is a HEAD (10 ms) and
    // nothing else; the rate limit of 1 manifest GET is never touched.
    let text = scenario(
        "10ms",
        "rate_limit = { pulls = 1, per = \"6h\", scope = \"node\" }",
        "serialize_image_pulls = false",
        2,
        r#"{ image = "registry.example/pre:1", pull_policy = "Always" }"#,
        "1h",
    );
    let (out, sink) = run_toml(&text);
    assert_eq!(out.summary.pods_running, 2);
    assert!(sink.pulls.iter().all(|p| p.result == "ok" && p.bytes == 0));
    let r = &out.registries[0];
    assert_eq!((r.manifest_heads, r.manifest_requests, r.throttled, r.requests), (2, 0, 0, 2));
    assert_eq!(s(sink.pulls[0].finished_s.unwrap()), 0.01);
}

#[test]
fn a_429_is_retried_at_once_up_to_six_answers() {
    // Limit 1 GET per 6 h per node. Two pods on one node, parallel pulls of two images
    // (10 ms round trips). Both HEADs end at 10 ms and both GETs are sent then: the first (pod
    // 0's) counts; the second gets 429 at 20 ms and is sent again at once, five more times: six
    // 429s, the last at 70 ms, and the attempt fails then.
    let text = scenario(
        "10ms",
        "rate_limit = { pulls = 1, per = \"6h\", scope = \"node\" }",
        "serialize_image_pulls = false",
        1,
        r#"{ image = "registry.example/app:1" }"#,
        "5s",
    )
    .replace(
        "[[workload]]\nname = \"w\"",
        "[[workload]]\nname = \"v\"\nkind = \"deployment\"\nreplicas = 1\n[workload.pod]\ncontainers = [ { image = \"registry.example/other:1\" } ]\n\n[[workload]]\nname = \"w\"",
    );
    let (out, sink) = run_toml(&text);
    let failed: Vec<_> = sink.pulls.iter().filter(|p| p.result == "failed:rate_limited").collect();
    assert_eq!(failed.len(), 1, "{:?}", sink.pulls);
    assert_eq!(s(failed[0].finished_s.unwrap()), 0.07);
    let r = &out.registries[0];
    assert_eq!(r.throttled, 6);
    // The pull that got through made two GETs (the index, then the platform's manifest: one
    // pull as Docker Hub counts) and the other six GETs answered 429.
    assert_eq!(r.manifest_requests, 8);
    assert_eq!(r.failures, 1);
}

#[test]
fn the_kubelets_own_rejections_are_not_registry_failures() {
    // registryPullQPS 1/s with burst 1: of two pulls at once, the second is refused by the
    // kubelet before it reaches the registry.
    let text = scenario(
        "0s",
        "",
        "serialize_image_pulls = false\nregistry_pull_qps = 1\nregistry_burst = 1",
        2,
        APP,
        "1s",
    )
    .replacen("registry_pull_qps = 0\n", "", 1);
    let (out, sink) = run_toml(&text);
    assert_eq!(sink.pulls.iter().filter(|p| p.result == "failed:qps").count(), 1);
    assert_eq!(out.registries[0].failures, 0);
    let by_reason: std::collections::BTreeMap<_, _> = out.pull_failures_by_reason.iter().copied().collect();
    assert_eq!(by_reason["qps"], 1);
    assert_eq!(by_reason["outage"], 0);
    assert_eq!(out.summary.pull_failures, 1);
}

#[test]
fn a_pull_in_flight_at_the_horizon_reports_what_crossed_the_network() {
    // No latency, 100 MB at 100 MB/s, horizon 0.4 s: 40 MB have arrived.
    let text = scenario("0s", "", "", 1, APP, "400ms");
    let (out, sink) = run_toml(&text);
    assert_eq!(sink.pulls[0].result, "in_progress");
    assert_eq!(sink.pulls[0].bytes, 40_000_000);
    assert_eq!(out.registries[0].blob_bytes, 40_000_000);
    assert_eq!(out.summary.bytes_pulled, 40_000_000);
}

/// `runtime.profile = "cri-o"`: the manifest is fetched with a GET on every pull, so an
/// `Always` pull of a present image counts against the rate limit, and a 429 is retried after
/// 2, 4, 8 and 16 s, five answers in all.
#[test]
fn cri_o_gets_the_manifest_every_pull_and_backs_off_on_429() {
    let text = scenario(
        "10ms",
        "rate_limit = { pulls = 1, per = \"6h\", scope = \"node\" }",
        "",
        2,
        r#"{ image = "registry.example/pre:1", pull_policy = "Always" }"#,
        "35s",
    )
    .replacen("[kubelet]", "[runtime]\nprofile = \"cri-o\"\n\n[kubelet]", 1);
    let (out, sink) = run_toml(&text);
    // Serial puller: pod 0's pull is one GET (0 - 10 ms), which uses the window's only pull.
    assert_eq!(sink.pulls[0].result, "ok");
    assert_eq!(s(sink.pulls[0].finished_s.unwrap()), 0.01);
    // Pod 1's GETs are sent at 10 ms, 2.02 s, 6.03 s, 14.04 s and 30.05 s; the fifth 429 comes
    // back at 30.06 s and the attempt fails (the kubelet's retry, 10 s later, is past the
    // horizon).
    assert_eq!(sink.pulls[1].result, "failed:rate_limited");
    assert_eq!(s(sink.pulls[1].finished_s.unwrap()), 30.06);
    let r = &out.registries[0];
    assert_eq!((r.manifest_heads, r.manifest_requests, r.throttled), (0, 6, 5));
    // containerd (the default) sends a HEAD and nothing else: both pods run at once.
    let (out, _) = run_toml(&text.replacen("profile = \"cri-o\"", "profile = \"containerd-1.7\"", 1));
    assert_eq!(out.summary.pods_running, 2);
    assert_eq!(out.registries[0].throttled, 0);
}

/// CRI-O downloads 6 layers of a pull at once (containerd 3): six 100 MB layers at 100 MB/s per
/// connection take 1 s instead of 2 s. An explicit `max_concurrent_downloads` overrides it.
#[test]
fn cri_o_downloads_six_layers_at_once() {
    let six = r#"layers = [ { size = "100MB" }, { size = "100MB" }, { size = "100MB" }, { size = "100MB" }, { size = "100MB" }, { size = "100MB" } ]"#;
    let text = scenario("0s", "", "", 1, APP, "1h").replacen(r#"layers = [ { size = "100MB" } ]"#, six, 1);
    let finished = |text: &str| {
        let (_, sink) = run_toml(text);
        s(sink.pulls[0].finished_s.unwrap())
    };
    assert_eq!(finished(&text), 2.0);
    let crio = text.replacen("[kubelet]", "[runtime]\nprofile = \"cri-o\"\n\n[kubelet]", 1);
    assert_eq!(finished(&crio), 1.0);
    let crio3 = crio.replacen("profile = \"cri-o\"", "profile = \"cri-o\"\nmax_concurrent_downloads = 3", 1);
    assert_eq!(finished(&crio3), 2.0);
}

#[test]
fn a_cdn_serves_a_blob_at_the_cold_rate_until_one_download_of_it_has_completed() {
    // per_connection 100MB/s once the edge holds a blob, 25MB/s before. `base` is shared by
    // both images. pool-0 pulls a at 0 s: cold, 100MB in 4 s. pool-1 pulls a at 1 s, while
    // the first download runs: cold too, 1-5 s. pool-2 pulls b at 10 s: `base` is warm
    // (100MB in 1 s) but b's own 50MB layer is not (2 s), so b ends at 12 s.
    let text = base("unlimited", "100MB/s", "")
        .replace("count = 1", "count = 3")
        .replace("latency = \"0s\"", "latency = \"0s\"\nper_connection_cold = \"25MB/s\"")
        + r#"
[[image]]
ref = "registry.example/a:v1"
layers = [ { id = "sha256:1111111111111111111111111111111111111111111111111111111111111111", size = "100MB" } ]

[[image]]
ref = "registry.example/b:v1"
layers = [ { id = "sha256:1111111111111111111111111111111111111111111111111111111111111111", size = "100MB" }, { size = "50MB" } ]

[[workload]]
name = "r"
kind = "replay"
pods = [
  { node = "pool-0", at = "0s", image = "registry.example/a:v1" },
  { node = "pool-1", at = "1s", image = "registry.example/a:v1" },
  { node = "pool-2", at = "10s", image = "registry.example/b:v1" },
]
"#;
    let (_, sink) = run_toml(&text);
    assert_eq!(
        pull_spans(&sink),
        spans(&[("pool-0", 0.0, 4.0), ("pool-1", 1.0, 5.0), ("pool-2", 10.0, 12.0)])
    );
    // Without a cold rate every download is at 100MB/s: 1 s, 1 s and 1 s.
    let (_, sink) = run_toml(&text.replace("per_connection_cold = \"25MB/s\"\n", ""));
    let ends: Vec<f64> =
        sink.pulls.iter().map(|r| s(r.finished_s.unwrap()) - s(r.started_s.unwrap())).collect();
    assert_eq!(ends, [1.0, 1.0, 1.0]);
}
