//! KubeletConfiguration (the kubelet's config file in YAML or JSON, or the live configuration
//! from `/configz`, wrapped as `{"kubeletconfig": {...}}`): every field pullsim models, mapped
//! from its camelCase name to the scenario's `[kubelet]` key (`suggest::KUBELET_FIELDS`), plus
//! `maxPods` (a pool's `max_pods`), the `KubeletEnsureSecretPulledImages` feature gate and
//! `evictionHard["imagefs.available"]`. Every other field is listed as not modelled.

use super::error::{child, shown, ImportError, Origin};
use crate::scenario::suggest::KUBELET_FIELDS;
use serde_json::Value;

/// One `[kubelet]` key and its TOML value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Setting {
    pub key: &'static str,
    /// The value as TOML text (`false`, `5`, `"2m0s"`, `["registry.k8s.io/*"]`).
    pub value: String,
    /// The field it comes from, for the comment (`serializeImagePulls`).
    pub field: String,
}

/// What one KubeletConfiguration says.
#[derive(Clone, Debug)]
pub struct KubeletDoc {
    pub origin: Origin,
    pub settings: Vec<Setting>,
    pub max_pods: Option<u64>,
    /// `nodeStatusMaxImages`: how many images a node reports (default 50).
    pub max_images: Option<i64>,
    /// Fields pullsim does not model, as named in the file.
    pub not_modelled: Vec<String>,
}

/// Fields read here besides `KUBELET_FIELDS`.
const OTHER_READ: &[&str] =
    &["maxPods", "featureGates", "evictionHard", "nodeStatusMaxImages", "kind", "apiVersion"];

/// Reads a KubeletConfiguration object at `path`.
pub fn read(o: &Origin, v: &Value, path: &str) -> Result<KubeletDoc, ImportError> {
    let obj = v.as_object().ok_or_else(|| o.err(path, format!("expected an object, got {}", shown(v))))?;
    let mut doc = KubeletDoc {
        origin: o.clone(),
        settings: Vec::new(),
        max_pods: None,
        max_images: None,
        not_modelled: Vec::new(),
    };
    for (camel, key) in KUBELET_FIELDS {
        let Some(x) = obj.get(*camel).filter(|x| !x.is_null()) else { continue };
        let p = child(path, camel);
        let value = match *key {
            "serialize_image_pulls" | "ensure_secret_pulled_images" => match x {
                Value::Bool(b) => b.to_string(),
                other => return Err(o.err(&p, format!("expected true or false, got {}", shown(other)))),
            },
            "max_parallel_image_pulls" => int_at_least(o, x, &p, 1, i64::from(i32::MAX))?,
            "registry_pull_qps" | "registry_burst" => int_at_least(o, x, &p, 0, i64::from(i32::MAX))?,
            "image_gc_high_threshold_percent" | "image_gc_low_threshold_percent" => {
                int_at_least(o, x, &p, 0, 100)?
            }
            "image_minimum_gc_age" | "image_maximum_gc_age" => match x {
                Value::String(s) if crate::units::parse_duration_ns(s).is_ok() => format!("{s:?}"),
                other => {
                    return Err(o.err(&p, format!("expected a duration like \"2m0s\", got {}", shown(other))))
                }
            },
            "image_pull_credentials_verification_policy" => match x {
                Value::String(s) => format!("{s:?}"),
                other => return Err(o.err(&p, format!("expected a string, got {}", shown(other)))),
            },
            "preloaded_images_verification_allowlist" => {
                let list = super::error::str_list(o, v, path, camel)?;
                format!("[{}]", list.iter().map(|s| format!("{s:?}")).collect::<Vec<_>>().join(", "))
            }
            _ => continue,
        };
        doc.settings.push(Setting { key, value, field: (*camel).to_string() });
    }
    if let Some(gates) = obj.get("featureGates").and_then(Value::as_object) {
        if let Some(g) = gates.get("KubeletEnsureSecretPulledImages") {
            let p = child(&child(path, "featureGates"), "KubeletEnsureSecretPulledImages");
            let b =
                g.as_bool().ok_or_else(|| o.err(&p, format!("expected true or false, got {}", shown(g))))?;
            doc.settings.retain(|s| s.key != "ensure_secret_pulled_images");
            doc.settings.push(Setting {
                key: "ensure_secret_pulled_images",
                value: b.to_string(),
                field: "featureGates.KubeletEnsureSecretPulledImages".into(),
            });
        }
    }
    if let Some(eh) = obj.get("evictionHard").filter(|x| !x.is_null()) {
        let p = child(path, "evictionHard");
        let m = eh.as_object().ok_or_else(|| o.err(&p, format!("expected an object, got {}", shown(eh))))?;
        // The kubelet fills its defaults only into an absent evictionHard: a map without
        // imagefs.available sets no imagefs threshold. With images on the node's own
        // filesystem (no separate imagefs), nodefs.available pressure reclaims images, so
        // that threshold stands for it.
        let (signal, field) = match (m.get("imagefs.available"), m.get("nodefs.available")) {
            (Some(x), _) => (Some(x), "evictionHard[\"imagefs.available\"]"),
            (None, Some(x)) => (Some(x), "evictionHard[\"nodefs.available\"] (no imagefs.available; images share the node's filesystem)"),
            (None, None) => (None, "evictionHard without imagefs.available or nodefs.available: no threshold"),
        };
        let value = match signal {
            None => "0".to_string(),
            Some(Value::String(s)) if s.ends_with('%') => format!("{s:?}"),
            Some(Value::String(s)) => match super::nodes::parse_quantity(s) {
                Some(bytes) => format!("{:?}", crate::units::fmt_size_exact(bytes)),
                None => {
                    return Err(
                        o.err(&p, format!("expected a percentage or a quantity like \"10Gi\", got {s:?}"))
                    )
                }
            },
            Some(other) => return Err(o.err(&p, format!("expected a string, got {}", shown(other)))),
        };
        doc.settings.push(Setting {
            key: "eviction_hard_imagefs_available",
            value,
            field: field.to_string(),
        });
    }
    if let Some(x) = obj.get("maxPods").filter(|x| !x.is_null()) {
        let p = child(path, "maxPods");
        doc.max_pods =
            Some(x.as_u64().filter(|n| *n >= 1 && i64::try_from(*n).is_ok()).ok_or_else(|| {
                o.err(&p, format!("expected a whole number of at least 1, got {}", shown(x)))
            })?);
    }
    doc.max_images = obj.get("nodeStatusMaxImages").and_then(Value::as_i64);
    for k in obj.keys() {
        if !KUBELET_FIELDS.iter().any(|(c, _)| c == k) && !OTHER_READ.contains(&k.as_str()) {
            doc.not_modelled.push(k.clone());
        }
    }
    Ok(doc)
}

fn int_at_least(o: &Origin, x: &Value, p: &str, min: i64, max: i64) -> Result<String, ImportError> {
    match x.as_i64() {
        Some(n) if (min..=max).contains(&n) => Ok(n.to_string()),
        _ => Err(o.err(p, format!("expected a whole number from {min} to {max}, got {}", shown(x)))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn maps_modelled_fields() {
        let o = Origin::new("kubelet.json", None);
        let v = json!({
            "kind": "KubeletConfiguration", "serializeImagePulls": false, "maxParallelImagePulls": 5,
            "registryPullQPS": 0, "imageMinimumGCAge": "2m0s", "maxPods": 58,
            "evictionHard": { "memory.available": "100Mi", "nodefs.available": "10%" },
            "featureGates": { "KubeletEnsureSecretPulledImages": false }, "address": "0.0.0.0"
        });
        let d = read(&o, &v, "").unwrap();
        let get = |k: &str| d.settings.iter().find(|s| s.key == k).map(|s| s.value.clone());
        assert_eq!(get("serialize_image_pulls").as_deref(), Some("false"));
        assert_eq!(get("max_parallel_image_pulls").as_deref(), Some("5"));
        assert_eq!(get("registry_pull_qps").as_deref(), Some("0"));
        assert_eq!(get("image_minimum_gc_age").as_deref(), Some("\"2m0s\""));
        assert_eq!(get("eviction_hard_imagefs_available").as_deref(), Some("\"10%\""));
        assert_eq!(get("ensure_secret_pulled_images").as_deref(), Some("false"));
        assert_eq!(d.max_pods, Some(58));
        assert_eq!(d.not_modelled, vec!["address".to_string()]);
        let bad = json!({ "kubeletconfig": { "registryBurst": "ten" } });
        let e = read(&o, &bad["kubeletconfig"], "kubeletconfig").unwrap_err();
        assert_eq!(e.to_string(), "kubelet.json: kubeletconfig.registryBurst: expected a whole number from 0 to 2147483647, got \"ten\"");
    }
}
