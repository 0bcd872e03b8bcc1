//! Calibration: replays observed pulls (from kubelet events, `import::read_events`) in a
//! scenario's cluster and fits parameters so that the predicted pull durations match the
//! observed ones. Pure apart from running the model: no files, no printing (`cli::calibrate`).
//!
//! The replay scenario is the input scenario's text with its workloads, SLOs and sweep removed
//! and one `kind = "replay"` workload added: each observed pull a pod on its node at its
//! `Pulling` time (from the first one), with its image. Observed nodes are matched to the
//! scenario's nodes by the Node documents given with the events, where there are any (a host is
//! then the `<pool>-<k>` `import` made of it), the others in sorted order (nothing in the events
//! ties a hostname to a pool). Images the scenario does not declare are added with the size the
//! events give.
//!
//! The compared duration is the kubelet's "in X": from when the puller started the pull, so
//! waiting for a puller slot is excluded; the model's is the pull's started → finished.
//! Parameters are applied as `--set` overrides; the fit is `search`.

pub mod search;

use crate::import::events::Observed;
use crate::k8s::image_ref::parse_docker_ref;
use crate::metrics::MemorySink;
use crate::model::RunOptions;
use crate::scenario::{self, ImageLayers, Override, Scenario};
use std::collections::{BTreeMap, BTreeSet};
use toml_edit::{value, Array, ArrayOfTables, DocumentMut, InlineTable, Item, Table};

/// The replay workload's name (its pods are `calibrate-<k>`).
pub const WORKLOAD: &str = "calibrate";

/// One observed pull as replayed.
#[derive(Clone, Debug, PartialEq)]
pub struct Pull {
    /// `namespace/pod` as observed.
    pub pod: String,
    /// The node as the events name it, and the scenario node it is replayed on.
    pub observed_node: String,
    pub node: String,
    pub image: String,
    /// From the first observed `Pulling`.
    pub at_ns: u64,
    /// The kubelet's "in X".
    pub observed_s: f64,
}

/// The replay of a scenario with observed pulls, ready to be run with any overrides.
#[derive(Clone, Debug)]
pub struct Replay {
    /// The replay scenario's text.
    pub text: String,
    /// The input scenario's file name (messages point at it).
    pub file: String,
    /// In replay order: pull k is pod `calibrate-k`.
    pub pulls: Vec<Pull>,
    /// Observed node → scenario node.
    pub nodes: BTreeMap<String, String>,
    /// What was left out or assumed, for the user.
    pub notes: Vec<String>,
    /// The registry host of each pull's image (`None`: not served by any registry).
    pub hosts: Vec<Option<String>>,
}

/// Builds the replay of `observed` in the scenario `text` (named `file`).
pub fn prepare(
    text: &str,
    file: &str,
    observed: &Observed,
    described: &BTreeMap<String, String>,
) -> Result<Replay, String> {
    let scn = scenario::load(text, file, &[]).map_err(|e| e.to_string())?;
    let mut notes = Vec::new();
    let usable: Vec<_> =
        observed.pulls.iter().filter(|p| p.pulling_at.is_some() && p.node.is_some()).collect();
    let left_out = observed.pulls.len() - usable.len();
    if left_out > 0 {
        notes.push(format!("{left_out} observed pulls left out: without a time (a table's ages) or a node"));
    }
    if usable.is_empty() {
        return Err(format!(
            "no observed pull with a time and a node to replay ({} pulls in the events)",
            observed.pulls.len()
        ));
    }
    let hosts: BTreeSet<&str> = usable.iter().filter_map(|p| p.node.as_deref()).collect();
    let scenario_nodes: Vec<String> =
        scn.node_pools.iter().flat_map(|p| (0..p.count).map(move |k| format!("{}-{k}", p.name))).collect();
    if hosts.len() > scenario_nodes.len() {
        return Err(format!(
            "the events name {} nodes but {file} has {}: give it at least as many nodes",
            hosts.len(),
            scenario_nodes.len()
        ));
    }
    let nodes = match_nodes(&hosts, &scenario_nodes, described, &mut notes);
    let Some(t0) = usable.iter().filter_map(|p| p.pulling_at).min() else {
        return Err("no observed pull with a time".into());
    };
    let mut pulls: Vec<Pull> = usable
        .iter()
        .map(|p| {
            let at = p.pulling_at.unwrap_or(t0);
            let host = p.node.clone().unwrap_or_default();
            Pull {
                pod: format!("{}/{}", p.namespace, p.pod),
                node: nodes.get(&host).cloned().unwrap_or_default(),
                observed_node: host,
                image: p.image.clone(),
                at_ns: u64::try_from(at.unix_nanos().saturating_sub(t0.unix_nanos())).unwrap_or(u64::MAX),
                observed_s: p.in_ns as f64 / 1e9,
            }
        })
        .collect();
    // The replay's creation order (stable: the events' order among ties).
    pulls.sort_by_key(|p| p.at_ns);

    let mut doc: DocumentMut = text.parse().map_err(|e| format!("{file}: {e}"))?;
    // A prepull's pulls, if it ran, are among the observed ones: the replay has them already.
    for key in ["workload", "slo", "sweep", "prepull"] {
        doc.remove(key);
    }
    add_images(&mut doc, &scn, observed, &mut notes);
    let last_ns = pulls.iter().map(|p| p.at_ns).max().unwrap_or(0);
    // Long enough for the last pull of the largest image to end; the run stops once nothing
    // changes.
    let until_s = (last_ns / 1_000_000_000 + 6 * 3600).max(scn.until.0 / 1_000_000_000);
    if let Some(sim) = doc.get_mut("simulation").and_then(Item::as_table_mut) {
        sim["until"] = value(format!("{until_s}s"));
    }
    doc.insert("workload", Item::ArrayOfTables(replay_workload(&pulls)));
    let text = doc.to_string();
    let replay_scn = scenario::load(&text, file, &[])
        .map_err(|e| format!("the replay of the observed pulls in {file} is not valid:\n{e}"))?;
    let hosts = pulls.iter().map(|p| registry_host(&replay_scn, &p.image)).collect();
    Ok(Replay { text, file: file.to_string(), pulls, nodes, notes, hosts })
}

/// Observed node → scenario node: the one `described` names (Node documents given with the
/// events, named as `import` names them) where the scenario has it; the other hosts take the
/// scenario's remaining nodes in sorted order (as `import` replays them).
fn match_nodes(
    hosts: &BTreeSet<&str>,
    scenario_nodes: &[String],
    described: &BTreeMap<String, String>,
    notes: &mut Vec<String>,
) -> BTreeMap<String, String> {
    let exists: BTreeSet<&str> = scenario_nodes.iter().map(String::as_str).collect();
    let mut out = BTreeMap::new();
    for h in hosts {
        if let Some(n) = described.get(*h).filter(|n| exists.contains(n.as_str())) {
            out.insert(h.to_string(), n.clone());
        }
    }
    let taken: BTreeSet<&str> = out.values().map(String::as_str).collect();
    let free: Vec<String> = scenario_nodes.iter().filter(|n| !taken.contains(n.as_str())).cloned().collect();
    let rest: Vec<&str> = hosts.iter().copied().filter(|h| !out.contains_key(*h)).collect();
    if !described.is_empty() && !rest.is_empty() {
        notes.push(format!(
            "{} of the events' {} nodes are not in the Node documents given (or not in the scenario): replayed on its other nodes in sorted order",
            rest.len(),
            hosts.len()
        ));
    }
    for (h, n) in rest.into_iter().zip(free) {
        out.insert(h.to_string(), n);
    }
    out
}

/// Adds an `[[image]]` for each observed image the scenario does not declare, with the size the
/// events give; one without a size is a note (the replay then fails to load, saying which).
fn add_images(doc: &mut DocumentMut, scn: &Scenario, observed: &Observed, notes: &mut Vec<String>) {
    let declared: BTreeSet<&str> = scn.images.iter().map(|i| i.normalized.as_str()).collect();
    let mut sizes: BTreeMap<&str, Option<u64>> = BTreeMap::new();
    for p in &observed.pulls {
        let e = sizes.entry(p.image.as_str()).or_default();
        *e = e.or(p.size_bytes);
    }
    let mut added = Vec::new();
    for (image, size) in sizes {
        let normalized = parse_docker_ref(image).map(|r| r.string()).unwrap_or_else(|_| image.to_string());
        if declared.contains(normalized.as_str()) {
            continue;
        }
        match size {
            Some(bytes) => {
                let mut t = Table::new();
                t["ref"] = value(image);
                t["size"] = value(format!("{bytes}B"));
                added.push(t);
            }
            None => notes.push(format!("image {image:?} is not in the scenario and the events give no size")),
        }
    }
    if added.is_empty() {
        return;
    }
    notes.push(format!("{} images added with the size the events give (compressed)", added.len()));
    if !matches!(doc.get("image"), Some(Item::ArrayOfTables(_))) {
        doc.insert("image", Item::ArrayOfTables(ArrayOfTables::new()));
    }
    if let Some(Item::ArrayOfTables(a)) = doc.get_mut("image") {
        for t in added {
            a.push(t);
        }
    }
}

fn replay_workload(pulls: &[Pull]) -> ArrayOfTables {
    let mut pods = Array::new();
    for p in pulls {
        let mut t = InlineTable::new();
        t.insert("node", p.node.as_str().into());
        t.insert("at", crate::units::fmt_duration_exact(p.at_ns).into());
        t.insert("image", p.image.as_str().into());
        pods.push(t);
    }
    for v in pods.iter_mut() {
        v.decor_mut().set_prefix("\n  ");
    }
    pods.set_trailing("\n");
    let mut w = Table::new();
    w["name"] = value(WORKLOAD);
    w["kind"] = value("replay");
    w["pods"] = value(pods);
    let mut a = ArrayOfTables::new();
    a.push(w);
    a
}

/// The host of the registry that serves `image` in `scn`.
fn registry_host(scn: &Scenario, image: &str) -> Option<String> {
    let normalized = parse_docker_ref(image).ok()?.string();
    let im = scn.images.iter().find(|i| i.normalized == normalized)?;
    im.registry.map(|r| scn.registries[r.idx()].host.clone())
}

/// The layer counts of the images the replayed pulls name (images whose layers are known): more
/// than one count is what separates a per-layer cost from a per-pull one.
pub fn layer_counts(replay: &Replay, scn: &Scenario) -> BTreeSet<usize> {
    let mut out = BTreeSet::new();
    for p in &replay.pulls {
        let Ok(normalized) = parse_docker_ref(&p.image).map(|r| r.string()) else { continue };
        let Some(im) = scn.images.iter().find(|i| i.normalized == normalized) else { continue };
        match &im.layers {
            ImageLayers::Explicit(v) => {
                out.insert(v.len());
            }
            ImageLayers::Drawn { layer_count, base, .. } => {
                out.insert(*layer_count as usize + base.len());
            }
            ImageLayers::Unknown => {}
        }
    }
    out
}

/// Runs the replay with `overrides`: each pull's predicted duration in seconds (`None` when the
/// model did not pull it to the end: preloaded, failed, or still running at the horizon).
pub fn predict(replay: &Replay, overrides: &[Override]) -> Result<Vec<Option<f64>>, String> {
    let scn = scenario::load(&replay.text, &replay.file, overrides).map_err(|e| e.to_string())?;
    let mut sink = MemorySink::default();
    crate::sim::run(&scn, scn.seed, &mut sink, RunOptions { check_invariants: false });
    let mut out = vec![None; replay.pulls.len()];
    let prefix = format!("{WORKLOAD}-");
    for row in &sink.pulls {
        let Some(k) = row.pod.strip_prefix(&prefix).and_then(|k| k.parse::<usize>().ok()) else { continue };
        if let (Some(slot), Some(s), Some(f), "ok") =
            (out.get_mut(k), row.started_s, row.finished_s, row.result.as_str())
        {
            // The first successful attempt is the observed one (a retried pull's "in X" is the
            // retry's, but retries are rare where pulls succeed in the events).
            if slot.is_none() {
                *slot = Some(f.since(s).as_secs_f64());
            }
        }
    }
    Ok(out)
}

/// How far predictions are from observations: absolute percentage errors as fractions.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct ErrorStats {
    pub mape: f64,
    pub median_ape: f64,
    pub p90_ape: f64,
    /// Pulls compared.
    pub n: usize,
    /// Of those, pulls the model did not complete (counted as 100% error).
    pub not_predicted: usize,
}

/// The error over the pulls `which` (indexes into `observed`). A pull the model did not
/// predict counts as 100%: the search must not win by making pulls vanish.
pub fn errors(observed: &[f64], predicted: &[Option<f64>], which: &[usize]) -> ErrorStats {
    let mut apes: Vec<f64> = which
        .iter()
        .map(|&i| match predicted.get(i).copied().flatten() {
            Some(p) if observed[i] > 0.0 => (p - observed[i]).abs() / observed[i],
            Some(_) => 0.0,
            None => 1.0,
        })
        .collect();
    let not_predicted = which.iter().filter(|&&i| predicted.get(i).copied().flatten().is_none()).count();
    apes.sort_by(f64::total_cmp);
    let n = apes.len();
    let q = |f: f64| if n == 0 { 0.0 } else { apes[((f * (n - 1) as f64).round() as usize).min(n - 1)] };
    ErrorStats {
        mape: if n == 0 { 0.0 } else { apes.iter().sum::<f64>() / n as f64 },
        median_ape: q(0.5),
        p90_ape: q(0.9),
        n,
        not_predicted,
    }
}

/// The pulls to fit and to hold out: sorted by pod name (then image, then time), the first
/// (1 − `holdout`) share is fitted on, the rest held out.
pub fn split(pulls: &[Pull], holdout: f64) -> (Vec<usize>, Vec<usize>) {
    let mut order: Vec<usize> = (0..pulls.len()).collect();
    order.sort_by(|&a, &b| {
        (&pulls[a].pod, &pulls[a].image, pulls[a].at_ns).cmp(&(
            &pulls[b].pod,
            &pulls[b].image,
            pulls[b].at_ns,
        ))
    });
    let n_fit = ((1.0 - holdout) * pulls.len() as f64).ceil() as usize;
    let n_fit = n_fit.clamp(1, pulls.len());
    let (fit, rest) = order.split_at(n_fit);
    let (mut fit, mut rest) = (fit.to_vec(), rest.to_vec());
    fit.sort_unstable();
    rest.sort_unstable();
    (fit, rest)
}
