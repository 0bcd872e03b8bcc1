//! STUB: the kubelet image manager's decisions (pkg/kubelet/images/image_manager.go).
use super::image_ref::apply_default_image_tag;
use super::pull_policy::PullPolicy;

/// Container waiting reasons the image manager produces (images/types.go, CRI errors).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum KubeletReason {
    ImagePullBackOff,
    ImageInspectError,
    ErrImagePull,
    ErrImageNeverPull,
    InvalidImageName,
    RegistryUnavailable,
    SignatureValidationFailed,
}

impl KubeletReason {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ImagePullBackOff => "ImagePullBackOff",
            Self::ImageInspectError => "ImageInspectError",
            Self::ErrImagePull => "ErrImagePull",
            Self::ErrImageNeverPull => "ErrImageNeverPull",
            Self::InvalidImageName => "InvalidImageName",
            Self::RegistryUnavailable => "RegistryUnavailable",
            Self::SignatureValidationFailed => "SignatureValidationFailed",
        }
    }
}

/// Result of `EnsureImageExists` steps 1–5 (before backoff and pulling).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Precheck {
    /// Step 1 failed: `InvalidImageName`, with the message.
    Invalid { message: String },
    /// `ErrImageNeverPull`, with the event message.
    NeverPull { message: String },
    /// Present and usable: no pull.
    UsePresent,
    /// A pull is required; `image` is the defaulted image string handed to the runtime.
    Pull { image: String },
}

/// Steps 1–5 of `EnsureImageExists`. `is_present(image)` answers `GetImageRef` for the defaulted
/// image; `must_attempt_pull()` is `MustAttemptImagePull` (only called when present and gate on).
pub fn precheck(
    requested_image: &str,
    policy: PullPolicy,
    ensure_secret_pulled_images: bool,
    is_present: impl FnOnce(&str) -> bool,
    must_attempt_pull: impl FnOnce() -> bool,
) -> Precheck {
    let image = match apply_default_image_tag(requested_image) {
        Ok(i) => i,
        Err(e) => {
            return Precheck::Invalid {
                message: format!("Failed to apply default image tag {requested_image:?}: {e}"),
            }
        }
    };
    let never = || Precheck::NeverPull {
        message: format!("Container image {requested_image:?} is not present with pull policy of Never"),
    };
    if policy == PullPolicy::Always {
        return Precheck::Pull { image };
    }
    let present = is_present(&image);
    if !present {
        return if policy == PullPolicy::Never { never() } else { Precheck::Pull { image } };
    }
    if !ensure_secret_pulled_images || !must_attempt_pull() {
        return Precheck::UsePresent;
    }
    if policy == PullPolicy::Never {
        return never();
    }
    Precheck::Pull { image }
}

/// The message returned with `ErrImagePullBackOff` (step 7b).
pub fn backoff_message(requested_image: &str, previous_failure: Option<&str>) -> String {
    let mut m = format!("Back-off pulling image {requested_image:?}");
    if let Some(p) = previous_failure {
        m.push_str(": ");
        m.push_str(p);
    }
    m
}

/// Step 7e: map a puller error text to the waiting reason and message.
pub fn map_pull_error(requested_image: &str, err: &str) -> (KubeletReason, String) {
    if let Some(rest) = err.strip_prefix("RegistryUnavailable") {
        (
            KubeletReason::RegistryUnavailable,
            format!("image pull failed for {requested_image} because the registry is unavailable{rest}"),
        )
    } else if let Some(rest) = err.strip_prefix("SignatureValidationFailed") {
        (
            KubeletReason::SignatureValidationFailed,
            format!("image pull failed for {requested_image} because the signature validation failed{rest}"),
        )
    } else {
        (KubeletReason::ErrImagePull, err.to_string())
    }
}
