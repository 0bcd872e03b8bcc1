//! `[p2p]`: the nodes fetch blobs from each other (runtime-reference §7), two documented
//! approximations at the fluid level.
//!
//! **Spegel** (`mode = "spegel"`). containerd asks the local Spegel first (a `hosts.toml` entry
//! for resolve and pull), then the registry. Spegel advertises the digests of every image in a
//! node's content store once the image is created (at the end of its pull; its peers find
//! it `advertise_delay` later, 0 by default) and finds a provider in `lookup` (~20 ms). So:
//! - resolve: when another node holds the digest the tag points to, the manifest and config
//!   come from it, `lookup` after the prelude starts: no registry request, no Docker Hub pull
//!   counted. Otherwise the registry's prelude starts `lookup` later (Spegel answered 404);
//! - each blob request goes to Spegel (`lookup`): when a node advertises the blob and still
//!   has it in its content store, one of them (drawn uniformly, its own stream) serves it
//!   whole from its egress (`upload`, default its pool's bandwidth) at most at
//!   `per_connection`; when none does, the request then goes to the registry, one registry
//!   round trip later. No gain when no peer has the content (a cold, fleet-wide start).
//!
//! **Pieces** (`mode = "pieces"`: Kraken, Dragonfly). A blob's download joins the blob's swarm
//! `tracker_latency` after it is requested (the tracker's or scheduler's answer). The swarm is
//! one link whose capacity is what its members can upload: every node that holds the blob or
//! is downloading it gives its `upload` split evenly over the active swarms it is in (a
//! downloader's share counted (L-1)/L with L downloaders: nobody uploads to itself), plus the
//! origins: the registry's `bandwidth` split over its active swarms. Each download then gets
//! its max-min share of the swarm and of its node's ingress. Pieces are small (4 MB in Kraken)
//! so a downloader uploads from its first milliseconds; piece selection and the peer limit
//! per torrent are not modelled. The memberships and capacities live in `swarms`.
//!
//! Downloads served by peers are routed flows (`Network::add_routed_flow`); the registry's
//! `blob_bytes` counts only what it served, `summary.json` `p2p` the rest. Every hook is
//! behind `P2p::on`.

use super::network::{FlowDone, FlowOwner};
use super::swarms::Swarms;
use super::*;
use crate::ids::FlowId;
use crate::scenario::{P2pMode, P2pSpec};
use rand::Rng;

/// Where a peer-served download comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Served {
    Peer(NodeId),
    Swarm(LayerId),
}

/// `summary.json` `p2p`.
#[derive(Clone, Debug, Default)]
pub(crate) struct P2pStats {
    pub(crate) blobs_from_peers: u64,
    pub(crate) bytes_from_peers: u64,
    pub(crate) lookups_missed: u64,
    pub(crate) manifests_from_peers: u64,
}

pub(super) struct P2p {
    pub(super) on: bool,
    mode: P2pMode,
    /// Spegel: each node's egress link (its upload to peers).
    egress: Vec<usize>,
    /// Spegel: per layer and per image, the nodes that advertise it (in advertising order).
    /// Each with the time its peers can find it from (`advertise_delay` after its pull).
    layer_holders: BTreeMap<LayerId, Vec<(NodeId, SimTime)>>,
    image_holders: BTreeMap<ImageId, Vec<(NodeId, SimTime)>>,
    /// Requests whose first answer (a lookup, a tracker) has come: the next answer is the
    /// registry's (Spegel found no peer) or the swarm's.
    deferred: BTreeSet<(PullId, LayerId)>,
    served: BTreeMap<FlowId, Served>,
    /// Pieces: the swarms, their members and capacities.
    swarms: Swarms,
    pub(super) stats: P2pStats,
}

impl P2p {
    pub(super) fn new(scn: &Scenario, node_bw: &[f64], reg_bw: &[f64], net: &mut network::Network) -> P2p {
        let Some(spec) = &scn.p2p else {
            return P2p {
                on: false,
                mode: P2pMode::Spegel,
                egress: Vec::new(),
                layer_holders: BTreeMap::new(),
                image_holders: BTreeMap::new(),
                deferred: BTreeSet::new(),
                served: BTreeMap::new(),
                swarms: Swarms::new(Vec::new(), Vec::new()),
                stats: P2pStats::default(),
            };
        };
        let upload: Vec<f64> = node_bw.iter().map(|bw| spec.upload_bytes_per_s.unwrap_or(*bw)).collect();
        let egress = match spec.mode {
            P2pMode::Spegel => upload.iter().map(|u| net.add_link(*u)).collect(),
            P2pMode::Pieces => Vec::new(),
        };
        P2p {
            on: true,
            mode: spec.mode,
            egress,
            layer_holders: BTreeMap::new(),
            image_holders: BTreeMap::new(),
            deferred: BTreeSet::new(),
            served: BTreeMap::new(),
            swarms: Swarms::new(upload, reg_bw.to_vec()),
            stats: P2pStats::default(),
        }
    }
}

/// Records that `node` advertises from `from` (an earlier advertisement stands).
fn advertise(v: &mut Vec<(NodeId, SimTime)>, node: NodeId, from: SimTime) {
    if let Err(i) = v.binary_search_by_key(&node, |h| h.0) {
        v.insert(i, (node, from));
    }
}

impl World<'_> {
    fn p2p_spec(&self) -> &P2pSpec {
        self.scn.p2p.as_ref().expect("p2p on")
    }

    /// Whether `pull`'s blobs go through the peers (its pool runs the agent, its registry is
    /// served, its image is not lazy).
    fn p2p_serves(&self, pull: PullId) -> bool {
        let p = &self.pulls[pull.idx()];
        let (Some(registry), Some(img)) = (p.registry, p.image) else { return false };
        let pool = self.nodes[p.node.idx()].pool;
        self.p2p_spec().serves(pool, registry) && self.scn.images[img.idx()].lazy.is_none()
    }

    /// The delay of a blob request sent now: Spegel's lookup, the swarm's tracker, or the
    /// registry's round trip (counted).
    pub(super) fn blob_request_delay(
        &mut self,
        registry: RegistryId,
        pull: PullId,
        request_no: u64,
    ) -> SimDuration {
        if !self.p2p.on || !self.p2p_serves(pull) {
            return self.round_trip(registry, pull, request_no);
        }
        match self.p2p.mode {
            P2pMode::Spegel => self.p2p_spec().lookup,
            P2pMode::Pieces => {
                let p = &self.pulls[pull.idx()];
                let key =
                    [u64::from(p.pod.0), u64::from(p.container_index), u64::from(p.attempt), request_no];
                let streams = &self.streams;
                SimDuration(
                    self.p2p_spec()
                        .tracker_latency_ns
                        .sample_u64_with(|| streams.stream("p2p-tracker", &key)),
                )
            }
        }
    }

    /// Spegel's resolve at the prelude's start: `Ok(when)` the manifest came from a peer,
    /// `Err(when)` the registry's prelude starts.
    pub(super) fn p2p_resolve(&mut self, pull: PullId, start: SimTime) -> Result<SimTime, SimTime> {
        if self.p2p.mode != P2pMode::Spegel || !self.p2p_serves(pull) {
            return Err(start);
        }
        let at = SimTime(start.0.saturating_add(self.p2p_spec().lookup.0));
        let (node, img) = (self.pulls[pull.idx()].node, self.pulls[pull.idx()].image.expect("served"));
        let version = self.current_version(img, start);
        let holders = self.p2p.image_holders.get(&img).map_or(&[][..], Vec::as_slice);
        if holders
            .iter()
            .any(|&(h, from)| h != node && from <= start && self.node_has_digest(h, img, version))
        {
            self.pulls[pull.idx()].version = version;
            self.p2p.stats.manifests_from_peers += 1;
            return Ok(at);
        }
        Err(at)
    }

    /// A successful pull installed `img` on `node`: Spegel advertises its digests.
    pub(super) fn p2p_advertise(&mut self, node: NodeId, img: ImageId, version: u32) {
        if self.p2p.mode != P2pMode::Spegel {
            return;
        }
        let from = SimTime(self.now.0.saturating_add(self.p2p_spec().advertise_delay.0));
        advertise(self.p2p.image_holders.entry(img).or_default(), node, from);
        let layers = self.version_layers(img, version).to_vec();
        for l in layers {
            advertise(self.p2p.layer_holders.entry(l).or_default(), node, from);
        }
    }

    /// A blob request of a peer-served pull is answered: starts the download from a peer or
    /// the swarm, or sends it on to the registry; `false` when the registry answers this one.
    pub(super) fn p2p_blob_request(&mut self, pull: PullId, layer: LayerId) -> bool {
        if !self.p2p_serves(pull) || self.p2p.deferred.remove(&(pull, layer)) {
            return false;
        }
        match self.p2p.mode {
            P2pMode::Spegel => self.spegel_blob(pull, layer),
            P2pMode::Pieces => self.swarm_join(pull, layer),
        }
        true
    }

    fn spegel_blob(&mut self, pull: PullId, layer: LayerId) {
        let node = self.pulls[pull.idx()].node;
        let keeps_blob = !self.scn.runtime.discard_unpacked_layers;
        let holders = self.p2p.layer_holders.get(&layer).map_or(&[][..], Vec::as_slice);
        let now = self.now;
        let candidates: Vec<NodeId> = holders
            .iter()
            .filter(|(h, from)| {
                *h != node
                    && *from <= now
                    && match self.nodes[h.idx()].layers.get(layer) {
                        Some(LayerState::Present) => keeps_blob,
                        Some(LayerState::Fetched | LayerState::Unpacking) => true,
                        _ => false,
                    }
            })
            .map(|(h, _)| *h)
            .collect();
        if candidates.is_empty() {
            // Spegel answers 404; containerd tries the next host, the registry.
            self.p2p.stats.lookups_missed += 1;
            let (img, version) = {
                let p = &self.pulls[pull.idx()];
                (p.image.expect("served"), p.version)
            };
            let index =
                self.version_layers(img, version).iter().position(|l| *l == layer).expect("its layer");
            let registry = self.pulls[pull.idx()].registry.expect("served");
            let rtt = self.round_trip(registry, pull, 100 + index as u64);
            self.p2p.deferred.insert((pull, layer));
            let generation = self.pulls[pull.idx()].generation;
            self.schedule_in(rtt, Event::BlobRequest { pull, layer, generation });
            return;
        }
        let p = &self.pulls[pull.idx()];
        let key =
            [u64::from(p.pod.0), u64::from(p.container_index), u64::from(p.attempt), u64::from(layer.0)];
        let peer = candidates[self.streams.stream("p2p-peer", &key).gen_range(0..candidates.len())];
        let cap = self.peer_cap(node, layer);
        let size = self.layer_size_bytes[layer.idx()];
        let source = self.p2p.egress[peer.idx()];
        let flow =
            self.net.add_routed_flow(self.now, node.idx(), source, &[], cap, size, FlowOwner { pull, layer });
        self.p2p.served.insert(flow, Served::Peer(peer));
        self.nodes[node.idx()].layers.insert(layer, LayerState::Downloading { owner: pull, flow });
        self.sync_network_wake();
    }

    /// The cap of a download from peers: `per_connection`, and the unpack rate where the
    /// runtime decompresses while downloading (`download_cap_bytes_per_s`).
    fn peer_cap(&self, node: NodeId, layer: LayerId) -> f64 {
        self.unpack_limited_cap(self.p2p_spec().per_connection_bytes_per_s, node, layer)
    }

    fn swarm_join(&mut self, pull: PullId, layer: LayerId) {
        let node = self.pulls[pull.idx()].node;
        let registry = self.pulls[pull.idx()].registry.expect("served");
        let link = match self.p2p.swarms.link(layer) {
            Some(link) => link,
            None => {
                let link = self.net.add_link(f64::INFINITY);
                self.p2p.swarms.create(layer, registry, link);
                link
            }
        };
        self.p2p.swarms.join(node.0, layer);
        let changes = self.p2p.swarms.take_capacity_changes();
        let cap = self.peer_cap(node, layer);
        let size = self.layer_size_bytes[layer.idx()];
        let owner = FlowOwner { pull, layer };
        let flow =
            self.net.add_routed_flow_and_set(self.now, node.idx(), link, &[], cap, size, owner, &changes);
        self.p2p.served.insert(flow, Served::Swarm(layer));
        self.nodes[node.idx()].layers.insert(layer, LayerState::Downloading { owner: pull, flow });
        self.sync_network_wake();
    }

    /// A peer-served download ended at `at` (completed, or aborted: at the horizon, `at` is
    /// the run's end) having moved `bytes`: `true` if it was one (the caller then counts
    /// nothing for the registry).
    pub(super) fn p2p_download_ended(&mut self, d: &FlowDone, completed: bool, at: SimTime) -> bool {
        let Some(served) = self.p2p.served.remove(&d.flow) else { return false };
        self.p2p.stats.bytes_from_peers += d.bytes;
        if completed {
            self.p2p.stats.blobs_from_peers += 1;
        }
        if let Served::Swarm(layer) = served {
            let node = self.pulls[d.owner.pull.idx()].node;
            self.p2p.swarms.leave(node.0, layer, completed);
            let changes = self.p2p.swarms.take_capacity_changes();
            self.net.set_capacities(at, &changes);
        }
        true
    }
}
