//! Image manifests and indexes, OCI and Docker schema 2: a manifest's layers (digests and
//! compressed sizes), an index's (manifest list's) platforms, in the forms the tools print
//! them: raw registry JSON (`crane manifest`, `skopeo inspect --raw`, `docker manifest
//! inspect`), `docker manifest inspect -v` (one entry, or a list of entries for a multi-arch
//! image, each with its `Ref`, platform and manifest), `skopeo inspect` (`Name`, `Digest`,
//! `LayersData`), and a map of tags to manifests and image configs (`{"manifests": {tag:
//! manifest}, "tags": [...], "configs": {tag: config}}`).
//!
//! A raw document is also known by the sha256 digest of its bytes, which is how an index names
//! its manifests and how nodes and pods name images (`repo@sha256:...`), so a manifest file is
//! matched to its index and to its image without being told which it is.

use super::error::{child, item, opt_arr, opt_str, opt_u64, shown, ImportError, Origin};
use crate::k8s::platform::normalize_arch;
use serde_json::Value;
use sha2::{Digest, Sha256};

/// A layer: blob digest and compressed size.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Layer {
    pub digest: String,
    pub size: u64,
}

/// An index entry: the platform's manifest digest and architecture (GOARCH, normalised).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    pub digest: String,
    pub arch: String,
}

/// A manifest or an index.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Manifest {
    Image { layers: Vec<Layer> },
    Index { entries: Vec<Entry> },
}

/// One manifest document, with what it says about its image.
#[derive(Clone, Debug)]
pub struct ManifestDoc {
    pub origin: Origin,
    /// The image reference the document names (docker's `Ref`, skopeo's `Name@Digest`, a
    /// `REF=FILE` argument), or the repository for a map of tags.
    pub name: Option<String>,
    /// The tag, for a map of tags.
    pub tag: Option<String>,
    /// sha256 digests of the document's bytes (as given, and with a final newline), when the
    /// document is raw registry JSON.
    pub digests: Vec<String>,
    /// The platform, where the document says.
    pub arch: Option<String>,
    pub manifest: Manifest,
}

/// What reading a manifest-like document gives.
pub enum Read {
    Docs(Vec<ManifestDoc>),
    /// A document of this family that gives nothing to use, and why.
    NotUsed(String),
}

/// `sha256:<hex>` of `bytes`.
pub fn sha256_digest(bytes: &[u8]) -> String {
    let d = Sha256::digest(bytes);
    let mut s = String::with_capacity(71);
    s.push_str("sha256:");
    for b in d {
        s.push_str(&format!("{b:02x}"));
    }
    s
}

/// Whether `v` is a manifest, index, or one of the wrappers above.
pub fn recognise(v: &Value) -> bool {
    match v {
        Value::Array(a) => {
            !a.is_empty() && a.iter().all(|e| e.get("Ref").is_some() && e.get("Descriptor").is_some())
        }
        Value::Object(o) => {
            o.contains_key("schemaVersion")
                || (o.contains_key("Ref") && o.contains_key("Descriptor"))
                || (o.contains_key("Name")
                    && o.contains_key("Digest")
                    && (o.contains_key("LayersData") || o.contains_key("Layers")))
                || (o.get("manifests").is_some_and(Value::is_object) && o.contains_key("tags"))
                || o.get("mediaType")
                    .and_then(Value::as_str)
                    .is_some_and(|m| m.contains("manifest") || m.contains("index"))
                || (o.contains_key("rootfs") && o.contains_key("architecture"))
        }
        _ => false,
    }
}

/// Reads a manifest-like document. `bytes`: its exact text when it is raw JSON from a file;
/// `hint`: the reference given as `REF=FILE`.
pub fn read(o: &Origin, v: &Value, bytes: Option<&str>, hint: Option<&str>) -> Result<Read, ImportError> {
    if let Value::Array(list) = v {
        let mut docs = Vec::new();
        for (i, e) in list.iter().enumerate() {
            if let Some(d) = docker_verbose(o, e, &item("", i), hint)? {
                docs.push(d);
            }
        }
        return Ok(if docs.is_empty() {
            Read::NotUsed("`docker manifest inspect -v` entries without a schema 2 or OCI manifest".into())
        } else {
            Read::Docs(docs)
        });
    }
    if v.get("Ref").is_some() && v.get("Descriptor").is_some() {
        return Ok(match docker_verbose(o, v, "", hint)? {
            Some(d) => Read::Docs(vec![d]),
            None => Read::NotUsed(
                "a `docker manifest inspect -v` entry without a schema 2 or OCI manifest".into(),
            ),
        });
    }
    if v.get("Name").is_some() && v.get("Digest").is_some() {
        return skopeo_inspect(o, v, hint);
    }
    if let (Some(Value::Object(by_tag)), Some(_)) = (v.get("manifests"), v.get("tags")) {
        return tag_map(o, v, by_tag, hint);
    }
    match raw(o, v, "")? {
        Err(why) => Ok(Read::NotUsed(why)),
        Ok(manifest) => {
            let digests = bytes
                .map(|b| vec![sha256_digest(b.as_bytes()), sha256_digest(format!("{b}\n").as_bytes())])
                .unwrap_or_default();
            Ok(Read::Docs(vec![ManifestDoc {
                origin: o.clone(),
                name: hint.map(str::to_string),
                tag: None,
                digests,
                arch: None,
                manifest,
            }]))
        }
    }
}

/// A raw manifest or index at `path`; `Err(why)` when it is one that gives nothing to use.
fn raw(o: &Origin, v: &Value, path: &str) -> Result<Result<Manifest, String>, ImportError> {
    if v.get("schemaVersion").and_then(Value::as_u64) == Some(1) {
        return Ok(Err("a schema 1 manifest: it lists no layer sizes".into()));
    }
    if let Some(list) = opt_arr(o, v, path, "manifests")? {
        let mp = child(path, "manifests");
        let mut entries = Vec::new();
        for (i, e) in list.iter().enumerate() {
            let p = item(&mp, i);
            let digest =
                opt_str(o, e, &p, "digest")?.ok_or_else(|| o.err(&child(&p, "digest"), "missing"))?;
            let platform = e.get("platform").unwrap_or(&Value::Null);
            let pp = child(&p, "platform");
            let os = opt_str(o, platform, &pp, "os")?.unwrap_or("linux");
            let arch = opt_str(o, platform, &pp, "architecture")?.unwrap_or("");
            // Attestations (`unknown/unknown`) and other systems' manifests are not images a
            // Linux node can run.
            if os != "linux" {
                continue;
            }
            if let Some(a) = normalize_arch(arch) {
                entries.push(Entry { digest: digest.to_string(), arch: a.to_string() });
            }
        }
        return Ok(Ok(Manifest::Index { entries }));
    }
    if let Some(list) = opt_arr(o, v, path, "layers")? {
        let lp = child(path, "layers");
        let mut layers = Vec::new();
        for (i, l) in list.iter().enumerate() {
            let p = item(&lp, i);
            if !l.is_object() {
                return Err(o.err(&p, format!("expected a layer descriptor, got {}", shown(l))));
            }
            let digest =
                opt_str(o, l, &p, "digest")?.ok_or_else(|| o.err(&child(&p, "digest"), "missing"))?;
            let size = opt_u64(o, l, &p, "size")?.ok_or_else(|| o.err(&child(&p, "size"), "missing"))?;
            layers.push(Layer { digest: digest.to_string(), size });
        }
        if layers.is_empty() {
            return Ok(Err("a manifest with no layers".into()));
        }
        return Ok(Ok(Manifest::Image { layers }));
    }
    Ok(Err(if v.get("rootfs").is_some() {
        "an image config: it gives no layer sizes (import the manifest)".into()
    } else {
        "neither a manifest (`layers`) nor an index (`manifests`)".into()
    }))
}

/// One `docker manifest inspect -v` entry.
fn docker_verbose(
    o: &Origin,
    e: &Value,
    path: &str,
    hint: Option<&str>,
) -> Result<Option<ManifestDoc>, ImportError> {
    let name = opt_str(o, e, path, "Ref")?.map(|r| r.split('@').next().unwrap_or(r).to_string());
    let platform = e.get("Descriptor").and_then(|d| d.get("platform"));
    let arch = platform.and_then(|p| p.get("architecture")).and_then(Value::as_str).and_then(normalize_arch);
    let os = platform.and_then(|p| p.get("os")).and_then(Value::as_str).unwrap_or("linux");
    if os != "linux" {
        return Ok(None);
    }
    for key in ["SchemaV2Manifest", "OCIManifest"] {
        if let Some(m) = e.get(key).filter(|m| m.is_object()) {
            if let Ok(manifest) = raw(o, m, &child(path, key))? {
                let digests = e
                    .get("Descriptor")
                    .and_then(|d| d.get("digest"))
                    .and_then(Value::as_str)
                    .map(|d| vec![d.to_string()])
                    .unwrap_or_default();
                return Ok(Some(ManifestDoc {
                    origin: o.clone(),
                    name: hint.map(str::to_string).or(name),
                    tag: None,
                    digests,
                    arch: arch.map(str::to_string),
                    manifest,
                }));
            }
        }
    }
    Ok(None)
}

/// `skopeo inspect` (not `--raw`): `LayersData` has the sizes.
fn skopeo_inspect(o: &Origin, v: &Value, hint: Option<&str>) -> Result<Read, ImportError> {
    let name = opt_str(o, v, "", "Name")?.unwrap_or("");
    let digest = opt_str(o, v, "", "Digest")?.unwrap_or("");
    let Some(list) = opt_arr(o, v, "", "LayersData")? else {
        return Ok(Read::NotUsed(
            "`skopeo inspect` output without `LayersData` (older skopeo): no layer sizes".into(),
        ));
    };
    let mut layers = Vec::new();
    for (i, l) in list.iter().enumerate() {
        let p = item("LayersData", i);
        let d = opt_str(o, l, &p, "Digest")?.ok_or_else(|| o.err(&child(&p, "Digest"), "missing"))?;
        let size = opt_u64(o, l, &p, "Size")?.ok_or_else(|| o.err(&child(&p, "Size"), "missing"))?;
        layers.push(Layer { digest: d.to_string(), size });
    }
    let arch = v.get("Architecture").and_then(Value::as_str).and_then(normalize_arch).map(str::to_string);
    let name = hint
        .map(str::to_string)
        .or_else(|| (!name.is_empty() && !digest.is_empty()).then(|| format!("{name}@{digest}")));
    Ok(Read::Docs(vec![ManifestDoc {
        origin: o.clone(),
        name,
        tag: None,
        digests: if digest.is_empty() { Vec::new() } else { vec![digest.to_string()] },
        arch,
        manifest: Manifest::Image { layers },
    }]))
}

/// `{"manifests": {tag: manifest}, "tags": [...], "configs": {tag: config}}`.
fn tag_map(
    o: &Origin,
    v: &Value,
    by_tag: &serde_json::Map<String, Value>,
    hint: Option<&str>,
) -> Result<Read, ImportError> {
    // A schema 1 manifest names its repository; none of the others do.
    let repository = hint
        .map(str::to_string)
        .or_else(|| by_tag.values().find_map(|m| m.get("name").and_then(Value::as_str)).map(str::to_string));
    let mut docs = Vec::new();
    let mut schema1 = 0;
    for (tag, m) in by_tag {
        let p = child("manifests", tag);
        match raw(o, m, &p)? {
            Ok(manifest) => {
                let arch = v
                    .get("configs")
                    .and_then(|c| c.get(tag))
                    .and_then(|c| c.get("architecture"))
                    .and_then(Value::as_str)
                    .and_then(normalize_arch)
                    .map(str::to_string);
                docs.push(ManifestDoc {
                    origin: o.clone(),
                    name: repository.clone(),
                    tag: Some(tag.clone()),
                    digests: Vec::new(),
                    arch,
                    manifest,
                });
            }
            Err(_) => schema1 += 1,
        }
    }
    if docs.is_empty() {
        return Ok(Read::NotUsed(format!("{schema1} manifests, none with layer sizes (schema 1 or empty)")));
    }
    Ok(Read::Docs(docs))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn digest_of_bytes() {
        assert_eq!(
            sha256_digest(b"abc"),
            "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn raw_forms() {
        let o = Origin::new("m.json", None);
        let text = r#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"digest":"sha256:c","size":1},"layers":[{"digest":"sha256:a","size":10},{"digest":"sha256:b","size":20}]}"#;
        let v: Value = serde_json::from_str(text).unwrap();
        let Read::Docs(d) = read(&o, &v, Some(text), None).unwrap() else { panic!() };
        assert_eq!(d[0].digests[0], sha256_digest(text.as_bytes()));
        assert_eq!(
            d[0].manifest,
            Manifest::Image {
                layers: vec![
                    Layer { digest: "sha256:a".into(), size: 10 },
                    Layer { digest: "sha256:b".into(), size: 20 }
                ]
            }
        );
        let index = json!({"schemaVersion": 2, "manifests": [
            {"digest": "sha256:x", "platform": {"architecture": "amd64", "os": "linux"}},
            {"digest": "sha256:y", "platform": {"architecture": "arm64", "os": "linux", "variant": "v8"}},
            {"digest": "sha256:z", "platform": {"architecture": "unknown", "os": "unknown"}}]});
        let Read::Docs(d) = read(&o, &index, None, Some("nginx:1.27")).unwrap() else { panic!() };
        let Manifest::Index { entries } = &d[0].manifest else { panic!() };
        assert_eq!(entries.iter().map(|e| e.arch.as_str()).collect::<Vec<_>>(), ["amd64", "arm64"]);
        assert_eq!(d[0].name.as_deref(), Some("nginx:1.27"));
        assert!(matches!(
            read(&o, &json!({"schemaVersion": 1, "fsLayers": []}), None, None).unwrap(),
            Read::NotUsed(_)
        ));
        let bad = json!({"schemaVersion": 2, "layers": [{"digest": "sha256:a", "size": "big"}]});
        assert_eq!(
            read(&o, &bad, None, None).err().unwrap().to_string(),
            "m.json: layers[0].size: expected an integer, got \"big\""
        );
    }
}
