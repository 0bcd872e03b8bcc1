//! Nodes (`kubectl get nodes -o json`): what matters for pulls, read from each Node, and the
//! node pools they make. Nodes are grouped by instance type, architecture, container runtime
//! and version, kubelet version, allocatable pods and disk: nodes alike in all of these pull
//! alike, so each group is one `[[node_pool]]` with a count.
//!
//! Read from each node: the instance type label (`node.kubernetes.io/instance-type`, or the
//! older `beta.kubernetes.io/instance-type`), `status.nodeInfo` (architecture, as containerd
//! normalises it; `containerRuntimeVersion`, `kubeletVersion`), `status.allocatable.pods`
//! (`max_pods`), `status.capacity.ephemeral-storage` (`disk`), `status.images` (names and
//! `sizeBytes`: the kubelet reports at most `nodeStatusMaxImages`, 50 by default, largest
//! first), labels and `NoSchedule`/`NoExecute` taints (node selection), and the name.

use super::error::{child, item, opt_arr, opt_obj, opt_str, opt_u64, str_map, ImportError, Origin};
use crate::k8s::platform::normalize_arch;
use serde_json::Value;
use std::collections::BTreeMap;

/// An image a node reports in `status.images`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NodeImage {
    /// Repo digests then tags, at most 5 (the kubelet's order).
    pub names: Vec<String>,
    pub size_bytes: u64,
}

/// A taint that keeps pods off a node unless they tolerate it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Taint {
    pub key: String,
    pub value: String,
    pub effect: String,
}

/// What the importer keeps of one Node.
#[derive(Clone, Debug)]
pub struct Node {
    pub name: String,
    pub origin: Origin,
    pub instance_type: Option<String>,
    /// GOARCH name, normalised (`x86_64` is `amd64`); the raw text when pullsim does not know it.
    pub arch: Result<&'static str, String>,
    /// `containerRuntimeVersion`, e.g. `containerd://1.7.22`.
    pub runtime: String,
    pub kubelet_version: String,
    pub max_pods: Option<u64>,
    pub disk_bytes: Option<u64>,
    /// `status.allocatable.cpu` in millicores and `.memory` in bytes.
    pub alloc_cpu_milli: Option<u64>,
    pub alloc_memory_bytes: Option<u64>,
    /// `None` when the node has no `status.images` key at all.
    pub images: Option<Vec<NodeImage>>,
    pub labels: BTreeMap<String, String>,
    pub taints: Vec<Taint>,
}

/// Reads one Node object at `path`.
pub fn read_node(o: &Origin, v: &Value, path: &str) -> Result<Node, ImportError> {
    let meta_path = child(path, "metadata");
    let meta = v.get("metadata").unwrap_or(&Value::Null);
    let name = opt_str(o, meta, &meta_path, "name")?.unwrap_or("").to_string();
    if name.is_empty() {
        return Err(o.err(&child(&meta_path, "name"), "missing: every Node has a name"));
    }
    let labels = str_map(o, meta, &meta_path, "labels")?;
    let status_path = child(path, "status");
    let status = v.get("status").unwrap_or(&Value::Null);
    let info_path = child(&status_path, "nodeInfo");
    let info = status.get("nodeInfo").unwrap_or(&Value::Null);
    let arch_text = opt_str(o, info, &info_path, "architecture")?
        .or_else(|| labels.get("kubernetes.io/arch").map(String::as_str))
        .or_else(|| labels.get("beta.kubernetes.io/arch").map(String::as_str))
        .unwrap_or("amd64");
    let arch = normalize_arch(arch_text).ok_or_else(|| arch_text.to_string());
    let runtime = opt_str(o, info, &info_path, "containerRuntimeVersion")?.unwrap_or("").to_string();
    let kubelet_version = opt_str(o, info, &info_path, "kubeletVersion")?.unwrap_or("").to_string();
    let instance_type = labels
        .get("node.kubernetes.io/instance-type")
        .or_else(|| labels.get("beta.kubernetes.io/instance-type"))
        .cloned();
    let alloc_path = child(&status_path, "allocatable");
    let max_pods = match opt_obj(o, status, &status_path, "allocatable")?.and_then(|m| m.get("pods")) {
        None => None,
        Some(q) => Some(quantity_field(o, q, &child(&alloc_path, "pods"))?),
    };
    let alloc = opt_obj(o, status, &status_path, "allocatable")?;
    let resource = |key: &str, parse: fn(&str) -> Result<u64, String>| -> Result<Option<u64>, ImportError> {
        match alloc.and_then(|m| m.get(key)) {
            None => Ok(None),
            Some(Value::String(s)) => parse(s).map(Some).map_err(|e| o.err(&child(&alloc_path, key), e)),
            Some(Value::Number(n)) => {
                parse(&n.to_string()).map(Some).map_err(|e| o.err(&child(&alloc_path, key), e))
            }
            Some(other) => Err(o.err(
                &child(&alloc_path, key),
                format!("expected a quantity, got {}", super::error::shown(other)),
            )),
        }
    };
    let alloc_cpu_milli = resource("cpu", crate::k8s::quantity::parse_cpu_milli)?;
    let alloc_memory_bytes = resource("memory", crate::k8s::quantity::parse_memory_bytes)?;
    let cap_path = child(&status_path, "capacity");
    let disk_bytes =
        match opt_obj(o, status, &status_path, "capacity")?.and_then(|m| m.get("ephemeral-storage")) {
            None => None,
            Some(q) => Some(quantity_field(o, q, &child(&cap_path, "ephemeral-storage"))?),
        };
    let images = match opt_arr(o, status, &status_path, "images")? {
        None => None,
        Some(list) => {
            let ipath = child(&status_path, "images");
            let mut out = Vec::with_capacity(list.len());
            for (i, im) in list.iter().enumerate() {
                let p = item(&ipath, i);
                if !im.is_object() {
                    return Err(o.err(&p, format!("expected an object, got {}", super::error::shown(im))));
                }
                let names = super::error::str_list(o, im, &p, "names")?;
                let size_bytes = opt_u64(o, im, &p, "sizeBytes")?
                    .ok_or_else(|| o.err(&child(&p, "sizeBytes"), "missing: the image's size in bytes"))?;
                out.push(NodeImage { names, size_bytes });
            }
            Some(out)
        }
    };
    let spec_path = child(path, "spec");
    let spec = v.get("spec").unwrap_or(&Value::Null);
    let mut taints = Vec::new();
    if let Some(list) = opt_arr(o, spec, &spec_path, "taints")? {
        let tpath = child(&spec_path, "taints");
        for (i, t) in list.iter().enumerate() {
            let p = item(&tpath, i);
            let key = opt_str(o, t, &p, "key")?.unwrap_or("").to_string();
            let value = opt_str(o, t, &p, "value")?.unwrap_or("").to_string();
            let effect = opt_str(o, t, &p, "effect")?.unwrap_or("").to_string();
            taints.push(Taint { key, value, effect });
        }
    }
    Ok(Node {
        name,
        origin: o.clone(),
        instance_type,
        arch,
        runtime,
        kubelet_version,
        max_pods,
        disk_bytes,
        alloc_cpu_milli,
        alloc_memory_bytes,
        images,
        labels,
        taints,
    })
}

/// A Kubernetes quantity field (`"110"`, `"98831908Ki"`, or a bare number) as a whole number.
fn quantity_field(o: &Origin, q: &Value, path: &str) -> Result<u64, ImportError> {
    let parsed = match q {
        Value::String(s) => parse_quantity(s),
        Value::Number(n) => n.as_u64(),
        _ => None,
    }
    // Written as a TOML integer (signed 64-bit) or a size.
    .filter(|x| i64::try_from(*x).is_ok());
    parsed.ok_or_else(|| {
        o.err(
            path,
            format!("expected a quantity like \"110\" or \"98831908Ki\", got {}", super::error::shown(q)),
        )
    })
}

/// A Kubernetes resource quantity as a whole number (`k8s::quantity`, rounded up as
/// `Quantity.Value()`).
pub fn parse_quantity(s: &str) -> Option<u64> {
    crate::k8s::quantity::parse_memory_bytes(s).ok()
}

/// The runtime profile a `containerRuntimeVersion` maps to, and what to say about it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RuntimeMapping {
    pub profile: &'static str,
    /// Why, for the comment: `containerd 1.7.22`, or what is approximated.
    pub note: String,
    /// The runtime reports sizes unpacked (Docker), not compressed.
    pub unpacked_sizes: bool,
}

/// `containerd://1.7.22` → `containerd-1.7`; `containerd://2.1.x` or later → `containerd-2.1`;
/// `cri-o://1.20` → `cri-o`; Docker and anything else → the default profile, said so.
pub fn runtime_profile(runtime: &str) -> RuntimeMapping {
    let (name, version) = runtime.split_once("://").unwrap_or((runtime, ""));
    let mut parts = version.trim_start_matches('v').split(['.', '-', '+']);
    let major: u32 = parts.next().and_then(|p| p.parse().ok()).unwrap_or(0);
    let minor: u32 = parts.next().and_then(|p| p.parse().ok()).unwrap_or(0);
    let ok = |profile: &'static str, note: String| RuntimeMapping { profile, note, unpacked_sizes: false };
    match name {
        "containerd" if (major, minor) >= (2, 1) => ok("containerd-2.1", format!("containerd {version}")),
        "containerd" if major == 2 => ok("containerd-2.0", format!("containerd {version}")),
        "containerd" if (major, minor) >= (1, 7) => ok("containerd-1.7", format!("containerd {version}")),
        "containerd" => ok(
            "containerd-1.7",
            format!("containerd {version}, modelled as 1.7 (the same CRI pull path since 1.5)"),
        ),
        "cri-o" => ok("cri-o", format!("CRI-O {version}")),
        "docker" => RuntimeMapping {
            profile: "containerd-1.7",
            note: format!(
                "Docker {version} (dockershim) is not modelled: containerd 1.7's pull path is used"
            ),
            unpacked_sizes: true,
        },
        "" => ok("containerd-1.7", "no containerRuntimeVersion: pullsim's default".to_string()),
        other => {
            ok("containerd-1.7", format!("runtime {other} {version} is not modelled: pullsim's default"))
        }
    }
}

/// The major and minor of a kubelet version (`v1.30.5-gke.1355000` → (1, 30)).
pub fn kubelet_minor(version: &str) -> Option<(u32, u32)> {
    let mut parts = version.trim().trim_start_matches('v').split(['.', '-', '+']);
    let major = parts.next()?.parse().ok()?;
    let minor = parts.next()?.parse().ok()?;
    Some((major, minor))
}

/// What makes nodes pull alike; nodes with the same key form one pool.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct PoolKey {
    pub instance_type: String,
    pub arch: String,
    pub runtime: String,
    pub kubelet_version: String,
    pub max_pods: Option<u64>,
    pub disk_bytes: Option<u64>,
    pub alloc_cpu_milli: Option<u64>,
    pub alloc_memory_bytes: Option<u64>,
}

impl PoolKey {
    pub fn of(n: &Node) -> PoolKey {
        PoolKey {
            instance_type: n.instance_type.clone().unwrap_or_default(),
            arch: n.arch.clone().unwrap_or("amd64").to_string(),
            runtime: n.runtime.clone(),
            kubelet_version: n.kubelet_version.clone(),
            max_pods: n.max_pods,
            disk_bytes: n.disk_bytes,
            alloc_cpu_milli: n.alloc_cpu_milli,
            alloc_memory_bytes: n.alloc_memory_bytes,
        }
    }
}

/// Nodes grouped into pools: each pool's key, its name and its nodes (indices into `nodes`),
/// in name order. Names come from the instance type (`c5a.4xlarge` → `c5a-4xlarge`), or
/// `nodes` without one; pools that would share a name get the architecture, then a number.
pub fn group(nodes: &[Node]) -> Vec<(String, PoolKey, Vec<usize>)> {
    let mut groups: BTreeMap<PoolKey, Vec<usize>> = BTreeMap::new();
    for (i, n) in nodes.iter().enumerate() {
        groups.entry(PoolKey::of(n)).or_default().push(i);
    }
    let base = |k: &PoolKey| {
        let b = sanitize(&k.instance_type);
        if b.is_empty() {
            "nodes".to_string()
        } else {
            b
        }
    };
    let mut count: BTreeMap<String, usize> = BTreeMap::new();
    for k in groups.keys() {
        *count.entry(base(k)).or_default() += 1;
    }
    let mut used: BTreeMap<String, usize> = BTreeMap::new();
    let mut out = Vec::new();
    for (k, members) in groups {
        let mut name = base(&k);
        if count[&name] > 1 {
            name = format!("{name}-{}", k.arch);
        }
        let n = used.entry(name.clone()).or_default();
        *n += 1;
        if *n > 1 {
            name = format!("{name}-{n}");
        }
        out.push((name, k, members));
    }
    // A name made with a number may be taken by another pool's plain name: renumber until free.
    let mut seen = std::collections::BTreeSet::new();
    for (name, _, _) in &mut out {
        let mut candidate = name.clone();
        let mut k = 2;
        while !seen.insert(candidate.clone()) {
            candidate = format!("{name}-{k}");
            k += 1;
        }
        *name = candidate;
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

/// Lower-case letters, digits and `-` (a pool name usable in `--set node_pool.NAME.key`).
pub fn sanitize(s: &str) -> String {
    let mut out = String::new();
    for c in s.chars() {
        let c = c.to_ascii_lowercase();
        if c.is_ascii_alphanumeric() {
            out.push(c);
        } else if !out.ends_with('-') && !out.is_empty() {
            out.push('-');
        }
    }
    out.trim_end_matches('-').to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn quantities() {
        assert_eq!(parse_quantity("110"), Some(110));
        assert_eq!(parse_quantity("98831908Ki"), Some(98_831_908 * 1024));
        assert_eq!(parse_quantity("47060071478"), Some(47_060_071_478));
        assert_eq!(parse_quantity("1.5Gi"), Some(1_610_612_736));
        assert_eq!(parse_quantity("100M"), Some(100_000_000));
        // `Quantity.Value()` rounds up, away from 0.
        assert_eq!(parse_quantity("7910m"), Some(8));
        assert_eq!(parse_quantity("12e3"), Some(12_000));
        assert_eq!(parse_quantity("abc"), None);
        assert_eq!(parse_quantity("1.2.3"), None);
        assert_eq!(parse_quantity("99999999999999999999999Ei"), None);
    }

    #[test]
    fn runtimes() {
        assert_eq!(runtime_profile("containerd://1.7.22").profile, "containerd-1.7");
        assert_eq!(runtime_profile("containerd://2.1.4").profile, "containerd-2.1");
        assert_eq!(runtime_profile("containerd://2.2.0").profile, "containerd-2.1");
        assert_eq!(runtime_profile("containerd://2.0.5").profile, "containerd-2.0");
        assert!(runtime_profile("containerd://1.2.5").note.contains("modelled as 1.7"));
        assert_eq!(runtime_profile("cri-o://1.20.3-2.rhaos4.7.gitb53fa9d.el8").profile, "cri-o");
        let d = runtime_profile("docker://19.3.13");
        assert!(d.unpacked_sizes && d.note.contains("not modelled"));
        assert_eq!(kubelet_minor("v1.30.5-gke.1355000"), Some((1, 30)));
        assert_eq!(kubelet_minor("v1.20.0+2817867"), Some((1, 20)));
    }

    #[test]
    fn reads_a_node_and_groups() {
        let o = Origin::new("nodes.json", None);
        let mk = |name: &str, it: &str, arch: &str| {
            json!({
                "metadata": { "name": name, "labels": { "node.kubernetes.io/instance-type": it } },
                "status": {
                    "nodeInfo": { "architecture": arch, "containerRuntimeVersion": "containerd://1.7.22", "kubeletVersion": "v1.30.1" },
                    "allocatable": { "pods": "110" },
                    "capacity": { "ephemeral-storage": "100Gi" },
                    "images": [ { "names": ["nginx:1.27"], "sizeBytes": 70000000 } ]
                }
            })
        };
        let nodes: Vec<Node> =
            [mk("a", "m5.large", "x86_64"), mk("b", "m5.large", "amd64"), mk("c", "m6g.large", "arm64")]
                .iter()
                .map(|v| read_node(&o, v, "items[0]").unwrap())
                .collect();
        assert_eq!(nodes[0].arch, Ok("amd64"));
        assert_eq!(nodes[0].disk_bytes, Some(100 << 30));
        let pools = group(&nodes);
        let names: Vec<&str> = pools.iter().map(|p| p.0.as_str()).collect();
        assert_eq!(names, ["m5-large", "m6g-large"]);
        assert_eq!(pools[0].2, vec![0, 1]);
        let bad = json!({ "metadata": { "name": "x" }, "status": { "images": [ { "names": [], "sizeBytes": "abc" } ] } });
        let e = read_node(&o, &bad, "items[3]").unwrap_err();
        assert_eq!(
            e.to_string(),
            "nodes.json: items[3].status.images[0].sizeBytes: expected an integer, got \"abc\""
        );
    }
}
