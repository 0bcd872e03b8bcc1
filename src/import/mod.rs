//! `pullsim import`: a scenario from a cluster's own documents. Pure: the caller reads the
//! files and writes the result; this module turns texts into scenario TOML.
//!
//! Each input is cut into documents by content (`detect`), and each document is read by what
//! it is: Nodes (`nodes`), workloads (`workloads`), KubeletConfiguration (`kubelet_config`),
//! containerd and registry-host configs (`containerd`), manifests and indexes (`manifests`),
//! kubelet events (`events`). Images are gathered under all their names (`images`) and the
//! scenario is written with where every value comes from, or that it is an assumption to
//! review (`emit`). `--assume KEY=VALUE` then sets values like `--set` does, and the result
//! is validated before it is returned: what `import` gives, `validate` and `run` accept.
//!
//! Determinism: inputs are read in the order of their labels (their paths as given), not in
//! argument order, and everything written is sorted, so the same files give the same bytes
//! whatever order they are named in.

pub mod containerd;
pub mod detect;
pub mod emit;
pub mod error;
pub mod events;
pub mod finish;
pub mod images;
pub mod kubelet_config;
pub mod manifests;
pub mod nodes;
mod replay;
mod tables;
pub mod workloads;

pub use error::{ImportError, Origin};

use crate::scenario::Override;
use detect::Piece;
use serde_json::Value;
use std::collections::BTreeMap;

/// One input document file.
#[derive(Clone, Debug)]
pub struct Input {
    /// How messages and comments name it (a path, shortened to what tells it apart).
    pub label: String,
    pub text: String,
    /// The image a manifest file is for (`REF=FILE`).
    pub image_ref: Option<String>,
    /// The name of the folder holding it (a `certs.d/<host>/hosts.toml`'s host).
    pub dir_name: Option<String>,
}

/// How to write the scenario.
#[derive(Clone, Debug)]
pub struct Options {
    /// `[simulation] name`.
    pub name: String,
    /// How messages name the output file.
    pub out_label: String,
    /// `--assume KEY=VALUE`, in order.
    pub assumes: Vec<Override>,
}

/// The scenario and what to tell the user.
#[derive(Clone, Debug)]
pub struct Outcome {
    pub toml: String,
    /// Documents and values not used, with why.
    pub not_used: Vec<String>,
    pub conflicts: Vec<String>,
    /// One line: what the scenario holds.
    pub summary: String,
    /// Warnings of the scenario lint on the result.
    pub warnings: Vec<String>,
}

/// What the inputs say, gathered before anything is written.
#[derive(Debug, Default)]
pub struct Imported {
    pub nodes: Vec<nodes::Node>,
    pub workloads: Vec<workloads::Workload>,
    pub kubelet: Vec<kubelet_config::KubeletDoc>,
    pub containerd: Vec<containerd::ContainerdDoc>,
    pub hosts: Vec<containerd::HostsDoc>,
    pub manifests: Vec<manifests::ManifestDoc>,
    pub events: events::Collector,
    /// Per input: what was found (`NodeList: 4 nodes`), in reading order.
    pub found: Vec<(String, Vec<String>)>,
    pub not_used: Vec<String>,
    /// Objects of kinds pullsim does not read: (file, kind) → count.
    pub other_kinds: BTreeMap<(String, String), usize>,
}

impl Imported {
    /// Whether anything usable was read.
    fn is_empty(&self) -> bool {
        self.nodes.is_empty()
            && self.workloads.is_empty()
            && self.kubelet.is_empty()
            && self.containerd.is_empty()
            && self.manifests.is_empty()
            && self.events.is_empty()
    }
}

/// Counts of what one input gave, for the summary: (singular, plural) → count.
#[derive(Default)]
struct Tally(BTreeMap<(&'static str, &'static str), usize>);

impl Tally {
    fn add(&mut self, what: (&'static str, &'static str)) {
        *self.0.entry(what).or_default() += 1;
    }
    fn lines(&self) -> Vec<String> {
        self.0.iter().map(|((one, many), n)| format!("{n} {}", if *n == 1 { one } else { many })).collect()
    }
}

/// Reads every input and writes the scenario (see the module doc).
pub fn import(inputs: &[Input], opts: &Options) -> Result<Outcome, Vec<ImportError>> {
    let mut order: Vec<&Input> = inputs.iter().collect();
    order.sort_by(|a, b| a.label.cmp(&b.label));
    let mut cx = Imported::default();
    let mut errors = Vec::new();
    for input in order {
        if let Err(e) = read_input(&mut cx, input) {
            errors.push(e);
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    let observed = cx.events.finish().map_err(|e| vec![e])?;
    if observed.pulls.is_empty() && !observed.without_duration.is_empty() {
        let (o, path) = &observed.without_duration[0];
        return Err(vec![o.err(
            path,
            "a Pulled event without a duration: kubelets before 1.19 do not time pulls, so these events give \
             no observed pull (nothing to import from them)",
        )]);
    }
    for ((file, kind), n) in &cx.other_kinds {
        cx.not_used.push(format!(
            "{file}: {n} {kind}{}: not used (pullsim reads Node, Pod, Deployment, DaemonSet, StatefulSet, \
             ReplicaSet, Job, CronJob, Event and KubeletConfiguration)",
            if *n == 1 { "" } else { " objects" }
        ));
    }
    if cx.is_empty() {
        let mut why = cx.not_used.clone();
        why.extend(cx.hosts.iter().map(emit::hosts_not_used));
        return Err(vec![nothing_to_import(&cx, &why)]);
    }
    emit::write(&cx, &observed, opts).map_err(|e| vec![e])
}

/// What the calibrator reads: the observed pulls, and the names `import` gives the nodes that
/// Node documents among the inputs describe.
pub struct Observations {
    pub observed: events::Observed,
    /// Node name → `<pool>-<k>`, the scenario node `import` makes of it (empty without Node
    /// documents).
    pub nodes: BTreeMap<String, String>,
}

/// The pulls the events among `inputs` observed, read as `import` reads them (every format,
/// deduplicated by uid, paired with their `Pulling`): for the calibrator, which replays them.
/// Node documents place the events' nodes in their pools; other documents are read too (a bad
/// one is an error) but not used.
pub fn read_events(inputs: &[Input]) -> Result<Observations, Vec<ImportError>> {
    let mut order: Vec<&Input> = inputs.iter().collect();
    order.sort_by(|a, b| a.label.cmp(&b.label));
    let mut cx = Imported::default();
    let errors: Vec<ImportError> = order.into_iter().filter_map(|i| read_input(&mut cx, i).err()).collect();
    if !errors.is_empty() {
        return Err(errors);
    }
    let observed = cx.events.finish().map_err(|e| vec![e])?;
    let list = emit::unique_nodes(&cx.nodes, &mut Vec::new());
    let mut nodes = BTreeMap::new();
    for (pool, _, idx) in nodes::group(&list) {
        for (k, i) in idx.into_iter().enumerate() {
            nodes.insert(list[i].name.clone(), format!("{pool}-{k}"));
        }
    }
    Ok(Observations { observed, nodes })
}

/// The error when no input gives anything the scenario can use: each input and why.
pub(crate) fn nothing_to_import(cx: &Imported, why: &[String]) -> ImportError {
    let mut why = why.to_vec();
    if why.is_empty() {
        why.push("no document pullsim can use".into());
    }
    ImportError {
        file: cx.found.iter().map(|(l, _)| l.as_str()).collect::<Vec<_>>().join(", "),
        at: None,
        path: String::new(),
        message: format!("nothing to import:\n  {}", why.join("\n  ")),
    }
}

fn read_input(cx: &mut Imported, input: &Input) -> Result<(), ImportError> {
    let split = detect::split(&input.text).map_err(|e| ImportError {
        file: input.label.clone(),
        at: e.at,
        path: String::new(),
        message: e.message,
    })?;
    let mut tally = Tally::default();
    let text = input.text.strip_prefix('\u{feff}').unwrap_or(&input.text);
    for piece in split.pieces {
        match piece {
            Piece::Toml(t) => {
                let o = Origin::new(&input.label, None);
                match containerd::read(&o, &t, input.dir_name.as_deref(), Some(text))? {
                    containerd::Read::Containerd(d) => {
                        tally.add(("containerd config", "containerd configs"));
                        cx.containerd.push(d);
                    }
                    containerd::Read::Hosts(h) => {
                        tally.add(("registry hosts file", "registry hosts files"));
                        cx.hosts.push(h);
                    }
                    containerd::Read::Other(why) => cx.not_used.push(format!("{}: {why}", input.label)),
                }
            }
            Piece::Doc { value, at, span } => {
                let o = Origin::new(&input.label, at);
                let bytes = span.and_then(|(a, b)| text.get(a..b));
                read_doc(cx, &o, &value, "", bytes, input.image_ref.as_deref(), &mut tally)?;
            }
        }
    }
    if split.skipped_lines > 0 {
        tally.0.insert(("line of other text skipped", "lines of other text skipped"), split.skipped_lines);
    }
    cx.found.push((input.label.clone(), tally.lines()));
    Ok(())
}

/// A document's `kind`, if it has one.
fn kind_of(v: &Value) -> Option<&str> {
    v.get("kind").and_then(Value::as_str).filter(|k| !k.is_empty())
}

fn read_doc(
    cx: &mut Imported,
    o: &Origin,
    v: &Value,
    path: &str,
    bytes: Option<&str>,
    hint: Option<&str>,
    tally: &mut Tally,
) -> Result<(), ImportError> {
    let kind = kind_of(v);
    if let Some(k) = kind.filter(|k| k.ends_with("List")) {
        let Some(items) = v.get("items").and_then(Value::as_array) else {
            return Err(
                o.err(&error::child(path, "items"), format!("missing: a {k} holds its objects in `items`"))
            );
        };
        let item_kind = k.strip_suffix("List").filter(|s| !s.is_empty());
        let nodes_before = cx.nodes.len();
        for (i, it) in items.iter().enumerate() {
            let p = error::item(&error::child(path, "items"), i);
            match (item_kind, kind_of(it)) {
                (Some(want), Some(got)) if want != got => {
                    return Err(o.err(&error::child(&p, "kind"), format!("a {got} in a {k}: expected {want}")))
                }
                (Some(want), None) => read_kind(cx, o, it, &p, want, tally)?,
                _ => read_doc(cx, o, it, &p, None, hint, tally)?,
            }
        }
        if items.is_empty() {
            cx.not_used.push(format!("{}: an empty {k}", o.label()));
        }
        check_node_images(cx, o, nodes_before, &error::item(&error::child(path, "items"), 0))?;
        return Ok(());
    }
    if let Some(k) = kind {
        let nodes_before = cx.nodes.len();
        read_kind(cx, o, v, path, k, tally)?;
        return check_node_images(cx, o, nodes_before, path);
    }
    // No `kind`: recognised by content.
    if let Some(conf) = v.get("kubeletconfig").filter(|c| c.is_object()) {
        tally.add(("KubeletConfiguration (/configz)", "KubeletConfigurations (/configz)"));
        cx.kubelet.push(kubelet_config::read(o, conf, &error::child(path, "kubeletconfig"))?);
        return Ok(());
    }
    if events::is_event(v) {
        tally.add(("event", "events"));
        return cx.events.add(o, v, path);
    }
    if manifests::recognise(v) {
        match manifests::read(o, v, bytes, hint)? {
            manifests::Read::Docs(docs) => {
                for d in docs {
                    tally.add(match d.manifest {
                        manifests::Manifest::Image { .. } => ("image manifest", "image manifests"),
                        manifests::Manifest::Index { .. } => ("image index", "image indexes"),
                    });
                    cx.manifests.push(d);
                }
            }
            manifests::Read::NotUsed(why) => cx.not_used.push(format!("{}: {why}", o.label())),
        }
        return Ok(());
    }
    if v.get("level").is_some() && (v.get("msg").is_some() || v.get("message").is_some()) {
        tally.add(("log line skipped", "log lines skipped"));
        return Ok(());
    }
    let status_info = v.get("status").and_then(|s| s.get("nodeInfo")).is_some();
    if v.get("metadata").is_some() && status_info {
        let nodes_before = cx.nodes.len();
        read_kind(cx, o, v, path, "Node", tally)?;
        return check_node_images(cx, o, nodes_before, path);
    }
    if v.get("metadata").is_some() && v.get("spec").and_then(|s| s.get("containers")).is_some() {
        return read_kind(cx, o, v, path, "Pod", tally);
    }
    let keys: Vec<&str> =
        v.as_object().map(|m| m.keys().map(String::as_str).take(6).collect()).unwrap_or_default();
    let what = if keys.is_empty() {
        "a JSON value that is not an object".to_string()
    } else {
        format!("a document pullsim does not recognise (keys {})", keys.join(", "))
    };
    cx.not_used.push(format!(
        "{}{}: {what}",
        o.label(),
        if path.is_empty() { String::new() } else { format!(" {path}") }
    ));
    Ok(())
}

fn read_kind(
    cx: &mut Imported,
    o: &Origin,
    v: &Value,
    path: &str,
    kind: &str,
    tally: &mut Tally,
) -> Result<(), ImportError> {
    match kind {
        "Node" => {
            tally.add(("node", "nodes"));
            cx.nodes.push(nodes::read_node(o, v, path)?);
        }
        "Event" => {
            tally.add(("event", "events"));
            cx.events.add(o, v, path)?;
        }
        "KubeletConfiguration" => {
            tally.add(("KubeletConfiguration", "KubeletConfigurations"));
            cx.kubelet.push(kubelet_config::read(o, v, path)?);
        }
        k if workloads::KINDS.contains(&k) => {
            tally.add(match k {
                "Pod" => ("pod", "pods"),
                _ => ("workload controller", "workload controllers"),
            });
            cx.workloads.push(workloads::read_workload(o, v, path, k)?);
        }
        other => *cx.other_kinds.entry((o.file.clone(), other.to_string())).or_default() += 1,
    }
    Ok(())
}

/// A NodeList (or Node) none of whose nodes lists its images cannot give the preloaded images
/// and their sizes, which are what `import` reads nodes for besides their counts: an error at
/// the first node's `status.images`.
fn check_node_images(cx: &Imported, o: &Origin, before: usize, first_node: &str) -> Result<(), ImportError> {
    let added = &cx.nodes[before..];
    if !added.is_empty() && added.iter().all(|n| n.images.is_none()) {
        return Err(o.err(
            &error::child(&error::child(first_node, "status"), "images"),
            "missing: no node here lists its images (`status.images`), which give the preloaded images and \
             their sizes; use the output of `kubectl get nodes -o json` (some archives strip them)",
        ));
    }
    Ok(())
}
