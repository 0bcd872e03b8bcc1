//! `[[node_pool]]`: counts, architecture, bandwidth, disk, preloaded images, node credentials,
//! joins over time and the pool's kubelet (its override merged over `[kubelet]`).

use super::images::Images;
use super::kubelet::BaseKubelet;
use super::quantity::{Bound, Kind};
use super::registries::Registries;
use super::{list, select_by_name, Ctx, Issue};
use crate::engine::dist::Dist;
use crate::ids::{ImageId, PoolId};
use crate::k8s::config::KubeletConfig;
use crate::k8s::image_ref::{parse_docker_ref, parse_image_name};
use crate::k8s::validation::is_dns1123_subdomain;
use crate::scenario::locate::KeyPath;
use crate::scenario::raw::RawScenario;
use crate::scenario::{ImageLayers, ImageSpec, NodeCredential};
use crate::time::SimDuration;
use std::collections::BTreeMap;

/// A node pool before it is known whether its kubelet settings resolved.
pub(super) struct PoolDraft {
    pub(super) name: String,
    pub(super) count: u32,
    pub(super) arch: String,
    pub(super) bandwidth_bytes_per_s: Dist,
    pub(super) disk_bytes: Dist,
    pub(super) preloaded: Vec<ImageId>,
    pub(super) credentials: Vec<NodeCredential>,
    pub(super) join_at: SimDuration,
    pub(super) join_every: SimDuration,
    pub(super) join_boot_ns: Dist,
    pub(super) kubelet: Option<KubeletConfig>,
    pub(super) max_pods: u32,
    pub(super) runtime_classes: Option<Vec<String>>,
    pub(super) allocatable: crate::scenario::Resources,
}

/// The pools, read, by position and by name.
pub(super) struct Pools {
    pub(super) drafts: Vec<PoolDraft>,
    pub(super) by_name: BTreeMap<String, PoolId>,
}

impl Pools {
    /// The pools a `node_pools = [...]` list names (a workload's node selector, a prepull's
    /// pools), each unknown name an error with a suggestion; `None` when the key is absent.
    pub(super) fn select(
        &self,
        c: &mut Ctx,
        path: &KeyPath,
        names: Option<&Vec<String>>,
    ) -> Option<Vec<PoolId>> {
        select_by_name(c, path, names?, &self.by_name, "node_pool named", "pool")
    }
}

/// Reads every `[[node_pool]]`. Images named only in a `preloaded` list are added to `imgs`
/// (with no layers known).
pub(super) fn node_pools(
    c: &mut Ctx,
    raw: &RawScenario,
    imgs: &mut Images,
    regs: &Registries,
    base: &mut BaseKubelet,
) -> Pools {
    let root = KeyPath::root();
    if raw.node_pool.is_empty() {
        c.issues.push(Issue { path: None, message: "at least one [[node_pool]] is required".into() });
    }
    let mut pool_by_name: BTreeMap<String, PoolId> = BTreeMap::new();
    let mut pools = Vec::new();
    let mut credential_secrets: Vec<(KeyPath, String)> = Vec::new();
    for (i, np) in raw.node_pool.iter().enumerate() {
        let p = root.key("node_pool").index(i, np.name.as_deref());
        let name = c.name(&p, "name", &np.name);
        if !name.is_empty() && pool_by_name.insert(name.clone(), PoolId::from_idx(i)).is_some() {
            c.err(&p.key("name"), format!("duplicate node_pool name {name:?}"));
        }
        let count = match c.required(&p, "count", &np.count) {
            Some(_) => c.count_u32(&p.key("count"), np.count.as_ref(), 0, 0),
            None => 0,
        };
        let arch = np.arch.clone().unwrap_or_else(|| "amd64".to_string());
        c.arch(&p.key("arch"), &arch);
        let mut preloaded = Vec::new();
        for (j, pre) in np.preloaded.iter().flatten().enumerate() {
            let pp = p.key("preloaded").index(j, None);
            match parse_docker_ref(pre) {
                Err(e) => c.err(&pp, format!("{pre:?} is not a valid image reference: {e}")),
                Ok(r) => {
                    let normalized = r.string();
                    let id = match imgs.index.get(&normalized) {
                        Some(id) => *id,
                        None => {
                            let id = ImageId::from_idx(imgs.images.len());
                            imgs.index.insert(normalized.clone(), id);
                            imgs.paths.push(pp.clone());
                            imgs.images.push(ImageSpec {
                                raw_ref: pre.clone(),
                                normalized,
                                repo: parse_image_name(pre).map(|n| n.repo).unwrap_or_else(|_| r.name()),
                                domain: r.domain.clone(),
                                registry: regs.by_host.get(&r.domain).copied(),
                                layers: ImageLayers::Unknown,
                                platforms: None,
                                pushes: Vec::new(),
                                lazy: None,
                            });
                            id
                        }
                    };
                    if !preloaded.contains(&id) {
                        preloaded.push(id);
                    }
                }
            }
        }
        let mut credentials = Vec::new();
        for (j, cr) in np.credentials.iter().flatten().enumerate() {
            let cp = p.key("credentials").index(j, None);
            let m = c.name(&cp, "match", &cr.match_pattern);
            let s = c.name(&cp, "secret", &cr.secret);
            if !s.is_empty() {
                credential_secrets.push((cp.key("secret"), s.clone()));
            }
            credentials.push(NodeCredential { match_pattern: m, secret: s });
        }
        let (join_at, join_every, join_boot_ns) = match &np.join {
            Some(j) => (
                c.duration(&p.key("join").key("at"), j.at.as_ref(), SimDuration::ZERO),
                c.duration(&p.key("join").key("every"), j.every.as_ref(), SimDuration::ZERO),
                c.dist_or(
                    &p.key("join").key("boot"),
                    j.boot.as_ref(),
                    Kind::Duration,
                    Bound::NonNegative,
                    0.0,
                ),
            ),
            None => (SimDuration::ZERO, SimDuration::ZERO, Dist::Constant(0.0)),
        };
        let kp = p.key("kubelet");
        let pool_raw_kubelet = np.kubelet.clone().unwrap_or_default();
        let pool_input = c.kubelet_input(&kp, &pool_raw_kubelet);
        let merged = pool_input.merged_over(&base.input);
        let here = np.kubelet.as_ref().map(|k| (&kp, k));
        let cfg = c.resolve_kubelet(&merged, here, (&base.path, &base.raw), &kp, &mut base.reported_at_base);
        pools.push(PoolDraft {
            bandwidth_bytes_per_s: c.dist_or(
                &p.key("bandwidth"),
                np.bandwidth.as_ref(),
                Kind::Bandwidth,
                Bound::Positive,
                f64::INFINITY,
            ),
            disk_bytes: c.dist_or(
                &p.key("disk"),
                np.disk.as_ref(),
                Kind::Size,
                Bound::Positive,
                100.0 * (1u64 << 30) as f64,
            ),
            max_pods: c.count_u32(&p.key("max_pods"), np.max_pods.as_ref(), 1, u32::MAX),
            runtime_classes: runtime_classes(c, &p, np.runtime_classes.as_deref()),
            allocatable: c.resources(
                &p.key("allocatable"),
                np.allocatable.as_ref(),
                crate::scenario::Resources::UNLIMITED,
            ),
            name,
            count,
            arch,
            preloaded,
            credentials,
            join_at,
            join_every,
            join_boot_ns,
            kubelet: cfg,
        });
    }
    for (path, s) in &credential_secrets {
        if !regs.accepted.contains(s) {
            c.err(
                path,
                format!(
                    "secret {s:?} is not accepted by any registry (accepted secrets: {})",
                    list(&regs.accepted)
                ),
            );
        }
    }
    Pools { drafts: pools, by_name: pool_by_name }
}

/// A pool's `runtime_classes`: RuntimeClass names (DNS subdomains, as the API server requires
/// of object names), at least one, no repeats.
fn runtime_classes(c: &mut Ctx, p: &KeyPath, names: Option<&[String]>) -> Option<Vec<String>> {
    let names = names?;
    let key = p.key("runtime_classes");
    if names.is_empty() {
        c.err(&key, "must list at least one RuntimeClass (omit it to accept every class)");
    }
    for (j, n) in names.iter().enumerate() {
        if !is_dns1123_subdomain(n) {
            c.err(
                &key.index(j, None),
                format!(
                    "{n:?} is not a RuntimeClass name (lower-case letters, digits, '-' and '.', at most 253)"
                ),
            );
        } else if names[..j].contains(n) {
            c.err(&key.index(j, None), format!("{n:?} is listed twice"));
        }
    }
    Some(names.to_vec())
}
