//! `vectors/pull_policy_default.json`: `SetDefaults_Container` pull-policy defaulting.

use super::{load, s, Failures};
use crate::k8s::image_ref::parse_image_name;
use crate::k8s::pull_policy::{resolve_pull_policy, PullPolicy};

#[test]
fn pull_policy_default_vectors() {
    let rows = load("pull_policy_default.json");
    let mut f = Failures::new("pull_policy_default.json");
    for row in &rows {
        f.checked += 1;
        let kind = s(row, "kind");
        if kind == "rule" {
            // The prose rule row has no input: it is checked by asserting the two explicit
            // consequences it states (explicit kept; "latest" exact → Always, else IfNotPresent).
            f.eq(
                "rule",
                "",
                "explicit kept",
                resolve_pull_policy(Some(PullPolicy::Never), "nginx"),
                PullPolicy::Never,
            );
            f.eq(
                "rule",
                "nginx:LATEST",
                "case-sensitive",
                resolve_pull_policy(None, "nginx:LATEST"),
                PullPolicy::IfNotPresent,
            );
            f.eq("rule", "nginx", "no tag", resolve_pull_policy(None, "nginx"), PullPolicy::Always);
            continue;
        }
        let image = s(row, "image");
        let test =
            format!("{kind}/{}", if s(row, "test").is_empty() { s(row, "source") } else { s(row, "test") });
        let explicit = match s(row, "explicit_policy") {
            "" => None,
            p => match PullPolicy::parse(p) {
                Some(p) => Some(p),
                None => {
                    f.fail(&test, image, format!("bad explicit policy {p}"));
                    continue;
                }
            },
        };
        f.eq(&test, image, "policy", resolve_pull_policy(explicit, image).as_str(), s(row, "expected"));
        if let Some(ok) = row.get("parse_ok").and_then(|v| v.as_bool()) {
            let parsed = parse_image_name(image);
            f.eq(&test, image, "parse_ok", parsed.is_ok(), ok);
            let tag = parsed.map(|n| n.tag).unwrap_or_default();
            f.eq(&test, image, "parsed_tag", tag.as_str(), s(row, "parsed_tag"));
        }
    }
    let n = rows.len();
    f.finish(n);
    assert_eq!(n, 108, "pull_policy_default.json row count changed");
}
