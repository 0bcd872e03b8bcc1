//! Registry behaviour for one pull attempt: credentials tried in keyring order (pod secrets,
//! then node credentials), token and manifest requests, rate limits (manifest GETs in a sliding
//! window per node or per registry, answered 429 when over), outages (every request fails),
//! transient failures drawn per attempt, and platform matching against the image index.
//!
//! The requests before the first layer are decided together when the runtime starts the pull,
//! using the registry's state at that moment; their round trips are added up and the outcome is
//! applied when the last of them is answered.

use super::*;
use crate::k8s::credentials::{lookup_union, try_credentials};
use crate::scenario::RateLimitScope;
use rand::Rng;

/// The requests a pull makes before its first layer, and how they end.
pub(super) struct Prelude {
    pub(super) duration: SimDuration,
    pub(super) failure: Option<FailReason>,
    /// Pod secret used (`None` = anonymous or node credentials).
    pub(super) credential: Option<String>,
}

impl World<'_> {
    pub(super) fn in_outage(&self, registry: RegistryId, t: SimTime) -> bool {
        self.scn.registries[registry.idx()]
            .outages
            .iter()
            .any(|(from, to)| SimTime::ZERO.plus(*from) <= t && t < SimTime::ZERO.plus(*to))
    }

    /// One round trip to `registry`, drawn from its latency distribution.
    pub(super) fn round_trip(&mut self, registry: RegistryId, pull: PullId, request_no: u64) -> SimDuration {
        let p = &self.pulls[pull.idx()];
        let key = [
            u64::from(registry.0),
            u64::from(p.pod.0),
            u64::from(p.container_index),
            u64::from(p.attempt),
            request_no,
        ];
        self.registries[registry.idx()].row.requests += 1;
        let (streams, label) = (&self.streams, self.labels.latency);
        SimDuration(
            self.scn.registries[registry.idx()].latency_ns.sample_u64_with(|| streams.keyed(label, &key)),
        )
    }

    /// Decides the token/manifest/config requests of a pull attempt (see the module doc).
    pub(super) fn prelude(&mut self, pull: PullId, registry: RegistryId) -> Prelude {
        let spec = &self.scn.registries[registry.idx()];
        let p = &self.pulls[pull.idx()];
        let (node, pod, img) = (p.node, p.pod, p.image.expect("checked by caller"));
        let mut duration = SimDuration::ZERO;
        let mut req = 0u64;
        let mut rt = |w: &mut World, d: &mut SimDuration| {
            // Saturating: a latency given as an absurd number (1e308 seconds) is u64::MAX ns.
            *d = SimDuration(d.0.saturating_add(w.round_trip(registry, pull, req).0));
            req += 1;
        };
        let fail = |duration, reason| Prelude { duration, failure: Some(reason), credential: None };

        if self.in_outage(registry, self.now) {
            rt(self, &mut duration);
            return fail(duration, FailReason::Outage);
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
                rt(self, &mut duration);
            }
        }
        if !tried.succeeded {
            return fail(duration, FailReason::Unauthorized);
        }
        let credential = tried.used.filter(|c| c.from_pod).map(|c| c.secret);

        // The manifest (or image index) GET: counted by rate limits.
        rt(self, &mut duration);
        self.registries[registry.idx()].row.manifest_requests += 1;
        if let Some(limit) = &spec.rate_limit {
            let scope_key = match limit.scope {
                RateLimitScope::Node => node.0,
                RateLimitScope::Registry => 0,
            };
            let now = self.now;
            let window = self.registries[registry.idx()].windows.entry(scope_key).or_default();
            while window.front().is_some_and(|t| now.since(*t) >= limit.per) {
                window.pop_front();
            }
            if window.len() as u64 >= limit.pulls {
                self.registries[registry.idx()].row.throttled += 1;
                return fail(duration, FailReason::RateLimited);
            }
            window.push_back(now);
        }
        let p = &self.pulls[pull.idx()];
        let key =
            [u64::from(registry.0), u64::from(p.pod.0), u64::from(p.container_index), u64::from(p.attempt)];
        if spec.failure_rate > 0.0
            && self.streams.keyed(self.labels.registry_failure, &key).gen::<f64>() < spec.failure_rate
        {
            return fail(duration, FailReason::Transient);
        }
        let image = &self.scn.images[img.idx()];
        let arch = &self.scn.node_pools[self.nodes[node.idx()].pool.idx()].arch;
        if !crate::k8s::platform::has_manifest_for(image.platforms.as_deref(), arch) {
            return fail(duration, FailReason::Platform);
        }
        // A multi-arch index needs a second GET for the platform's manifest.
        if image.platforms.as_ref().is_none_or(|p| p.len() > 1) {
            rt(self, &mut duration);
            self.registries[registry.idx()].row.manifest_requests += 1;
        }
        // The image config blob.
        rt(self, &mut duration);
        Prelude { duration, failure: None, credential }
    }
}
