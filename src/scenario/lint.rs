//! Warnings: likely mistakes in a scenario that is valid. `validate` and `run` print them and go
//! on (exit code 0); a sweep's variants are not linted. Each check looks at the validated
//! `Scenario` only, so what it says holds for the run as it will happen:
//!
//! - an image larger than the disk of a node pool that runs it (it can never be stored there);
//! - a deployment whose replicas all land on one node, or do not all fit (`max_pods`), or have
//!   no node at all;
//! - something timed at or after the end of the run (`simulation.until`): a workload's start, a
//!   batch, an update, a node pool's joins, an outage, a push of a new digest;
//! - an image with no manifest for the architecture of any node pool that runs it;
//! - a pull-through cache that no pull reaches (no registry lists it in `mirrors` and no image
//!   names it), or that is a mirror only of registries other than its upstream (it answers 404);
//!
//! and, first, what validation accepted as written although Kubernetes would refuse it
//! (`Scenario::notes`).

use super::locate::KeyPath;
use super::{ContainerImage, ImageLayers, Scenario, WorkloadKind, WorkloadSpec};
use crate::engine::dist::Dist;
use crate::ids::ImageId;
use crate::time::SimDuration;
use crate::units::{fmt_duration_human, fmt_size_human};
use std::fmt;

/// A likely mistake: the key it concerns (dotted, as in error messages) and what is wrong.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Warning {
    pub key: Option<String>,
    pub message: String,
}

impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.key {
            Some(k) => write!(f, "key `{k}`: {}", self.message),
            None => write!(f, "{}", self.message),
        }
    }
}

/// Every warning for a valid scenario, in the order of the checks (see the module doc).
pub fn lint(s: &Scenario) -> Vec<Warning> {
    let mut out = s.notes.clone();
    image_larger_than_disk(s, &mut out);
    placement(s, &mut out);
    after_the_end(s, &mut out);
    no_manifest_for_any_arch(s, &mut out);
    unreached_cache(s, &mut out);
    let mut seen = std::collections::BTreeSet::new();
    out.retain(|w| seen.insert((w.key.clone(), w.message.clone())));
    out
}

fn warn(out: &mut Vec<Warning>, key: KeyPath, message: String) {
    out.push(Warning { key: Some(key.to_string()), message });
}

fn workload_path(i: usize, w: &WorkloadSpec) -> KeyPath {
    KeyPath::root().key("workload").index(i, Some(&w.name))
}

fn pool_path(s: &Scenario, p: usize) -> KeyPath {
    KeyPath::root().key("node_pool").index(p, Some(&s.node_pools[p].name))
}

/// Indexes of the node pools a workload may run on.
fn eligible_pools(s: &Scenario, w: &WorkloadSpec) -> Vec<usize> {
    match &w.node_pools {
        Some(ids) => ids.iter().map(|id| id.idx()).collect(),
        None => (0..s.node_pools.len()).collect(),
    }
}

/// Where an image comes from, for messages: `[[image]]` by ref, or its `[[image_set]]`.
fn image_path(s: &Scenario, id: ImageId) -> KeyPath {
    let set = s.image_sets.iter().enumerate().find(|(_, set)| {
        (set.first_image.idx()..set.first_image.idx() + set.count as usize).contains(&id.idx())
    });
    match set {
        Some((k, set)) => KeyPath::root().key("image_set").index(k, Some(&set.name)),
        // Declared images come first, in file order.
        None => KeyPath::root().key("image").index(id.idx(), Some(&s.images[id.idx()].raw_ref)),
    }
}

/// The images a workload's pods may use: every container's (one member stands for a set, whose
/// members share their size and platforms) and the image of its update.
fn images_of(s: &Scenario, w: &WorkloadSpec) -> Vec<ImageId> {
    let mut ids = Vec::new();
    for c in w.pod.init_containers.iter().chain(&w.pod.containers) {
        match &c.image {
            ContainerImage::Ref { image: Some(id), .. } => ids.push(*id),
            ContainerImage::Set { set, .. } => {
                let set = &s.image_sets[set.idx()];
                if set.count > 0 {
                    ids.push(set.first_image);
                }
            }
            ContainerImage::Ref { image: None, .. } => {}
        }
    }
    if let WorkloadKind::Deployment { update: Some(u), .. } = &w.kind {
        ids.extend(u.image_id);
    }
    ids.dedup();
    ids
}

/// The largest value a distribution can draw, when it has one.
fn upper_bound(d: &Dist) -> Option<f64> {
    match d {
        Dist::Constant(v) => Some(*v),
        Dist::Uniform { max, .. } => Some(*max),
        Dist::Empirical { values, .. } => values.iter().copied().reduce(f64::max),
        Dist::Exponential { .. } | Dist::LogNormal { .. } => None,
    }
}

/// A typical draw: the mean of an exponential, the median of a lognormal.
fn typical(d: &Dist) -> f64 {
    match d {
        Dist::LogNormal { median, .. } => *median,
        other => upper_bound(other).unwrap_or_else(|| other.mean()),
    }
}

/// An image's size: `(bytes, exact)` where `exact` says the bytes are the most it can be (every
/// layer bounded) rather than a typical size. The largest of its versions (pushes).
fn image_size(s: &Scenario, id: ImageId) -> Option<(f64, bool)> {
    let im = &s.images[id.idx()];
    let mut versions: Vec<Vec<&Dist>> = match &im.layers {
        ImageLayers::Explicit(ls) => vec![ls.iter().map(|l| &l.size_bytes).collect()],
        ImageLayers::Drawn { size_bytes, base, .. } => {
            vec![std::iter::once(size_bytes).chain(base.iter().map(|l| &l.size_bytes)).collect()]
        }
        ImageLayers::Unknown => return None,
    };
    versions.extend(im.pushes.iter().map(|p| p.layers.iter().map(|l| &l.size_bytes).collect()));
    versions
        .iter()
        .map(|layers| {
            let bounded: Option<f64> = layers.iter().map(|d| upper_bound(d)).sum();
            match bounded {
                Some(b) => (b, true),
                None => (layers.iter().map(|d| typical(d)).sum(), false),
            }
        })
        .max_by(|a, b| a.0.total_cmp(&b.0))
}

fn image_larger_than_disk(s: &Scenario, out: &mut Vec<Warning>) {
    for w in &s.workloads {
        for id in images_of(s, w) {
            let Some((size, exact)) = image_size(s, id) else { continue };
            for p in eligible_pools(s, w) {
                let pool = &s.node_pools[p];
                // A disk drawn from an unbounded distribution may be large enough.
                let Some(disk) = upper_bound(&pool.disk_bytes) else { continue };
                if size <= disk || pool.count == 0 {
                    continue;
                }
                let how = if exact { "is" } else { "is typically" };
                warn(
                    out,
                    image_path(s, id),
                    format!(
                        "image {:?} {how} {}, more than the {} disk of node pool {:?} (`{}`), where \
                         workload {:?} runs it: it cannot be stored there",
                        s.images[id.idx()].raw_ref,
                        fmt_size_human(size),
                        fmt_size_human(disk),
                        pool.name,
                        pool_path(s, p).key("disk"),
                        w.name
                    ),
                );
            }
        }
    }
}

fn placement(s: &Scenario, out: &mut Vec<Warning>) {
    for (i, w) in s.workloads.iter().enumerate() {
        let WorkloadKind::Deployment { replicas, .. } = w.kind else { continue };
        if replicas == 0 {
            continue;
        }
        let pools = eligible_pools(s, w);
        let names: Vec<String> = pools.iter().map(|&p| format!("{:?}", s.node_pools[p].name)).collect();
        let pools_text = match names.as_slice() {
            [one] => format!("node pool {one}"),
            _ => format!("node pools {}", names.join(", ")),
        };
        let nodes: u64 = pools.iter().map(|&p| u64::from(s.node_pools[p].count)).sum();
        let at = workload_path(i, w).key("replicas");
        if nodes == 0 {
            let have = if names.len() == 1 { "has" } else { "have" };
            warn(out, at, format!("no node to run on: {pools_text} {have} count = 0"));
            continue;
        }
        if nodes == 1 && replicas > 1 {
            warn(
                out,
                at.clone(),
                format!("all {replicas} replicas run on one node, the only node of {pools_text}"),
            );
        }
        // Pods a node takes, less one per daemonset that runs there.
        let mut capacity = 0u64;
        for &p in &pools {
            let pool = &s.node_pools[p];
            if pool.max_pods == u32::MAX {
                capacity = u64::MAX;
                break;
            }
            let daemons = s
                .workloads
                .iter()
                .filter(|d| {
                    matches!(d.kind, WorkloadKind::DaemonSet { .. }) && eligible_pools(s, d).contains(&p)
                })
                .count() as u64;
            capacity += u64::from(pool.count) * u64::from(pool.max_pods).saturating_sub(daemons);
        }
        if u64::from(replicas) > capacity {
            warn(
                out,
                at,
                format!(
                    "only {capacity} of the {replicas} replicas fit on the {nodes} nodes of {pools_text} with \
                     their `max_pods` (less one pod per node for each daemonset): the rest stay Pending"
                ),
            );
        }
    }
}

fn after_the_end(s: &Scenario, out: &mut Vec<Warning>) {
    let end = s.until;
    let late = |t: SimDuration| t >= end;
    let when = |t: SimDuration| {
        format!(
            "{}, at or after the end of the run ({}, `simulation.until`)",
            fmt_duration_human(t.0),
            fmt_duration_human(end.0)
        )
    };
    for (i, w) in s.workloads.iter().enumerate() {
        if w.prepull.is_some() {
            continue; // read below, at its own table
        }
        let p = workload_path(i, w);
        if late(w.start) {
            warn(out, p.key("start"), format!("starts at {}: it never runs", when(w.start)));
            continue;
        }
        match &w.kind {
            WorkloadKind::Batch { at, .. } if late(*at) => {
                warn(out, p.key("at"), format!("the batch is created at {}: it never runs", when(*at)))
            }
            WorkloadKind::Deployment { update: Some(u), .. } if late(u.at) => warn(
                out,
                p.key("update").key("at"),
                format!("the update is at {}: it never happens", when(u.at)),
            ),
            _ => {}
        }
    }
    for (i, pp) in s.prepulls.iter().enumerate() {
        if pp.enabled && late(pp.at) {
            let p = KeyPath::root().key("prepull").index(i, Some(&pp.name)).key("at");
            warn(out, p, format!("the prepull starts at {}: it never pulls", when(pp.at)));
        }
    }
    for (i, pool) in s.node_pools.iter().enumerate() {
        if pool.count == 0 {
            continue;
        }
        let p = pool_path(s, i).key("join");
        let last = pool.join_at.0.saturating_add(pool.join_every.0.saturating_mul(u64::from(pool.count - 1)));
        if late(pool.join_at) {
            warn(out, p.key("at"), format!("the first node joins at {}: none ever runs", when(pool.join_at)));
        } else if last >= end.0 {
            let joined = (end.0 - pool.join_at.0).div_ceil(pool.join_every.0.max(1));
            warn(
                out,
                p.key("every"),
                format!(
                    "the last of the {} nodes would join at {}: only {joined} join before it",
                    pool.count,
                    when(SimDuration(last))
                ),
            );
        }
    }
    for (i, r) in s.registries.iter().enumerate() {
        for (j, (from, _)) in r.outages.iter().enumerate() {
            if late(*from) {
                let p = KeyPath::root().key("registry").index(i, Some(&r.host)).key("outages").index(j, None);
                warn(out, p.key("from"), format!("the outage starts at {}: it never happens", when(*from)));
            }
        }
    }
    for (i, im) in s.images.iter().enumerate() {
        for (j, push) in im.pushes.iter().enumerate() {
            if late(push.at) {
                let p = image_path(s, ImageId::from_idx(i)).key("pushes").index(j, None);
                warn(out, p.key("at"), format!("the push is at {}: it never happens", when(push.at)));
            }
        }
    }
}

fn no_manifest_for_any_arch(s: &Scenario, out: &mut Vec<Warning>) {
    for w in &s.workloads {
        let pools = eligible_pools(s, w);
        for id in images_of(s, w) {
            let Some(platforms) = &s.images[id.idx()].platforms else { continue };
            let arches: Vec<&str> = pools
                .iter()
                .map(|&p| &s.node_pools[p])
                .filter(|p| p.count > 0)
                .map(|p| p.arch.as_str())
                .collect();
            if arches.is_empty() || arches.iter().any(|a| platforms.iter().any(|pl| pl == a)) {
                continue;
            }
            let mut arches = arches;
            arches.dedup();
            warn(
                out,
                image_path(s, id).key("platforms"),
                format!(
                    "image {:?} has no manifest for {} (the architecture of every node pool workload {:?} \
                     may run on): every pull of it fails",
                    s.images[id.idx()].raw_ref,
                    arches.join(" or "),
                    w.name
                ),
            );
        }
    }
}

/// A pull-through cache no pull can use: no image names it and no registry whose images it
/// proxies lists it in `mirrors`.
fn unreached_cache(s: &Scenario, out: &mut Vec<Warning>) {
    for (i, r) in s.registries.iter().enumerate() {
        let Some(pt) = &r.pull_through else { continue };
        let named = s.images.iter().any(|im| im.registry.is_some_and(|g| g.idx() == i));
        let mirrored = s.registries[pt.upstream.idx()].mirrors.iter().any(|m| m.registry.idx() == i);
        if named || mirrored {
            continue;
        }
        let elsewhere = s.registries.iter().any(|o| o.mirrors.iter().any(|m| m.registry.idx() == i));
        let why = if elsewhere {
            format!(
                "it is a mirror only of registries other than its upstream {:?}, which it answers with 404",
                s.registries[pt.upstream.idx()].host
            )
        } else {
            format!(
                "no image names it and {:?} does not list it in `mirrors`",
                s.registries[pt.upstream.idx()].host
            )
        };
        let key = KeyPath::root().key("registry").index(i, Some(&r.host)).key("pull_through");
        warn(out, key, format!("this pull-through cache serves no pull: {why}"));
    }
}
