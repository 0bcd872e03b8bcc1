//! `[kubelet]`, each pool's `kubelet` override, and `[runtime]`. The kubelet settings are
//! checked by the kubelet's own defaulting and validation (`k8s::config::resolve`) as merged into
//! each pool, and every message is placed at the key it names.

use super::quantity::{Bound, Kind};
use super::{unknown_value, Ctx};
use crate::k8s::config::{resolve, KubeletConfig, KubeletConfigInput};
use crate::k8s::eviction::ThresholdInput;
use crate::k8s::verification::VerificationPolicy;
use crate::scenario::locate::KeyPath;
use crate::scenario::raw::{RawKubelet, RawRuntime, RawScenario};
use crate::scenario::suggest;
use crate::scenario::{RuntimeProfile, RuntimeSpec};
use crate::time::SimDuration;
use std::collections::BTreeSet;
use toml::Value;

/// The `[kubelet]` table: what pools merge their overrides over.
pub(super) struct BaseKubelet {
    pub(super) path: KeyPath,
    pub(super) raw: RawKubelet,
    pub(super) input: KubeletConfigInput,
    /// Messages already placed in `[kubelet]` (one per problem, not one per pool).
    pub(super) reported_at_base: BTreeSet<String>,
}

/// Reads `[kubelet]`.
pub(super) fn base_kubelet(c: &mut Ctx, raw: &RawScenario) -> BaseKubelet {
    let kub_path = KeyPath::root().key("kubelet");
    let raw_kubelet = raw.kubelet.clone().unwrap_or_default();
    let kubelet = c.kubelet_input(&kub_path, &raw_kubelet);
    // `[kubelet]` takes effect only merged into each pool, so it is validated there (an invalid
    // combination that every pool overrides is not an error); without pools, on its own.
    let mut reported_at_base = BTreeSet::new();
    if raw.node_pool.is_empty() {
        c.resolve_kubelet(&kubelet, None, (&kub_path, &raw_kubelet), &kub_path, &mut reported_at_base);
    }
    BaseKubelet { path: kub_path, raw: raw_kubelet, input: kubelet, reported_at_base }
}

/// Reads `[runtime]`.
pub(super) fn runtime(c: &mut Ctx, raw: &RawScenario) -> RuntimeSpec {
    let rt_path = KeyPath::root().key("runtime");
    let default_rt = RawRuntime::default();
    let rt = raw.runtime.as_ref().unwrap_or(&default_rt);
    let profile = match rt.profile.as_deref() {
        None => RuntimeProfile::Containerd17,
        Some(name) => RuntimeProfile::parse(name).unwrap_or_else(|| {
            let names = RuntimeProfile::NAMES;
            c.err(
                &rt_path.key("profile"),
                unknown_value(format!("unknown runtime profile {name:?}"), name, &names, &names.join(", ")),
            );
            RuntimeProfile::Containerd17
        }),
    };
    let spec = RuntimeSpec {
        profile,
        max_concurrent_downloads: c.count_u32(
            &rt_path.key("max_concurrent_downloads"),
            rt.max_concurrent_downloads.as_ref(),
            1,
            profile.default_max_concurrent_downloads(),
        ),
        unpack_rate_bytes_per_s: c.dist_or(
            &rt_path.key("unpack_rate"),
            rt.unpack_rate.as_ref(),
            Kind::Bandwidth,
            Bound::Positive,
            f64::INFINITY,
        ),
        container_start_ns: c.dist_or(
            &rt_path.key("container_start"),
            rt.container_start.as_ref(),
            Kind::Duration,
            Bound::NonNegative,
            0.0,
        ),
        pull_overhead_ns: c.dist_or(
            &rt_path.key("pull_overhead"),
            rt.pull_overhead.as_ref(),
            Kind::Duration,
            Bound::NonNegative,
            0.0,
        ),
        uncompressed_ratio: uncompressed_ratio(c, &rt_path.key("uncompressed_ratio"), rt),
        unpack_layer_overhead: c.duration(
            &rt_path.key("unpack_layer_overhead"),
            rt.unpack_layer_overhead.as_ref(),
            SimDuration::ZERO,
        ),
        discard_unpacked_layers: rt.discard_unpacked_layers.unwrap_or(false),
        max_concurrent_unpacks: c.count_u32(
            &rt_path.key("max_concurrent_unpacks"),
            rt.max_concurrent_unpacks.as_ref(),
            1,
            1,
        ),
    };
    // Parallel unpack is the transfer service's (containerd 2.2, `plugins/transfer/local`
    // `limiterP`), with a snapshotter that can rebase (overlayfs); the 1.7 path and CRI-O
    // unpack one layer at a time.
    if spec.max_concurrent_unpacks > 1 && spec.node_download_slots().is_none() {
        c.err(
            &rt_path.key("max_concurrent_unpacks"),
            "more than one unpack at a time needs containerd's transfer service (2.2 and later): \
             runtime.profile = \"containerd-2.1\" with max_concurrent_downloads = 3 and \
             discard_unpacked_layers = false; with any other runtime settings, leave it at 1",
        );
    }
    spec
}

/// `runtime.uncompressed_ratio`: a plain number, at least 1 (gzip never makes a layer larger
/// than a few bytes; a layer stored uncompressed has ratio 1) and finite.
fn uncompressed_ratio(c: &mut Ctx, path: &KeyPath, rt: &RawRuntime) -> f64 {
    let Some(v) = rt.uncompressed_ratio.as_ref() else { return 1.0 };
    match c.plain_number(path, v) {
        Some(x) if x.is_finite() && x >= 1.0 => x,
        Some(x) => {
            c.err(
                path,
                format!("must be a number of at least 1 (unpacked size over compressed size), got {x}"),
            );
            1.0
        }
        None => 1.0,
    }
}

/// Names a kubelet validation message may use for a field besides its camelCase name
/// (`suggest::KUBELET_FIELDS`): `VerificationPolicy::parse` words one in plain English.
const KUBELET_MESSAGE_ALIASES: &[(&str, &str)] = &[
    ("credential verification policy", "image_pull_credentials_verification_policy"),
    // The eviction threshold's messages name the signal.
    ("imagefs.available", "eviction_hard_imagefs_available"),
];

/// The scenario key a kubelet message is about: the field named first in it.
fn kubelet_key_of(message: &str) -> Option<&'static str> {
    let lower = message.to_ascii_lowercase();
    suggest::KUBELET_FIELDS
        .iter()
        .chain(KUBELET_MESSAGE_ALIASES)
        .filter_map(|(camel, key)| lower.find(&camel.to_ascii_lowercase()).map(|pos| (pos, *key)))
        .min_by_key(|(pos, key)| (*pos, std::cmp::Reverse(key.len())))
        .map(|(_, key)| key)
}

fn kubelet_is_set(k: &RawKubelet, key: &str) -> bool {
    match key {
        "serialize_image_pulls" => k.serialize_image_pulls.is_some(),
        "max_parallel_image_pulls" => k.max_parallel_image_pulls.is_some(),
        "registry_pull_qps" => k.registry_pull_qps.is_some(),
        "registry_burst" => k.registry_burst.is_some(),
        "image_gc_high_threshold_percent" => k.image_gc_high_threshold_percent.is_some(),
        "image_gc_low_threshold_percent" => k.image_gc_low_threshold_percent.is_some(),
        "image_minimum_gc_age" => k.image_minimum_gc_age.is_some(),
        "image_maximum_gc_age" => k.image_maximum_gc_age.is_some(),
        "image_pull_credentials_verification_policy" => {
            k.image_pull_credentials_verification_policy.is_some()
        }
        "preloaded_images_verification_allowlist" => k.preloaded_images_verification_allowlist.is_some(),
        "ensure_secret_pulled_images" => k.ensure_secret_pulled_images.is_some(),
        "eviction_hard_imagefs_available" => k.eviction_hard_imagefs_available.is_some(),
        _ => false,
    }
}

impl Ctx {
    // The struct update keeps this compiling when `KubeletConfigInput` gains fields (feature
    // gates) that the scenario does not expose; today it may be a no-op.
    #[allow(clippy::needless_update)]
    pub(super) fn kubelet_input(&mut self, path: &KeyPath, k: &RawKubelet) -> KubeletConfigInput {
        let int = |this: &mut Ctx, key: &str, v: &Option<Value>| -> Option<i64> {
            v.as_ref().and_then(|v| this.int(&path.key(key), v))
        };
        let backoff_path = path.key("image_pull_backoff");
        let (initial, max) = match &k.image_pull_backoff {
            Some(b) => {
                let initial = self.duration_opt(&backoff_path.key("initial"), b.initial.as_ref());
                let max = self.duration_opt(&backoff_path.key("max"), b.max.as_ref());
                if initial == Some(SimDuration::ZERO) {
                    self.err(&backoff_path.key("initial"), "must be greater than 0");
                }
                if let (Some(i), Some(m)) = (initial, max) {
                    if m < i {
                        self.err(&backoff_path.key("max"), "must be at least `initial`");
                    }
                }
                (initial, max)
            }
            None => (None, None),
        };
        KubeletConfigInput {
            serialize_image_pulls: k.serialize_image_pulls,
            max_parallel_image_pulls: int(self, "max_parallel_image_pulls", &k.max_parallel_image_pulls),
            registry_pull_qps: int(self, "registry_pull_qps", &k.registry_pull_qps),
            registry_burst: int(self, "registry_burst", &k.registry_burst),
            image_gc_high_threshold_percent: int(
                self,
                "image_gc_high_threshold_percent",
                &k.image_gc_high_threshold_percent,
            ),
            image_gc_low_threshold_percent: int(
                self,
                "image_gc_low_threshold_percent",
                &k.image_gc_low_threshold_percent,
            ),
            image_minimum_gc_age: self
                .duration_opt(&path.key("image_minimum_gc_age"), k.image_minimum_gc_age.as_ref()),
            image_maximum_gc_age: self
                .duration_opt(&path.key("image_maximum_gc_age"), k.image_maximum_gc_age.as_ref()),
            image_pull_backoff_initial: initial,
            image_pull_backoff_max: max,
            image_pull_credentials_verification_policy: k.image_pull_credentials_verification_policy.clone(),
            preloaded_images_verification_allowlist: k.preloaded_images_verification_allowlist.clone(),
            ensure_secret_pulled_images: k.ensure_secret_pulled_images,
            eviction_hard_imagefs_available: k
                .eviction_hard_imagefs_available
                .as_ref()
                .and_then(|v| self.eviction_threshold(&path.key("eviction_hard_imagefs_available"), v)),
            // Fields the kubelet config grows later (feature gates) stay at their defaults.
            ..KubeletConfigInput::default()
        }
    }

    /// `eviction_hard_imagefs_available`: a percentage string as the kubelet reads it (checked
    /// by `k8s::config::validate`), a size in the scenario's units, or 0 for `"0%"` (no
    /// threshold, as the kubelet ignores `"0%"`).
    fn eviction_threshold(&mut self, path: &KeyPath, v: &Value) -> Option<ThresholdInput> {
        const EXPECTED: &str = "a percentage like \"15%\", a size like \"10GiB\", or 0 (no threshold)";
        match v {
            Value::Integer(0) => Some(ThresholdInput::Percent("0%".to_string())),
            Value::String(s) if s.ends_with('%') => Some(ThresholdInput::Percent(s.clone())),
            Value::String(s) => match crate::units::parse_size_bytes(s) {
                // Sizes are whole bytes; a fraction (from a decimal unit) rounds to the nearest.
                Ok(b) => Some(ThresholdInput::Bytes(b.round() as u64)),
                Err(e) => {
                    self.err(path, format!("{e} (expected {EXPECTED})"));
                    None
                }
            },
            other => {
                self.err(path, format!("expected {EXPECTED}, got {} `{other}`", super::type_name(other)));
                None
            }
        }
    }

    /// Runs the kubelet's own defaulting and validation on one effective configuration. Each
    /// message is placed at the key it names: in the pool's `kubelet` override (`here`) when it
    /// sets that key, else in `[kubelet]` (`base`, reported once for all pools via
    /// `reported_at_base`), else at `table`.
    pub(super) fn resolve_kubelet(
        &mut self,
        input: &KubeletConfigInput,
        here: Option<(&KeyPath, &RawKubelet)>,
        base: (&KeyPath, &RawKubelet),
        table: &KeyPath,
        reported_at_base: &mut BTreeSet<String>,
    ) -> Option<KubeletConfig> {
        let messages = match resolve(input) {
            Ok(cfg) => {
                // The policy string is parsed by the verification module; `resolve` may not check it.
                match input
                    .image_pull_credentials_verification_policy
                    .as_deref()
                    .map(VerificationPolicy::parse)
                {
                    Some(Err(e)) => vec![e],
                    _ => return Some(cfg),
                }
            }
            Err(m) => m,
        };
        for m in messages {
            let m = with_policy_suggestion(m, input);
            let key = kubelet_key_of(&m);
            let in_here =
                key.and_then(|k| here.filter(|(_, raw)| kubelet_is_set(raw, k)).map(|(p, _)| p.key(k)));
            let in_base = key.filter(|k| kubelet_is_set(base.1, k)).map(|k| base.0.key(k));
            match (in_here, in_base) {
                (Some(path), _) => self.err(&path, m),
                (None, Some(path)) => {
                    if reported_at_base.insert(m.clone()) {
                        self.err(&path, m);
                    }
                }
                (None, None) => self.err(here.map_or(table, |(p, _)| p), m),
            }
        }
        None
    }
}

/// The kubelet's "unknown ... verification policy" message, with the accepted policies and the
/// one closest to what was written.
fn with_policy_suggestion(message: String, input: &KubeletConfigInput) -> String {
    let written = input.image_pull_credentials_verification_policy.as_deref().unwrap_or_default();
    if !message.starts_with("unknown image pull credential verification policy") {
        return message;
    }
    let policies = [
        VerificationPolicy::NeverVerify,
        VerificationPolicy::NeverVerifyPreloadedImages,
        VerificationPolicy::NeverVerifyAllowlistedImages,
        VerificationPolicy::AlwaysVerify,
    ]
    .map(VerificationPolicy::as_str);
    let guess =
        suggest::closest(written, policies).map_or(String::new(), |g| format!(": did you mean {g:?}?"));
    format!("{message}{guess} (expected {})", policies.join(", "))
}
