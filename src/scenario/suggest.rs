//! "Did you mean": the accepted name closest to a misspelt one, and what to say about a key that
//! belongs elsewhere (a KubeletConfiguration field name, a kubelet setting outside `[kubelet]`).
//!
//! A suggestion is made only when it is likely to be what was meant: the same letters ignoring
//! case, `-` and `_`, or at most one edit per three characters (adjacent transpositions count as
//! one edit, so `deploymnet` and `bandwidht` are one edit away). Further than that a guess
//! misleads more than it helps, and the message lists what is accepted instead.

use super::locate::{KeyPath, Seg};

/// KubeletConfiguration field names (as in its YAML and the kubelet's messages) and the scenario
/// key for each, in `[kubelet]` or a pool's `kubelet`.
pub const KUBELET_FIELDS: &[(&str, &str)] = &[
    ("serializeImagePulls", "serialize_image_pulls"),
    ("maxParallelImagePulls", "max_parallel_image_pulls"),
    ("registryPullQPS", "registry_pull_qps"),
    ("registryBurst", "registry_burst"),
    ("imageGCHighThresholdPercent", "image_gc_high_threshold_percent"),
    ("imageGCLowThresholdPercent", "image_gc_low_threshold_percent"),
    ("imageMinimumGCAge", "image_minimum_gc_age"),
    ("imageMaximumGCAge", "image_maximum_gc_age"),
    ("imagePullCredentialsVerificationPolicy", "image_pull_credentials_verification_policy"),
    ("preloadedImagesVerificationAllowlist", "preloaded_images_verification_allowlist"),
    ("ensureSecretPulledImages", "ensure_secret_pulled_images"),
];

/// Keys of `[runtime]` (a runtime setting written in another table is pointed there).
const RUNTIME_KEYS: &[&str] = &[
    "max_concurrent_downloads",
    "unpack_rate",
    "container_start",
    "pull_overhead",
    "uncompressed_ratio",
    "unpack_layer_overhead",
    "discard_unpacked_layers",
    "max_concurrent_unpacks",
];

/// Edit distance with adjacent transpositions (optimal string alignment), over characters.
pub fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    // Three rows: the one before the previous (for transpositions), the previous, the current.
    let mut before: Vec<usize> = vec![0; b.len() + 1];
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    let mut cur: Vec<usize> = vec![0; b.len() + 1];
    for i in 1..=a.len() {
        cur[0] = i;
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            cur[j] = (prev[j] + 1).min(cur[j - 1] + 1).min(prev[j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                cur[j] = cur[j].min(before[j - 2] + 1);
            }
        }
        std::mem::swap(&mut before, &mut prev);
        std::mem::swap(&mut prev, &mut cur);
    }
    prev[b.len()]
}

/// Lower case without `-` and `_`: spellings that differ only in these are the same name.
fn folded(s: &str) -> String {
    s.chars().filter(|c| *c != '_' && *c != '-').flat_map(char::to_lowercase).collect()
}

/// The candidate `word` most likely stands for, if one is close enough (see the module doc).
/// Ties go to the earlier candidate.
pub fn closest<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let w = folded(word);
    let budget = w.chars().count().max(3) / 3;
    let mut best: Option<(usize, &str)> = None;
    for c in candidates {
        if c == word {
            return None;
        }
        let cf = folded(c);
        let d = if cf == w { 0 } else { edit_distance(&w, &cf) };
        // A short candidate is not a correction of a word that shares almost nothing with it.
        if d > budget || d >= cf.chars().count() {
            continue;
        }
        if best.is_none_or(|(bd, _)| d < bd) {
            best = Some((d, c));
        }
    }
    best.map(|(_, c)| c)
}

/// `snake_case` of a camelCase name; a run of capitals is one word
/// (`imageGCHighThresholdPercent` → `image_gc_high_threshold_percent`, `registryPullQPS` →
/// `registry_pull_qps`).
pub fn snake_case(name: &str) -> String {
    let chars: Vec<char> = name.chars().collect();
    let mut out = String::new();
    for (i, &ch) in chars.iter().enumerate() {
        if ch.is_uppercase() && i > 0 {
            let prev = chars[i - 1];
            let next_lower = chars.get(i + 1).is_some_and(|n| n.is_lowercase());
            if prev.is_lowercase() || prev.is_ascii_digit() || (prev.is_uppercase() && next_lower) {
                out.push('_');
            }
        }
        out.extend(ch.to_lowercase());
    }
    out
}

/// `did you mean "x"? ` for an unknown enum value when an accepted one is close, else nothing.
/// Messages put it before their list of accepted values.
pub fn did_you_mean_value(value: &str, candidates: &[&str]) -> String {
    match closest(value, candidates.iter().copied()) {
        Some(c) => format!("did you mean {c:?}? "),
        None => String::new(),
    }
}

/// What to say about an unknown key, and the key to read it as while checking the rest.
pub struct UnknownKey {
    pub message: String,
    /// The accepted key the unknown one surely stands for (a typo or another spelling of it):
    /// validation goes on as if it had been written so, instead of reporting what its absence
    /// causes (a missing required key, a pool nobody can name).
    pub read_as: Option<String>,
}

/// Whether `parent` is `[kubelet]` or a pool's `kubelet` table.
fn is_kubelet_table(parent: &[Seg]) -> bool {
    match parent {
        [Seg::Key(k)] => k == "kubelet",
        [Seg::Key(np), Seg::Index { .. }, Seg::Key(k)] => np == "node_pool" && k == "kubelet",
        _ => false,
    }
}

fn is_node_pool(parent: &[Seg]) -> bool {
    matches!(parent, [Seg::Key(np), Seg::Index { .. }] if np == "node_pool")
}

/// Explains the unknown key `field` at `path`. `serde_message` is the deserializer's ("unknown
/// field `x`, expected one of `a`, `b`"), whose list of accepted keys is kept after the
/// suggestion.
pub fn unknown_key(path: &KeyPath, field: &str, serde_message: &str) -> UnknownKey {
    let parent = &path.0[..path.0.len().saturating_sub(1)];
    let parent_path = KeyPath(parent.to_vec());
    let expected = expected_keys(serde_message);
    let head = format!("unknown field `{field}`");
    let keep = |message: String| UnknownKey { message, read_as: None };

    // A KubeletConfiguration field name (its YAML is camelCase).
    let camel = KUBELET_FIELDS.iter().find(|(c, _)| c.eq_ignore_ascii_case(field));
    if let Some((camel, key)) = camel {
        if is_kubelet_table(parent) {
            return UnknownKey {
                message: format!(
                    "{head}: KubeletConfiguration's `{camel}` is `{}` here",
                    parent_path.key(key)
                ),
                read_as: Some(key.to_string()),
            };
        }
        return keep(format!(
            "{head}: KubeletConfiguration's `{camel}` is `kubelet.{key}` here: put it in [kubelet] \
             (or in a node pool's `kubelet` table)"
        ));
    }
    if field.eq_ignore_ascii_case("maxPods") {
        let at = if is_node_pool(parent) || (is_kubelet_table(parent) && parent.len() == 3) {
            format!("`{}`", KeyPath(parent[..2].to_vec()).key("max_pods"))
        } else {
            "a node pool's `max_pods`".to_string()
        };
        return keep(format!("{head}: KubeletConfiguration's `maxPods` is {at} here"));
    }

    // A key of another table.
    let kubelet_key = KUBELET_FIELDS.iter().any(|(_, k)| *k == field) || field == "image_pull_backoff";
    if kubelet_key && !is_kubelet_table(parent) {
        let pool = if is_node_pool(parent) {
            format!(" (or in this pool's `kubelet = {{ {field} = ... }}`)")
        } else {
            String::new()
        };
        return keep(format!("{head}: `{field}` is a kubelet setting: put it in [kubelet]{pool}"));
    }
    if RUNTIME_KEYS.contains(&field) && parent != [Seg::Key("runtime".into())] {
        return keep(format!("{head}: `{field}` is a container runtime setting: put it in [runtime]"));
    }
    if field == "max_pods" && is_kubelet_table(parent) {
        return keep(format!("{head}: `max_pods` is a key of the node pool here, not of its kubelet"));
    }

    // A typo, another case, or camelCase of an accepted key.
    let snake = snake_case(field);
    let guess = expected
        .iter()
        .map(String::as_str)
        .find(|k| *k == snake && snake != field)
        .or_else(|| closest(field, expected.iter().map(String::as_str)));
    match guess {
        Some(g) => {
            let list = if expected.len() > 1 {
                format!(" (expected one of {})", expected.join(", "))
            } else {
                String::new()
            };
            UnknownKey { message: format!("{head}: did you mean `{g}`?{list}"), read_as: Some(g.to_string()) }
        }
        None => keep(serde_message.to_string()),
    }
}

/// The accepted keys named in serde's "unknown field" message (every backticked name after the
/// first).
fn expected_keys(message: &str) -> Vec<String> {
    message.split('`').skip(1).step_by(2).skip(1).map(str::to_string).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distances() {
        assert_eq!(edit_distance("", ""), 0);
        assert_eq!(edit_distance("abc", ""), 3);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        assert_eq!(edit_distance("deploymnet", "deployment"), 1, "a transposition is one edit");
        assert_eq!(edit_distance("bandwidht", "bandwidth"), 1);
        assert_eq!(edit_distance("binpak", "binpack"), 1);
        assert_eq!(edit_distance("ca", "abc"), 3, "optimal string alignment, not full Damerau");
    }

    #[test]
    fn closest_only_when_close() {
        let kinds = ["deployment", "daemonset", "poisson", "batch"];
        assert_eq!(closest("deploymnet", kinds), Some("deployment"));
        assert_eq!(closest("Deployment", kinds), Some("deployment"));
        assert_eq!(closest("DaemonSet", kinds), Some("daemonset"));
        assert_eq!(closest("statefulset", kinds), None);
        assert_eq!(closest("job", kinds), None);
        assert_eq!(closest("binpak", ["spread", "binpack", "image_locality"]), Some("binpack"));
        assert_eq!(
            closest("image-locality", ["spread", "binpack", "image_locality"]),
            Some("image_locality")
        );
        assert_eq!(closest("ifnotpresent", ["Always", "IfNotPresent", "Never"]), Some("IfNotPresent"));
        assert_eq!(
            closest("serialise_image_pulls", ["serialize_image_pulls"]),
            Some("serialize_image_pulls")
        );
        assert_eq!(closest("x", ["at", "id"]), None);
        assert_eq!(closest("sd", ["mean"]), None);
    }

    #[test]
    fn snake_cases() {
        assert_eq!(snake_case("imageGCHighThresholdPercent"), "image_gc_high_threshold_percent");
        assert_eq!(snake_case("registryPullQPS"), "registry_pull_qps");
        assert_eq!(snake_case("imagePullSecrets"), "image_pull_secrets");
        assert_eq!(snake_case("maxSurge"), "max_surge");
        assert_eq!(snake_case("count"), "count");
        for (camel, key) in KUBELET_FIELDS {
            assert_eq!(snake_case(camel), *key);
        }
    }

    fn explain(path: KeyPath, field: &str, expected: &[&str]) -> UnknownKey {
        let list: Vec<String> = expected.iter().map(|k| format!("`{k}`")).collect();
        unknown_key(&path, field, &format!("unknown field `{field}`, expected one of {}", list.join(", ")))
    }

    #[test]
    fn unknown_keys() {
        let pool = KeyPath::root().key("node_pool").index(0, Some("workers"));
        let u = explain(pool.key("bandwidht"), "bandwidht", &["name", "count", "bandwidth"]);
        assert_eq!(
            u.message,
            "unknown field `bandwidht`: did you mean `bandwidth`? (expected one of name, count, bandwidth)"
        );
        assert_eq!(u.read_as.as_deref(), Some("bandwidth"));

        let k = KeyPath::root().key("kubelet");
        let u = explain(k.key("serializeImagePulls"), "serializeImagePulls", &["serialize_image_pulls"]);
        assert_eq!(
            u.message,
            "unknown field `serializeImagePulls`: KubeletConfiguration's `serializeImagePulls` is \
             `kubelet.serialize_image_pulls` here"
        );
        assert_eq!(u.read_as.as_deref(), Some("serialize_image_pulls"));
        let u =
            explain(pool.key("kubelet").key("registryPullQPS"), "registryPullQPS", &["registry_pull_qps"]);
        assert!(
            u.message.ends_with("is `node_pool.workers.kubelet.registry_pull_qps` here"),
            "{}",
            u.message
        );

        let u = explain(KeyPath::root().key("serializeImagePulls"), "serializeImagePulls", &["simulation"]);
        assert!(u.message.contains("put it in [kubelet]"), "{}", u.message);
        assert_eq!(u.read_as, None);
        let u = explain(pool.key("serialize_image_pulls"), "serialize_image_pulls", &["name"]);
        assert!(
            u.message.contains("this pool's `kubelet = { serialize_image_pulls = ... }`"),
            "{}",
            u.message
        );
        let u = explain(k.key("unpack_rate"), "unpack_rate", &["serialize_image_pulls"]);
        assert!(u.message.contains("put it in [runtime]"), "{}", u.message);
        let u = explain(pool.key("kubelet").key("maxPods"), "maxPods", &["serialize_image_pulls"]);
        assert!(u.message.ends_with("is `node_pool.workers.max_pods` here"), "{}", u.message);

        let w = KeyPath::root().key("workload").index(0, Some("web"));
        let u = explain(w.key("imagePullSecrets"), "imagePullSecrets", &["name", "image_pull_secrets"]);
        assert_eq!(u.read_as.as_deref(), Some("image_pull_secrets"));
        let u = explain(w.key("labels"), "labels", &["name", "kind"]);
        assert_eq!(u.message, "unknown field `labels`, expected one of `name`, `kind`");
        assert_eq!(u.read_as, None);
    }
}
