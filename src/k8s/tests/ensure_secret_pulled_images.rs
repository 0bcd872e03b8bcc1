//! `vectors/ensure_secret_pulled_images.json`: `MustAttemptImagePull`, the verification
//! policies, the allowlist (NEWEST 1.36 semantics) and `trimImageTagDigest`.

use super::{load, s, Failures};
use crate::k8s::verification::{
    must_attempt_image_pull_with, requires_verification, trim_image_tag_digest, Allowlist, CredentialSet,
    PodCredentials, PulledRecord, SecretCoords, VerificationPolicy,
};
use serde_json::Value;

fn secret(v: &Value) -> SecretCoords {
    SecretCoords {
        uid: s(v, "uid").to_string(),
        namespace: s(v, "namespace").to_string(),
        name: s(v, "name").to_string(),
        credential_hash: s(v, "credential_hash").to_string(),
    }
}

fn record(v: &Value) -> PulledRecord {
    let mut r = PulledRecord::default();
    for (name, set) in v["credential_mapping"].as_object().unwrap() {
        let secrets = set
            .get("kubernetes_secrets")
            .and_then(Value::as_array)
            .map(|a| a.iter().map(secret).collect())
            .unwrap_or_default();
        let node = set.get("node_pods_accessible").and_then(Value::as_bool).unwrap_or(false);
        r.credential_mapping.insert(
            name.clone(),
            CredentialSet { node_pods_accessible: node, secrets, service_accounts: Vec::new() },
        );
    }
    r
}

#[test]
fn ensure_secret_pulled_images_vectors() {
    let rows = load("ensure_secret_pulled_images.json");
    let mut f = Failures::new("ensure_secret_pulled_images.json");
    for row in &rows {
        f.checked += 1;
        let kind = s(row, "kind");
        let image = s(row, "image");
        let test = format!("{kind}/{}", s(row, "test"));
        match kind {
            "note" => {
                // Describes the fixture inference; asserted by the rows below (nothing to run).
                f.eq(&test, "", "note has text", s(row, "text").is_empty(), false);
            }
            "must_attempt_image_pull" => {
                let policy = VerificationPolicy::parse(s(row, "policy")).unwrap();
                let pod = PodCredentials {
                    secrets: row["pod_secrets"].as_array().unwrap().iter().map(secret).collect(),
                    service_account: None,
                };
                let (rec, intent) = match s(row, "record") {
                    "pulled" => (Some(record(&row["record_content"])), false),
                    "intent" => (None, true),
                    "none" => (None, false),
                    other => panic!("record {other}"),
                };
                let got = must_attempt_image_pull_with(
                    policy,
                    &Allowlist::default(),
                    image,
                    s(row, "image_ref"),
                    rec.as_ref(),
                    intent,
                    &pod,
                );
                f.eq(
                    &test,
                    image,
                    "must_attempt_pull",
                    got,
                    row["want_must_attempt_pull"].as_bool().unwrap(),
                );
            }
            "policy" | "allowlist_policy" => {
                let policy = VerificationPolicy::parse(s(row, "policy")).unwrap();
                let patterns: Vec<String> = row
                    .get("allowlist")
                    .and_then(Value::as_array)
                    .map(|a| a.iter().map(|v| v.as_str().unwrap().to_string()).collect())
                    .unwrap_or_default();
                let allow = match Allowlist::new(&patterns) {
                    Ok(a) => a,
                    Err(e) => {
                        f.fail(&test, image, format!("allowlist rejected: {e}"));
                        continue;
                    }
                };
                let by_kubelet = row["image_pulled_by_kubelet"].as_bool().unwrap();
                let got = requires_verification(policy, &allow, image, by_kubelet);
                f.eq(
                    &test,
                    image,
                    "require_verification",
                    got,
                    row["want_require_verification"].as_bool().unwrap(),
                );
            }
            "trim_image_tag_digest" => {
                let got = trim_image_tag_digest(image);
                if row["want_error"].as_bool().unwrap() {
                    f.eq(&test, image, "is error", got.is_err(), true);
                } else {
                    f.eq(&test, image, "trimmed", got, Ok(s(row, "want").to_string()));
                }
            }
            other => f.fail(other, image, "unknown row kind".to_string()),
        }
    }
    let n = rows.len();
    f.finish(n);
    assert_eq!(n, 33, "ensure_secret_pulled_images.json row count changed");
}
