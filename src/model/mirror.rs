//! Mirrors (containerd `hosts.toml`) and pull-through caches (Harbor proxy projects,
//! distribution's `registry/proxy`, mirror.gcr.io).
//!
//! **Hosts.** A pull of an image whose registry lists `mirrors` resolves the tag at the mirrors
//! with the `resolve` capability, in order, then at the registry itself (containerd
//! `remotes/docker/config/hosts.go` orders them so, and `remotes/docker/resolver.go` `Resolve`
//! moves on to the next host on any error or error status). The pull's `registry` is the host
//! being tried: every request, rate limit, outage and counter then belongs to that host, and
//! pulls.csv shows it. A host in an outage when the prelude's first request is sent does not
//! answer: it costs its `dial_timeout`; a host that answers an error (an outage that starts
//! while a request is in flight, a 429 after the runtime's retries, a 401, a 503, a cache with
//! nothing to serve) costs what the prelude spent there. Then the next host is tried; the pull
//! fails only when the registry itself fails, with the registry's error (containerd returns the
//! first host's error: the message differs, the outcome does not). Blobs come from the first
//! host with the `pull` capability that did not fail this attempt's resolve (the registry last);
//! a blob request to a host that is down fails the attempt (containerd's fetcher moves on only
//! after a 404).
//!
//! **Pull-through caches.** A cache proxies one upstream: asked for an image of another
//! registry it answers 404 after a round trip (and is not used for its blobs). A HEAD at a cache is checked upstream with a HEAD (Harbor's proxy
//! `ManifestExist`; Docker Hub does not count it); when the upstream is in an outage the cache
//! serves the newest digest it holds of the image, and with none it answers an error. The
//! manifest GET of a digest the cache does not hold is fetched upstream, with the platform's
//! manifest and the config, under the cache's own rate-limit identity (one budget for the
//! cache, whatever the node). Blobs: a hit is a flow from the cache's egress; a miss is a flow
//! from the cache's egress through the upstream's, at the smaller of the two connection caps;
//! the first miss of a blob streams it and later requests for it wait until it is stored, then
//! are served as hits (distribution's proxy blob store shares in-flight fetches). Stored blobs
//! are evicted least recently used first when `capacity` is exceeded.
//!
//! Every hook runs only when `MirrorState::on` (some registry has mirrors or is a cache).

use super::network::FlowOwner;
use super::*;
use crate::engine::rng::Label;
use crate::scenario::MirrorHost;
use std::collections::BTreeSet;

/// A blob being fetched from upstream by one request; others wait for it.
struct Fetch {
    owner: PullId,
    /// Requests waiting for the blob, with their pull's generation.
    waiters: Vec<(PullId, u32)>,
}

/// A pull-through cache's store.
struct Cache {
    upstream: RegistryId,
    capacity_bytes: u64,
    used_bytes: u64,
    /// Stored blobs and the use tick of each; `lru` orders them by that tick.
    blobs: BTreeMap<LayerId, u64>,
    lru: BTreeMap<u64, LayerId>,
    tick: u64,
    /// Digests whose manifests (and config) the cache holds: (image, version).
    manifests: BTreeSet<(ImageId, u32)>,
    fetching: BTreeMap<LayerId, Fetch>,
}

/// The mirror and cache state of a run; empty and off without mirrors or caches.
pub(super) struct MirrorState {
    pub(super) on: bool,
    /// Per registry: its store when it is a pull-through cache.
    caches: Vec<Option<Cache>>,
    /// Per pull slot: the mirrors (bits by index in the list) that failed this attempt's resolve.
    failed: Vec<u64>,
    upstream_latency: Option<Label>,
}

impl MirrorState {
    pub(super) fn new(scn: &Scenario, streams: &Streams) -> MirrorState {
        let on = scn.registries.iter().any(|r| !r.mirrors.is_empty() || r.pull_through.is_some());
        if !on {
            return MirrorState { on, caches: Vec::new(), failed: Vec::new(), upstream_latency: None };
        }
        let caches = scn
            .registries
            .iter()
            .map(|r| {
                r.pull_through.as_ref().map(|pt| Cache {
                    upstream: pt.upstream,
                    capacity_bytes: pt.capacity_bytes,
                    used_bytes: 0,
                    blobs: BTreeMap::new(),
                    lru: BTreeMap::new(),
                    tick: 0,
                    manifests: BTreeSet::new(),
                    fetching: BTreeMap::new(),
                })
            })
            .collect();
        MirrorState {
            on,
            caches,
            failed: Vec::new(),
            upstream_latency: Some(streams.label("cache-upstream-latency")),
        }
    }

    fn cache(&self, r: RegistryId) -> Option<&Cache> {
        self.caches.get(r.idx()).and_then(Option::as_ref)
    }

    fn cache_mut(&mut self, r: RegistryId) -> Option<&mut Cache> {
        self.caches.get_mut(r.idx()).and_then(Option::as_mut)
    }
}

/// The rate-limit identity of a cache at its upstream: apart from every node's.
fn cache_identity(cache: RegistryId) -> u32 {
    u32::MAX - cache.0
}

impl World<'_> {
    /// The image's registry (the upstream of its hosts list) for `pull`.
    fn home_registry(&self, pull: PullId) -> Option<RegistryId> {
        self.pulls[pull.idx()].image.and_then(|i| self.scn.images[i.idx()].registry)
    }

    fn mirror_list(&self, home: RegistryId) -> &[MirrorHost] {
        &self.scn.registries[home.idx()].mirrors
    }

    /// A new attempt starts at the first host that resolves (the registry without one).
    pub(super) fn mirror_first_host(&mut self, pull: PullId, home: RegistryId) -> RegistryId {
        let i = pull.idx();
        if self.mirrors.failed.len() <= i {
            self.mirrors.failed.resize(i + 1, 0);
        }
        self.mirrors.failed[i] = 0;
        self.mirror_list(home).iter().find(|m| m.resolve).map_or(home, |m| m.registry)
    }

    /// The prelude's first request to a mirror that is down: it does not answer, and the
    /// runtime waits out its dial timeout. `None` for the registry itself (its outage answers
    /// as before) and for a host that is up.
    pub(super) fn mirror_dial_fails(
        &self,
        pull: PullId,
        host: RegistryId,
        start: SimTime,
    ) -> Option<SimTime> {
        let home = self.home_registry(pull)?;
        let m = self.mirror_list(home).iter().find(|m| m.registry == host)?;
        self.in_outage(host, start).then(|| start.plus(m.dial_timeout))
    }

    /// Whether `host`, when a pull-through cache, proxies the registry of `pull`'s image (its
    /// upstream, or itself when the image names the cache): a Harbor proxy project or a
    /// distribution proxy serves one upstream and answers 404 for anything else.
    fn cache_refuses(&self, pull: PullId, host: RegistryId) -> bool {
        let home = self.home_registry(pull);
        self.mirrors.cache(host).is_some_and(|c| home != Some(c.upstream) && home != Some(host))
    }

    /// The prelude's first request to a cache that does not proxy the image's registry: a 404
    /// after one round trip (`None` for any other host).
    pub(super) fn cache_not_found(
        &mut self,
        pull: PullId,
        host: RegistryId,
        start: SimTime,
    ) -> Option<SimTime> {
        if !self.cache_refuses(pull, host) {
            return None;
        }
        Some(start.plus(self.round_trip(host, pull, u64::from(self.pulls[pull.idx()].prelude_requests))))
    }

    /// The prelude failed at the host being tried: moves the attempt to the next host that
    /// resolves and starts its prelude now. False when the registry itself failed (the pull
    /// fails) or the failure is not the host's (no manifest for the platform).
    pub(super) fn mirror_next_host(&mut self, pull: PullId, reason: FailReason) -> bool {
        if reason == FailReason::Platform {
            return false;
        }
        let (Some(home), Some(host)) = (self.home_registry(pull), self.pulls[pull.idx()].registry) else {
            return false;
        };
        if host == home {
            return false;
        }
        let list = self.mirror_list(home);
        let Some(pos) = list.iter().position(|m| m.registry == host) else { return false };
        let next = list[pos + 1..].iter().find(|m| m.resolve).map_or(home, |m| m.registry);
        self.mirrors.failed[pull.idx()] |= 1 << pos.min(63);
        let p = &mut self.pulls[pull.idx()];
        p.registry = Some(next);
        p.prelude_failure = None;
        p.responses_429 = 0;
        p.get_step = GetStep::Manifest;
        self.begin_prelude(pull, next, self.now);
        true
    }

    /// The prelude succeeded: blobs come from the first host with `pull` that did not fail
    /// this attempt's resolve, the registry last.
    pub(super) fn mirror_pick_blob_host(&mut self, pull: PullId) {
        let Some(home) = self.home_registry(pull) else { return };
        let failed = self.mirrors.failed.get(pull.idx()).copied().unwrap_or(0);
        let host = self
            .mirror_list(home)
            .iter()
            .enumerate()
            .find(|(i, m)| {
                m.pull && failed & (1 << (*i).min(63)) == 0 && !self.cache_refuses(pull, m.registry)
            })
            .map_or(home, |(_, m)| m.registry);
        self.pulls[pull.idx()].registry = Some(host);
    }

    /// One request the cache sends upstream on behalf of `pull`'s request: counted at the
    /// upstream, its round trip added to `*t` (its own stream: `k` numbers the cache's requests
    /// within the node's request). `Err` when an outage of the upstream fails it.
    fn upstream_request(
        &mut self,
        pull: PullId,
        cache: RegistryId,
        up: RegistryId,
        k: u64,
        t: &mut SimTime,
    ) -> Result<(), FailReason> {
        self.registries[up.idx()].row.requests += 1;
        let p = &self.pulls[pull.idx()];
        let key = [
            u64::from(cache.0),
            u64::from(up.0),
            u64::from(p.pod.0),
            u64::from(p.container_index),
            u64::from(p.attempt),
            u64::from(p.prelude_requests),
            k,
        ];
        let label = self.mirrors.upstream_latency.expect("mirrors on");
        let streams = &self.streams;
        let rtt = self.scn.registries[up.idx()].latency_ns.sample_u64_with(|| streams.keyed(label, &key));
        let sent = *t;
        let answered = SimTime(sent.0.saturating_add(rtt));
        match self.outage_failure(up, sent, answered) {
            Some(at) => {
                *t = at;
                Err(FailReason::Outage)
            }
            None => {
                *t = answered;
                Ok(())
            }
        }
    }

    /// A HEAD (or, without one, a manifest GET) answered by `host` at `*t`: a cache first checks
    /// the tag upstream with a HEAD. Upstream down: the newest digest the cache holds, or an
    /// error with none. No-op for a host that is not a cache.
    pub(super) fn cache_check_tag(
        &mut self,
        pull: PullId,
        host: RegistryId,
        t: &mut SimTime,
    ) -> Result<(), FailReason> {
        let Some(up) = self.mirrors.cache(host).map(|c| c.upstream) else { return Ok(()) };
        match self.upstream_request(pull, host, up, 0, t) {
            Ok(()) => {
                self.registries[up.idx()].row.manifest_heads += 1;
                Ok(())
            }
            Err(reason) => {
                let img = self.pulls[pull.idx()].image.expect("a prelude has an image");
                let cache = self.mirrors.cache(host).expect("a cache");
                let held = cache.manifests.range((img, 0)..=(img, u32::MAX)).next_back().map(|(_, v)| *v);
                match held {
                    Some(v) => {
                        // The cache gives up on the upstream and serves its copy: the answer
                        // comes when the upstream request failed (`*t`).
                        self.pulls[pull.idx()].version = v;
                        Ok(())
                    }
                    None => Err(reason),
                }
            }
        }
    }

    /// The manifest GET answered by `host` at `*t`: a cache that does not hold the digest
    /// fetches the manifest (the platform's too for an index) and the config upstream, the
    /// manifest GET counted against the upstream's rate limit under the cache's identity.
    pub(super) fn cache_manifest_get(
        &mut self,
        pull: PullId,
        host: RegistryId,
        t: &mut SimTime,
    ) -> Result<(), FailReason> {
        let Some(up) = self.mirrors.cache(host).map(|c| c.upstream) else { return Ok(()) };
        let (img, version) = (self.pulls[pull.idx()].image.expect("image"), self.pulls[pull.idx()].version);
        if self.mirrors.cache(host).expect("cache").manifests.contains(&(img, version)) {
            return Ok(());
        }
        let sent = *t;
        self.upstream_request(pull, host, up, 1, t)?;
        self.registries[up.idx()].row.manifest_requests += 1;
        if !self.rate_limit_admits_as(up, cache_identity(host), sent) {
            self.registries[up.idx()].row.throttled += 1;
            return Err(FailReason::RateLimited);
        }
        if self.scn.images[img.idx()].platforms.as_ref().is_none_or(|p| p.len() > 1) {
            self.upstream_request(pull, host, up, 2, t)?;
            self.registries[up.idx()].row.manifest_requests += 1;
        }
        self.upstream_request(pull, host, up, 3, t)?;
        self.mirrors.cache_mut(host).expect("cache").manifests.insert((img, version));
        Ok(())
    }

    /// Whether `registry` is a pull-through cache (its blob requests go through `cache_blob`).
    pub(super) fn is_cache(&self, registry: RegistryId) -> bool {
        self.mirrors.cache(registry).is_some()
    }

    /// The blob request for `layer` answered by cache `cache`: a hit is served, a miss streams
    /// through the upstream (or waits for the miss already streaming it).
    pub(super) fn cache_blob(&mut self, pull: PullId, layer: LayerId, cache: RegistryId) {
        if self.in_outage(cache, self.now) {
            // A waiter handed a broken fetch while the cache itself is down.
            self.finish_pull(pull, Some(FailReason::Outage));
            return;
        }
        let c = self.mirrors.cache_mut(cache).expect("a cache");
        if c.blobs.contains_key(&layer) {
            c.tick += 1;
            let tick = c.tick;
            let old = c.blobs.insert(layer, tick).expect("stored");
            c.lru.remove(&old);
            c.lru.insert(tick, layer);
            self.start_blob_flow(pull, layer, cache, None);
            return;
        }
        let generation = self.pulls[pull.idx()].generation;
        if let Some(f) = c.fetching.get_mut(&layer) {
            f.waiters.push((pull, generation));
            return;
        }
        let up = c.upstream;
        if self.in_outage(up, self.now) {
            self.finish_pull(pull, Some(FailReason::Outage));
            return;
        }
        // The cache's blob GET upstream (no round trip of its own in the model: the bytes
        // stream through as they arrive).
        self.registries[up.idx()].row.requests += 1;
        self.mirrors
            .cache_mut(cache)
            .expect("cache")
            .fetching
            .insert(layer, Fetch { owner: pull, waiters: Vec::new() });
        self.start_blob_flow(pull, layer, cache, Some(up));
    }

    /// A blob flow to `pull`'s node from `host`'s egress, through `via`'s when given (a cache's
    /// miss) at the smaller of the two connection caps.
    pub(super) fn start_blob_flow(
        &mut self,
        pull: PullId,
        layer: LayerId,
        host: RegistryId,
        via: Option<RegistryId>,
    ) {
        let node = self.pulls[pull.idx()].node;
        let size = self.layer_size_bytes[layer.idx()];
        let mut cap = self.download_cap_bytes_per_s(host, node, layer);
        let owner = FlowOwner { pull, layer };
        if let Some(up) = via {
            cap = cap.min(self.download_cap_bytes_per_s(up, node, layer));
        }
        // Across the shared links on the way (`routing`): a miss also crosses the links between
        // the cluster and the upstream.
        let flow = self.start_download_through(node, host, via, cap, size, owner);
        self.nodes[node.idx()].layers.insert(layer, LayerState::Downloading { owner: pull, flow });
        let r = &mut self.registries[host.idx()].row;
        r.peak_concurrent = r.peak_concurrent.max(self.net.registry_flows(host.idx()) as u64);
        self.sync_network_wake();
    }

    /// A blob flow of `pull` from `host` ended, `complete` or stopped, having moved `bytes`: a
    /// cache's miss counts them at the upstream; a complete one stores the blob and serves the
    /// requests that waited for it, a stopped one hands the fetch to them (`redispatch`).
    pub(super) fn cache_flow_ended(
        &mut self,
        pull: PullId,
        layer: LayerId,
        host: RegistryId,
        bytes: u64,
        complete: bool,
        redispatch: bool,
    ) {
        let Some(c) = self.mirrors.cache_mut(host) else { return };
        if c.fetching.get(&layer).is_none_or(|f| f.owner != pull) {
            return;
        }
        let fetch = c.fetching.remove(&layer).expect("fetching");
        let up = c.upstream;
        self.registries[up.idx()].row.blob_bytes += bytes;
        let stored = complete && self.cache_store(host, layer);
        if !redispatch && !complete {
            return;
        }
        for (w, generation) in fetch.waiters {
            let p = &self.pulls[w.idx()];
            let waiting = p.generation == generation
                && p.phase == PullPhase::Layers
                && p.registry == Some(host)
                && self.nodes[p.node.idx()].layers.get(layer) == Some(LayerState::Requesting { owner: w });
            if !waiting {
                continue;
            }
            // Stored: a hit. Not stored (larger than the whole store, or the fetch broke): the
            // first waiter fetches it again and the others wait for that.
            let _ = stored;
            self.cache_blob(w, layer, host);
        }
    }

    /// Stores a fetched blob, evicting least recently used blobs to make room; false when it
    /// is larger than the whole store.
    fn cache_store(&mut self, cache: RegistryId, layer: LayerId) -> bool {
        let size = self.layer_size_bytes[layer.idx()];
        let sizes = &self.layer_size_bytes;
        let c = self.mirrors.cache_mut(cache).expect("cache");
        if size > c.capacity_bytes {
            return false;
        }
        while c.used_bytes + size > c.capacity_bytes {
            let (_, victim) = c.lru.pop_first().expect("a stored blob to evict");
            c.blobs.remove(&victim);
            c.used_bytes -= sizes[victim.idx()];
        }
        c.tick += 1;
        c.blobs.insert(layer, c.tick);
        c.lru.insert(c.tick, layer);
        c.used_bytes += size;
        true
    }

    /// An outage of `registry` breaks the upstream fetches of every cache it feeds: the pulls
    /// streaming them.
    pub(super) fn upstream_fetch_victims(&self, registry: RegistryId) -> Vec<PullId> {
        self.mirrors
            .caches
            .iter()
            .flatten()
            .filter(|c| c.upstream == registry)
            .flat_map(|c| c.fetching.values().map(|f| f.owner))
            .collect()
    }
}
