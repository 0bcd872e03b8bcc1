//! Loader tests: the contract examples, the big example from scenario-format.md, bad inputs
//! (each checked for its line and key), and every `--set` form. `messages` checks what the
//! errors say (suggestions, root causes first), `lint` the warnings.

use super::*;
use crate::engine::dist::Dist;
use crate::ids::{ImageId, PoolId, RegistryId};
use crate::k8s::pull_policy::PullPolicy;
use crate::time::SimDuration;

mod lint;
mod messages;
mod runtime_class;
mod slo;

const EXAMPLES_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/examples/");

fn ok(text: &str) -> Scenario {
    match load(text, "test.toml", &[]) {
        Ok(s) => s,
        Err(e) => panic!("expected to load, got:\n{e}"),
    }
}

#[test]
fn contract_examples_load() {
    let mut n = 0;
    let mut entries: Vec<_> =
        std::fs::read_dir(EXAMPLES_DIR).expect("tests/data/examples").flatten().collect();
    entries.sort_by_key(|e| e.path());
    for e in entries {
        let path = e.path();
        if path.extension().and_then(|x| x.to_str()) != Some("toml") {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        if let Err(err) = load(&text, &path.display().to_string(), &[]) {
            panic!("{err}");
        }
        n += 1;
    }
    assert!(n >= 3, "found only {n} examples");
}

/// The big example of scenario-format.md, with what it leaves undeclared added: the images
/// `busybox` and `envoyproxy/envoy:v1.31`, and registries for `registry.k8s.io` (the preloaded
/// pause image) and `registry.example` (the image set).
fn contract_big_example() -> String {
    let md = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/contract/scenario-format.md"
    ))
    .expect("tests/data/contract/scenario-format.md");
    let start = md.find("```toml\n").expect("toml block") + "```toml\n".len();
    let end = start + md[start..].find("```").expect("end of block");
    let mut text = md[start..end].to_string();
    text.push_str(
        r#"
[[image]]
ref = "busybox"
size = "4MB"

[[image]]
ref = "envoyproxy/envoy:v1.31"
size = { dist = "lognormal", median = "150MB", sigma = 1 }
layer_count = 5

[[registry]]
host = "registry.k8s.io"

[[registry]]
host = "registry.example"
"#,
    );
    text
}

#[test]
fn contract_big_example_loads() {
    let s = ok(&contract_big_example());
    assert_eq!(s.name, "rollout-300");
    assert_eq!(s.seed, 42);
    assert_eq!(s.until, crate::time::SimDuration::from_secs(6 * 3600));
    assert_eq!(s.node_pools.len(), 1);
    let pool = &s.node_pools[0];
    assert_eq!(pool.count, 300);
    assert_eq!(pool.bandwidth_bytes_per_s, Dist::Constant(1.25e9));
    assert_eq!(pool.disk_bytes, Dist::Constant(100.0 * (1u64 << 30) as f64));
    assert!(!pool.kubelet.serialize_image_pulls, "pool override wins");
    assert_eq!(pool.kubelet.max_parallel_image_pulls, Some(4));
    assert_eq!(pool.max_pods, u32::MAX, "no pod capacity unless max_pods is set");
    assert_eq!(
        pool.credentials,
        vec![NodeCredential {
            match_pattern: "*.my-registry.example/images".into(),
            secret: "node-creds".into()
        }]
    );
    let docker = &s.registries[0];
    assert_eq!(docker.host, "docker.io");
    assert_eq!(docker.per_connection_bytes_per_s, Dist::Constant(5e7));
    assert_eq!(docker.latency_ns, Dist::Constant(4e7));
    assert_eq!(docker.outages, vec![(SimDuration::from_secs(1200), SimDuration::from_secs(1500))]);
    assert_eq!(
        docker.rate_limit,
        Some(RateLimit { pulls: 100, per: SimDuration::from_secs(6 * 3600), scope: RateLimitScope::Node })
    );
    // Declared images first, then the 1000 set members, then the preloaded-only pause image.
    assert_eq!(s.images.len(), 3 + 1000 + 1);
    assert_eq!(s.images[0].normalized, "docker.io/library/nginx:1.27");
    assert_eq!(s.images[1].normalized, "docker.io/library/busybox:latest");
    assert_eq!(s.image_sets[0].first_image, ImageId(3));
    assert_eq!(s.images[3].raw_ref, "registry.example/fn-0:v1");
    assert_eq!(s.images[1002].raw_ref, "registry.example/fn-999:v1");
    let pause = &s.images[1003];
    assert_eq!(pause.normalized, "registry.k8s.io/pause:3.9");
    assert!(matches!(pause.layers, ImageLayers::Unknown));
    assert_eq!(pause.registry, Some(RegistryId(1)));
    assert_eq!(pool.preloaded, vec![ImageId(1003)]);
    match &s.image_sets[0] {
        ImageSetSpec { count: 1000, .. } => {}
        other => panic!("{other:?}"),
    }
    match &s.images[3].layers {
        ImageLayers::Drawn { size_bytes: Dist::Exponential { mean }, layer_count: 1, base } => {
            assert_eq!(*mean, 1e8);
            assert_eq!(base[0].shared_id.as_deref(), Some("distroless"));
        }
        other => panic!("{other:?}"),
    }
    let w = &s.workloads[0];
    assert!(matches!(w.kind, WorkloadKind::Deployment { replicas: 300, .. }));
    assert_eq!(w.node_pools, Some(vec![PoolId(0)]));
    assert_eq!(w.runtime_class.as_deref(), Some("runc"));
    assert!(matches!(w.pod.init_containers[0].image, ContainerImage::Ref { image: Some(ImageId(1)), .. }));
    assert_eq!(w.pod.init_containers[0].run_for_ns, Some(Dist::Constant(2e9)));
    assert_eq!(w.pod.containers[0].pull_policy, Some(PullPolicy::IfNotPresent));
    assert!(matches!(w.pod.containers[1].image, ContainerImage::Ref { image: Some(ImageId(2)), .. }));
    assert_eq!(s.runtime.unpack_rate_bytes_per_s, Dist::Constant(1.5e8));
    assert_eq!(s.runtime.container_start_ns, Dist::Constant(5e8));
    let sweep = s.sweep.as_ref().unwrap();
    assert_eq!(sweep.seeds, Some(20));
    assert_eq!(
        sweep.grid,
        vec![
            ("kubelet.serialize_image_pulls".to_string(), vec!["true".to_string(), "false".to_string()]),
            ("kubelet.max_parallel_image_pulls".to_string(), ["1", "2", "4", "8"].map(String::from).to_vec()),
        ]
    );
    assert_eq!(sweep.baseline, vec![("kubelet.serialize_image_pulls".to_string(), "true".to_string())]);
}

#[test]
fn start_time_is_a_string_or_a_toml_date_time() {
    for (written, want) in [
        ("\"2024-06-30T22:00:00-02:00\"", "2024-07-01T00:00:00Z"),
        ("2024-07-01T00:00:00Z", "2024-07-01T00:00:00Z"),
        ("2024-07-01T02:00:00.25+02:00", "2024-07-01T00:00:00Z"),
    ] {
        let s = ok(&BASE.replacen("seed = 1", &format!("seed = 1\nstart_time = {written}"), 1));
        assert_eq!(s.start_time.rfc3339_secs(), want, "{written}");
    }
}

#[test]
fn defaults_are_applied() {
    let s = ok(BASE);
    assert_eq!(s.until, SimDuration::from_secs(86_400));
    assert_eq!(s.sample_every, SimDuration::from_secs(1));
    assert_eq!(s.start_time.rfc3339_secs(), "2025-01-01T00:00:00Z");
    assert_eq!(s.scheduler, SchedulerPolicy::Spread);
    assert_eq!(s.runtime.pull_overhead_ns, Dist::Constant(0.0));
    assert_eq!(s.runtime.uncompressed_ratio, 1.0);
    assert_eq!(s.runtime.unpack_layer_overhead, SimDuration::ZERO);
    assert!(!s.runtime.discard_unpacked_layers, "containerd's default keeps the blobs");
    let pool = &s.node_pools[0];
    assert_eq!(pool.arch, "amd64");
    assert_eq!((pool.join_at, pool.join_every), (SimDuration::ZERO, SimDuration::ZERO));
    let r = &s.registries[0];
    assert_eq!(r.failure_rate, 0.0);
    assert!(!r.auth_required);
    match &s.workloads[0].kind {
        WorkloadKind::Deployment { rollout, update: None, .. } => assert_eq!(*rollout, Rollout::default()),
        other => panic!("{other:?}"),
    }
    assert!(s.sweep.is_none());
}

/// A valid scenario that the bad-input cases below each break in one place.
const BASE: &str = r#"[simulation]
name = "t"
seed = 1

[kubelet]
serialize_image_pulls = true

[runtime]
max_concurrent_downloads = 3
unpack_rate = "unlimited"
container_start = "0s"

[[node_pool]]
name = "pool"
count = 2
bandwidth = "10Gbps"
disk = "100GiB"

[[registry]]
host = "registry.example"
bandwidth = "unlimited"
per_connection = "100MB/s"
latency = "10ms"
accepts = ["regcred"]

[[image]]
ref = "registry.example/app:v1"
layers = [ { id = "base", size = "100MB" }, { size = "5MB" } ]

[[image_set]]
name = "fns"
count = 3
ref = "registry.example/fn-{n}:v1"
size = "10MB"

[[workload]]
name = "web"
kind = "deployment"
replicas = 2
[workload.pod]
containers = [ { image = "registry.example/app:v1" } ]
"#;

/// (replace this, with this, line containing this, key, message fragment)
type BadCase = (&'static str, &'static str, &'static str, &'static str, &'static str);

const BAD: &[BadCase] = &[
    ("seed = 1", "seed = \"one\"", "seed =", "simulation.seed", "expected an integer"),
    ("seed = 1", "seed = 1\nsede = 2", "sede", "simulation.sede", "unknown field `sede`"),
    ("seed = 1", "seed = 1\nuntil = \"0s\"", "until", "simulation.until", "greater than 0"),
    ("seed = 1", "seed = 1\nuntil = \"10 parsecs\"", "until", "simulation.until", "expected a duration like"),
    ("seed = 1", "seed = 1\nsample_every = 0", "sample_every", "simulation.sample_every", "greater than 0"),
    ("seed = 1", "seed = 1\nstart_time = \"yesterday\"", "start_time", "simulation.start_time", "\"yesterday\" is not an RFC 3339 instant such as \"2025-01-01T00:00:00Z\": expected 4 digits of the year"),
    ("seed = 1", "seed = 1\nstart_time = 2025-01-01T00:00:00", "start_time", "simulation.start_time", "missing the UTC offset"),
    ("seed = 1", "seed = 1\nstart_time = \"2025-02-29T00:00:00Z\"", "start_time", "simulation.start_time", "day 29 out of range for 2025-02"),
    ("seed = 1", "seed = 1\nstart_time = 1735689600", "start_time", "simulation.start_time", "expected an RFC 3339 instant such as \"2025-01-01T00:00:00Z\", got an integer"),
    ("seed = 1", "seed = 1\nstart_time = \"9999-12-31T00:00:00Z\"", "start_time", "simulation.start_time", "plus `until` ends after 9999-12-31T23:59:59Z"),
    ("serialize_image_pulls = true", "serialise_image_pulls = true", "serialise", "kubelet.serialise_image_pulls", "unknown field"),
    ("serialize_image_pulls = true", "serialize_image_pulls = true\nmax_parallel_image_pulls = 4", "max_parallel", "kubelet.max_parallel_image_pulls", "maxParallelImagePulls cannot be larger than 1"),
    ("serialize_image_pulls = true", "serialize_image_pulls = true\nimage_pull_credentials_verification_policy = \"Sometimes\"", "verification_policy", "kubelet.image_pull_credentials_verification_policy", "Sometimes"),
    ("serialize_image_pulls = true", "serialize_image_pulls = true\nimage_minimum_gc_age = { dist = \"exponential\", mean = \"2m\" }", "image_minimum_gc_age", "kubelet.image_minimum_gc_age", "fixed duration"),
    ("max_concurrent_downloads = 3", "max_concurrent_downloads = 0", "max_concurrent", "runtime.max_concurrent_downloads", "between 1 and"),
    ("unpack_rate = \"unlimited\"", "unpack_rate = \"fast\"", "unpack_rate", "runtime.unpack_rate", "expected a bandwidth like"),
    ("unpack_rate = \"unlimited\"", "unpack_rate = \"unlimited\"\nuncompressed_ratio = 0.5", "uncompressed_ratio", "runtime.uncompressed_ratio", "at least 1"),
    ("unpack_rate = \"unlimited\"", "unpack_rate = \"unlimited\"\nuncompressed_ratio = \"3x\"", "uncompressed_ratio", "runtime.uncompressed_ratio", "expected a plain number"),
    ("unpack_rate = \"unlimited\"", "unpack_rate = \"unlimited\"\nunpack_layer_overhead = \"34\"", "unpack_layer_overhead", "runtime.unpack_layer_overhead", "a duration needs a unit"),
    ("unpack_rate = \"unlimited\"", "unpack_rate = \"unlimited\"\nmax_concurrent_unpacks = 2", "max_concurrent_unpacks", "runtime.max_concurrent_unpacks", "needs containerd's transfer service"),
    ("unpack_rate = \"unlimited\"", "unpack_rate = \"unlimited\"\nmax_concurrent_unpacks = 0", "max_concurrent_unpacks", "runtime.max_concurrent_unpacks", "between 1 and"),
    ("unpack_rate = \"unlimited\"", "unpack_rate = \"unlimited\"\ndiscard_unpacked_layers = \"yes\"", "discard_unpacked_layers", "runtime.discard_unpacked_layers", "expected a boolean"),
    ("bandwidth = \"10Gbps\"", "bandwidth = \"10Gbs\"", "10Gbs", "node_pool.pool.bandwidth", "\"1Gbps\""),
    ("disk = \"100GiB\"", "disk = 0", "disk", "node_pool.pool.disk", "greater than 0"),
    ("count = 2", "count = -1", "count = -1", "node_pool.pool.count", "between 0 and"),
    ("count = 2", "count = 2.5", "count = 2.5", "node_pool.pool.count", "expected an integer"),
    ("count = 2", "count = 2\narch = \"sparc\"", "arch", "node_pool.pool.arch", "unknown architecture"),
    ("count = 2", "count = 2\njoin = { att = \"1m\" }", "join", "node_pool.pool.join.att", "unknown field `att`"),
    ("count = 2", "count = 2\njoin = { at = \"1m\", boot = \"soon\" }", "join", "node_pool.pool.join.boot", "expected a duration like"),
    ("count = 2", "count = 2\nallocatable = { cpu = \"lots\" }", "allocatable", "node_pool.pool.allocatable.cpu", "expected a Kubernetes quantity"),
    ("count = 2", "count = 2\nallocatable = { gpu = 1 }", "allocatable", "node_pool.pool.allocatable.gpu", "unknown field `gpu`"),
    ("replicas = 2", "replicas = 2\nrequests = { memory = \"64GB\" }", "requests", "workload.web.requests.memory", "unknown suffix \"GB\""),
    ("replicas = 2", "replicas = 2\nscheduling_latency = -1", "scheduling_latency", "workload.web.scheduling_latency", "must not be negative"),
    ("count = 2", "count = 2\nkubelet = { max_parallel_image_pulls = 4 }", "kubelet = {", "node_pool.pool.kubelet.max_parallel_image_pulls", "maxParallelImagePulls"),
    ("count = 2", "count = 2\ncredentials = [ { match = \"registry.example\", secret = \"nodecreds\" } ]", "credentials", "node_pool.pool.credentials[0].secret", "not accepted by any registry"),
    ("count = 2", "count = 2\npreloaded = [\"Not A Ref\"]", "preloaded", "node_pool.pool.preloaded[0]", "not a valid image reference"),
    ("latency = \"10ms\"", "latency = \"-10ms\"", "latency", "registry.registry.example.latency", "must not be negative"),
    ("latency = \"10ms\"", "latency = \"10ms\"\nfailure_rate = 1.5", "failure_rate", "registry.registry.example.failure_rate", "[0, 1]"),
    ("latency = \"10ms\"", "latency = \"10ms\"\noutages = [ { from = \"20m\", to = \"10m\" } ]", "outages", "registry.registry.example.outages[0]", "end after it starts"),
    ("latency = \"10ms\"", "latency = \"10ms\"\nrate_limit = { pulls = 100, per = \"6h\", scope = \"cluster\" }", "rate_limit", "registry.registry.example.rate_limit.scope", "\"node\" or \"registry\""),
    ("latency = \"10ms\"", "latency = \"10ms\"\nauth = \"token\"", "auth", "registry.registry.example.auth", "\"anonymous\" or \"required\""),
    ("per_connection = \"100MB/s\"", "per_connection = { dist = \"uniform\", min = \"10MB/s\" }", "per_connection", "registry.registry.example.per_connection", "needs `max`"),
    ("per_connection = \"100MB/s\"", "per_connection = { dist = \"uniform\", min = \"10MB/s\", max = \"20MB/s\", mean = 3 }", "per_connection", "registry.registry.example.per_connection.mean", "unknown key `mean`"),
    ("per_connection = \"100MB/s\"", "per_connection = { dist = \"gamma\", shape = 2 }", "per_connection", "registry.registry.example.per_connection.dist", "unknown distribution"),
    ("[[image]]", "[[registry]]\nhost = \"registry.example\"\n\n[[image]]", "host = \"registry.example\"\n\n", "registry.registry.example.host", "duplicate registry host"),
    ("ref = \"registry.example/app:v1\"", "ref = \"registry.example/App:v1\"", "App:v1", "image.registry.example/App:v1.ref", "not a valid image reference"),
    ("ref = \"registry.example/app:v1\"", "ref = \"quay.io/app:v1\"", "quay.io", "image.quay.io/app:v1.ref", "no [[registry]] serves domain \"quay.io\" (registries defined: registry.example)"),
    ("[[image_set]]", "[[image]]\nref = \"registry.example/app:v1\" # again\nsize = \"1MB\"\n\n[[image_set]]", "# again", "image.registry.example/app:v1.ref", "declared twice"),
    ("[[image_set]]", "[[image]]\nref = \"registry.example/lib:v1\"\nlayers = [ { id = \"base\", size = \"90MB\" } ]\n\n[[image_set]]", "90MB", "image.registry.example/lib:v1.layers[0].size", "shared layer id \"base\""),
    ("layers = [", "size = \"1MB\"\nlayers = [", "size = \"1MB\"", "image.registry.example/app:v1.size", "not both"),
    ("{ size = \"5MB\" } ]", "{ size = \"5MB\", uncompressed_size = \"lots\" } ]", "uncompressed_size", "image.registry.example/app:v1.layers[1].uncompressed_size", "expected a size like"),
    ("[[image_set]]", "[[image]]\nref = \"registry.example/lib:v1\"\nlayers = [ { id = \"base\", size = \"100MB\", uncompressed_size = \"1GB\" } ]\n\n[[image_set]]", "1GB", "image.registry.example/lib:v1.layers[0].uncompressed_size", "unpacks to one size"),
    ("layers = [", "platforms = [\"amd64\", \"vax\"]\nlayers = [", "platforms", "image.registry.example/app:v1.platforms[1]", "unknown architecture"),
    ("ref = \"registry.example/fn-{n}:v1\"", "ref = \"registry.example/fn:v1\"", "fn:v1", "image_set.fns.ref", "{n}"),
    ("count = 3", "count = 0", "count = 0", "image_set.fns.count", "between 1 and"),
    ("kind = \"deployment\"", "kind = \"statefulset\"", "statefulset", "workload.web.kind", "unknown workload kind"),
    ("replicas = 2", "replicas = 2\nrate = \"2/s\"", "\nrate = ", "workload.web.rate", "only valid for kind = \"poisson\""),
    ("replicas = 2", "replicas = 2\nrollout = { max_surge = 0, max_unavailable = \"0%\" }", "rollout", "workload.web.rollout.max_unavailable", "may not be 0 when `maxSurge` is 0"),
    ("replicas = 2", "replicas = 2\nrollout = { max_unavailable = \"150%\" }", "rollout", "workload.web.rollout.max_unavailable", "greater than 100%"),
    ("replicas = 2", "replicas = 2\nupdate = { at = \"1m\", image = \"registry.example/app:v9\" }", "update", "workload.web.update.image", "not declared"),
    ("replicas = 2", "replicas = 2\nnode_pools = [\"pool\", \"gpu\"]", "node_pools", "workload.web.node_pools[1]", "no node_pool named \"gpu\": expected one of the pools: pool"),
    ("replicas = 2", "replicas = 2\nimage_pull_secrets = [\"regcerd\"]", "image_pull_secrets", "workload.web.image_pull_secrets[0]", "(accepted secrets: regcred)"),
    ("kind = \"deployment\"", "kind = 5", "kind = 5", "workload.web.kind", "invalid type"),
    ("replicas = 2", "replicas = \"2\"", "replicas", "workload.web.replicas", "expected an integer"),
    ("{ image = \"registry.example/app:v1\" }", "{ image = \"registry.example/other:v1\" }", "containers", "workload.web.pod.containers[0].image", "not declared"),
    ("{ image = \"registry.example/app:v1\" }", "{ image_set = \"fnz\" }", "containers", "workload.web.pod.containers[0].image_set", "no image_set named \"fnz\" (sets: fns)"),
    ("{ image = \"registry.example/app:v1\" }", "{ image_set = \"fns\", pick = \"zipf\" }", "containers", "workload.web.pod.containers[0]", "needs `zipf_s`"),
    ("{ image = \"registry.example/app:v1\" }", "{ image_set = \"fns\", pick = \"random\" }", "containers", "workload.web.pod.containers[0].pick", "sequential, uniform or zipf"),
    ("{ image = \"registry.example/app:v1\" }", "{ image = \"registry.example/app:v1\", pull_policy = \"Sometimes\" }", "containers", "workload.web.pod.containers[0].pull_policy", "Always, IfNotPresent or Never"),
    ("{ image = \"registry.example/app:v1\" }", "{ image = \"registry.example/app:v1\", run_for = \"1s\" }", "containers", "workload.web.pod.containers[0].run_for", "only applies to init_containers"),
    ("{ image = \"registry.example/app:v1\" }", "{ image = \"registry.example/app:v1\", cpu = 1 }", "containers", "workload.web.pod.containers[0].cpu", "unknown field `cpu`"),
    ("[workload.pod]", "[scheduler]\npolicy = \"random\"\n\n[workload.pod]", "policy", "scheduler.policy", "spread, binpack or image_locality"),
    ("[[node_pool]]", "[sweep]\nseeds = 0\n\n[[node_pool]]", "seeds", "sweep.seeds", "at least 1"),
    ("[[node_pool]]", "[sweep]\ngrid = { \"kubelet.registry_burst\" = [1] }\nbaseline = { \"kubelet.serialize_image_pulls\" = true }\n\n[[node_pool]]", "baseline", "sweep.baseline.\"kubelet.serialize_image_pulls\"", "not a grid axis"),
    ("[[node_pool]]", "[sweep]\ngrid = { \"kubelet.max_parallel_image_pulls\" = [1, 4] }\n\n[[node_pool]]", "grid", "sweep.grid.\"kubelet.max_parallel_image_pulls\"", "variant kubelet.max_parallel_image_pulls=4"),
    ("[[node_pool]]", "[sweep]\ngrid = { \"kubelet.no_such_key\" = [1] }\n\n[[node_pool]]", "grid", "sweep.grid.\"kubelet.no_such_key\"", "unknown field `no_such_key`"),
];

fn line_of(text: &str, needle: &str) -> usize {
    let at = text.find(needle).unwrap_or_else(|| panic!("needle {needle:?} not in text"));
    text[..at].matches('\n').count() + 1 + needle.chars().take_while(|c| *c == '\n').count()
}

#[test]
fn bad_inputs_report_line_and_key() {
    assert!(BAD.len() >= 30);
    let mut failures = Vec::new();
    for (i, &(from, to, needle, key, fragment)) in BAD.iter().enumerate() {
        assert!(BASE.contains(from), "case {i}: {from:?} not in BASE");
        let text = BASE.replacen(from, to, 1);
        let want_line = line_of(&text, needle);
        let err = match load(&text, "bad.toml", &[]) {
            Ok(_) => {
                failures.push(format!("case {i} ({key}): loaded without error"));
                continue;
            }
            Err(e) => e,
        };
        let rendered = err.to_string();
        let hit =
            err.diagnostics.iter().find(|d| d.key.as_deref() == Some(key) && d.message.contains(fragment));
        match hit {
            Some(d) if d.line == Some(want_line) => {
                assert!(rendered.contains(&format!("bad.toml:{want_line}:")), "{rendered}");
                assert!(rendered.contains(&format!("key `{key}`")), "{rendered}");
            }
            Some(d) => {
                failures.push(format!("case {i} ({key}): line {:?}, want {want_line}:\n{rendered}", d.line))
            }
            None => {
                failures.push(format!("case {i}: no diagnostic with key {key} and {fragment:?}:\n{rendered}"))
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

/// `load_grid_unchecked` (the variants of a sweep) skips only the check of the `[sweep]` grid's
/// variants: the grid value no variant can use fails `load`, not the variant's own load, and
/// every other mistake still fails both.
#[test]
fn a_variant_load_skips_only_the_grid_check() {
    let grid = "[sweep]\ngrid = { \"kubelet.max_parallel_image_pulls\" = [1, 4] }\n\n[[node_pool]]";
    let text = BASE.replacen("[[node_pool]]", grid, 1);
    let err = load(&text, "g.toml", &[]).expect_err("max_parallel 4 is invalid with serial pulls");
    assert!(err.to_string().contains("variant kubelet.max_parallel_image_pulls=4"), "{err}");
    let s = load_grid_unchecked(&text, "g.toml", &[]).expect("the file itself is valid");
    assert_eq!(s.sweep.expect("a sweep").grid.len(), 1);
    let bad = text.replacen("replicas = 2", "replicas = \"2\"", 1);
    let err = load_grid_unchecked(&bad, "g.toml", &[]).expect_err("a bad key still fails");
    assert!(err.to_string().contains("workload.web.replicas"), "{err}");
}

fn with(text: &str, sets: &[&str]) -> Result<Scenario, ScenarioError> {
    let ovs: Vec<Override> = sets.iter().map(|s| Override::parse(s).unwrap()).collect();
    load(text, "o.toml", &ovs)
}

/// BASE plus a second registry whose host extends the first one's, for longest-prefix selection.
fn two_registries() -> String {
    BASE.replacen(
        "[[image]]",
        "[[registry]]\nhost = \"registry.example.com\"\nlatency = \"1ms\"   # keep me\n\n[[image]]",
        1,
    )
}

#[test]
fn override_forms() {
    let s = with(BASE, &["kubelet.serialize_image_pulls=false"]).unwrap();
    assert!(!s.node_pools[0].kubelet.serialize_image_pulls);
    assert_eq!(s.kubelet.serialize_image_pulls, Some(false));

    assert_eq!(with(BASE, &["simulation.seed=7"]).unwrap().seed, 7);
    assert_eq!(with(BASE, &["simulation.name=\"with space\""]).unwrap().name, "with space");

    let s = with(BASE, &["registry.registry.example.bandwidth=1Gbps"]).unwrap();
    assert_eq!(s.registries[0].bandwidth_bytes_per_s, Dist::Constant(1.25e8));

    let text = two_registries();
    let s =
        with(&text, &["registry.registry.example.com.latency=5ms", "registry.registry.example.latency=2s"])
            .unwrap();
    assert_eq!(s.registries[1].latency_ns, Dist::Constant(5e6));
    assert_eq!(s.registries[0].latency_ns, Dist::Constant(2e9));

    assert_eq!(with(BASE, &["node_pool.pool.count=50"]).unwrap().node_pools[0].count, 50);
    let s = with(BASE, &["node_pool.pool.kubelet.serialize_image_pulls=false"]).unwrap();
    assert!(!s.node_pools[0].kubelet.serialize_image_pulls);
    assert_eq!(s.kubelet.serialize_image_pulls, Some(true), "[kubelet] itself unchanged");

    assert_eq!(with(BASE, &["sweep.seeds=3"]).unwrap().sweep.unwrap().seeds, Some(3));
    assert_eq!(with(BASE, &["image_set.fns.count=5"]).unwrap().image_sets[0].count, 5);
    assert_eq!(
        with(BASE, &["image.registry.example/app:v1.platforms=[\"arm64\"]"]).unwrap().images[0].platforms,
        Some(vec!["arm64".to_string()])
    );
    let s = with(BASE, &["workload.web.pod.containers[0].pull_policy=Always"]).unwrap();
    assert_eq!(s.workloads[0].pod.containers[0].pull_policy, Some(PullPolicy::Always));
    let s = with(BASE, &["workload.web.rollout={ max_surge = 1, max_unavailable = 0 }"]).unwrap();
    match &s.workloads[0].kind {
        WorkloadKind::Deployment { rollout, .. } => {
            assert_eq!(rollout.max_surge, IntOrPercent::Int(1));
            assert_eq!(rollout.max_unavailable, IntOrPercent::Int(0));
        }
        other => panic!("{other:?}"),
    }
    let s = with(BASE, &["sweep.grid.\"kubelet.registry_burst\"=[1, 2]"]).unwrap();
    assert_eq!(
        s.sweep.unwrap().grid,
        vec![("kubelet.registry_burst".to_string(), vec!["1".into(), "2".into()])]
    );
    // A new key inside an existing table, and a whole new table.
    let s = with(BASE, &["runtime.pull_overhead=50ms", "scheduler.policy=image_locality"]).unwrap();
    assert_eq!(s.runtime.pull_overhead_ns, Dist::Constant(5e7));
    assert_eq!(s.scheduler, SchedulerPolicy::ImageLocality);
}

#[test]
fn override_errors() {
    let e = with(BASE, &["node_pool.workers.count=1"]).unwrap_err();
    assert!(
        e.to_string().contains("available names: pool") || e.to_string().contains("available names"),
        "{e}"
    );
    assert!(e.to_string().contains("pool"), "{e}");

    let e = with(BASE, &["kubelet.bogus=1"]).unwrap_err();
    let d = &e.diagnostics[0];
    assert_eq!(d.key.as_deref(), Some("kubelet.bogus"));
    assert!(
        d.message.contains("unknown field `bogus`") && d.message.contains("--set kubelet.bogus=1"),
        "{e}"
    );

    let e = with(BASE, &["node_pool.pool.bandwidth=fast"]).unwrap_err();
    let d = &e.diagnostics[0];
    assert_eq!(d.key.as_deref(), Some("node_pool.pool.bandwidth"));
    assert_eq!(d.line, None, "the bad value is not in the file");
    assert!(d.message.contains("(value from --set node_pool.pool.bandwidth=fast)"), "{e}");

    let e = with(BASE, &["simulation.seed.x=1"]).unwrap_err();
    assert!(e.to_string().contains("not a table"), "{e}");
    let e = with(BASE, &["workload.web.pod.containers[3].image=x"]).unwrap_err();
    assert!(e.to_string().contains("out of range"), "{e}");
    assert!(Override::parse("novalue").is_err());

    // Lines of problems elsewhere in the file still point at the file as written, even when an
    // override inserted a key above them.
    let text = BASE.replacen("latency = \"10ms\"", "latency = \"10xs\"", 1);
    let e = with(&text, &["simulation.until=2h", "kubelet.registry_burst=20"]).unwrap_err();
    let d =
        e.diagnostics.iter().find(|d| d.key.as_deref() == Some("registry.registry.example.latency")).unwrap();
    assert_eq!(d.line, Some(line_of(&text, "10xs")));
}

#[test]
fn override_keeps_comments() {
    let text = two_registries();
    let mut doc: toml_edit::DocumentMut = text.parse().unwrap();
    overrides::apply(&mut doc, &Override::parse("registry.registry.example.com.latency=5ms").unwrap())
        .unwrap();
    assert!(doc.to_string().contains("latency = \"5ms\"   # keep me"), "{doc}");
}

#[test]
fn all_errors_are_collected() {
    let text = BASE
        .replacen("seed = 1", "seed = 1\nsede = 2", 1)
        .replacen("disk = \"100GiB\"", "disk = \"lots\"", 1)
        .replacen("latency = \"10ms\"", "latency = \"10ms\"\nfailure_rate = 2", 1)
        .replacen("serialize_image_pulls = true", "serialize_image_pulls = true\nregistry_bursts = 3", 1);
    let e = load(&text, "many.toml", &[]).unwrap_err();
    let keys: Vec<_> = e.diagnostics.iter().filter_map(|d| d.key.clone()).collect();
    for k in [
        "simulation.sede",
        "kubelet.registry_bursts",
        "node_pool.pool.disk",
        "registry.registry.example.failure_rate",
    ] {
        assert!(keys.iter().any(|x| x == k), "{k} missing from:\n{e}");
    }
    assert!(e.diagnostics.iter().all(|d| d.line.is_some()), "{e}");
}

#[test]
fn missing_required_parts() {
    let e = load("[simulation]\nseed = 1\n", "m.toml", &[]).unwrap_err().to_string();
    assert!(e.contains("m.toml:1:2: key `simulation`: missing required key `name`"), "{e}");
    assert!(e.contains("at least one [[node_pool]]"), "{e}");
    let e = load("[[node_pool]]\nname = \"p\"\ncount = 1\n", "m.toml", &[]).unwrap_err().to_string();
    assert!(e.contains("missing [simulation]"), "{e}");
    let e = load("[simulation\nname = 1", "syn.toml", &[]).unwrap_err();
    assert_eq!(e.diagnostics[0].line, Some(1));
    assert!(e.diagnostics[0].message.contains("TOML syntax error"), "{e}");
}

#[test]
fn invalid_container_reference_is_kept_for_run_time() {
    let text =
        BASE.replacen("{ image = \"registry.example/app:v1\" }", "{ image = \"Not/A:Ref:At:All\" }", 1);
    let s = ok(&text);
    match &s.workloads[0].pod.containers[0].image {
        ContainerImage::Ref { raw, image: None } => assert_eq!(raw, "Not/A:Ref:At:All"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn preloaded_only_images_without_registry() {
    // Usable when every eligible pool preloads it and it is never pulled...
    let text = BASE
        .replacen("count = 2", "count = 2\npreloaded = [\"quay.io/tools/sidecar:v1\"]", 1)
        .replacen(
        "containers = [ { image = \"registry.example/app:v1\" } ]",
        "containers = [ { image = \"registry.example/app:v1\" }, { image = \"quay.io/tools/sidecar:v1\" } ]",
        1,
    );
    let s = ok(&text);
    let id = s.images.len() - 1;
    assert_eq!(s.images[id].registry, None);
    assert!(
        matches!(s.workloads[0].pod.containers[1].image, ContainerImage::Ref { image: Some(i), .. } if i.idx() == id)
    );
    // ...but not with pull_policy = "Always".
    let text = text.replacen(
        "{ image = \"quay.io/tools/sidecar:v1\" }",
        "{ image = \"quay.io/tools/sidecar:v1\", pull_policy = \"Always\" }",
        1,
    );
    let e = load(&text, "p.toml", &[]).unwrap_err().to_string();
    assert!(e.contains("no [[registry]] serves \"quay.io\""), "{e}");
}

#[test]
fn distributions_in_every_form() {
    let text = BASE
        .replacen(
            "size = \"10MB\"",
            "size = { dist = \"empirical\", values = [\"20MB\", \"80MB\", \"1.2GB\"], weights = [5, 3, 1] }",
            1,
        )
        .replacen("latency = \"10ms\"", "latency = { dist = \"uniform\", min = \"10ms\", max = 0.02 }", 1)
        .replacen("container_start = \"0s\"", "container_start = { dist = \"constant\", value = \"1s\" }", 1)
        .replacen(
            "bandwidth = \"10Gbps\"",
            "bandwidth = { dist = \"lognormal\", median = \"1Gbps\", sigma = 0.5 }",
            1,
        );
    let s = ok(&text);
    assert_eq!(s.registries[0].latency_ns, Dist::Uniform { min: 1e7, max: 2e7 });
    assert_eq!(s.runtime.container_start_ns, Dist::Constant(1e9));
    assert_eq!(s.node_pools[0].bandwidth_bytes_per_s, Dist::LogNormal { median: 1.25e8, sigma: 0.5 });
    match &s.images[1].layers {
        ImageLayers::Drawn { size_bytes: Dist::Empirical { values, cum_weights }, .. } => {
            assert_eq!(values, &vec![2e7, 8e7, 1.2e9]);
            assert_eq!(cum_weights, &vec![5.0, 8.0, 9.0]);
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn workload_kinds() {
    let text = BASE.replacen(
        "[[workload]]",
        "[[workload]]\nname = \"jobs\"\nkind = \"batch\"\ncount = 4\nstart = \"1m\"\n[workload.pod]\ncontainers = [ { image_set = \"fns\", pick = \"zipf\", zipf_s = 1.1 } ]\n\n\
         [[workload]]\nname = \"arrivals\"\nkind = \"poisson\"\nrate = \"120/m\"\n[workload.pod]\ninit_containers = [ { image = \"registry.example/app:v1\", run_for = \"2s\" } ]\ncontainers = [ { image_set = \"fns\" } ]\n\n\
         [[workload]]\nname = \"agents\"\nkind = \"daemonset\"\n[workload.pod]\ncontainers = [ { image = \"registry.example/app:v1\" } ]\n\n[[workload]]",
        1,
    );
    let s = ok(&text);
    assert!(
        matches!(s.workloads[0].kind, WorkloadKind::Batch { count: 4, at } if at == SimDuration::from_secs(60))
    );
    assert!(matches!(
        s.workloads[0].pod.containers[0].image,
        ContainerImage::Set { pick: Pick::Zipf { s }, .. } if s == 1.1
    ));
    assert!(
        matches!(&s.workloads[1].kind, WorkloadKind::Poisson { rate_per_s: Dist::Constant(r), count: None } if *r == 2.0)
    );
    assert!(matches!(
        s.workloads[1].pod.containers[0].image,
        ContainerImage::Set { pick: Pick::Sequential, .. }
    ));
    assert!(matches!(s.workloads[2].kind, WorkloadKind::DaemonSet { .. }));
}

mod no_panic {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

        /// Any edit of a valid file loads or fails with diagnostics; it never panics.
        #[test]
        fn mangled_files_do_not_panic(start in 0usize..BASE.len(), len in 0usize..40, insert in "[ -~\n]{0,12}") {
            let mut text = BASE.to_string();
            let start = (0..=start).rev().find(|i| text.is_char_boundary(*i)).unwrap_or(0);
            let end = (start + len).min(text.len());
            let end = (end..=text.len()).find(|i| text.is_char_boundary(*i)).unwrap_or(text.len());
            text.replace_range(start..end, &insert);
            let _ = load(&text, "fuzz.toml", &[]);
        }

        #[test]
        fn arbitrary_overrides_do_not_panic(key in "[a-z_.\\[\\]0-9/:]{1,40}", value in "[ -~]{0,20}") {
            let _ = load(BASE, "fuzz.toml", &[Override { key, value }]);
        }
    }
}

#[test]
fn runtime_profiles() {
    let s = ok(BASE);
    assert_eq!((s.runtime.profile, s.runtime.max_concurrent_downloads), (RuntimeProfile::Containerd17, 3));
    let with =
        |profile: &str| BASE.replacen("[runtime]\n", &format!("[runtime]\nprofile = \"{profile}\"\n"), 1);
    // BASE sets max_concurrent_downloads = 3 explicitly: it overrides CRI-O's 6.
    let s = ok(&with("cri-o"));
    assert_eq!((s.runtime.profile, s.runtime.max_concurrent_downloads), (RuntimeProfile::CriO, 3));
    let s = ok(&with("cri-o").replacen("max_concurrent_downloads = 3\n", "", 1));
    assert_eq!(s.runtime.max_concurrent_downloads, 6, "the profile's default");
    assert_eq!(ok(&with("containerd-2.0")).runtime.profile, RuntimeProfile::Containerd17);
    // containerd 2.1: the node-wide pool with the default 3, the 1.7 path with any other value.
    let s = ok(&with("containerd-2.1"));
    assert_eq!((s.runtime.profile, s.runtime.node_download_slots()), (RuntimeProfile::Containerd21, Some(3)));
    let s = ok(&with("containerd-2.1").replacen(
        "max_concurrent_downloads = 3\n",
        "max_concurrent_downloads = 5\n",
        1,
    ));
    assert_eq!(s.runtime.node_download_slots(), None, "falls back to the per-pull limiter");
    assert_eq!(ok(BASE).runtime.node_download_slots(), None);
    let polls: Vec<u64> = (0..10).map(|n| RuntimeProfile::ingest_poll_delay(n).0 / 1_000_000).collect();
    assert_eq!(polls, [16, 32, 64, 128, 256, 512, 1024, 2048, 2048, 2048]);
    let e = load(&with("crio"), "t.toml", &[]).err().map(|e| e.to_string()).unwrap_or_default();
    assert!(
        e.contains("key `runtime.profile`: unknown runtime profile \"crio\": did you mean \"cri-o\"?"),
        "{e}"
    );
}
