//! The image strings pods write, interned. The kubelet keys its back-off by (pod, image
//! string) and parses the string on every sync (`applyDefaultImageTag`); a string's parse never
//! changes, so each distinct string is parsed and quoted once here and pods carry a
//! `RawImageId`. Ids are assigned in first-use order, which is the deterministic event order.

use crate::ids::{ImageId, RawImageId};
use crate::k8s::image_ref::{apply_default_image_tag, go_quote};
use crate::k8s::pull_policy::{default_pull_policy, PullPolicy};
use crate::k8s::verification::{pulled_record_key, trim_image_tag_digest};
use std::collections::BTreeMap;

/// One distinct image string and what the kubelet derives from it alone.
pub(super) struct RawImage {
    /// As written in the pod spec (what pulls.csv and every message show).
    pub text: String,
    /// `go_quote(text)`: how upstream's messages print it.
    pub quoted: String,
    /// The error of `applyDefaultImageTag`; `None` when the string is a valid reference.
    pub tag_error: Option<String>,
    /// `SetDefaults_Container`'s policy for a container that names none.
    pub default_policy: PullPolicy,
    /// The declared image the string names (`None`: unknown or invalid).
    pub image: Option<ImageId>,
    /// The pulled-record key (`trimImageTagDigest`; the raw string when unparsable): every
    /// successful pull of this string merges its credentials under it (shared by every record
    /// written under it).
    pub record_key: std::sync::Arc<str>,
    /// Whether `record_key` is `trimImageTagDigest`'s result (not the unparsable raw string):
    /// credential verification looks the record up by that name, once per sync.
    record_key_trimmed: bool,
}

impl RawImage {
    /// `trimImageTagDigest` of the string, `None` when it does not parse.
    pub fn trimmed_name(&self) -> Option<&str> {
        self.record_key_trimmed.then_some(&*self.record_key)
    }
}

#[derive(Default)]
pub(super) struct RawImages {
    list: Vec<RawImage>,
    index: BTreeMap<String, RawImageId>,
}

impl RawImages {
    /// The id of `text`, interning it on first use.
    pub fn intern(&mut self, text: &str, image: Option<ImageId>) -> RawImageId {
        if let Some(id) = self.index.get(text) {
            return *id;
        }
        let id = RawImageId::from_idx(self.list.len());
        self.list.push(RawImage {
            text: text.to_string(),
            quoted: go_quote(text),
            tag_error: apply_default_image_tag(text).err(),
            default_policy: default_pull_policy(text),
            image,
            record_key: pulled_record_key(text).into(),
            record_key_trimmed: trim_image_tag_digest(text).is_ok(),
        });
        self.index.insert(text.to_string(), id);
        id
    }

    pub fn get(&self, id: RawImageId) -> &RawImage {
        &self.list[id.idx()]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_string_is_interned_once_with_its_parse() {
        let mut r = RawImages::default();
        let a = r.intern("nginx", None);
        let b = r.intern("nginx:1.25", None);
        assert_eq!(r.intern("nginx", None), a);
        assert_ne!(a, b);
        assert_eq!(r.get(a).quoted, "\"nginx\"");
        assert_eq!(r.get(a).default_policy, PullPolicy::Always);
        assert_eq!(r.get(b).default_policy, PullPolicy::IfNotPresent);
        let bad = r.intern("Bad Image", None);
        assert!(r.get(bad).tag_error.is_some());
        assert!(r.get(a).tag_error.is_none());
        assert_eq!(&*r.get(b).record_key, "nginx"); // newest trimImageTagDigest: no normalisation
        assert_eq!(&*r.get(bad).record_key, "Bad Image");
    }
}
