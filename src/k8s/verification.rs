//! STUB: KubeletEnsureSecretPulledImages records and imagePullCredentialsVerificationPolicy.
use std::collections::BTreeMap;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VerificationPolicy {
    NeverVerify,
    NeverVerifyPreloadedImages,
    NeverVerifyAllowlistedImages,
    AlwaysVerify,
}

impl VerificationPolicy {
    pub fn parse(s: &str) -> Result<VerificationPolicy, String> {
        match s {
            "NeverVerify" => Ok(Self::NeverVerify),
            "NeverVerifyPreloadedImages" => Ok(Self::NeverVerifyPreloadedImages),
            "NeverVerifyAllowlistedImages" => Ok(Self::NeverVerifyAllowlistedImages),
            "AlwaysVerify" => Ok(Self::AlwaysVerify),
            _ => Err(format!("unknown image pull credential verification policy: {s}")),
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            Self::NeverVerify => "NeverVerify",
            Self::NeverVerifyPreloadedImages => "NeverVerifyPreloadedImages",
            Self::NeverVerifyAllowlistedImages => "NeverVerifyAllowlistedImages",
            Self::AlwaysVerify => "AlwaysVerify",
        }
    }
}

/// A Kubernetes secret's coordinates plus the hash of the credential it carried.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct SecretCoords {
    pub uid: String,
    pub namespace: String,
    pub name: String,
    pub credential_hash: String,
}

/// Who may use an image pulled with some credentials (one `CredentialMapping` value).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CredentialSet {
    pub node_pods_accessible: bool,
    pub secrets: Vec<SecretCoords>,
}

/// Mirrors `ImagePulledRecord`: keyed by imageRef, maps image name (no tag/digest) to credentials.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PulledRecord {
    pub credential_mapping: BTreeMap<String, CredentialSet>,
}

impl PulledRecord {
    /// Merge a successful pull of `image` with `used` (None = anonymous or node credentials).
    pub fn record_pull(&mut self, image: &str, used: Option<SecretCoords>) {
        let key = image.split(['@']).next().unwrap_or(image).to_string();
        let e = self.credential_mapping.entry(key).or_default();
        match used {
            None => {
                e.node_pods_accessible = true;
                e.secrets.clear();
            }
            Some(s) if !e.node_pods_accessible => {
                if !e.secrets.contains(&s) {
                    e.secrets.push(s)
                }
            }
            Some(_) => {}
        }
    }
}

/// Mirrors `MustAttemptImagePull` (1.35): does the pod have to pull (verify) a present image?
pub fn must_attempt_image_pull(
    policy: VerificationPolicy,
    _allowlist: &[String],
    _image: &str,
    image_ref: &str,
    record: Option<&PulledRecord>,
    pull_intent_exists: bool,
    pod_secrets: &[SecretCoords],
) -> bool {
    if image_ref.is_empty() {
        return true;
    }
    let pulled_by_kubelet = record.is_some() || pull_intent_exists;
    let required = match policy {
        VerificationPolicy::NeverVerify => false,
        VerificationPolicy::NeverVerifyPreloadedImages => pulled_by_kubelet,
        VerificationPolicy::NeverVerifyAllowlistedImages => true,
        VerificationPolicy::AlwaysVerify => true,
    };
    if !required {
        return false;
    }
    let Some(rec) = record else { return true };
    rec.credential_mapping.values().next().map_or(true, |set| {
        !(set.node_pods_accessible
            || set.secrets.iter().any(|s| pod_secrets.iter().any(|p| p.name == s.name)))
    })
}
