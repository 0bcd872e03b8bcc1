//! The kubelet's events about a pod's containers, streamed to the sink (`RunSink::event`) at
//! the moments the kubelet records them: the image manager's (`EnsureImageExists`,
//! `pullImage`) and the `Failed` event `startContainer` adds when `EnsureImageExists` returns
//! an error. Texts come from `k8s::events` and `k8s::image_manager`.
//!
//! The kubelet's code calls `note_event` and `note_pull_done`, one line each where upstream
//! calls the recorder. Both test one flag first: a run whose sink does not keep events
//! (`wants_events`) formats nothing here.

use super::*;
use crate::k8s::events::{
    start_container_error, write_failed_message, write_present_message, write_pulled_message,
    write_pulling_message,
};
use crate::k8s::image_manager::{
    event_reason, invalid_image_message, never_pull_message, write_backoff_message, EventType,
};

/// What the kubelet just did with a container's image, as its events tell it.
#[derive(Clone, Copy, Debug)]
pub(super) enum Note {
    /// Uses the image present on the node; `access_checked` when the
    /// KubeletEnsureSecretPulledImages gate is on and `MustAttemptImagePull` allowed it.
    Present { access_checked: bool },
    /// Hands a pull to the puller (before any wait for a puller slot).
    Pulling,
    /// Refuses to pull: the (pod, image string) is in back-off.
    BackOff,
    /// `EnsureImageExists` failed on the image string itself (`Invalid`, `NeverPull`).
    Error(LastError),
}

impl World<'_> {
    /// Records the kubelet's events for `note` about container `idx` (init then app) of `pod`.
    #[inline]
    pub(super) fn note_event(&mut self, pod: PodId, idx: usize, note: Note) {
        if self.events_wanted {
            self.emit_note(pod, idx, note);
        }
    }

    /// Records the events of a finished pull attempt: `Pulled`, or the pull's `Failed` and
    /// `startContainer`'s `Error: ...`. Called whether or not the pod still waits for it (the
    /// image manager gets the result either way).
    #[inline]
    pub(super) fn note_pull_done(&mut self, pull: PullId, failure: Option<FailReason>) {
        if self.events_wanted {
            self.emit_pull_done(pull, failure);
        }
    }

    #[inline(never)]
    fn emit_note(&mut self, pod: PodId, idx: usize, note: Note) {
        let node = self.pods[pod.idx()].node().expect("the kubelet of the pod's node records it");
        let mut msg = std::mem::take(&mut self.event_scratch);
        msg.clear();
        let raw = self.raw_images.get(self.pods[pod.idx()].containers[idx].raw);
        let (event_type, reason, error) = match note {
            Note::Present { access_checked } => {
                write_present_message(&mut msg, &raw.quoted, access_checked);
                (EventType::Normal, event_reason::PULLED, None)
            }
            Note::Pulling => {
                write_pulling_message(&mut msg, &raw.quoted);
                (EventType::Normal, event_reason::PULLING, None)
            }
            Note::BackOff => {
                // The event has no previous error; only the waiting message quotes it.
                write_backoff_message(&mut msg, &raw.quoted, None);
                (EventType::Normal, event_reason::BACK_OFF, Some(KubeletReason::ImagePullBackOff))
            }
            Note::Error(LastError::Invalid(_)) => {
                msg.push_str(&invalid_image_message(
                    &raw.quoted,
                    raw.tag_error.as_deref().unwrap_or_default(),
                ));
                (EventType::Warning, event_reason::INSPECT_FAILED, Some(KubeletReason::InvalidImageName))
            }
            Note::Error(LastError::NeverPull(_)) => {
                msg.push_str(&never_pull_message(&raw.quoted));
                (
                    EventType::Warning,
                    event_reason::ERR_IMAGE_NEVER_PULL,
                    Some(KubeletReason::ErrImageNeverPull),
                )
            }
            Note::Error(e) => unreachable!("{e:?} is not an error of the image string"),
        };
        self.send(node, pod, idx, event_type, reason, &msg);
        if let Some(r) = error {
            let (t, reason, text) = start_container_error(r);
            self.send(node, pod, idx, t, reason, text);
        }
        self.event_scratch = msg;
    }

    #[inline(never)]
    fn emit_pull_done(&mut self, pull: PullId, failure: Option<FailReason>) {
        let p = &self.pulls[pull.idx()];
        let (node, pod, idx) = (p.node, p.pod, p.container());
        let raw = self.raw_images.get(self.pods[pod.idx()].containers[idx].raw);
        let mut msg = std::mem::take(&mut self.event_scratch);
        msg.clear();
        match failure {
            None => {
                let img = p.image.expect("a successful pull has an image");
                let size = self.version_size_bytes(img, p.version);
                let started = p.started.get().expect("a finished pull had a puller slot");
                let (pull_ns, total_ns) = (self.now.since(started).0, self.now.since(p.requested).0);
                write_pulled_message(&mut msg, &raw.quoted, pull_ns, total_ns, size);
                self.send(node, pod, idx, EventType::Normal, event_reason::PULLED, &msg);
            }
            Some(reason) => {
                let host = p.registry.map_or("", |r| self.registries[r.idx()].host.as_str());
                write_failed_message(&mut msg, &raw.quoted, &reason.error_text(&raw.text, host));
                self.send(node, pod, idx, EventType::Warning, event_reason::FAILED, &msg);
                let (t, r, text) = start_container_error(reason.kubelet_reason());
                self.send(node, pod, idx, t, r, text);
            }
        }
        self.event_scratch = msg;
    }

    fn send(
        &mut self,
        node: NodeId,
        pod: PodId,
        idx: usize,
        event_type: EventType,
        reason: &'static str,
        message: &str,
    ) {
        let p = &self.pods[pod.idx()];
        let n_init = p.n_init as usize;
        let mut name = std::mem::take(&mut self.name_scratch);
        name.clear();
        self.pod_name_of(p).write_into(&mut name);
        let event = crate::metrics::KubeletEvent {
            at: self.now,
            node: &self.nodes[node.idx()].name,
            pod: &name,
            pod_seq: pod.0,
            init: idx < n_init,
            container: container_u32(if idx < n_init { idx } else { idx - n_init }),
            event_type,
            reason,
            message,
        };
        self.sink.event(&event);
        self.name_scratch = name;
    }
}
