//! Registry behaviour for one pull attempt: credentials tried in keyring order (pod secrets,
//! then node credentials), token and manifest requests, rate limits (manifest GETs in a sliding
//! window per node or per registry, answered 429 when over), outages (every request fails),
//! transient failures drawn per attempt, and platform matching against the image index.
//!
//! Each request of the prelude (the requests before the first layer) is decided at the moment
//! it is sent, as containerd sends them one after another (`remotes/docker/resolver.go`
//! `Resolve`, then `Fetch`): one token request per credential tried where the registry requires
//! auth, a HEAD that resolves the tag to a digest, then, unless the node already has that
//! manifest, the manifest GET (the only request Docker Hub counts), a second GET for the
//! platform's manifest when the reference is an index, and the config blob. A request sent
//! during an outage fails when its answer would arrive; one in flight when an outage starts
//! fails then. Outages, latencies, credentials and failure draws do not depend on other pulls,
//! so the requests up to the manifest GET are worked out when the pull starts. A rate limit
//! does (other pulls' GETs fill its window), so under a rate limit the manifest GET is an event
//! at its own send time (`Event::PullManifest`), and so is each retry of a 429: containerd
//! retries a 429 at once, up to 6 responses in all (`remotes/docker/resolver.go`
//! `retryRequest`), before the pull fails.
//!
//! Under the CRI-O profile (`RuntimeProfile::CriO`) there is no HEAD: every pull GETs the
//! manifest, which the rate limit counts even for a digest the node has, and a 429 is retried
//! after 2, 4, 8 and 16 s (containers/image).
//!
//! Under containerd 2.1's node-wide download slots (`download_slots`) every GET waits for a
//! slot of the node, which other pulls free later, so from the manifest GET on the prelude is
//! events: each GET is sent when it has a slot (`send_prelude_get`) and its answer is an event
//! (`Event::PreludeGetDone`) that frees the slot and sends the next. The tokens and the HEAD
//! take no slot and are worked out as above.

use super::*;
use crate::k8s::credentials::{lookup_union, try_credentials};
use crate::scenario::RateLimitScope;
use rand::Rng;

impl World<'_> {
    pub(super) fn in_outage(&self, registry: RegistryId, t: SimTime) -> bool {
        self.scn.registries[registry.idx()]
            .outages
            .iter()
            .any(|(from, to)| SimTime::ZERO.plus(*from) <= t && t < SimTime::ZERO.plus(*to))
    }

    /// When a request sent at `sent` and answered at `answered` fails because of an outage:
    /// at `answered` when it is sent during one (the error comes back after a round trip), at
    /// the outage's start when one starts while it is in flight; `None` when no outage touches
    /// it.
    pub(super) fn outage_failure(
        &self,
        registry: RegistryId,
        sent: SimTime,
        answered: SimTime,
    ) -> Option<SimTime> {
        self.scn.registries[registry.idx()]
            .outages
            .iter()
            .filter_map(|(from, to)| {
                let (from, to) = (SimTime::ZERO.plus(*from), SimTime::ZERO.plus(*to));
                if from <= sent && sent < to {
                    Some(answered)
                } else if sent < from && from < answered {
                    Some(from)
                } else {
                    None
                }
            })
            .min()
    }

    /// One round trip to `registry`, drawn from its latency distribution.
    pub(super) fn round_trip(&mut self, registry: RegistryId, pull: PullId, request_no: u64) -> SimDuration {
        self.registries[registry.idx()].row.requests += 1;
        self.latency(registry, pull, request_no)
    }

    /// The round trip of the pull's request `request_no`, drawn again (the same draw as
    /// `round_trip`'s, which counts the request).
    pub(super) fn latency(&self, registry: RegistryId, pull: PullId, request_no: u64) -> SimDuration {
        let p = &self.pulls[pull.idx()];
        let key = [
            u64::from(registry.0),
            u64::from(p.pod.0),
            u64::from(p.container_index),
            u64::from(p.attempt),
            request_no,
        ];
        let (streams, label) = (&self.streams, self.labels.latency);
        SimDuration(
            self.scn.registries[registry.idx()].latency_ns.sample_u64_with(|| streams.keyed(label, &key)),
        )
    }

    /// Whether the blob request for `layer` answered now was sent during an outage of
    /// `registry` (one that started while it was in flight failed the pull then:
    /// `on_outage_start`). Its send time is now minus its round trip, drawn again; registries
    /// without outages draw nothing.
    pub(super) fn blob_request_sent_in_outage(
        &self,
        registry: RegistryId,
        pull: PullId,
        layer: LayerId,
    ) -> bool {
        if self.scn.registries[registry.idx()].outages.is_empty() {
            return false;
        }
        let p = &self.pulls[pull.idx()];
        let layers = self.version_layers(p.image.expect("a blob request has an image"), p.version);
        // Requests are numbered 100 + the layer's index when sent (`schedule_downloads`,
        // `dispatch_layers`); a layer appears once in an image.
        let index = layers.iter().position(|l| *l == layer).expect("the pull's layer") as u64;
        let sent = SimTime(self.now.0.saturating_sub(self.latency(registry, pull, 100 + index).0));
        self.in_outage(registry, sent)
    }

    /// Sends the pull's next prelude request at `*t`: `Ok` with `*t` moved to its answer, or
    /// `Err` with `*t` moved to when an outage failed it.
    fn request(&mut self, registry: RegistryId, pull: PullId, t: &mut SimTime) -> Result<(), FailReason> {
        let n = self.pulls[pull.idx()].prelude_requests;
        self.pulls[pull.idx()].prelude_requests = n + 1;
        let rtt = self.round_trip(registry, pull, u64::from(n));
        let sent = *t;
        // Saturating: a latency given as an absurd number (1e308 seconds) is u64::MAX ns.
        let answered = SimTime(sent.0.saturating_add(rtt.0));
        match self.outage_failure(registry, sent, answered) {
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

    /// The prelude is decided: the runtime learns its outcome at `at`.
    fn end_prelude(&mut self, pull: PullId, at: SimTime, failure: Option<FailReason>) {
        let p = &mut self.pulls[pull.idx()];
        p.prelude_failure = failure;
        let generation = p.generation;
        self.schedule(at.max(self.now), Event::PullPrelude { pull, generation });
    }

    /// The prelude from its first request, sent at `start`: tokens, the HEAD that resolves the
    /// tag, then the manifest stage (now, or as an event at its send time under a rate limit).
    pub(super) fn begin_prelude(&mut self, pull: PullId, registry: RegistryId, start: SimTime) {
        // Spegel is asked first: a peer's manifest ends the prelude, else the registry's starts
        // after the lookup (`p2p`).
        let start = match self.p2p.on.then(|| self.p2p_resolve(pull, start)) {
            Some(Ok(done)) => return self.end_prelude(pull, done, None),
            Some(Err(start)) => start,
            None => start,
        };
        let spec = &self.scn.registries[registry.idx()];
        let p = &self.pulls[pull.idx()];
        let (node, pod, img) = (p.node, p.pod, p.image.expect("checked by caller"));
        let mut t = start;
        if self.mirrors.on {
            // A mirror that is down does not answer the dial: its timeout, then the next host.
            if let Some(at) = self.mirror_dial_fails(pull, registry, start) {
                return self.end_prelude(pull, at, Some(FailReason::Outage));
            }
            if let Some(at) = self.cache_not_found(pull, registry, start) {
                self.pulls[pull.idx()].prelude_requests += 1;
                return self.end_prelude(pull, at, Some(FailReason::NotFound));
            }
        }
        // Credentials: pod secrets first, then the node's docker config (keyring order).
        let repo = &self.scn.images[img.idx()].repo;
        let workload = self.pods[pod.idx()].workload;
        let pool = self.nodes[node.idx()].pool;
        let candidates: Vec<Credential> =
            lookup_union(&[&self.pod_keyrings[workload.idx()], &self.node_keyrings[pool.idx()]], repo);
        // The registry accepts anonymous pulls, or a secret it lists.
        let tried = try_credentials(&candidates, |c| {
            !spec.auth_required || c.is_some_and(|c| spec.accepts.contains(&c.secret))
        });
        if spec.auth_required {
            // Each attempt authenticates: one token round trip.
            for _ in 0..tried.attempts {
                if let Err(reason) = self.request(registry, pull, &mut t) {
                    return self.end_prelude(pull, t, Some(reason));
                }
            }
        }
        if !tried.succeeded {
            return self.end_prelude(pull, t, Some(FailReason::Unauthorized));
        }
        self.pulls[pull.idx()].credential =
            tried.used.filter(|c| c.from_pod).map(|c| c.secret.into_boxed_str());
        // The tag resolves to the digest it points to when the first manifest request is sent.
        self.pulls[pull.idx()].version = self.current_version(img, t);
        if self.scn.runtime.profile.resolves_with_head() {
            // containerd: a HEAD (not counted by Docker Hub: "version checks do not count").
            if let Err(reason) = self.request(registry, pull, &mut t) {
                return self.end_prelude(pull, t, Some(reason));
            }
            self.registries[registry.idx()].row.manifest_heads += 1;
            if self.mirrors.on {
                if let Err(reason) = self.cache_check_tag(pull, registry, &mut t) {
                    return self.end_prelude(pull, t, Some(reason));
                }
            }
            // A node that has this digest has its manifest and config: containerd fetches
            // nothing it has (an `Always` pull of a present image costs the HEAD alone).
            let version = self.pulls[pull.idx()].version;
            if self.node_has_digest(node, img, version) {
                return self.end_prelude(pull, t, None);
            }
        }
        if self.node_slot_limit > 0 {
            // The manifest GET needs a node slot when it is sent: decided then.
            if t > self.now {
                let generation = self.pulls[pull.idx()].generation;
                self.schedule(t, Event::PullManifest { pull, generation });
            } else {
                self.want_slot(pull, SlotWant::Get);
            }
        } else if self.scn.registries[registry.idx()].rate_limit.is_some() && t > self.now {
            let generation = self.pulls[pull.idx()].generation;
            self.schedule(t, Event::PullManifest { pull, generation });
        } else {
            self.manifest_stage(pull, registry, t);
        }
    }

    /// `Event::PullManifest`: the manifest GET (or a retry after a 429) is sent now.
    pub(super) fn on_pull_manifest(&mut self, pull: PullId) {
        if self.node_slot_limit > 0 {
            self.want_slot(pull, SlotWant::Get);
            return;
        }
        let registry = self.pulls[pull.idx()].registry.expect("a prelude has a registry");
        self.manifest_stage(pull, registry, self.now);
    }

    /// The manifest GET sent at `t` (the rate limit counts it then), then the platform's
    /// manifest and the config blob.
    fn manifest_stage(&mut self, pull: PullId, registry: RegistryId, mut t: SimTime) {
        let sent = t;
        if let Err(reason) = self.request(registry, pull, &mut t) {
            return self.end_prelude(pull, t, Some(reason));
        }
        self.registries[registry.idx()].row.manifest_requests += 1;
        let (node, img) = (self.pulls[pull.idx()].node, self.pulls[pull.idx()].image.expect("checked"));
        if !self.rate_limit_admits(registry, node, sent) {
            // 429: not counted against the limit; the runtime sends the GET again (at once,
            // or after a back-off) or gives up.
            self.registries[registry.idx()].row.throttled += 1;
            let p = &mut self.pulls[pull.idx()];
            p.responses_429 = p.responses_429.saturating_add(1);
            let Some(wait) = self.scn.runtime.profile.retry_after_429(p.responses_429) else {
                return self.end_prelude(pull, t, Some(FailReason::RateLimited));
            };
            let generation = p.generation;
            self.schedule(t.plus(wait), Event::PullManifest { pull, generation });
            return;
        }
        if let Some(reason) = self.manifest_refused(pull, registry) {
            return self.end_prelude(pull, t, Some(reason));
        }
        if self.mirrors.on && self.is_cache(registry) {
            if let Err(reason) = self.cache_manifest(pull, registry, &mut t) {
                return self.end_prelude(pull, t, Some(reason));
            }
        }
        let image = &self.scn.images[img.idx()];
        // CRI-O GETs the manifest on every pull; a digest the node has needs nothing more (its
        // platform manifest and config are in storage, its layers are reused).
        let version = self.pulls[pull.idx()].version;
        if !self.scn.runtime.profile.resolves_with_head() && self.node_has_digest(node, img, version) {
            return self.end_prelude(pull, t, None);
        }
        // A multi-arch index needs a second GET for the platform's manifest (Docker Hub counts
        // one pull per architecture, so the rate limit does not count it again).
        if image.platforms.as_ref().is_none_or(|p| p.len() > 1) {
            if let Err(reason) = self.request(registry, pull, &mut t) {
                return self.end_prelude(pull, t, Some(reason));
            }
            self.registries[registry.idx()].row.manifest_requests += 1;
        }
        // The image config blob.
        if let Err(reason) = self.request(registry, pull, &mut t) {
            return self.end_prelude(pull, t, Some(reason));
        }
        self.end_prelude(pull, t, None)
    }

    /// Whether the registry's rate limit (if any) lets a manifest GET sent at `sent` through;
    /// one that does is counted in its window.
    fn rate_limit_admits(&mut self, registry: RegistryId, node: NodeId, sent: SimTime) -> bool {
        // Behind a NAT, the gateway's address (`routing`).
        let identity = self.routing.address_key(self.nodes[node.idx()].pool, registry, node);
        self.rate_limit_admits_as(registry, identity, sent)
    }

    /// `rate_limit_admits` for the client `identity` (a node's index, or a pull-through
    /// cache's: `mirror`).
    pub(super) fn rate_limit_admits_as(
        &mut self,
        registry: RegistryId,
        identity: u32,
        sent: SimTime,
    ) -> bool {
        let Some(limit) = &self.scn.registries[registry.idx()].rate_limit else { return true };
        let scope_key = match limit.scope {
            RateLimitScope::Node => identity,
            RateLimitScope::Registry => 0,
        };
        let window = self.registries[registry.idx()].windows.entry(scope_key).or_default();
        while window.front().is_some_and(|w| sent.since(*w) >= limit.per) {
            window.pop_front();
        }
        if window.len() as u64 >= limit.pulls {
            return false;
        }
        window.push_back(sent);
        true
    }

    /// A manifest GET answered by cache `host` at `*t`: without a HEAD (CRI-O) the cache checks
    /// the tag upstream first; then it fetches what it does not hold (`mirror`).
    fn cache_manifest(&mut self, pull: PullId, host: RegistryId, t: &mut SimTime) -> Result<(), FailReason> {
        if !self.scn.runtime.profile.resolves_with_head() {
            self.cache_check_tag(pull, host, t)?;
        }
        self.cache_manifest_get(pull, host, t)
    }

    /// What fails a manifest GET that was answered: a transient registry failure (drawn once
    /// per attempt), or no manifest for the node's platform.
    fn manifest_refused(&self, pull: PullId, registry: RegistryId) -> Option<FailReason> {
        let spec = &self.scn.registries[registry.idx()];
        let p = &self.pulls[pull.idx()];
        let key =
            [u64::from(registry.0), u64::from(p.pod.0), u64::from(p.container_index), u64::from(p.attempt)];
        if spec.failure_rate > 0.0
            && self.streams.keyed(self.labels.registry_failure, &key).gen::<f64>() < spec.failure_rate
        {
            return Some(FailReason::Transient);
        }
        let image = &self.scn.images[p.image.expect("a prelude has an image").idx()];
        let arch = &self.scn.node_pools[self.nodes[p.node.idx()].pool.idx()].arch;
        if !crate::k8s::platform::has_manifest_for(image.platforms.as_deref(), arch) {
            return Some(FailReason::Platform);
        }
        None
    }

    /// Node-wide slots: the pull holds a slot and sends its next GET (`Pull::get_step`) now. The
    /// request is decided as it is sent (an outage, a 429 from the rate limit's window); the
    /// answer is `Event::PreludeGetDone`.
    pub(super) fn send_prelude_get(&mut self, pull: PullId) {
        let registry = self.pulls[pull.idx()].registry.expect("a prelude has a registry");
        self.pulls[pull.idx()].get_slot = SlotUse::Holding;
        let sent = self.now;
        let mut t = sent;
        let mut result = self.request(registry, pull, &mut t);
        if result.is_ok() && self.pulls[pull.idx()].get_step == GetStep::Manifest {
            let node = self.pulls[pull.idx()].node;
            if !self.rate_limit_admits(registry, node, sent) {
                self.pulls[pull.idx()].get_step = GetStep::Throttled;
            } else if self.mirrors.on && self.is_cache(registry) {
                result = self.cache_manifest(pull, registry, &mut t);
            }
        }
        let p = &mut self.pulls[pull.idx()];
        p.prelude_failure = result.err();
        let generation = p.generation;
        self.schedule(t, Event::PreludeGetDone { pull, generation });
    }

    /// `Event::PreludeGetDone`: the GET's slot frees (the queue's head takes it), then the
    /// prelude fails, ends, or queues its next GET behind whoever waits.
    pub(super) fn on_prelude_get_done(&mut self, pull: PullId) {
        let registry = self.pulls[pull.idx()].registry.expect("a prelude has a registry");
        let node = self.pulls[pull.idx()].node;
        self.pulls[pull.idx()].get_slot = SlotUse::None;
        self.release_slot(node);
        if let Some(reason) = self.pulls[pull.idx()].prelude_failure {
            return self.end_prelude(pull, self.now, Some(reason));
        }
        let img = self.pulls[pull.idx()].image.expect("a prelude has an image");
        let next = match self.pulls[pull.idx()].get_step {
            GetStep::Throttled => {
                self.registries[registry.idx()].row.throttled += 1;
                let p = &mut self.pulls[pull.idx()];
                p.responses_429 = p.responses_429.saturating_add(1);
                let Some(wait) = self.scn.runtime.profile.retry_after_429(p.responses_429) else {
                    return self.end_prelude(pull, self.now, Some(FailReason::RateLimited));
                };
                p.get_step = GetStep::Manifest;
                if wait > SimDuration::ZERO {
                    let generation = p.generation;
                    self.schedule_in(wait, Event::PullManifest { pull, generation });
                    return;
                }
                GetStep::Manifest
            }
            GetStep::Manifest => {
                self.registries[registry.idx()].row.manifest_requests += 1;
                if let Some(reason) = self.manifest_refused(pull, registry) {
                    return self.end_prelude(pull, self.now, Some(reason));
                }
                // A multi-arch index needs a second GET for the platform's manifest.
                let platforms = self.scn.images[img.idx()].platforms.as_ref();
                if platforms.is_none_or(|p| p.len() > 1) {
                    GetStep::PlatformManifest
                } else {
                    GetStep::Config
                }
            }
            GetStep::PlatformManifest => {
                self.registries[registry.idx()].row.manifest_requests += 1;
                GetStep::Config
            }
            GetStep::Config => return self.end_prelude(pull, self.now, None),
        };
        self.pulls[pull.idx()].get_step = next;
        self.want_slot(pull, SlotWant::Get);
    }
}
