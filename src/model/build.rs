//! Builds the initial `World` from a validated `Scenario` and a seed: draws every per-entity
//! random quantity (image and layer sizes, node bandwidth and disk, unpack speed) from its own
//! named stream, interns shared layers, and schedules the first events (node joins, workload
//! starts, outage starts).

use super::*;
use crate::engine::dist::Dist;
use crate::ids::{ImageId, LayerId, NodeId, PoolId, RegistryId, WorkloadId};
use crate::scenario::{ImageLayers, LayerSpec, WorkloadKind};

impl<'a> World<'a> {
    pub fn new(scn: &'a Scenario, seed: u64, sink: &'a mut dyn RunSink, opts: RunOptions) -> World<'a> {
        let pull_rows_wanted = sink.wants_pull_rows();
        let events_wanted = sink.wants_events();
        let streams = Streams::new(seed);
        let (images, layer_size_bytes, layer_unpacked_bytes) = materialize_images(scn, &streams);

        let mut nodes = Vec::new();
        let mut node_bw = Vec::new();
        for (pool_idx, pool) in scn.node_pools.iter().enumerate() {
            for k in 0..pool.count {
                let key = [pool_idx as u64, u64::from(k)];
                let bw = pool.bandwidth_bytes_per_s.sample(&mut streams.stream("node-bandwidth", &key));
                let disk = pool.disk_bytes.sample_u64(&mut streams.stream("node-disk", &key));
                let unpack =
                    scn.runtime.unpack_rate_bytes_per_s.sample(&mut streams.stream("node-unpack-rate", &key));
                let kc = &pool.kubelet;
                let puller = if kc.serialize_image_pulls {
                    PullSlots::serial()
                } else {
                    PullSlots::parallel(kc.max_parallel_image_pulls.map(i64::from))
                };
                node_bw.push(positive_or_unlimited(bw));
                // Ready once booted: `join.boot` drawn per node (0 unless given: nothing drawn).
                let boot_ns = pool.join_boot_ns.sample_u64_with(|| streams.stream("node-boot", &key));
                let join_at = SimTime::ZERO
                    .plus(pool.join_at)
                    .plus(pool.join_every.saturating_mul(u64::from(k)))
                    .plus(SimDuration(boot_ns));
                let disk_bytes = disk.max(1);
                nodes.push(Node {
                    name: format!("{}-{k}", pool.name),
                    pool: PoolId::from_idx(pool_idx),
                    joined: false,
                    join_at,
                    disk_bytes,
                    disk_used_bytes: 0,
                    unpack_rate_bytes_per_s: positive_or_unlimited(unpack),
                    layers: super::node_layers::NodeLayers::new(),
                    images: IdMap::new(),
                    superseded: Vec::new(),
                    puller,
                    throttle: TokenBucket::new(kc.registry_pull_qps, kc.registry_burst),
                    backoff: PullBackoffState::new(Backoff::new(
                        kc.image_pull_backoff_initial,
                        kc.image_pull_backoff_max,
                    )),
                    pull_intents: IdMap::new(),
                    active_pulls: Vec::new(),
                    unpacks_in_flight: 0,
                    pods: Vec::new(),
                    n_live_pods: 0,
                    requested: crate::scenario::Resources::NONE,
                    gc: super::gc::NodeGc::new(
                        World::gc_policy(kc),
                        join_at,
                        disk_bytes,
                        kc.eviction_imagefs_threshold,
                    ),
                    gc_records: super::gc::GcSlots::default(),
                });
            }
        }

        let mut registries = Vec::new();
        let mut reg_bw = Vec::new();
        for (r_idx, r) in scn.registries.iter().enumerate() {
            let key = [r_idx as u64];
            reg_bw.push(positive_or_unlimited(
                r.bandwidth_bytes_per_s.sample(&mut streams.stream("registry-bandwidth", &key)),
            ));
            let per_conn =
                r.per_connection_bytes_per_s.sample(&mut streams.stream("registry-per-connection", &key));
            let cold = r.per_connection_cold_bytes_per_s.as_ref().map(|d| {
                let rate = d.sample(&mut streams.stream("registry-per-connection-cold", &key));
                (positive_or_unlimited(rate), Vec::new())
            });
            registries.push(RegistryState {
                host: r.host.clone(),
                per_connection_bytes_per_s: positive_or_unlimited(per_conn),
                cold,
                row: RegistryRow { registry: r.host.clone(), ..RegistryRow::default() },
                windows: BTreeMap::new(),
            });
        }

        let n_images = images.len();
        let n_nodes = nodes.len();
        let expected_pods = expected_pods(scn);
        let mut raw_images = raw_image::RawImages::default();
        let image_raw: Vec<RawImageId> = scn
            .images
            .iter()
            .enumerate()
            .map(|(i, im)| raw_images.intern(&im.raw_ref, Some(ImageId::from_idx(i))))
            .collect();
        let labels = HotLabels::new(&streams);
        let mut net = Network::new(&node_bw, &reg_bw);
        let routing = super::routing::Routing::new(scn, &mut net);
        let p2p = super::p2p::P2p::new(scn, &node_bw, &reg_bw, &mut net);
        let mirrors = mirror::MirrorState::new(scn, &streams);
        let mut w = World {
            scn,
            sink,
            opts,
            now: SimTime::ZERO,
            queue: EventQueue::with_capacity(1024),
            streams,
            net,
            nodes,
            registries,
            images,
            layer_size_bytes,
            layer_unpacked_bytes,
            pods: pod_table::PodTable::with_capacity(expected_pods),
            // A pod has at most one pull attempt live (and the first wave has one per pod).
            pulls: Vec::with_capacity(expected_pods),
            free_pulls: Vec::new(),
            pulls_created: 0,
            net_generation: 0,
            net_wake_at: None,
            workloads: scn.workloads.iter().map(|_| workload::WorkloadState::default()).collect(),
            unscheduled: scn.workloads.iter().map(|_| VecDeque::new()).collect(),
            sched: scheduler::Index::new(scn),
            pod_keyrings: scn.workloads.iter().map(|wl| pod_keyring(scn, &wl.image_pull_secrets)).collect(),
            node_keyrings: scn.node_pools.iter().map(|p| node_keyring(&p.credentials)).collect(),
            // Validation refused an invalid allowlist, so the fallback never applies.
            allowlists: scn
                .node_pools
                .iter()
                .map(|p| {
                    crate::k8s::verification::Allowlist::new(
                        &p.kubelet.preloaded_images_verification_allowlist,
                    )
                    .unwrap_or_default()
                })
                .collect(),
            labels,
            pulled_records: Default::default(),
            node_accessible_records: Vec::new(),
            raw_images,
            image_raw,
            node_slot_limit: scn.runtime.node_download_slots().unwrap_or(0),
            node_slots: if scn.runtime.node_download_slots().is_some() {
                vec![NodeSlots::default(); n_nodes]
            } else {
                Vec::new()
            },
            pull_snapshots: Vec::new(),
            name_scratch: String::new(),
            pull_rows_wanted,
            events_wanted,
            event_scratch: String::new(),
            done_scratch: Vec::new(),
            touched_scratch: Vec::new(),
            all_pools: (0..scn.node_pools.len()).map(crate::ids::PoolId::from_idx).collect(),
            nodes_joined: 0,
            image_node_count: vec![0; n_images],
            totals: Totals::default(),
            workload_totals: vec![Totals::default(); scn.workloads.len()],
            failures_by_reason: [0; FailReason::ALL.len()],
            pulls_in_flight: 0,
            peak_pulls: crate::metrics::peaks::LazyMax::new(0),
            peak_egress: crate::metrics::peaks::LazyMax::new(0.0),
            pulls_queued: 0,
            pods_running: 0,
            pods_live: 0,
            peak_flows: 0,
            gc_images_removed: 0,
            gc_bytes_freed: 0,
            gc_free_space_failed: 0,
            timers: BTreeMap::new(),
            timers_pushed: 0,
            next_timer: SimTime::MAX,
            lazy: lazy::LazyState::new(scn),
            routing,
            p2p,
            mirrors,
        };

        // Initial events, in a fixed order: node joins, outages, workload starts.
        for i in 0..w.nodes.len() {
            let at = w.nodes[i].join_at;
            w.schedule(at, Event::NodeJoin { node: NodeId::from_idx(i) });
        }
        for (r_idx, r) in scn.registries.iter().enumerate() {
            for (from, _to) in &r.outages {
                w.schedule(
                    SimTime::ZERO.plus(*from),
                    Event::OutageStart { registry: RegistryId::from_idx(r_idx) },
                );
            }
        }
        for (w_idx, wl) in scn.workloads.iter().enumerate() {
            let at = match &wl.kind {
                WorkloadKind::Batch { at, .. } => *at,
                _ => wl.start,
            };
            let workload = WorkloadId::from_idx(w_idx);
            w.schedule(SimTime::ZERO.plus(at), Event::WorkloadStart { workload });
            if let WorkloadKind::Deployment { update: Some(u), .. }
            | WorkloadKind::DaemonSet { update: Some(u), .. } = &wl.kind
            {
                w.schedule(SimTime::ZERO.plus(u.at), Event::RolloutStart { workload });
            }
        }
        for (i_idx, img) in scn.images.iter().enumerate() {
            for push in &img.pushes {
                w.schedule(SimTime::ZERO.plus(push.at), Event::TagPush { image: ImageId::from_idx(i_idx) });
            }
        }
        w
    }

    /// Summary counters and rows at the end of the run.
    pub fn registry_rows(&self) -> Vec<RegistryRow> {
        self.registries.iter().map(|r| r.row.clone()).collect()
    }

    pub fn totals(&self) -> &Totals {
        &self.totals
    }

    /// `totals` per workload, in declaration order.
    pub fn workload_totals(&self) -> &[Totals] {
        &self.workload_totals
    }

    /// Failed pull attempts per reason, every reason listed (`summary.json`
    /// `pull_failures_by_reason`): the kubelet's own rejections (`qps`) and the runtime's
    /// (`disk_full`, `platform`, `not_found`) apart from what registries answered.
    pub fn failures_by_reason(&self) -> Vec<(&'static str, u64)> {
        FailReason::ALL.iter().map(|r| (r.name(), self.failures_by_reason[*r as usize])).collect()
    }

    pub fn peak_flows(&self) -> u64 {
        self.peak_flows
    }

    pub fn flows_recomputed(&self) -> u64 {
        self.net.flows_recomputed_total
    }
}

/// Pod pull secrets as a keyring: a secret holds an entry for every registry that accepts it
/// (what a working dockerconfigjson for that registry would contain).
fn pod_keyring(scn: &Scenario, secrets: &[String]) -> Keyring<Credential> {
    let mut k = Keyring::new();
    for s in secrets {
        for r in scn.registries.iter().filter(|r| r.accepts.contains(s)) {
            k.add(&r.host, Credential { secret: s.clone(), from_pod: true });
        }
    }
    k
}

/// A pool's docker-config entries (`match` patterns) as a keyring.
fn node_keyring(creds: &[crate::scenario::NodeCredential]) -> Keyring<Credential> {
    let mut k = Keyring::new();
    for c in creds {
        k.add(&c.match_pattern, Credential { secret: c.secret.clone(), from_pod: false });
    }
    k
}

/// Bandwidths and rates: non-positive or NaN draws are treated as the smallest positive rate
/// (validation rejects non-positive constants; a distribution can still draw near zero).
fn positive_or_unlimited(x: f64) -> f64 {
    if x.is_nan() || x <= 0.0 {
        1.0
    } else {
        x
    }
}

/// Images with their layers, and the compressed and unpacked size of every layer. Shared
/// layer ids are interned once (first occurrence draws the sizes); unique layers get their own
/// id. A layer without `uncompressed_size` unpacks to its size x `runtime.uncompressed_ratio`.
fn materialize_images(scn: &Scenario, streams: &Streams) -> (Vec<Image>, Vec<u64>, Vec<u64>) {
    let ratio = scn.runtime.uncompressed_ratio;
    let unpacked_of = |size: u64, spec: Option<&Dist>, draw: &mut dyn FnMut(&Dist) -> u64| match spec {
        Some(d) => draw(d),
        None => crate::engine::dist::to_u64((size as f64 * ratio).round()),
    };
    let mut sizes = LayerSizes::default();
    let mut shared: BTreeMap<String, LayerId> = BTreeMap::new();
    let mut images = Vec::with_capacity(scn.images.len());
    let mut intern = |spec: &LayerSpec, key: &[u64], sizes: &mut LayerSizes| -> LayerId {
        let draw = |d: &Dist, label: &str| d.sample_u64(&mut streams.stream(label, key));
        match &spec.shared_id {
            Some(id) => {
                if let Some(l) = shared.get(id) {
                    return *l;
                }
                let key = [hash_str(id)];
                let size = spec.size_bytes.sample_u64(&mut streams.stream("shared-layer-size", &key));
                let unpacked = unpacked_of(size, spec.uncompressed_bytes.as_ref(), &mut |d| {
                    d.sample_u64(&mut streams.stream("shared-layer-unpacked-size", &key))
                });
                let l = sizes.push(size, unpacked);
                shared.insert(id.clone(), l);
                l
            }
            None => {
                let size = draw(&spec.size_bytes, "layer-size");
                let unpacked = unpacked_of(size, spec.uncompressed_bytes.as_ref(), &mut |d| {
                    draw(d, "layer-unpacked-size")
                });
                sizes.push(size, unpacked)
            }
        }
    };
    for (i_idx, img) in scn.images.iter().enumerate() {
        let mut layers = Vec::new();
        match &img.layers {
            ImageLayers::Explicit(specs) => {
                for (l_idx, spec) in specs.iter().enumerate() {
                    layers.push(intern(spec, &[i_idx as u64, l_idx as u64], &mut sizes));
                }
            }
            ImageLayers::Drawn { size_bytes, layer_count, base } => {
                for (l_idx, spec) in base.iter().enumerate() {
                    layers.push(intern(spec, &[i_idx as u64, 1_000_000 + l_idx as u64], &mut sizes));
                }
                let total = size_bytes.sample_u64(&mut streams.stream("image-size", &[i_idx as u64]));
                let n = u64::from((*layer_count).max(1));
                for k in 0..n {
                    // Even split; the remainder goes to the top layer.
                    let size = total / n + if k == n - 1 { total % n } else { 0 };
                    layers.push(sizes.push(size, unpacked_of(size, None, &mut |_| 0)));
                }
            }
            ImageLayers::Unknown => {}
        }
        let size_bytes = layers.iter().map(|l| sizes.compressed[l.idx()]).sum();
        // Pushed digests: a layer keyed by (image, 2_000_000 + push, layer) when unique.
        let mut pushes = Vec::new();
        for (k, push) in img.pushes.iter().enumerate() {
            let layers: Vec<LayerId> = push
                .layers
                .iter()
                .enumerate()
                .map(|(l_idx, spec)| {
                    intern(spec, &[i_idx as u64, 2_000_000 + k as u64, l_idx as u64], &mut sizes)
                })
                .collect();
            let size_bytes = layers.iter().map(|l| sizes.compressed[l.idx()]).sum();
            pushes.push(ImageVersion { at: SimTime::ZERO.plus(push.at), layers, size_bytes });
        }
        images.push(Image { layers, size_bytes, pushes });
    }
    (images, sizes.compressed, sizes.unpacked)
}

/// Every layer's compressed and unpacked size, indexed by `LayerId`.
#[derive(Default)]
struct LayerSizes {
    compressed: Vec<u64>,
    unpacked: Vec<u64>,
}

impl LayerSizes {
    fn push(&mut self, compressed: u64, unpacked: u64) -> LayerId {
        self.compressed.push(compressed);
        self.unpacked.push(unpacked);
        LayerId::from_idx(self.compressed.len() - 1)
    }
}

/// FNV-1a of a string, to key a stream by a shared layer's name (stable across runs).
fn hash_str(s: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in s.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

/// The pods the workloads create without rollouts (a rolling update's surge pods grow the
/// table as usual): the pod table is allocated once instead of being copied as it doubles
/// (150,000 pods are 26 MB). An estimate only; capped so a huge declared count allocates
/// nothing up front.
fn expected_pods(scn: &Scenario) -> usize {
    let nodes: u64 = scn.node_pools.iter().map(|p| u64::from(p.count)).sum();
    let n: u64 = scn
        .workloads
        .iter()
        .map(|w| match &w.kind {
            WorkloadKind::Deployment { replicas, .. } => u64::from(*replicas),
            WorkloadKind::Batch { count, .. } => u64::from(*count),
            WorkloadKind::Poisson { count, .. } => count.unwrap_or(0),
            WorkloadKind::DaemonSet { .. } => nodes,
            WorkloadKind::Replay { pods } => pods.len() as u64,
        })
        .sum();
    usize::try_from(n.min(1 << 22)).unwrap_or(0)
}
