//! What the errors say: suggestions for misspelt keys and values, KubeletConfiguration names,
//! the root cause alone where its follow-on errors would come first, units in strings,
//! percentages as Kubernetes reads them, and Kubernetes documents given for a scenario.

use super::*;

fn errors(text: &str) -> Vec<Diagnostic> {
    match load(text, "e.toml", &[]) {
        Ok(_) => panic!("expected errors, it loaded:\n{text}"),
        Err(e) => e.diagnostics,
    }
}

/// The only diagnostic: its key and message.
fn only_error(text: &str) -> (String, String) {
    let ds = errors(text);
    assert_eq!(
        ds.len(),
        1,
        "expected one diagnostic, got:\n{}",
        ScenarioError { file: "e.toml".into(), diagnostics: ds.clone() }
    );
    (ds[0].key.clone().unwrap_or_default(), ds[0].message.clone())
}

const CONTAINER: &str = "{ image = \"registry.example/app:v1\" }";

#[test]
fn a_misspelt_kind_is_the_only_error() {
    let text = BASE.replacen(
        "kind = \"deployment\"",
        "kind = \"Deployment\"\nrollout = { max_surge = \"25%\", max_unavailable = 0 }\nupdate = { at = \"1m\", image = \"registry.example/app:v1\" }",
        1,
    );
    let (key, message) = only_error(&text);
    assert_eq!(key, "workload.web.kind");
    assert_eq!(
        message,
        "unknown workload kind \"Deployment\": did you mean \"deployment\"? (expected deployment, daemonset, poisson, batch or replay)"
    );
    // Keys of another kind are not reported while the kind itself is wrong, or missing.
    let text =
        BASE.replacen("kind = \"deployment\"", "kind = \"deploymnet\"\nrate = \"2/s\"\nat = \"1m\"", 1);
    assert!(only_error(&text).1.contains("did you mean \"deployment\"?"));
    let text = BASE.replacen("kind = \"deployment\"\n", "", 1);
    assert_eq!(only_error(&text).1, "missing required key `kind`");
    // A known kind still gets them.
    let text = BASE.replacen("replicas = 2", "replicas = 2\nat = \"1m\"", 1);
    assert_eq!(only_error(&text).1, "`at` is only valid for kind = \"batch\"");
}

#[test]
fn a_misspelt_value_hides_what_depends_on_it() {
    // zipf_s belongs to pick = "zipf": with a misspelt pick, only the pick is wrong.
    let text = BASE.replacen(CONTAINER, "{ image_set = \"fns\", pick = \"zipff\", zipf_s = 1.1 }", 1);
    let (key, message) = only_error(&text);
    assert_eq!(key, "workload.web.pod.containers[0].pick");
    assert!(message.starts_with("unknown pick \"zipff\": did you mean \"zipf\"?"), "{message}");
    // A preloaded image without a registry may be used with pull_policy = "Never"; misspelt,
    // the policy is the error, not the pull that the default policy would need.
    let text = BASE
        .replacen("count = 2", "count = 2\npreloaded = [\"quay.io/tools/sidecar:v1\"]", 1)
        .replacen(CONTAINER, "{ image = \"quay.io/tools/sidecar:v1\", pull_policy = \"never\" }", 1);
    let (key, message) = only_error(&text);
    assert_eq!(key, "workload.web.pod.containers[0].pull_policy");
    assert!(message.contains("did you mean \"Never\"?"), "{message}");
}

#[test]
fn a_misspelt_key_is_read_as_the_key_it_stands_for() {
    // Removed, `hots` would also leave the registry without a host and the image without a
    // registry; `nmae` would leave the pool without a name that the workload names.
    let text = BASE.replacen("host = \"registry.example\"", "hots = \"registry.example\"", 1);
    let (key, message) = only_error(&text);
    assert_eq!(key, "registry[0].hots");
    assert!(
        message.starts_with("unknown field `hots`: did you mean `host`? (expected one of host, "),
        "{message}"
    );
    let text = BASE.replacen("name = \"pool\"", "nmae = \"pool\"", 1).replacen(
        "replicas = 2",
        "replicas = 2\nnode_pools = [\"pool\"]",
        1,
    );
    assert_eq!(only_error(&text).0, "node_pool[0].nmae");
    // A misspelt table too, and a key inside it.
    let text = BASE.replacen("[workload.pod]", "[schedular]\npolcy = \"binpak\"\n\n[workload.pod]", 1);
    let ds = errors(&text);
    let keys: Vec<_> = ds.iter().map(|d| d.key.clone().unwrap_or_default()).collect();
    assert_eq!(keys, ["schedular", "schedular.polcy", "schedular.polcy"], "{ds:?}");
    assert!(ds[2].message.contains("did you mean \"binpack\"?"), "{ds:?}");
    assert_eq!(ds[2].line, Some(line_of(&text, "polcy")));
    // What is wrong with the value is reported at the key as written.
    let text = BASE.replacen("host = \"registry.example\"", "hots = 5", 1);
    let ds = errors(&text);
    assert_eq!(ds.len(), 2, "{ds:?}");
    assert_eq!(ds[1].key.as_deref(), Some("registry[0].hots"));
    assert!(ds[1].message.contains("invalid type"), "{ds:?}");
    assert_eq!(ds[1].line, Some(line_of(&text, "hots")));
    // No guess for a key that is like no accepted one.
    let text = BASE.replacen("replicas = 2", "replicas = 2\nlabels = [\"a\"]", 1);
    assert!(only_error(&text).1.starts_with("unknown field `labels`, expected one of `name`"));
}

#[test]
fn kubelet_configuration_names() {
    // Both are read as ours: no "maxParallelImagePulls cannot be larger than 1" follow-on.
    let text = BASE.replacen(
        "serialize_image_pulls = true",
        "serializeImagePulls = false\nmaxParallelImagePulls = 4",
        1,
    );
    let ds = errors(&text);
    let messages: Vec<&str> = ds.iter().map(|d| d.message.as_str()).collect();
    assert_eq!(
        messages,
        [
            "unknown field `serializeImagePulls`: KubeletConfiguration's `serializeImagePulls` is `kubelet.serialize_image_pulls` here",
            "unknown field `maxParallelImagePulls`: KubeletConfiguration's `maxParallelImagePulls` is `kubelet.max_parallel_image_pulls` here",
        ]
    );
    let cases = [
        ("count = 2", "count = 2\nkubelet = { imageMinimumGCAge = \"2m\" }", "node_pool.pool.kubelet.imageMinimumGCAge", "is `node_pool.pool.kubelet.image_minimum_gc_age` here"),
        ("count = 2", "count = 2\nkubelet = { maxPods = 20 }", "node_pool.pool.kubelet.maxPods", "KubeletConfiguration's `maxPods` is `node_pool.pool.max_pods` here"),
        ("[simulation]", "imageMaximumGCAge = \"1h\"\n[simulation]", "imageMaximumGCAge", "is `kubelet.image_maximum_gc_age` here: put it in [kubelet]"),
        ("max_concurrent_downloads = 3", "max_concurrent_downloads = 3\nregistryBurst = 3", "runtime.registryBurst", "put it in [kubelet]"),
        ("serialize_image_pulls = true", "serialise_image_pulls = true", "kubelet.serialise_image_pulls", "did you mean `serialize_image_pulls`?"),
        ("serialize_image_pulls = true", "serialize_image_pulls = true\nimagePullCredentialsVerificationPolicy = \"AlwaysVerify\"", "kubelet.imagePullCredentialsVerificationPolicy", "is `kubelet.image_pull_credentials_verification_policy` here"),
        ("serialize_image_pulls = true", "serialize_image_pulls = true\npreloadedImagesVerificationAllowlist = []", "kubelet.preloadedImagesVerificationAllowlist", "is `kubelet.preloaded_images_verification_allowlist` here"),
        ("count = 2", "count = 2\nregistry_pull_qps = 3", "node_pool.pool.registry_pull_qps", "is a kubelet setting: put it in [kubelet] (or in this pool's `kubelet = { registry_pull_qps = ... }`)"),
        ("serialize_image_pulls = true", "serialize_image_pulls = true\nunpack_rate = \"1GB/s\"", "kubelet.unpack_rate", "is a container runtime setting: put it in [runtime]"),
    ];
    for (from, to, key, fragment) in cases {
        let text = BASE.replacen(from, to, 1);
        let (k, m) = only_error(&text);
        assert_eq!(k, key, "{m}");
        assert!(m.contains(fragment), "{key}: {m}");
    }
}

#[test]
fn suggestions_for_values() {
    let cases = [
        ("[workload.pod]", "[scheduler]\npolicy = \"binpak\"\n\n[workload.pod]", "scheduler.policy", "did you mean \"binpack\"?"),
        ("count = 2", "count = 2\narch = \"aarch64\"", "node_pool.pool.arch", "\"aarch64\" is \"arm64\""),
        ("count = 2", "count = 2\narch = \"amd46\"", "node_pool.pool.arch", "did you mean \"amd64\"?"),
        ("latency = \"10ms\"", "latency = \"10ms\"\nauth = \"Required\"", "registry.registry.example.auth", "got \"Required\": did you mean \"required\"?"),
        ("latency = \"10ms\"", "latency = { dist = \"expnential\", mean = \"10ms\" }", "registry.registry.example.latency.dist", "did you mean \"exponential\"?"),
        ("latency = \"10ms\"", "latency = { dist = \"exponential\", meen = \"10ms\" }", "registry.registry.example.latency.meen", "(did you mean `mean`? expected mean)"),
        ("serialize_image_pulls = true", "serialize_image_pulls = true\nimage_pull_credentials_verification_policy = \"NeverVerifyPreloaded\"", "kubelet.image_pull_credentials_verification_policy", "did you mean \"NeverVerifyPreloadedImages\"?"),
    ];
    for (from, to, key, fragment) in cases {
        let text = BASE.replacen(from, to, 1);
        let (k, m) = only_error(&text);
        assert_eq!(k, key, "{m}");
        assert!(m.contains(fragment), "{key}: {m}");
    }
}

#[test]
fn a_number_in_a_string_needs_its_unit() {
    let cases = [
        (
            "size = \"10MB\"",
            "size = \"700\"",
            "image_set.fns.size",
            "a size needs a unit, e.g. \"700MB\" or \"700MiB\"; a bare TOML number (no quotes) is bytes",
        ),
        (
            "latency = \"10ms\"",
            "latency = \"10\"",
            "registry.registry.example.latency",
            "a duration needs a unit, e.g. \"10s\" or \"10m\"; a bare TOML number (no quotes) is seconds",
        ),
        (
            "bandwidth = \"10Gbps\"",
            "bandwidth = \"10\"",
            "node_pool.pool.bandwidth",
            "a bandwidth needs a unit, e.g. \"10Mbps\" (bits) or \"10MB/s\" (bytes), or \"unlimited\"",
        ),
        (
            "size = \"10MB\"",
            "size = { dist = \"uniform\", min = \"1MB\", max = \"20\" }",
            "image_set.fns.size.max",
            "a size needs a unit",
        ),
    ];
    for (from, to, key, fragment) in cases {
        let (k, m) = only_error(&BASE.replacen(from, to, 1));
        assert_eq!(k, key, "{m}");
        assert!(m.contains(fragment), "{key}: {m}");
    }
    // A bare TOML number is in the base unit, as the contract says.
    let s = ok(&BASE
        .replacen("size = \"10MB\"", "size = 700", 1)
        .replacen("latency = \"10ms\"", "latency = 0.01", 1)
        .replacen("bandwidth = \"10Gbps\"", "bandwidth = 1000", 1));
    assert_eq!(s.registries[0].latency_ns, Dist::Constant(1e7));
    assert_eq!(s.node_pools[0].bandwidth_bytes_per_s, Dist::Constant(1000.0));
    assert!(
        matches!(&s.images[1].layers, ImageLayers::Drawn { size_bytes: Dist::Constant(x), .. } if *x == 700.0)
    );
}

fn rollout(surge: &str, unavailable: &str) -> String {
    BASE.replacen(
        "replicas = 2",
        &format!("replicas = 2\nrollout = {{ max_surge = {surge}, max_unavailable = {unavailable} }}"),
        1,
    )
}

#[test]
fn percentages_as_kubernetes_reads_them() {
    let s = ok(&rollout("\"25%\"", "3"));
    let WorkloadKind::Deployment { rollout: r, .. } = &s.workloads[0].kind else { panic!() };
    assert_eq!((r.max_surge, r.max_unavailable), (IntOrPercent::Percent(25), IntOrPercent::Int(3)));
    assert!(s.notes.is_empty());
    // The contract writes max_unavailable = "0": accepted, and noted (Kubernetes refuses it).
    let s = ok(&rollout("\"25%\"", "\"0\""));
    let WorkloadKind::Deployment { rollout: r, .. } = &s.workloads[0].kind else { panic!() };
    assert_eq!(r.max_unavailable, IntOrPercent::Int(0));
    assert_eq!(s.notes.len(), 1);
    assert_eq!(s.notes[0].key.as_deref(), Some("workload.web.rollout.max_unavailable"));
    assert!(s.notes[0].message.contains("Kubernetes refuses it (\"string is not a percentage\")"));
    let bad = [
        ("\"25 %\"", "a percentage has no spaces: write \"25%\""),
        ("\" 25%\"", "a percentage has no spaces: write \"25%\""),
        ("\"25% \"", "a percentage has no spaces: write \"25%\""),
        ("\"25.5%\"", "a percentage is a whole number"),
        ("\"+25%\"", "a percentage has no sign: write \"25%\""),
        ("\"-25%\"", "must not be negative"),
        ("\"%\"", "expected an integer or a percentage like \"25%\""),
        ("\"25 percent\"", "expected an integer or a percentage like \"25%\""),
        ("\"99999999999%\"", "percentage too large"),
        ("-1", "must be greater than or equal to 0"),
        ("2.5", "expected an integer or a percentage"),
    ];
    for (value, fragment) in bad {
        let (key, message) = only_error(&rollout(value, "1"));
        assert_eq!(key, "workload.web.rollout.max_surge", "{value}");
        assert!(message.contains(fragment), "{value}: {message}");
    }
}

#[test]
fn kubernetes_documents_are_named() {
    let e = load("{\"apiVersion\": \"v1\", \"kind\": \"NodeList\", \"items\": []}", "nodes.json", &[])
        .unwrap_err();
    assert_eq!(e.diagnostics.len(), 1);
    assert_eq!((e.diagnostics[0].line, e.diagnostics[0].key.as_deref()), (None, None));
    assert!(e.to_string().starts_with(
        "nodes.json: this is a Kubernetes NodeList (JSON), not a pullsim scenario (TOML). Describe its nodes"
    ));
    let e = load("apiVersion: batch/v1\nkind: Job\n", "job.yaml", &[]).unwrap_err().to_string();
    assert!(e.contains("a Job is kind = \"batch\""), "{e}");
    // A TOML mistake is still a TOML syntax error.
    let e = load("[simulation]\nname: \"x\"\n", "t.toml", &[]).unwrap_err().to_string();
    assert!(e.contains("TOML syntax error"), "{e}");
}

#[test]
fn a_file_error_is_not_repeated_for_every_grid_value() {
    let grid = "[sweep]\ngrid = { \"kubelet.registry_burst\" = [1, 2], \"runtime.max_concurrent_downloads\" = [1, 2] }\n\n[[node_pool]]";
    let text = BASE.replacen("[[node_pool]]", grid, 1).replacen("disk = \"100GiB\"", "disk = \"lots\"", 1);
    assert_eq!(only_error(&text).0, "node_pool.pool.disk");
    let text = BASE.replacen(
        "[[node_pool]]",
        &grid.replace("\n\n", "\nbaseline = { \"kubelet.registry_burst\" = 3 }\n\n"),
        1,
    );
    assert_eq!(only_error(&text).0, "sweep.baseline.\"kubelet.registry_burst\"");
}

#[test]
fn the_eviction_threshold_as_the_kubelet_reads_it() {
    let with = |v: &str| {
        BASE.replacen(
            "serialize_image_pulls = true",
            &format!("serialize_image_pulls = true\neviction_hard_imagefs_available = {v}"),
            1,
        )
    };
    let threshold = |v: &str| {
        load(&with(v), "e.toml", &[]).expect("valid").node_pools[0].kubelet.eviction_imagefs_threshold
    };
    use crate::k8s::eviction::ThresholdValue;
    assert_eq!(threshold("\"15%\""), Some(ThresholdValue::Percentage(0.15)));
    assert_eq!(threshold("\"10GiB\""), Some(ThresholdValue::Quantity(10 << 30)));
    // 0, "0%" and "100%": no threshold (the kubelet ignores "0%" and "100%").
    for v in ["0", "\"0%\"", "\"100%\""] {
        assert_eq!(threshold(v), None, "{v}");
    }
    // Unset: the kubelet's default.
    let scn = load(BASE, "e.toml", &[]).expect("valid");
    assert_eq!(scn.node_pools[0].kubelet.eviction_imagefs_threshold, Some(ThresholdValue::Percentage(0.15)));
    let cases = [
        ("\"150%\"", "eviction percentage threshold imagefs.available must be <= 100%: 150%"),
        ("\"-5%\"", "eviction percentage threshold imagefs.available must be >= 0%: -5%"),
        ("\"ten%\"", "evictionHard imagefs.available: strconv.ParseFloat: parsing \"ten\": invalid syntax"),
        ("\"0B\"", "eviction threshold imagefs.available must be positive: 0"),
        ("15", "expected a percentage like \"15%\", a size like \"10GiB\", or 0 (no threshold), got an integer `15`"),
    ];
    for (v, want) in cases {
        let (key, message) = only_error(&with(v));
        assert_eq!(
            (key.as_str(), message.as_str()),
            ("kubelet.eviction_hard_imagefs_available", want),
            "{v}"
        );
    }
    let (key, message) = only_error(&with("\"ten\""));
    assert_eq!(key, "kubelet.eviction_hard_imagefs_available");
    assert!(message.contains("expected a percentage like \"15%\""), "{message}");
}
