//! The tables of an imported scenario that take the most words: a node pool (its nodes,
//! disk, pods, preloaded images), an image (its size from a manifest, the nodes, the events,
//! or assumed; its platforms), the node pools a workload's node selection leaves it, and the
//! observed pulls as a comment block.

use super::emit::{count, q, Out, Pool, IMAGE_SIZE, MAX_PULL_ROWS, NODE_BANDWIDTH};
use super::events::Observed;
use super::images::Catalog;
use super::nodes;
use super::workloads::{self, Planned};
use crate::units::{fmt_size_exact, fmt_size_human};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

/// The pools a workload's pods may use: `Ok((None, why))` for every pool, `Ok((Some(list),
/// why))` for some, `Err(why)` for none of the imported nodes.
pub(super) fn node_pools(w: &Planned, pools: &[Pool]) -> Result<(Option<Vec<String>>, String), String> {
    let selects = !w.pod.node_selector.is_empty() || !w.pod.terms.is_empty() || w.pod.node_name.is_some();
    if pools.iter().all(|p| p.synthetic.is_some()) {
        let why = if selects {
            "its node selection is not applied: no Node document among the inputs".to_string()
        } else {
            String::new()
        };
        return Ok((None, why));
    }
    let mut list = Vec::new();
    let mut partial = Vec::new();
    let mut all = true;
    for p in pools {
        let ok = p.nodes.iter().filter(|n| workloads::eligible(&w.pod, n)).count();
        if ok > 0 {
            list.push(p.name.clone());
            if ok < p.nodes.len() {
                partial.push(format!("{ok} of {} nodes of {}", p.nodes.len(), p.name));
            }
        }
        all &= ok == p.nodes.len();
    }
    let mut how = Vec::new();
    if !w.pod.node_selector.is_empty() {
        let s: Vec<String> = w.pod.node_selector.iter().map(|(k, v)| format!("{k}={v}")).collect();
        how.push(format!("nodeSelector {}", s.join(",")));
    }
    if !w.pod.terms.is_empty() {
        how.push("required node affinity".into());
    }
    if let Some(n) = &w.pod.node_name {
        how.push(format!("nodeName {n}"));
    }
    if how.is_empty() {
        how.push("taints it does not tolerate".into());
    }
    if list.is_empty() {
        return Err(format!("{} matches none of the imported nodes", how.join(" and ")));
    }
    if all {
        return Ok((None, String::new()));
    }
    let mut why = format!("from {}", how.join(" and "));
    if !partial.is_empty() {
        why.push_str(&format!(" (only {} match: the workload may use all of them)", partial.join(", ")));
    }
    Ok((Some(list), why))
}

pub(super) fn write_pool(
    out: &mut Out,
    p: &Pool,
    cat: &Catalog,
    kubelet: &BTreeMap<&'static str, (String, String)>,
    max_pods_conf: Option<&(u64, String)>,
    per_pool_ensure: bool,
) {
    let k = |key: &str| format!("node_pool.{}.{key}", p.name);
    out.text.push_str("[[node_pool]]\n");
    match &p.synthetic {
        Some(why) => {
            out.kv("name", &q(&p.name), "");
            out.assume(&k("count"), "count", &p.count.to_string(), why);
            out.assume(&k("disk"), "disk", "\"100GiB\"", "a node's image storage");
        }
        None => {
            let files: BTreeSet<&str> = p.nodes.iter().map(|n| n.origin.file.as_str()).collect();
            let files: Vec<&str> = files.into_iter().collect();
            let names: Vec<&str> = p.nodes.iter().take(3).map(|n| n.name.as_str()).collect();
            let more =
                if p.nodes.len() > 3 { format!(", ... ({} more)", p.nodes.len() - 3) } else { String::new() };
            let what = if p.key.instance_type.is_empty() {
                "nodes without an instance type label".to_string()
            } else {
                p.key.instance_type.clone()
            };
            out.kv(
                "name",
                &q(&p.name),
                &format!(
                    "from {}: {} x {what} ({}, {}, kubelet {})",
                    files.join(", "),
                    p.count,
                    p.key.arch,
                    if p.key.runtime.is_empty() { "runtime not given" } else { &p.key.runtime },
                    if p.key.kubelet_version.is_empty() { "?" } else { &p.key.kubelet_version }
                ),
            );
            out.kv("count", &p.count.to_string(), &format!("nodes {}{more}", names.join(", ")));
            out.kv("arch", &q(&p.key.arch), "status.nodeInfo.architecture");
            match p.key.disk_bytes.filter(|d| *d > 0) {
                Some(d) => out.kv(
                    "disk",
                    &q(&fmt_size_exact(d)),
                    "status.capacity.ephemeral-storage (the image filesystem is assumed to be the node's)",
                ),
                None => out.assume(
                    &k("disk"),
                    "disk",
                    "\"100GiB\"",
                    "a node's image storage (no ephemeral-storage capacity)",
                ),
            }
        }
    }
    let alloc: Vec<String> = [
        p.key.alloc_cpu_milli.map(|c| format!("cpu = \"{c}m\"")),
        p.key.alloc_memory_bytes.map(|m| format!("memory = {m}")),
    ]
    .into_iter()
    .flatten()
    .collect();
    if !alloc.is_empty() {
        out.kv("allocatable", &format!("{{ {} }}", alloc.join(", ")), "status.allocatable (memory in bytes)");
    }
    match (p.key.max_pods.filter(|m| *m >= 1), max_pods_conf) {
        (Some(m), _) => out.kv("max_pods", &m.to_string(), "status.allocatable.pods"),
        (None, Some((m, from))) => out.kv("max_pods", &m.to_string(), &format!("from {from}: maxPods")),
        (None, None) => {}
    }
    out.assume(
        &k("bandwidth"),
        "bandwidth",
        NODE_BANDWIDTH,
        "a node's network bandwidth (no input gives it)",
    );
    if per_pool_ensure && !kubelet.contains_key("ensure_secret_pulled_images") {
        if let Some(v) = nodes::kubelet_minor(&p.key.kubelet_version) {
            let on = v >= (1, 35);
            out.kv(
                "kubelet",
                &format!("{{ ensure_secret_pulled_images = {on} }}"),
                &format!(
                    "kubelet {}: KubeletEnsureSecretPulledImages is on by default from 1.35",
                    p.key.kubelet_version
                ),
            );
        }
    }
    // Images on every node of the pool are preloaded; those on some only are not (a preloaded
    // image is on every node of its pool), nor those the events saw pulled: the nodes were
    // listed after those pulls, which a replay must make again.
    let mut preloaded = Vec::new();
    let (mut some, mut pulled) = (0, 0);
    for img in &cat.images {
        match img.present.get(&p.name) {
            Some(_) if img.pulls > 0 => pulled += 1,
            Some(&n) if n as u64 == p.count => preloaded.push(img.reference.clone()),
            Some(_) => some += 1,
            None => {}
        }
    }
    preloaded.sort();
    let mut left_out = Vec::new();
    if some > 0 {
        left_out.push(format!("{} on some of its nodes only", count(some as u64, "more image")));
    }
    if pulled > 0 {
        left_out.push(format!("{} the events saw pulled", count(pulled as u64, "more image")));
    }
    if !left_out.is_empty() && preloaded.is_empty() {
        out.comment(&format!("not preloaded: {}", left_out.join("; ")));
    }
    if !preloaded.is_empty() {
        out.comment(&format!(
            "preloaded: the images every node of the pool reports in status.images{}",
            if left_out.is_empty() {
                String::new()
            } else {
                format!(" ({}: not preloaded)", left_out.join("; "))
            }
        ));
        out.text.push_str("preloaded = [\n");
        for r in preloaded {
            let _ = writeln!(out.text, "  {},", q(&r));
        }
        out.text.push_str("]\n");
    }
    out.blank();
}

fn most_common(sizes: &BTreeMap<u64, usize>) -> Option<u64> {
    sizes.iter().max_by(|a, b| a.1.cmp(b.1).then(b.0.cmp(a.0))).map(|(s, _)| *s)
}

pub(super) fn write_image(
    out: &mut Out,
    cat: &Catalog,
    i: usize,
    pools: &[Pool],
    main_arch: &str,
    conflicts: &mut Vec<String>,
    notes: &mut Vec<String>,
) {
    let img = &cat.images[i];
    let mut said = Vec::new();
    let on: Vec<String> = img
        .present
        .iter()
        .map(|(pool, n)| {
            let total = pools.iter().find(|p| &p.name == pool).map_or(0, |p| p.count);
            format!("{n} of {total} nodes of {pool}")
        })
        .collect();
    if !on.is_empty() {
        said.push(format!("on {}", on.join(", ")));
    }
    if !img.workloads.is_empty() {
        said.push(format!("used by {}", img.workloads.iter().cloned().collect::<Vec<_>>().join(", ")));
    }
    if img.pulls > 0 {
        said.push(format!("pulled {} in the events", count(img.pulls as u64, "time")));
    }
    out.text.push_str("[[image]]\n");
    out.kv("ref", &q(&img.reference), &said.join("; "));
    let node_size = most_common(&img.node_sizes);
    let event_size = most_common(&img.event_sizes);
    if img.node_sizes.len() > 1 {
        // Content-addressed blobs cannot differ in size: the nodes hold different manifests
        // under this name (another architecture's, or a tag that moved).
        let all: Vec<String> = img
            .node_sizes
            .iter()
            .map(|(s, n)| format!("{s} bytes on {}", count(*n as u64, "node")))
            .collect();
        notes.push(format!(
            "{}: the nodes report different sizes ({}): the platforms' manifests differ, or the name moved to another \
             digest between the nodes' pulls; one image, with the size most nodes report",
            img.reference,
            all.join(", ")
        ));
    }
    if img.event_sizes.len() > 1 {
        let all: Vec<String> =
            img.event_sizes.iter().map(|(s, n)| format!("{s} bytes ({n} pulls)")).collect();
        conflicts.push(format!(
            "{}: the events report {}: the most common is used",
            img.reference,
            all.join(", ")
        ));
    }
    if let (Some(a), Some(b)) = (node_size, event_size) {
        if a != b {
            conflicts.push(format!(
                "{}: the nodes report {a} bytes, the events {b}: the nodes' is used",
                img.reference
            ));
        }
    }
    let files = |s: &BTreeSet<String>| s.iter().cloned().collect::<Vec<_>>().join(", ");
    if let Some((layers, src)) = &img.layers {
        let total: u64 = layers.iter().map(|l| l.size).sum();
        out.comment(&format!(
            "from {src}: {} layers, {} compressed",
            layers.len(),
            fmt_size_human(total as f64)
        ));
        out.text.push_str("layers = [\n");
        for l in layers {
            let _ = writeln!(out.text, "  {{ id = {}, size = {} }},", q(&l.digest), l.size);
        }
        out.text.push_str("]\n");
    } else if let Some(s) = node_size {
        let how = if img.node_unpacked {
            "unpacked, as Docker reports it"
        } else {
            "compressed, as containerd reports it"
        };
        out.kv(
            "size",
            &s.to_string(),
            &format!(
                "from {}: sizeBytes, {} ({how}), as one layer",
                files(&img.node_source),
                fmt_size_human(s as f64)
            ),
        );
    } else if let Some(s) = event_size {
        out.kv(
            "size",
            &s.to_string(),
            &format!(
                "from {}: the Pulled event's Image size, {}, as one layer",
                files(&img.event_source),
                fmt_size_human(s as f64)
            ),
        );
    } else {
        out.assume(
            &format!("image.{}.size", img.reference),
            "size",
            IMAGE_SIZE,
            "no input gives this image's size (import its manifest)",
        );
    }
    match &img.platforms {
        Some((archs, src)) => {
            let list: Vec<String> = archs.iter().map(|a| q(a)).collect();
            out.kv("platforms", &format!("[{}]", list.join(", ")), &format!("from {src}"));
        }
        None if img.layers.is_some() => {
            out.assume(
                &format!("image.{}.platforms", img.reference),
                "platforms",
                &format!("[{}]", q(main_arch)),
                "a single manifest (no index): the main pool's architecture",
            );
        }
        None => {}
    }
    out.blank();
}

/// The observed pulls as a comment block (see the module doc of `events`).
pub(super) fn write_pulls(out: &mut Out, observed: &Observed, pool_of: &BTreeMap<&str, &str>) {
    if observed.pulls.is_empty() {
        return;
    }
    let t0 = observed.pulls.iter().filter_map(|p| p.pulling_at).min();
    out.comment(&format!(
        "Observed pulls: {} from kubelet Pulled events ({} events read; repeats of a uid dropped: {}; image already present: {}; failed pulls: {}; back-offs: {}).",
        observed.pulls.len(),
        observed.events,
        observed.duplicates,
        observed.present,
        observed.failed,
        observed.backoff
    ));
    out.comment(
        "The replay workloads above create their pods; here are the durations the kubelet reported, which",
    );
    out.comment(
        "`pullsim calibrate` compares the model's with. start_s counts from simulation.start_time (a table's",
    );
    out.comment("rows give ages instead: -40m is 40 minutes before the table was printed).");
    out.comment("start_s     pull_s  waiting_s  size_bytes  node (pool)  pod  image");
    for p in observed.pulls.iter().take(MAX_PULL_ROWS) {
        let start = match (p.pulling_at, t0) {
            (Some(t), Some(z)) => format!("{:.3}", (t.unix_nanos() - z.unix_nanos()) as f64 / 1e9),
            _ => p.age.as_ref().map_or("?".into(), |a| format!("-{a}")),
        };
        let node = p.node.as_deref().unwrap_or("?");
        let pool = pool_of.get(node).map_or(String::new(), |x| format!(" ({x})"));
        out.comment(&format!(
            "{start:<10} {:>7.3} {:>10} {:>11} {node}{pool} {}/{} {}",
            p.in_ns as f64 / 1e9,
            p.including_waiting_ns.map_or("-".into(), |w| format!("{:.3}", w as f64 / 1e9)),
            p.size_bytes.map_or("-".into(), |s| s.to_string()),
            p.namespace,
            p.pod,
            p.image
        ));
    }
    if observed.pulls.len() > MAX_PULL_ROWS {
        out.comment(&format!(
            "... and {} more (all in the event files)",
            observed.pulls.len() - MAX_PULL_ROWS
        ));
    }
}
