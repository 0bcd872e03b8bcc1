//! `vectors/reference.json`: `Parse`, `ParseNormalizedNamed`, `ParseAnyReference`,
//! `ParseDockerRef`, and for `ParseNormalizedNamed` rows also the kubelet `ParseImageName`
//! triple, `applyDefaultImageTag` and the defaulted pull policy.

use super::{load, s, Failures};
use crate::k8s::image_ref::{
    apply_default_image_tag, parse, parse_any_reference, parse_docker_ref, parse_image_name,
    parse_normalized_named,
};
use crate::k8s::pull_policy::default_pull_policy;

#[test]
fn reference_vectors() {
    let rows = load("reference.json");
    let mut f = Failures::new("reference.json");
    for row in &rows {
        f.checked += 1;
        let input = s(row, "input");
        let fun = s(row, "fn");
        let test = format!("{fun}/{}", s(row, "upstream_test"));
        let got = match fun {
            "Parse" => parse(input),
            "ParseNormalizedNamed" => parse_normalized_named(input),
            "ParseAnyReference" => parse_any_reference(input),
            "ParseDockerRef" => parse_docker_ref(input),
            other => {
                f.fail(&test, input, format!("unknown fn {other}"));
                continue;
            }
        };
        let valid = row["valid"].as_bool().expect("valid");
        match (&got, valid) {
            (Ok(r), true) => {
                f.eq(&test, input, "ref_type", r.ref_type.as_str(), s(row, "ref_type"));
                if r.ref_type != crate::k8s::image_ref::RefType::Digest {
                    f.eq(&test, input, "domain", r.domain.as_str(), s(row, "domain"));
                    f.eq(&test, input, "path", r.path.as_str(), s(row, "path"));
                    f.eq(&test, input, "name", r.name().as_str(), s(row, "name"));
                }
                f.eq(&test, input, "tag", r.tag.as_str(), s(row, "tag"));
                f.eq(&test, input, "digest", r.digest.as_str(), s(row, "digest"));
                f.eq(&test, input, "string", r.string().as_str(), s(row, "string"));
                f.eq(
                    &test,
                    input,
                    "familiar_string",
                    r.familiar_string().as_str(),
                    s(row, "familiar_string"),
                );
            }
            (Err(e), false) => {
                f.eq(&test, input, "error_kind", e.kind(), s(row, "error_kind"));
                f.eq(&test, input, "error", e.to_string().as_str(), s(row, "error"));
            }
            (Ok(r), false) => {
                f.fail(&test, input, format!("parsed as {r:?}, want error {}", s(row, "error_kind")))
            }
            (Err(e), true) => f.fail(&test, input, format!("error {e}, want valid")),
        }
        // Kubernetes wrappers carried by ParseNormalizedNamed rows.
        if row.get("k8s_default_pull_policy").is_some() {
            f.eq(
                &test,
                input,
                "k8s_default_pull_policy",
                default_pull_policy(input).as_str(),
                s(row, "k8s_default_pull_policy"),
            );
        }
        if row.get("k8s_parse_image_name_repo").is_some() {
            match parse_image_name(input) {
                Ok(n) => {
                    f.eq(
                        &test,
                        input,
                        "ParseImageName.repo",
                        n.repo.as_str(),
                        s(row, "k8s_parse_image_name_repo"),
                    );
                    f.eq(
                        &test,
                        input,
                        "ParseImageName.tag",
                        n.tag.as_str(),
                        s(row, "k8s_parse_image_name_tag"),
                    );
                    f.eq(
                        &test,
                        input,
                        "ParseImageName.digest",
                        n.digest.as_str(),
                        s(row, "k8s_parse_image_name_digest"),
                    );
                }
                Err(e) => f.fail(&test, input, format!("ParseImageName error {e}")),
            }
        }
        if row.get("k8s_apply_default_image_tag").is_some() {
            f.eq(
                &test,
                input,
                "applyDefaultImageTag",
                apply_default_image_tag(input),
                Ok(s(row, "k8s_apply_default_image_tag").to_string()),
            );
        }
        if row.get("k8s_apply_default_image_tag_error").and_then(|v| v.as_bool()) == Some(true) {
            match apply_default_image_tag(input) {
                Err(e) => {
                    let want = format!(
                        "couldn't parse image name {}: {}",
                        crate::k8s::image_ref::go_quote(input),
                        s(row, "error")
                    );
                    f.eq(&test, input, "applyDefaultImageTag error", e, want);
                }
                Ok(v) => f.fail(&test, input, format!("applyDefaultImageTag = {v:?}, want error")),
            }
        }
    }
    let n = rows.len();
    f.finish(n);
    assert_eq!(n, 166, "reference.json row count changed");
}
