//! `[[image]]` and `[[image_set]]`: references, layers (explicit, or a drawn size split over
//! `layer_count`), shared layer ids, platforms, pushes of a new digest, and the members of each
//! image set. Also how a container's image string resolves to a declared image.

use super::quantity::{Bound, Kind};
use super::registries::Registries;
use super::Ctx;
use crate::engine::dist::Dist;
use crate::ids::{ImageId, ImageSetId};
use crate::k8s::image_ref::{parse_docker_ref, parse_image_name};
use crate::scenario::locate::KeyPath;
use crate::scenario::raw::{RawImage, RawLayer, RawScenario};
use crate::scenario::LazySpec;
use crate::scenario::{ImageLayers, ImageSetSpec, ImageSpec, LayerSpec, PushSpec};
use crate::time::SimDuration;
use std::collections::BTreeMap;

/// Members one image set may have: every member is an `ImageSpec`, so an absurd count would
/// exhaust memory instead of failing with a message.
const IMAGE_SET_COUNT_MAX: u32 = 1_000_000;

/// Every image the run knows, and the indexes later tables look up.
pub(super) struct Images {
    pub(super) images: Vec<ImageSpec>,
    /// Normalized reference → image.
    pub(super) index: BTreeMap<String, ImageId>,
    /// Where each image was declared (by id).
    pub(super) paths: Vec<KeyPath>,
    pub(super) sets: Vec<ImageSetSpec>,
    pub(super) set_by_name: BTreeMap<String, ImageSetId>,
}

/// Reads every `[[image]]` and `[[image_set]]`; the members of a set are expanded unless the
/// work estimate found too many images.
pub(super) fn images(c: &mut Ctx, raw: &RawScenario, regs: &Registries, too_many_images: bool) -> Images {
    let root = KeyPath::root();
    let mut images: Vec<ImageSpec> = Vec::new();
    let mut image_index: BTreeMap<String, ImageId> = BTreeMap::new();
    let mut image_paths: Vec<KeyPath> = Vec::new();
    let mut layers = Layers { shared: BTreeMap::new(), _p: std::marker::PhantomData };
    for (i, im) in raw.image.iter().enumerate() {
        let p = root.key("image").index(i, im.reference.as_deref());
        let raw_ref = c.name(&p, "ref", &im.reference);
        let parsed = match parse_docker_ref(&raw_ref) {
            Ok(r) => Some(r),
            Err(e) if !raw_ref.is_empty() => {
                c.err(&p.key("ref"), format!("{raw_ref:?} is not a valid image reference: {e}"));
                None
            }
            Err(_) => None,
        };
        let image_layers = match (&im.layers, &im.size) {
            (Some(_), Some(_)) => {
                c.err(&p.key("size"), "give either `layers` or `size` (+ `layer_count`), not both");
                ImageLayers::Explicit(Vec::new())
            }
            (Some(ls), None) => {
                if im.layer_count.is_some() {
                    c.err(&p.key("layer_count"), "`layer_count` goes with `size`, not with `layers`");
                }
                if ls.is_empty() {
                    c.err(&p.key("layers"), "an image needs at least one layer");
                }
                ImageLayers::Explicit(
                    ls.iter()
                        .enumerate()
                        .map(|(j, l)| layers.layer(c, &p.key("layers").index(j, None), l, None))
                        .collect(),
                )
            }
            (None, Some(_)) => ImageLayers::Drawn {
                size_bytes: c
                    .dist(&p.key("size"), im.size.as_ref(), Kind::Size, Bound::NonNegative)
                    .unwrap_or(Dist::Constant(0.0)),
                layer_count: c.count_u32(&p.key("layer_count"), im.layer_count.as_ref(), 1, 1),
                base: Vec::new(),
            },
            (None, None) => {
                c.err(&p, "an image needs `layers = [...]` or `size = ...` (with optional `layer_count`)");
                ImageLayers::Explicit(Vec::new())
            }
        };
        if let ImageLayers::Drawn { size_bytes: Dist::Constant(x), .. } = &image_layers {
            if x.is_infinite() {
                c.err(&p.key("size"), "must be finite");
            }
        }
        let platforms = im.platforms.as_ref().map(|ps| {
            if ps.is_empty() {
                c.err(
                    &p.key("platforms"),
                    "must list at least one architecture (omit it for every architecture)",
                );
            }
            for (j, a) in ps.iter().enumerate() {
                c.arch(&p.key("platforms").index(j, None), a);
            }
            ps.clone()
        });
        let lazy = validate_lazy(c, &p, im);
        let pushes =
            validate_pushes(c, &p, im, &mut layers, parsed.as_ref().is_some_and(|r| !r.digest.is_empty()));
        let Some(r) = parsed else { continue };
        let normalized = r.string();
        if let Some(prev) = image_index.get(&normalized) {
            let at = image_paths[prev.idx()].clone();
            c.err(&p.key("ref"), format!("image {normalized:?} is declared twice (also at `{at}`)"));
            continue;
        }
        let registry = regs.registry_for(c, &p.key("ref"), &r.domain);
        let id = ImageId::from_idx(images.len());
        image_index.insert(normalized.clone(), id);
        image_paths.push(p.clone());
        images.push(ImageSpec {
            raw_ref: raw_ref.clone(),
            normalized,
            repo: parse_image_name(&raw_ref).map(|n| n.repo).unwrap_or_else(|_| r.name()),
            domain: r.domain.clone(),
            registry,
            layers: image_layers,
            platforms,
            pushes,
            lazy,
        });
    }

    let mut image_sets = Vec::new();
    let mut set_by_name: BTreeMap<String, ImageSetId> = BTreeMap::new();
    for (i, s) in raw.image_set.iter().enumerate() {
        let p = root.key("image_set").index(i, s.name.as_deref());
        let name = c.name(&p, "name", &s.name);
        if !name.is_empty() && set_by_name.insert(name.clone(), ImageSetId::from_idx(i)).is_some() {
            c.err(&p.key("name"), format!("duplicate image_set name {name:?}"));
        }
        let mut count = match c.required(&p, "count", &s.count) {
            Some(_) => c.count_u32(&p.key("count"), s.count.as_ref(), 1, 0),
            None => 0,
        };
        if count > IMAGE_SET_COUNT_MAX {
            c.err(&p.key("count"), format!("at most {IMAGE_SET_COUNT_MAX} images per set, got {count}"));
            count = 0;
        }
        let pattern = c.name(&p, "ref", &s.reference);
        if !pattern.is_empty() && !pattern.contains("{n}") {
            c.err(&p.key("ref"), "must contain the placeholder `{n}` (member n = 0 .. count-1)");
        }
        let size = match c.required(&p, "size", &s.size) {
            Some(_) => c.dist(&p.key("size"), s.size.as_ref(), Kind::Size, Bound::NonNegative),
            None => None,
        }
        .unwrap_or(Dist::Constant(0.0));
        let layer_count = c.count_u32(&p.key("layer_count"), s.layer_count.as_ref(), 1, 1);
        let base: Vec<LayerSpec> = s
            .base_layers
            .iter()
            .flatten()
            .enumerate()
            .map(|(j, l)| {
                layers.layer(
                    c,
                    &p.key("base_layers").index(j, None),
                    l,
                    Some(format!("image_set/{name}/base/{j}")),
                )
            })
            .collect();
        let first_image = ImageId::from_idx(images.len());
        if pattern.contains("{n}") && !too_many_images {
            let mut registry_checked = false;
            for n in 0..count {
                let raw_ref = pattern.replace("{n}", &n.to_string());
                let r = match parse_docker_ref(&raw_ref) {
                    Ok(r) => r,
                    Err(e) => {
                        c.err(
                            &p.key("ref"),
                            format!("member {n} = {raw_ref:?} is not a valid image reference: {e}"),
                        );
                        break;
                    }
                };
                let normalized = r.string();
                if image_index.contains_key(&normalized) {
                    c.err(&p.key("ref"), format!("member {normalized:?} is already declared as an image"));
                    break;
                }
                let registry = match regs.by_host.get(&r.domain) {
                    Some(id) => Some(*id),
                    None if !registry_checked => {
                        registry_checked = true;
                        regs.registry_for(c, &p.key("ref"), &r.domain)
                    }
                    None => None,
                };
                image_index.insert(normalized.clone(), ImageId::from_idx(images.len()));
                image_paths.push(p.clone());
                images.push(ImageSpec {
                    raw_ref: raw_ref.clone(),
                    normalized,
                    repo: parse_image_name(&raw_ref).map(|n| n.repo).unwrap_or_else(|_| r.name()),
                    domain: r.domain.clone(),
                    registry,
                    layers: ImageLayers::Drawn { size_bytes: size.clone(), layer_count, base: base.clone() },
                    platforms: None,
                    pushes: Vec::new(),
                    lazy: None,
                });
            }
        }
        image_sets.push(ImageSetSpec { name, count, ref_pattern: pattern, first_image });
    }
    Images { images, index: image_index, paths: image_paths, sets: image_sets, set_by_name }
}

/// What a container's literal image string resolves to.
enum Resolved {
    Known(ImageId),
    /// Not a valid reference: kept, the kubelet reports InvalidImageName at run time.
    Invalid,
    Unknown(String),
}

fn resolve_image(index: &BTreeMap<String, ImageId>, raw: &str) -> Resolved {
    match parse_docker_ref(raw) {
        Err(_) => Resolved::Invalid,
        Ok(r) => {
            let n = r.string();
            match index.get(&n) {
                Some(id) => Resolved::Known(*id),
                None => Resolved::Unknown(n),
            }
        }
    }
}

impl Images {
    /// The declared image a container's image string names; an error at `path` when it names
    /// none (an invalid reference is kept: the kubelet reports it at run time).
    pub(super) fn declared(&self, c: &mut Ctx, path: &KeyPath, raw_image: &str) -> Option<ImageId> {
        match resolve_image(&self.index, raw_image) {
            Resolved::Known(id) => Some(id),
            Resolved::Invalid => None,
            Resolved::Unknown(n) => {
                c.err(
                    path,
                    format!(
                        "image {raw_image:?} (normalized {n:?}) is not declared: add an [[image]] with \
                         ref = {raw_ref:?}, use an image_set, or list it in a node_pool's `preloaded`",
                        raw_ref = raw_image
                    ),
                );
                None
            }
        }
    }
}

/// A shared layer as first given: one blob, one size, one unpacked size.
struct SharedLayer {
    size_bytes: Dist,
    uncompressed_bytes: Option<Dist>,
    at: KeyPath,
}

struct Layers<'a> {
    /// Shared layer id → its sizes and where it was first given.
    shared: BTreeMap<String, SharedLayer>,
    _p: std::marker::PhantomData<&'a ()>,
}

impl Layers<'_> {
    fn layer(
        &mut self,
        ctx: &mut Ctx,
        path: &KeyPath,
        l: &RawLayer,
        default_id: Option<String>,
    ) -> LayerSpec {
        let size = match ctx.required(path, "size", &l.size) {
            Some(_) => ctx.dist(&path.key("size"), l.size.as_ref(), Kind::Size, Bound::NonNegative),
            None => None,
        }
        .unwrap_or(Dist::Constant(0.0));
        if l.size.as_ref().is_some_and(|_| matches!(size, Dist::Constant(x) if x.is_infinite())) {
            ctx.err(&path.key("size"), "must be finite");
        }
        let unpacked_path = path.key("uncompressed_size");
        let uncompressed =
            ctx.dist(&unpacked_path, l.uncompressed_size.as_ref(), Kind::Size, Bound::NonNegative);
        if matches!(uncompressed, Some(Dist::Constant(x)) if x.is_infinite()) {
            ctx.err(&unpacked_path, "must be finite");
        }
        let id = match &l.id {
            Some(id) if id.trim().is_empty() => {
                ctx.err(&path.key("id"), "must not be empty");
                None
            }
            Some(id) => Some(id.clone()),
            None => default_id,
        };
        if let Some(id) = &id {
            match self.shared.get(id) {
                Some(first) if first.size_bytes != size => ctx.err(
                    &path.key("size"),
                    format!(
                        "shared layer id {id:?} has a different size here than at `{}`: a shared \
                         layer is one blob and must have one size",
                        first.at
                    ),
                ),
                Some(first) if uncompressed.is_some() && first.uncompressed_bytes != uncompressed => ctx.err(
                    &unpacked_path,
                    format!(
                        "shared layer id {id:?} has a different uncompressed_size here than at `{}`: \
                         a shared layer is one blob and unpacks to one size",
                        first.at
                    ),
                ),
                Some(_) => {}
                None => {
                    let first = SharedLayer {
                        size_bytes: size.clone(),
                        uncompressed_bytes: uncompressed.clone(),
                        at: path.clone(),
                    };
                    self.shared.insert(id.clone(), first);
                }
            }
            // A later mention without `uncompressed_size` is the same blob as the first.
            if let Some(first) = self.shared.get(id) {
                return LayerSpec {
                    shared_id: Some(id.clone()),
                    size_bytes: size,
                    uncompressed_bytes: first.uncompressed_bytes.clone(),
                };
            }
        }
        LayerSpec { shared_id: id, size_bytes: size, uncompressed_bytes: uncompressed }
    }
}

/// `image.pushes` (extension): fixed, strictly increasing times; each push lists the new
/// digest's layers bottom first, and a layer may name an `id` defined earlier without its size
/// (the same blob: not downloaded again by a node that has it). A digest reference cannot move.
fn validate_pushes(
    c: &mut Ctx,
    p: &KeyPath,
    im: &RawImage,
    layers: &mut Layers<'_>,
    pinned_by_digest: bool,
) -> Vec<PushSpec> {
    let Some(ps) = &im.pushes else { return Vec::new() };
    if pinned_by_digest {
        c.err(&p.key("pushes"), "a reference with a digest names one manifest: it cannot move");
    }
    let mut out = Vec::new();
    let mut last: Option<SimDuration> = None;
    for (j, push) in ps.iter().enumerate() {
        let pp = p.key("pushes").index(j, None);
        let at = match c.required(&pp, "at", &push.at) {
            Some(_) => c.duration(&pp.key("at"), push.at.as_ref(), SimDuration::ZERO),
            None => SimDuration::ZERO,
        };
        if last.is_some_and(|l| at <= l) {
            c.err(&pp.key("at"), "pushes must be in strictly increasing `at` order");
        }
        last = Some(at);
        let mut specs = Vec::new();
        if let Some(ls) = c.required(&pp, "layers", &push.layers) {
            if ls.is_empty() {
                c.err(&pp.key("layers"), "a pushed image needs at least one layer");
            }
            for (k, l) in ls.iter().enumerate() {
                let lp = pp.key("layers").index(k, None);
                let known = l.id.as_ref().and_then(|id| layers.shared.get(id).map(|first| (id, first)));
                match (known, &l.size) {
                    (Some((id, first)), None) => specs.push(LayerSpec {
                        shared_id: Some(id.clone()),
                        size_bytes: first.size_bytes.clone(),
                        uncompressed_bytes: first.uncompressed_bytes.clone(),
                    }),
                    _ => specs.push(layers.layer(c, &lp, l, None)),
                }
            }
        }
        out.push(PushSpec { at, layers: specs });
    }
    out
}

/// `image.lazy` (extension): `prefetch` a percentage string, default `"10%"`;
/// `prefetch_timeout` a fixed duration, default `"10s"` (stargz-snapshotter's
/// `prefetch_timeout_sec`); `read_penalty` a fixed duration, default `"0s"`.
fn validate_lazy(c: &mut Ctx, p: &KeyPath, im: &RawImage) -> Option<LazySpec> {
    let l = im.lazy.as_ref()?;
    let lp = p.key("lazy");
    let prefetch = match &l.prefetch {
        None => 0.1,
        Some(v) => parse_percent(v).unwrap_or_else(|| {
            c.err(
                &lp.key("prefetch"),
                format!("expected a percentage from \"0%\" to \"100%\", like \"10%\", got {v}"),
            );
            0.1
        }),
    };
    Some(LazySpec {
        prefetch,
        prefetch_timeout: c.duration(
            &lp.key("prefetch_timeout"),
            l.prefetch_timeout.as_ref(),
            SimDuration::from_secs(10),
        ),
        read_penalty: c.duration(&lp.key("read_penalty"), l.read_penalty.as_ref(), SimDuration::ZERO),
    })
}

/// `"N%"` with 0 <= N <= 100 as a fraction.
fn parse_percent(v: &toml::Value) -> Option<f64> {
    let n: f64 = v.as_str()?.trim().strip_suffix('%')?.trim().parse().ok()?;
    (n.is_finite() && (0.0..=100.0).contains(&n)).then_some(n / 100.0)
}
