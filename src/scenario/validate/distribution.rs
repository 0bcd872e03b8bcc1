//! `[[link]]` and `[p2p]` (extensions): how bytes reach the nodes beyond one hop from a
//! registry. A `[[link]]` is a link shared by the downloads of chosen pools from chosen
//! registries (a NAT gateway, a zone uplink); a download crosses at most two. `[p2p]` makes
//! the nodes of chosen pools fetch the blobs of chosen registries from each other (Spegel, or
//! piece-based like Kraken and Dragonfly).

use super::pools::Pools;
use super::quantity::{Bound, Kind};
use super::registries::Registries;
use super::{list, select_by_name, unknown_value, Ctx};
use crate::ids::{PoolId, RegistryId};
use crate::scenario::locate::KeyPath;
use crate::scenario::raw::RawScenario;
use crate::scenario::{LinkSpec, P2pMode, P2pSpec};
use crate::time::SimDuration;
use std::collections::BTreeSet;

/// The registries a `registries = [...]` list names; `None` when the key is absent.
fn select_registries(
    c: &mut Ctx,
    path: &KeyPath,
    regs: &Registries,
    hosts: Option<&Vec<String>>,
) -> Option<Vec<RegistryId>> {
    select_by_name(c, path, hosts?, &regs.by_host, "[[registry]] with host", "registry host")
}

/// A bandwidth > 0 at `path`; `None` when absent or bad (the error said).
fn positive_bandwidth(c: &mut Ctx, path: &KeyPath, v: Option<&toml::Value>) -> Option<f64> {
    match c.scalar(path, v?, Kind::Bandwidth)? {
        b if b <= 0.0 => {
            c.err(path, "must be greater than 0");
            None
        }
        b => Some(b),
    }
}

/// Reads every `[[link]]`.
pub(super) fn links(c: &mut Ctx, raw: &RawScenario, pools: &Pools, regs: &Registries) -> Vec<LinkSpec> {
    let root = KeyPath::root();
    let mut names = BTreeSet::new();
    let mut out: Vec<LinkSpec> = Vec::new();
    for (i, t) in raw.link.iter().enumerate() {
        let p = root.key("link").index(i, t.name.as_deref());
        let name = c.name(&p, "name", &t.name);
        if !name.is_empty() && !names.insert(name.clone()) {
            c.err(&p.key("name"), format!("duplicate link name {name:?}; each [[link]] needs its own name"));
        }
        let given = c.required(&p, "bandwidth", &t.bandwidth);
        let bandwidth = positive_bandwidth(c, &p.key("bandwidth"), given).unwrap_or(f64::INFINITY);
        let node_pools = pools.select(c, &p.key("node_pools"), t.node_pools.as_ref());
        let registries = select_registries(c, &p.key("registries"), regs, t.registries.as_ref());
        out.push(LinkSpec {
            name,
            bandwidth_bytes_per_s: bandwidth,
            node_pools,
            registries,
            shared_address: t.shared_address.unwrap_or(false),
        });
    }
    // A download crosses at most two shared links (a NAT and an uplink, say).
    for pool in 0..pools.drafts.len() {
        for r in 0..regs.specs.len() {
            let (pool, r) = (PoolId(pool as u32), RegistryId(r as u32));
            let on: Vec<&LinkSpec> = out.iter().filter(|l| l.carries(pool, r)).collect();
            if on.len() > 2 {
                c.err(
                    &root.key("link"),
                    format!(
                        "downloads to pool {:?} from {:?} cross {} links ({}); at most two are modelled: \
                         narrow `node_pools` or `registries`",
                        pools.drafts[pool.idx()].name,
                        regs.specs[r.idx()].host,
                        on.len(),
                        list(on.iter().map(|l| l.name.as_str()))
                    ),
                );
                return out;
            }
            if on.iter().filter(|l| l.shared_address).count() > 1 {
                c.err(
                    &root.key("link"),
                    format!(
                        "downloads to pool {:?} from {:?} cross two links with `shared_address = true`; \
                         a node reaches a registry from one public address",
                        pools.drafts[pool.idx()].name,
                        regs.specs[r.idx()].host
                    ),
                );
                return out;
            }
        }
    }
    out
}

/// Reads `[p2p]`; `None` when absent or `enabled = false`.
pub(super) fn p2p(c: &mut Ctx, raw: &RawScenario, pools: &Pools, regs: &Registries) -> Option<P2pSpec> {
    let t = raw.p2p.as_ref()?;
    let p = KeyPath::root().key("p2p");
    let mode = match c.required(&p, "mode", &t.mode).map(String::as_str) {
        Some("spegel") => P2pMode::Spegel,
        Some("pieces") => P2pMode::Pieces,
        Some(other) => {
            c.err(
                &p.key("mode"),
                unknown_value(
                    format!("unknown p2p mode {other:?}"),
                    other,
                    &["spegel", "pieces"],
                    "\"spegel\" (a blob served whole by one peer) or \"pieces\" (Kraken, Dragonfly)",
                ),
            );
            P2pMode::Spegel
        }
        None => P2pMode::Spegel,
    };
    let registries = select_registries(c, &p.key("registries"), regs, t.registries.as_ref());
    let node_pools = pools.select(c, &p.key("node_pools"), t.node_pools.as_ref());
    let upload_bytes_per_s = positive_bandwidth(c, &p.key("upload"), t.upload.as_ref());
    let per_connection_bytes_per_s =
        positive_bandwidth(c, &p.key("per_connection"), t.per_connection.as_ref()).unwrap_or(f64::INFINITY);
    // Spegel finds a provider in ~20 ms (runtime-reference §7).
    let lookup = c.duration(&p.key("lookup"), t.lookup.as_ref(), SimDuration::from_millis(20));
    let advertise_delay =
        c.duration(&p.key("advertise_delay"), t.advertise_delay.as_ref(), SimDuration::ZERO);
    let tracker_latency_ns = c.dist_or(
        &p.key("tracker_latency"),
        t.tracker_latency.as_ref(),
        Kind::Duration,
        Bound::NonNegative,
        0.0,
    );
    if mode == P2pMode::Spegel && t.tracker_latency.is_some() {
        c.err(
            &p.key("tracker_latency"),
            "applies to mode = \"pieces\" only (Spegel has no tracker: use `lookup`)",
        );
    }
    for (key, given) in [("lookup", t.lookup.is_some()), ("advertise_delay", t.advertise_delay.is_some())] {
        if mode == P2pMode::Pieces && given {
            c.err(&p.key(key), "applies to mode = \"spegel\" only (a swarm's wait is `tracker_latency`)");
        }
    }
    if !t.enabled.unwrap_or(true) {
        return None;
    }
    Some(P2pSpec {
        mode,
        registries,
        node_pools,
        upload_bytes_per_s,
        per_connection_bytes_per_s,
        lookup,
        advertise_delay,
        tracker_latency_ns,
    })
}
