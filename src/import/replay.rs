//! The observed pulls as a `kind = "replay"` workload: each observed pod created on its node
//! when its first `Pulling` event fired, with the images it pulled in the order it pulled them.
//! `pullsim run` then replays what the cluster did, and a variant asks what would change.
//!
//! Nodes: see `node_names`; `pullsim calibrate` matches hosts the same way.

use super::emit::{count, q, Out, Pool};
use super::events::Observed;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

/// The replay workloads' names: `observed-<namespace>`, one per namespace, so that a
/// cluster's own system pods (kube-system) and an application's are measured apart (made unique
/// against the imported workloads' names).
const PREFIX: &str = "observed-";

/// What the replay holds, for the summary line.
pub(super) struct Written {
    pub(super) workloads: usize,
    pub(super) pods: usize,
    pub(super) pulls: usize,
}

/// One replayed pod.
struct Pod<'a> {
    namespace: &'a str,
    id: String,
    host: &'a str,
    node: String,
    at_ns: u64,
    images: Vec<&'a str>,
}

/// Event host → scenario node (`<pool>-<k>`): a host a Node document describes is that node;
/// the others (events from another cluster of the same shape, or from nodes since removed) take
/// the nodes no event host names, in sorted order, pool by pool. Says so in `notes`.
pub(super) fn node_names(
    pools: &[Pool],
    observed: &Observed,
    notes: &mut Vec<String>,
) -> BTreeMap<String, String> {
    let hosts: BTreeSet<&str> = observed.pulls.iter().filter_map(|x| x.node.as_deref()).collect();
    let mut out = BTreeMap::new();
    let mut free = Vec::new();
    for p in pools {
        for k in 0..p.count as usize {
            let node = format!("{}-{k}", p.name);
            match p.nodes.get(k) {
                Some(n) if hosts.contains(n.name.as_str()) => {
                    out.insert(n.name.clone(), node);
                }
                _ => free.push(node),
            }
        }
    }
    let unmatched: Vec<&str> = hosts.iter().copied().filter(|h| !out.contains_key(*h)).collect();
    let described = pools.iter().any(|p| p.synthetic.is_none());
    if described && !unmatched.is_empty() {
        notes.push(format!(
            "{} of the events' {} nodes are not among the Node documents' ({}): replayed on the nodes no event names, in sorted order",
            unmatched.len(),
            hosts.len(),
            unmatched.join(", ")
        ));
    }
    for (h, node) in unmatched.iter().zip(free) {
        out.insert(h.to_string(), node);
    }
    out
}

/// The replayed pods, in creation order (then the events' order), and why pulls were left out.
fn pods<'a>(observed: &'a Observed, nodes: &BTreeMap<String, String>) -> (Vec<Pod<'a>>, Vec<String>) {
    let mut notes = Vec::new();
    let Some(t0) = observed.pulls.iter().filter_map(|p| p.pulling_at).min() else {
        return (Vec::new(), notes);
    };
    let mut order: Vec<usize> = (0..observed.pulls.len()).collect();
    // Stable: pulls that started in the same second keep the events' order.
    order.sort_by_key(|&i| observed.pulls[i].pulling_at);
    let mut by_pod: BTreeMap<(&str, &str, &str), usize> = BTreeMap::new();
    let mut out: Vec<Pod> = Vec::new();
    let (mut untimed, mut unknown) = (0usize, BTreeSet::new());
    for i in order {
        let p = &observed.pulls[i];
        let (Some(at), Some(host)) = (p.pulling_at, p.node.as_deref()) else {
            untimed += 1;
            continue;
        };
        let Some(node) = nodes.get(host) else {
            unknown.insert(host);
            continue;
        };
        let key = (p.namespace.as_str(), p.pod.as_str(), host);
        match by_pod.get(&key) {
            Some(&k) => out[k].images.push(&p.image),
            None => {
                by_pod.insert(key, out.len());
                out.push(Pod {
                    namespace: &p.namespace,
                    id: format!("{}/{}", p.namespace, p.pod),
                    host,
                    node: node.clone(),
                    at_ns: u64::try_from(at.unix_nanos() - t0.unix_nanos()).unwrap_or(0),
                    images: vec![&p.image],
                });
            }
        }
    }
    if untimed > 0 {
        notes.push(format!(
            "{untimed} observed pulls are not replayed: without a time (a table's ages) or a node"
        ));
    }
    if !unknown.is_empty() {
        let list: Vec<&str> = unknown.into_iter().collect();
        notes.push(format!(
            "pulls on {} not replayed: the scenario has fewer nodes than the events name",
            list.join(", ")
        ));
    }
    (out, notes)
}

/// Writes the replay workloads, one per namespace in name order (nothing when no pull can be
/// replayed); their notes go to `notes`.
pub(super) fn write(
    out: &mut Out,
    observed: &Observed,
    nodes: &BTreeMap<String, String>,
    taken: &BTreeSet<&str>,
    notes: &mut Vec<String>,
) -> Option<Written> {
    let (pods, why) = pods(observed, nodes);
    notes.extend(why);
    if pods.is_empty() {
        return None;
    }
    let mut by_namespace: BTreeMap<&str, Vec<&Pod>> = BTreeMap::new();
    for p in &pods {
        by_namespace.entry(p.namespace).or_default().push(p);
    }
    let files: BTreeSet<&str> = observed.pulls.iter().map(|p| p.origin.file.as_str()).collect();
    let files = files.into_iter().collect::<Vec<_>>().join(", ");
    for (namespace, pods) in &by_namespace {
        let mut name = format!("{PREFIX}{namespace}");
        let mut n = 1;
        while taken.contains(name.as_str()) {
            n += 1;
            name = format!("{PREFIX}{namespace}-{n}");
        }
        let pulls: usize = pods.iter().map(|p| p.images.len()).sum();
        out.comment(&format!(
            "from {files}: the {} of {} in namespace {namespace}, replayed: each pod created on its node when its first Pulling event fired, with the images it pulled in that order (images it found present are left out; the pulls' observed durations are in the table at the end)",
            count(pulls as u64, "observed pull"),
            count(pods.len() as u64, "pod")
        ));
        out.text.push_str("[[workload]]\n");
        out.kv("name", &q(&name), "");
        out.kv("kind", "\"replay\"", "");
        out.text.push_str("pods = [\n");
        for p in pods {
            let at = crate::units::fmt_duration_exact(p.at_ns);
            let images = if p.images.len() == 1 {
                format!("image = {}", q(p.images[0]))
            } else {
                let list: Vec<String> = p.images.iter().map(|i| q(i)).collect();
                format!("images = [{}]", list.join(", "))
            };
            let _ = writeln!(
                out.text,
                "  {{ node = {}, at = {}, {images} }}, # {} on {}",
                q(&p.node),
                q(&at),
                p.id,
                p.host
            );
        }
        out.text.push_str("]\n");
        out.blank();
    }
    let pulls = pods.iter().map(|p| p.images.len()).sum();
    Some(Written { workloads: by_namespace.len(), pods: pods.len(), pulls })
}
