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

/// The first rate-limit key of a NAT's address (node indices are below it).
const NAT_KEYS: u32 = 1 << 31;

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
    /// The `[[link]]`s each flow in flight crosses (only flows that cross one).
    crossing: BTreeMap<FlowId, Vec<u32>>,
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
            crossing: BTreeMap::new(),
        }
    }

    fn pair(&self, pool: PoolId, registry: RegistryId) -> usize {
        pool.idx() * self.n_registries + registry.idx()
    }

    /// The `[[link]]` indices a download to a node of `pool` from `registry` crosses.
    fn crossed(&self, pool: PoolId, registry: RegistryId) -> impl Iterator<Item = u32> {
        self.via[self.pair(pool, registry)].into_iter().filter(|l| *l != NONE)
    }

    /// The key of a per-node rate-limit budget: the node, or the NAT link whose address it
    /// reaches `registry` from (keys from `NAT_KEYS` on).
    pub(super) fn address_key(&self, pool: PoolId, registry: RegistryId, node: NodeId) -> u32 {
        if !self.on {
            return node.0;
        }
        match self.nat[self.pair(pool, registry)] {
            NONE => node.0,
            // Apart from every node's and from a pull-through cache's (`mirror`, from the top).
            l => NAT_KEYS + l,
        }
    }

    /// Flow `flow`, crossing the `[[link]]`s `crossed`, started.
    fn flow_started(&mut self, now: SimTime, flow: FlowId, crossed: Vec<u32>) {
        for &l in &crossed {
            let s = &mut self.stats[l as usize];
            if s.flows == 0 {
                s.busy_since = now;
            }
            s.flows += 1;
            s.peak_flows = s.peak_flows.max(s.flows);
        }
        self.crossing.insert(flow, crossed);
    }

    /// Flow `flow` ended (completed or aborted) having moved `bytes`; nothing if it crossed no
    /// `[[link]]`.
    pub(super) fn flow_ended(&mut self, now: SimTime, flow: FlowId, bytes: u64) {
        let Some(crossed) = self.crossing.remove(&flow) else { return };
        for l in crossed {
            let s = &mut self.stats[l as usize];
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
        self.start_download_through(node, registry, None, cap_bytes_per_s, size, owner)
    }

    /// `start_download`, and with `upstream` a pull-through cache's miss: from the cache's
    /// egress through the upstream's, across the links between the node and the cache and
    /// those between the cluster and the upstream (the cache sits in the cluster: its fetch
    /// crosses what the node's own fetch from the upstream would).
    pub(super) fn start_download_through(
        &mut self,
        node: NodeId,
        registry: RegistryId,
        upstream: Option<RegistryId>,
        cap_bytes_per_s: f64,
        size: u64,
        owner: FlowOwner,
    ) -> FlowId {
        // The common case first: nothing to route, nothing allocated (every download passes here).
        if !self.routing.on && upstream.is_none() {
            return self.net.add_flow(self.now, node.idx(), registry.idx(), cap_bytes_per_s, size, owner);
        }
        let source = self.net.registry_link_id(registry.idx());
        let mut via: Vec<usize> = upstream.map(|u| self.net.registry_link_id(u.idx())).into_iter().collect();
        if !self.routing.on {
            return self.net.add_routed_flow(
                self.now,
                node.idx(),
                source,
                &via,
                cap_bytes_per_s,
                size,
                owner,
            );
        }
        let pool = self.nodes[node.idx()].pool;
        let mut crossed: Vec<u32> = self.routing.crossed(pool, registry).collect();
        for l in upstream.into_iter().flat_map(|u| self.routing.crossed(pool, u)) {
            if !crossed.contains(&l) {
                crossed.push(l);
            }
        }
        via.extend(crossed.iter().map(|l| self.routing.net_ids[*l as usize]));
        let flow = self.net.add_routed_flow(self.now, node.idx(), source, &via, cap_bytes_per_s, size, owner);
        if !crossed.is_empty() {
            self.routing.flow_started(self.now, flow, crossed);
        }
        flow
    }

    /// A download flow ended (completed or aborted) having moved `bytes`.
    pub(super) fn download_ended(&mut self, flow: FlowId, bytes: u64) {
        if self.routing.on {
            self.routing.flow_ended(self.now, flow, bytes);
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
