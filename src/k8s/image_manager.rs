//! The kubelet image manager's decisions, mirroring `EnsureImageExists`, `pullImage` and
//! `evalCRIPullErr` in `pkg/kubelet/images/image_manager.go`, plus the pullers' admission
//! (`puller.go`: serial FIFO queue of 10, parallel semaphore of `maxParallelImagePulls`).
//!
//! Everything here is a pure function or a small state machine over `SimTime`; the simulator
//! and the vector harness (`k8s/tests/image_manager.rs`) drive the same code. Waiting reasons,
//! event reasons and messages are upstream's exact strings; image strings in messages are the
//! pod's requested image (what upstream's tests assert).

use super::backoff::Backoff;
use super::image_ref::{apply_default_image_tag, go_quote};
use super::pull_policy::PullPolicy;
use crate::time::SimTime;
use std::collections::{BTreeMap, VecDeque};

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

/// Event types (`v1.EventTypeNormal` / `v1.EventTypeWarning`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EventType {
    Normal,
    Warning,
}

/// Event reasons (`pkg/kubelet/events`).
pub mod event_reason {
    pub const PULLING: &str = "Pulling";
    pub const PULLED: &str = "Pulled";
    pub const FAILED: &str = "Failed";
    pub const BACK_OFF: &str = "BackOff";
    pub const INSPECT_FAILED: &str = "InspectFailed";
    pub const ERR_IMAGE_NEVER_PULL: &str = "ErrImageNeverPull";
}

/// One event the image manager emits (`logIt`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImageEvent {
    pub event_type: EventType,
    pub reason: &'static str,
    pub message: String,
}

impl ImageEvent {
    fn new(event_type: EventType, reason: &'static str, message: String) -> Self {
        ImageEvent { event_type, reason, message }
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

/// The runtime's answer to `GetImageRef` (CRI `ImageStatus`) for the defaulted image.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Presence {
    /// Present, with its image ID (imageRef).
    Present(String),
    Absent,
    /// `GetImageRef` failed; the error text.
    InspectError(String),
}

/// Steps 1–5 of `EnsureImageExists`, with everything upstream observes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PrecheckOutcome {
    /// The decision; `InspectError` has no `Precheck` counterpart (see `precheck_full`).
    pub decision: PrecheckDecision,
    /// Whether `GetImageRef` was called (not for `Always`, not for invalid names).
    pub called_get_image_ref: bool,
    /// Events emitted so far.
    pub events: Vec<ImageEvent>,
    /// `present_locally` metric label: `Some(bool)` or `None` = "unknown".
    pub present_locally: Option<bool>,
    /// `pull_required` metric label: `Some(bool)` or `None` = "unknown".
    pub pull_required: Option<bool>,
}

/// The decision of steps 1–5.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PrecheckDecision {
    /// `ErrInvalidImageName`.
    Invalid { message: String },
    /// `ErrImageInspect`.
    InspectError { message: String },
    /// `ErrImageNeverPull`.
    NeverPull { message: String },
    /// Use the present image (`image_ref`).
    UsePresent { image_ref: String },
    /// Pull `image` (the defaulted string for the CRI).
    Pull { image: String },
}

impl PrecheckDecision {
    /// The waiting reason for the error decisions.
    pub fn reason(&self) -> Option<KubeletReason> {
        match self {
            PrecheckDecision::Invalid { .. } => Some(KubeletReason::InvalidImageName),
            PrecheckDecision::InspectError { .. } => Some(KubeletReason::ImageInspectError),
            PrecheckDecision::NeverPull { .. } => Some(KubeletReason::ErrImageNeverPull),
            _ => None,
        }
    }
}

/// Metric label for `present_locally` / `pull_required` (`"true"`, `"false"`, `"unknown"`).
pub fn metric_bool(v: Option<bool>) -> &'static str {
    match v {
        Some(true) => "true",
        Some(false) => "false",
        None => "unknown",
    }
}

/// Mirrors steps 1–5 of `EnsureImageExists`:
/// 1. `applyDefaultImageTag` (error → `InspectFailed` event, `InvalidImageName`, no CRI call);
/// 2. `Always` skips the presence check; otherwise `GetImageRef` (error → `InspectFailed`,
///    `ImageInspectError`; absent + `Never` → `ErrImageNeverPull`);
/// 3. present: gate off → use it; gate on → `must_attempt_pull(image_ref)`
///    (`MustAttemptImagePull`) decides; a required pull under `Never` is reported exactly like a
///    missing image (so presence is not revealed).
pub fn precheck_full(
    requested_image: &str,
    policy: PullPolicy,
    ensure_secret_pulled_images: bool,
    get_image_ref: impl FnOnce(&str) -> Presence,
    must_attempt_pull: impl FnOnce(&str) -> bool,
) -> PrecheckOutcome {
    let q = go_quote(requested_image);
    let mut out = PrecheckOutcome {
        decision: PrecheckDecision::Pull { image: String::new() },
        called_get_image_ref: false,
        events: Vec::new(),
        present_locally: None,
        pull_required: None,
    };
    let image = match apply_default_image_tag(requested_image) {
        Ok(i) => i,
        Err(e) => {
            let message = format!("Failed to apply default image tag {q}: {e}");
            out.events.push(ImageEvent::new(
                EventType::Warning,
                event_reason::INSPECT_FAILED,
                message.clone(),
            ));
            out.decision = PrecheckDecision::Invalid { message };
            return out;
        }
    };
    let never_message = format!("Container image {q} is not present with pull policy of Never");
    if policy == PullPolicy::Always {
        out.pull_required = Some(true);
        out.decision = PrecheckDecision::Pull { image };
        return out;
    }
    out.called_get_image_ref = true;
    let image_ref = match get_image_ref(&image) {
        Presence::InspectError(e) => {
            let message = format!("Failed to inspect image {q}: {e}");
            out.events.push(ImageEvent::new(
                EventType::Warning,
                event_reason::INSPECT_FAILED,
                message.clone(),
            ));
            out.decision = PrecheckDecision::InspectError { message };
            return out;
        }
        Presence::Absent => {
            out.present_locally = Some(false);
            if policy == PullPolicy::Never {
                out.events.push(ImageEvent::new(
                    EventType::Warning,
                    event_reason::ERR_IMAGE_NEVER_PULL,
                    never_message.clone(),
                ));
                out.decision = PrecheckDecision::NeverPull { message: never_message };
            } else {
                out.pull_required = Some(true);
                out.decision = PrecheckDecision::Pull { image };
            }
            return out;
        }
        Presence::Present(r) => r,
    };
    out.present_locally = Some(true);
    if !ensure_secret_pulled_images {
        out.pull_required = Some(false);
        out.events.push(ImageEvent::new(
            EventType::Normal,
            event_reason::PULLED,
            format!("Container image {q} already present on machine"),
        ));
        out.decision = PrecheckDecision::UsePresent { image_ref };
        return out;
    }
    if !must_attempt_pull(&image_ref) {
        out.pull_required = Some(false);
        out.events.push(ImageEvent::new(
            EventType::Normal,
            event_reason::PULLED,
            format!("Container image {q} already present on machine and can be accessed by the pod"),
        ));
        out.decision = PrecheckDecision::UsePresent { image_ref };
        return out;
    }
    out.pull_required = Some(true);
    if policy == PullPolicy::Never {
        out.events.push(ImageEvent::new(
            EventType::Warning,
            event_reason::ERR_IMAGE_NEVER_PULL,
            never_message.clone(),
        ));
        out.decision = PrecheckDecision::NeverPull { message: never_message };
        return out;
    }
    out.decision = PrecheckDecision::Pull { image };
    out
}

/// Steps 1–5 of `EnsureImageExists`. `is_present(image)` answers `GetImageRef` for the defaulted
/// image; `must_attempt_pull()` is `MustAttemptImagePull` (only called when present and gate on).
/// Inspect errors cannot be expressed here; use `precheck_full` for them.
pub fn precheck(
    requested_image: &str,
    policy: PullPolicy,
    ensure_secret_pulled_images: bool,
    is_present: impl FnOnce(&str) -> bool,
    must_attempt_pull: impl FnOnce() -> bool,
) -> Precheck {
    let out = precheck_full(
        requested_image,
        policy,
        ensure_secret_pulled_images,
        |image| {
            if is_present(image) {
                Presence::Present(image.to_string())
            } else {
                Presence::Absent
            }
        },
        |_| must_attempt_pull(),
    );
    match out.decision {
        PrecheckDecision::Invalid { message } | PrecheckDecision::InspectError { message } => {
            Precheck::Invalid { message }
        }
        PrecheckDecision::NeverPull { message } => Precheck::NeverPull { message },
        PrecheckDecision::UsePresent { .. } => Precheck::UsePresent,
        PrecheckDecision::Pull { image } => Precheck::Pull { image },
    }
}

/// Mirrors the back-off key of `pullImage`: `<pod UID>_<image>` — per pod and per raw image
/// string (two containers of one pod with the same image share it; pods never share).
pub fn backoff_key(pod_uid: &str, requested_image: &str) -> String {
    format!("{pod_uid}_{requested_image}")
}

/// The message returned with `ErrImagePullBackOff` (step 7b).
pub fn backoff_message(requested_image: &str, previous_failure: Option<&str>) -> String {
    let mut m = format!("Back-off pulling image {}", go_quote(requested_image));
    if let Some(p) = previous_failure {
        m.push_str(": ");
        m.push_str(p);
    }
    m
}

/// Mirrors `evalCRIPullErr` (step 7e): map a puller error text to the waiting reason and message.
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

/// The per-node state of `pullImage`'s back-off: the `flowcontrol.Backoff` plus the stored
/// previous failure text per key (`prevPullErrMsg`).
#[derive(Clone, Debug)]
pub struct PullBackoffState<K: Ord + Clone> {
    pub backoff: Backoff<K>,
    previous_failure: BTreeMap<K, String>,
}

/// Step 7b's verdict.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PullGate {
    /// In back-off: `ImagePullBackOff` with this message and a `BackOff` event; no pull.
    BackOff { message: String, event: ImageEvent },
    /// Go ahead: the previous failure text was cleared; emit this `Pulling` event.
    Pull { event: ImageEvent },
}

impl<K: Ord + Clone> PullBackoffState<K> {
    pub fn new(backoff: Backoff<K>) -> Self {
        PullBackoffState { backoff, previous_failure: BTreeMap::new() }
    }

    /// Steps 7b–c: in back-off (`IsInBackOffSinceUpdate(key, now)`) → `BackOff` with the
    /// message `Back-off pulling image "<img>"[: <previous failure>]`; else clear the stored
    /// failure (so the map cannot grow) and allow the pull.
    pub fn gate(&mut self, key: &K, requested_image: &str, now: SimTime) -> PullGate {
        if self.backoff.is_in_backoff_since_update(key, now) {
            let event_msg = backoff_message(requested_image, None);
            let message =
                backoff_message(requested_image, self.previous_failure.get(key).map(String::as_str));
            return PullGate::BackOff {
                message,
                event: ImageEvent::new(EventType::Normal, event_reason::BACK_OFF, event_msg),
            };
        }
        self.previous_failure.remove(key);
        PullGate::Pull {
            event: ImageEvent::new(
                EventType::Normal,
                event_reason::PULLING,
                format!("Pulling image {}", go_quote(requested_image)),
            ),
        }
    }

    /// Step 7e: a failed pull advances the back-off (`Next(key, now)`), maps the error, and
    /// stores `"<reason>: <message>"` for later back-off messages. Returns (reason, message,
    /// `Failed` event).
    pub fn record_failure(
        &mut self,
        key: &K,
        requested_image: &str,
        err: &str,
        now: SimTime,
    ) -> (KubeletReason, String, ImageEvent) {
        let event = ImageEvent::new(
            EventType::Warning,
            event_reason::FAILED,
            format!("Failed to pull image {}: {err}", go_quote(requested_image)),
        );
        self.backoff.next(key, now);
        let (reason, message) = map_pull_error(requested_image, err);
        self.previous_failure.insert(key.clone(), format!("{}: {message}", reason.as_str()));
        (reason, message, event)
    }

    /// Step 7f: a successful pull garbage-collects stale back-off entries (`backOff.GC()`).
    pub fn record_success(&mut self, now: SimTime) {
        self.backoff.gc(now);
    }

    /// The stored previous failure text for `key`, if any.
    pub fn previous_failure(&self, key: &K) -> Option<&str> {
        self.previous_failure.get(key).map(String::as_str)
    }
}

/// The `Pulled` event message of a successful pull (step 7f).
pub fn pulled_message(
    requested_image: &str,
    pull_duration: &str,
    total_duration: &str,
    size_bytes: u64,
) -> String {
    format!(
        "Successfully pulled image {} in {pull_duration} ({total_duration} including waiting). Image size: {size_bytes} bytes.",
        go_quote(requested_image)
    )
}

/// Admission of pull requests to the runtime, mirroring both pullers of `puller.go`:
/// the serial puller (`limit = Some(1)`, FIFO channel of `maxImagePullRequests = 10` in front of
/// one worker; an 11th waiting caller blocks) and the parallel puller (`limit = Some(n)`: a
/// semaphore of `maxParallelImagePulls`, waiters woken FIFO; `None` = unlimited). The throttle
/// is consulted after admission (it wraps the image service).
#[derive(Clone, Debug)]
pub struct PullSlots<T> {
    limit: Option<u32>,
    in_flight: u32,
    waiting: VecDeque<T>,
}

impl<T> PullSlots<T> {
    /// Serial puller.
    pub fn serial() -> Self {
        PullSlots { limit: Some(1), in_flight: 0, waiting: VecDeque::new() }
    }
    /// Parallel puller; `None` or a limit < 1 is unlimited, as upstream.
    pub fn parallel(max_parallel_image_pulls: Option<i64>) -> Self {
        let limit = match max_parallel_image_pulls {
            Some(n) if n >= 1 => Some(u32::try_from(n).unwrap_or(u32::MAX)),
            _ => None,
        };
        PullSlots { limit, in_flight: 0, waiting: VecDeque::new() }
    }
    /// Submit a request: `Some(req)` back if it may start now, else it waits (FIFO).
    pub fn submit(&mut self, req: T) -> Option<T> {
        if self.limit.is_none_or(|l| self.in_flight < l) {
            self.in_flight += 1;
            Some(req)
        } else {
            self.waiting.push_back(req);
            None
        }
    }
    /// A running pull finished (PullImage + GetImageSize): the next waiter, if any, starts.
    pub fn release(&mut self) -> Option<T> {
        self.in_flight = self.in_flight.saturating_sub(1);
        if self.limit.is_none_or(|l| self.in_flight < l) {
            if let Some(next) = self.waiting.pop_front() {
                self.in_flight += 1;
                return Some(next);
            }
        }
        None
    }
    pub fn in_flight(&self) -> u32 {
        self.in_flight
    }
    /// The admission limit (`None` = unlimited).
    pub fn limit(&self) -> Option<u32> {
        self.limit
    }
    pub fn waiting(&self) -> usize {
        self.waiting.len()
    }
    /// Serial puller only: whether a new caller would block because the queue is full.
    pub fn serial_queue_full(&self) -> bool {
        self.waiting.len() >= super::config::MAX_IMAGE_PULL_REQUESTS
    }
}
