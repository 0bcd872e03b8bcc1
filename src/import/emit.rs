//! Writing the scenario: every value with a comment saying where it came from (`# from
//! nodes.json: ...`) or that it is an assumption to review (`# assumed: ...`), a header
//! listing the inputs, what was not used, conflicts and the assumptions, and the observed
//! pulls as a comment block. Tables and entries are in a fixed, sorted order. `--assume` is
//! applied to the written document as `--set` would be, and the result validated.

use super::events::Observed;
use super::images::Catalog;
use super::nodes::{self, runtime_profile, Node, PoolKey};
use super::workloads::{self, Planned};
use super::{ImportError, Imported, Options, Outcome};
use crate::k8s::image_ref::parse_docker_ref;
use crate::k8s::pull_policy::default_pull_policy;
use crate::scenario::locate::{KeyPath, Seg};
use crate::scenario::suggest::KUBELET_FIELDS;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

/// Assumed values: what a scenario needs that no input says. Each is listed in the header and
/// can be set with `--assume KEY=VALUE`.
pub(super) const NODE_BANDWIDTH: &str = "\"10Gbps\"";
const REGISTRY_BANDWIDTH: &str = "\"10Gbps\"";
const REGISTRY_PER_CONNECTION: &str = "\"500Mbps\"";
const REGISTRY_LATENCY: &str = "\"30ms\"";
const UNPACK_RATE: &str = "\"200MB/s\"";
const CONTAINER_START: &str = "\"1s\"";
const UNTIL: &str = "\"1h\"";
/// An image no input gives a size for.
pub(super) const IMAGE_SIZE: &str = "\"100MB\"";
/// Nodes of a pool no Node document describes.
const NODE_COUNT: u64 = 3;
/// Rows of the observed-pulls block; the rest are counted.
pub(super) const MAX_PULL_ROWS: usize = 200;

/// `1 node`, `3 nodes`.
pub fn count(n: impl Into<u64>, what: &str) -> String {
    let n = n.into();
    format!("{n} {what}{}", if n == 1 { "" } else { "s" })
}

/// A TOML basic string.
pub fn q(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 || c as u32 == 0x7f => out.push_str(&format!("\\u{:04X}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// A comment's text on one line.
pub(super) fn one_line(s: &str) -> String {
    s.chars().map(|c| if c.is_control() { ' ' } else { c }).collect()
}

/// The scenario text being written.
pub(super) struct Out {
    pub(super) text: String,
    /// (dotted key, value, why) of each assumed value.
    pub(super) assumed: Vec<(String, String, String)>,
}

impl Out {
    pub(super) fn kv(&mut self, key: &str, value: &str, comment: &str) {
        let line = format!("{key} = {value}");
        if comment.is_empty() {
            let _ = writeln!(self.text, "{line}");
        } else {
            let _ = writeln!(self.text, "{line:<36} # {}", one_line(comment));
        }
    }

    /// An assumed value at `dotted` (its `--assume` key).
    pub(super) fn assume(&mut self, dotted: &str, key: &str, value: &str, why: &str) {
        self.kv(key, value, &format!("assumed: {why}"));
        self.assumed.push((dotted.to_string(), value.to_string(), why.to_string()));
    }

    pub(super) fn comment(&mut self, c: &str) {
        let _ = writeln!(self.text, "# {}", one_line(c));
    }

    pub(super) fn blank(&mut self) {
        self.text.push('\n');
    }
}

/// A container as written: init or app, its inline table, its comment.
struct ContainerLine {
    init: bool,
    value: String,
    comment: String,
}

/// A workload to write: the plan, its node pools (`None`: every pool) and why, its containers.
struct WorkloadOut {
    w: Planned,
    selection: Option<Vec<String>>,
    why: String,
    containers: Vec<ContainerLine>,
}

/// A pool to write: name, key, its nodes.
pub(super) struct Pool<'a> {
    pub(super) name: String,
    pub(super) key: PoolKey,
    pub(super) nodes: Vec<&'a Node>,
    /// Assumed: no Node document describes it.
    pub(super) synthetic: Option<String>,
    pub(super) count: u64,
}

/// The nodes, once each: the first of a name is used, the others are a note.
pub(super) fn unique_nodes(all: &[Node], notes: &mut Vec<String>) -> Vec<Node> {
    let mut seen = BTreeSet::new();
    let mut list: Vec<Node> = Vec::new();
    for n in all {
        if seen.insert(n.name.clone()) {
            list.push(n.clone());
        } else {
            notes.push(format!(
                "node {} appears more than once: the first ({}) is used",
                n.name,
                n.origin.label()
            ));
        }
    }
    list
}

/// Writes the scenario, applies `--assume`, validates.
pub fn write(cx: &Imported, observed: &Observed, opts: &Options) -> Result<Outcome, ImportError> {
    let mut not_used = cx.not_used.clone();
    let mut conflicts = Vec::new();
    let mut notes = Vec::new();

    let node_list = unique_nodes(&cx.nodes, &mut notes);
    for n in &node_list {
        if let Err(a) = &n.arch {
            conflicts.push(format!(
                "node {}: architecture {a:?} is not one pullsim knows: modelled as amd64",
                n.name
            ));
        }
    }
    let mut pools: Vec<Pool> = nodes::group(&node_list)
        .into_iter()
        .map(|(name, key, idx)| Pool {
            name,
            key,
            count: idx.len() as u64,
            nodes: idx.iter().map(|&i| &node_list[i]).collect(),
            synthetic: None,
        })
        .collect();
    if pools.is_empty() {
        let hosts: BTreeSet<&str> = observed.pulls.iter().filter_map(|p| p.node.as_deref()).collect();
        let (name, count, why) = if hosts.is_empty() {
            ("nodes", NODE_COUNT, "no Node document among the inputs".to_string())
        } else {
            (
                "observed",
                hosts.len() as u64,
                format!(
                    "the {} the events name; no Node document among the inputs",
                    count(hosts.len() as u64, "node")
                ),
            )
        };
        let key = PoolKey {
            instance_type: String::new(),
            arch: "amd64".into(),
            runtime: String::new(),
            kubelet_version: String::new(),
            max_pods: None,
            disk_bytes: None,
            alloc_cpu_milli: None,
            alloc_memory_bytes: None,
        };
        pools.push(Pool { name: name.into(), key, nodes: Vec::new(), synthetic: Some(why), count });
    }
    let main_arch = pools.iter().max_by_key(|p| p.count).map_or("amd64".to_string(), |p| p.key.arch.clone());
    let pool_of: BTreeMap<&str, &str> =
        pools.iter().flat_map(|p| p.nodes.iter().map(move |n| (n.name.as_str(), p.name.as_str()))).collect();

    // Workloads.
    let (planned, plan_notes) = workloads::plan(&cx.workloads);
    notes.extend(plan_notes);

    // Images, under every name.
    let mut cat = Catalog::default();
    for p in &pools {
        for n in &p.nodes {
            let unpacked = runtime_profile(&n.runtime).unpacked_sizes;
            for im in n.images.iter().flatten() {
                if let Some(i) = cat.find_or_add(&im.names) {
                    let img = &mut cat.images[i];
                    *img.node_sizes.entry(im.size_bytes).or_default() += 1;
                    img.node_source.insert(n.origin.file.clone());
                    img.node_unpacked |= unpacked;
                    *img.present.entry(p.name.clone()).or_default() += 1;
                } else {
                    notes.push(format!(
                        "node {}: an image with no usable name ({:?}) is left out",
                        n.name, im.names
                    ));
                }
            }
        }
    }
    for pull in &observed.pulls {
        if let Some(i) = cat.find_or_add(std::slice::from_ref(&pull.image)) {
            let img = &mut cat.images[i];
            img.pulls += 1;
            if let Some(s) = pull.size_bytes {
                *img.event_sizes.entry(s).or_default() += 1;
                img.event_source.insert(pull.origin.file.clone());
            }
        }
    }
    // The workloads that can run somewhere, their node pools and their containers' references.
    let mut workloads_out: Vec<WorkloadOut> = Vec::new();
    for w in planned {
        let (selection, why) = match super::tables::node_pools(&w, &pools) {
            Ok(x) => x,
            Err(why) => {
                not_used.push(format!("workload {} ({}): {why}", w.name, w.from.trim_start_matches("from ")));
                continue;
            }
        };
        let mut containers = Vec::new();
        for (init, c) in
            w.pod.init.iter().map(|c| (true, c)).chain(w.pod.containers.iter().map(|c| (false, c)))
        {
            let written = cat.use_in(&c.image, &w.name);
            let (policy, said) = match &c.policy {
                Some(p) => (p.clone(), "imagePullPolicy as written".to_string()),
                None => {
                    let d = default_pull_policy(&c.image).as_str().to_string();
                    let why = if d == "Always" {
                        "the tag is latest or missing"
                    } else {
                        "the image has a tag other than latest, or a digest"
                    };
                    (d, format!("imagePullPolicy defaulted as the API server does: {why}"))
                }
            };
            let mut comment = format!("{}{}: {said}", if init { "init " } else { "" }, c.name);
            if written != c.image {
                comment.push_str(&format!("; the pod spec writes {:?}, the same image", c.image));
            }
            containers.push(ContainerLine {
                init,
                value: format!("{{ image = {}, pull_policy = {} }}", q(&written), q(&policy)),
                comment,
            });
        }
        workloads_out.push(WorkloadOut { w, selection, why, containers });
    }
    let add_tags = cat.images.is_empty();
    not_used.extend(cat.attach_manifests(&cx.manifests, &main_arch, add_tags));
    conflicts.append(&mut cat.conflicts);

    // Kubelet settings: every configuration's, the first one winning a difference.
    let mut kubelet: BTreeMap<&'static str, (String, String)> = BTreeMap::new();
    let mut max_pods_conf: Option<(u64, String)> = None;
    let mut max_images: Option<i64> = None;
    for d in &cx.kubelet {
        for s in &d.settings {
            match kubelet.get(s.key) {
                Some((v, from)) if *v != s.value => conflicts.push(format!(
                    "kubelet {}: {} in {from}, {} in {}: the first is used",
                    s.field,
                    v,
                    s.value,
                    d.origin.label()
                )),
                Some(_) => {}
                None => {
                    kubelet.insert(s.key, (s.value.clone(), format!("{}: {}", d.origin.label(), s.field)));
                }
            }
        }
        if let Some(m) = d.max_pods {
            max_pods_conf.get_or_insert((m, d.origin.label()));
        }
        max_images = max_images.or(d.max_images);
        if !d.not_modelled.is_empty() {
            let shown: Vec<&str> = d.not_modelled.iter().take(8).map(String::as_str).collect();
            notes.push(format!(
                "{}: {} KubeletConfiguration fields pullsim does not model ({}{})",
                d.origin.label(),
                d.not_modelled.len(),
                shown.join(", "),
                if d.not_modelled.len() > 8 { ", ..." } else { "" }
            ));
        }
    }

    let real_pools = pools.iter().any(|p| p.synthetic.is_none());
    let containerd_settings = cx.containerd.iter().any(|d| !d.settings.is_empty());
    if !real_pools
        && workloads_out.is_empty()
        && cat.images.is_empty()
        && kubelet.is_empty()
        && !containerd_settings
    {
        let mut why = not_used.clone();
        why.extend(
            cx.containerd
                .iter()
                .flat_map(|d| d.not_used.iter().map(move |w| format!("{}: {w}", d.origin.label()))),
        );
        return Err(super::nothing_to_import(cx, &why));
    }
    let mut out = Out { text: String::new(), assumed: Vec::new() };
    // [simulation]
    out.text.push_str("[simulation]\n");
    out.kv("name", &q(&opts.name), &format!("from {}", opts.out_label));
    out.kv("seed", "0", "the random seed: any; sweep and compare run seed, seed+1, ...");
    let first_pull = observed.pulls.iter().filter_map(|p| p.pulling_at).min();
    let last_pull = observed.pulls.iter().filter_map(|p| p.pulling_at).max();
    match (first_pull, last_pull) {
        // The replay's last pod must be created before the horizon, with an hour to pull.
        (Some(a), Some(b)) if b.unix_nanos() - a.unix_nanos() > 0 => {
            let minutes = ((b.unix_nanos() - a.unix_nanos()) as u64).div_ceil(60_000_000_000) + 60;
            out.assume(
                "simulation.until",
                "until",
                &q(&format!("{minutes}m")),
                "the horizon: the last observed Pulling plus an hour; the run ends sooner once nothing changes",
            );
        }
        _ => out.assume(
            "simulation.until",
            "until",
            UNTIL,
            "the horizon; the run ends sooner once nothing changes",
        ),
    }
    if let Some(t) = first_pull {
        out.kv("start_time", &q(&t.rfc3339_secs()), "from the events: the first observed Pulling");
    }
    out.blank();

    // [kubelet]
    let versions: BTreeSet<(u32, u32)> =
        node_list.iter().filter_map(|n| nodes::kubelet_minor(&n.kubelet_version)).collect();
    let before_135 = |v: &(u32, u32)| *v < (1, 35);
    out.text.push_str("[kubelet]\n");
    // In the order of the scenario reference: KubeletConfiguration's fields, then evictionHard.
    let rank = |k: &str| KUBELET_FIELDS.iter().position(|(_, key)| *key == k).unwrap_or(KUBELET_FIELDS.len());
    let mut keys: Vec<&&'static str> = kubelet.keys().collect();
    keys.sort_by_key(|k| (rank(k), **k));
    for key in keys {
        let (value, from) = &kubelet[*key];
        out.kv(key, value, &format!("from {from}"));
    }
    let mut per_pool_ensure = false;
    if !kubelet.contains_key("ensure_secret_pulled_images") && !versions.is_empty() {
        if versions.iter().all(before_135) {
            out.kv(
                "ensure_secret_pulled_images",
                "false",
                "from the nodes' kubelet versions: KubeletEnsureSecretPulledImages is on by default from 1.35",
            );
        } else if versions.iter().any(before_135) {
            per_pool_ensure = true;
        }
    }
    out.blank();

    // [runtime]
    out.text.push_str("[runtime]\n");
    let mut by_profile: BTreeMap<&'static str, (u64, BTreeSet<String>)> = BTreeMap::new();
    for p in &pools {
        for n in &p.nodes {
            let m = runtime_profile(&n.runtime);
            let e = by_profile.entry(m.profile).or_default();
            e.0 += 1;
            e.1.insert(m.note);
        }
    }
    match by_profile.iter().max_by_key(|(_, (n, _))| *n) {
        Some((profile, (n, why))) => {
            let why: Vec<&str> = why.iter().map(String::as_str).collect();
            out.kv(
                "profile",
                &q(profile),
                &format!("from the nodes ({}): {}", count(*n, "node"), why.join("; ")),
            );
            for (other, (m, w)) in &by_profile {
                if other != profile {
                    conflicts.push(format!(
                        "{m} nodes run {} ({other}): one runtime profile covers every node, {profile} is used",
                        w.iter().cloned().collect::<Vec<_>>().join("; ")
                    ));
                }
            }
        }
        None => {
            out.comment("profile: pullsim's default (containerd 1.7): no Node document gives the runtime")
        }
    }
    let mut rt_settings: BTreeMap<&'static str, (String, String)> = BTreeMap::new();
    for d in &cx.containerd {
        for s in &d.settings {
            match rt_settings.get(s.key) {
                Some((v, from)) if *v != s.value => conflicts.push(format!(
                    "containerd {}: {v} in {from}, {} in {}: the first is used",
                    s.key,
                    s.value,
                    d.origin.label()
                )),
                Some(_) => {}
                None => {
                    rt_settings
                        .insert(s.key, (s.value.clone(), format!("{}: {}", d.origin.label(), s.field)));
                }
            }
        }
        for why in &d.not_used {
            not_used.push(format!("{}: {why}", d.origin.label()));
        }
    }
    for (key, (value, from)) in &rt_settings {
        out.kv(key, value, &format!("from {from}"));
    }
    out.assume(
        "runtime.unpack_rate",
        "unpack_rate",
        UNPACK_RATE,
        "unpack speed of a node (no input gives it)",
    );
    out.assume(
        "runtime.container_start",
        "container_start",
        CONTAINER_START,
        "image present to container started",
    );
    out.blank();

    // [[node_pool]]
    let unpacked_note =
        pools.iter().flat_map(|p| &p.nodes).any(|n| runtime_profile(&n.runtime).unpacked_sizes);
    for p in &pools {
        super::tables::write_pool(&mut out, p, &cat, &kubelet, max_pods_conf.as_ref(), per_pool_ensure);
    }

    // [[registry]]
    let mut registries: BTreeMap<String, (usize, BTreeSet<String>)> = BTreeMap::new();
    for img in &cat.images {
        if let Ok(r) = parse_docker_ref(&img.reference) {
            let e = registries.entry(r.domain.clone()).or_default();
            e.0 += 1;
            for wo in &workloads_out {
                if img.workloads.contains(&wo.w.name) {
                    e.1.extend(wo.w.pod.pull_secrets.iter().cloned());
                }
            }
        }
    }
    // Mirrors from the hosts.toml files: of a registry the images use, each mirror host is a
    // registry of its own (written after the others unless an image names it too).
    // `certs.d/_default/hosts.toml` applies to every registry without a file of its own
    // (containerd `remotes/docker/config/hosts.go` `hostDirectory`).
    let hosts_of = |host: &str| {
        cx.hosts.iter().find(|h| h.host == host).or_else(|| cx.hosts.iter().find(|h| h.host == "_default"))
    };
    let mut mirror_registries: BTreeMap<String, String> = BTreeMap::new();
    for host in registries.keys() {
        let Some(h) = hosts_of(host) else { continue };
        for e in h.entries.iter().filter(|e| e.host != *host && !registries.contains_key(&e.host)) {
            mirror_registries
                .entry(e.host.clone())
                .or_insert_with(|| format!("{} lists it as a mirror of {host}", h.origin.label()));
        }
    }
    for h in &cx.hosts {
        let used = registries.keys().any(|r| hosts_of(r).is_some_and(|u| std::ptr::eq(u, h)));
        if !used {
            not_used.push(hosts_not_used(h));
        }
    }
    for (host, (n, secrets)) in &registries {
        out.text.push_str("[[registry]]\n");
        out.kv("host", &q(host), &format!("serves {n} of the images below"));
        if let Some(h) = hosts_of(host).filter(|h| h.entries.iter().any(|e| e.host != *host)) {
            let list: Vec<String> = h.entries.iter().filter(|e| e.host != *host).map(mirror_entry).collect();
            out.kv(
                "mirrors",
                &format!("[{}]", list.join(", ")),
                &format!("from {}: its [host] tables, in order", h.origin.label()),
            );
        }
        let k = |key: &str| format!("registry.{host}.{key}");
        out.assume(&k("bandwidth"), "bandwidth", REGISTRY_BANDWIDTH, "the registry's total egress");
        out.assume(
            &k("per_connection"),
            "per_connection",
            REGISTRY_PER_CONNECTION,
            "one layer download's rate",
        );
        out.assume(&k("latency"), "latency", REGISTRY_LATENCY, "one request's round trip");
        if !secrets.is_empty() {
            let list: Vec<String> = secrets.iter().map(|s| q(s)).collect();
            out.kv(
                "accepts",
                &format!("[{}]", list.join(", ")),
                "from the pods' imagePullSecrets (auth stays anonymous: assumed)",
            );
        }
        out.blank();
    }
    for (host, why) in &mirror_registries {
        out.text.push_str("[[registry]]\n");
        out.kv("host", &q(host), why);
        let k = |key: &str| format!("registry.{host}.{key}");
        out.assume(&k("bandwidth"), "bandwidth", REGISTRY_BANDWIDTH, "the mirror's total egress");
        out.assume(
            &k("per_connection"),
            "per_connection",
            REGISTRY_PER_CONNECTION,
            "one layer download's rate",
        );
        out.assume(&k("latency"), "latency", REGISTRY_LATENCY, "one request's round trip");
        out.blank();
    }

    // [[image]]
    let mut images: Vec<usize> = (0..cat.images.len()).collect();
    images.sort_by(|a, b| cat.images[*a].reference.cmp(&cat.images[*b].reference));
    for i in images {
        super::tables::write_image(&mut out, &cat, i, &pools, &main_arch, &mut conflicts, &mut notes);
    }
    if unpacked_note {
        notes.push(
            "Docker nodes report image sizes unpacked: those sizes stand for the compressed ones".into(),
        );
    }

    // [[workload]]
    for WorkloadOut { w, selection, why, containers } in &workloads_out {
        out.comment(&w.from);
        for n in &w.notes {
            out.comment(&format!("approximation: {n}"));
        }
        out.text.push_str("[[workload]]\n");
        out.kv("name", &q(&w.name), "");
        out.kv("kind", &q(w.kind), "");
        if let Some((n, from)) = &w.size {
            out.kv(if w.kind == "batch" { "count" } else { "replicas" }, &n.to_string(), from);
        }
        if let Some((surge, unavailable, from)) = &w.rollout {
            out.kv("rollout", &format!("{{ max_surge = {surge}, max_unavailable = {unavailable} }}"), from);
        }
        let (cpu_milli, memory_bytes) = w.pod.requests();
        if cpu_milli > 0 || memory_bytes > 0 {
            out.kv(
                "requests",
                &format!("{{ cpu = \"{cpu_milli}m\", memory = {memory_bytes} }}"),
                "the containers' resources.requests (app containers summed, or the largest init container's; memory in bytes)",
            );
        }
        if !w.pod.pull_secrets.is_empty() {
            let list: Vec<String> = w.pod.pull_secrets.iter().map(|s| q(s)).collect();
            out.kv("image_pull_secrets", &format!("[{}]", list.join(", ")), "the pod's imagePullSecrets");
        }
        match selection {
            Some(pools) => {
                let list: Vec<String> = pools.iter().map(|p| q(p)).collect();
                out.kv("node_pools", &format!("[{}]", list.join(", ")), why);
            }
            None if !why.is_empty() => out.comment(why),
            None => {}
        }
        out.text.push_str("[workload.pod]\n");
        for (init, key) in [(true, "init_containers"), (false, "containers")] {
            let list: Vec<&ContainerLine> = containers.iter().filter(|c| c.init == init).collect();
            if list.is_empty() {
                continue;
            }
            let _ = writeln!(out.text, "{key} = [");
            for ContainerLine { value, comment, .. } in list {
                let _ = writeln!(out.text, "  {value}, # {}", one_line(comment));
            }
            out.text.push_str("]\n");
        }
        out.blank();
    }
    let taken: BTreeSet<&str> = workloads_out.iter().map(|w| w.w.name.as_str()).collect();
    let node_names = super::replay::node_names(&pools, observed, &mut notes);
    let replayed = super::replay::write(&mut out, observed, &node_names, &taken, &mut notes);
    super::tables::write_pulls(&mut out, observed, &pool_of);

    let header =
        Header { cx, not_used: &not_used, conflicts: &conflicts, notes: &notes, max_images, observed };
    super::finish::finish(
        out.text,
        out.assumed,
        &header,
        opts,
        Summary {
            pools: pools.len(),
            nodes: pools.iter().map(|p| p.count).sum(),
            registries: registries.len() + mirror_registries.len(),
            images: cat.images.len(),
            workloads: workloads_out.len() + replayed.as_ref().map_or(0, |r| r.workloads),
            pulls: observed.pulls.len(),
            replayed: replayed.map(|r| (r.workloads, r.pods, r.pulls)),
        },
    )
    .map(|(toml, warnings, summary)| Outcome { toml, not_used, conflicts, summary, warnings })
}

/// What the header and the summary line need.
pub struct Header<'a> {
    pub cx: &'a Imported,
    pub not_used: &'a [String],
    pub conflicts: &'a [String],
    pub notes: &'a [String],
    pub max_images: Option<i64>,
    pub observed: &'a Observed,
}

/// Counts for the summary line.
pub struct Summary {
    pub pools: usize,
    pub nodes: u64,
    pub registries: usize,
    pub images: usize,
    pub workloads: usize,
    pub pulls: usize,
    /// The replay workloads, their pods and their pulls.
    pub replayed: Option<(usize, usize, usize)>,
}

/// Sets the trailing comment of the value at `path` when it sits in a table (values inside
/// inline tables and arrays keep none).
pub fn set_comment(doc: &mut toml_edit::DocumentMut, path: &KeyPath, comment: &str) {
    let mut table: &mut toml_edit::Table = doc.as_table_mut();
    let segs = &path.0;
    let mut i = 0;
    while i < segs.len() {
        match (&segs[i], segs.get(i + 1)) {
            (Seg::Key(k), Some(Seg::Index { index, .. })) => {
                let Some(toml_edit::Item::ArrayOfTables(a)) = table.get_mut(k) else { return };
                let Some(t) = a.get_mut(*index) else { return };
                table = t;
                i += 2;
            }
            (Seg::Key(k), None) => {
                if let Some(v) = table.get_mut(k).and_then(toml_edit::Item::as_value_mut) {
                    v.decor_mut().set_suffix(format!(" # {}", one_line(comment)));
                }
                return;
            }
            (Seg::Key(k), Some(_)) => {
                let Some(toml_edit::Item::Table(t)) = table.get_mut(k) else { return };
                table = t;
                i += 1;
            }
            _ => return,
        }
    }
}

/// A `hosts.toml` mirror as a scenario `mirrors` entry: the host, and the capabilities and dial
/// timeout when the file gives them (containerd's defaults otherwise, as the scenario's).
fn mirror_entry(e: &super::containerd::MirrorEntry) -> String {
    let mut parts = vec![format!("host = {}", q(&e.host))];
    if let Some(c) = &e.capabilities {
        let list: Vec<String> = c.iter().map(|c| q(c)).collect();
        parts.push(format!("capabilities = [{}]", list.join(", ")));
    }
    if let Some(d) = &e.dial_timeout {
        parts.push(format!("dial_timeout = {}", q(d)));
    }
    format!("{{ {} }}", parts.join(", "))
}

/// Why a `hosts.toml` gives nothing: no imported image comes from the registry it configures.
pub(super) fn hosts_not_used(h: &super::containerd::HostsDoc) -> String {
    format!(
        "{}: {} for {} ({}): no imported image comes from {}",
        h.origin.label(),
        count(h.mirrors.len() as u64, "mirror"),
        h.host,
        h.mirrors.join(", "),
        h.host
    )
}
