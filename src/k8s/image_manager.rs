//! The kubelet image manager's decisions, mirroring `EnsureImageExists`, `pullImage` and
//! `evalCRIPullErr` in `pkg/kubelet/images/image_manager.go`, plus the pullers' admission
//! (`puller.go`: serial FIFO queue of 10, parallel semaphore of `maxParallelImagePulls`).
//!
//! Everything here is a pure function or a small state machine over `SimTime`; the simulator
//! and the vector harness (`k8s/tests/image_manager.rs`) drive the same code. Waiting reasons,
//! event reasons and messages are upstream's exact strings; image strings in messages are the
//! pod's requested image (what upstream's tests assert).

use super::backoff::{Backoff, Ordered, StoreKind};
use super::image_ref::{apply_default_image_tag, go_quote};
use super::pull_policy::PullPolicy;
use crate::time::SimTime;
use std::collections::VecDeque;

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

impl EventType {
    /// `v1.EventTypeNormal` / `v1.EventTypeWarning`.
    pub fn as_str(self) -> &'static str {
        match self {
            EventType::Normal => "Normal",
            EventType::Warning => "Warning",
        }
    }
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

/// The runtime's answer to `GetImageRef` without its texts (what `precheck_verdict` needs).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PresenceKind {
    Present,
    Absent,
    InspectError,
}

/// The decision of steps 1–5 of `EnsureImageExists` without any text: the rule itself, shared
/// by `precheck_full` (which adds the messages, events and metric labels upstream emits) and
/// the simulator's hot path (which renders a message only when it keeps one).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// `applyDefaultImageTag` failed: `InvalidImageName`, `GetImageRef` not called.
    Invalid,
    /// `GetImageRef` failed: `ImageInspectError`.
    InspectError,
    /// `ErrImageNeverPull`; `present` says whether the image was there (a pull required by
    /// `MustAttemptImagePull` under `Never` is reported exactly like a missing image).
    NeverPull { present: bool },
    /// Use the present image; `access_checked` = the KubeletEnsureSecretPulledImages gate was on
    /// and `MustAttemptImagePull` said no pull is needed.
    UsePresent { access_checked: bool },
    /// Pull; `present` is `None` under `Always` (presence not checked).
    Pull { present: Option<bool> },
}

/// Mirrors the decisions of steps 1–5 of `EnsureImageExists`:
/// 1. `applyDefaultImageTag` failed (`tag_ok == false`) → invalid, no CRI call;
/// 2. `Always` skips the presence check; otherwise `GetImageRef` (error → inspect error;
///    absent + `Never` → never pull; absent → pull);
/// 3. present: gate off → use it; gate on → `must_attempt_pull()` (`MustAttemptImagePull`)
///    decides; a required pull under `Never` is a never-pull.
pub fn precheck_verdict(
    tag_ok: bool,
    policy: PullPolicy,
    ensure_secret_pulled_images: bool,
    get_image_ref: impl FnOnce() -> PresenceKind,
    must_attempt_pull: impl FnOnce() -> bool,
) -> Verdict {
    if !tag_ok {
        return Verdict::Invalid;
    }
    if policy == PullPolicy::Always {
        return Verdict::Pull { present: None };
    }
    match get_image_ref() {
        PresenceKind::InspectError => Verdict::InspectError,
        PresenceKind::Absent if policy == PullPolicy::Never => Verdict::NeverPull { present: false },
        PresenceKind::Absent => Verdict::Pull { present: Some(false) },
        PresenceKind::Present if !ensure_secret_pulled_images => {
            Verdict::UsePresent { access_checked: false }
        }
        PresenceKind::Present if !must_attempt_pull() => Verdict::UsePresent { access_checked: true },
        PresenceKind::Present if policy == PullPolicy::Never => Verdict::NeverPull { present: true },
        PresenceKind::Present => Verdict::Pull { present: Some(true) },
    }
}

/// The `ErrImageNeverPull` message for a quoted (`go_quote`) image string.
pub fn never_pull_message(quoted_image: &str) -> String {
    format!("Container image {quoted_image} is not present with pull policy of Never")
}

/// The `InvalidImageName` message (and `InspectFailed` event) for a quoted image string and the
/// parse error of `applyDefaultImageTag`.
pub fn invalid_image_message(quoted_image: &str, err: &str) -> String {
    format!("Failed to apply default image tag {quoted_image}: {err}")
}

/// Steps 1–5 of `EnsureImageExists` with everything upstream observes: `precheck_verdict` plus
/// the messages, events and metric labels of each branch.
pub fn precheck_full(
    requested_image: &str,
    policy: PullPolicy,
    ensure_secret_pulled_images: bool,
    get_image_ref: impl FnOnce(&str) -> Presence,
    must_attempt_pull: impl FnOnce(&str) -> bool,
) -> PrecheckOutcome {
    let q = go_quote(requested_image);
    let defaulted = apply_default_image_tag(requested_image);
    let image = defaulted.as_ref().cloned().unwrap_or_default();
    // Both callbacks see the CRI answer: the second runs only after the first.
    let presence = std::cell::RefCell::new(None);
    let verdict = precheck_verdict(
        defaulted.is_ok(),
        policy,
        ensure_secret_pulled_images,
        || {
            let p = get_image_ref(&image);
            let kind = match &p {
                Presence::Present(_) => PresenceKind::Present,
                Presence::Absent => PresenceKind::Absent,
                Presence::InspectError(_) => PresenceKind::InspectError,
            };
            *presence.borrow_mut() = Some(p);
            kind
        },
        || {
            let Some(Presence::Present(r)) = &*presence.borrow() else {
                unreachable!("asked only when present")
            };
            must_attempt_pull(r)
        },
    );
    let presence = presence.into_inner();
    let image_ref = match &presence {
        Some(Presence::Present(r)) => r.clone(),
        _ => String::new(),
    };
    let event = |event_type, reason, message: &str| ImageEvent::new(event_type, reason, message.to_string());
    let (decision, events, present_locally, pull_required) = match verdict {
        Verdict::Invalid => {
            let e = defaulted.as_ref().expect_err("invalid has an error");
            let message = invalid_image_message(&q, e);
            let ev = event(EventType::Warning, event_reason::INSPECT_FAILED, &message);
            (PrecheckDecision::Invalid { message }, vec![ev], None, None)
        }
        Verdict::InspectError => {
            let Some(Presence::InspectError(e)) = &presence else { unreachable!("inspect error") };
            let message = format!("Failed to inspect image {q}: {e}");
            let ev = event(EventType::Warning, event_reason::INSPECT_FAILED, &message);
            (PrecheckDecision::InspectError { message }, vec![ev], None, None)
        }
        Verdict::NeverPull { present } => {
            let message = never_pull_message(&q);
            let ev = event(EventType::Warning, event_reason::ERR_IMAGE_NEVER_PULL, &message);
            (PrecheckDecision::NeverPull { message }, vec![ev], Some(present), present.then_some(true))
        }
        Verdict::UsePresent { access_checked } => {
            let mut message = String::new();
            super::events::write_present_message(&mut message, &q, access_checked);
            let ev = event(EventType::Normal, event_reason::PULLED, &message);
            (PrecheckDecision::UsePresent { image_ref }, vec![ev], Some(true), Some(false))
        }
        Verdict::Pull { present } => (PrecheckDecision::Pull { image }, Vec::new(), present, Some(true)),
    };
    PrecheckOutcome {
        decision,
        called_get_image_ref: presence.is_some(),
        events,
        present_locally,
        pull_required,
    }
}

/// Mirrors the back-off key of `pullImage`: `<pod UID>_<image>` — per pod and per raw image
/// string (two containers of one pod with the same image share it; pods never share).
pub fn backoff_key(pod_uid: &str, requested_image: &str) -> String {
    format!("{pod_uid}_{requested_image}")
}

/// The message returned with `ErrImagePullBackOff` (step 7b).
pub fn backoff_message(requested_image: &str, previous_failure: Option<&str>) -> String {
    let mut m = String::new();
    write_backoff_message(&mut m, &go_quote(requested_image), previous_failure);
    m
}

/// Appends the `ErrImagePullBackOff` message for an already quoted image string to `out`
/// (the simulator renders it into a reused buffer on every back-off).
pub fn write_backoff_message(out: &mut String, quoted_image: &str, previous_failure: Option<&str>) {
    out.push_str("Back-off pulling image ");
    out.push_str(quoted_image);
    if let Some(p) = previous_failure {
        out.push_str(": ");
        out.push_str(p);
    }
}

/// The `BackOff` event of step 7b.
pub fn backoff_event(requested_image: &str) -> ImageEvent {
    ImageEvent::new(EventType::Normal, event_reason::BACK_OFF, backoff_message(requested_image, None))
}

/// The `Pulling` event of step 7c.
pub fn pulling_event(requested_image: &str) -> ImageEvent {
    let mut message = String::new();
    super::events::write_pulling_message(&mut message, &go_quote(requested_image));
    ImageEvent::new(EventType::Normal, event_reason::PULLING, message)
}

/// The `Failed` event of step 7e for the puller's error text.
pub fn failed_event(requested_image: &str, err: &str) -> ImageEvent {
    let mut message = String::new();
    super::events::write_failed_message(&mut message, &go_quote(requested_image), err);
    ImageEvent::new(EventType::Warning, event_reason::FAILED, message)
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
/// previous failure per key (`prevPullErrMsg`), kept in the back-off's slot of the same key
/// (`backoff::Slot`) so that a gate or a failure finds both with one search. Upstream keeps
/// the message in a map of its own, which the gate clears and the back-off's GC does not
/// touch; the slot keeps it through `gc` the same way.
///
/// `M` is how the previous failure is kept: by default its text, `"<reason>: <message>"`,
/// shared because a back-off message quotes it on every sync until the next pull. The
/// simulator keeps a small copyable description instead (`record_failure_as`) and renders
/// the same text only for the pods that end with it. `F` is the map the slots are kept in
/// (`backoff::StoreKind`): a `BTreeMap` by default, the engine's `IdMap` in the model.
pub struct PullBackoffState<K, M = std::sync::Arc<str>, F: StoreKind<K> = Ordered> {
    pub backoff: Backoff<K, F, M>,
}

/// Step 7b's verdict. The texts are separate (`write_backoff_message` with
/// `previous_failure`, `backoff_event`, `pulling_event`) so that deciding costs no allocation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PullGate {
    /// In back-off: `ImagePullBackOff` (message: `write_backoff_message` with the stored
    /// previous failure) and a `BackOff` event; no pull.
    BackOff,
    /// Go ahead: the previous failure text was cleared; a `Pulling` event.
    Pull,
}

impl<K, M, F: StoreKind<K>> PullBackoffState<K, M, F> {
    pub fn new(backoff: Backoff<K, F, M>) -> Self {
        PullBackoffState { backoff }
    }

    /// Steps 7b–c: in back-off (`IsInBackOffSinceUpdate(key, now)`) → `BackOff`; else clear the
    /// stored failure (so the map cannot grow) and allow the pull.
    pub fn gate(&mut self, key: &K, now: SimTime) -> PullGate {
        if self.backoff.in_backoff_else_drop_extra(key, now) {
            PullGate::BackOff
        } else {
            PullGate::Pull
        }
    }

    /// Step 7e: a failed pull advances the back-off (`Next(key, now)`), maps the error, and
    /// stores `"<reason>: <message>"` for later back-off messages. Returns (reason, message);
    /// the `Failed` event is `failed_event`.
    pub fn record_failure(
        &mut self,
        key: &K,
        requested_image: &str,
        err: &str,
        now: SimTime,
    ) -> (KubeletReason, String)
    where
        M: From<String>,
    {
        let (reason, message) = map_pull_error(requested_image, err);
        self.record_failure_as(key, now, format!("{}: {message}", reason.as_str()).into());
        (reason, message)
    }

    /// Step 7e with the failure already described as `M` (rendered by the caller when
    /// needed): `Next(key, now)` and the stored previous failure, in one search.
    pub fn record_failure_as(&mut self, key: &K, now: SimTime, failure: M) {
        self.backoff.next_keeping(key, now, failure);
    }

    /// Step 7f: a successful pull garbage-collects stale back-off entries (`backOff.GC()`).
    pub fn record_success(&mut self, now: SimTime) {
        self.backoff.gc(now);
    }

    /// The stored previous failure for `key`, if any.
    pub fn previous_failure(&self, key: &K) -> Option<&M> {
        self.backoff.extra(key)
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
