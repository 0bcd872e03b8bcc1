//! `[[workload]]` and its pod: kinds (deployment, daemonset, poisson, batch) with the keys of
//! each, rollouts and updates, pull secrets, node selectors, and every container's image, pull
//! policy and run time.

use super::images::Images;
use super::pools::Pools;
use super::quantity::{Bound, Kind};
use super::registries::Registries;
use super::{list, unknown_value, Ctx};
use crate::engine::dist::Dist;
use crate::ids::PoolId;
use crate::ids::{ImageId, NodeId};
use crate::k8s::pull_policy::{default_pull_policy, PullPolicy};
use crate::scenario::locate::KeyPath;
use crate::scenario::raw::{RawContainer, RawReplayPod, RawScenario, RawWorkload};
use crate::scenario::{
    ContainerImage, ContainerSpec, IntOrPercent, Pick, PodTemplate, ReplayPod, Rollout, Update, WorkloadKind,
    WorkloadSpec,
};
use crate::time::SimDuration;
use std::collections::BTreeSet;
use toml::Value;

/// Workload kinds.
const KINDS: [&str; 5] = ["deployment", "daemonset", "poisson", "batch", "replay"];

/// Reads every `[[workload]]`.
pub(super) fn workloads(
    c: &mut Ctx,
    raw: &RawScenario,
    imgs: &Images,
    pools: &Pools,
    regs: &Registries,
) -> Vec<WorkloadSpec> {
    let root = KeyPath::root();
    let mut workloads = Vec::new();
    let mut workload_names = BTreeSet::new();
    for (i, w) in raw.workload.iter().enumerate() {
        let p = root.key("workload").index(i, w.name.as_deref());
        let name = c.name(&p, "name", &w.name);
        if !name.is_empty() && !workload_names.insert(name.clone()) {
            c.err(&p.key("name"), format!("duplicate workload name {name:?}"));
        }
        let start = c.duration(&p.key("start"), w.start.as_ref(), SimDuration::ZERO);
        let kind_name = c.name(&p, "kind", &w.kind);
        let known_kind = KINDS.contains(&kind_name.as_str());
        if !known_kind && !kind_name.is_empty() {
            c.err(
                &p.key("kind"),
                unknown_value(
                    format!("unknown workload kind {kind_name:?}"),
                    &kind_name,
                    &KINDS,
                    "deployment, daemonset, poisson, batch or replay",
                ),
            );
        }
        // Keys that belong to one kind only: a key given to another kind is a mistake. With a
        // missing or unknown kind, the kind is the mistake: `kind = "Deployment"` would otherwise
        // be reported as `replicas` (and every other key it has) being out of place first.
        let only = |c: &mut Ctx, key: &str, set: bool, kinds: &str| {
            if known_kind && set && !kinds.split('|').any(|k| k == kind_name) {
                c.err(&p.key(key), format!("`{key}` is only valid for kind = {kinds:?}"));
            }
        };
        only(c, "replicas", w.replicas.is_some(), "deployment");
        only(c, "rollout", w.rollout.is_some(), "deployment|daemonset");
        only(c, "update", w.update.is_some(), "deployment|daemonset");
        only(c, "rate", w.rate.is_some(), "poisson");
        only(c, "count", w.count.is_some(), "poisson|batch");
        only(c, "at", w.at.is_some(), "batch");
        only(c, "pods", w.pods.is_some(), "replay");
        // A replay pod's `at` is from the run's start and its image is its own: a start or a
        // template would be ignored, so they are mistakes.
        only(c, "start", w.start.is_some(), "deployment|daemonset|poisson|batch");
        only(c, "pod", w.pod.is_some(), "deployment|daemonset|poisson|batch");
        let kind = match kind_name.as_str() {
            "deployment" => {
                let replicas = match c.required(&p, "replicas", &w.replicas) {
                    Some(_) => c.count_u32(&p.key("replicas"), w.replicas.as_ref(), 0, 0),
                    None => 0,
                };
                let mut rollout = Rollout::default();
                if let Some(r) = &w.rollout {
                    let rp = p.key("rollout");
                    if let Some(v) = &r.max_surge {
                        rollout.max_surge =
                            int_or_percent(c, &rp.key("max_surge"), v).unwrap_or(rollout.max_surge);
                    }
                    if let Some(v) = &r.max_unavailable {
                        let mu = int_or_percent(c, &rp.key("max_unavailable"), v)
                            .unwrap_or(rollout.max_unavailable);
                        if let IntOrPercent::Percent(x) = mu {
                            if x > 100 {
                                c.err(
                                    &rp.key("max_unavailable"),
                                    format!("{x}%: must not be greater than 100%"),
                                );
                            }
                        }
                        rollout.max_unavailable = mu;
                    }
                    if is_zero(rollout.max_surge) && is_zero(rollout.max_unavailable) {
                        c.err(&rp.key("max_unavailable"), "may not be 0 when `maxSurge` is 0");
                    }
                }
                let update = update(c, &p, w, imgs);
                WorkloadKind::Deployment { replicas, rollout, update }
            }
            "daemonset" => {
                // `spec.updateStrategy.rollingUpdate`: maxUnavailable (default 1); a surge is
                // not modelled.
                let mut max_unavailable = IntOrPercent::Int(1);
                if let Some(r) = &w.rollout {
                    let rp = p.key("rollout");
                    if let Some(v) = &r.max_surge {
                        if int_or_percent(c, &rp.key("max_surge"), v).is_some_and(|s| !is_zero(s)) {
                            c.err(
                                &rp.key("max_surge"),
                                "a DaemonSet's maxSurge is not modelled: give 0 or leave it out (updates replace pods node by node)",
                            );
                        }
                    }
                    if let Some(v) = &r.max_unavailable {
                        match int_or_percent(c, &rp.key("max_unavailable"), v) {
                            Some(IntOrPercent::Percent(x)) if x > 100 => c.err(
                                &rp.key("max_unavailable"),
                                format!("{x}%: must not be greater than 100%"),
                            ),
                            Some(mu) => max_unavailable = mu,
                            None => {}
                        }
                    }
                }
                WorkloadKind::DaemonSet { max_unavailable, update: update(c, &p, w, imgs) }
            }
            "poisson" => {
                let rate = match c.required(&p, "rate", &w.rate) {
                    Some(_) => c.dist(&p.key("rate"), w.rate.as_ref(), Kind::Rate, Bound::Positive),
                    None => None,
                }
                .unwrap_or(Dist::Constant(1.0));
                if matches!(rate, Dist::Constant(x) if x.is_infinite()) {
                    c.err(&p.key("rate"), "must be finite");
                }
                let count = w.count.as_ref().and_then(|v| match c.int(&p.key("count"), v) {
                    Some(n) if n >= 0 => Some(n as u64),
                    Some(n) => {
                        c.err(&p.key("count"), format!("must be >= 0, got {n}"));
                        None
                    }
                    None => None,
                });
                WorkloadKind::Poisson { rate_per_s: rate, count }
            }
            "batch" => {
                let count = match c.required(&p, "count", &w.count) {
                    Some(_) => c.count_u32(&p.key("count"), w.count.as_ref(), 0, 0),
                    None => 0,
                };
                WorkloadKind::Batch { count, at: c.duration(&p.key("at"), w.at.as_ref(), start) }
            }
            "replay" => WorkloadKind::Replay { pods: replay_pods(c, &p, w, imgs, pools) },
            // Missing or unknown (reported above): a placeholder.
            _ => WorkloadKind::DaemonSet { max_unavailable: IntOrPercent::Int(1), update: None },
        };
        let mut image_pull_secrets = Vec::new();
        for (j, s) in w.image_pull_secrets.iter().flatten().enumerate() {
            if !regs.accepted.contains(s) {
                c.err(
                    &p.key("image_pull_secrets").index(j, None),
                    format!(
                        "secret {s:?} is not accepted by any registry (accepted secrets: {})",
                        list(&regs.accepted)
                    ),
                );
            }
            image_pull_secrets.push(s.clone());
        }
        let selected = pools.select(c, &p.key("node_pools"), w.node_pools.as_ref());
        let node_pools = runtime_class_pools(c, &p, w.runtime_class.as_deref(), selected, pools);
        let pp = p.key("pod");
        let mut pod = PodTemplate::default();
        match &w.pod {
            // A replay pod's containers run its own images (`create_pod` puts them in): the
            // template is one container with the first pod's first image.
            None if kind_name == "replay" => {
                if let WorkloadKind::Replay { pods } = &kind {
                    if let Some(first) = pods.first() {
                        let (raw, id) = &first.images[0];
                        pod.containers.push(ContainerSpec {
                            image: ContainerImage::Ref { raw: raw.clone(), image: Some(*id) },
                            pull_policy: None,
                            run_for_ns: None,
                        });
                    }
                }
            }
            None => c.err(&p, "missing [workload.pod] with `containers = [...]`"),
            Some(rp) => {
                for (init, list_key, cs) in
                    [(true, "init_containers", &rp.init_containers), (false, "containers", &rp.containers)]
                {
                    for (j, ct) in cs.iter().flatten().enumerate() {
                        let cp = pp.key(list_key).index(j, None);
                        let spec = container(c, &cp, ct, init, imgs);
                        if init {
                            pod.init_containers.push(spec);
                        } else {
                            pod.containers.push(spec);
                        }
                    }
                }
                if pod.containers.is_empty() {
                    c.err(&pp, "a pod needs at least one container in `containers`");
                }
            }
        }
        // A preloaded-only image with no registry can be used only where it is always present
        // and never pulled.
        let allowed_pools: Vec<usize> = match &node_pools {
            Some(ids) => ids.iter().map(|id| id.idx()).collect(),
            None => (0..pools.drafts.len()).collect(),
        };
        let raw_pod = w.pod.as_ref();
        for (list_key, cs) in [("init_containers", &pod.init_containers), ("containers", &pod.containers)] {
            let raw_cs = raw_pod.and_then(|rp| {
                if list_key == "containers" { &rp.containers } else { &rp.init_containers }.as_ref()
            });
            for (j, ct) in cs.iter().enumerate() {
                let ContainerImage::Ref { raw: raw_image, image: Some(id) } = &ct.image else { continue };
                // With a misspelt pull_policy the policy is unknown: the error is that, not a
                // pull the default policy might need.
                if ct.pull_policy.is_none()
                    && raw_cs.and_then(|r| r.get(j)).is_some_and(|r| r.pull_policy.is_some())
                {
                    continue;
                }
                let Some(im) = imgs.images.get(id.idx()) else { continue };
                if im.registry.is_some() {
                    continue;
                }
                let policy = ct.pull_policy.unwrap_or_else(|| default_pull_policy(raw_image));
                let everywhere = allowed_pools
                    .iter()
                    .all(|&pi| pools.drafts.get(pi).is_some_and(|pl| pl.preloaded.contains(id)));
                if policy == PullPolicy::Always || !everywhere {
                    c.err(
                        &pp.key(list_key).index(j, None).key("image"),
                        format!(
                            "image {raw_image:?} may have to be pulled (policy {}, preloaded on {}) but no \
                             [[registry]] serves {:?} (registries defined: {})",
                            policy.as_str(),
                            if everywhere { "every eligible pool" } else { "only some pools" },
                            im.domain,
                            regs.hosts()
                        ),
                    );
                }
            }
        }
        workloads.push(WorkloadSpec {
            name,
            kind,
            start,
            image_pull_secrets,
            runtime_class: w.runtime_class.clone(),
            node_pools,
            scheduling_latency_ns: c.dist_or(
                &p.key("scheduling_latency"),
                w.scheduling_latency.as_ref(),
                Kind::Duration,
                Bound::NonNegative,
                0.0,
            ),
            ready_after_ns: c.dist_or(
                &p.key("ready_after"),
                w.ready_after.as_ref(),
                Kind::Duration,
                Bound::NonNegative,
                0.0,
            ),
            min_ready: min_ready(c, &p, w),
            requests: c.resources(&p.key("requests"), w.requests.as_ref(), crate::scenario::Resources::NONE),
            pod,
            prepull: None,
        });
    }
    workloads
}

/// `update = { at, image }`: when the template's image changes, and to what.
fn update(c: &mut Ctx, p: &KeyPath, w: &RawWorkload, imgs: &Images) -> Option<Update> {
    w.update.as_ref().map(|u| {
        let up = p.key("update");
        let at = match c.required(&up, "at", &u.at) {
            Some(_) => c.duration(&up.key("at"), u.at.as_ref(), SimDuration::ZERO),
            None => SimDuration::ZERO,
        };
        let image = c.name(&up, "image", &u.image);
        let image_id = if image.is_empty() { None } else { imgs.declared(c, &up.key("image"), &image) };
        Update { at, image, image_id }
    })
}

/// The pods of a replay workload, each on a named node (`<pool>-<k>`) at a time with an image
/// some registry serves or the node's pool has preloaded; sorted by time (stable: ties keep
/// the written order), which is their creation order and their index in the pod names.
fn replay_pods(c: &mut Ctx, p: &KeyPath, w: &RawWorkload, imgs: &Images, pools: &Pools) -> Vec<ReplayPod> {
    let Some(raw) = c.required(p, "pods", &w.pods) else { return Vec::new() };
    if raw.is_empty() {
        c.err(&p.key("pods"), "must list at least one pod");
    }
    // The first node index of each pool: nodes are numbered pool by pool.
    let mut first_node = Vec::with_capacity(pools.drafts.len());
    let mut n = 0usize;
    for d in &pools.drafts {
        first_node.push(n);
        n += d.count as usize;
    }
    let mut out = Vec::new();
    for (j, rp) in raw.iter().enumerate() {
        let pp = p.key("pods").index(j, None);
        let node_name = c.name(&pp, "node", &rp.node);
        let at = match c.required(&pp, "at", &rp.at) {
            Some(_) => c.duration(&pp.key("at"), rp.at.as_ref(), SimDuration::ZERO),
            None => SimDuration::ZERO,
        };
        let images = replay_images(c, &pp, rp, imgs);
        let node =
            (!node_name.is_empty()).then(|| node_index(c, &pp.key("node"), &node_name, pools)).flatten();
        let Some((pool, k)) = node else { continue };
        for (i, (image, id)) in images.iter().enumerate() {
            let im = &imgs.images[id.idx()];
            if im.registry.is_none() && !pools.drafts[pool].preloaded.contains(id) {
                let key = if rp.images.is_some() { pp.key("images").index(i, None) } else { pp.key("image") };
                c.err(
                    &key,
                    format!(
                        "image {image:?} is not preloaded on pool {:?} and no [[registry]] serves {:?}",
                        pools.drafts[pool].name, im.domain
                    ),
                );
            }
        }
        // The model's kubelet works on any node it is given: a pod bound before its node
        // joins would pull on a node that is not there yet.
        let d = &pools.drafts[pool];
        let joins = SimDuration(d.join_at.0.saturating_add(d.join_every.saturating_mul(u64::from(k)).0));
        if at < joins {
            c.err(
                &pp.key("at"),
                format!(
                    "{} is before node {node_name:?} joins ({}: the pool's join.at + {k} x join.every)",
                    crate::units::fmt_duration_exact(at.0),
                    crate::units::fmt_duration_exact(joins.0)
                ),
            );
        }
        if !images.is_empty() {
            let node = NodeId::from_idx(first_node[pool] + k as usize);
            out.push(ReplayPod { node, at, images });
        }
    }
    out.sort_by_key(|r| r.at);
    out
}

/// A replay pod's images: `image`, or `images` (its containers' images in order), each a
/// declared image; an empty list when any is missing or invalid (the errors are reported).
fn replay_images(c: &mut Ctx, pp: &KeyPath, rp: &RawReplayPod, imgs: &Images) -> Vec<(String, ImageId)> {
    let written: Vec<(KeyPath, String)> = match (&rp.image, &rp.images) {
        (Some(_), Some(_)) => {
            c.err(pp, "give either `image` (one container) or `images` (several, in order), not both");
            return Vec::new();
        }
        (None, None) => {
            c.err(pp, "missing `image` (the pod's image) or `images` (its containers' images, in order)");
            return Vec::new();
        }
        (Some(_), None) => vec![(pp.key("image"), c.name(pp, "image", &rp.image))],
        (None, Some(list)) => {
            if list.is_empty() {
                c.err(&pp.key("images"), "must list at least one image");
            }
            list.iter().enumerate().map(|(i, s)| (pp.key("images").index(i, None), s.clone())).collect()
        }
    };
    let mut out = Vec::with_capacity(written.len());
    for (key, image) in written {
        if image.is_empty() {
            return Vec::new();
        }
        let before = c.issues.len();
        match imgs.declared(c, &key, &image) {
            Some(id) => out.push((image, id)),
            None => {
                if c.issues.len() == before {
                    c.err(&key, format!("{image:?} is not a valid image reference"));
                }
                return Vec::new();
            }
        }
    }
    out
}

/// `<pool>-<k>`: the pool's index and k, or an error naming the pools and their node counts.
fn node_index(c: &mut Ctx, path: &KeyPath, name: &str, pools: &Pools) -> Option<(usize, u32)> {
    // Pool names may hold `-`: the index is after the last one.
    let found = name.rsplit_once('-').and_then(|(pool, k)| {
        let id = pools.by_name.get(pool)?;
        let k: u32 = k.parse().ok()?;
        (k < pools.drafts[id.idx()].count).then_some((id.idx(), k))
    });
    if found.is_none() {
        let nodes: Vec<String> = pools
            .drafts
            .iter()
            .map(|d| match d.count {
                0 => format!("{} (no nodes)", d.name),
                1 => format!("{}-0", d.name),
                n => format!("{}-0 to {}-{}", d.name, d.name, n - 1),
            })
            .collect();
        c.err(path, format!("no node named {name:?} (nodes: {})", nodes.join(", ")));
    }
    found
}

fn container(c: &mut Ctx, cp: &KeyPath, ct: &RawContainer, init: bool, imgs: &Images) -> ContainerSpec {
    let image = match (&ct.image, &ct.image_set) {
        (Some(_), Some(_)) => {
            c.err(cp, "give either `image` or `image_set`, not both");
            None
        }
        (None, None) => {
            c.err(cp, "a container needs `image` (a reference) or `image_set` (a set name)");
            None
        }
        (Some(raw), None) => {
            for k in ["pick", "zipf_s"] {
                if (k == "pick" && ct.pick.is_some()) || (k == "zipf_s" && ct.zipf_s.is_some()) {
                    c.err(&cp.key(k), format!("`{k}` goes with `image_set`, not with `image`"));
                }
            }
            Some(ContainerImage::Ref { raw: raw.clone(), image: imgs.declared(c, &cp.key("image"), raw) })
        }
        (None, Some(set_name)) => {
            let set = imgs.set_by_name.get(set_name).copied();
            if set.is_none() {
                c.err(
                    &cp.key("image_set"),
                    format!(
                        "no image_set named {set_name:?} (sets: {})",
                        list(imgs.sets.iter().map(|s| s.name.as_str()))
                    ),
                );
            }
            let pick = match ct.pick.as_deref() {
                None | Some("sequential") => Pick::Sequential,
                Some("uniform") => Pick::Uniform,
                Some("zipf") => {
                    let s = match &ct.zipf_s {
                        None => {
                            c.err(cp, "pick = \"zipf\" needs `zipf_s` (the skew exponent, > 0)");
                            1.0
                        }
                        Some(v) => match c.plain_number(&cp.key("zipf_s"), v) {
                            Some(s) if s > 0.0 => s,
                            Some(s) => {
                                c.err(&cp.key("zipf_s"), format!("must be greater than 0, got {s}"));
                                1.0
                            }
                            None => 1.0,
                        },
                    };
                    Pick::Zipf { s }
                }
                Some(other) => {
                    c.err(
                        &cp.key("pick"),
                        unknown_value(
                            format!("unknown pick {other:?}"),
                            other,
                            &["sequential", "uniform", "zipf"],
                            "sequential, uniform or zipf",
                        ),
                    );
                    Pick::Sequential
                }
            };
            // With an unknown pick, whether `zipf_s` belongs is unknown too.
            let pick_known = matches!(ct.pick.as_deref(), None | Some("sequential" | "uniform" | "zipf"));
            if pick_known && ct.zipf_s.is_some() && !matches!(pick, Pick::Zipf { .. }) {
                c.err(&cp.key("zipf_s"), "`zipf_s` only applies to pick = \"zipf\"");
            }
            set.map(|set| ContainerImage::Set { set, pick })
        }
    };
    let pull_policy = ct.pull_policy.as_deref().and_then(|s| {
        let p = PullPolicy::parse(s);
        if p.is_none() {
            c.err(
                &cp.key("pull_policy"),
                unknown_value(
                    format!("unknown pull_policy {s:?}"),
                    s,
                    &["Always", "IfNotPresent", "Never"],
                    "Always, IfNotPresent or Never",
                ),
            );
        }
        p
    });
    let run_for_ns = if init {
        Some(c.dist_or(&cp.key("run_for"), ct.run_for.as_ref(), Kind::Duration, Bound::NonNegative, 0.0))
    } else {
        if ct.run_for.is_some() {
            c.err(&cp.key("run_for"), "`run_for` only applies to init_containers");
        }
        None
    };
    ContainerSpec {
        image: image.unwrap_or(ContainerImage::Ref { raw: String::new(), image: None }),
        pull_policy,
        run_for_ns,
    }
}

/// `max_surge` / `max_unavailable`: an integer, or a percentage string, as a Deployment takes
/// them. The API server's `ValidatePositiveIntOrPercent` (k8s.io/kubernetes
/// pkg/apis/apps/validation) accepts a string only when `IsValidPercent` does (regex `[0-9]+%`:
/// digits then `%`, no sign, space or decimals), and the controller reads it with
/// `intstr.GetScaledValueFromIntOrPercent` → `getIntOrPercentValueSafely`
/// (`strings.HasSuffix(s, "%")`, then `strconv.Atoi` of the rest), which refuses a string without
/// `%` ("invalid type: string is not a percentage"). `Atoi` alone would take `"+25%"`; the API
/// server does not. One exception: a string of digits without `%` is read as the integer,
/// because the scenario format's own example writes `max_unavailable = "0"`; it is noted for
/// `lint`, since Kubernetes would refuse it.
fn int_or_percent(ctx: &mut Ctx, path: &KeyPath, v: &Value) -> Option<IntOrPercent> {
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    let s = match v {
        Value::Integer(i) if *i >= 0 && *i <= u32::MAX as i64 => return Some(IntOrPercent::Int(*i as u32)),
        Value::Integer(i) => {
            ctx.err(path, format!("{i}: must be greater than or equal to 0"));
            return None;
        }
        Value::String(s) => s.as_str(),
        _ => {
            ctx.err(path, format!("expected an integer or a percentage like \"25%\", got `{v}`"));
            return None;
        }
    };
    if let Some(p) = crate::k8s::validation::valid_percent(s) {
        return Some(IntOrPercent::Percent(p));
    }
    if s.strip_suffix('%').is_some_and(digits) {
        ctx.err(path, format!("{s:?}: percentage too large"));
        return None;
    }
    if digits(s) {
        ctx.note(
            path,
            format!(
                "{s:?} is a string without `%`: read as the integer {s}, but Kubernetes refuses it \
                 (\"string is not a percentage\"); write {s} without quotes, or \"{s}%\""
            ),
        );
        return match s.parse::<u32>() {
            Ok(i) => Some(IntOrPercent::Int(i)),
            Err(_) => {
                ctx.err(path, format!("{s:?}: too large"));
                None
            }
        };
    }
    // Near misses of "N%": say what is wrong with them.
    let t = s.trim();
    let body = t.strip_suffix('%').map(str::trim_end);
    let why = match body {
        Some(b) if b.starts_with('-') => "must not be negative".to_string(),
        Some(b) if b.starts_with('+') && digits(&b[1..]) => {
            format!("a percentage has no sign: write \"{}%\"", &b[1..])
        }
        Some(b) if digits(b) => format!("a percentage has no spaces: write \"{b}%\""),
        Some(b) if b.contains('.') => {
            "a percentage is a whole number (Kubernetes reads it with strconv.Atoi), e.g. \"25%\"".to_string()
        }
        _ => format!("expected an integer or a percentage like \"25%\", got `{v}`"),
    };
    ctx.err(path, if why.starts_with("expected") { why } else { format!("{s:?}: {why}") });
    None
}

fn is_zero(v: IntOrPercent) -> bool {
    matches!(v, IntOrPercent::Int(0) | IntOrPercent::Percent(0))
}

/// The pools a workload's pods may run on, with its RuntimeClass applied as the RuntimeClass
/// admission controller does (`plugin/pkg/admission/runtimeclass`: a pod naming a RuntimeClass
/// that does not exist is rejected, and the class's `scheduling.nodeSelector` is merged into the
/// pod's node selector). Here a class exists when some pool offers it, and its node selector
/// is "a pool whose `runtime_classes` lists it (or that lists none)". `None` = every pool.
fn runtime_class_pools(
    c: &mut Ctx,
    p: &KeyPath,
    class: Option<&str>,
    selected: Option<Vec<PoolId>>,
    pools: &Pools,
) -> Option<Vec<PoolId>> {
    let Some(class) = class else { return selected };
    let key = p.key("runtime_class");
    if !crate::k8s::validation::is_dns1123_subdomain(class) {
        c.err(
            &key,
            format!("{class:?} is not a RuntimeClass name (lower-case letters, digits, '-' and '.')"),
        );
        return selected;
    }
    let offers =
        |i: usize| pools.drafts[i].runtime_classes.as_ref().is_none_or(|l| l.iter().any(|n| n == class));
    if !(0..pools.drafts.len()).any(offers) {
        let offered: BTreeSet<&String> =
            pools.drafts.iter().flat_map(|d| d.runtime_classes.iter().flatten()).collect();
        c.err(
            &key,
            format!(
                "no node pool offers RuntimeClass {class:?} (offered: {}); add it to a pool's \
                 `runtime_classes`, or omit `runtime_classes` on a pool to accept every class",
                list(offered)
            ),
        );
        return selected;
    }
    let candidates: Vec<PoolId> = match &selected {
        Some(ids) => ids.clone(),
        None => (0..pools.drafts.len()).map(PoolId::from_idx).collect(),
    };
    let eligible: Vec<PoolId> = candidates.iter().copied().filter(|id| offers(id.idx())).collect();
    if eligible.is_empty() {
        c.err(
            &key,
            format!(
                "none of the workload's node_pools offers RuntimeClass {class:?}: its pods could never be \
                 scheduled"
            ),
        );
        return selected;
    }
    // Unchanged when every candidate offers the class: the scenario stays as written.
    if eligible.len() == candidates.len() {
        selected
    } else {
        Some(eligible)
    }
}

/// `min_ready` (a Deployment's `minReadySeconds`): a fixed duration, on a Deployment only (only
/// the Deployment controller counts availability).
fn min_ready(c: &mut Ctx, p: &KeyPath, w: &crate::scenario::raw::RawWorkload) -> SimDuration {
    let Some(v) = w.min_ready.as_ref() else { return SimDuration::ZERO };
    if w.kind.as_deref() != Some("deployment") {
        c.err(&p.key("min_ready"), "is a Deployment's minReadySeconds: only kind = \"deployment\" has it");
        return SimDuration::ZERO;
    }
    c.duration(&p.key("min_ready"), Some(v), SimDuration::ZERO)
}
