//! Workloads (`Pod`, `Deployment`, `DaemonSet`, `StatefulSet`, `ReplicaSet`,
//! `ReplicationController`, `Job`, `CronJob`): their pod templates as the scenario sees them
//! (init containers and containers in order, images, pull policies, pull secrets, node
//! selection), their sizes (replicas, parallelism) and rolling-update strategy, and which of
//! them make a scenario workload: objects owned by an imported controller (a Deployment's
//! ReplicaSets and their Pods, a DaemonSet's Pods, a CronJob's Jobs) are folded into it, not
//! imported twice; Pods whose controller is not among the inputs are grouped by that
//! controller into one workload.
//!
//! Scenario workloads are `deployment`, `daemonset`, `poisson` and `batch`. A StatefulSet
//! becomes a deployment (all pods at once, updates without surge), a Job or CronJob a batch
//! (its first wave of pods, once), each with a comment saying so.

use super::error::{
    child, item, opt_arr, opt_obj, opt_str, opt_u64, shown, str_list, str_map, ImportError, Origin,
};
use super::nodes::Node;
use crate::k8s::resources::{pod_requests, Resources};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

/// The Kubernetes kinds read as workloads.
pub const KINDS: &[&str] = &[
    "Pod",
    "Deployment",
    "DaemonSet",
    "StatefulSet",
    "ReplicaSet",
    "ReplicationController",
    "Job",
    "CronJob",
];

/// One container of a pod template.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Container {
    pub name: String,
    pub image: String,
    /// `imagePullPolicy` as written, if it was.
    pub policy: Option<String>,
    /// `resources.requests`: CPU in millicores, memory in bytes (0 when not given).
    pub cpu_milli: u64,
    pub memory_bytes: u64,
}

/// A node selector requirement (`matchExpressions`, or `matchFields` on `metadata.name`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Requirement {
    pub key: String,
    pub operator: String,
    pub values: Vec<String>,
    pub field: bool,
}

/// A toleration of a pod.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Toleration {
    pub key: String,
    pub operator: String,
    pub value: String,
    pub effect: String,
}

impl PodSpec {
    /// The pod's requests as the scheduler counts them (`k8s::resources::pod_requests`).
    pub fn requests(&self) -> (u64, u64) {
        let of = |cs: &[Container]| -> Vec<Resources> {
            cs.iter().map(|c| Resources { cpu_milli: c.cpu_milli, memory_bytes: c.memory_bytes }).collect()
        };
        let r = pod_requests(&of(&self.containers), &of(&self.init));
        (r.cpu_milli, r.memory_bytes)
    }
}

/// What of a pod spec matters to pulls and placement.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PodSpec {
    pub init: Vec<Container>,
    pub containers: Vec<Container>,
    pub pull_secrets: Vec<String>,
    pub node_selector: BTreeMap<String, String>,
    /// Required node affinity: any term, each all of its requirements.
    pub terms: Vec<Vec<Requirement>>,
    pub tolerations: Vec<Toleration>,
    pub node_name: Option<String>,
}

/// An `int-or-string` of a rolling-update strategy, as found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum IntOrPercent {
    Int(u64),
    Text(String),
}

/// One workload object as read.
#[derive(Clone, Debug)]
pub struct Workload {
    pub kind: String,
    pub namespace: String,
    pub name: String,
    pub origin: Origin,
    pub replicas: Option<u64>,
    pub strategy_type: Option<String>,
    pub max_surge: Option<IntOrPercent>,
    pub max_unavailable: Option<IntOrPercent>,
    pub parallelism: Option<u64>,
    pub completions: Option<u64>,
    pub schedule: Option<String>,
    pub pod_management: Option<String>,
    /// The controlling owner: (kind, name).
    pub owner: Option<(String, String)>,
    pub template_hash: Option<String>,
    pub pod: PodSpec,
}

/// Reads a workload object of kind `kind` at `path`.
pub fn read_workload(o: &Origin, v: &Value, path: &str, kind: &str) -> Result<Workload, ImportError> {
    let mp = child(path, "metadata");
    let meta = v.get("metadata").unwrap_or(&Value::Null);
    let name = opt_str(o, meta, &mp, "name")?.unwrap_or("").to_string();
    if name.is_empty() {
        return Err(o.err(&child(&mp, "name"), format!("missing: every {kind} has a name")));
    }
    let namespace = opt_str(o, meta, &mp, "namespace")?.unwrap_or("default").to_string();
    let labels = str_map(o, meta, &mp, "labels")?;
    let mut owner = None;
    if let Some(list) = opt_arr(o, meta, &mp, "ownerReferences")? {
        let op = child(&mp, "ownerReferences");
        let mut first = None;
        for (i, r) in list.iter().enumerate() {
            let p = item(&op, i);
            let k = opt_str(o, r, &p, "kind")?.unwrap_or("").to_string();
            let n = opt_str(o, r, &p, "name")?.unwrap_or("").to_string();
            let controller = r.get("controller").and_then(Value::as_bool).unwrap_or(false);
            if controller && owner.is_none() {
                owner = Some((k.clone(), n.clone()));
            }
            first.get_or_insert((k, n));
        }
        owner = owner.or(first);
    }
    let sp = child(path, "spec");
    let spec = v.get("spec").unwrap_or(&Value::Null);
    let mut w = Workload {
        kind: kind.to_string(),
        namespace,
        name,
        origin: o.clone(),
        replicas: opt_u64(o, spec, &sp, "replicas")?,
        strategy_type: None,
        max_surge: None,
        max_unavailable: None,
        parallelism: None,
        completions: None,
        schedule: None,
        pod_management: None,
        owner,
        template_hash: labels.get("pod-template-hash").cloned(),
        pod: PodSpec::default(),
    };
    let (pod_value, pod_path) = match kind {
        "Pod" => (spec, sp.clone()),
        "CronJob" => {
            w.schedule = opt_str(o, spec, &sp, "schedule")?.map(str::to_string);
            let jp = child(&sp, "jobTemplate");
            let job = spec.get("jobTemplate").unwrap_or(&Value::Null);
            let jsp = child(&jp, "spec");
            let jspec = job.get("spec").unwrap_or(&Value::Null);
            w.parallelism = opt_u64(o, jspec, &jsp, "parallelism")?;
            w.completions = opt_u64(o, jspec, &jsp, "completions")?;
            template(o, jspec, &jsp)?
        }
        _ => {
            if kind == "Job" {
                w.parallelism = opt_u64(o, spec, &sp, "parallelism")?;
                w.completions = opt_u64(o, spec, &sp, "completions")?;
            }
            if kind == "StatefulSet" {
                w.pod_management = opt_str(o, spec, &sp, "podManagementPolicy")?.map(str::to_string);
            }
            let strategy_key = if kind == "Deployment" { "strategy" } else { "updateStrategy" };
            if let Some(s) = opt_obj(o, spec, &sp, strategy_key)? {
                let stp = child(&sp, strategy_key);
                let sv = Value::Object(s.clone());
                w.strategy_type = opt_str(o, &sv, &stp, "type")?.map(str::to_string);
                if let Some(ru) = opt_obj(o, &sv, &stp, "rollingUpdate")? {
                    let rp = child(&stp, "rollingUpdate");
                    let rv = Value::Object(ru.clone());
                    w.max_surge = int_or_percent(o, &rv, &rp, "maxSurge")?;
                    w.max_unavailable = int_or_percent(o, &rv, &rp, "maxUnavailable")?;
                }
            }
            template(o, spec, &sp)?
        }
    };
    w.pod = read_pod_spec(o, pod_value, &pod_path)?;
    Ok(w)
}

/// `spec.template.spec` of a controller (missing: an error naming it).
fn template<'v>(o: &Origin, spec: &'v Value, sp: &str) -> Result<(&'v Value, String), ImportError> {
    let tp = child(sp, "template");
    let t = spec
        .get("template")
        .filter(|t| t.is_object())
        .ok_or_else(|| o.err(&tp, "missing: the pod template"))?;
    let p = child(&tp, "spec");
    let s = t
        .get("spec")
        .filter(|s| s.is_object())
        .ok_or_else(|| o.err(&p, "missing: the pod template's spec"))?;
    Ok((s, p))
}

fn int_or_percent(o: &Origin, v: &Value, path: &str, key: &str) -> Result<Option<IntOrPercent>, ImportError> {
    match v.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => match n.as_u64() {
            Some(x) => Ok(Some(IntOrPercent::Int(x))),
            None => Err(o.err(&child(path, key), format!("expected a whole number or \"N%\", got {n}"))),
        },
        Some(Value::String(s)) => Ok(Some(IntOrPercent::Text(s.clone()))),
        Some(other) => {
            Err(o.err(&child(path, key), format!("expected a number or \"N%\", got {}", shown(other))))
        }
    }
}

/// Reads a pod spec at `path`.
pub fn read_pod_spec(o: &Origin, spec: &Value, path: &str) -> Result<PodSpec, ImportError> {
    let containers = |key: &str| -> Result<Vec<Container>, ImportError> {
        let mut out = Vec::new();
        if let Some(list) = opt_arr(o, spec, path, key)? {
            let cp = child(path, key);
            for (i, c) in list.iter().enumerate() {
                let p = item(&cp, i);
                if !c.is_object() {
                    return Err(o.err(&p, format!("expected a container object, got {}", shown(c))));
                }
                let name = opt_str(o, c, &p, "name")?.unwrap_or("").to_string();
                let image = opt_str(o, c, &p, "image")?
                    .filter(|s| !s.trim().is_empty())
                    .ok_or_else(|| o.err(&child(&p, "image"), "missing: the container's image"))?
                    .to_string();
                let policy =
                    opt_str(o, c, &p, "imagePullPolicy")?.filter(|s| !s.is_empty()).map(str::to_string);
                if let Some(pp) = &policy {
                    if !["Always", "IfNotPresent", "Never"].contains(&pp.as_str()) {
                        return Err(o.err(
                            &child(&p, "imagePullPolicy"),
                            format!("expected Always, IfNotPresent or Never, got {pp:?}"),
                        ));
                    }
                }
                let rp = child(&child(&p, "resources"), "requests");
                let requests = c.get("resources").and_then(|r| r.get("requests"));
                let quantity =
                    |key: &str, parse: fn(&str) -> Result<u64, String>| -> Result<u64, ImportError> {
                        match requests.and_then(|r| r.get(key)) {
                            None => Ok(0),
                            Some(Value::String(s)) => parse(s).map_err(|e| o.err(&child(&rp, key), e)),
                            Some(Value::Number(n)) => {
                                parse(&n.to_string()).map_err(|e| o.err(&child(&rp, key), e))
                            }
                            Some(other) => Err(
                                o.err(&child(&rp, key), format!("expected a quantity, got {}", shown(other)))
                            ),
                        }
                    };
                let cpu_milli = quantity("cpu", crate::k8s::quantity::parse_cpu_milli)?;
                let memory_bytes = quantity("memory", crate::k8s::quantity::parse_memory_bytes)?;
                out.push(Container { name, image, policy, cpu_milli, memory_bytes });
            }
        }
        Ok(out)
    };
    let init = containers("initContainers")?;
    let main = containers("containers")?;
    if main.is_empty() {
        return Err(o.err(&child(path, "containers"), "missing: a pod has at least one container"));
    }
    let mut pull_secrets = Vec::new();
    if let Some(list) = opt_arr(o, spec, path, "imagePullSecrets")? {
        let sp = child(path, "imagePullSecrets");
        for (i, s) in list.iter().enumerate() {
            if let Some(n) = opt_str(o, s, &item(&sp, i), "name")?.filter(|n| !n.is_empty()) {
                pull_secrets.push(n.to_string());
            }
        }
    }
    let node_selector = str_map(o, spec, path, "nodeSelector")?;
    let mut terms = Vec::new();
    let ap = child(
        &child(&child(path, "affinity"), "nodeAffinity"),
        "requiredDuringSchedulingIgnoredDuringExecution",
    );
    let required = spec
        .get("affinity")
        .and_then(|a| a.get("nodeAffinity"))
        .and_then(|a| a.get("requiredDuringSchedulingIgnoredDuringExecution"))
        .unwrap_or(&Value::Null);
    if let Some(list) = opt_arr(o, required, &ap, "nodeSelectorTerms")? {
        let tp = child(&ap, "nodeSelectorTerms");
        for (i, t) in list.iter().enumerate() {
            let p = item(&tp, i);
            let mut reqs = Vec::new();
            for (key, field) in [("matchExpressions", false), ("matchFields", true)] {
                if let Some(exprs) = opt_arr(o, t, &p, key)? {
                    let ep = child(&p, key);
                    for (j, e) in exprs.iter().enumerate() {
                        let q = item(&ep, j);
                        reqs.push(Requirement {
                            key: opt_str(o, e, &q, "key")?.unwrap_or("").to_string(),
                            operator: opt_str(o, e, &q, "operator")?.unwrap_or("").to_string(),
                            values: str_list(o, e, &q, "values")?,
                            field,
                        });
                    }
                }
            }
            terms.push(reqs);
        }
    }
    let mut tolerations = Vec::new();
    if let Some(list) = opt_arr(o, spec, path, "tolerations")? {
        let tp = child(path, "tolerations");
        for (i, t) in list.iter().enumerate() {
            let p = item(&tp, i);
            tolerations.push(Toleration {
                key: opt_str(o, t, &p, "key")?.unwrap_or("").to_string(),
                operator: opt_str(o, t, &p, "operator")?.unwrap_or("Equal").to_string(),
                value: opt_str(o, t, &p, "value")?.unwrap_or("").to_string(),
                effect: opt_str(o, t, &p, "effect")?.unwrap_or("").to_string(),
            });
        }
    }
    let node_name = opt_str(o, spec, path, "nodeName")?.filter(|n| !n.is_empty()).map(str::to_string);
    Ok(PodSpec { init, containers: main, pull_secrets, node_selector, terms, tolerations, node_name })
}

/// Whether a pod with `spec` may run on `node`: its node selector, required node affinity,
/// node name, and the node's `NoSchedule`/`NoExecute` taints (except the `node.kubernetes.io/`
/// condition taints, which come and go with the node's state).
pub fn eligible(spec: &PodSpec, node: &Node) -> bool {
    if spec.node_name.as_ref().is_some_and(|n| *n != node.name) {
        return false;
    }
    if !spec.node_selector.iter().all(|(k, v)| node.labels.get(k) == Some(v)) {
        return false;
    }
    if !spec.terms.is_empty() && !spec.terms.iter().any(|t| t.iter().all(|r| requirement_holds(r, node))) {
        return false;
    }
    node.taints
        .iter()
        .filter(|t| {
            (t.effect == "NoSchedule" || t.effect == "NoExecute") && !t.key.starts_with("node.kubernetes.io/")
        })
        .all(|t| spec.tolerations.iter().any(|tol| tolerates(tol, t)))
}

fn requirement_holds(r: &Requirement, node: &Node) -> bool {
    let value = if r.field {
        (r.key == "metadata.name").then_some(node.name.as_str())
    } else {
        node.labels.get(&r.key).map(String::as_str)
    };
    let num = |s: &str| s.parse::<i64>().ok();
    match r.operator.as_str() {
        "In" => value.is_some_and(|v| r.values.iter().any(|x| x == v)),
        "NotIn" => value.is_none_or(|v| !r.values.iter().any(|x| x == v)),
        "Exists" => value.is_some(),
        "DoesNotExist" => value.is_none(),
        "Gt" => {
            matches!((value.and_then(num), r.values.first().and_then(|x| num(x))), (Some(a), Some(b)) if a > b)
        }
        "Lt" => {
            matches!((value.and_then(num), r.values.first().and_then(|x| num(x))), (Some(a), Some(b)) if a < b)
        }
        _ => false,
    }
}

fn tolerates(tol: &Toleration, t: &super::nodes::Taint) -> bool {
    if !tol.effect.is_empty() && tol.effect != t.effect {
        return false;
    }
    if tol.operator == "Exists" {
        return tol.key.is_empty() || tol.key == t.key;
    }
    tol.key == t.key && tol.value == t.value
}

/// A scenario workload planned from one or more objects.
#[derive(Clone, Debug)]
pub struct Planned {
    pub name: String,
    pub namespace: String,
    /// `deployment`, `daemonset` or `batch`.
    pub kind: &'static str,
    /// Where it comes from, for its comment.
    pub from: String,
    /// `replicas` (deployment) or `count` (batch), with where the number comes from.
    pub size: Option<(u64, String)>,
    /// `rollout` (max_surge, max_unavailable as TOML values) and where it comes from.
    pub rollout: Option<(String, String, String)>,
    /// What is approximated, one comment line each.
    pub notes: Vec<String>,
    pub pod: PodSpec,
}

/// Turns the objects read into scenario workloads (see the module doc). Returns the planned
/// workloads, sorted by name, and what was folded or not used.
pub fn plan(objects: &[Workload]) -> (Vec<Planned>, Vec<String>) {
    let mut notes = Vec::new();
    let controllers: BTreeSet<(&str, &str, &str)> = objects
        .iter()
        .filter(|w| w.kind != "Pod")
        .map(|w| (w.namespace.as_str(), w.kind.as_str(), w.name.as_str()))
        .collect();
    let imported = |ns: &str, kind: &str, name: &str| controllers.contains(&(ns, kind, name));
    // The imported controller an object belongs to, if any.
    let folded_into = |w: &Workload| -> Option<String> {
        let (ok, on) = w.owner.as_ref()?;
        if imported(&w.namespace, ok, on) {
            return Some(format!("{ok} {on}"));
        }
        let parent = |hash: Option<&str>| match hash.and_then(|h| on.strip_suffix(&format!("-{h}"))) {
            Some(p) => p.to_string(),
            None => on.rsplit_once('-').map_or(String::new(), |(p, _)| p.to_string()),
        };
        match ok.as_str() {
            "ReplicaSet" => {
                let d = parent(w.template_hash.as_deref());
                imported(&w.namespace, "Deployment", &d).then(|| format!("Deployment {d}"))
            }
            "Job" => {
                let c = parent(None);
                imported(&w.namespace, "CronJob", &c).then(|| format!("CronJob {c}"))
            }
            _ => None,
        }
    };
    let mut planned = Vec::new();
    // Pods not folded, grouped by their owner (or alone).
    let mut groups: BTreeMap<(String, String, String), Vec<&Workload>> = BTreeMap::new();
    let mut folded: BTreeMap<(String, String), usize> = BTreeMap::new();
    for w in objects {
        if let Some(into) = folded_into(w) {
            *folded.entry((w.kind.clone(), format!("{}/{into}", w.namespace))).or_default() += 1;
            continue;
        }
        if w.kind == "Pod" {
            match &w.owner {
                Some((k, n)) if k == "Node" => notes.push(format!(
                    "{}: Pod {}/{}: a static pod (owned by Node {n}): the kubelet starts it from a file, not the \
                     scheduler; its images are in the node's images",
                    w.origin.label(),
                    w.namespace,
                    w.name
                )),
                Some((k, n)) => groups.entry((w.namespace.clone(), k.clone(), n.clone())).or_default().push(w),
                None => groups.entry((w.namespace.clone(), "Pod".into(), w.name.clone())).or_default().push(w),
            }
            continue;
        }
        if (w.kind == "ReplicaSet" || w.kind == "ReplicationController") && w.replicas == Some(0) {
            notes.push(format!(
                "{}: {} {}/{}: 0 replicas (an old revision): not used",
                w.origin.label(),
                w.kind,
                w.namespace,
                w.name
            ));
            continue;
        }
        planned.push(from_controller(w));
    }
    for ((kind, into), n) in folded {
        notes.push(format!("{n} {kind}{} folded into {into}", if n == 1 { "" } else { "s" }));
    }
    for ((ns, kind, name), pods) in groups {
        planned.push(from_pods(&ns, &kind, &name, &pods));
    }
    unique_names(&mut planned);
    planned.sort_by(|a, b| a.name.cmp(&b.name));
    (planned, notes)
}

fn percent_or_int(v: &IntOrPercent) -> Option<String> {
    match v {
        IntOrPercent::Int(n) => Some(n.to_string()),
        IntOrPercent::Text(s) if crate::k8s::validation::valid_percent(s).is_some() => Some(format!("{s:?}")),
        IntOrPercent::Text(s) if !s.is_empty() && s.chars().all(|c| c.is_ascii_digit()) => Some(s.clone()),
        IntOrPercent::Text(_) => None,
    }
}

fn from_controller(w: &Workload) -> Planned {
    let from = format!("from {}: {} {}/{}", w.origin.label(), w.kind, w.namespace, w.name);
    let replicas = |what: &str| match w.replicas {
        Some(r) => (r, format!("spec.replicas of the {what}")),
        None => (1, "spec.replicas not set: 1, as the API server defaults it".to_string()),
    };
    let mut p = Planned {
        name: w.name.clone(),
        namespace: w.namespace.clone(),
        kind: "deployment",
        from,
        size: None,
        rollout: None,
        notes: Vec::new(),
        pod: w.pod.clone(),
    };
    match w.kind.as_str() {
        "Deployment" => {
            p.size = Some(replicas("Deployment"));
            if w.strategy_type.as_deref() == Some("Recreate") {
                p.rollout =
                    Some(("0".into(), "\"100%\"".into(), "strategy Recreate: all old pods go first".into()));
            } else {
                let surge = w.max_surge.as_ref().and_then(percent_or_int);
                let unavailable = w.max_unavailable.as_ref().and_then(percent_or_int);
                let from = match (w.max_surge.is_some(), w.max_unavailable.is_some()) {
                    (true, true) => "spec.strategy.rollingUpdate",
                    (false, false) => "the API server's defaults (25%, 25%: spec.strategy not set)",
                    _ => "spec.strategy.rollingUpdate (25% where not set, as the API server defaults it)",
                };
                p.rollout = Some((
                    surge.unwrap_or_else(|| "\"25%\"".into()),
                    unavailable.unwrap_or_else(|| "\"25%\"".into()),
                    from.into(),
                ));
            }
        }
        "ReplicaSet" | "ReplicationController" => p.size = Some(replicas(&w.kind)),
        "StatefulSet" => {
            p.size = Some(replicas("StatefulSet"));
            let unavailable =
                w.max_unavailable.as_ref().and_then(percent_or_int).unwrap_or_else(|| "1".into());
            p.rollout = Some(("0".into(), unavailable, "a StatefulSet updates without surge".into()));
            if w.pod_management.as_deref() != Some("Parallel") {
                p.notes.push(
                    "a StatefulSet (OrderedReady) creates its pods one at a time; a deployment creates them all at once"
                        .into(),
                );
            }
        }
        "DaemonSet" => p.kind = "daemonset",
        "Job" | "CronJob" => {
            p.kind = "batch";
            let parallelism = w.parallelism.unwrap_or(1);
            let n = w.completions.map_or(parallelism, |c| c.min(parallelism));
            p.size = Some((n, format!("the Job's first wave: min(parallelism {parallelism}, completions)")));
            p.notes.push(
                "a batch creates these pods once; pods that complete are not replaced by the next ones"
                    .into(),
            );
            if let Some(s) = &w.schedule {
                p.notes.push(format!("CronJob schedule {s:?}: one run is imported"));
            }
        }
        _ => {}
    }
    p
}

fn from_pods(ns: &str, owner_kind: &str, owner: &str, pods: &[&Workload]) -> Planned {
    let n = pods.len() as u64;
    let files: BTreeSet<String> = pods.iter().map(|p| p.origin.label()).collect();
    let files: Vec<String> = files.into_iter().collect();
    let mut pod = pods[0].pod.clone();
    let (kind, size, what) = match owner_kind {
        "Pod" => ("batch", Some((1, "a bare Pod: created once".to_string())), format!("Pod {ns}/{owner}")),
        "DaemonSet" => {
            // Each DaemonSet pod is pinned to its node by a matchFields term: not the template's.
            for t in &mut pod.terms {
                t.retain(|r| !r.field);
            }
            pod.terms.retain(|t| !t.is_empty());
            ("daemonset", None, format!("{} of DaemonSet {ns}/{owner}", pods_n(n)))
        }
        "Job" => {
            ("batch", Some((n, format!("{n} Pods of the Job"))), format!("{n} Pods of Job {ns}/{owner}"))
        }
        _ => (
            "deployment",
            Some((n, format!("{} of the {owner_kind}", pods_n(n)))),
            format!("{} of {owner_kind} {ns}/{owner}", pods_n(n)),
        ),
    };
    // Where the scheduler put a controller's pods is its choice, not part of the template.
    if owner_kind != "Pod" {
        pod.node_name = None;
    }
    let mut notes = Vec::new();
    if owner_kind != "Pod" {
        notes.push(format!("{owner_kind} {owner} is not among the inputs: its Pods stand for it"));
    }
    Planned {
        name: owner.to_string(),
        namespace: ns.to_string(),
        kind,
        from: format!("from {}: {what}", files.join(", ")),
        size,
        rollout: None,
        notes,
        pod,
    }
}

/// `1 Pod`, `3 Pods`.
fn pods_n(n: u64) -> String {
    super::emit::count(n, "Pod")
}

/// Workload names unique: a clash takes the namespace as a prefix, then a number.
fn unique_names(planned: &mut [Planned]) {
    let mut count: BTreeMap<String, usize> = BTreeMap::new();
    for p in planned.iter() {
        *count.entry(p.name.clone()).or_default() += 1;
    }
    let mut seen = BTreeSet::new();
    for p in planned.iter_mut() {
        if count[&p.name] > 1 {
            p.name = format!("{}-{}", p.namespace, p.name);
        }
        let base = p.name.clone();
        let mut k = 2;
        while !seen.insert(p.name.clone()) {
            p.name = format!("{base}-{k}");
            k += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn read(kind: &str, v: Value) -> Workload {
        read_workload(&Origin::new("w.yaml", None), &v, "", kind).unwrap()
    }

    #[test]
    fn folds_owned_objects() {
        let deploy = read(
            "Deployment",
            json!({ "metadata": { "name": "web", "namespace": "shop" },
                    "spec": { "replicas": 3, "template": { "spec": { "containers": [ { "name": "w", "image": "nginx:1.27" } ] } } } }),
        );
        let pod = read(
            "Pod",
            json!({ "metadata": { "name": "web-5d8f7c9b6-abcde", "namespace": "shop",
                                  "labels": { "pod-template-hash": "5d8f7c9b6" },
                                  "ownerReferences": [ { "kind": "ReplicaSet", "name": "web-5d8f7c9b6", "controller": true } ] },
                    "spec": { "containers": [ { "name": "w", "image": "nginx:1.27" } ] } }),
        );
        let orphan = read(
            "Pod",
            json!({ "metadata": { "name": "api-7f-x", "ownerReferences": [ { "kind": "ReplicaSet", "name": "api-7f" } ] },
                    "spec": { "containers": [ { "image": "api:2" } ] } }),
        );
        let (planned, notes) = plan(&[deploy, pod, orphan]);
        assert_eq!(planned.len(), 2, "{planned:?}");
        assert_eq!(planned[0].name, "api-7f");
        assert_eq!(planned[0].size.as_ref().unwrap().0, 1);
        assert_eq!(planned[1].name, "web");
        assert_eq!(planned[1].size.as_ref().unwrap().0, 3);
        assert!(notes.iter().any(|n| n.contains("1 Pod folded into shop/Deployment web")), "{notes:?}");
    }

    #[test]
    fn bad_policy_and_missing_image() {
        let o = Origin::new("d.yaml", Some("document 2".into()));
        let v = json!({ "metadata": { "name": "x" }, "spec": { "template": { "spec": { "containers": [ { "image": "a", "imagePullPolicy": "Sometimes" } ] } } } });
        let e = read_workload(&o, &v, "", "Deployment").unwrap_err();
        assert_eq!(
            e.to_string(),
            "d.yaml: document 2: spec.template.spec.containers[0].imagePullPolicy: expected Always, IfNotPresent or Never, got \"Sometimes\""
        );
        let v = json!({ "metadata": { "name": "x" }, "spec": { "containers": [ { "name": "c" } ] } });
        assert!(read_workload(&o, &v, "", "Pod")
            .unwrap_err()
            .to_string()
            .contains("containers[0].image: missing"));
    }
}
