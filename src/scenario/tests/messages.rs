//! What the errors say: suggestions for misspelt keys and values, and KubeletConfiguration names.

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
        ("serialize_image_pulls = true", "serialize_image_pulls = true\nimage_pull_credentials_verification_policy = \"NeverVerifyPreloaded\"", "kubelet.image_pull_credentials_verification_policy", "did you mean \"NeverVerifyPreloadedImages\"?"),
    ];
    for (from, to, key, fragment) in cases {
        let text = BASE.replacen(from, to, 1);
        let (k, m) = only_error(&text);
        assert_eq!(k, key, "{m}");
        assert!(m.contains(fragment), "{key}: {m}");
    }
}
