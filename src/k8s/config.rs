//! Kubelet configuration for image pulling: the v1beta1 defaults
//! (`pkg/kubelet/apis/config/v1beta1/defaults.go` `SetDefaults_KubeletConfiguration`) and the
//! image-related checks of `pkg/kubelet/apis/config/validation/validation.go`
//! (`ValidateKubeletConfiguration`), with upstream's exact messages, all errors aggregated.
//!
//! Three layers, as upstream: `KubeletConfigInput` (what a scenario sets; `None` = unset, like a
//! nil/zero field in the YAML) → `set_defaults` → `KubeletConfiguration` (the internal config in
//! upstream's signed types, so negative values can be represented and rejected) → `validate` →
//! `KubeletConfig` (the typed, effective settings the simulator uses).

use super::eviction::{
    parse_threshold_statement, ThresholdInput, ThresholdValue, DEFAULT_EVICTION_HARD_IMAGEFS_AVAILABLE,
    SIGNAL_IMAGEFS_AVAILABLE,
};
use super::verification::{validate_allowlist_pattern, VerificationPolicy};
use crate::time::SimDuration;

/// v1beta1 default `registryPullQPS`.
pub const DEFAULT_REGISTRY_PULL_QPS: i64 = 5;
/// v1beta1 default `registryBurst`.
pub const DEFAULT_REGISTRY_BURST: i64 = 10;
/// v1beta1 default `imageGCHighThresholdPercent`.
pub const DEFAULT_IMAGE_GC_HIGH_THRESHOLD_PERCENT: i64 = 85;
/// v1beta1 default `imageGCLowThresholdPercent`.
pub const DEFAULT_IMAGE_GC_LOW_THRESHOLD_PERCENT: i64 = 80;
/// v1beta1 default `imageMinimumGCAge` (2m).
pub const DEFAULT_IMAGE_MINIMUM_GC_AGE: SimDuration = SimDuration::from_secs(120);
/// v1beta1 default `runtimeRequestTimeout` (2m); not used by the image pull path here.
pub const DEFAULT_RUNTIME_REQUEST_TIMEOUT: SimDuration = SimDuration::from_secs(120);
/// v1beta1 default `syncFrequency` (1m): pod worker resync after a successful sync.
pub const DEFAULT_SYNC_FREQUENCY: SimDuration = SimDuration::from_secs(60);
/// kubelet.go `ImageGCPeriod` (5m): how often `GarbageCollect` runs.
pub const IMAGE_GC_PERIOD: SimDuration = SimDuration::from_secs(300);
/// Serial puller queue capacity (`maxImagePullRequests` in puller.go).
pub const MAX_IMAGE_PULL_REQUESTS: usize = 10;

/// What a scenario says about the kubelet; `None` = not set (defaulted by `resolve`).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct KubeletConfigInput {
    pub serialize_image_pulls: Option<bool>,
    pub max_parallel_image_pulls: Option<i64>,
    pub registry_pull_qps: Option<i64>,
    pub registry_burst: Option<i64>,
    pub image_gc_high_threshold_percent: Option<i64>,
    pub image_gc_low_threshold_percent: Option<i64>,
    pub image_minimum_gc_age: Option<SimDuration>,
    pub image_maximum_gc_age: Option<SimDuration>,
    /// Simulator extension (kubelet.go constant upstream): image back-off initial, 10 s.
    pub image_pull_backoff_initial: Option<SimDuration>,
    /// Simulator extension (kubelet.go constant upstream): image back-off cap, 300 s.
    pub image_pull_backoff_max: Option<SimDuration>,
    pub image_pull_credentials_verification_policy: Option<String>,
    pub preloaded_images_verification_allowlist: Option<Vec<String>>,
    /// Feature gate KubeletEnsureSecretPulledImages (Beta, on by default since 1.35).
    pub ensure_secret_pulled_images: Option<bool>,
    /// Feature gate ImageMaximumGCAge (Beta, on by default since 1.30).
    pub image_maximum_gc_age_gate: Option<bool>,
    /// `evictionHard["imagefs.available"]`, the one eviction signal modelled.
    pub eviction_hard_imagefs_available: Option<ThresholdInput>,
}

impl KubeletConfigInput {
    /// `self` (a pool's override) on top of `base` (the `[kubelet]` table): set keys win.
    pub fn merged_over(&self, base: &KubeletConfigInput) -> KubeletConfigInput {
        KubeletConfigInput {
            serialize_image_pulls: self.serialize_image_pulls.or(base.serialize_image_pulls),
            max_parallel_image_pulls: self.max_parallel_image_pulls.or(base.max_parallel_image_pulls),
            registry_pull_qps: self.registry_pull_qps.or(base.registry_pull_qps),
            registry_burst: self.registry_burst.or(base.registry_burst),
            image_gc_high_threshold_percent: self
                .image_gc_high_threshold_percent
                .or(base.image_gc_high_threshold_percent),
            image_gc_low_threshold_percent: self
                .image_gc_low_threshold_percent
                .or(base.image_gc_low_threshold_percent),
            image_minimum_gc_age: self.image_minimum_gc_age.or(base.image_minimum_gc_age),
            image_maximum_gc_age: self.image_maximum_gc_age.or(base.image_maximum_gc_age),
            image_pull_backoff_initial: self.image_pull_backoff_initial.or(base.image_pull_backoff_initial),
            image_pull_backoff_max: self.image_pull_backoff_max.or(base.image_pull_backoff_max),
            image_pull_credentials_verification_policy: self
                .image_pull_credentials_verification_policy
                .clone()
                .or_else(|| base.image_pull_credentials_verification_policy.clone()),
            preloaded_images_verification_allowlist: self
                .preloaded_images_verification_allowlist
                .clone()
                .or_else(|| base.preloaded_images_verification_allowlist.clone()),
            ensure_secret_pulled_images: self
                .ensure_secret_pulled_images
                .or(base.ensure_secret_pulled_images),
            image_maximum_gc_age_gate: self.image_maximum_gc_age_gate.or(base.image_maximum_gc_age_gate),
            eviction_hard_imagefs_available: self
                .eviction_hard_imagefs_available
                .clone()
                .or_else(|| base.eviction_hard_imagefs_available.clone()),
        }
    }
}

/// The internal `KubeletConfiguration` fields that matter here, after defaulting, in upstream's
/// signed types (durations in signed nanoseconds like Go's `time.Duration`), plus the two
/// feature gates validation consults.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KubeletConfiguration {
    pub serialize_image_pulls: bool,
    /// `*int32`: `None` = nil.
    pub max_parallel_image_pulls: Option<i64>,
    pub registry_pull_qps: i64,
    pub registry_burst: i64,
    pub image_gc_high_threshold_percent: i64,
    pub image_gc_low_threshold_percent: i64,
    pub image_minimum_gc_age_ns: i64,
    pub image_maximum_gc_age_ns: i64,
    pub image_pull_credentials_verification_policy: String,
    pub preloaded_images_verification_allowlist: Vec<String>,
    pub ensure_secret_pulled_images_gate: bool,
    pub image_maximum_gc_age_gate: bool,
    pub eviction_hard_imagefs_available: ThresholdInput,
}

fn dur_ns(d: SimDuration) -> i64 {
    i64::try_from(d.0).unwrap_or(i64::MAX)
}

/// Mirrors the image-related part of `SetDefaults_KubeletConfiguration` (v1beta1):
/// - `serializeImagePulls` nil → true if `maxParallelImagePulls` is nil or < 2, else false;
/// - `maxParallelImagePulls` is not defaulted (nil = unlimited parallel puller);
/// - `registryPullQPS` nil → 5 (an explicit 0 stays 0 and disables the throttle);
/// - `registryBurst` 0 → 10: v1beta1 treats 0 as unset, so a burst of 0 cannot survive
///   defaulting through v1beta1 (only the internal type, as in upstream unit tests, can carry 0);
/// - GC thresholds nil → 85/80; `imageMinimumGCAge` zero → 2m; `imageMaximumGCAge` not defaulted;
/// - `imagePullCredentialsVerificationPolicy` "" → `NeverVerifyPreloadedImages`;
/// - `evictionHard["imagefs.available"]` unset → `"15%"`: upstream fills a nil `evictionHard`
///   with `DefaultEvictionHard` when it loads the configuration file
///   (cmd/kubelet/app/server.go), not in `SetDefaults`; here the one signal is defaulted alone.
pub fn set_defaults(input: &KubeletConfigInput) -> KubeletConfiguration {
    let max = input.max_parallel_image_pulls;
    let serialize = input.serialize_image_pulls.unwrap_or(!matches!(max, Some(m) if m >= 2));
    let burst = match input.registry_burst.unwrap_or(0) {
        0 => DEFAULT_REGISTRY_BURST,
        b => b,
    };
    let min_age = match input.image_minimum_gc_age {
        None | Some(SimDuration(0)) => DEFAULT_IMAGE_MINIMUM_GC_AGE,
        Some(d) => d,
    };
    let policy = match input.image_pull_credentials_verification_policy.as_deref() {
        None | Some("") => VerificationPolicy::NeverVerifyPreloadedImages.as_str().to_string(),
        Some(p) => p.to_string(),
    };
    KubeletConfiguration {
        serialize_image_pulls: serialize,
        max_parallel_image_pulls: max,
        registry_pull_qps: input.registry_pull_qps.unwrap_or(DEFAULT_REGISTRY_PULL_QPS),
        registry_burst: burst,
        image_gc_high_threshold_percent: input
            .image_gc_high_threshold_percent
            .unwrap_or(DEFAULT_IMAGE_GC_HIGH_THRESHOLD_PERCENT),
        image_gc_low_threshold_percent: input
            .image_gc_low_threshold_percent
            .unwrap_or(DEFAULT_IMAGE_GC_LOW_THRESHOLD_PERCENT),
        image_minimum_gc_age_ns: dur_ns(min_age),
        image_maximum_gc_age_ns: input.image_maximum_gc_age.map_or(0, dur_ns),
        image_pull_credentials_verification_policy: policy,
        preloaded_images_verification_allowlist: input
            .preloaded_images_verification_allowlist
            .clone()
            .unwrap_or_default(),
        ensure_secret_pulled_images_gate: input.ensure_secret_pulled_images.unwrap_or(true),
        image_maximum_gc_age_gate: input.image_maximum_gc_age_gate.unwrap_or(true),
        eviction_hard_imagefs_available: input
            .eviction_hard_imagefs_available
            .clone()
            .unwrap_or_else(|| ThresholdInput::Percent(DEFAULT_EVICTION_HARD_IMAGEFS_AVAILABLE.to_string())),
    }
}

/// Go's `time.Duration.String()` (e.g. `-1ns`, `1.5µs`, `2m0s`, `1h0m0s`), used in messages.
pub fn go_duration_string(ns: i64) -> String {
    if ns == 0 {
        return "0s".to_string();
    }
    let sign = if ns < 0 { "-" } else { "" };
    let u = ns.unsigned_abs();
    // Fractional part: `frac` of `width` digits, trailing zeros trimmed (Go's fmtFrac).
    let frac = |v: u64, width: usize| -> String {
        if v == 0 {
            return String::new();
        }
        let digits = format!("{v:0width$}");
        format!(".{}", digits.trim_end_matches('0'))
    };
    if u < 1_000_000_000 {
        let (unit, div, width) = if u < 1_000 {
            ("ns", 1, 0)
        } else if u < 1_000_000 {
            ("µs", 1_000, 3)
        } else {
            ("ms", 1_000_000, 6)
        };
        let f = if div == 1 { String::new() } else { frac(u % div, width) };
        return format!("{sign}{}{f}{unit}", u / div);
    }
    let secs = u / 1_000_000_000;
    let f = frac(u % 1_000_000_000, 9);
    let (h, m, s) = (secs / 3600, (secs / 60) % 60, secs % 60);
    if h > 0 {
        format!("{sign}{h}h{m}m{s}{f}s")
    } else if m > 0 {
        format!("{sign}{m}m{s}{f}s")
    } else {
        format!("{sign}{s}{f}s")
    }
}

/// Mirrors the image-pull and image-GC checks of `ValidateKubeletConfiguration`, in upstream
/// order, every failing check reported (upstream aggregates them with `utilerrors.NewAggregate`).
///
/// Verification policy and allowlist: upstream validates these when the kubelet builds the
/// pull manager (`NewImagePullCredentialVerificationPolicy` / `getAllowlistImagePattern`); where
/// `validation.go` itself checks them was not found (reference §4.5 [U]), so their messages are
/// the pull-manager ones. The allowlist is checked only for `NeverVerifyAllowlistedImages`,
/// the only policy that reads it.
pub fn validate(kc: &KubeletConfiguration) -> Vec<String> {
    let mut errs = Vec::new();
    let (high, low) = (kc.image_gc_high_threshold_percent, kc.image_gc_low_threshold_percent);
    if !(0..=100).contains(&high) {
        errs.push(format!("invalid configuration: imageGCHighThresholdPercent (--image-gc-high-threshold) {high} must be between 0 and 100, inclusive"));
    }
    if !(0..=100).contains(&low) {
        errs.push(format!("invalid configuration: imageGCLowThresholdPercent (--image-gc-low-threshold) {low} must be between 0 and 100, inclusive"));
    }
    if low >= high {
        errs.push(format!("invalid configuration: imageGCLowThresholdPercent (--image-gc-low-threshold) {low} must be less than imageGCHighThresholdPercent (--image-gc-high-threshold) {high}"));
    }
    let (max_age, min_age) = (kc.image_maximum_gc_age_ns, kc.image_minimum_gc_age_ns);
    if max_age != 0 && !kc.image_maximum_gc_age_gate {
        errs.push("invalid configuration: ImageMaximumGCAge feature gate is required for Kubelet configuration option imageMaximumGCAge".to_string());
    }
    if max_age < 0 {
        errs.push(format!(
            "invalid configuration: imageMaximumGCAge {} must not be negative",
            go_duration_string(max_age)
        ));
    }
    if max_age > 0 && max_age <= min_age {
        errs.push(format!(
            "invalid configuration: imageMaximumGCAge {} must be greater than imageMinimumGCAge {}",
            go_duration_string(max_age),
            go_duration_string(min_age)
        ));
    }
    if kc.registry_burst < 0 {
        errs.push(format!(
            "invalid configuration: registryBurst (--registry-burst) {} must not be a negative number",
            kc.registry_burst
        ));
    }
    if kc.registry_pull_qps < 0 {
        errs.push(format!(
            "invalid configuration: registryPullQPS (--registry-qps) {} must not be a negative number",
            kc.registry_pull_qps
        ));
    }
    if let Some(m) = kc.max_parallel_image_pulls {
        if m < 1 {
            errs.push(format!("invalid configuration: maxParallelImagePulls {m} must be a positive number"));
        }
        // serialize=true with max=1 is valid; only >1 conflicts.
        if kc.serialize_image_pulls && m > 1 {
            errs.push("invalid configuration: maxParallelImagePulls cannot be larger than 1 unless SerializeImagePulls (--serialize-image-pulls) is set to false".to_string());
        }
    }
    match VerificationPolicy::parse(&kc.image_pull_credentials_verification_policy) {
        Err(e) => errs.push(e),
        Ok(VerificationPolicy::NeverVerifyAllowlistedImages) => {
            for p in &kc.preloaded_images_verification_allowlist {
                if let Err(e) = validate_allowlist_pattern(p) {
                    errs.push(e);
                }
            }
        }
        Ok(_) => {}
    }
    // Upstream parses the thresholds when the kubelet starts (`eviction.ParseThresholdConfig`
    // in cmd/kubelet/app/server.go) and fails with the parse error. A `strconv` error does not
    // name the signal: it is named here so that the message can be placed.
    if let Err(e) = parse_threshold_statement(SIGNAL_IMAGEFS_AVAILABLE, &kc.eviction_hard_imagefs_available) {
        if e.contains(SIGNAL_IMAGEFS_AVAILABLE) {
            errs.push(e);
        } else {
            errs.push(format!("evictionHard {SIGNAL_IMAGEFS_AVAILABLE}: {e}"));
        }
    }
    errs
}

/// The effective kubelet settings of a node after defaulting and validation.
#[derive(Clone, Debug, PartialEq)]
pub struct KubeletConfig {
    pub serialize_image_pulls: bool,
    /// `None` = no limit (parallel puller without semaphore).
    pub max_parallel_image_pulls: Option<u32>,
    /// 0 = no throttle.
    pub registry_pull_qps: u32,
    pub registry_burst: u32,
    pub image_gc_high_threshold_percent: u8,
    pub image_gc_low_threshold_percent: u8,
    pub image_minimum_gc_age: SimDuration,
    /// 0 = disabled.
    pub image_maximum_gc_age: SimDuration,
    pub image_pull_backoff_initial: SimDuration,
    pub image_pull_backoff_max: SimDuration,
    pub verification_policy: VerificationPolicy,
    pub preloaded_images_verification_allowlist: Vec<String>,
    pub ensure_secret_pulled_images: bool,
    /// `evictionHard["imagefs.available"]` as given (after defaulting).
    pub eviction_hard_imagefs_available: ThresholdInput,
    /// Its value; `None` when the statement is ignored (`"0%"`, `"100%"`): no threshold.
    pub eviction_imagefs_threshold: Option<ThresholdValue>,
}

/// Defaults then validates; errors carry the kubelet's exact messages (all of them).
pub fn resolve(input: &KubeletConfigInput) -> Result<KubeletConfig, Vec<String>> {
    let kc = set_defaults(input);
    let errs = validate(&kc);
    if !errs.is_empty() {
        return Err(errs);
    }
    let clamp_u32 = |v: i64| u32::try_from(v).unwrap_or(u32::MAX);
    // Validation guarantees the ranges below (thresholds 0..=100, non-negative counts).
    Ok(KubeletConfig {
        serialize_image_pulls: kc.serialize_image_pulls,
        max_parallel_image_pulls: kc.max_parallel_image_pulls.map(clamp_u32),
        registry_pull_qps: clamp_u32(kc.registry_pull_qps),
        registry_burst: clamp_u32(kc.registry_burst),
        image_gc_high_threshold_percent: kc.image_gc_high_threshold_percent as u8,
        image_gc_low_threshold_percent: kc.image_gc_low_threshold_percent as u8,
        image_minimum_gc_age: SimDuration(kc.image_minimum_gc_age_ns as u64),
        image_maximum_gc_age: SimDuration(kc.image_maximum_gc_age_ns as u64),
        image_pull_backoff_initial: input
            .image_pull_backoff_initial
            .unwrap_or(super::backoff::IMAGE_BACKOFF_INITIAL),
        image_pull_backoff_max: input.image_pull_backoff_max.unwrap_or(super::backoff::IMAGE_BACKOFF_MAX),
        verification_policy: VerificationPolicy::parse(&kc.image_pull_credentials_verification_policy)
            .unwrap_or(VerificationPolicy::NeverVerifyPreloadedImages),
        preloaded_images_verification_allowlist: kc.preloaded_images_verification_allowlist,
        ensure_secret_pulled_images: kc.ensure_secret_pulled_images_gate,
        eviction_imagefs_threshold: parse_threshold_statement(
            SIGNAL_IMAGEFS_AVAILABLE,
            &kc.eviction_hard_imagefs_available,
        )
        .unwrap_or(None),
        eviction_hard_imagefs_available: kc.eviction_hard_imagefs_available,
    })
}
