//! `[[registry]]`: hosts, bandwidths, latency, failures, outages, rate limits and the secrets
//! each registry accepts.

use super::quantity::{Bound, Kind};
use super::{list, Ctx};
use crate::ids::RegistryId;
use crate::scenario::locate::KeyPath;
use crate::scenario::raw::RawScenario;
use crate::scenario::suggest;
use crate::scenario::{RateLimit, RateLimitScope, RegistrySpec};
use crate::time::SimDuration;
use std::collections::{BTreeMap, BTreeSet};

/// The registries, read, and what later tables look up in them.
pub(super) struct Registries {
    pub(super) specs: Vec<RegistrySpec>,
    pub(super) by_host: BTreeMap<String, RegistryId>,
    /// Every secret some registry accepts.
    pub(super) accepted: BTreeSet<String>,
    /// `host` of each `[[registry]]` as written, for messages.
    hosts: Vec<String>,
}

impl Registries {
    /// The hosts as written, for messages.
    pub(super) fn hosts(&self) -> String {
        list(&self.hosts)
    }

    /// The registry serving `domain`; an error at `path` when there is none.
    pub(super) fn registry_for(&self, c: &mut Ctx, path: &KeyPath, domain: &str) -> Option<RegistryId> {
        let found = self.by_host.get(domain).copied();
        if found.is_none() {
            c.err(
                path,
                format!(
                    "no [[registry]] serves domain {domain:?} (registries defined: {}); add one with host = {domain:?}",
                    self.hosts()
                ),
            );
        }
        found
    }
}

/// `: did you mean "x"?` after a message that already lists the accepted values.
fn also(value: &str, accepted: &[&str]) -> String {
    suggest::closest(value, accepted.iter().copied())
        .map_or(String::new(), |c| format!(": did you mean {c:?}?"))
}

/// Reads every `[[registry]]`.
pub(super) fn registries(c: &mut Ctx, raw: &RawScenario) -> Registries {
    let root = KeyPath::root();
    let mut registries = Vec::new();
    let mut registry_by_host: BTreeMap<String, RegistryId> = BTreeMap::new();
    let mut accepted: BTreeSet<String> = BTreeSet::new();
    for (i, r) in raw.registry.iter().enumerate() {
        let p = root.key("registry").index(i, r.host.as_deref());
        let host = c.name(&p, "host", &r.host);
        if !host.is_empty() && registry_by_host.insert(host.clone(), RegistryId::from_idx(i)).is_some() {
            c.err(&p.key("host"), format!("duplicate registry host {host:?}"));
        }
        let failure_rate = match &r.failure_rate {
            None => 0.0,
            Some(v) => match c.plain_number(&p.key("failure_rate"), v) {
                Some(x) if x <= 1.0 => x,
                Some(x) => {
                    c.err(&p.key("failure_rate"), format!("is a probability: must be in [0, 1], got {x}"));
                    0.0
                }
                None => 0.0,
            },
        };
        let mut outages = Vec::new();
        for (j, o) in r.outages.iter().flatten().enumerate() {
            let op = p.key("outages").index(j, None);
            let from = c
                .required(&op, "from", &o.from)
                .map(|_| c.duration(&op.key("from"), o.from.as_ref(), SimDuration::ZERO));
            let to = c
                .required(&op, "to", &o.to)
                .map(|_| c.duration(&op.key("to"), o.to.as_ref(), SimDuration::ZERO));
            if let (Some(from), Some(to)) = (from, to) {
                if from >= to {
                    c.err(&op, format!("outage must end after it starts (from {from} to {to})"));
                }
                outages.push((from, to));
            }
        }
        let rate_limit = r.rate_limit.as_ref().map(|rl| {
            let rp = p.key("rate_limit");
            let pulls = match c.required(&rp, "pulls", &rl.pulls) {
                Some(v) => match c.int(&rp.key("pulls"), v) {
                    Some(n) if n >= 0 => n as u64,
                    Some(n) => {
                        c.err(&rp.key("pulls"), format!("must be >= 0, got {n}"));
                        0
                    }
                    None => 0,
                },
                None => 0,
            };
            let per = match c.required(&rp, "per", &rl.per) {
                Some(_) => c.duration(&rp.key("per"), rl.per.as_ref(), SimDuration::from_secs(1)),
                None => SimDuration::from_secs(1),
            };
            if per == SimDuration::ZERO {
                c.err(&rp.key("per"), "must be greater than 0");
            }
            let scope = match rl.scope.as_deref() {
                None | Some("node") => RateLimitScope::Node,
                Some("registry") => RateLimitScope::Registry,
                Some(s) => {
                    c.err(
                        &rp.key("scope"),
                        format!(
                            "expected \"node\" or \"registry\", got {s:?}{}",
                            also(s, &["node", "registry"])
                        ),
                    );
                    RateLimitScope::Node
                }
            };
            RateLimit { pulls, per, scope }
        });
        let auth_required = match r.auth.as_deref() {
            None | Some("anonymous") => false,
            Some("required") => true,
            Some(s) => {
                c.err(
                    &p.key("auth"),
                    format!(
                        "expected \"anonymous\" or \"required\", got {s:?}{}",
                        also(s, &["anonymous", "required"])
                    ),
                );
                false
            }
        };
        let accepts = r.accepts.clone().unwrap_or_default();
        for (j, s) in accepts.iter().enumerate() {
            if s.trim().is_empty() {
                c.err(&p.key("accepts").index(j, None), "secret name must not be empty");
            }
            accepted.insert(s.clone());
        }
        registries.push(RegistrySpec {
            host,
            bandwidth_bytes_per_s: c.dist_or(
                &p.key("bandwidth"),
                r.bandwidth.as_ref(),
                Kind::Bandwidth,
                Bound::Positive,
                f64::INFINITY,
            ),
            per_connection_bytes_per_s: c.dist_or(
                &p.key("per_connection"),
                r.per_connection.as_ref(),
                Kind::Bandwidth,
                Bound::Positive,
                f64::INFINITY,
            ),
            per_connection_cold_bytes_per_s: r.per_connection_cold.as_ref().map(|v| {
                c.dist_or(
                    &p.key("per_connection_cold"),
                    Some(v),
                    Kind::Bandwidth,
                    Bound::Positive,
                    f64::INFINITY,
                )
            }),
            latency_ns: c.dist_or(
                &p.key("latency"),
                r.latency.as_ref(),
                Kind::Duration,
                Bound::NonNegative,
                0.0,
            ),
            failure_rate,
            outages,
            rate_limit,
            auth_required,
            accepts,
            mirrors: Vec::new(),
            pull_through: None,
        });
    }
    super::mirrors::mirrors(c, raw, &mut registries, &registry_by_host);
    let hosts = raw.registry.iter().filter_map(|r| r.host.clone()).collect();
    Registries { specs: registries, by_host: registry_by_host, accepted, hosts }
}
