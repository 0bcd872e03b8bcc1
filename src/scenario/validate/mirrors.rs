//! `[[registry]] mirrors` and `pull_through`: the hosts of containerd's `hosts.toml` and
//! pull-through caches. Read after every `[[registry]]`, since a mirror or an upstream may be
//! declared later in the file.
//!
//! A mirror entry is a host string (capabilities `pull` and `resolve`, dial timeout 30 s, the
//! defaults of containerd's `remotes/docker/config/hosts.go` and of Go's dialer in
//! `remotes/docker/resolver.go`) or a `{ host, capabilities, dial_timeout }` table; the table's
//! keys are checked here (the raw form keeps it a `toml::Value`, so that either form parses).

use super::quantity::Kind;
use super::{list, type_name, Ctx};
use crate::ids::RegistryId;
use crate::scenario::locate::KeyPath;
use crate::scenario::raw::RawScenario;
use crate::scenario::suggest;
use crate::scenario::{MirrorHost, PullThrough, RegistrySpec};
use crate::time::SimDuration;
use std::collections::BTreeMap;
use toml::Value;

/// containerd's dial timeout when `hosts.toml` gives none (Go's `net.Dialer{Timeout: 30s}` in
/// the default transport).
pub const DEFAULT_DIAL_TIMEOUT: SimDuration = SimDuration::from_secs(30);

const CAPABILITIES: [&str; 3] = ["pull", "resolve", "push"];
const TABLE_KEYS: [&str; 3] = ["host", "capabilities", "dial_timeout"];

/// The registry named `host`, or an error at `path` naming the registries and the closest one.
fn lookup(
    c: &mut Ctx,
    path: &KeyPath,
    host: &str,
    by_host: &BTreeMap<String, RegistryId>,
) -> Option<RegistryId> {
    if let Some(r) = by_host.get(host) {
        return Some(*r);
    }
    let hint = suggest::closest(host, by_host.keys().map(String::as_str))
        .map_or(String::new(), |h| format!(": did you mean {h:?}?"));
    c.err(
        path,
        format!(
            "no [[registry]] has host {host:?} (registries defined: {}){hint}; a mirror or an upstream is another [[registry]] of the scenario",
            list(by_host.keys())
        ),
    );
    None
}

/// One entry of `mirrors`.
fn mirror(
    c: &mut Ctx,
    path: &KeyPath,
    v: &Value,
    by_host: &BTreeMap<String, RegistryId>,
) -> Option<MirrorHost> {
    let (host, caps, dial) = match v {
        Value::String(s) => (s.as_str(), None, None),
        Value::Table(t) => {
            for k in t.keys() {
                if !TABLE_KEYS.contains(&k.as_str()) {
                    let hint = suggest::closest(k, TABLE_KEYS.iter().copied())
                        .map_or(String::new(), |h| format!(": did you mean {h:?}?"));
                    c.err(
                        &path.key(k),
                        format!("unknown key {k:?}{hint} (expected host, capabilities, dial_timeout)"),
                    );
                }
            }
            let host = match t.get("host") {
                Some(Value::String(s)) => s.as_str(),
                Some(other) => {
                    c.err(
                        &path.key("host"),
                        format!("expected a registry host string, got {}", type_name(other)),
                    );
                    return None;
                }
                None => {
                    c.err(path, "missing key \"host\"");
                    return None;
                }
            };
            (host, t.get("capabilities"), t.get("dial_timeout"))
        }
        other => {
            c.err(path, format!("expected a registry host string or a {{ host, capabilities, dial_timeout }} table, got {}", type_name(other)));
            return None;
        }
    };
    let registry = lookup(c, &path.key("host"), host, by_host);
    let (mut pull, mut resolve) = (true, true);
    if let Some(caps) = caps {
        let cp = path.key("capabilities");
        match caps {
            Value::Array(a) => {
                (pull, resolve) = (false, false);
                for (j, cap) in a.iter().enumerate() {
                    match cap.as_str() {
                        Some("pull") => pull = true,
                        Some("resolve") => resolve = true,
                        Some("push") => {}
                        Some(s) => c.err(
                            &cp.index(j, None),
                            format!(
                                "unknown capability {s:?} (expected pull, resolve, push){}",
                                suggest::closest(s, CAPABILITIES.iter().copied())
                                    .map_or(String::new(), |h| format!(": did you mean {h:?}?"))
                            ),
                        ),
                        None => {
                            c.err(&cp.index(j, None), format!("expected a string, got {}", type_name(cap)))
                        }
                    }
                }
                if !pull && !resolve && !a.is_empty() {
                    c.err(&cp, "a mirror needs \"pull\" or \"resolve\": with neither it is never used");
                }
                if a.is_empty() {
                    c.err(&cp, "must not be empty: a mirror needs \"pull\" or \"resolve\"");
                }
            }
            other => c.err(&cp, format!("expected an array of capabilities, got {}", type_name(other))),
        }
    }
    let dial_timeout = c.duration(&path.key("dial_timeout"), dial, DEFAULT_DIAL_TIMEOUT);
    Some(MirrorHost { registry: registry?, resolve, pull, dial_timeout })
}

/// Reads `mirrors` and `pull_through` of every registry into `specs`.
pub(super) fn mirrors(
    c: &mut Ctx,
    raw: &RawScenario,
    specs: &mut [RegistrySpec],
    by_host: &BTreeMap<String, RegistryId>,
) {
    let root = KeyPath::root();
    for (i, r) in raw.registry.iter().enumerate() {
        let p = root.key("registry").index(i, r.host.as_deref());
        for (j, v) in r.mirrors.iter().flatten().enumerate() {
            let mp = p.key("mirrors").index(j, None);
            let Some(m) = mirror(c, &mp, v, by_host) else { continue };
            if m.registry.idx() == i {
                c.err(&mp.key("host"), "a registry cannot be its own mirror (mirror cycle)");
                continue;
            }
            if specs[i].mirrors.iter().any(|o| o.registry == m.registry) {
                c.err(&mp.key("host"), "listed twice in mirrors");
                continue;
            }
            specs[i].mirrors.push(m);
        }
        if let Some(pt) = &r.pull_through {
            let pp = p.key("pull_through");
            let upstream = c.required(&pp, "upstream", &pt.upstream).cloned();
            let upstream = upstream.and_then(|u| lookup(c, &pp.key("upstream"), &u, by_host));
            if upstream.is_some_and(|u| u.idx() == i) {
                c.err(&pp.key("upstream"), "a pull-through cache cannot be its own upstream");
            }
            let capacity_bytes = match &pt.capacity {
                None => u64::MAX,
                Some(Value::String(s)) if s == "unlimited" => u64::MAX,
                Some(v) => {
                    c.scalar(&pp.key("capacity"), v, Kind::Size).map_or(u64::MAX, crate::engine::dist::to_u64)
                }
            };
            if let Some(u) = upstream.filter(|u| u.idx() != i) {
                specs[i].pull_through = Some(PullThrough { upstream: u, capacity_bytes });
            }
        }
    }
    // A cache whose upstream is a cache: its misses would need the upstream's misses first,
    // which the model does not chain.
    for (i, r) in raw.registry.iter().enumerate() {
        let Some(pt) = &specs[i].pull_through else { continue };
        if specs[pt.upstream.idx()].pull_through.is_some() {
            let p = root.key("registry").index(i, r.host.as_deref()).key("pull_through").key("upstream");
            c.err(
                &p,
                format!(
                    "{:?} is itself a pull-through cache: chained caches are not modelled",
                    specs[pt.upstream.idx()].host
                ),
            );
        }
    }
    // Mirror cycles (a lists b, b lists a): reported once, at the first registry on the cycle.
    let n = specs.len();
    let mut reported = vec![false; n];
    for start in 0..n {
        if reported[start] {
            continue;
        }
        if let Some(cycle) = find_cycle(specs, start) {
            for r in &cycle {
                reported[r.idx()] = true;
            }
            let names: Vec<&str> =
                cycle.iter().chain(cycle.first()).map(|r| specs[r.idx()].host.as_str()).collect();
            let p = root.key("registry").index(start, raw.registry[start].host.as_deref()).key("mirrors");
            c.err(&p, format!("mirror cycle: {}", names.join(" -> ")));
        }
    }
}

/// A cycle of mirror edges through `start`, in order from `start`, if there is one.
fn find_cycle(specs: &[RegistrySpec], start: usize) -> Option<Vec<RegistryId>> {
    // Depth-first over mirror edges, the path kept explicitly (lists are short).
    let mut stack: Vec<(usize, usize)> = vec![(start, 0)];
    let mut on_path = vec![false; specs.len()];
    let mut seen = vec![false; specs.len()];
    on_path[start] = true;
    seen[start] = true;
    while let Some(&mut (node, ref mut next)) = stack.last_mut() {
        let Some(m) = specs[node].mirrors.get(*next) else {
            on_path[node] = false;
            stack.pop();
            continue;
        };
        *next += 1;
        let to = m.registry.idx();
        if to == start {
            return Some(stack.iter().map(|(r, _)| RegistryId::from_idx(*r)).collect());
        }
        if !on_path[to] && !seen[to] {
            seen[to] = true;
            on_path[to] = true;
            stack.push((to, 0));
        }
    }
    None
}
