//! `imagePullPolicy` and its defaulting, mirroring `SetDefaults_Container` in
//! `pkg/apis/core/v1/defaults.go` (also applied to init and ephemeral containers).

use super::image_ref::{parse_image_name, DEFAULT_TAG};

/// `v1.PullPolicy`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum PullPolicy {
    Always,
    IfNotPresent,
    Never,
}

impl PullPolicy {
    /// Parses the exact API spelling (case-sensitive, as the API server validates it).
    pub fn parse(s: &str) -> Option<PullPolicy> {
        match s {
            "Always" => Some(PullPolicy::Always),
            "IfNotPresent" => Some(PullPolicy::IfNotPresent),
            "Never" => Some(PullPolicy::Never),
            _ => None,
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            PullPolicy::Always => "Always",
            PullPolicy::IfNotPresent => "IfNotPresent",
            PullPolicy::Never => "Never",
        }
    }
    /// Lower-case label of `kubelet_image_manager_ensure_image_requests_total{pull_policy}`.
    pub fn metric_label(self) -> &'static str {
        match self {
            PullPolicy::Always => "always",
            PullPolicy::IfNotPresent => "ifnotpresent",
            PullPolicy::Never => "never",
        }
    }
}

/// Mirrors the defaulting branch of `SetDefaults_Container`: `tag := ParseImageName(image).tag`
/// (parse errors ignored, giving tag ""); exactly `"latest"` (case-sensitive) → `Always`,
/// anything else → `IfNotPresent`. So `name:latest@sha256:…` is `Always` (the tag is kept next
/// to the digest) and a digest-only image is `IfNotPresent`.
pub fn default_pull_policy(image: &str) -> PullPolicy {
    match parse_image_name(image) {
        Ok(n) if n.tag == DEFAULT_TAG => PullPolicy::Always,
        _ => PullPolicy::IfNotPresent,
    }
}

/// Mirrors `SetDefaults_Container` as a whole: an explicit policy is never changed; only an
/// absent (empty) one is defaulted from the image.
pub fn resolve_pull_policy(explicit: Option<PullPolicy>, image: &str) -> PullPolicy {
    explicit.unwrap_or_else(|| default_pull_policy(image))
}
