//! Why a pull attempt fails (`FailReason`): its `pulls.csv` result, the error text the runtime
//! or the kubelet's throttle returns for it, whether the registry answered it, and the waiting
//! reason the kubelet derives from it.

use crate::k8s::image_manager::KubeletReason;

/// Why a pull attempt failed: the `failed:<reason>` of pulls.csv.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum FailReason {
    Transient,
    Outage,
    RateLimited,
    Unauthorized,
    Qps,
    Platform,
    /// Not enough image storage on the node for a layer (extension).
    DiskFull,
    /// No registry serves the image, or the image is unknown (extension).
    NotFound,
}

impl FailReason {
    /// Every reason, in declaration order (`reason as usize` indexes it), which is the order
    /// `summary.json`'s `pull_failures_by_reason` lists them.
    pub const ALL: [FailReason; 8] = [
        FailReason::Transient,
        FailReason::Outage,
        FailReason::RateLimited,
        FailReason::Unauthorized,
        FailReason::Qps,
        FailReason::Platform,
        FailReason::DiskFull,
        FailReason::NotFound,
    ];

    /// The reason's name in `pulls.csv` (after `failed:`) and in `summary.json`.
    pub fn name(self) -> &'static str {
        &self.result()["failed:".len()..]
    }

    /// Whether the registry answered this failure (an error response or a refused
    /// connection), so that it counts in that registry's `failures`. The kubelet's own
    /// throttle (`Qps`), a full disk and an image no registry serves never reached a registry;
    /// a missing platform is the runtime's verdict on a good answer.
    pub fn answered_by_registry(self) -> bool {
        matches!(
            self,
            FailReason::Transient | FailReason::Outage | FailReason::RateLimited | FailReason::Unauthorized
        )
    }

    /// The pulls.csv `result` of a pull that failed for this reason.
    pub fn result(self) -> &'static str {
        match self {
            FailReason::Transient => "failed:transient",
            FailReason::Outage => "failed:outage",
            FailReason::RateLimited => "failed:rate_limited",
            FailReason::Unauthorized => "failed:unauthorized",
            FailReason::Qps => "failed:qps",
            FailReason::Platform => "failed:platform",
            FailReason::DiskFull => "failed:disk_full",
            FailReason::NotFound => "failed:not_found",
        }
    }

    /// The error text the runtime (or the kubelet's throttle) returns for this failure.
    pub(super) fn error_text(self, image: &str, host: &str) -> String {
        match self {
            FailReason::Transient => {
                format!("failed to pull image {image:?}: unexpected status from {host}: 503 Service Unavailable")
            }
            FailReason::Outage => format!("failed to pull image {image:?}: dial tcp {host}:443: connect: connection refused"),
            FailReason::RateLimited => format!(
                "failed to pull image {image:?}: 429 Too Many Requests: you have reached your pull rate limit ({host})"
            ),
            FailReason::Unauthorized => {
                format!("failed to pull image {image:?}: failed to authorize: 401 Unauthorized ({host})")
            }
            FailReason::Qps => "pull QPS exceeded".to_string(),
            FailReason::Platform => {
                format!("failed to pull image {image:?}: no match for platform in manifest: not found")
            }
            FailReason::DiskFull => {
                format!("failed to pull image {image:?}: failed to write layer: no space left on device")
            }
            FailReason::NotFound => format!("failed to pull image {image:?}: {host}: not found"),
        }
    }

    /// The waiting reason the kubelet gives this failure: `map_pull_error` of `error_text`,
    /// which is `ErrImagePull` for every text here (none starts with `RegistryUnavailable` or
    /// `SignatureValidationFailed`; a unit test checks each). Known without formatting the
    /// text, which is rendered only for pods that end with the error.
    pub(super) fn kubelet_reason(self) -> KubeletReason {
        KubeletReason::ErrImagePull
    }
}
