//! `[[link]]`: the shared links a download crosses between its registry and its node (a NAT
//! gateway, a zone uplink), the public address a NAT gives the nodes behind it, and each
//! link's counters for `summary.json`.
//!
//! The links a (pool, registry) pair's downloads cross are worked out once at build time. A
//! download with none is an ordinary network flow, so scenarios without `[[link]]` run exactly
//! as before; one with some is a routed flow (`Network::add_routed_flow`), which the general
//! fill serves. Docker Hub counts anonymous pulls per client address, and behind a NAT every
//! node has the gateway's (runtime-reference §2), so a registry's `scope = "node"` rate limit
//! keys the nodes behind a `shared_address` link by the link, not by the node.

use super::network::{FlowOwner, Network};
use super::*;
use crate::ids::FlowId;
use crate::ids::PoolId;

/// No link in a `via` slot.
const NONE: u32 = u32::MAX;

/// One `[[link]]`'s counters: bytes that crossed it and the time it carried any flow.
#[derive(Clone, Debug, Default)]
pub(crate) struct LinkStats {
    pub(crate) bytes: u64,
    pub(crate) busy: SimDuration,
    flows: u32,
    busy_since: SimTime,
    pub(crate) peak_flows: u32,
}

pub(super) struct Routing {
    /// Whether the scenario has any `[[link]]` (every hook checks this first).
    pub(super) on: bool,
    n_registries: usize,
    /// Per (pool, registry), pool-major: the indices (into `links`) of the links crossed.
    via: Vec<[u32; 2]>,
    /// Per (pool, registry): the `shared_address` link whose address the pool's nodes use for
    /// that registry, or `NONE`.
    nat: Vec<u32>,
    /// Per `[[link]]`: its network link id.
    net_ids: Vec<usize>,
    pub(super) stats: Vec<LinkStats>,
}

impl Routing {
    pub(super) fn new(scn: &Scenario, net: &mut Network) -> Routing {
        let n_registries = scn.registries.len();
        let net_ids: Vec<usize> = scn.links.iter().map(|l| net.add_link(l.bandwidth_bytes_per_s)).collect();
        let mut via = Vec::with_capacity(scn.node_pools.len() * n_registries);
        let mut nat = Vec::with_capacity(via.capacity());
        for pool in 0..scn.node_pools.len() {
            for r in 0..n_registries {
                let (pool, r) = (PoolId(pool as u32), RegistryId(r as u32));
                let mut v = [NONE; 2];
                let mut address = NONE;
                // Validation allows at most two links per pair, one of them with an address.
                for (i, l) in scn.links.iter().enumerate().filter(|(_, l)| l.carries(pool, r)) {
                    let slot = usize::from(v[0] != NONE);
                    v[slot] = i as u32;
                    if l.shared_address {
                        address = i as u32;
                    }
                }
                via.push(v);
                nat.push(address);
            }
        }
        Routing {
            on: !scn.links.is_empty(),
            n_registries,
            via,
            nat,
            net_ids,
            stats: vec![LinkStats::default(); scn.links.len()],
        }
    }

    fn pair(&self, pool: PoolId, registry: RegistryId) -> usize {
        pool.idx() * self.n_registries + registry.idx()
    }

    /// The network ids of the links a download to a node of `pool` from `registry` crosses.
    pub(super) fn via_links(&self, pool: PoolId, registry: RegistryId) -> ([usize; 2], usize) {
        let v = self.via[self.pair(pool, registry)];
        let mut out = [0; 2];
        let mut n = 0;
        for l in v.into_iter().filter(|l| *l != NONE) {
            out[n] = self.net_ids[l as usize];
            n += 1;
        }
        (out, n)
    }

    /// The `[[link]]` indices a download to a node of `pool` from `registry` crosses.
    fn crossed(&self, pool: PoolId, registry: RegistryId) -> impl Iterator<Item = usize> {
        self.via[self.pair(pool, registry)].into_iter().filter(|l| *l != NONE).map(|l| l as usize)
    }

    /// The key of a per-node rate-limit budget: the node, or the NAT link whose address it
    /// reaches `registry` from (keys above every node id).
    pub(super) fn address_key(&self, pool: PoolId, registry: RegistryId, node: NodeId) -> u32 {
        if !self.on {
            return node.0;
        }
        match self.nat[self.pair(pool, registry)] {
            NONE => node.0,
            l => u32::MAX - l,
        }
    }

    /// A flow through the links of (`pool`, `registry`) started.
    pub(super) fn flow_started(&mut self, now: SimTime, pool: PoolId, registry: RegistryId) {
        let crossed: Vec<usize> = self.crossed(pool, registry).collect();
        for l in crossed {
            let s = &mut self.stats[l];
            if s.flows == 0 {
                s.busy_since = now;
            }
            s.flows += 1;
            s.peak_flows = s.peak_flows.max(s.flows);
        }
    }

    /// A flow through the links of (`pool`, `registry`) ended having moved `bytes`.
    pub(super) fn flow_ended(&mut self, now: SimTime, pool: PoolId, registry: RegistryId, bytes: u64) {
        let crossed: Vec<usize> = self.crossed(pool, registry).collect();
        for l in crossed {
            let s = &mut self.stats[l];
            s.bytes += bytes;
            s.flows -= 1;
            if s.flows == 0 {
                s.busy = SimDuration(s.busy.0.saturating_add(now.since(s.busy_since).0));
            }
        }
    }

    /// Closes the busy intervals still open at `end` (the run's end).
    pub(super) fn close(&mut self, end: SimTime) {
        for s in &mut self.stats {
            if s.flows > 0 {
                s.busy = SimDuration(s.busy.0.saturating_add(end.since(s.busy_since).0));
                s.busy_since = end;
            }
        }
    }
}

impl World<'_> {
    /// Starts the download of `size` bytes of `owner.layer` to `node` from `registry`, across
    /// the shared links on the way.
    pub(super) fn start_download(
        &mut self,
        node: NodeId,
        registry: RegistryId,
        cap_bytes_per_s: f64,
        size: u64,
        owner: FlowOwner,
    ) -> FlowId {
        if !self.routing.on {
            return self.net.add_flow(self.now, node.idx(), registry.idx(), cap_bytes_per_s, size, owner);
        }
        let pool = self.nodes[node.idx()].pool;
        let (via, n) = self.routing.via_links(pool, registry);
        self.routing.flow_started(self.now, pool, registry);
        let source = self.net.registry_link_id(registry.idx());
        self.net.add_routed_flow(self.now, node.idx(), source, &via[..n], cap_bytes_per_s, size, owner)
    }

    /// A download from `registry` to `node` ended (completed or aborted) having moved `bytes`.
    pub(super) fn download_ended(&mut self, node: NodeId, registry: RegistryId, bytes: u64) {
        if self.routing.on {
            let pool = self.nodes[node.idx()].pool;
            self.routing.flow_ended(self.now, pool, registry, bytes);
        }
    }

    /// `summary.json` `links` and `p2p` at the run's end.
    pub(crate) fn distribution_results(
        &mut self,
        end: SimTime,
    ) -> (Vec<crate::metrics::distribution::LinkResult>, Option<crate::metrics::distribution::P2pResult>)
    {
        use crate::metrics::distribution::{LinkResult, P2pResult};
        self.routing.close(end);
        let links = self
            .scn
            .links
            .iter()
            .zip(&self.routing.stats)
            .map(|(spec, s)| {
                let busy_s = s.busy.as_secs_f64();
                LinkResult {
                    name: spec.name.clone(),
                    bandwidth_bytes_per_s: spec.bandwidth_bytes_per_s,
                    bytes: s.bytes,
                    busy_s,
                    utilization_while_busy: (busy_s > 0.0)
                        .then(|| s.bytes as f64 / busy_s / spec.bandwidth_bytes_per_s),
                    peak_downloads: s.peak_flows,
                }
            })
            .collect();
        let p2p = self.scn.p2p.as_ref().map(|spec| {
            let s = &self.p2p.stats;
            P2pResult {
                mode: match spec.mode {
                    crate::scenario::P2pMode::Spegel => "spegel",
                    crate::scenario::P2pMode::Pieces => "pieces",
                },
                blobs_from_peers: s.blobs_from_peers,
                bytes_from_peers: s.bytes_from_peers,
                lookups_missed: s.lookups_missed,
                manifests_from_peers: s.manifests_from_peers,
            }
        });
        (links, p2p)
    }
}
