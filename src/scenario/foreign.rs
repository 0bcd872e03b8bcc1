//! Documents that are not scenarios but are easily given for one: Kubernetes objects as JSON
//! (`kubectl get nodes -o json`) or YAML (a Deployment manifest, a KubeletConfiguration file).
//! They are recognised after the text has failed to parse as TOML (none of them is valid TOML, and
//! a valid scenario is never second-guessed), by a cheap look at the text: a JSON document that
//! parses, or YAML with a top-level `apiVersion:` or `kind:` line. The answer says what the file
//! is and what to write instead, and that `pullsim import` turns such documents into a
//! scenario, in place of a TOML syntax error about its first line.

use super::suggest::KUBELET_FIELDS;
use serde_json::Value as Json;

/// What the text is and what to do, when it is a Kubernetes document (or other JSON).
pub fn recognise(text: &str) -> Option<String> {
    let body = text.trim_start_matches('\u{feff}').trim_start();
    let (format, doc) = if body.starts_with('{') || body.starts_with('[') {
        ("JSON", from_json(&serde_json::from_str::<Json>(body).ok()?))
    } else {
        ("YAML", from_yaml(text)?)
    };
    let what = match doc.kinds.as_slice() {
        [] if format == "JSON" => {
            return Some(
                "this is JSON, not a pullsim scenario (TOML). A scenario is a TOML file of tables \
                 ([simulation], [[node_pool]], [[workload]], ...); `pullsim init FILE` writes a \
                 starter scenario to edit, and docs/scenario-format.md is the reference."
                    .to_string(),
            )
        }
        [] => return None,
        kinds => describe(kinds, &doc.items),
    };
    Some(format!(
        "this is {what} ({format}), not a pullsim scenario (TOML). {} `pullsim import FILE --out \
         scenario.toml` writes a scenario from Kubernetes documents (docs/import.md).",
        advice(&doc)
    ))
}

/// The parts of a Kubernetes document the answer uses.
#[derive(Debug, Default, PartialEq)]
struct Doc {
    /// `kind` of each top-level object, in order.
    kinds: Vec<String>,
    /// `kind` of the items of a `List` (or `NodeList`, ...).
    items: Vec<String>,
    /// Top-level keys of the (first) object: a KubeletConfiguration's fields.
    keys: Vec<String>,
}

fn from_json(v: &Json) -> Doc {
    let kind_of = |o: &Json| o.get("kind").and_then(Json::as_str).map(str::to_string);
    match v {
        Json::Array(a) => Doc { kinds: a.iter().filter_map(kind_of).collect(), ..Doc::default() },
        Json::Object(o) => Doc {
            kinds: kind_of(v).into_iter().collect(),
            items: o
                .get("items")
                .and_then(Json::as_array)
                .map(|items| items.iter().filter_map(kind_of).collect())
                .unwrap_or_default(),
            keys: o.keys().cloned().collect(),
        },
        _ => Doc::default(),
    }
}

/// Reads `kind:` lines: at the start of a line for the objects of a (multi-document) file,
/// indented for the items of a list. `None` unless lines start with `apiVersion:` and `kind:`,
/// as every Kubernetes object has both (a TOML line `kind: "x"` with `:` for `=` is not taken
/// for one).
fn from_yaml(text: &str) -> Option<Doc> {
    let mut doc = Doc::default();
    let (mut api_version, mut kind) = (false, false);
    let mut first_document = true;
    for line in text.lines() {
        let value = |rest: &str| rest.trim().trim_matches(['"', '\'']).to_string();
        if line.starts_with("---") && !doc.kinds.is_empty() {
            first_document = false;
        } else if let Some(rest) = line.strip_prefix("kind:") {
            kind = true;
            doc.kinds.push(value(rest));
        } else if line.starts_with("apiVersion:") {
            api_version = true;
        } else if let Some(rest) =
            line.trim_start().trim_start_matches("- ").trim_start().strip_prefix("kind:")
        {
            doc.items.push(value(rest));
        }
        if first_document && !line.starts_with([' ', '\t', '#', '-']) {
            if let Some((key, _)) = line.split_once(':') {
                doc.keys.push(key.trim().to_string());
            }
        }
    }
    (api_version && kind).then_some(doc)
}

fn article(word: &str) -> &'static str {
    if word.starts_with(['A', 'E', 'I', 'O', 'U', 'a', 'e', 'i', 'o', 'u']) {
        "an"
    } else {
        "a"
    }
}

/// "a Kubernetes Deployment", "a Kubernetes NodeList", "a Kubernetes List of 3 Node objects",
/// "a set of Kubernetes objects (Deployment, Service)".
fn describe(kinds: &[String], items: &[String]) -> String {
    match kinds {
        [k] if k == "List" && !items.is_empty() => {
            let mut distinct: Vec<&str> = items.iter().map(String::as_str).collect();
            distinct.dedup();
            match distinct.as_slice() {
                [one] => format!("a Kubernetes List of {} {one} objects", items.len()),
                _ => format!("a Kubernetes List of {} objects", items.len()),
            }
        }
        [k] => format!("{} Kubernetes {k}", article(k)),
        _ => {
            let mut distinct: Vec<&str> = Vec::new();
            for k in kinds {
                if !distinct.contains(&k.as_str()) {
                    distinct.push(k);
                }
            }
            format!("a set of Kubernetes objects ({})", distinct.join(", "))
        }
    }
}

/// The scenario kind that describes a Kubernetes workload kind.
fn workload_kind(k: &str) -> Option<&'static str> {
    match k {
        "Deployment" | "StatefulSet" | "ReplicaSet" | "ReplicationController" | "Pod" => Some("deployment"),
        "DaemonSet" => Some("daemonset"),
        "Job" | "CronJob" => Some("batch"),
        _ => None,
    }
}

fn advice(doc: &Doc) -> String {
    // The items count only in a list: elsewhere an indented `kind:` is a reference to another
    // object (an owner, a scale target).
    let list = doc.kinds.iter().any(|k| k.ends_with("List"));
    let items = if list { doc.items.as_slice() } else { &[] };
    let kinds: Vec<&str> =
        doc.kinds.iter().chain(items).map(|k| k.strip_suffix("List").unwrap_or(k)).collect();
    let examples =
        "`pullsim init FILE` writes a starter scenario to edit, and docs/scenario-format.md is the reference";
    if kinds.contains(&"KubeletConfiguration") {
        let mapped: Vec<String> = doc
            .keys
            .iter()
            .filter_map(|k| KUBELET_FIELDS.iter().find(|(camel, _)| camel == k))
            .map(|(camel, key)| format!("{camel} is {key}"))
            .collect();
        let which = if mapped.is_empty() { String::new() } else { format!(" ({})", mapped.join(", ")) };
        return format!(
            "Its image settings go in a scenario's [kubelet] table, in snake_case{which}; {examples}."
        );
    }
    if kinds.contains(&"Node") {
        return format!(
            "Describe its nodes in a scenario as node pools: one [[node_pool]] per group of alike \
             nodes, with name, count, arch and disk; {examples}."
        );
    }
    if let Some((k, ours)) = kinds.iter().find_map(|k| workload_kind(k).map(|ours| (k, ours))) {
        return format!(
            "Describe it in a scenario as a [[workload]] (a {k} is kind = \"{ours}\"), its containers \
             under [workload.pod] and each image they use as an [[image]]; {examples}."
        );
    }
    format!(
        "A scenario is a TOML file of tables ([simulation], [[node_pool]], [[workload]], ...); {examples}."
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kubectl_node_list_json() {
        let text = r#"{
    "apiVersion": "v1",
    "items": [
        { "apiVersion": "v1", "kind": "Node", "metadata": { "name": "a" } },
        { "apiVersion": "v1", "kind": "Node", "metadata": { "name": "b" } }
    ],
    "kind": "List",
    "metadata": { "resourceVersion": "" }
}"#;
        let m = recognise(text).unwrap();
        assert!(
            m.starts_with(
                "this is a Kubernetes List of 2 Node objects (JSON), not a pullsim scenario (TOML)."
            ),
            "{m}"
        );
        assert!(m.contains("[[node_pool]]"), "{m}");
        let m = recognise(r#"{"kind": "NodeList", "apiVersion": "v1", "items": []}"#).unwrap();
        assert!(m.starts_with("this is a Kubernetes NodeList (JSON)"), "{m}");
        assert!(m.contains("[[node_pool]]"), "{m}");
    }

    #[test]
    fn deployment_yaml() {
        let text = "# web\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  replicas: 3\n  template:\n    spec:\n      containers:\n      - name: web\n        image: nginx:1.27\n";
        let m = recognise(text).unwrap();
        assert!(
            m.starts_with("this is a Kubernetes Deployment (YAML), not a pullsim scenario (TOML)."),
            "{m}"
        );
        assert!(m.contains("kind = \"deployment\""), "{m}");
        assert!(m.ends_with("`pullsim import FILE --out scenario.toml` writes a scenario from Kubernetes documents (docs/import.md)."), "{m}");
        let two = format!("{text}---\napiVersion: v1\nkind: Service\n");
        assert!(recognise(&two)
            .unwrap()
            .starts_with("this is a set of Kubernetes objects (Deployment, Service) (YAML)"));
    }

    #[test]
    fn kubelet_configuration() {
        let text = "apiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\nserializeImagePulls: false\nmaxParallelImagePulls: 5\nevictionHard:\n  memory.available: 100Mi\n";
        let m = recognise(text).unwrap();
        assert!(m.contains("[kubelet] table, in snake_case (serializeImagePulls is serialize_image_pulls, maxParallelImagePulls is max_parallel_image_pulls)"), "{m}");
        let json = r#"{"apiVersion": "kubelet.config.k8s.io/v1beta1", "kind": "KubeletConfiguration", "registryBurst": 20}"#;
        assert!(recognise(json).unwrap().contains("(registryBurst is registry_burst)"));
    }

    #[test]
    fn other_text_is_left_to_the_toml_parser() {
        assert_eq!(recognise("[simulation\nname = 1"), None);
        assert_eq!(recognise("name: x\ncount: 3\n"), None);
        assert_eq!(recognise("[[workload]]\nkind: \"deployment\"\n"), None);
        assert_eq!(recognise("name = 1\nkind: \"deployment\"\n"), None);
        assert_eq!(recognise("{ not json"), None);
        assert!(recognise("{\"a\": 1}").unwrap().starts_with("this is JSON, not a pullsim scenario"));
        assert!(recognise("[{\"kind\": \"Pod\"}]").unwrap().starts_with("this is a Kubernetes Pod (JSON)"));
    }
}
