//! The image catalogue: one entry per image, whatever names the inputs give it. A node lists
//! an image under up to five names (repo digests, then tags), a pod spec and an event under
//! the one it was written with, a manifest under its digest or the reference it was fetched
//! by; names are compared after normalisation (`nginx` is `docker.io/library/nginx:latest`, a
//! tag next to a digest is the digest) and every name of an image leads to the same entry.
//!
//! Each image's size comes, in order of preference, from its manifest (each layer, with its
//! digest, so layers shared between images are one blob), from the nodes (`sizeBytes`, as one
//! layer), from a `Pulled` event (`Image size`, as one layer), or is an assumption.

use super::manifests::{Layer, Manifest, ManifestDoc};
use crate::k8s::image_ref::{parse_docker_ref, RefType};
use std::collections::{BTreeMap, BTreeSet};

/// One image and what the inputs say about it.
#[derive(Clone, Debug, Default)]
pub struct Image {
    /// The reference written in the scenario.
    pub reference: String,
    /// A pod spec wrote `reference` as it is: it may not be replaced by another name.
    pub fixed: bool,
    /// Sizes the nodes report (bytes → how many nodes) and where.
    pub node_sizes: BTreeMap<u64, usize>,
    pub node_source: BTreeSet<String>,
    /// The runtime that reported the sizes gives them unpacked (Docker).
    pub node_unpacked: bool,
    /// Sizes from `Pulled` events and where.
    pub event_sizes: BTreeMap<u64, usize>,
    pub event_source: BTreeSet<String>,
    /// Layers from a manifest, and where; the platforms of an index.
    pub layers: Option<(Vec<Layer>, String)>,
    pub platforms: Option<(Vec<String>, String)>,
    /// Nodes holding it, per pool name.
    pub present: BTreeMap<String, usize>,
    /// Workloads whose pods use it.
    pub workloads: BTreeSet<String>,
    /// Pulls the events observed.
    pub pulls: usize,
}

/// The catalogue.
#[derive(Debug, Default)]
pub struct Catalog {
    pub images: Vec<Image>,
    /// Normalised name → image.
    by_name: BTreeMap<String, usize>,
    /// Manifest digest (`sha256:...`, from `name@sha256:...`) → image.
    by_digest: BTreeMap<String, usize>,
    pub conflicts: Vec<String>,
}

/// The normalised form of an image name, `None` for a name that is not a reference
/// (`<none>@<none>`, as Docker reports untagged images).
pub fn normalize(name: &str) -> Option<String> {
    parse_docker_ref(name).ok().map(|r| r.string())
}

fn is_tagged(name: &str) -> bool {
    crate::k8s::image_ref::parse_normalized_named(name)
        .map(|r| matches!(r.ref_type, RefType::NamedTagged))
        .unwrap_or(false)
}

impl Catalog {
    /// The image any of `names` names, or a new one named by the first tag (else the first
    /// name). Names already taken by another image are reported, not moved.
    pub fn find_or_add(&mut self, names: &[String]) -> Option<usize> {
        let valid: Vec<(&String, String)> =
            names.iter().filter_map(|n| normalize(n).map(|k| (n, k))).collect();
        if valid.is_empty() {
            return None;
        }
        let found = valid.iter().find_map(|(_, k)| self.by_name.get(k).copied());
        let idx = match found {
            Some(i) => i,
            None => {
                let reference = valid.iter().find(|(n, _)| is_tagged(n)).unwrap_or(&valid[0]).0.clone();
                self.images.push(Image { reference, ..Image::default() });
                self.images.len() - 1
            }
        };
        for (n, k) in &valid {
            match self.by_name.get(k) {
                Some(&j) if j != idx => self.conflicts.push(format!(
                    "{n} names two images (also {}): it is kept for {}",
                    self.images[idx].reference, self.images[j].reference
                )),
                Some(_) => {}
                None => {
                    self.by_name.insert(k.clone(), idx);
                    if let Some((_, d)) = k.split_once('@') {
                        self.by_digest.entry(d.to_string()).or_insert(idx);
                    }
                }
            }
        }
        Some(idx)
    }

    /// An image a container uses, written `image`: the reference the scenario must write for
    /// it (the image's, which becomes `image` unless another container fixed it first).
    pub fn use_in(&mut self, image: &str, workload: &str) -> String {
        let Some(i) = self.find_or_add(&[image.to_string()]) else { return image.to_string() };
        let img = &mut self.images[i];
        if !img.fixed {
            img.reference = image.to_string();
            img.fixed = true;
        }
        img.workloads.insert(workload.to_string());
        img.reference.clone()
    }

    /// The image a normalised name or a digest names.
    pub fn lookup(&self, name: &str) -> Option<usize> {
        normalize(name)
            .and_then(|k| self.by_name.get(&k).copied())
            .or_else(|| self.by_digest.get(name).copied())
    }

    /// Attaches manifests (see the module doc): named ones to their image, an index's
    /// platform manifests to the index's image by digest. `main_arch` picks the layers of a
    /// multi-platform image. Returns the documents that matched no image, with why.
    pub fn attach_manifests(
        &mut self,
        docs: &[ManifestDoc],
        main_arch: &str,
        add_unmatched_tags: bool,
    ) -> Vec<String> {
        let mut unused = Vec::new();
        // Which image each document is about.
        let mut owner: Vec<Option<usize>> = vec![None; docs.len()];
        // Tags matched to nothing, per file and repository: (with layers, index only).
        let mut unmatched_tags: BTreeMap<(String, Option<String>), (usize, usize)> = BTreeMap::new();
        let mut unmatched = |doc: &ManifestDoc| {
            let e = unmatched_tags.entry((doc.origin.file.clone(), doc.name.clone())).or_default();
            match doc.manifest {
                Manifest::Image { .. } => e.0 += 1,
                Manifest::Index { .. } => e.1 += 1,
            }
        };
        for (d, doc) in docs.iter().enumerate() {
            owner[d] = match (&doc.name, &doc.tag) {
                (Some(repo), Some(tag)) => {
                    let name = format!("{repo}:{tag}");
                    match self.lookup(&name) {
                        Some(i) => Some(i),
                        // An index alone gives platforms but no sizes: not an image to declare.
                        None if add_unmatched_tags && matches!(doc.manifest, Manifest::Image { .. }) => {
                            self.find_or_add(&[name])
                        }
                        None => {
                            unmatched(doc);
                            continue;
                        }
                    }
                }
                (Some(name), None) => self.find_or_add(std::slice::from_ref(name)),
                (None, Some(tag)) => {
                    // A map of tags without its repository: the tag must name one image.
                    let hits: Vec<usize> = (0..self.images.len())
                        .filter(|&i| {
                            crate::k8s::image_ref::parse_normalized_named(&self.images[i].reference)
                                .is_ok_and(|r| r.tag == *tag)
                        })
                        .collect();
                    match hits.as_slice() {
                        [one] => Some(*one),
                        _ => {
                            unmatched(doc);
                            continue;
                        }
                    }
                }
                (None, None) => doc.digests.iter().find_map(|dg| self.by_digest.get(dg).copied()),
            };
        }
        // Platform manifests inherit their index's image.
        for (d, doc) in docs.iter().enumerate() {
            if let (Some(i), Manifest::Index { entries }) = (owner[d], &doc.manifest) {
                for (c, child) in docs.iter().enumerate() {
                    if owner[c].is_none() && entries.iter().any(|e| child.digests.contains(&e.digest)) {
                        owner[c] = Some(i);
                    }
                }
            }
        }
        let mut per_image: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
        for (d, doc) in docs.iter().enumerate() {
            match owner[d] {
                Some(i) => per_image.entry(i).or_default().push(d),
                None if doc.tag.is_none() => unused.push(format!(
                    "{}: a manifest that names no image: give it as REF=FILE, or import it together with the \
                     nodes, pods or events that name its digest",
                    doc.origin.label()
                )),
                None => {}
            }
        }
        for ((file, repo), (layers, index_only)) in unmatched_tags {
            let n = layers + index_only;
            let why = match (&repo, index_only) {
                (None, _) => "it does not say its repository (name it as REPOSITORY=FILE) and no other input has these tags".to_string(),
                (Some(r), 0) => format!("no other input uses these tags of {r}"),
                (Some(r), _) => format!(
                    "no other input uses these tags of {r}, and {index_only} are manifest lists or indexes only (platforms, no layer sizes)"
                ),
            };
            unused.push(format!("{file}: {n} tagged manifests not used: {why}"));
        }
        let mut blob_sizes: BTreeMap<String, (u64, String)> = BTreeMap::new();
        for (i, ds) in per_image {
            let mut by_arch: BTreeMap<String, (Vec<Layer>, String)> = BTreeMap::new();
            let mut platforms: Option<(Vec<String>, String)> = None;
            for &d in &ds {
                let doc = &docs[d];
                match &doc.manifest {
                    Manifest::Index { entries } => {
                        let mut archs: Vec<String> = Vec::new();
                        for e in entries {
                            if !archs.contains(&e.arch) {
                                archs.push(e.arch.clone());
                            }
                            // The platform manifests, matched by digest, carry their arch.
                            for c in &ds {
                                if docs[*c].digests.contains(&e.digest) {
                                    if let Manifest::Image { layers } = &docs[*c].manifest {
                                        by_arch
                                            .entry(e.arch.clone())
                                            .or_insert((layers.clone(), docs[*c].origin.label()));
                                    }
                                }
                            }
                        }
                        platforms = Some((archs, format!("the index in {}", doc.origin.label())));
                    }
                    Manifest::Image { layers } => {
                        let arch = doc.arch.clone().unwrap_or_default();
                        by_arch.entry(arch).or_insert((layers.clone(), doc.origin.label()));
                    }
                }
            }
            if platforms.is_none() {
                let archs: Vec<String> = by_arch.keys().filter(|a| !a.is_empty()).cloned().collect();
                if !archs.is_empty() {
                    let src = by_arch.values().map(|(_, s)| s.clone()).collect::<BTreeSet<_>>();
                    platforms = Some((archs, src.into_iter().collect::<Vec<_>>().join(", ")));
                }
            }
            let chosen = by_arch
                .get(main_arch)
                .or_else(|| by_arch.get(""))
                .or_else(|| by_arch.values().next())
                .cloned();
            let img = &mut self.images[i];
            if let Some((layers, src)) = chosen {
                for l in &layers {
                    match blob_sizes.get(&l.digest) {
                        Some((size, first)) if *size != l.size => self.conflicts.push(format!(
                            "layer {} is {} bytes in {first} and {} bytes in {src}: {} is used",
                            l.digest, size, l.size, size
                        )),
                        Some(_) => {}
                        None => {
                            blob_sizes.insert(l.digest.clone(), (l.size, src.clone()));
                        }
                    }
                }
                let layers = layers
                    .into_iter()
                    .map(|l| Layer { size: blob_sizes[&l.digest].0, digest: l.digest })
                    .collect();
                img.layers = Some((layers, src));
            }
            if img.platforms.is_none() {
                img.platforms = platforms;
            }
        }
        unused
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::import::error::Origin;
    use crate::import::manifests::Entry;

    #[test]
    fn names_lead_to_one_image() {
        let mut c = Catalog::default();
        let a = c
            .find_or_add(&[
                "nginx@sha256:aaaa000000000000000000000000000000000000000000000000000000000000".into(),
                "nginx:1.27".into(),
            ])
            .unwrap();
        assert_eq!(c.images[a].reference, "nginx:1.27");
        assert_eq!(c.lookup("docker.io/library/nginx:1.27"), Some(a));
        assert_eq!(c.use_in("docker.io/library/nginx:1.27", "web"), "docker.io/library/nginx:1.27");
        assert_eq!(
            c.use_in("nginx:1.27", "other"),
            "docker.io/library/nginx:1.27",
            "the first container's spelling stays"
        );
        assert_eq!(c.find_or_add(&["<none>@<none>".into()]), None);
    }

    #[test]
    fn index_and_manifest_by_digest() {
        let mut c = Catalog::default();
        let o = Origin::new("x", None);
        let layers = vec![Layer { digest: "sha256:l1".into(), size: 10 }];
        let docs = vec![
            ManifestDoc {
                origin: o.clone(),
                name: Some("app:1".into()),
                tag: None,
                digests: vec![],
                arch: None,
                manifest: Manifest::Index {
                    entries: vec![
                        Entry { digest: "sha256:m".into(), arch: "amd64".into() },
                        Entry { digest: "sha256:n".into(), arch: "arm64".into() },
                    ],
                },
            },
            ManifestDoc {
                origin: o.clone(),
                name: None,
                tag: None,
                digests: vec!["sha256:m".into()],
                arch: None,
                manifest: Manifest::Image { layers: layers.clone() },
            },
            ManifestDoc {
                origin: o,
                name: None,
                tag: None,
                digests: vec!["sha256:zz".into()],
                arch: None,
                manifest: Manifest::Image { layers: layers.clone() },
            },
        ];
        let unused = c.attach_manifests(&docs, "amd64", false);
        assert_eq!(unused.len(), 1, "{unused:?}");
        let i = c.lookup("app:1").unwrap();
        assert_eq!(c.images[i].layers.as_ref().unwrap().0, layers);
        assert_eq!(c.images[i].platforms.as_ref().unwrap().0, vec!["amd64".to_string(), "arm64".to_string()]);
    }
}
