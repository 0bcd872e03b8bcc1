//! STUB: KubeletConfiguration defaults (v1beta1/defaults.go) and validation (validation.go).
use super::verification::VerificationPolicy;
use crate::time::SimDuration;

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
    pub image_pull_backoff_initial: Option<SimDuration>,
    pub image_pull_backoff_max: Option<SimDuration>,
    pub image_pull_credentials_verification_policy: Option<String>,
    pub preloaded_images_verification_allowlist: Option<Vec<String>>,
    /// Feature gate KubeletEnsureSecretPulledImages (Beta, on by default since 1.35).
    pub ensure_secret_pulled_images: Option<bool>,
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
        }
    }
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
}

/// Defaults then validates; errors carry the kubelet's exact messages.
pub fn resolve(input: &KubeletConfigInput) -> Result<KubeletConfig, Vec<String>> {
    let max = input.max_parallel_image_pulls;
    let serialize = input.serialize_image_pulls.unwrap_or(!matches!(max, Some(m) if m >= 2));
    let mut errs = Vec::new();
    if serialize && matches!(max, Some(m) if m > 1) {
        errs.push("invalid configuration: maxParallelImagePulls cannot be larger than 1 unless SerializeImagePulls (--serialize-image-pulls) is set to false".to_string());
    }
    if !errs.is_empty() {
        return Err(errs);
    }
    Ok(KubeletConfig {
        serialize_image_pulls: serialize,
        max_parallel_image_pulls: max.map(|m| m as u32),
        registry_pull_qps: input.registry_pull_qps.unwrap_or(5) as u32,
        registry_burst: match input.registry_burst.unwrap_or(10) {
            0 => 10,
            b => b as u32,
        },
        image_gc_high_threshold_percent: input.image_gc_high_threshold_percent.unwrap_or(85) as u8,
        image_gc_low_threshold_percent: input.image_gc_low_threshold_percent.unwrap_or(80) as u8,
        image_minimum_gc_age: input.image_minimum_gc_age.unwrap_or(SimDuration::from_secs(120)),
        image_maximum_gc_age: input.image_maximum_gc_age.unwrap_or(SimDuration::ZERO),
        image_pull_backoff_initial: input.image_pull_backoff_initial.unwrap_or(SimDuration::from_secs(10)),
        image_pull_backoff_max: input.image_pull_backoff_max.unwrap_or(SimDuration::from_secs(300)),
        verification_policy: VerificationPolicy::NeverVerifyPreloadedImages,
        preloaded_images_verification_allowlist: input
            .preloaded_images_verification_allowlist
            .clone()
            .unwrap_or_default(),
        ensure_secret_pulled_images: input.ensure_secret_pulled_images.unwrap_or(true),
    })
}
