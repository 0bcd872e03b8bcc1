//! `pullsim explain`: pure functions that explain, for one image string, what the kubelet's
//! reference logic (`crate::k8s`) decides — parsing, normalisation, the runtime image string,
//! pull-policy defaulting and the pull decision — and which keyring entries would be tried.
//! No IO: the CLI prints `human()` or the JSON serialisation.

use crate::k8s::credentials::Keyring;
use crate::k8s::image_ref::{
    apply_default_image_tag, parse_docker_ref, parse_image_name, parse_normalized_named,
};
use crate::k8s::platform::has_manifest_for;
use crate::k8s::pull_policy::{default_pull_policy, PullPolicy};
use crate::scenario::Scenario;
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
    /// The node's architecture (GOARCH name, `--arch` normalised: `x86_64` is `amd64`), or
    /// `null`.
    pub arch: Option<String>,
    /// The platform the runtime asks an image index for on that node (`linux/<arch>`), or `null`.
    pub platform: Option<String>,
    /// The image as the scenario given with `--scenario` declares it, or `null` without one.
    pub scenario: Option<ScenarioImage>,
    /// With `--arch` and a scenario that declares the image: whether it has a manifest for the
    /// node's platform (a pull on a node without one fails: "no match for platform in
    /// manifest"); `null` otherwise.
    pub platform_match: Option<bool>,
    /// Whether the image was assumed present on the node (shown in `human()`).
    #[serde(skip)]
    pub present: bool,
}

/// What a scenario says about an image (`explain image --scenario FILE`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ScenarioImage {
    /// Whether the scenario has an `[[image]]` (or image-set member) with this reference.
    pub declared: bool,
    /// The declared image's architectures; `null` = every architecture (or not declared).
    pub platforms: Option<Vec<String>>,
    /// The `[[registry]]` host serving its domain, `null` when none does.
    pub registry: Option<String>,
}

/// Looks up `input` among a scenario's images by its normalised reference, as pods' images are
/// resolved (`ParseDockerRef`).
pub fn scenario_image(scn: &Scenario, input: &str) -> ScenarioImage {
    let normalized = parse_docker_ref(input).ok().map(|r| r.string());
    let image = normalized.and_then(|n| scn.images.iter().find(|i| i.normalized == n));
    ScenarioImage {
        declared: image.is_some(),
        platforms: image.and_then(|i| i.platforms.clone()),
        registry: image.and_then(|i| i.registry).map(|r| scn.registries[r.idx()].host.clone()),
    }
}

fn none_if_empty(s: &str) -> Option<String> {
    (!s.is_empty()).then(|| s.to_string())
}

/// Explain one image string under an optional explicit pull policy, with the image assumed
/// `present` on the node or not, on a node of architecture `arch` (a GOARCH name, see
/// `k8s::platform::normalize_arch`), and as `scenario` declares it. The kubelet's decision does
/// not depend on the architecture; whether the pull then finds a manifest does.
pub fn explain_image(
    input: &str,
    policy: Option<PullPolicy>,
    present: bool,
    arch: Option<&str>,
    scenario: Option<&Scenario>,
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
        platform: arch.map(|a| format!("linux/{a}")),
        scenario: scenario.map(|scn| scenario_image(scn, input)),
        platform_match: None,
        present,
    };
    if let (Some(a), Some(si)) = (arch, &e.scenario) {
        e.platform_match = si.declared.then(|| has_manifest_for(si.platforms.as_deref(), a));
    }
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
        if let (Some(a), Some(p)) = (&self.arch, &self.platform) {
            out.push_str(&format!(
                "arch:           {a} (the runtime picks the {p} manifest from an image index)\n"
            ));
        }
        if let Some(si) = &self.scenario {
            let line = if si.declared {
                let platforms =
                    si.platforms.as_ref().map_or("every architecture".to_string(), |p| p.join(", "));
                let registry = si.registry.as_deref().unwrap_or("no [[registry]] serves its domain");
                format!("declared; registry {registry}; platforms {platforms}")
            } else {
                "not declared (a pod using it fails: no registry serves it, or it is a preloaded-only image)"
                    .to_string()
            };
            out.push_str(&format!("in scenario:    {line}\n"));
        }
        out.push_str(&format!("decision:       {}\n", self.decision));
        if let Some(m) = self.platform_match {
            let line = match (m, self.decision.as_str()) {
                (true, _) => "yes",
                (false, "pull") => "no: the pull fails (no match for platform in manifest)",
                (false, _) => "no (the image is not pulled, so this does not matter here)",
            };
            out.push_str(&format!("platform match: {line}\n"));
        }
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
        let e = explain_image("nginx", None, false, Some("arm64"), None);
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
            "arch",
            "platform",
            "scenario",
            "platform_match",
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
        assert_eq!(v["arch"], "arm64");
        assert_eq!(v["platform"], "linux/arm64");
        assert_eq!(v["scenario"], serde_json::Value::Null);
        assert_eq!(v["platform_match"], serde_json::Value::Null, "nothing to match without a scenario");
        assert!(e.human().contains("linux/arm64 manifest"));
        assert!(e.human().contains("decision:       pull"));
    }

    /// `--arch` with `--scenario`: whether the declared image has a manifest for the node.
    #[test]
    fn arch_against_the_scenarios_platforms() {
        let text = r#"
[simulation]
name = "p"
[[node_pool]]
name = "pool"
count = 1
[[registry]]
host = "registry.example"
[[image]]
ref = "registry.example/app:1"
size = "10MB"
platforms = ["amd64"]
[[image]]
ref = "registry.example/multi:1"
size = "10MB"
[[workload]]
name = "w"
kind = "deployment"
replicas = 1
[workload.pod]
containers = [ { image = "registry.example/app:1" } ]
"#;
        let scn = crate::scenario::load(text, "p.toml", &[]).unwrap();
        let e = explain_image("registry.example/app:1", None, false, Some("arm64"), Some(&scn));
        assert_eq!(e.platform_match, Some(false));
        assert!(e.human().contains("platform match: no: the pull fails"), "{}", e.human());
        assert!(e.human().contains("platforms amd64"), "{}", e.human());
        let e = explain_image("registry.example/app:1", None, false, Some("amd64"), Some(&scn));
        assert_eq!(e.platform_match, Some(true));
        let e = explain_image("registry.example/multi:1", None, false, Some("arm64"), Some(&scn));
        assert_eq!(e.platform_match, Some(true), "no platforms: every architecture");
        assert_eq!(e.scenario.as_ref().unwrap().registry.as_deref(), Some("registry.example"));
        let e = explain_image("registry.example/other:1", None, false, Some("arm64"), Some(&scn));
        assert_eq!(e.platform_match, None);
        assert!(!e.scenario.unwrap().declared);
        // Present under IfNotPresent: no pull, so the platform does not matter.
        let e = explain_image("registry.example/app:1", None, true, Some("arm64"), Some(&scn));
        assert!(e.human().contains("not pulled"), "{}", e.human());
    }

    #[test]
    fn image_decisions() {
        let d = |img: &str, p: Option<PullPolicy>, present: bool| {
            explain_image(img, p, present, None, None).decision
        };
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
            None,
        );
        assert_eq!(e.policy, "Always");
        assert_eq!(e.normalized.as_deref(), Some("docker.io/library/repo@sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"));
    }

    #[test]
    fn invalid_image_json_and_text() {
        let e = explain_image("Nginx", None, false, None, None);
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
