//! `[[prepull]]` (extension): images warmed on chosen node pools from a time on, the way
//! clusters do it today with an image-puller DaemonSet (kube-fledged, or a DaemonSet whose init
//! containers each name one image and run a no-op).
//!
//! Each enabled table becomes a DaemonSet workload named `prepull:<name>`, appended after the
//! file's own workloads, so the model runs it through the same machinery as any DaemonSet (a
//! pod per eligible node at `at`, one per node that joins later, bound directly) and its pulls
//! go through the kubelet's normal path. Its pod lists the images in order: every image but the
//! last as an init container that exits at once, the last as the pod's one app container (it
//! stands in for the pause container, which real pullers add and which is preloaded), all with
//! pull policy IfNotPresent. So the pod pulls the images one after another, and is Running once
//! the last is present and its container started.
//!
//! The table is checked here against the user's workloads only: SLOs, `[sweep] workload` and
//! the default key workload never see the hidden DaemonSet.

use super::images::Images;
use super::pools::Pools;
use super::registries::Registries;
use super::Ctx;
use crate::engine::dist::Dist;
use crate::k8s::pull_policy::PullPolicy;
use crate::scenario::locate::KeyPath;
use crate::scenario::raw::RawScenario;
use crate::scenario::{
    prepull_workload_name, ContainerImage, ContainerSpec, PodTemplate, PrepullSpec, WorkloadKind,
    WorkloadSpec,
};
use crate::time::SimDuration;
use std::collections::BTreeSet;

/// Reads every `[[prepull]]` and appends the DaemonSet of each enabled one to `workloads`.
pub(super) fn prepulls(
    c: &mut Ctx,
    raw: &RawScenario,
    imgs: &Images,
    pools: &Pools,
    regs: &Registries,
    workloads: &mut Vec<WorkloadSpec>,
) -> Vec<PrepullSpec> {
    let root = KeyPath::root();
    let user_names: BTreeSet<String> = workloads.iter().map(|w| w.name.clone()).collect();
    let mut names = BTreeSet::new();
    let mut out = Vec::new();
    for (i, t) in raw.prepull.iter().enumerate() {
        let p = root.key("prepull").index(i, t.name.as_deref());
        let name = c.name(&p, "name", &t.name);
        if !name.is_empty() && !names.insert(name.clone()) {
            c.err(
                &p.key("name"),
                format!("duplicate prepull name {name:?}; each [[prepull]] needs its own name"),
            );
        }
        let hidden = prepull_workload_name(&name);
        if !name.is_empty() && user_names.contains(&hidden) {
            c.err(
                &p.key("name"),
                format!(
                    "its DaemonSet would be named {hidden:?}, the name of a [[workload]]: rename one of them"
                ),
            );
        }
        let at = c.duration(&p.key("at"), t.at.as_ref(), SimDuration::ZERO);
        let node_pools = pools.select(c, &p.key("node_pools"), t.node_pools.as_ref());
        let eligible: Vec<usize> = match &node_pools {
            Some(ids) => ids.iter().map(|id| id.idx()).collect(),
            None => (0..pools.drafts.len()).collect(),
        };
        let mut images = Vec::new();
        match c.required(&p, "images", &t.images) {
            Some(v) if v.is_empty() => c.err(&p.key("images"), "must list at least one image to pull"),
            _ => {}
        }
        for (j, raw_image) in t.images.iter().flatten().enumerate() {
            let ip = p.key("images").index(j, None);
            let before = c.issues.len();
            let Some(id) = imgs.declared(c, &ip, raw_image) else {
                // A string that is no reference at all: a container would fail at run time with
                // InvalidImageName; a prepull of it is a mistake in the file.
                if c.issues.len() == before {
                    c.err(&ip, format!("{raw_image:?} is not a valid image reference"));
                }
                continue;
            };
            // As for a container: an image only preloaded, with no registry, is fine only
            // where it is always present (IfNotPresent never pulls it there).
            let im = &imgs.images[id.idx()];
            let everywhere =
                eligible.iter().all(|&pi| pools.drafts.get(pi).is_some_and(|d| d.preloaded.contains(&id)));
            if im.registry.is_none() && !everywhere {
                c.err(
                    &ip,
                    format!(
                        "image {raw_image:?} is preloaded on only some of the prepull's pools and no [[registry]] \
                         serves {:?} (registries defined: {}): add the registry, or narrow `node_pools`",
                        im.domain,
                        regs.hosts()
                    ),
                );
            }
            images.push((raw_image.clone(), id));
        }
        let enabled = t.enabled.unwrap_or(true);
        let index = out.len();
        out.push(PrepullSpec { name: name.clone(), images, node_pools: node_pools.clone(), at, enabled });
        if enabled && !out[index].images.is_empty() {
            workloads.push(daemonset(hidden, &out[index], index));
        }
    }
    out
}

/// The image-puller DaemonSet of a prepull: init containers for every image but the last, the
/// last as the app container; IfNotPresent, no run time, no requests, no pull secrets.
fn daemonset(name: String, spec: &PrepullSpec, index: usize) -> WorkloadSpec {
    let container = |(raw, id): &(String, crate::ids::ImageId), init: bool| ContainerSpec {
        image: ContainerImage::Ref { raw: raw.clone(), image: Some(*id) },
        pull_policy: Some(PullPolicy::IfNotPresent),
        run_for_ns: init.then_some(Dist::Constant(0.0)),
    };
    let (last, first) = spec.images.split_last().expect("a prepull has images");
    WorkloadSpec {
        name,
        kind: WorkloadKind::DaemonSet {
            max_unavailable: crate::scenario::IntOrPercent::Int(1),
            update: None,
        },
        start: spec.at,
        image_pull_secrets: Vec::new(),
        runtime_class: None,
        node_pools: spec.node_pools.clone(),
        scheduling_latency_ns: Dist::Constant(0.0),
        ready_after_ns: Dist::Constant(0.0),
        min_ready: SimDuration::ZERO,
        requests: crate::scenario::Resources::NONE,
        pod: PodTemplate {
            init_containers: first.iter().map(|i| container(i, true)).collect(),
            containers: vec![container(last, false)],
        },
        prepull: Some(index),
    }
}
