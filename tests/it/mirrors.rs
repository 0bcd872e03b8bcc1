//! Mirrors (containerd `hosts.toml`) and pull-through caches, hand-computed: a mirror that is
//! down costs its dial timeout, a cache's first pull of a blob streams it through both
//! egresses and later pulls are served from the cache, concurrent misses share one upstream
//! fetch, the cache's manifest GET counts once under its own identity, an upstream outage is
//! served from what the cache holds, least recently used blobs are evicted, and bad mirror
//! tables exit 2 with the line and the key.
//!
//! Every latency is 0 unless a test says otherwise, unpack and container start are instant,
//! and images have no `platforms` (an index: two manifest GETs, one config GET per pull).

use crate::{pull_spans, pullsim, run_toml, run_toml_with, s, spans};
use pullsim::metrics::RegistryRow;

/// A scenario with the given pools, registries, images and workloads.
fn scenario(pools: &str, registries: &str, images: &str, workloads: &str) -> String {
    format!(
        r#"
[simulation]
name = "m"
seed = 1
until = "1h"
[kubelet]
registry_pull_qps = 0
[runtime]
unpack_rate = "unlimited"
container_start = "0s"
{pools}
{registries}
{images}
{workloads}
"#
    )
}

/// The upstream `hub.example` (50 MB/s per connection) and the cache `cache.example`
/// (100 MB/s per connection) in front of it, listed as its mirror; `hub_extra` and
/// `cache_extra` are more keys of each.
fn hub_and_cache(hub_extra: &str, cache_extra: &str) -> String {
    format!(
        r#"
[[registry]]
host = "hub.example"
per_connection = "50MB/s"
latency = "0s"
mirrors = ["cache.example"]
{hub_extra}
[[registry]]
host = "cache.example"
per_connection = "100MB/s"
latency = "0s"
pull_through = {{ upstream = "hub.example" }}
{cache_extra}
"#
    )
}

const APP_100MB: &str = r#"
[[image]]
ref = "hub.example/app:1"
layers = [ { size = "100MB" } ]
"#;

/// A DaemonSet of `image`: one pod on each node as it joins.
fn daemonset(name: &str, image: &str) -> String {
    format!(
        r#"
[[workload]]
name = "{name}"
kind = "daemonset"
[workload.pod]
containers = [ {{ image = "{image}" }} ]
"#
    )
}

/// Pool `a` (one node at 0) and pool `b` (one node joining at `b_at`).
fn two_pools(b_at: &str) -> String {
    format!(
        r#"
[[node_pool]]
name = "a"
count = 1
[[node_pool]]
name = "b"
count = 1
join = {{ at = "{b_at}" }}
"#
    )
}

fn row<'a>(rows: &'a [RegistryRow], host: &str) -> &'a RegistryRow {
    rows.iter().find(|r| r.registry == host).unwrap()
}

#[test]
fn a_mirror_that_is_down_costs_its_dial_timeout_then_the_upstream_serves() {
    // The mirror is down for the whole run. The pull's first request dials it and gets no
    // answer: 5 s (its dial_timeout). The upstream then answers at once (latency 0): HEAD,
    // manifest GET, the platform's manifest GET, the config GET, all at 5 s; the 100 MB layer
    // at 100 MB/s takes 1 s: the pull spans 0-6 s.
    let registries = r#"
[[registry]]
host = "upstream.example"
per_connection = "100MB/s"
latency = "0s"
mirrors = [ { host = "mirror.example", capabilities = ["pull", "resolve"], dial_timeout = "5s" } ]
[[registry]]
host = "mirror.example"
per_connection = "100MB/s"
latency = "0s"
outages = [ { from = "0s", to = "1h" } ]
"#;
    let image = "[[image]]\nref = \"upstream.example/app:1\"\nlayers = [ { size = \"100MB\" } ]\n";
    let pool = "[[node_pool]]\nname = \"a\"\ncount = 1\n";
    let text = scenario(pool, registries, image, &daemonset("d", "upstream.example/app:1"));
    let (out, sink) = run_toml(&text);
    assert_eq!(pull_spans(&sink), spans(&[("a-0", 0.0, 6.0)]));
    assert_eq!(sink.pulls[0].result, "ok");
    assert_eq!(sink.pulls[0].registry, "upstream.example", "the host that served");
    let (up, mirror) = (row(&out.registries, "upstream.example"), row(&out.registries, "mirror.example"));
    // HEAD + 2 manifest GETs + config + 1 blob = 5 requests, all at the upstream.
    assert_eq!((up.requests, up.manifest_heads, up.manifest_requests, up.blob_bytes), (5, 1, 2, 100_000_000));
    assert_eq!((mirror.requests, mirror.blob_bytes, mirror.failures), (0, 0, 0));

    // The same mirror up: it serves all 5 requests and the bytes; the upstream sees nothing.
    let (out, sink) = run_toml_with(&text, &[("registry.mirror.example.outages", "[]")]);
    assert_eq!(pull_spans(&sink), spans(&[("a-0", 0.0, 1.0)]));
    assert_eq!(sink.pulls[0].registry, "mirror.example");
    let (up, mirror) = (row(&out.registries, "upstream.example"), row(&out.registries, "mirror.example"));
    assert_eq!((up.requests, up.blob_bytes), (0, 0));
    assert_eq!((mirror.requests, mirror.manifest_requests, mirror.blob_bytes), (5, 2, 100_000_000));

    // Down with the default dial timeout (30 s): 30 + 1 s.
    let (_, sink) = run_toml_with(&text, &[("registry.upstream.example.mirrors", "[\"mirror.example\"]")]);
    assert_eq!(pull_spans(&sink), spans(&[("a-0", 0.0, 31.0)]));
}

#[test]
fn a_cache_miss_streams_through_both_egresses_then_later_pulls_hit() {
    // Node a-0 at 0: the cache checks the tag upstream (HEAD), does not hold the digest, so it
    // fetches the manifest, the platform's manifest and the config upstream; the blob is a
    // miss: one flow through the cache's and the hub's egress at min(100, 50) = 50 MB/s, 100 MB
    // in 2 s: 0-2 s. Node b-0 joins at 10 s: HEAD checked upstream, manifest held, the blob a
    // hit at the cache's 100 MB/s: 10-11 s.
    let text =
        scenario(&two_pools("10s"), &hub_and_cache("", ""), APP_100MB, &daemonset("d", "hub.example/app:1"));
    let (out, sink) = run_toml(&text);
    assert_eq!(pull_spans(&sink), spans(&[("a-0", 0.0, 2.0), ("b-0", 10.0, 11.0)]));
    assert!(sink.pulls.iter().all(|p| p.result == "ok" && p.registry == "cache.example"));
    let (hub, cache) = (row(&out.registries, "hub.example"), row(&out.registries, "cache.example"));
    // Hub: 2 HEADs (not counted by Docker Hub), the manifest and platform GETs once, the config
    // once, the blob once: 6 requests; its bytes once.
    assert_eq!(
        (hub.requests, hub.manifest_heads, hub.manifest_requests, hub.blob_bytes),
        (6, 2, 2, 100_000_000)
    );
    // Cache: 5 requests per node (HEAD, 2 GETs, config, blob); 100 MB to each node.
    assert_eq!(
        (cache.requests, cache.manifest_heads, cache.manifest_requests, cache.blob_bytes),
        (10, 2, 4, 200_000_000)
    );
    assert_eq!(out.summary.bytes_pulled, 200_000_000, "bytes into nodes");
}

#[test]
fn concurrent_misses_share_one_upstream_fetch() {
    // Three nodes at 0. The first blob request misses and streams at 50 MB/s (0-2 s); the
    // other two wait for it, then are served from the cache at 100 MB/s each (unlimited
    // egress): 2-3 s.
    let pool = "[[node_pool]]\nname = \"a\"\ncount = 3\n";
    let text = scenario(pool, &hub_and_cache("", ""), APP_100MB, &daemonset("d", "hub.example/app:1"));
    let (out, sink) = run_toml(&text);
    let mut ends: Vec<f64> = pull_spans(&sink).iter().map(|(_, a, b)| b - a).collect();
    ends.sort_by(f64::total_cmp);
    assert_eq!(ends, vec![2.0, 3.0, 3.0]);
    let (hub, cache) = (row(&out.registries, "hub.example"), row(&out.registries, "cache.example"));
    assert_eq!(hub.blob_bytes, 100_000_000, "one upstream fetch");
    assert_eq!(cache.blob_bytes, 300_000_000);
    // The manifest is fetched upstream once too: the first prelude stores it.
    assert_eq!((hub.manifest_heads, hub.manifest_requests), (3, 2));
}

#[test]
fn the_caches_manifest_get_counts_once_under_its_own_identity() {
    // The hub allows 1 counted manifest GET per client per 6 h (scope "node"). Three nodes
    // pull app at 0 through the cache: one GET upstream under the cache's identity (its
    // platform GET is not counted): all three succeed. At 10 s one node pulls batch (50 MB):
    // the cache's GET for it is refused (the cache's budget is spent: 429), so the cache
    // answers an error and the node goes to the hub itself, where its own budget is unused:
    // 10 s + 50 MB / 50 MB/s = 11 s.
    let pool = "[[node_pool]]\nname = \"a\"\ncount = 3\n";
    let hub = hub_and_cache("rate_limit = { pulls = 1, per = \"6h\", scope = \"node\" }", "");
    let images = format!(
        "{APP_100MB}\n[[image]]\nref = \"hub.example/batch:1\"\nlayers = [ {{ size = \"50MB\" }} ]\n"
    );
    let workloads = format!(
        "{}\n[[workload]]\nname = \"t\"\nkind = \"deployment\"\nreplicas = 1\nstart = \"10s\"\n[workload.pod]\ncontainers = [ {{ image = \"hub.example/batch:1\" }} ]\n",
        daemonset("d", "hub.example/app:1")
    );
    let text = scenario(pool, &hub, &images, &workloads);
    let (out, sink) = run_toml(&text);
    assert!(sink.pulls.iter().all(|p| p.result == "ok"), "{:?}", sink.pulls);
    assert_eq!(sink.pulls.len(), 4);
    let batch = sink.pulls.iter().find(|p| s(p.requested_s) == 10.0).unwrap();
    assert_eq!((s(batch.started_s.unwrap()), s(batch.finished_s.unwrap())), (10.0, 11.0));
    assert_eq!(batch.registry, "hub.example", "served by the hub after the cache refused");
    let hub = row(&out.registries, "hub.example");
    // app: GET + platform GET via the cache; batch: the cache's refused GET, then the node's
    // GET + platform GET: 5 manifest GETs, 1 of them throttled.
    assert_eq!((hub.manifest_requests, hub.throttled), (5, 1));
    assert_eq!(hub.failures, 0);
}

#[test]
fn an_upstream_outage_is_served_from_what_the_cache_holds() {
    // a-0 pulls at 0 (miss, 0-2 s). The hub is down from 5 s. b-0 joins at 10 s: the cache's
    // upstream HEAD fails, it serves its copy; the manifest is held and the blob a hit: 10-11 s.
    let hub = hub_and_cache("outages = [ { from = \"5s\", to = \"1h\" } ]", "");
    let text = scenario(&two_pools("10s"), &hub, APP_100MB, &daemonset("d", "hub.example/app:1"));
    let (out, sink) = run_toml(&text);
    assert_eq!(pull_spans(&sink), spans(&[("a-0", 0.0, 2.0), ("b-0", 10.0, 11.0)]));
    assert!(sink.pulls.iter().all(|p| p.result == "ok"));
    let hub = row(&out.registries, "hub.example");
    // a-0: HEAD, 2 GETs, config, blob; b-0: the HEAD that failed: 6 requests, 1 HEAD answered.
    assert_eq!((hub.requests, hub.manifest_heads, hub.blob_bytes), (6, 1, 100_000_000));

    // Nothing cached (pool a has no node): the cache fails b-0's HEAD, the hub itself is down
    // too: the attempt fails with the hub's outage, at 10 s (latency 0).
    let (out, sink) = run_toml_with(&text, &[("node_pool.a.count", "0"), ("simulation.until", "12s")]);
    assert_eq!(sink.pulls[0].result, "failed:outage");
    assert_eq!(s(sink.pulls[0].finished_s.unwrap()), 10.0);
    assert_eq!(sink.pulls[0].registry, "hub.example");
    assert_eq!(row(&out.registries, "hub.example").failures, 1);
    assert_eq!(row(&out.registries, "cache.example").failures, 0);
}

#[test]
fn the_least_recently_used_blob_is_evicted_when_the_cache_is_full() {
    // A cache of 150 MB. a-0 pulls app (100 MB) at 0 and other (100 MB) at 10 s: storing other
    // evicts app. b-0 joins at 20 s and pulls app: a miss again. The hub sends 300 MB. With
    // 200 MB both stay and b-0's pull is a hit: the hub sends 200 MB.
    let hub = hub_and_cache("", "pull_through = { upstream = \"hub.example\", capacity = \"150MB\" }");
    let hub = hub.replace("pull_through = { upstream = \"hub.example\" }\n", "");
    let images = format!(
        "{APP_100MB}\n[[image]]\nref = \"hub.example/other:1\"\nlayers = [ {{ size = \"100MB\" }} ]\n"
    );
    let workloads = format!(
        "{}\n[[workload]]\nname = \"o\"\nkind = \"deployment\"\nreplicas = 1\nstart = \"10s\"\nnode_pools = [\"a\"]\n[workload.pod]\ncontainers = [ {{ image = \"hub.example/other:1\" }} ]\n",
        daemonset("d", "hub.example/app:1")
    );
    let text = scenario(&two_pools("20s"), &hub, &images, &workloads);
    let (out, sink) = run_toml(&text);
    // a-0: app 0-2 s (miss), other 10-12 s (miss); b-0: app 20-22 s (miss after eviction).
    assert_eq!(pull_spans(&sink), spans(&[("a-0", 0.0, 2.0), ("a-0", 10.0, 12.0), ("b-0", 20.0, 22.0)]));
    assert_eq!(row(&out.registries, "hub.example").blob_bytes, 300_000_000);
    let (out, sink) = run_toml_with(&text, &[("registry.cache.example.pull_through.capacity", "\"200MB\"")]);
    assert_eq!(pull_spans(&sink), spans(&[("a-0", 0.0, 2.0), ("a-0", 10.0, 12.0), ("b-0", 20.0, 21.0)]));
    assert_eq!(row(&out.registries, "hub.example").blob_bytes, 200_000_000);
}

fn validate_err(name: &str, text: &str) -> String {
    let dir = std::env::temp_dir().join(format!("pullsim-mirrors-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    let o = pullsim(&["validate", p.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2), "{}", String::from_utf8_lossy(&o.stderr));
    String::from_utf8_lossy(&o.stderr).to_string()
}

#[test]
fn an_unknown_mirror_host_or_a_cycle_exits_2_with_the_line_and_key() {
    let pool = "[[node_pool]]\nname = \"a\"\ncount = 1\n";
    let registries = r#"[[registry]]
host = "hub.example"
mirrors = ["cache.exmaple"]
[[registry]]
host = "cache.example"
"#;
    let text = format!("[simulation]\nname = \"v\"\n{pool}{registries}");
    let err = validate_err("unknown.toml", &text);
    // Line 8 is `mirrors = [...]` (the header is 2 lines, the pool 3, then `[[registry]]` and `host`).
    assert!(err.contains("unknown.toml:8") && err.contains("mirrors"), "{err}");
    assert!(err.contains("did you mean \"cache.example\""), "{err}");

    let registries = r#"[[registry]]
host = "a.example"
mirrors = ["b.example"]
[[registry]]
host = "b.example"
mirrors = ["a.example"]
"#;
    let text = format!("[simulation]\nname = \"v\"\n{pool}{registries}");
    let err = validate_err("cycle.toml", &text);
    assert!(
        err.contains("cycle.toml:8") && err.contains("mirror cycle: a.example -> b.example -> a.example"),
        "{err}"
    );

    let registries = r#"[[registry]]
host = "a.example"
pull_through = { upstream = "nowhere.example", capacity = "1GB" }
"#;
    let text = format!("[simulation]\nname = \"v\"\n{pool}{registries}");
    let err = validate_err("upstream.toml", &text);
    assert!(err.contains("upstream.toml:8") && err.contains("upstream"), "{err}");

    let registries = r#"[[registry]]
host = "a.example"
mirrors = [ { host = "a.example", dial_timout = "1s" } ]
"#;
    let text = format!("[simulation]\nname = \"v\"\n{pool}{registries}");
    let err = validate_err("key.toml", &text);
    assert!(err.contains("did you mean \"dial_timeout\""), "{err}");
}

#[test]
fn a_failed_fetch_is_taken_over_by_the_requests_waiting_for_it() {
    // Three nodes at 0 behind the cache; the cache itself is fine but the hub goes down at 1 s,
    // while the first miss is half through (50 MB of 100 MB at 50 MB/s): that fetch breaks and
    // its pull fails. The other two were waiting: the first of them asks the hub again, which
    // is down: it fails too, and so does the last. Every pull fails at 1 s with the outage;
    // the hub sent 50 MB.
    let pool = "[[node_pool]]\nname = \"a\"\ncount = 3\n";
    let hub = hub_and_cache("outages = [ { from = \"1s\", to = \"1h\" } ]", "");
    let text = scenario(pool, &hub, APP_100MB, &daemonset("d", "hub.example/app:1"));
    let (out, sink) = run_toml_with(&text, &[("simulation.until", "5s")]);
    let first: Vec<(&str, f64)> =
        sink.pulls.iter().map(|p| (p.result.as_str(), s(p.finished_s.unwrap()))).collect();
    assert_eq!(first, vec![("failed:outage", 1.0); 3]);
    assert_eq!(row(&out.registries, "hub.example").blob_bytes, 50_000_000);
    assert_eq!(row(&out.registries, "cache.example").blob_bytes, 50_000_000);
    assert_eq!(out.summary.bytes_pulled, 50_000_000);
}

/// Many pulls through mirrors and a cache, under every runtime profile, with outages of every
/// host, rate limits and latency: every invariant holds after every event (`run_toml`), and
/// the bytes the nodes received add up.
#[test]
fn mirrors_and_caches_under_load_keep_every_invariant() {
    let registries = r#"
[[registry]]
host = "hub.example"
per_connection = "40MB/s"
bandwidth = "200MB/s"
latency = { dist = "uniform", min = "10ms", max = "80ms" }
rate_limit = { pulls = 6, per = "1m", scope = "node" }
outages = [ { from = "20s", to = "40s" } ]
mirrors = [ { host = "spegel.local", capabilities = ["pull", "resolve"], dial_timeout = "200ms" }, "cache.example" ]
[[registry]]
host = "spegel.local"
per_connection = "100MB/s"
latency = "1ms"
outages = [ { from = "0s", to = "15s" }, { from = "50s", to = "1h" } ]
[[registry]]
host = "cache.example"
per_connection = "80MB/s"
bandwidth = "300MB/s"
latency = "5ms"
failure_rate = 0.05
outages = [ { from = "30s", to = "33s" } ]
pull_through = { upstream = "hub.example", capacity = "250MB" }
[[registry]]
host = "other.example"
per_connection = "50MB/s"
latency = "20ms"
mirrors = [ "cache.example" ]
"#;
    let images = r#"
[[image]]
ref = "hub.example/a:1"
layers = [ { id = "base", size = "60MB" }, { size = "40MB" } ]
[[image]]
ref = "hub.example/b:1"
layers = [ { id = "base", size = "60MB" }, { size = "90MB" } ]
pushes = [ { at = "25s", layers = [ { id = "base", size = "60MB" }, { size = "95MB" } ] } ]
[[image]]
ref = "other.example/c:1"
layers = [ { size = "70MB" } ]
"#;
    let workloads: String = ["hub.example/a:1", "hub.example/b:1", "other.example/c:1"]
        .iter()
        .enumerate()
        .map(|(i, image)| {
            format!(
                "[[workload]]\nname = \"p{i}\"\nkind = \"poisson\"\nrate = \"1/s\"\ncount = 40\n[workload.pod]\ncontainers = [ {{ image = \"{image}\", pull_policy = \"Always\" }} ]\n"
            )
        })
        .collect();
    let pools = "[[node_pool]]\nname = \"a\"\ncount = 6\nbandwidth = \"150MB/s\"\n";
    let text = scenario(pools, registries, images, &workloads);
    for profile in ["containerd-1.7", "containerd-2.1", "cri-o"] {
        for seed in 1..=3 {
            let seed_s = seed.to_string();
            let (out, sink) =
                run_toml_with(&text, &[("runtime.profile", profile), ("simulation.seed", seed_s.as_str())]);
            let pulled: u64 = sink.pulls.iter().map(|p| p.bytes).sum();
            assert_eq!(pulled, out.summary.bytes_pulled, "{profile} seed {seed}");
            let served: u64 = out.registries.iter().map(|r| r.blob_bytes).sum();
            assert!(served >= pulled, "{profile} seed {seed}: registries served {served} < {pulled}");
            assert!(sink.pulls.iter().any(|p| p.result == "ok"), "{profile} seed {seed}");
            // The cache proxies hub.example only: other.example's image comes from other.example
            // (the cache answers 404 for it), the hub's from the mirrors as they are up.
            assert!(row(&out.registries, "other.example").blob_bytes > 0, "{profile} seed {seed}");
            assert!(row(&out.registries, "cache.example").blob_bytes > 0, "{profile} seed {seed}");
            assert!(row(&out.registries, "spegel.local").blob_bytes > 0, "{profile} seed {seed}");
        }
    }
}

#[test]
fn an_image_that_names_the_cache_is_served_by_it() {
    // Harbor's proxy project addressed directly (`cache.example/app:1`): the cache proxies its
    // upstream for it as for a mirror pull. a-0 misses (0-2 s at 50 MB/s), b-0 hits at 10 s
    // (10-11 s at 100 MB/s); the hub sends the bytes once.
    let hub = hub_and_cache("", "").replace("mirrors = [\"cache.example\"]\n", "");
    let image = "[[image]]\nref = \"cache.example/app:1\"\nlayers = [ { size = \"100MB\" } ]\n";
    let text = scenario(&two_pools("10s"), &hub, image, &daemonset("d", "cache.example/app:1"));
    let (out, sink) = run_toml(&text);
    assert_eq!(pull_spans(&sink), spans(&[("a-0", 0.0, 2.0), ("b-0", 10.0, 11.0)]));
    assert_eq!(row(&out.registries, "hub.example").blob_bytes, 100_000_000);
    assert_eq!(row(&out.registries, "cache.example").blob_bytes, 200_000_000);
}

#[test]
fn a_cache_no_pull_reaches_is_a_warning() {
    let pool = "[[node_pool]]\nname = \"a\"\ncount = 1\n";
    let hub = hub_and_cache("", "").replace("mirrors = [\"cache.example\"]\n", "");
    let text = scenario(pool, &hub, APP_100MB, &daemonset("d", "hub.example/app:1"));
    let scn = pullsim::scenario::load(&text, "t.toml", &[]).unwrap();
    let warnings: Vec<String> = pullsim::scenario::lint::lint(&scn).iter().map(|w| w.to_string()).collect();
    assert!(
        warnings.iter().any(|w| w.contains("registry.cache.example.pull_through")
            && w.contains("no image names it and \"hub.example\" does not list it in `mirrors`")),
        "{warnings:?}"
    );
}

/// Random small scenarios with a mirror, a cache and outages, drawn from a fixed generator:
/// every invariant after every event, no panic, the bytes of pulls.csv equal to
/// `bytes_pulled`, and each pod Running or waiting for a reason the kubelet shows.
#[test]
fn random_mirror_and_cache_scenarios_keep_every_invariant() {
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = move |n: u64| {
        state = state.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
        (state >> 33) % n
    };
    for case in 0..40 {
        let profile = ["containerd-1.7", "containerd-2.1", "cri-o"][next(3) as usize];
        let serialize = next(2) == 0;
        let caps = ["[\"pull\", \"resolve\"]", "[\"pull\"]", "[\"resolve\"]"][next(3) as usize];
        let outage =
            |from: u64, len: u64| format!("outages = [ {{ from = \"{from}s\", to = \"{}s\" }} ]", from + len);
        let hub_out = if next(2) == 0 { outage(next(30), 1 + next(30)) } else { String::new() };
        let mirror_out = if next(2) == 0 { outage(next(30), 1 + next(30)) } else { String::new() };
        let cache_out = if next(3) == 0 { outage(next(30), 1 + next(10)) } else { String::new() };
        let capacity = ["\"50MB\"", "\"150MB\"", "\"unlimited\"", "\"0B\""][next(4) as usize];
        let limit = if next(2) == 0 {
            format!("rate_limit = {{ pulls = {}, per = \"1m\" }}", 1 + next(4))
        } else {
            String::new()
        };
        let order = if next(2) == 0 {
            "\"mirror.example\", \"cache.example\""
        } else {
            "\"cache.example\", \"mirror.example\""
        };
        let registries = format!(
            r#"
[[registry]]
host = "hub.example"
per_connection = "{}MB/s"
latency = "{}ms"
{hub_out}
{limit}
mirrors = [ {{ host = {}, capabilities = {caps}, dial_timeout = "{}ms" }}, {} ]
[[registry]]
host = "mirror.example"
per_connection = "100MB/s"
bandwidth = "{}MB/s"
latency = "2ms"
failure_rate = 0.1
{mirror_out}
[[registry]]
host = "cache.example"
per_connection = "80MB/s"
latency = "3ms"
{cache_out}
pull_through = {{ upstream = "hub.example", capacity = {capacity} }}
"#,
            10 + next(60),
            next(100),
            order.split(", ").next().unwrap(),
            100 + next(3000),
            order.split(", ").nth(1).unwrap(),
            100 + next(400),
        );
        let images = r#"
[[image]]
ref = "hub.example/a:1"
layers = [ { id = "base", size = "40MB" }, { size = "30MB" } ]
[[image]]
ref = "hub.example/b:1"
layers = [ { id = "base", size = "40MB" }, { size = "60MB" } ]
pushes = [ { at = "20s", layers = [ { id = "base", size = "40MB" }, { size = "65MB" } ] } ]
"#;
        let workloads: String = ["hub.example/a:1", "hub.example/b:1"]
            .iter()
            .enumerate()
            .map(|(i, image)| {
                format!(
                    "[[workload]]\nname = \"p{i}\"\nkind = \"poisson\"\nrate = \"1/s\"\ncount = 25\n[workload.pod]\ncontainers = [ {{ image = \"{image}\", pull_policy = \"Always\" }} ]\n"
                )
            })
            .collect();
        let pools =
            format!("[[node_pool]]\nname = \"a\"\ncount = {}\nbandwidth = \"200MB/s\"\n", 1 + next(5));
        let text = scenario(&pools, &registries, images, &workloads);
        let seed = (1 + next(1000)).to_string();
        let serialize_s = serialize.to_string();
        let (out, sink) = run_toml_with(
            &text,
            &[
                ("runtime.profile", profile),
                ("simulation.seed", seed.as_str()),
                ("simulation.until", "2m"),
                ("kubelet.serialize_image_pulls", serialize_s.as_str()),
            ],
        );
        let pulled: u64 = sink.pulls.iter().map(|p| p.bytes).sum();
        assert_eq!(pulled, out.summary.bytes_pulled, "case {case}:\n{text}");
        for p in &out.pods {
            assert!(
                ["Running", "ImagePullBackOff", "ErrImagePull", "Pending", "ContainerCreating"]
                    .contains(&p.status),
                "case {case}: {}",
                p.status
            );
        }
    }
}
