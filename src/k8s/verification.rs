//! `KubeletEnsureSecretPulledImages`: the pulled-image records and the
//! `imagePullCredentialsVerificationPolicy`, mirroring `pkg/kubelet/images/pullmanager/`
//! (`image_pull_manager.go` `MustAttemptImagePull` / record merging, `image_pull_policies.go`).
//!
//! Version choice: the allowlist and `trimImageTagDigest` follow the NEWEST upstream behaviour
//! (1.36, the fix listed as #137629): the pod's image string is stripped of tag/digest *without*
//! Docker Hub normalisation (`reference.Parse(image).Name()`), and familiar allowlist entries
//! such as `ubuntu` are accepted. So `ubuntu:tagged` matches `ubuntu` but not
//! `docker.io/library/ubuntu`. In 1.33–1.35 the raw image string was compared (tag included) and
//! familiar entries were rejected at load. `MustAttemptImagePull` follows the 1.35-era logic
//! (reference §7.2); the newest master's `Preloaded` entries are not modelled (release status
//! unverified).

use super::image_ref::{parse, parse_normalized_named};
use std::sync::Arc;

/// `imagePullCredentialsVerificationPolicy`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VerificationPolicy {
    NeverVerify,
    NeverVerifyPreloadedImages,
    NeverVerifyAllowlistedImages,
    AlwaysVerify,
}

impl VerificationPolicy {
    /// Mirrors `NewImagePullCredentialVerificationPolicy`'s switch, with its error text.
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

/// Mirrors the NEWEST `trimImageTagDigest`: the image name without tag or digest and without
/// Docker Hub normalisation (`myimage:latest` → `myimage`, `localhost:5000/x:v1` →
/// `localhost:5000/x`). 1.33–1.35 used `ParseImageName` here, which normalises.
pub fn trim_image_tag_digest(image: &str) -> Result<String, String> {
    parse(image).map(|r| r.name()).map_err(|e| e.to_string())
}

/// The key a pull of `image` is recorded under: `trim_image_tag_digest`, or the raw string
/// when unparsable (such a name cannot have been pulled; the key is kept regardless).
pub fn pulled_record_key(image: &str) -> String {
    trim_image_tag_digest(image).unwrap_or_else(|_| image.to_string())
}

/// Mirrors `getAllowlistImagePattern` (newest): returns (pattern, is_prefix_wildcard).
/// Rules: no leading/trailing spaces; `…/*` is a prefix wildcard (the `/` is kept); no other
/// `*`; not empty; `/*` alone is refused; a non-wildcard entry must parse as an image name
/// with neither tag nor digest (familiar names accepted, as of 1.36).
pub fn allowlist_image_pattern(pattern: &str) -> Result<(String, bool), String> {
    if pattern != pattern.trim() {
        return Err(format!("leading/trailing spaces are not allowed: {pattern}"));
    }
    let (trimmed, is_wildcard) = match pattern.strip_suffix("/*") {
        Some(_) => (&pattern[..pattern.len() - 1], true),
        None => (pattern, false),
    };
    if trimmed.is_empty() {
        return Err(format!("the supplied pattern is too short: {pattern}"));
    }
    if trimmed.contains('*') {
        return Err(format!(
            "not a valid wildcard pattern, only patterns ending with '/*' are allowed: {pattern}"
        ));
    }
    if is_wildcard {
        if trimmed.len() == 1 {
            return Err("at least registry hostname is required".to_string());
        }
        return Ok((trimmed.to_string(), true));
    }
    let r = parse_normalized_named(trimmed).map_err(|e| format!("failed to parse as an image name: {e}"))?;
    if !r.tag.is_empty() || !r.digest.is_empty() {
        return Err(format!("neither tag nor digest is accepted in an image reference: {pattern}"));
    }
    Ok((trimmed.to_string(), false))
}

/// Mirrors `ValidateAllowlistImagesPatterns` for one pattern.
pub fn validate_allowlist_pattern(pattern: &str) -> Result<(), String> {
    allowlist_image_pattern(pattern).map(|_| ())
}

/// The parsed `preloadedImagesVerificationAllowlist` (`NeverVerifyAllowlistedImages` state).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Allowlist {
    /// Exact image names (no tag/digest), sorted and de-duplicated.
    pub exact: Vec<String>,
    /// Prefixes from `…/*` patterns (ending in `/`), in the order given.
    pub prefixes: Vec<String>,
}

impl Allowlist {
    /// Mirrors `NewNeverVerifyAllowListedPullPolicy`: the first invalid pattern is the error.
    pub fn new(patterns: &[String]) -> Result<Allowlist, String> {
        let mut a = Allowlist::default();
        for p in patterns {
            let (pat, wildcard) = allowlist_image_pattern(p)?;
            if wildcard {
                a.prefixes.push(pat);
            } else if let Err(i) = a.exact.binary_search(&pat) {
                a.exact.insert(i, pat);
            }
        }
        Ok(a)
    }

    /// Mirrors `imageMatches` (newest): the tag/digest-stripped image is in the exact set or
    /// starts with a prefix. An unparsable image matches nothing (so it must be verified).
    pub fn matches(&self, image: &str) -> bool {
        self.matches_name(trim_image_tag_digest(image).ok().as_deref())
    }

    /// `matches` for an image already trimmed (`None`: unparsable).
    pub fn matches_name(&self, name: Option<&str>) -> bool {
        let Some(name) = name else {
            return false;
        };
        self.exact.binary_search_by(|e| e.as_str().cmp(name)).is_ok()
            || self.prefixes.iter().any(|p| name.starts_with(p.as_str()))
    }
}

/// Mirrors the policies' `RequireCredentialVerificationForImage(image, imagePulledByKubelet)`.
pub fn requires_verification(
    policy: VerificationPolicy,
    allowlist: &Allowlist,
    image: &str,
    image_pulled_by_kubelet: bool,
) -> bool {
    let name = trim_image_tag_digest(image).ok();
    requires_verification_named(policy, allowlist, name.as_deref(), image_pulled_by_kubelet)
}

/// `requires_verification` for an image already trimmed (`name`, `None` when unparsable).
fn requires_verification_named(
    policy: VerificationPolicy,
    allowlist: &Allowlist,
    name: Option<&str>,
    image_pulled_by_kubelet: bool,
) -> bool {
    match policy {
        VerificationPolicy::NeverVerify => false,
        // Preloaded = present without any kubelet intent/pulled record: trusted.
        VerificationPolicy::NeverVerifyPreloadedImages => image_pulled_by_kubelet,
        // Independent of who pulled the image.
        VerificationPolicy::NeverVerifyAllowlistedImages => !allowlist.matches_name(name),
        VerificationPolicy::AlwaysVerify => true,
    }
}

/// A Kubernetes secret's coordinates plus the hash of the credential it carried
/// (`ImagePullSecret`).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct SecretCoords {
    pub uid: String,
    pub namespace: String,
    pub name: String,
    pub credential_hash: String,
}

impl SecretCoords {
    fn same_coordinates(&self, other: &SecretCoords) -> bool {
        self.uid == other.uid && self.namespace == other.namespace && self.name == other.name
    }
    /// `imagePullSecretLess` order: namespace, name, uid.
    fn order_key(&self) -> (&str, &str, &str) {
        (&self.namespace, &self.name, &self.uid)
    }
}

/// A service account's coordinates (`ImagePullServiceAccount`), for credentials obtained by a
/// service-account-scoped credential provider.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct ServiceAccountCoords {
    pub namespace: String,
    pub name: String,
    pub uid: String,
}

/// Who may use an image pulled with some credentials (one `CredentialMapping` value).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CredentialSet {
    pub node_pods_accessible: bool,
    /// Sorted by (namespace, name, uid), unique per coordinates.
    pub secrets: Vec<SecretCoords>,
    /// Sorted by (namespace, name, uid), unique.
    pub service_accounts: Vec<ServiceAccountCoords>,
}

/// A pulled record's image-name → credentials map, ordered by name like upstream's sorted
/// serialization. A record almost always holds one name (the image it was written for), so
/// this is a sorted vector: one small allocation instead of a B-tree leaf of eleven slots
/// (about 900 bytes), which at one record per image per node dominated a large run's memory.
/// Names are shared (`Arc<str>`): the simulator writes a record per image per node under the
/// same few names (`entry_or_default_shared`), with no copy of the text.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CredentialMapping(Vec<(Arc<str>, CredentialSet)>);

impl CredentialMapping {
    fn position(&self, name: &str) -> Result<usize, usize> {
        self.0.binary_search_by(|(k, _)| (**k).cmp(name))
    }

    pub fn get(&self, name: &str) -> Option<&CredentialSet> {
        self.position(name).ok().map(|i| &self.0[i].1)
    }

    pub fn get_mut(&mut self, name: &str) -> Option<&mut CredentialSet> {
        self.position(name).ok().map(|i| &mut self.0[i].1)
    }

    /// The entry for `name`, created empty (allocating the key) only when absent.
    pub fn entry_or_default(&mut self, name: &str) -> &mut CredentialSet {
        self.entry_or_insert_name(name, || Arc::from(name))
    }

    /// `entry_or_default` with the name already shared: an absent entry takes a reference to
    /// it instead of a copy.
    pub fn entry_or_default_shared(&mut self, name: &Arc<str>) -> &mut CredentialSet {
        self.entry_or_insert_name(name, || name.clone())
    }

    fn entry_or_insert_name(&mut self, name: &str, owned: impl FnOnce() -> Arc<str>) -> &mut CredentialSet {
        let i = match self.position(name) {
            Ok(i) => i,
            Err(i) => {
                // Exact growth: a record rarely holds a second name, and the default first
                // capacity (four entries) would quadruple the memory of every record.
                self.0.reserve_exact(1);
                self.0.insert(i, (owned(), CredentialSet::default()));
                i
            }
        };
        &mut self.0[i].1
    }

    /// Sets `name`'s credentials; returns the previous ones.
    pub fn insert(&mut self, name: String, set: CredentialSet) -> Option<CredentialSet> {
        match self.position(&name) {
            Ok(i) => Some(std::mem::replace(&mut self.0[i].1, set)),
            Err(i) => {
                self.0.reserve_exact(1);
                self.0.insert(i, (name.into(), set));
                None
            }
        }
    }

    /// The entries in name order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &CredentialSet)> {
        self.0.iter().map(|(k, v)| (&**k, v))
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl std::ops::Index<&str> for CredentialMapping {
    type Output = CredentialSet;
    fn index(&self, name: &str) -> &CredentialSet {
        self.get(name).unwrap_or_else(|| panic!("no credentials recorded for {name:?}"))
    }
}

/// The credential a successful pull used.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PullCredential {
    /// Anonymous pull, or a node-level credential without a source: any pod may use the image.
    NodeAccessible,
    Secret(SecretCoords),
    ServiceAccount(ServiceAccountCoords),
}

impl From<Option<SecretCoords>> for PullCredential {
    /// A pod secret, or (`None`) an anonymous or node-level pull.
    fn from(used: Option<SecretCoords>) -> PullCredential {
        used.map_or(PullCredential::NodeAccessible, PullCredential::Secret)
    }
}

/// Mirrors `ImagePulledRecord`: keyed by imageRef, maps image name (no tag/digest) to credentials.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PulledRecord {
    pub credential_mapping: CredentialMapping,
}

impl PulledRecord {
    /// Merge a successful pull of `image` with `used` (None = anonymous or node credentials).
    pub fn record_pull(&mut self, image: &str, used: Option<SecretCoords>) {
        self.record_pull_credential(image, used.into());
    }

    /// Mirrors the merge in `writePulledRecordIfChanged`: NodePodsAccessible wins and clears
    /// the lists (and nothing is added to a node-accessible entry); secrets merge by
    /// (ns, name, uid) keeping the newest hash; service accounts are set-merged.
    pub fn record_pull_credential(&mut self, image: &str, used: PullCredential) {
        self.record_pull_credential_at(&pulled_record_key(image), used);
    }

    /// `record_pull` with the key already derived (`pulled_record_key`), which allocates only
    /// for a key the record does not hold yet.
    pub fn record_pull_at(&mut self, key: &str, used: Option<SecretCoords>) {
        self.record_pull_credential_at(key, used.into());
    }

    /// `record_pull_at` with the key shared (`Arc<str>`): the simulator's hot path, which
    /// writes a record per image per node and copies no name.
    pub fn record_pull_shared(&mut self, key: &Arc<str>, used: Option<SecretCoords>) {
        Self::merge(self.credential_mapping.entry_or_default_shared(key), used.into());
    }

    /// Whether a pull merged under `key` can change the record, i.e. whether
    /// `writePulledRecordIfChanged` would write: not once `key` is node-accessible, which
    /// wins over any credential (`merge`'s first rule).
    pub fn pull_may_change(&self, key: &str) -> bool {
        !self.credential_mapping.get(key).is_some_and(|s| s.node_pods_accessible)
    }

    /// `record_pull_credential` under `key` (`pulled_record_key` of the image).
    pub fn record_pull_credential_at(&mut self, key: &str, used: PullCredential) {
        let e = self.credential_mapping.entry_or_default(key);
        Self::merge(e, used);
    }

    /// The merge of `writePulledRecordIfChanged` into one name's entry.
    fn merge(e: &mut CredentialSet, used: PullCredential) {
        if e.node_pods_accessible {
            return;
        }
        match used {
            PullCredential::NodeAccessible => {
                e.node_pods_accessible = true;
                e.secrets.clear();
                e.service_accounts.clear();
            }
            PullCredential::Secret(s) => {
                if let Some(old) = e.secrets.iter_mut().find(|o| o.same_coordinates(&s)) {
                    old.credential_hash = s.credential_hash;
                } else {
                    e.secrets.push(s);
                    e.secrets.sort_by(|a, b| a.order_key().cmp(&b.order_key()));
                }
            }
            PullCredential::ServiceAccount(sa) => {
                if let Err(i) = e.service_accounts.binary_search(&sa) {
                    e.service_accounts.insert(i, sa);
                }
            }
        }
    }
}

/// The credentials a pod brings (step 6 of `MustAttemptImagePull`): the pod-secret credentials
/// from its keyring lookup (with hashes) and the first service-account-sourced credential.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PodCredentials {
    pub secrets: Vec<SecretCoords>,
    pub service_account: Option<ServiceAccountCoords>,
}

/// Mirrors `MustAttemptImagePull` (1.35): must the pod pull (i.e. verify its credentials for) a
/// present image? `pull_intent_exists` = an in-flight or on-disk pull intent for `image`.
pub fn must_attempt_image_pull_with(
    policy: VerificationPolicy,
    allowlist: &Allowlist,
    image: &str,
    image_ref: &str,
    record: Option<&PulledRecord>,
    pull_intent_exists: bool,
    pod: &PodCredentials,
) -> bool {
    let name = trim_image_tag_digest(image).ok();
    must_attempt_image_pull_named(
        policy,
        allowlist,
        name.as_deref(),
        !image_ref.is_empty(),
        record,
        pull_intent_exists,
        &pod.secrets,
        pod.service_account.as_ref(),
    )
}

/// `must_attempt_image_pull_with` for an image string trimmed once by the caller (`name`:
/// `trimImageTagDigest` of it, `None` when unparsable), as the simulator keeps it per distinct
/// image string: this runs on every sync of a present image when the feature gate is on.
#[allow(clippy::too_many_arguments)] // the upstream function's inputs, each distinct
pub fn must_attempt_image_pull_named(
    policy: VerificationPolicy,
    allowlist: &Allowlist,
    name: Option<&str>,
    image_present: bool,
    record: Option<&PulledRecord>,
    pull_intent_exists: bool,
    pod_secrets: &[SecretCoords],
    service_account: Option<&ServiceAccountCoords>,
) -> bool {
    // 1. Not present.
    if !image_present {
        return true;
    }
    // 2.–3. Preloaded (no record, no intent) images are trusted by the default policy.
    let pulled_by_kubelet = record.is_some() || pull_intent_exists;
    if !requires_verification_named(policy, allowlist, name, pulled_by_kubelet) {
        return false;
    }
    // 4. Nothing recorded (e.g. intent only: the pull never finished) → verify.
    let Some(rec) = record else { return true };
    let Some(name) = name else {
        return true;
    };
    // 5. The mapping for this image name.
    let Some(set) = rec.credential_mapping.get(name) else {
        return true;
    };
    if set.node_pods_accessible {
        return false;
    }
    if set.secrets.is_empty() && set.service_accounts.is_empty() {
        return true;
    }
    // 7. Secrets: equal non-empty hash, or equal coordinates, suffices.
    for p in pod_secrets {
        for r in &set.secrets {
            if !r.credential_hash.is_empty() && r.credential_hash == p.credential_hash {
                return false;
            }
            if r.same_coordinates(p) {
                return false;
            }
        }
    }
    // 8. Service account.
    if let Some(sa) = service_account {
        if set.service_accounts.contains(sa) {
            return false;
        }
    }
    true
}
