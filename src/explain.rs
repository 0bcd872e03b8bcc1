//! `pullsim explain`: pure functions that explain, for one image string, what the kubelet's
//! reference logic (`crate::k8s`) decides — parsing, normalisation, the runtime image string,
//! pull-policy defaulting and the pull decision — and which keyring entries would be tried.
//! No IO: the CLI prints `human()` or the JSON serialisation.

use crate::k8s::credentials::Keyring;
use crate::k8s::image_ref::{
    apply_default_image_tag, parse_docker_ref, parse_image_name, parse_normalized_named,
};
use crate::k8s::pull_policy::{default_pull_policy, PullPolicy};
use serde::Serialize;

/// Everything `explain_image` found out. JSON keys are the field names.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ImageExplanation {
    /// The image string exactly as given (the pod spec's `image`).
    pub input: String,
    /// Whether `ParseNormalizedNamed` accepts it.
    pub valid: bool,
    /// The parse error (upstream text), `null` when valid.
    pub error: Option<String>,
    /// The normalised repository name without tag/digest (`Named.Name()`), e.g.
    /// `docker.io/library/nginx`.
    pub name: Option<String>,
    pub domain: Option<String>,
    pub path: Option<String>,
    /// Tag as written (`null` when none).
    pub tag: Option<String>,
    /// Digest as written (`null` when none).
    pub digest: Option<String>,
    /// `ParseDockerRef(input).String()`: the fully qualified reference a runtime resolves —
    /// `:latest` added to a bare name, and the tag dropped when a digest is present.
    pub normalized: Option<String>,
    /// `FamiliarString` of the normalised reference (`nginx:1.25`, `quay.io/x/y`).
    pub familiar: Option<String>,
    /// `applyDefaultImageTag(input)`: the string the kubelet sends to the CRI (`busybox:latest`,
    /// never rewritten to `docker.io/...`).
    pub runtime_image: Option<String>,
    /// The policy `SetDefaults_Container` would set when none is given.
    pub default_policy: String,
    /// The effective policy: the explicit one, else the default.
    pub policy: String,
    /// `pull`, `use-cached`, `ErrImageNeverPull` or `InvalidImageName` (gate-off decision:
    /// credential re-verification of present images is not considered).
    pub decision: String,
    /// Node architecture, informational only (shown in `human()`, not serialised).
    #[serde(skip)]
    pub arch: Option<String>,
    /// Whether the image was assumed present on the node (shown in `human()`).
    #[serde(skip)]
    pub present: bool,
}

fn none_if_empty(s: &str) -> Option<String> {
    (!s.is_empty()).then(|| s.to_string())
}

/// Explain one image string under an optional explicit pull policy, with the image assumed
/// `present` on the node or not. `arch` is informational (the kubelet does not consider it).
pub fn explain_image(
    input: &str,
    policy: Option<PullPolicy>,
    present: bool,
    arch: Option<&str>,
) -> ImageExplanation {
    let default_policy = default_pull_policy(input);
    let effective = policy.unwrap_or(default_policy);
    let mut e = ImageExplanation {
        input: input.to_string(),
        valid: false,
        error: None,
        name: None,
        domain: None,
        path: None,
        tag: None,
        digest: None,
        normalized: None,
        familiar: None,
        runtime_image: None,
        default_policy: default_policy.as_str().to_string(),
        policy: effective.as_str().to_string(),
        decision: String::new(),
        arch: arch.map(str::to_string),
        present,
    };
    match parse_normalized_named(input) {
        Err(err) => {
            // What EnsureImageExists reports: applyDefaultImageTag's ParseImageName error.
            e.error = Some(parse_image_name(input).err().unwrap_or_else(|| err.to_string()));
            e.decision = "InvalidImageName".to_string();
        }
        Ok(r) => {
            e.valid = true;
            e.name = Some(r.name());
            e.domain = Some(r.domain.clone());
            e.path = Some(r.path.clone());
            e.tag = none_if_empty(&r.tag);
            e.digest = none_if_empty(&r.digest);
            e.normalized = parse_docker_ref(input).ok().map(|d| d.string());
            e.familiar = Some(r.familiar_string());
            e.runtime_image = apply_default_image_tag(input).ok();
            e.decision = match (effective, present) {
                (PullPolicy::Always, _) => "pull",
                (_, true) => "use-cached",
                (PullPolicy::IfNotPresent, false) => "pull",
                (PullPolicy::Never, false) => "ErrImageNeverPull",
            }
            .to_string();
        }
    }
    e
}

impl ImageExplanation {
    /// A readable multi-line explanation.
    pub fn human(&self) -> String {
        let mut out = format!("image:          {}\n", self.input);
        let opt = |v: &Option<String>| v.clone().unwrap_or_else(|| "(none)".to_string());
        if let Some(err) = &self.error {
            out.push_str(&format!("valid:          no\nerror:          {err}\n"));
        } else {
            out.push_str("valid:          yes\n");
            out.push_str(&format!("name:           {}\n", opt(&self.name)));
            out.push_str(&format!("  domain:       {}\n", opt(&self.domain)));
            out.push_str(&format!("  path:         {}\n", opt(&self.path)));
            out.push_str(&format!("  tag:          {}\n", opt(&self.tag)));
            out.push_str(&format!("  digest:       {}\n", opt(&self.digest)));
            out.push_str(&format!("normalized:     {}\n", opt(&self.normalized)));
            out.push_str(&format!("familiar:       {}\n", opt(&self.familiar)));
            out.push_str(&format!(
                "runtime image:  {} (what the kubelet sends to the CRI)\n",
                opt(&self.runtime_image)
            ));
        }
        out.push_str(&format!("default policy: {}\n", self.default_policy));
        out.push_str(&format!("policy:         {}\n", self.policy));
        out.push_str(&format!("present:        {}\n", if self.present { "yes" } else { "no" }));
        if let Some(a) = &self.arch {
            out.push_str(&format!("arch:           {a} (informational: the kubelet does not check it)\n"));
        }
        out.push_str(&format!("decision:       {}\n", self.decision));
        out
    }
}

/// Which keyring entries match an image's repository, in try order.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct CredentialsExplanation {
    pub image: String,
    /// The given keys (as written) whose credentials `Lookup` would return, in the order the
    /// kubelet tries them.
    pub matches: Vec<String>,
    /// The repository that was looked up (`ParseImageName(image).repo`); not serialised.
    #[serde(skip)]
    pub repo: Option<String>,
}

/// Explain which docker-config keys match `image`: the keys are added to one keyring
/// (`BasicDockerKeyring.Add` normalisation; unparsable keys are ignored, as upstream) and the
/// image's fully qualified repo is looked up (with the Docker Hub `index.docker.io` fallback).
/// An invalid image matches nothing.
pub fn explain_credentials(image: &str, keys: &[String]) -> CredentialsExplanation {
    let repo = parse_image_name(image).ok().map(|n| n.repo);
    let mut ring: Keyring<String> = Keyring::new();
    for k in keys {
        ring.add(k, k.clone());
    }
    let matches = repo.as_deref().map(|r| ring.lookup(r)).unwrap_or_default();
    CredentialsExplanation { image: image.to_string(), matches, repo }
}

impl CredentialsExplanation {
    /// A readable multi-line explanation.
    pub fn human(&self) -> String {
        let mut out = format!("image: {}\n", self.image);
        match &self.repo {
            None => out.push_str("repo:  (invalid image name: no credentials are looked up)\n"),
            Some(r) => out.push_str(&format!("repo:  {r}\n")),
        }
        if self.matches.is_empty() {
            out.push_str("no matching credentials: the pull is anonymous\n");
        } else {
            out.push_str("credentials tried in order:\n");
            for (i, m) in self.matches.iter().enumerate() {
                out.push_str(&format!("  {}. {m}\n", i + 1));
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn image_json_keys_and_values() {
        let e = explain_image("nginx", None, false, Some("arm64"));
        let v = serde_json::to_value(&e).unwrap();
        let keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
        let mut want = vec![
            "input",
            "valid",
            "error",
            "name",
            "domain",
            "path",
            "tag",
            "digest",
            "normalized",
            "familiar",
            "runtime_image",
            "default_policy",
            "policy",
            "decision",
        ];
        want.sort();
        let mut got = keys.clone();
        got.sort();
        assert_eq!(got, want);
        assert_eq!(v["error"], serde_json::Value::Null);
        assert_eq!(v["name"], "docker.io/library/nginx");
        assert_eq!(v["normalized"], "docker.io/library/nginx:latest");
        assert_eq!(v["familiar"], "nginx");
        assert_eq!(v["runtime_image"], "nginx:latest");
        assert_eq!(v["default_policy"], "Always");
        assert_eq!(v["decision"], "pull");
        assert!(e.human().contains("arm64"));
        assert!(e.human().contains("decision:       pull"));
    }

    #[test]
    fn image_decisions() {
        let d =
            |img: &str, p: Option<PullPolicy>, present: bool| explain_image(img, p, present, None).decision;
        assert_eq!(d("nginx:1.25", None, true), "use-cached");
        assert_eq!(d("nginx:1.25", None, false), "pull");
        assert_eq!(d("nginx:1.25", Some(PullPolicy::Always), true), "pull");
        assert_eq!(d("nginx:1.25", Some(PullPolicy::Never), false), "ErrImageNeverPull");
        assert_eq!(d("Nginx", None, true), "InvalidImageName");
        let e = explain_image(
            "repo:latest@sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
            None,
            false,
            None,
        );
        assert_eq!(e.policy, "Always");
        assert_eq!(e.normalized.as_deref(), Some("docker.io/library/repo@sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"));
    }

    #[test]
    fn invalid_image_json_and_text() {
        let e = explain_image("Nginx", None, false, None);
        let v = serde_json::to_value(&e).unwrap();
        assert_eq!(v["valid"], false);
        assert_eq!(
            v["error"],
            "couldn't parse image name \"Nginx\": invalid reference format: repository name (library/Nginx) must be lowercase"
        );
        assert_eq!(v["name"], serde_json::Value::Null);
        assert_eq!(v["default_policy"], "IfNotPresent");
        assert_eq!(v["decision"], "InvalidImageName");
        assert!(e.human().contains("valid:          no"));
    }

    #[test]
    fn credentials_json_and_text() {
        let keys = vec![
            "https://index.docker.io/v1/".to_string(),
            "*.gcr.io".to_string(),
            "us.gcr.io".to_string(),
            "quay.io".to_string(),
        ];
        let c = explain_credentials("us.gcr.io/proj/img:1", &keys);
        assert_eq!(
            serde_json::to_string(&c).unwrap(),
            r#"{"image":"us.gcr.io/proj/img:1","matches":["us.gcr.io","*.gcr.io"]}"#
        );
        assert!(c.human().contains("1. us.gcr.io\n  2. *.gcr.io"));
        // Docker Hub fallback to index.docker.io.
        let hub = explain_credentials("nginx", &keys);
        assert_eq!(hub.matches, vec!["https://index.docker.io/v1/".to_string()]);
        let none = explain_credentials("example.com/x", &keys);
        assert!(none.matches.is_empty());
        assert!(none.human().contains("anonymous"));
        let bad = explain_credentials("Bad", &keys);
        assert!(bad.matches.is_empty() && bad.human().contains("invalid image name"));
    }
}
